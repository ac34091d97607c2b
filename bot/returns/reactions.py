"""Reactions (a part of Returns): a confirming emoji on the notice of a return that asks for no files, or on one of
its reminders or nudges, confirms like /已报送; on a return that asks for files it does not, and the person is told
once, privately, to upload the file. Reactions given while away are caught up (bot/task_reactions.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import UserError
from bot.outbox.records import ANSWER, SentRef
from bot.outbox.service import Outbox
from bot.refs import ANNOUNCE, HINT, REMINDER, RETURN_NUDGE, Ref
from bot.render import Msg
from bot.returns.records import BY_REACTION, BY_SELF, KIND, Return, Submission, Submitted, return_row
from bot.returns.text import files_not_by_reaction
from bot.task_reactions import ReactionCatchUp, ReactionPlan, log
from bot.tasks import NOT_BOUND, Owing
from bot.units.authority import Authority
from bot.units.records import Unit
from bot.units.service import Units

# the return's own messages in the group a reaction confirms on: its notice, reminders and nudges
_POSTS = (ANNOUNCE, REMINDER, RETURN_NUDGE)


class ReturnReactions:
    """Reactions (a part of Returns): confirming a return without files by a reaction, telling who reacted to one
    with files how to hand it in, catching up what was given while away."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        units: Units,
        outbox: Outbox,
        authority: Authority,
        *,
        get: Callable[[int], Awaitable[Return]],
        open_for_unit: Callable[[int], Awaitable[list[tuple[Return, Submission | None]]]],
        mark: Callable[[int, Unit, str, str, str, str], Awaitable[Submitted]],
        owing: Callable[[Tx, Return], Awaitable[Owing]],
    ) -> None:
        self.settings = settings
        self.away = ReactionCatchUp(settings, plan=self.reaction_plan, confirm=self.confirm_reacted)
        self.db = db
        self.units = units
        self.outbox = outbox
        self.authority = authority
        self.get = get  # Returns.get
        self.open_for_unit = open_for_unit  # Returns.open_for_unit
        self.mark = mark  # Returns' one way to mark a unit's return handed in
        self.owing = owing  # the units (and their operators) still owing a return

    async def return_of_post(self, message_id: object) -> int | None:
        """The return whose notice, reminder or nudge this message of the bot was (None: no return's)."""
        for ref in await self.outbox.reading.refs_of_message(str(message_id).strip()):
            if ref.kind == KIND and ref.purpose in _POSTS:
                return ref.id
        return None

    async def confirm_by_reaction(
        self, user_id: str | int, message_id: object, *, account: str | None = None
    ) -> Submitted | None:
        """A confirming reaction on a return's notice, reminder or nudge.

        A return without files: the reacting operator's unit is marked submitted like `/已报送` (once per unit,
        late marked 逾期). Someone bound to no unit is told privately how to register, and a return that asks
        for files is not confirmed: the person is told privately to upload the file; each at most once per person
        and return, never in the group. An admin bound to no unit is left alone (their 👍 is no confirmation).
        Returns the submission, or None when nothing was counted.
        """
        uid = str(user_id)
        rid = await self.return_of_post(message_id)
        if rid is None:
            return None
        ret = await self.get(rid)
        if not ret.open:
            return None
        bound = await self.units.registrations.operator(uid)
        if bound is None or not (await self.authority.actor(uid)).may_act_for(bound[1]):
            if uid not in self.settings.admins:
                await self._tell_once(
                    ret, uid, NOT_BOUND if not ret.wants_files else files_not_by_reaction(ret), account
                )
            return None
        operator, unit = bound
        if ret.wants_files:
            if not any(r.id == rid and sub is None for r, sub in await self.open_for_unit(unit.id)):
                return None  # done already, or not the unit's to hand in: a 👍 is only a 👍
            await self._tell_once(ret, uid, files_not_by_reaction(ret), account)
            return None
        try:
            return await self.mark(rid, unit, uid, operator.name, BY_SELF, BY_REACTION)
        except UserError as e:
            log.info("reaction by %s on %s not counted: %s", uid, message_id, e)
            return None

    async def _tell_once(self, ret: Return, user_id: str, text: str, account: str | None) -> None:
        """One private line about this return to this person, never twice (also across restarts)."""
        ref = Ref(KIND, ret.id, HINT)
        async with self.db.tx() as tx:
            if await self.outbox.reading.queued_to(tx, ref, "private", user_id):
                return
            await self.outbox.put(tx, "private", user_id, Msg(text), ref, priority=ANSWER, account=account)

    async def reaction_plan(self, task_id: int | None) -> list[ReactionPlan]:
        """Open returns without files (or the one), who still owes each, and their notices and latest reminders."""
        async with self.db.read() as tx:
            if task_id is None:
                rows = await tx.all("SELECT * FROM returns WHERE state='进行中' ORDER BY id")
            else:
                rows = await tx.all("SELECT * FROM returns WHERE id=? AND state='进行中'", (task_id,))
            rets = [r for r in map(return_row, rows) if not r.wants_files]
            if not rets:
                return []
            sent = await self.outbox.reading.sent_about(tx, KIND)
            plan = []
            for ret in rets:
                owing = frozenset(o.user_id for o in (await self.owing(tx, ret)).operators)
                mine = [s for s in sent if s.ref.id == ret.id and s.ref.purpose in _POSTS and s.group_id is not None]
                mine.sort(key=lambda s: (s.ref.purpose != ANNOUNCE, -s.row_id))  # notices first, then the latest
                plan.append(ReactionPlan(ret.id, owing, await self._posts_by_every_id(tx, mine[:4])))
        return plan

    async def _posts_by_every_id(self, tx: Tx, posts: list[SentRef]) -> list[tuple[str | None, str]]:
        """(group, message id) of each post, then under each new id the client gave it after it forgot the first
        (NapCat keeps 5,000 short ids, in memory): the catch-up asks the client by the ids it may still know."""
        aliases = await self.outbox.keys.aliases(tx, [s.row_id for s in posts])
        return [(s.group_id, mid) for s in posts for mid in (s.message_id, *aliases.get(s.row_id, ()))]

    async def confirm_reacted(self, user_id: str, task_id: int) -> bool:
        bound = await self.units.registrations.operator(user_id)
        if bound is None:
            return False
        try:
            s = await self.mark(task_id, bound[1], user_id, bound[0].name, BY_SELF, BY_REACTION)
        except UserError:
            return False
        return s.new
