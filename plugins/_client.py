"""What handlers ask of the QQ client beyond sending messages: uploading a file, reading a reaction notice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import NoticeEvent
from nonebot.adapters.onebot.v11.exception import ActionFailed, ApiNotAvailable, NetworkError

from bot import privacy
from bot.app import current_app
from bot.task_reactions import confirming
from plugins import _files

if TYPE_CHECKING:
    from bot.broadcasts.service import Broadcasts
    from bot.returns.service import Returns

# ---------------------------------------------------------------- files


def is_office(target_type: str, target_id: str) -> bool:
    """The news office: a province admin in a private chat (every group, and everyone else, is not)."""
    app = current_app()
    return target_type == "private" and app is not None and app.is_admin(target_id)


async def upload_to(bot: Any, target_type: str, target_id: str, made: Any) -> str | None:
    """Upload a file to a group's files or a private chat; None when done, else why it failed.

    The file exit of the privacy filter (bot/privacy.py): the office gets the file as it is, anyone else (a group, an
    operator) a copy with every phone number masked, and never a file whose text cannot be checked."""
    office = is_office(target_type, target_id)
    try:
        path = await privacy.for_audience(made.path, office=office)
    except privacy.CannotMask:
        return "这个文件含有无法检查的内容（扫描件、图片或旧格式表格），只能发给管理员本人"
    except OSError as e:
        logger.warning(f"masking {made.path} failed: {e!r}")
        return "文件读不出来"
    name = made.name if office else privacy.mask(made.name)
    try:
        if target_type == "group":
            await _files.upload(bot, "upload_group_file", {"group_id": int(target_id)}, Path(path), name)
        else:
            await _files.upload(bot, "upload_private_file", {"user_id": int(target_id)}, Path(path), name)
    except (ActionFailed, _files.FileTooBig) as e:
        logger.warning(f"upload of {made.path} refused: {e}")
        return _files.refusal(e, target_type)
    except NetworkError as e:
        logger.warning(f"upload of {made.path} timed out: {e}")
        return "上传超时，文件可能稍后出现" + ("在群文件里" if target_type == "group" else "在私聊里")
    except ApiNotAvailable:
        return "QQ 客户端没有连接"
    except Exception as e:  # a client that does not support file uploads answers in odd ways
        logger.warning(f"upload of {made.path} failed: {e!r}")
        return "QQ 客户端不支持上传文件"
    return None


async def to_asker_privately(ctx: Any, made: Any, what: str) -> Any:
    """An admin's file (an export, the originals) uploaded to the admin privately, never to a group: in a group
    the answer is one line saying so (a quiet group, issue 21.8); when the private upload fails, where the file is."""
    from bot.render import Msg

    problem = await upload_to(ctx.bot, "private", ctx.user_id, made)
    if problem is None:
        return Msg(f"{what}，已私聊发给你：{made.name}" if ctx.in_group else f"{what}，已上传到私聊：{made.name}")
    return Msg(f"{what}。私聊发不出去（{problem}），没有发到群里；请在管理后台下载，或到服务器取：{made.path}")


# ---------------------------------------------------------------- reactions that confirm a 统发 or a 报送


def reaction_of(event: NoticeEvent) -> tuple[str, str, str] | None:
    """(group id, user id, message id) of a confirming reaction being added, or None.

    NapCat and LLOneBot send `group_msg_emoji_like` (`user_id`, `message_id`, `likes: [{emoji_id, count}]`,
    `is_add` in newer versions); Lagrange.OneBot sends `reaction` (`operator_id`, `code`, `sub_type: add|remove`).
    """
    app = current_app()
    data = event.model_dump()
    if app is None or data.get("group_id") is None or data.get("message_id") is None:
        return None
    if event.notice_type == "group_msg_emoji_like":
        user = data.get("user_id")
        added = data.get("is_add", True) is not False
        likes = data.get("likes") or []
        emojis = [str(x.get("emoji_id")) for x in likes if isinstance(x, dict)] if isinstance(likes, list) else []
    elif event.notice_type == "reaction":
        user = data.get("operator_id") or data.get("user_id")
        added = data.get("sub_type", "add") == "add"
        emojis = [str(data.get("code"))]
    else:
        return None
    if user is None or str(user) == str(event.self_id) or not added:
        return None
    if not any(confirming(app.settings, e) for e in emojis):
        return None
    return str(data["group_id"]), str(user), str(data["message_id"])


async def caught_up(service: Broadcasts | Returns, task_id: int | None) -> None:
    """Count reactions given while the bot or its client was away, before reporting or nudging a task."""
    try:
        await service.reactions.away.catch_up(task_id)
    except Exception as e:
        logger.info(f"catching up reactions failed: {e!r}")
