"""Lifecycle and scope: open the app at start, wire the outbox to the QQ client, ignore foreign groups."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from nonebot import get_driver, logger, on_message, on_notice
from nonebot.adapters.onebot.v11 import (
    Bot,
    Event,
    GroupMessageEvent,
    Message,
    MessageEvent,
    NoticeEvent,
    PrivateMessageEvent,
)
from nonebot.adapters.onebot.v11.exception import ActionFailed, ApiNotAvailable, NetworkError
from nonebot.exception import IgnoredException
from nonebot.message import event_preprocessor
from nonebot.plugin import PluginMetadata
from nonebot.rule import Rule
from nonebot.typing import T_State

from bot import clock
from bot.app import App, current_app, get_app
from bot.outbox.records import NotSent, ReactionUnsupported, SendFailed, SendUnknown
from bot.pictures.store import inline
from bot.reminders import Wake
from bot.render import Msg, Segment
from plugins import _files, _replay, _running
from plugins._ctx import Ctx
from plugins._diskfull import watch_disk
from plugins._flood import guarded
from plugins._hints import guess_command, leading_text, typo_hint
from plugins._notices import notices_for
from plugins._registry import COMMANDS, TRIGGERS, Command, admins, command, match_command
from plugins._reply import Reply
from plugins._roles import ADMIN
from plugins._topics import Topic, help_topics
from plugins.system.reactions import make_lister, make_resolver
from plugins.system.reactions import unknown_action as _unknown_action

HELP = [
    Topic(
        "发送记录",
        ADMIN,
        "发送失败、不确定是否送达、积压后未发或合并发送的消息",
        "/发送记录 — 这些消息不会自动重发，以免重复刷屏；请核对后手动补发",
    ),
]

__plugin_meta__ = PluginMetadata(
    name="系统",
    description="启动与关闭、消息发送队列、服务范围",
    usage="/发送记录 — 管理员查看发送失败或不确定是否送达的消息",
    extra={"help": HELP},
)

driver = get_driver()
ROUTE = "alliance_route"
NOTICED = "alliance_notices"


REMINDER_JOB = "alliance-reminders"


def _scheduler_wake(app: App) -> Wake:
    """APScheduler is the clock of timed work: one date job at the reminder ledger's next due time (the ledger
    decides what goes out, exactly once)."""
    from nonebot_plugin_apscheduler import scheduler  # loaded by `python -m bot` before our plugins

    async def wake_up() -> None:  # a coroutine: APScheduler runs it on the event loop, not in a thread
        app.reminders.kick()

    def wake(when: datetime | None) -> None:
        if scheduler.get_job(REMINDER_JOB) is not None:  # also one added before the scheduler started
            scheduler.remove_job(REMINDER_JOB)
        if when is not None:  # a time already past runs at once (misfire_grace_time None: never dropped)
            scheduler.add_job(wake_up, "date", run_date=when, id=REMINDER_JOB, misfire_grace_time=None)

    return wake


@driver.on_startup
async def _startup() -> None:
    try:
        app = get_app()
    except RuntimeError:  # under nonebug the tests provide the app
        logger.warning("no application configured; start the bot with `python -m bot`")
        return
    watch_disk(app)
    app.reminders.use_scheduler(_scheduler_wake(app))
    await app.start()
    logger.info(f"联盟助手已启动：数据库 {app.settings.db_path}，服务群 {sorted(app.settings.groups) or '（未配置）'}")
    if not app.settings.alliance_pictures:
        logger.info("图片已关闭（ALLIANCE_PICTURES=false）：排行和进度以文字发送")
    elif (font := app.pictures.font) is not None:
        logger.info(f"图片使用字体 {font.path}（第 {font.index} 个字形）")
    else:
        logger.warning("没有找到中文字体（可安装 fonts-noto-cjk，或设置 ALLIANCE_FONT）：排行和进度以文字发送")


@driver.on_shutdown
async def _shutdown() -> None:
    try:
        app = get_app()
    except RuntimeError:
        return
    # SIGTERM or Ctrl-C (issue 25.5): the commands being run write and queue their answers first, then the workers
    # stop (a send in flight is recorded) and the database is closed; all of it well inside systemd's 10 s
    left = await _running.drain(STOP_WAIT)
    if left:
        logger.warning(f"停止时还有 {left} 条命令没有办完：它们没有保存任何内容，也没有回复")
    await _replay.flush(app)  # the mark of the last message seen in each group (written behind the messages)
    await app.stop()
    logger.info("联盟助手已停止")


STOP_WAIT = 5.0  # seconds a stop waits for the commands being run


def _outgoing(bot: Bot, target_type: str, segments: list[Segment], *, inline_pictures: bool = True) -> tuple[str, dict]:
    """The OneBot call for a stored message: text, a picture (from the data folder: its `file://` path, or inline
    with `inline_pictures`, so a client on another machine gets it too), a merged-forward message of flat nodes,
    or a file upload."""
    group = target_type == "group"
    types = {s["type"] for s in segments}
    if "upload" in types:
        data = next(s["data"] for s in segments if s["type"] == "upload")
        api = "upload_group_file" if group else "upload_private_file"
        return api, {"file": data["file"], "name": data["name"]}
    if "node" in types:
        nodes = [
            {"type": "node", "data": {"user_id": bot.self_id, "nickname": "联盟助手", "content": s["data"]["content"]}}
            for s in segments
            if s["type"] == "node"
        ]
        return ("send_group_forward_msg" if group else "send_private_forward_msg"), {"messages": nodes}
    out = []
    for s in segments:
        if s["type"] == "image" and str(s["data"].get("file", "")).startswith("file://"):
            path = Path(url2pathname(urlparse(s["data"]["file"]).path))
            try:  # gone from the bot's own disk (not a client that cannot see it): refused here
                if inline_pictures:
                    s = {"type": "image", "data": {"file": inline(path)}}
                else:
                    path.stat()
            except OSError as e:
                raise SendFailed(f"图片文件不见了：{e}") from None
        out.append(s)
    return ("send_group_msg" if group else "send_private_msg"), {"message": out}


def _by_path(params: dict) -> list[str]:
    """The `file://` URIs of the pictures a send call gives by path."""
    return [
        s["data"]["file"]
        for s in params.get("message", ())
        if s["type"] == "image" and str(s["data"].get("file", "")).startswith("file://")
    ]


def make_sender(bot: Bot):
    """The outbox's way out: one OneBot call, its outcome mapped to sent / failed / unknown / not sent."""

    async def send(target_type: str, target_id: str, segments: list[Segment]) -> str | None:
        key = "group_id" if target_type == "group" else "user_id"
        inline_pictures = _files.inline_for(bot)  # pictures by path too where the client sees the bot's disk
        api, params = _outgoing(bot, target_type, segments, inline_pictures=inline_pictures)
        started = int(time.time()) - 1
        try:
            try:
                if api in ("upload_group_file", "upload_private_file"):  # issue 22.3: path or base64, by the setting
                    ids = {key: int(target_id)}
                    result = await _files.upload(bot, api, ids, Path(params["file"]), params["name"])
                else:
                    result = await bot.call_api(api, **{key: int(target_id)}, **params)
            except ActionFailed as e:
                if not await _files.picture_refused(bot, _by_path(params), e):
                    raise
                _, params = _outgoing(bot, target_type, segments, inline_pictures=True)
                result = await bot.call_api(api, **{key: int(target_id)}, **params)
        except _files.FileTooBig as e:
            raise SendFailed(str(e)) from None
        except ActionFailed as e:
            if api.startswith("upload_"):
                raise SendFailed(f"{_files.refusal(e, target_type)}（{e}）") from None
            raise SendFailed(f"QQ 客户端拒绝发送：{e}") from None
        except ApiNotAvailable:
            raise NotSent() from None
        except NetworkError as e:
            if api == "send_group_forward_msg":
                return await _files.forward_timed_out(bot, int(target_id), started, e)
            raise SendUnknown(f"发送超时，可能已送达，未重发：{e}") from None
        if isinstance(result, dict) and result.get("message_id") is not None:
            return str(result["message_id"])
        return None

    return send


def make_reactor(bot: Bot, emoji: str):
    """The outbox's way to acknowledge by reaction: NapCat/LLOneBot `set_msg_emoji_like`, Lagrange
    `set_group_reaction`; the one that works is remembered for the connection."""
    works: list[str] = []

    async def react(group_id: str, message_id: str) -> None:
        last: ActionFailed | None = None
        for api in works or ["set_msg_emoji_like", "set_group_reaction"]:
            if api == "set_msg_emoji_like":
                params = {"message_id": int(message_id), "emoji_id": emoji}
            else:
                params = {"group_id": int(group_id), "message_id": int(message_id), "code": emoji, "is_add": True}
            try:
                await bot.call_api(api, **params)
            except ActionFailed as e:
                if _unknown_action(e):
                    last = e
                    continue
                raise SendFailed(f"QQ 客户端没有加上表情回应：{e}") from None
            except ApiNotAvailable:
                raise NotSent() from None
            except NetworkError as e:
                raise SendUnknown(f"表情回应超时，可能已生效，未重发：{e}") from None
            if not works:
                works.append(api)
            return
        raise ReactionUnsupported(f"QQ 客户端不支持表情回应：{last}")

    return react


_background: set[asyncio.Task[None]] = set()


async def _learn(bot: Bot, app: App) -> None:
    """At connect: the alliance groups this account is in (they wait for it), then reactions given meanwhile."""
    account = str(bot.self_id)
    mine: list[str] = []
    try:
        groups = await bot.call_api("get_group_list")
        ids = [str(g.get("group_id")) for g in groups or [] if isinstance(g, dict)]
        mine = await app.outbox.accounts.learn_groups(account, [g for g in ids if g in app.settings.groups])
        logger.info(f"QQ 账号 {account} 服务联盟群：{'、'.join(mine) or '（无）'}")
    except Exception as e:
        logger.info(f"get_group_list failed on {account}: {e!r}")
    try:
        await app.outbox.keys.learn_missing_keys()  # issue 22.2: stable keys of posts sent without one
    except Exception as e:
        logger.info(f"learning message keys failed: {e!r}")
    try:
        await _replay.catch_up(bot, app, mine)  # issue 22.5: what members did while the bot was away
    finally:
        app.reminders.kick()  # nudges due meanwhile go out after what was done meanwhile is counted
    for service in (app.broadcasts, app.returns):
        try:
            counted = await service.reactions.away.catch_up(force=True)
            if counted:
                logger.info(f"补记了 {counted} 个离线期间的{service.noun}表情确认")
        except Exception as e:
            logger.info(f"catching up reactions failed: {e!r}")


@driver.on_bot_connect
async def _connected(bot: Bot) -> None:
    app = current_app()
    if app is None:
        return
    account = str(bot.self_id)
    react = make_reactor(bot, app.settings.alliance_ack_emoji)
    if not app.outbox.attach(make_sender(bot), owner=bot, account=account, react=react):
        logger.warning(
            f"QQ 账号 {account} 不是本机器人配置的账号（ALLIANCE_ACCOUNTS）或已有别的账号在服务，它的连接不用于收发消息"
        )
        return
    lister = app.broadcasts.reactions.away.lister or make_lister(app)  # one for both: it learns the client once
    app.outbox.keys.resolver = make_resolver(app)  # the stable key of the bot's messages (issue 22)
    for service in (app.broadcasts, app.returns):
        service.reactions.away.lister = lister
        service.reactions.away.catch_up_due()
    logger.info(f"QQ 客户端 {account} 已连接，开始发送待发消息")
    if not hasattr(bot, "call_api"):
        app.reminders.kick()
    else:
        task = asyncio.create_task(_learn(bot, app), name=f"learn-{account}")
        _background.add(task)
        task.add_done_callback(_background.discard)


@driver.on_bot_disconnect
async def _disconnected(bot: Bot) -> None:
    app = current_app()
    if app is None:
        return
    app.outbox.detach(owner=bot)
    logger.warning(f"QQ 客户端 {bot.self_id} 已断开，消息将在重连后发送")


@event_preprocessor
async def _scope(event: Event) -> None:
    """Serve only the configured groups, and private chats with admins and people the bot knows; take events
    only from QQ accounts that may serve this bot (a second, unconfigured account is ignored)."""
    app = get_app()
    account = str(event.self_id)
    if not app.outbox.accounts.may_attach(account):
        raise IgnoredException("not an account of this bot")
    group_id = getattr(event, "group_id", None)
    if isinstance(event, (GroupMessageEvent, NoticeEvent)) and group_id is not None:
        if str(group_id) not in app.settings.groups:
            raise IgnoredException("not an alliance group")
        served = app.outbox.accounts.group_account.get(str(group_id))
        if served is not None and served != account and app.outbox.accounts.is_connected(served):
            raise IgnoredException("another account of the bot serves this group")  # both are in it: act once
        if isinstance(event, GroupMessageEvent) and not await _replay.saw(app, event):  # issue 22.5: the mark
            raise IgnoredException("handled already: read back from the group's history")
    elif isinstance(event, PrivateMessageEvent):
        known = app.is_admin(event.user_id) or await app.roles.is_appointed(event.user_id)  # admins: any level
        if not known and not await app.units.registrations.is_known(event.user_id):
            raise IgnoredException("private chat with an unknown user")
        app.outbox.accounts.note_private(event.user_id, account)


async def _routed(bot: Bot, event: MessageEvent, state: T_State) -> bool:
    """A slash command of ours, or a message a plugin's trigger acts on; never the bot's own messages."""
    if str(event.user_id) == bot.self_id:
        return False
    found = match_command(event.get_message(), bot.self_id)
    if found is None:
        for check in TRIGGERS:
            found = await check(event)
            if found is not None:
                break
    if found is None:
        found = _typo(bot, event)
    if found is None:
        found = _question(bot, event)
    if found is None:
        return False
    state[ROUTE] = (found, bot, event)  # the handler takes only `state`: NoneBot solves each parameter in a task
    return True


def _typo(bot: Bot, event: MessageEvent) -> tuple[Command, Message] | None:
    """A message that starts with `/` but is no command: one short hint with the closest command the sender may
    use; in a group only when the guess is close (other bots' commands and chat are left alone)."""
    message = event.get_message()
    text = leading_text(message, bot.self_id)
    if text is None or text[:1] not in ("/", "／"):
        return None
    app = get_app()
    admin_only = set() if app.is_admin(event.user_id) else {t.name for t in help_topics() if t.who == ADMIN}
    guess = guess_command(message, bot.self_id, allowed=lambda name: name not in admin_only)
    in_group = isinstance(event, GroupMessageEvent)
    if in_group and (guess is None or not guess.close):
        return None
    if guess is None and len(text.strip()) < 2:
        return None
    hint = typo_hint(guess)

    async def answer(ctx: Ctx) -> Msg:
        return hint

    return Command(answer), Message()


QUESTION_MAX = 40  # longer text to the bot is chat, not a question about a command
QUESTION_WORDS = re.compile(r"怎么|怎样|如何|咋|什么|哪|能不能|可以吗|吗|呢|[？?]|请问|教程|步骤")


def _question(bot: Bot, event: MessageEvent) -> tuple[Command, Message] | None:
    """Words to the bot without a slash that name a command (`注册 河大`, `怎么报送？`): that command's help, in one
    message. Only when the message is to the bot (@bot, a reply to it, a private chat): chat between members is
    left alone."""
    if not event.is_tome():
        return None
    text = leading_text(event.get_message(), bot.self_id)
    if text is None or text[:1] in ("/", "／") or len(text) > QUESTION_MAX:
        return None
    names = sorted({t.name for t in help_topics()}, key=lambda n: (-len(n), n))  # 已报送 before 报送
    typed = text.split()
    # the first word when it is a command (导出 备案表 is about 导出, not 备案), else the longest named
    name = typed[0] if typed[0] in names else next((n for n in names if n in text), None)
    if name is None:
        return None
    missing_slash = typed[0] == name and len(typed) > 1  # 注册 河大: a command typed without its slash
    if not missing_slash and not QUESTION_WORDS.search(text):  # a bare 已转发 in reply to some other message
        return None
    helper = COMMANDS["帮助"].fn

    async def answer(ctx: Ctx) -> Reply:
        out = await helper(ctx)
        if missing_slash and isinstance(out, Msg):
            head = Msg(f"命令前要加 /，请发：/{' '.join(typed)[:60]}").line()
            for seg in out.segments:
                head.add(seg)
            return head
        return out

    return Command(answer, at_sender=False), Message(name)


router = on_message(rule=Rule(_routed), priority=10, block=True)


@router.handle()
async def _route(state: T_State) -> None:
    (cmd, arg), bot, event = state[ROUTE]
    await guarded(event, arg, cmd, bot)


async def _noticed(bot: Bot, event: NoticeEvent, state: T_State) -> bool:
    """A notice some plugin registered with `notice` acts on (a confirming reaction, a member leaving, an upload)."""
    found = await notices_for(bot, event)
    state[NOTICED] = (found, bot, event)
    return bool(found)


# the same priority as the router: a message costs NoneBot no extra priority round for the notices
notices = on_notice(rule=Rule(_noticed), priority=10, block=False)


@notices.handle()
async def _notice(state: T_State) -> None:
    found, bot, event = state[NOTICED]
    for n in found:
        try:
            await n.handle(bot, event)
        except Exception:  # one plugin's failure does not keep the others from the notice
            logger.exception(f"notice handler {n.handle.__qualname__} failed")


@command("发送记录", may=admins("查看发送记录"))
async def show_problems(ctx: Ctx) -> Msg:
    rows = await ctx.app.outbox.reading.problems()
    if not rows:
        return Msg("最近没有发送失败、不确定是否送达、积压后未发或合并发送的消息。")
    out = Msg(f"最近 {len(rows)} 条发送异常的消息（不会自动重发，以免重复刷屏）：")
    for r in rows:
        where = f"群{r['target_id']}" if r["target_type"] == "group" else f"私聊{r['target_id']}"
        state = {
            "failed": "失败",
            "unknown": "不确定是否送达",
            "dropped": "积压过久未发（确认已记录）",
            "merged": f"并入 #{r['merged_into']} 发送",
        }.get(r["state"], r["state"])
        text = "".join(s["data"].get("text", "") for s in json.loads(r["message"]) if s["type"] == "text").strip()
        out.line(f"#{r['id']} {clock.show(clock.from_db(r['created_at']))} {where} {state}：{text[:30]}")
    return out
