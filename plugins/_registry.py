"""The command registry: `/name` → handler (one NoneBot matcher routes them all), the triggers without a slash,
and running a command: build the context, call the handler, turn errors into a clear Chinese answer, reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import Message, MessageEvent, MessageSegment

from bot.app import App, current_app, get_app
from bot.db import is_busy, is_disk_full
from bot.errors import Forbidden, UserError
from bot.render import Msg
from bot.roles import Role
from plugins import _running
from plugins._ctx import Ctx, build_ctx
from plugins._diskfull import DISK_FULL, answer_without_storage
from plugins._reply import Reply, reply_to

Handler = Callable[[Ctx], Awaitable[Reply]]


def sub(ctx: Ctx, table: dict[str, Handler], default: Handler) -> Awaitable[Reply]:
    """Dispatch `/命令 <子命令> …` to the sub-command's handler, or to `default` when the first word is none."""
    if ctx.args and ctx.args[0] in table:
        head = ctx.args[0]
        ctx.args = ctx.args[1:]
        return table[head](ctx)
    return default(ctx)


@dataclass(frozen=True)
class Need:
    """Who may use a command or sub-command: the least role, and what it does (for the refusal: 只有管理员可以<what>)."""

    role: Role
    what: str = ""


ANYONE_MAY = Need(Role.MEMBER)


def admins(what: str, role: Role = Role.PROVINCE_ADMIN) -> Need:
    """Only admins may: the province's (by default) or also a city's (`Role.CITY_ADMIN`, inside their scope)."""
    return Need(role, what)


@dataclass(frozen=True)
class Command:
    fn: Handler
    at_sender: bool = True
    may: Need = ANYONE_MAY
    subs: dict[str, Need] = field(default_factory=dict)  # sub-command word → who may use it
    with_args: Need | None = None  # who may give arguments that are no sub-command (e.g. /统发 <标题> <链接>)
    name: str = ""

    def need(self, args: list[str]) -> tuple[Need, str]:
        """Who may run it with these arguments, and the command as typed (`/统发 催办`)."""
        if args and args[0] in self.subs:
            return self.subs[args[0]], f"/{self.name} {args[0]}"
        if args and self.with_args is not None:
            return self.with_args, f"/{self.name}"
        return self.may, f"/{self.name}"


COMMANDS: dict[str, Command] = {}

TRIGGERS: list[Callable[[MessageEvent], Awaitable[tuple[Command, Message] | None]]] = []


def command(
    *names: str,
    may: Need | Role,
    subs: dict[str, Need | Role] | None = None,
    with_args: Need | None = None,
    at_sender: bool = True,
) -> Callable[[Handler], Handler]:
    """Register a handler for `/name …` (and `／name …`); one NoneBot matcher routes every command.

    `may` says who may use it, `subs` who may use each sub-command (a word not listed: `may`), `with_args` who may
    give it other arguments; the router (`run`) checks it before the handler runs and hands the handler the asker's
    role and scope. Every command says it (tests/plugins/test_permissions.py lists them all).

    One matcher instead of one per command: NoneBot checks every matcher of a priority for every
    message, and with twenty commands that check was most of the bot's time per message.
    """

    def deco(fn: Handler) -> Handler:
        for name in names:
            if name in COMMANDS and COMMANDS[name].fn is not fn:
                raise RuntimeError(f"command /{name} registered twice")
            table = {k: v if isinstance(v, Need) else Need(v) for k, v in (subs or {}).items()}
            need = may if isinstance(may, Need) else Need(may)
            COMMANDS[name] = Command(fn, at_sender, need, table, with_args, names[0])
        return fn

    return deco


async def admit(ctx: Ctx, cmd: Command) -> None:
    """The one permission check: the asker's role and scope onto `ctx`, or the refusal naming what they may do.

    For what anyone may use, the binding is not looked up (the confirmation burst's path): the role is then an
    admin's or MEMBER, and handlers that need the unit ask for it as before.

    Raises:
        Forbidden: the asker's role is below what the command (or its sub-command) needs.
    """
    need, typed = cmd.need(ctx.args)
    ctx.role, ctx.scope = await ctx.app.roles.of(ctx.user_id, binding=need.role > Role.MEMBER)
    if ctx.role >= need.role:
        return
    who = "省级管理员" if need.role is Role.PROVINCE_ADMIN and ctx.role is Role.CITY_ADMIN else "管理员"
    what = need.what or f"使用 {typed}"
    mine = f"（你是市级管理员，管理范围：{ctx.scope.label}）" if ctx.role is Role.CITY_ADMIN else ""
    allowed = [f"/{cmd.name} {word}" for word, n in cmd.subs.items() if n.role <= ctx.role]
    instead = f"你可以用：{'、'.join(allowed[:6])}；" if allowed and cmd.name else ""
    raise Forbidden(f"只有{who}可以{what}{mine}。如需办理，请联系新闻办。{instead}发 /帮助 查看你能用的全部命令。")


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


async def run(
    event: MessageEvent,
    arg: Message,
    fn: Callable[[Ctx], Awaitable[Reply]],
    *,
    at_sender: bool = True,
    bot: Any = None,
    seen: Callable[[Reply], Awaitable[bool]] | None = None,
    cmd: Command | None = None,
) -> None:
    """Run a command: build the context, check who may (`cmd`'s declaration), call `fn`, reply; errors become a
    clear Chinese answer (timed for /metrics, and let finish at a stop: plugins/_running). `seen` is asked before
    the answer is queued: True means the asker was given this answer already (nothing more is sent)."""
    async with _running.command():
        await _run(event, arg, fn, at_sender=at_sender, bot=bot, seen=seen, cmd=cmd)


async def _run(
    event: MessageEvent,
    arg: Message,
    fn: Callable[[Ctx], Awaitable[Reply]],
    *,
    at_sender: bool,
    bot: Any,
    seen: Callable[[Reply], Awaitable[bool]] | None,
    cmd: Command | None,
) -> None:
    app = get_app()
    try:
        ctx = build_ctx(app, event, arg, bot)
        await admit(ctx, cmd or Command(fn))
        result = await fn(ctx)
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
        await answer_without_storage(app, bot, event, result, at_sender=at_sender)
