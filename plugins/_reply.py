"""Answers: where they go (`To`), lists cut or folded, picture or text, and queueing them through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from nonebot.adapters.onebot.v11 import GroupMessageEvent, MessageEvent

from bot import clock
from bot.app import App
from bot.names import is_qq
from bot.pictures import Card
from bot.render import Ack, Msg, lines_cut
from plugins._ctx import Ctx

T = TypeVar("T")


@dataclass(frozen=True)
class To:
    """A part of a command's answer that goes elsewhere than the chat it came from (e.g. privately to the asker)."""

    target_type: str  # "private" or "group"
    target_id: str
    msg: Msg


Reply = Msg | str | To | list[Msg | To] | None

FIRST_LAGGARDS = 5  # units named in the group when a task closes (the full list goes to the admin privately)


def _one(text: Reply) -> Msg:
    """A reply as one message (the text alternative of a picture)."""
    if isinstance(text, list):
        out = Msg()
        for m in text:
            if out:
                out.text("\n")
            out.add_all(Msg(m) if isinstance(m, str) else m)
        return out
    return Msg(text) if isinstance(text, str) else (text or Msg())


# what was made lately from shared objects: (ids of what each was made from, its words) → (what it was made from,
# what was made)
_made: dict[tuple[object, ...], tuple[tuple[object, ...], object]] = {}
KEPT_MADE = 64


def kept(basis: tuple[object, ...], words: tuple[object, ...], make: Callable[[], T]) -> T:
    """`make()`, made once while the objects in `basis` are the same ones (compared by identity: a progress, a
    roll-up, a ranking or a category's rows the service shares while nothing changed; one made anew after a
    confirmation or a report is another object) and the `words` the same; what was made then is shared by later
    askers. What is kept must not be changed by them (a card, a tuple of strings)."""
    key = (*(id(o) for o in basis), *words)
    found = _made.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], basis, strict=True)):
        return found[1]  # type: ignore[return-value]
    made = make()
    if len(_made) >= KEPT_MADE:
        _made.clear()
    _made[key] = (basis, made)  # the basis is held, so its ids are not reused while the key is kept
    return made


def kept_card(basis: tuple[object, ...], words: tuple[str, ...], make: Callable[[], Card]) -> Callable[[], Card]:
    """`kept`, for a card: also made again when the minute it shows (数据截至) changes; drawn once, not once per ask."""
    return lambda: kept(basis, (*words, clock.show(clock.now())), make)


async def picture_or_text(
    ctx: Ctx, rows: int, text: Reply, card: Callable[[], Card], whole: Callable[[], Msg] | None = None
) -> Reply:
    """A picture of `card` when the list is long (more than ALLIANCE_PICTURE_LINES rows) in a group, or when the
    asker said 图片; else `text` (folded with the `whole` list where it was cut). The picture carries the text as
    its alternative, sent when the client refuses images; with no CJK font the answer is the text."""
    want = ctx.fmt
    threshold = ctx.app.settings.alliance_picture_lines
    if (
        want is False
        or not ctx.app.pictures.available
        or (want is None and (not ctx.in_group or threshold == 0 or rows <= threshold))
    ):
        return folded_or_cut(ctx, whole(), _one(text)) if whole is not None else text
    path = await ctx.app.pictures.render_async(card())
    return Msg.picture(path, _one(text))


FOLD_LINES = 40  # lines per node of a folded list


def folded_or_cut(ctx: Ctx, whole: Msg, cut: Msg) -> Msg:
    """In a group, a list that had to be cut goes whole as one merged-forward message (flat nodes of at most
    FOLD_LINES lines), with the cut text as the alternative for clients without forwards; else `cut`."""
    if not ctx.in_group or whole.plain() == cut.plain():
        return cut
    return Msg.folded(fold(whole), cut)


def fold(whole: Msg) -> list[Msg]:
    """`whole` as the nodes of a folded list: at most FOLD_LINES lines each."""
    lines = whole.plain().splitlines()
    return [Msg("\n".join(lines[i : i + FOLD_LINES])) for i in range(0, len(lines), FOLD_LINES)]


def list_reply(ctx: Ctx, head: str, lines: list[str], tail: list[str] | None = None) -> Msg:
    """`head`, the lines and `tail` as one message: cut in a group (folded where the client can), whole elsewhere."""

    def build(limit: int | None) -> Msg:
        out = Msg(head)
        for line in [*lines_cut(lines, limit), *(tail or [])]:
            out.line(line)
        return out

    return folded_or_cut(ctx, build(None), build(ctx.limit))


def privately(ctx: Ctx, answer: Msg, private: Msg, note: str) -> list[Msg | To]:
    """`answer` in the chat the command came from, and `private` to the asker privately (with `note` in a group)."""
    if not ctx.in_group:
        return [answer.line("").add_all(private) if answer else private]
    if note:
        answer.line(note)
    return [answer, To("private", ctx.user_id, private)] if answer else [To("private", ctx.user_id, private)]


def admin_list(ctx: Ctx, whole: Msg, what: str) -> Msg | list[Msg | To]:
    """A list only admins may see (QQ ids, applications, members): whole in a private chat; asked in a group, sent
    to the admin privately, with one line in the group saying so (a quiet group, issue 21.8)."""
    if not ctx.in_group:
        return whole
    return [Msg(f"{what}，名单已私聊发给你。"), To("private", ctx.user_id, whole)]


def orphans_to_admin(ctx: Ctx, out: Msg, what: str, names: list[str]) -> list[Msg | To]:
    """Name the units nobody can be @-mentioned for: in full to the admin privately, never in the group."""
    full = Msg(f"{what}、没有联络员（无法 @，需另行联系）的单位 {len(names)} 个：").line("、".join(names))
    return privately(ctx, out, full, f"另有 {len(names)} 个单位没有联络员，无法 @，名单已私聊发给你。")


def laggards_to_admin(ctx: Ctx, out: Msg, what: str, names: list[str], full: list[str] | None = None) -> list[Msg | To]:
    """The units that did not do a task as it closes: in the group a count and the first few names, the whole list
    (`full` lines, by default the names) to the admin privately; in a private chat, all of it in the one answer."""
    if not names:
        return [out]
    whole = Msg(f"{what}（{len(names)}）：")
    for line in full or ["、".join(names)]:
        whole.line(line)
    if not ctx.in_group:
        return [out.line("").add_all(whole)]
    more = " 等" if len(names) > FIRST_LAGGARDS else ""
    out.line(f"{what} {len(names)} 个：{'、'.join(names[:FIRST_LAGGARDS])}{more}")
    if len(names) <= FIRST_LAGGARDS:
        return [out]
    return privately(ctx, out, whole, "完整名单已私聊发给你。")


def with_at(user_id: str | int, msg: Msg) -> Msg:
    """`msg` @-mentioning `user_id` first (a folded list in its first node; a file upload has no text)."""
    if msg.kind == "upload":
        out = msg
    elif msg.kind == "forward":
        first, *rest = msg.segments
        head = Msg().at(user_id).text(" ").add_all(Msg(*first["data"]["content"]))
        out = Msg({"type": "node", "data": {"content": head.segments}}, *rest)
    else:
        out = Msg().at(user_id).text(" ").add_all(msg)
    if msg.fallback is not None:
        out.fallback = Msg().at(user_id).text(" ").add_all(msg.fallback)
    return out


async def reply_to(app: App, event: MessageEvent, result: Reply, *, at_sender: bool = True) -> None:
    """Queue the answer to the chat the command came from (group answers @ the asker), through the QQ account
    that received the command. An `Ack` in a group is an acknowledgement (a reaction on the message, or merged)."""
    if result is None:
        return
    msgs = result if isinstance(result, list) else [result]
    in_group = isinstance(event, GroupMessageEvent)
    here = ("group", str(event.group_id)) if in_group else ("private", str(event.user_id))
    account = str(event.self_id)
    # (target type, target id, message, the account to send it through, an acknowledgement, react to the message)
    parts: list[tuple[str, str, Msg, str | None, bool, bool]] = []
    for i, m in enumerate(msgs):
        if isinstance(m, To):
            parts.extend((m.target_type, str(m.target_id), part, None, False, False) for part in m.msg.split() if part)
            continue
        msg = Msg(m) if isinstance(m, str) else m
        if not msg:
            continue
        ack = in_group and isinstance(m, Ack)
        if in_group and at_sender and i == 0 and is_qq(event.user_id):
            msg = with_at(event.user_id, msg)
        if ack:
            parts.append((*here, msg, account, True, m.react))  # type: ignore[union-attr]
        else:
            parts.extend((*here, part, account, False, False) for part in msg.split())
    async with app.db.tx() as tx:
        for target_type, target_id, part, via, ack, react in parts:
            if ack:
                react_to = str(event.message_id) if react else None
                await app.outbox.ack(tx, target_type, target_id, part, react_to=react_to, account=via)
            else:
                await app.outbox.put(tx, target_type, target_id, part, account=via, asker=str(event.user_id))
