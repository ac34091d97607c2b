"""What every handler shares: the request context, permission checks, and replying through the outbox."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message, MessageEvent, MessageSegment

from bot import privacy
from bot.app import App, current_app, get_app
from bot.config import Settings
from bot.db import is_busy, is_disk_full
from bot.errors import Forbidden, UserError
from bot.names import is_qq
from bot.parse import parse_numbers, read_number, split_args
from bot.pictures import Card
from bot.render import Ack, Msg, lines_cut, person_name


@dataclass(frozen=True)
class To:
    """A part of a command's answer that goes elsewhere than the chat it came from (e.g. privately to the asker)."""

    target_type: str  # "private" or "group"
    target_id: str
    msg: Msg


Reply = Msg | str | To | list[Msg | To] | None

ANYONE, OPERATOR, ADMIN = "所有人", "联络员", "管理员"
ROLES = (ANYONE, OPERATOR, ADMIN)


@dataclass(frozen=True)
class Topic:
    """One /帮助 entry; a plugin lists its topics in `PluginMetadata(extra={"help": [...]})`."""

    name: str
    who: str
    summary: str
    detail: str | Callable[[Settings], str]  # a callable says the configured values (never a setting's name)

    def text(self, settings: Settings) -> str:
        return self.detail(settings) if callable(self.detail) else self.detail


FORMAT_WORDS = {"图片": True, "图": True, "文字": False, "文本": False}
FORCE_WORDS = frozenset({"强制", "再次", "强制催办"})
FIRST_LAGGARDS = 5  # units named in the group when a task closes (the full list goes to the admin privately)


@dataclass
class Ctx:
    """One command as the core sees it: who, where, and the arguments as plain text."""

    app: App
    user_id: str
    name: str
    group_id: str | None
    args: list[str]
    images: list[str] = field(default_factory=list)
    reply_to: str | None = None
    bot: Any = None  # the NoneBot Bot, for the few handlers that call the client directly (member list, upload)
    fmt: bool | None = None  # the asker said 图片 (True) or 文字 (False)

    @property
    def is_admin(self) -> bool:
        return self.app.is_admin(self.user_id)

    @property
    def in_group(self) -> bool:
        return self.group_id is not None

    @property
    def limit(self) -> int | None:
        """How many list lines to show: cut in a group, whole in a private chat."""
        return self.app.settings.alliance_group_list_limit if self.in_group else None

    def take_format(self) -> bool | None:
        """`图片` or `文字` among the arguments (taken out): True for a picture, False for text, None: not said."""
        found = None
        for word in list(self.args):
            if word in FORMAT_WORDS:
                found = FORMAT_WORDS[word]
                self.args.remove(word)
        self.fmt = found if found is not None else self.fmt
        return self.fmt

    def take_force(self) -> bool:
        """`强制` among the arguments (taken out): do it even though it was just done (a 催办 right after a reminder)."""
        found = any(w in FORCE_WORDS for w in self.args)
        self.args = [w for w in self.args if w not in FORCE_WORDS]
        return found

    def need_admin(self, what: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"只有管理员可以{what}。如需办理，请联系新闻办。")

    def int_arg(self, text: str, what: str = "编号") -> int:
        """One number as people type it (`3`, `#3`, `３`, `二`, `十一`, `第2`)."""
        n = read_number(text)
        if n is None:
            raise UserError(f"{what}应是数字，如 3 或 三，而不是“{text}”。")
        return n


CONFIRM_ALL_OVER = 20  # 全部 asks for one confirmation first when it means more than this many
_ALL_OFFERED: dict[tuple[str, str], tuple[int, ...]] = {}  # (user, command) → the ids 全部 meant when asked


async def numbers_or_all(
    ctx: Ctx, args: list[str], what: str, command: str, pending: Callable[[], Awaitable[list[int]]]
) -> list[int]:
    """Numbers as people type them (`1-3`, `1,2,3`, `1、2、3`, `3 4`), or 全部 = every pending one.

    全部 over CONFIRM_ALL_OVER items answers with the count and asks for `<command> 全部 确认`, which then
    decides exactly the items that were counted (those still pending).

    Raises:
        UserError: unreadable numbers, nothing pending, or the confirmation question.
    """
    confirmed = bool(args) and args[-1] in ("确认", "确定")
    nums = parse_numbers(args[:-1] if confirmed else args, what)
    if nums is not None:
        return nums
    ids = await pending()
    if not ids:
        raise UserError(f"现在没有待处理的{what.removesuffix('编号')}。")
    key = (ctx.user_id, command)
    if len(ids) <= CONFIRM_ALL_OVER:
        return ids
    offered = _ALL_OFFERED.pop(key, None)
    if confirmed and offered:
        still = [i for i in offered if i in set(ids)]
        if still:
            return still
    _ALL_OFFERED[key] = tuple(ids)
    raise UserError(
        f"“全部”是 {len(ids)} 个（#{ids[0]} 到 #{ids[-1]}）。确认全部处理请发：{command} 全部 确认；"
        f"也可以写编号，如：{command} {ids[0]}-{ids[min(2, len(ids) - 1)]}"
    )


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
    to the admin privately, with one line in the group saying so (SPEC §11, issue 21.8)."""
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


def display_name(event: MessageEvent) -> str:
    """The sender as every message and file shows them (`bot.render.person_name`: no phone number, no QQ id)."""
    s = event.sender
    return person_name(getattr(s, "card", None), "") or person_name(s.nickname)


def build_ctx(app: App, event: MessageEvent, arg: Message, bot: Any = None) -> Ctx:
    text = "".join(seg.data.get("text", "") for seg in arg if seg.type == "text")
    images = [str(seg.data.get("url") or seg.data.get("file") or "") for seg in arg if seg.type == "image"]
    reply = next((str(seg.data.get("id")) for seg in event.original_message if seg.type == "reply"), None)
    return Ctx(
        app=app,
        user_id=str(event.user_id),
        name=display_name(event),
        group_id=str(event.group_id) if isinstance(event, GroupMessageEvent) else None,
        args=split_args(text),
        images=[i for i in images if i],
        reply_to=reply,
        bot=bot,
    )


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


async def run(
    event: MessageEvent,
    arg: Message,
    fn: Callable[[Ctx], Awaitable[Reply]],
    *,
    at_sender: bool = True,
    bot: Any = None,
    seen: Callable[[Reply], Awaitable[bool]] | None = None,
) -> None:
    """Run a command: build the context, call `fn`, reply; errors become a clear Chinese answer. `seen` is asked
    before the answer is queued: True means the asker was given this answer already (nothing more is sent)."""
    app = get_app()
    try:
        result = await fn(build_ctx(app, event, arg, bot))
    except UserError as e:
        result = Msg(str(e))
    except Exception as e:
        if is_busy(e):  # another process (a big roster import) held the write lock past the busy timeout
            logger.warning(f"database busy, command not done: {event.get_plaintext()[:200]!r}")
            result = Msg(
                "数据库正忙（可能正在导入名册），这条命令没有办成，也没有保存任何内容。请过一分钟再发一次同样的命令。"
            )
        elif not is_disk_full(e):
            logger.exception(f"command failed: {event.get_plaintext()[:200]!r}")
            result = Msg("抱歉，这条命令没有办成，也没有保存任何内容。请稍后再发一次同样的命令；仍不行请联系管理员。")
        else:
            logger.error(f"disk full, command not done: {event.get_plaintext()[:200]!r}")
            result = Msg(DISK_FULL)
    try:
        if seen is not None and result is not None and await seen(result):
            return
        await reply_to(app, event, result, at_sender=at_sender)
    except Exception as e:
        if not is_disk_full(e) or bot is None:
            raise
        await _answer_without_storage(app, bot, event, result, at_sender=at_sender)


DISK_FULL = (
    "抱歉，服务器磁盘已满，这条命令没有办成，也没有保存任何内容。已通知管理员；请等管理员腾出空间后再发一次同样的命令。"
)
_admins_told_at: float = 0.0


async def _answer_without_storage(app: App, bot: Any, event: MessageEvent, result: Reply, *, at_sender: bool) -> None:
    """The disk is full, so the outbox cannot keep the answer: send it straight away, once (not kept, so not
    retried), and tell the admins privately, at most every 10 minutes. What the command wrote is either
    committed (the answer says so) or rolled back whole; nothing is half-saved, and nothing is lost once
    space returns."""
    global _admins_told_at
    msgs = [m for m in (result if isinstance(result, list) else [result]) if m]
    if not msgs:
        return
    first = Msg(msgs[0]) if isinstance(msgs[0], str) else msgs[0]
    if isinstance(event, GroupMessageEvent):
        if at_sender and is_qq(event.user_id):
            first = Msg().at(event.user_id).text(" ").add_all(first)
        target = {"group_id": event.group_id}
        api = "send_group_msg"
        first = Msg(*privacy.mask_segments(first.segments))  # past the outbox, so through its filter here
    else:
        target, api = {"user_id": event.user_id}, "send_private_msg"
    try:
        await bot.call_api(api, **target, message=first.segments)
    except Exception:
        logger.exception("disk full: could not answer directly either")

    async def direct(target_type: str, target_id: str, msg: Msg) -> None:
        await bot.call_api("send_private_msg", user_id=int(target_id), message=msg.segments)

    await tell_admins_disk_full(app, direct, "命令无法保存，用户收到了“请稍后再发”的答复")


Direct = Callable[[str, str, Msg], Awaitable[object]]  # (target type, target id, message): sent now, never stored


async def tell_admins_disk_full(app: App, direct: Direct, what: str) -> None:
    """Tell every admin privately that the disk is full and what could not be done (`what`), at most once every
    10 minutes whoever noticed it (a command, the reminder worker, the monthly list, the outbox worker). The
    message is sent straight away by `direct` (nothing can be stored), once, not retried; when it reached no
    admin (no QQ client connected), the next one who notices tries again."""
    global _admins_told_at
    now = time.monotonic()
    if _admins_told_at and now - _admins_told_at < 600:
        return
    msg = Msg(
        f"【联盟助手】服务器磁盘已满（{app.settings.db_path}），{what}。"
        "请尽快腾出磁盘空间；腾出后无需重启，已保存的数据都在。"
    )
    told = False
    for admin in sorted(app.settings.admins):
        try:
            await direct("private", admin, msg)
            told = True
        except Exception:
            logger.exception(f"disk full: could not tell admin {admin}")
    if told:
        _admins_told_at = now


def watch_disk(app: App) -> None:
    """The workers (outbox, reminders and the monthly list) tell the admins about a full disk the way commands do,
    through the QQ client the outbox is connected to."""

    async def tell(what: str) -> None:
        await tell_admins_disk_full(app, app.outbox.send_direct, what)

    app.outbox.on_disk_full = tell


def sub(
    ctx: Ctx, table: dict[str, Callable[[Ctx], Awaitable[Reply]]], default: Callable[[Ctx], Awaitable[Reply]]
) -> Awaitable[Reply]:
    """Dispatch `/命令 <子命令> …` to the sub-command's handler, or to `default` when the first word is none."""
    if ctx.args and ctx.args[0] in table:
        head = ctx.args[0]
        ctx.args = ctx.args[1:]
        return table[head](ctx)
    return default(ctx)


# ---------------------------------------------------------------- commands

Handler = Callable[[Ctx], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    fn: Handler
    at_sender: bool = True


COMMANDS: dict[str, Command] = {}
TRIGGERS: list[Callable[[MessageEvent], Awaitable[tuple[Command, Message] | None]]] = []


def command(*names: str, at_sender: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler for `/name …` (and `／name …`); one NoneBot matcher routes every command.

    One matcher instead of one per command: NoneBot checks every matcher of a priority for every
    message, and with twenty commands that check was most of the bot's time per message.
    """

    def deco(fn: Handler) -> Handler:
        for name in names:
            if name in COMMANDS and COMMANDS[name].fn is not fn:
                raise RuntimeError(f"command /{name} registered twice")
            COMMANDS[name] = Command(fn, at_sender)
        return fn

    return deco


def trigger(fn: Callable[[MessageEvent], Awaitable[tuple[Command, Message] | None]]) -> Callable:
    """Register a check for messages that act without a slash command (e.g. a reply saying 已转发)."""
    TRIGGERS.append(fn)
    return fn


def reply_saying(event: MessageEvent, rest_of: Callable[[str], str | None]) -> tuple[App, MessageSegment, str] | None:
    """For a trigger: the app, the reply (引用) segment, and what `rest_of` leaves of the text typed with it; None
    without a reply, when `rest_of` finds none of its words (None), or before the app is up."""
    reply = next((seg for seg in event.original_message if seg.type == "reply"), None)
    if reply is None:
        return None
    rest = rest_of("".join(str(seg.data.get("text", "")) for seg in event.original_message if seg.type == "text"))
    app = current_app()
    return None if rest is None or app is None else (app, reply, rest)


def match_command(message: Message, self_id: str = "") -> tuple[Command, Message] | None:
    """The command a message starts with (longest name first) and its argument, or None.

    Leading reply segments, @-mentions of the bot and blank text are passed over: when the QQ client cannot
    look up a quoted message, the adapter leaves them in front of the command.
    """
    i = 0
    while i < len(message) and (
        message[i].type == "reply"
        or (message[i].type == "at" and str(message[i].data.get("qq")) == self_id)
        or (message[i].type == "text" and not str(message[i].data.get("text", "")).strip())
    ):
        i += 1
    message = message[i:] if i else message
    if not message or message[0].type != "text":
        return None
    text = str(message[0].data.get("text", "")).lstrip()
    if len(text) < 2 or text[0] not in "/／":
        return None
    body = text[1:]
    for n in range(min(len(body), max((len(k) for k in COMMANDS), default=0)), 0, -1):
        cmd = COMMANDS.get(body[:n])
        if cmd is not None:
            rest = body[n:]
            arg = Message(MessageSegment.text(rest)) if rest.strip() else Message()
            return cmd, arg + message[1:]
    return None


# ---------------------------------------------------------------- a slash that is no command
