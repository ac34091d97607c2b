"""Fake OneBot v11 events shaped like what real clients send (negative ids, empty cards, extras)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from nonebot.adapters.onebot.v11 import GroupMessageEvent, Message, MessageSegment, PrivateMessageEvent

GROUP = 100200300
ADMIN = 900001
_ids = itertools.count(-2_000_000_001, -7919)


def _message(msg: Message, user_id: int) -> dict[str, Any]:
    """The fields every message event has: now, the bot's id, a fresh message id, the message three ways."""
    return {
        "time": int(time.time()),
        "self_id": 10000,
        "post_type": "message",
        "user_id": user_id,
        "message_id": next(_ids),
        "message": msg,
        "original_message": msg,
        "raw_message": str(msg),
        "font": 14,
    }


def group_msg(
    text: str | Message,
    user_id: int,
    group_id: int = GROUP,
    *,
    card: str = "",
    nickname: str | None = None,
    role: str = "member",
    reply_to: int | None = None,
    to_me: bool = False,
    **extra: Any,
) -> GroupMessageEvent:
    msg = Message(MessageSegment.text(text)) if isinstance(text, str) else text
    if reply_to is not None:
        msg = MessageSegment.reply(reply_to) + msg
    return GroupMessageEvent(
        **_message(msg, user_id),
        sub_type="normal",
        message_type="group",
        group_id=group_id,
        to_me=to_me,
        sender={
            "user_id": user_id,
            "nickname": nickname if nickname is not None else f"用户{user_id}",
            "card": card,
            "role": role,
            "sex": "unknown",
            "age": 0,
        },
        **extra,
    )


def private_msg(text: str, user_id: int, *, nickname: str | None = None) -> PrivateMessageEvent:
    return PrivateMessageEvent(
        **_message(Message(MessageSegment.text(text)), user_id),
        sub_type="friend",
        message_type="private",
        to_me=True,
        sender={"user_id": user_id, "nickname": nickname or f"用户{user_id}"},
    )
