"""一键统发, the service."""

from __future__ import annotations

from datetime import datetime

from bot import clock, metrics
from bot.audit import audit
from bot.broadcasts.progress import BroadcastProgress
from bot.broadcasts.reactions import BroadcastReactions
from bot.broadcasts.records import (
    CLOSED,
    DONE_SQL,
    KIND,
    OPEN,
    WITHDRAWN,
    Confirmation,
    CreatedBroadcast,
    Done,
    Draft,
    NotBound,
    NudgeResult,
    Summary,
    Task,
    WhichTask,
    task_row,
)
from bot.broadcasts.reply_index import ReplyIndex
from bot.broadcasts.stats import BroadcastStats
from bot.broadcasts.text import VIA, announcement, nudge_text
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.nudge import Outgoing
from bot.outbox.service import Outbox
from bot.refs import NUDGE
from bot.refs import WITHDRAWN as WITHDRAWN_NOTICE
from bot.reminders import Reminder, Reminders
from bot.render import Msg, person_label
from bot.roles import Scope, scoped_units
from bot.tasks import (
    NOT_BOUND,
    Owing,
    Progress,
    TaskBook,
    TaskClosed,
    TaskDone,
    TaskEngine,
    TaskLine,
    TaskTables,
    TaskView,
    UnitTaskLine,
    own_task,
    reminded_recently,
    the_only_open,
)
from bot.units.authority import Authority
from bot.units.groups import task_groups
from bot.units.records import Unit
from bot.units.service import Units

TABLES = TaskTables(
    noun="统发",
    history_sql=(
        "SELECT b.id, b.title, b.deadline, b.state, c.at AS done_at, c.late FROM broadcast_units bu "
        "JOIN broadcasts b ON b.id=bu.task_id LEFT JOIN broadcast_confirmations c "
        "ON c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1 "
        "WHERE bu.unit_id=? AND b.state<>'已撤回' ORDER BY b.deadline DESC LIMIT ?"
    ),
    people_sql="SELECT user_id, user_name FROM broadcast_confirmations",
    end_sql="UPDATE broadcasts SET state=?, closed_by=?, closed_at=? WHERE id=?",
    already_ended="统发 {label} {state}，不用再结束。",
)


class Broadcasts:
    """一键统发 tasks: create and announce, confirm, progress, nudge, close, withdraw.

    Its parts: `engine` (announcing, reminders, nudges), `book` (history, people, ending a task, the lines reports
    show), `posts` (the reply index: which task a quoted message is about), `tally` (progress, read again only in
    part), `stats` (completion per unit) and `reactions` (confirming by reaction, catching up those given away).
    """

    kind = KIND
    noun = "统发"

    def __init__(self, db: Database, units: Units, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        self.db = db
        self.units = units
        self.outbox = outbox
        self.reminders = reminders
        self.settings = settings
        self.authority = Authority(units, settings.admins)  # who may confirm for a unit: the one rule
        self.engine = TaskEngine(self.kind, units, outbox, reminders, settings)
        self.book = TaskBook(db, self.engine, TABLES)
        self.posts = ReplyIndex(db, outbox)
        self.tally = BroadcastProgress(units)
        self.stats = BroadcastStats(db)
        self.reactions = BroadcastReactions(
            db, settings, units, self.posts, confirm=self.confirm, still_owing=self.still_owing
        )
        # before an automatic reminder's transaction, reactions given while away are counted
        reminders.register(self.kind, self._remind, prepare=self.reactions.away.before_nudge)

    # ------------------------------------------------------------ create

    async def resolve_scope(self, entries: tuple[str, ...], within: Scope | None = None) -> tuple[list[int], str]:
        """The ids of the units a scope names (see `Units.scope`) inside the asker's scope `within` (a city admin:
        their subtree, see `bot.roles.scoped_units`), and its description."""
        if not await self.units.all():
            raise UserError(
                "名册里还没有单位，无法发布统发。请先用 /单位 添加，或用 python -m bot import-units 导入名册。"
            )
        units, desc = await scoped_units(self.units, entries, within)
        return [u.id for u in units], desc

    async def create(
        self, draft: Draft, *, actor: str, article_title: str | None = None, scope: Scope | None = None
    ) -> CreatedBroadcast:
        """Store the task and the units that owe it, announce it in every alliance group (a city admin's task:
        their city's own group, bot/units/groups.py), owe its nudges. `scope` is the asker's: a city admin's
        task owes only units of it, and belongs to the unit they were appointed for."""
        if not self.engine.groups():
            raise UserError("还没有配置联盟群（ALLIANCE_GROUPS），统发无处发布。请在 .env 里配置后重启。")
        if draft.deadline <= clock.now():
            raise UserError(f"截止时间 {clock.show(draft.deadline)} 已经过去了，请给一个将来的时间。")
        unit_ids, desc = await self.resolve_scope(draft.scope, scope)
        owner = scope.owner if scope is not None else None
        async with self.db.tx() as tx:
            task_id = await tx.run(
                "INSERT INTO broadcasts (title, url, deadline, requirements, scope, created_by, created_at, "
                "article_title, owner_unit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.title,
                    draft.url,
                    clock.to_db(draft.deadline),
                    "、".join(draft.requirements),
                    desc,
                    actor,
                    clock.now_db(),
                    article_title,
                    owner,
                ),
            )
            await tx.many(
                "INSERT INTO broadcast_units (task_id, unit_id) VALUES (?, ?)", [(task_id, u) for u in unit_ids]
            )
            task = await self.get_in(tx, task_id)
            groups = await self.engine.announce(tx, task_id, announcement(task, len(unit_ids)), owner=owner)
            await self.engine.schedule(tx, task_id, task.deadline, overdue=False)
            await audit(tx, actor, "统发发布", f"#{task_id} {draft.title} {draft.url}")
        return CreatedBroadcast(task, len(unit_ids), groups)

    # ------------------------------------------------------------ reading tasks

    async def get_in(self, tx: Tx, task_id: int) -> Task:
        row = tx.tiny_row("SELECT * FROM broadcasts WHERE id=?", (task_id,))
        if row is None:
            raise NotFound(f"没有编号为 {task_id} 的统发任务。发 /统发 查看进行中的任务。")
        return task_row(row)

    async def listing(self, *, include_closed: bool = False, limit: int = 50) -> list[Summary]:
        """Open tasks (oldest first) with their counts; with `include_closed`, then the others, newest first."""
        where = "" if include_closed else "WHERE state='进行中'"
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT * FROM broadcasts {where} ORDER BY state<>'进行中', "
                "CASE WHEN state='进行中' THEN id END, id DESC LIMIT ?",
                (limit,),
            )
            return [await self._summary(tx, task_row(r)) for r in rows]

    async def _summary(self, tx: Tx, task: Task) -> Summary:
        row = await tx.one(
            f"SELECT COUNT(*) AS total, COALESCE(SUM({DONE_SQL}), 0) AS done FROM broadcast_units bu "
            f"JOIN units u ON u.id=bu.unit_id WHERE bu.task_id=? AND (u.deleted_at IS NULL OR {DONE_SQL})",
            (task.id,),
        )
        assert row is not None
        return Summary(task, int(row["done"]), int(row["total"]))

    async def _resolve(self, tx: Tx, task_id: int | None, *, how: str) -> Task:
        """The numbered task, or the only open one; several open → ask which."""
        if task_id is not None:
            return await self.get_in(tx, task_id)
        rows = tx.tiny_all("SELECT * FROM broadcasts WHERE state=? ORDER BY id", (OPEN,))  # the few open, by index
        return the_only_open(
            [task_row(r) for r in rows],
            none="现在没有进行中的统发任务。查看已结束的任务请写编号，如：/统发 进度 3",
            several=lambda tasks: WhichTask(
                f"现在有 {len(tasks)} 个进行中的统发：{'、'.join(t.label for t in tasks)}。"
                f"请写明编号，如：{how} {tasks[-1].id}",
                [t.id for t in tasks],
            ),
        )

    async def progress(self, task_id: int | None = None) -> Progress[Task, Done]:
        """The counted confirmations and the units not done. Without a number: the only open task (several →
        WhichTask). A unit deleted since the task was created drops out unless it had confirmed."""
        async with self.db.read() as tx:
            task = await self._resolve(tx, task_id, how="/统发 进度")
            known = await self.tally.known(tx, task.id)
        return await self.tally.report(task, known)

    async def done_records(self, task_id: int) -> list[Done]:
        """The counted confirmation of each unit that did a task, in the order they came (for exports)."""
        async with self.db.read() as tx:
            await self.get_in(tx, task_id)
            return [d for _, d in await self.tally.done(tx, task_id)]

    # ------------------------------------------------------------ confirmations

    async def confirm(
        self,
        user_id: str | int,
        user_name: str,
        task_id: int | None = None,
        *,
        reply_to: str | None = None,
        proof_url: str | None = None,
        images: list[str] | None = None,
        note: str | None = None,
        via: str = "command",
    ) -> Confirmation:
        """Record that the user's unit did the task (one transaction; the unit counts once).

        Args:
            task_id: the task; None means the one the reply quotes, or the only open one the unit owes.
            reply_to: the client's id of the message the user quoted, if any.

        Raises:
            NotBound: the user is bound to no unit (nothing is stored).
            WhichTask: several open tasks and no number.
            UserError: the task is closed, withdrawn, or not owed by the unit.
        """
        uid = str(user_id)
        if task_id is None and reply_to is not None:
            task_id = await self.posts.task_of_message(reply_to)
        image = "\n".join(images) if images else None
        now = clock.now()
        async with self.db.tx() as tx:
            unit_id = await self.units.registrations.bound_unit(tx, uid)
            if unit_id is None:
                raise NotBound(NOT_BOUND)
            if task_id is None:
                task = await self._owed_open_task(tx, unit_id)
            else:
                task = await self.get_in(tx, task_id)
                self._check_open(task, admin=False)
                if not await tx.value(
                    "SELECT 1 FROM broadcast_units WHERE task_id=? AND unit_id=?", (task.id, unit_id)
                ):
                    raise UserError(
                        f"你的单位不在统发 {task.label} 的范围（{task.scope or '全部单位'}）内，不需要确认。"
                    )
            c = await self._record(tx, task, unit_id, uid, user_name, now, via, proof_url, image, note)
        unit = await self.units.get(unit_id)
        return Confirmation(task=task, unit=unit or Unit(unit_id, f"单位{unit_id}", "其他"), **c)

    async def _owed_open_task(self, tx: Tx, unit_id: int) -> Task:
        rows = await tx.all(
            f"SELECT b.*, {DONE_SQL} AS done FROM broadcasts b "
            "JOIN broadcast_units bu ON bu.task_id=b.id AND bu.unit_id=? WHERE b.state=? ORDER BY b.id",
            (unit_id, OPEN),
        )
        if not rows:
            raise NotFound("现在没有需要你单位确认的统发任务。发 /统发 进度 查看进行中的统发。")
        owed = [r for r in rows if not r["done"]]
        if len(rows) > 1 and len(owed) == 1:  # the unit owes only one of the open tasks: that is the one meant
            return task_row(owed[0])
        if len(rows) > 1:
            parts = [f"{task_row(r).label}{'（本单位已确认）' if r['done'] else ''}" for r in rows]
            raise WhichTask(
                f"现在有 {len(rows)} 个进行中的统发：{'、'.join(parts)}。请写明是哪一个，"
                f"如：/已转发 {rows[-1]['id']}，或直接回复那条统发通知“已转发”。",
                [r["id"] for r in rows],
            )
        return task_row(rows[0])

    async def owed_by(self, user_id: str | int) -> tuple[Unit, list[Task]] | None:
        """The unit a user confirms for and the open tasks it has not confirmed yet; None if not bound."""
        bound = await self.units.registrations.operator(user_id)
        if bound is None:
            return None
        unit = bound[1]
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT b.* FROM broadcasts b JOIN broadcast_units bu ON bu.task_id=b.id AND bu.unit_id=? "
                f"WHERE b.state=? AND NOT {DONE_SQL} ORDER BY b.id",
                (unit.id, OPEN),
            )
        return unit, [task_row(r) for r in rows]

    def _check_open(self, task: Task, *, admin: bool) -> None:
        if task.state == WITHDRAWN:
            raise TaskClosed(f"统发 {task.label} 已撤回，不需要确认。")
        if task.state == CLOSED and not admin:
            raise TaskClosed(f"统发 {task.label} 已结束，不再登记确认。如确已完成，请联系管理员补登。")

    async def _record(
        self,
        tx: Tx,
        task: Task,
        unit_id: int,
        user_id: str,
        user_name: str,
        now: datetime,
        via: str,
        proof_url: str | None,
        image: str | None,
        note: str | None,
    ) -> dict:
        first = await tx.one(
            "SELECT user_id, user_name, at FROM broadcast_confirmations WHERE task_id=? AND unit_id=? AND counted=1",
            (task.id, unit_id),
        )
        late = now > task.deadline
        if first is not None and via == "reaction":  # a 👍 toggled, or a second operator's: the unit has its row
            return {
                "counted": False,
                "late": late,
                "proof": False,
                "first_user": first["user_id"],
                "first_name": first["user_name"],
                "first_at": clock.from_db(first["at"]),
            }
        self.tally.confirmations_written()
        await tx.run(
            "INSERT INTO broadcast_confirmations "
            "(task_id, unit_id, user_id, user_name, at, late, counted, via, proof_url, proof_image, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                task.id,
                unit_id,
                user_id,
                user_name[:60],
                clock.to_db(now),
                int(late),
                int(first is None),
                via,
                proof_url,
                image,
                (note or None) and note[:200],
            ),
        )
        metrics.CONFIRMATIONS.labels("broadcast").inc()
        out: dict = {"counted": first is None, "late": late, "proof": bool(proof_url or image)}
        if first is not None:
            out.update(first_user=first["user_id"], first_name=first["user_name"], first_at=clock.from_db(first["at"]))
        return out

    async def confirm_for(
        self, task_id: int, names: list[str], *, actor: str, actor_name: str = "", scope: Scope | None = None
    ) -> list[Confirmation]:
        """An admin confirms for units that reported another way (also after the task was closed).

        Raises:
            NotFound / Ambiguous: a unit name (nothing is recorded then).
            UserError: the task was withdrawn, or a unit does not owe it.
        """
        if not names:
            raise UserError("请写出单位，如：/统发 代确认 3 郑州大学 河南大学")
        units = [await self.units.resolve(n, strict=True) for n in names]
        for unit in units if scope is not None else ():
            scope.check(unit)  # a city admin confirms only for their units
        now = clock.now()
        out = []
        async with self.db.tx() as tx:
            task = await self.get_in(tx, task_id)
            self._check_open(task, admin=True)
            for unit in dict.fromkeys(units):
                if not await tx.value(
                    "SELECT 1 FROM broadcast_units WHERE task_id=? AND unit_id=?", (task.id, unit.id)
                ):
                    raise UserError(f"“{unit.name}”不在统发 {task.label} 的范围（{task.scope or '全部单位'}）内。")
                c = await self._record(tx, task, unit.id, actor, actor_name, now, "admin", None, None, "管理员代确认")
                out.append(Confirmation(task=task, unit=unit, **c))
            await audit(tx, actor, "统发代确认", f"#{task.id} {'、'.join(u.name for u in units)}")
        return out

    # ------------------------------------------------------------ nudges

    async def still_owing(self, tx: Tx, task_id: int, scope: Scope | None = None) -> Owing:
        """The units not done (deleted ones left out; with `scope`, only those inside it) and their operators,
        inside the caller's transaction."""
        rows = await tx.all(
            "SELECT u.id, u.name, u.category, u.city FROM broadcast_units bu JOIN units u ON u.id=bu.unit_id "
            f"WHERE bu.task_id=? AND u.deleted_at IS NULL AND NOT {DONE_SQL} ORDER BY u.id",
            (task_id,),
        )
        units = [Unit(r[0], r[1], r[2], r[3]) for r in rows]
        return await self.engine.owing(tx, [u for u in units if scope is None or u in scope])

    async def nudge(
        self, task_id: int | None, *, actor: str, force: bool = False, scope: Scope | None = None
    ) -> NudgeResult:
        """@-mention the operators of the units not done, batched, in each operator's group. A city admin's
        (`scope`) nudges only their units, in their city's own group (a province admin's nudge of a city's task
        goes to that city's group too).

        Raises:
            UserError: (unless `force`) the automatic reminder of the task went out moments ago.
        """
        async with self.db.tx() as tx:
            task = await self._resolve(tx, task_id, how="/统发 催办")
            if not task.is_open:
                raise TaskClosed(f"统发 {task.label} {task.state}，不能催办。")
            owing = await self.still_owing(tx, task.id, scope)
            if not owing.units:
                return NudgeResult(task, 0, 0, 0, [])
            if not force and (ago := await self.engine.reminded_ago(tx, task.id)) is not None:
                raise reminded_recently(f"统发 {task.label}", ago, f"/统发 催办 {task.id} 强制")
            units, ops = len(owing.units), len(owing.operators)
            owner = scope.owner if scope is not None and scope.owner is not None else task.owner_unit_id
            groups = await task_groups(tx, self.settings.groups, owner)
            msgs = self.engine.messages(nudge_text(task, units, owing.operators, auto=False), owing, groups)
            detail = f"#{task.id} {units} 个单位，{ops} 位联络员"
            await self.engine.nudge(tx, task, msgs, purpose=NUDGE, actor=actor, action="统发催办", detail=detail)
        return NudgeResult(task, units, ops, len(msgs), [u.name for u in owing.orphans])

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The automatic nudge of a task: computed when it is sent, to the operators still owing it."""
        row = await tx.one("SELECT * FROM broadcasts WHERE id=?", (rem.task_id,))
        if row is None or row["state"] != OPEN:
            return []
        task = task_row(row)
        owing = await self.still_owing(tx, task.id)
        if not owing.units:
            return []
        out = []
        if owing.operators:
            groups = await task_groups(tx, self.settings.groups, task.owner_unit_id)
            text = nudge_text(task, len(owing.units), owing.operators, auto=True)
            out = self.engine.messages(text, owing, groups)
        return out + await self.engine.orphans_digest(tx, f"统发 {task.label} 未完成", owing)

    # ------------------------------------------------------------ withdraw (closing is `close`: no more
    # confirmations, except an admin's, and no more nudges)

    async def withdraw(self, task_id: int, *, actor: str, scope: Scope | None = None) -> tuple[Task, list[str]]:
        """Withdraw: the task no longer counts anywhere; the groups are told. Returns the announcement ids. A city
        admin (`scope`) withdraws only their own tasks."""
        async with self.db.tx() as tx:
            task = await self.get_in(tx, task_id)
            own_task(task, scope, "撤回")
            if task.state == WITHDRAWN:
                raise TaskClosed(f"统发 {task.label} 已经撤回过了。")
            await self.book.end(tx, task, WITHDRAWN, actor=actor, action="统发撤回", why="统发已撤回")
            notice = Msg(f"【统发撤回】#{task.id}「{task.title}」已撤回，不需要再转发或确认。")
            await self.engine.announce(tx, task.id, notice, purpose=WITHDRAWN_NOTICE, owner=task.owner_unit_id)
        return task, await self.posts.announcement_ids(task.id)

    # ------------------------------------------------------------ what the book does the same way for either kind

    async def get(self, task_id: int) -> Task:
        """The task with this number (NotFound says how to list them)."""
        async with self.db.read() as tx:
            return await self.get_in(tx, task_id)

    async def close(self, task_id: int, *, actor: str, scope: Scope | None = None) -> Progress[Task, Done]:
        """End a task early or after its deadline (see `TaskBook.close`); its progress as it ends."""
        async with self.db.tx() as tx:
            await self.book.close(tx, await self.get_in(tx, task_id), scope, actor=actor)
        return await self.progress(task_id)

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]:
        """The 统发 a unit owed (at most `limit`, newest deadline first) and how each stands for it."""
        return await self.book.history(unit_id, limit)

    async def people(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who did a 统发."""
        return await self.book.people()

    # ------------------------------------------------------------ as reports, exports and the dashboard see tasks

    async def lines(self, *, include_closed: bool = True) -> list[TaskLine]:
        return [
            self.book.line(b.task, b.done, b.total)
            for b in await self.listing(include_closed=include_closed, limit=200)
        ]

    async def view(self, task_id: int) -> TaskView:
        p = await self.progress(task_id)
        done = []
        for d in p.done:
            notes = [VIA.get(d.via, d.via)]
            if d.proof_url:
                notes.append(f"证明：{d.proof_url}")
            if d.proof_image:
                notes.append("附截图")
            who = person_label(d.user_name, d.user_id)
            done.append(TaskDone(d.unit, who, clock.stamp(d.at), d.late, "；".join(x for x in notes if x)))
        t = p.task
        note = "要求：" + "、".join(t.requirements) if t.requirements else ""
        return self.book.task_view(t, done, list(p.pending), link=t.url, note=note)
