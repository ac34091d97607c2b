"""Notices the plugins act on (a confirming reaction, a member leaving, an upload): one registry, one matcher.

`plugins/system` routes every notice through one NoneBot matcher, like `command` for messages (plugins/_registry).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nonebot.adapters.onebot.v11 import NoticeEvent


@dataclass(frozen=True)
class Notice:
    """A notice a plugin acts on: `check` says whether it is one, `handle` acts; `block` stops the notices after it."""

    check: Callable[[Any, NoticeEvent], Awaitable[bool]]  # (bot, event)
    handle: Callable[[Any, NoticeEvent], Awaitable[None]]  # (bot, event)
    block: bool
    first: bool


NOTICES: list[Notice] = []  # the ones registered `first`, then the others, each in registration order


def notice(
    check: Callable[[Any, NoticeEvent], Awaitable[bool]], *, block: bool = False, first: bool = False
) -> Callable[[Callable[[Any, NoticeEvent], Awaitable[None]]], Callable]:
    """Register a handler for the notices `check` accepts; one NoneBot matcher (plugins/system) routes them all.

    One matcher for every notice, like `command` for messages: NoneBot starts a task for every matcher of a
    priority for every event, messages included, so each notice matcher of its own cost every message too.
    `first` ones are checked before the others (a confirming reaction before the rest); the first of them that
    accepts with `block` is the only one run.
    """

    def deco(fn: Callable[[Any, NoticeEvent], Awaitable[None]]) -> Callable:
        NOTICES.append(Notice(check, fn, block, first))
        NOTICES.sort(key=lambda n: not n.first)  # stable: registration order within each group
        return fn

    return deco


async def notices_for(bot: Any, event: NoticeEvent) -> list[Notice]:
    """The registered notices that act on `event`, in order, up to the first blocking one."""
    out: list[Notice] = []
    for n in NOTICES:
        if await n.check(bot, event):
            out.append(n)
            if n.block:
                break
    return out
