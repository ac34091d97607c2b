"""What handlers ask of the QQ client beyond sending messages: uploading a file, reading a reaction notice."""

from __future__ import annotations

from typing import Any

from nonebot import logger
from nonebot.adapters.onebot.v11 import NoticeEvent
from nonebot.adapters.onebot.v11.exception import ActionFailed, ApiNotAvailable, NetworkError

from bot.app import current_app
from bot.task_reactions import TaskReactions, confirming

# ---------------------------------------------------------------- files


async def upload_to(bot: Any, target_type: str, target_id: str, made: Any) -> str | None:
    """Upload a file to a group's files or a private chat; None when done, else why it failed."""
    try:
        if target_type == "group":
            await bot.call_api("upload_group_file", group_id=int(target_id), file=str(made.path), name=made.name)
        else:
            await bot.call_api("upload_private_file", user_id=int(target_id), file=str(made.path), name=made.name)
    except ActionFailed as e:
        logger.warning(f"upload of {made.path} refused: {e}")
        return "QQ 客户端拒绝上传"
    except NetworkError as e:
        logger.warning(f"upload of {made.path} timed out: {e}")
        return "上传超时，文件可能稍后出现在群文件里"
    except ApiNotAvailable:
        return "QQ 客户端没有连接"
    except Exception as e:  # a client that does not support file uploads answers in odd ways
        logger.warning(f"upload of {made.path} failed: {e!r}")
        return "QQ 客户端不支持上传文件"
    return None


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


async def caught_up(service: TaskReactions, task_id: int | None) -> None:
    """Count reactions given while the bot or its client was away, before reporting or nudging a task."""
    try:
        await service.catch_up(task_id)
    except Exception as e:
        logger.info(f"catching up reactions failed: {e!r}")
