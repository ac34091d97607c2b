"""Outbox records: priorities (answers, notices, acks, nudges), what a send can end in, a sent message about a task, a connected account."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.refs import Ref
from bot.render import Segment

log = logging.getLogger("alliance.outbox")
T = TypeVar("T")


ANSWER, NOTICE, ACK, NUDGE = 0, 1, 2, 3


DEFAULT_ACCOUNT = "*"


# the ref of a reaction on a repeated command (issue 20): a reaction where the client has them, else nothing at all
REPEAT = "repeat"

FAIR_WINDOW = 60.0  # seconds over which the messages sent to each asker are counted, to serve askers in turn


REACT_BATCH = 16  # reactions claimed at once when there is no gap between them  # an attach without an account (tests, a single client that did not say)


@dataclass(frozen=True)
class SentRef:
    """A sent message about a task: its outbox row, what it was about, the client's id, the group it went to."""

    row_id: int
    ref: Ref
    message_id: str
    group_id: str | None


class SendFailed(Exception):
    """The client answered that the message was not sent."""


class SendUnknown(Exception):
    """No answer (timeout, connection lost): the message may or may not have been delivered."""


class NotSent(Exception):
    """The message never left (no connection): it stays pending."""


class ReactionUnsupported(Exception):
    """The client has no way to put a reaction on a message (unknown action)."""


Sender = Callable[[str, str, list[Segment]], Awaitable[str | None]]


# (group id, message id) → None; raises ReactionUnsupported / SendFailed / SendUnknown / NotSent
Reactor = Callable[[str, str], Awaitable[None]]


def default_priority(ref: Ref | str | None) -> int:
    """What a row is, from its ref: no ref is an answer; reminders and nudges come last; the rest are notices."""
    if ref is None:
        return ANSWER
    typed = ref if isinstance(ref, Ref) else Ref.parse(ref)
    return NUDGE if typed is not None and typed.nudges else NOTICE


def nudge_task(ref: str) -> str:
    """The task a nudge or reminder is about (`reminder:broadcast:3` and `broadcast:3:nudge` → `broadcast:3`)."""
    typed = Ref.parse(ref)
    return ref if typed is None else f"{typed.kind}:{typed.id}"


@dataclass
class Connection:
    """One connected QQ account: its way out, and its own budget."""

    account: str
    sender: Sender
    owner: object | None
    react: Reactor | None
    next_msg: float = 0.0
    next_react: float = 0.0
    gone: asyncio.Event = field(default_factory=asyncio.Event)  # set when the client went away (detached)


GONE = "QQ 客户端在发送途中断开，可能已送达，未重发"


async def unless_gone(conn: Connection, call: Awaitable[T]) -> T:
    """`call` (a send or a reaction through `conn`), ended as soon as `conn` is detached: the client that went away
    will never answer it, and the outbox would wait ALLIANCE_SEND_TIMEOUT for that answer while a new connection
    stands idle. Gone before the send began: NotSent (it stays pending); gone during it: SendUnknown (never sent
    again)."""
    if conn.gone.is_set():
        if asyncio.iscoroutine(call):
            call.close()
        raise NotSent("the client went away")
    send = asyncio.ensure_future(call)
    gone = asyncio.ensure_future(conn.gone.wait())
    try:
        await asyncio.wait({send, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not send.done():
            send.cancel()
    if send.done() and not send.cancelled():
        return send.result()
    raise SendUnknown(GONE)
