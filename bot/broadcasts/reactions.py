"""Reactions (a part of Broadcasts): a confirming emoji on an announcement or nudge confirms like /已转发; reactions given while away are caught up where the client can list them."""

from __future__ import annotations

import time

from bot.broadcasts.records import (
    CATCH_UP_EVERY,
    OPEN,
    Confirmation,
    NotBound,
    ReactionLister,
    log,
)
from bot.errors import UserError


class Reactions:
    """Reactions (a part of Broadcasts): a confirming emoji on an announcement or nudge confirms like /已转发; reactions given while away are caught up where the client can list them."""

    def is_confirm_emoji(self, emoji_id: object) -> bool:
        return str(emoji_id).strip() in self.settings.alliance_confirm_emojis

    async def confirm_by_reaction(self, user_id: str | int, message_id: object) -> Confirmation | None:
        """A reaction on an announcement or nudge of a task confirms it like `/已转发` (None: the message is no
        task's, or the task no longer takes confirmations, or the unit does not owe it).

        Raises:
            NotBound: the person is bound to no unit (nothing is stored).
        """
        task_id = await self.task_of_message(message_id)
        if task_id is None:
            return None
        bound = await self.units.operator(str(user_id))
        try:
            return await self.confirm(str(user_id), bound[0].name if bound else "", task_id, via="reaction")
        except NotBound:
            raise
        except UserError as e:
            log.info("reaction by %s on %s not counted: %s", user_id, message_id, e)
            return None

    async def catch_up(self, task_id: int | None = None, *, force: bool = False) -> int:
        """Count the reactions given while the bot or its client was away, where the client can list them.

        Looks at the announcements and the latest nudges of open tasks (or of one task), and confirms for the
        operators still owing it who reacted with a confirming emoji. Returns how many were counted. While the
        client is connected reactions come as notices, so a task looked at in the last `CATCH_UP_EVERY`
        seconds is not asked about again unless `force` (a client just connected).
        """
        lister = self.reaction_lister
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
        async with self.db.read() as tx:
            if task_id is None:
                tasks = [r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE state=?", (OPEN,))]
            else:
                tasks = [
                    r[0] for r in await tx.all("SELECT id FROM broadcasts WHERE id=? AND state=?", (task_id, OPEN))
                ]
            plan = []
            for tid in tasks:
                owing = {o.user_id for o in (await self._still_owing(tx, tid)).operators}
                if not owing:
                    continue
                posts = await tx.all(
                    "SELECT message_id, group_id FROM broadcast_posts WHERE task_id=? "
                    "ORDER BY kind<>'announce', rowid DESC",
                    (tid,),
                )
                plan.append((tid, owing, [(p["group_id"], p["message_id"]) for p in posts[:4]]))
        counted = 0
        for tid, owing, posts in plan:
            reacted: set[str] = set()
            for group_id, message_id in posts:
                for emoji in self.settings.alliance_confirm_emojis:
                    users = await lister(group_id, message_id, emoji)
                    if users is None:
                        return counted  # this client cannot list reactions
                    reacted.update(u for u in users if u in owing)
            for uid in sorted(reacted):
                bound = await self.units.operator(uid)
                try:
                    c = await self.confirm(uid, bound[0].name if bound else "", tid, via="reaction")
                except UserError:
                    continue
                counted += c.counted
        return counted
