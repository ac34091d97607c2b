"""Nudges shared by 统发 and 报送: who is still owed, as batched @-mentions in each operator's group.

The units owing with nobody to @ are counted in the group, never named there (a list of 150 names under every
reminder is noise): the admins get the names privately (bot/tasks.py `TaskEngine.orphans_digest`, once a day).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from bot.config import Settings
from bot.names import is_qq
from bot.render import Msg, at_messages
from bot.units.records import Operator

Outgoing = tuple[str, str, Msg]


def who_owes(units: int, operators: Sequence[Operator], what: str) -> str:
    """How many units owe, how many of them have an operator to @, and how many have none (counted, not named)."""
    with_ops = len({o.unit_id for o in operators})
    head = f"还有 {units} 个单位{what}"
    if with_ops == 0:
        return f"{head}，它们都还没有绑定联络员，由管理员另行联系。"
    if with_ops >= units:
        return f"{head}，请以下联络员尽快完成："
    return (
        f"{head}：其中 {with_ops} 个单位有联络员，请以下联络员尽快完成；"
        f"另 {units - with_ops} 个单位没有联络员，由管理员另行联系："
    )


def nudge_messages(
    settings: Settings,
    header: str,
    operators: Iterable[Operator],
    *,
    footer: str = "",
    private_text: str | None = None,
    groups: Collection[str] | None = None,
) -> list[Outgoing]:
    """Batched @-mentions of `operators` in the alliance group each was bound in (else the first group); with
    `groups` (a city's own), only there: in the operator's group if it is one of them, else the first of them.

    With ALLIANCE_PRIVATE_REMINDERS and a `private_text`, each operator also gets it privately.
    """
    allowed = settings.groups if groups is None else frozenset(groups) & settings.groups
    ordered = sorted(allowed)
    ops = [op for op in operators if is_qq(op.user_id)]  # a malformed id stored long ago blocks nobody else
    by_group: dict[str, list[str]] = {}
    for op in ops:
        g = op.group_id if op.group_id in allowed else (ordered[0] if ordered else None)
        if g is not None:
            by_group.setdefault(g, []).append(op.user_id)
    out: list[Outgoing] = []
    for g in sorted(by_group):
        msgs = at_messages(header, by_group[g], settings.alliance_at_batch, footer)
        out.extend(("group", g, m) for m in msgs)
    if settings.alliance_private_reminders and private_text:
        out.extend(("private", op.user_id, Msg(private_text)) for op in ops)
    return out
