"""Reactions (a part of Broadcasts): a confirming emoji on an announcement or nudge confirms like /已转发; reactions given while away are caught up (bot/task_reactions.py) where the client can list them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.broadcasts.records import (
    OPEN,
    Confirmation,
    NotBound,
    log,
)
from bot.broadcasts.reply_index import ReplyIndex
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import UserError
from bot.task_reactions import ReactionCatchUp, ReactionPlan
from bot.tasks import Owing
from bot.units.service import Units

# (user id, user name, task id, via) → the confirmation stored (Broadcasts.confirm)
Confirm = Callable[..., Awaitable[Confirmation]]


class BroadcastReactions:
    """Reactions (a part of Broadcasts): a confirming emoji on an announcement or nudge confirms like /已转发; reactions given while away are caught up where the client can list them."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        units: Units,
        posts: ReplyIndex,
        *,
        confirm: Confirm,
        still_owing: Callable[[Tx, int], Awaitable[Owing]],
    ) -> None:
        self.away = ReactionCatchUp(settings, plan=self.reaction_plan, confirm=self.confirm_reacted)
        self.db = db
        self.units = units
        self.posts = posts
        self.confirm = confirm  # Broadcasts.confirm
        self.still_owing = still_owing  # Broadcasts.still_owing

    async def confirm_by_reaction(self, user_id: str | int, message_id: object) -> Confirmation | None:
        """A reaction on an announcement or nudge of a task confirms it like `/已转发` (None: the message is no
        task's, or the task no longer takes confirmations, or the unit does not owe it or confirmed already: a
        toggled 👍 stores no second row).

        Raises:
            NotBound: the person is bound to no unit (nothing is stored).
        """
        task_id = await self.posts.task_of_message(message_id)
        if task_id is None:
            return None
        bound = await self.units.registrations.operator(
            str(user_id)
        )  # confirm() acts for this, the person's own unit only
        try:
            c = await self.confirm(str(user_id), bound[0].name if bound else "", task_id, via="reaction")
            return c if c.counted else None  # the unit confirmed already: nothing stored, nothing to say
        except NotBound:
            raise
        except UserError as e:
            log.info("reaction by %s on %s not counted: %s", user_id, message_id, e)
            return None

    async def reaction_plan(self, task_id: int | None) -> list[ReactionPlan]:
        async with self.db.read() as tx:
            if task_id is None:
                tasks = [r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE state=?", (OPEN,))]
            else:
                tasks = [
                    r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE id=? AND state=?", (task_id, OPEN))
                ]
            plan = []
            for tid in tasks:
                owing = frozenset(o.user_id for o in (await self.still_owing(tx, tid)).operators)
                posts = await tx.all(
                    "SELECT message_id, group_id FROM broadcast_posts WHERE task_id=? "
                    "ORDER BY kind<>'announce', rowid DESC",
                    (tid,),
                )
                plan.append(ReactionPlan(tid, owing, [(p["group_id"], p["message_id"]) for p in posts[:4]]))
        return plan

    async def confirm_reacted(self, user_id: str, task_id: int) -> bool:
        bound = await self.units.registrations.operator(user_id)
        try:
            c = await self.confirm(user_id, bound[0].name if bound else "", task_id, via="reaction")
        except UserError:
            return False
        return c.counted
