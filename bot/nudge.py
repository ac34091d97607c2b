"""Nudges shared by 统发 and 报送: who is still owed, as batched @-mentions in each operator's group."""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import Settings
from bot.parse import is_qq
from bot.render import Msg, at_messages
from bot.units import Operator

Outgoing = tuple[str, str, Msg]


def nudge_messages(
    settings: Settings,
    header: str,
    operators: Iterable[Operator],
    *,
    footer: str = "",
    private_text: str | None = None,
) -> list[Outgoing]:
    """Batched @-mentions of `operators` in the alliance group each was bound in (else the first group).

    With ALLIANCE_PRIVATE_REMINDERS and a `private_text`, each operator also gets it privately.
    """
    groups = sorted(settings.groups)
    ops = [op for op in operators if is_qq(op.user_id)]  # a malformed id stored long ago blocks nobody else
    by_group: dict[str, list[str]] = {}
    for op in ops:
        g = op.group_id if op.group_id in settings.groups else (groups[0] if groups else None)
        if g is not None:
            by_group.setdefault(g, []).append(op.user_id)
    out: list[Outgoing] = []
    for g in sorted(by_group):
        out.extend(("group", g, m) for m in at_messages(header, by_group[g], settings.alliance_at_batch, footer))
    if settings.alliance_private_reminders and private_text:
        out.extend(("private", op.user_id, Msg(private_text)) for op in ops)
    return out
