"""Confirming a task by a reaction, the part 统发 and 报送 share: which faces confirm, and catching up the reactions
given while the bot or its QQ client was away (where the client can list them).

`ReactionCatchUp` is a part (`away`) of the reactions part of `Broadcasts` and of `Returns`: each gives it, in its
constructor, how to list its open tasks' posts and who still owes them (`plan`) and how one reacted person confirms
(`confirm`); the catch-up itself (asked at a (re)connect, before a progress report or a nudge, at most once a
minute per task while connected, one at a time so a reaction is never counted twice) is here once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.reminders import Reminder

log = logging.getLogger("alliance.reactions")

CATCH_UP_EVERY = 60.0  # seconds: reactions listed for a task at most this often, except at a (re)connect

# (group id, message id, emoji id) → the QQ ids who reacted with it, or None when the client cannot say
ReactionLister = Callable[[str | None, str, str], Awaitable[list[str] | None]]


def confirming(settings: Settings, emoji_id: object) -> bool:
    """Whether a reaction with this face confirms (`ALLIANCE_CONFIRM_EMOJIS`)."""
    return str(emoji_id).strip() in settings.alliance_confirm_emojis


@dataclass(frozen=True)
class ReactionPlan:
    """One open task: the QQ ids of the operators still owing it, and the bot's posts about it to look at
    ((group id, message id), the announcements first, then the latest nudges)."""

    task_id: int
    owing: frozenset[str]
    posts: list[tuple[str | None, str]]


# the open tasks (or the one) that take confirmations by reaction, with who owes them and their posts
Plan = Callable[[int | None], Awaitable[list[ReactionPlan]]]
# one person who reacted while away confirms a task (True: it counted for the unit)
ConfirmReacted = Callable[[str, int], Awaitable[bool]]


class ReactionCatchUp:
    """Catching up reactions given while away (the part `away` of the reactions part of Broadcasts and of Returns)."""

    def __init__(self, settings: Settings, *, plan: Plan, confirm: ConfirmReacted) -> None:
        self.settings = settings
        self.plan = plan
        self.confirm = confirm
        self.lister: ReactionLister | None = (
            None  # set by the plugin while a client that can list reactions is connected
        )
        self._catching = asyncio.Lock()
        self._caught: dict[int | None, float] = {}  # task (None: all open ones) → when its reactions were listed

    def catch_up_due(self) -> None:
        """A client (re)connected: reactions may have been missed, so the next catch-up of any task runs."""
        self._caught.clear()

    async def catch_up(self, task_id: int | None = None, *, force: bool = False) -> int:
        """Count the reactions given while the bot or its client was away, where the client can list them.

        Looks at the announcements and the latest nudges of open tasks (or of one task), and confirms for the
        operators still owing it who reacted with a confirming emoji. Returns how many were counted. While the
        client is connected reactions come as notices, so a task looked at in the last `CATCH_UP_EVERY`
        seconds is not asked about again unless `force` (a client just connected).
        """
        lister = self.lister
        if lister is None:
            return 0
        now = time.monotonic()
        if force:
            self._caught.clear()
        elif now - self._caught.get(task_id, -1e9) < CATCH_UP_EVERY:
            return 0
        async with self._catching:  # one at a time: two catch-ups would both count the same reaction
            counted = await self._catch_up(lister, task_id)
        self._caught[task_id] = time.monotonic()
        return counted

    async def _catch_up(self, lister: ReactionLister, task_id: int | None) -> int:
        counted = 0
        for plan in await self.plan(task_id):
            if not plan.owing:
                continue
            reacted: set[str] = set()
            for group_id, message_id in plan.posts:
                for emoji in self.settings.alliance_confirm_emojis:
                    users = await lister(group_id, message_id, emoji)
                    if users is None:
                        return counted  # this client cannot list reactions
                    reacted.update(u for u in users if u in plan.owing)
            for uid in sorted(reacted):
                counted += await self.confirm(uid, plan.task_id)
        return counted

    async def before_nudge(self, rem: Reminder) -> None:
        """Before an automatic nudge is built (outside its transaction): count reactions given while away."""
        try:
            await self.catch_up(rem.task_id)
        except Exception:
            log.exception("catching up reactions before reminder %s failed", rem.id)
