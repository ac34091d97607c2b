"""A full disk: the command's answer sent straight away (nothing can be stored), and the admins told at most every 10 minutes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import GroupMessageEvent, MessageEvent

from bot import privacy
from bot.app import App
from bot.names import is_qq
from bot.render import Msg
from plugins._reply import Reply

DISK_FULL = (
    "抱歉，服务器磁盘已满，这条命令没有办成，也没有保存任何内容。已通知管理员；请等管理员腾出空间后再发一次同样的命令。"
)

_admins_told_at: float = 0.0


async def answer_without_storage(app: App, bot: Any, event: MessageEvent, result: Reply, *, at_sender: bool) -> None:
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
