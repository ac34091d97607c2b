"""报送, the service."""

from __future__ import annotations

import json

from bot import clock, metrics
from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.nudge import Outgoing
from bot.outbox.service import Outbox
from bot.parse import clean_text
from bot.refs import RETURN_NUDGE
from bot.reminders import Reminder, Reminders
from bot.render import Msg, person_label
from bot.returns.files import store
from bot.returns.reactions import ReturnReactions
from bot.returns.records import (
    BY_ADMIN,
    BY_SELF,
    KIND,
    MAX_NOTE,
    NEEDS_FIX,
    CreatedReturn,
    NewReturn,
    Nudged,
    Owed,
    Return,
    Submission,
    Submitted,
    return_row,
    submission_row,
    unit_row,
)
from bot.returns.text import announcement, files_needed, footer, nudge_header, private_text
from bot.roles import Scope, scoped_units
from bot.tasks import (
    NudgeText,
    Owing,
    Progress,
    TaskBook,
    TaskDone,
    TaskEngine,
    TaskLine,
    TaskTables,
    TaskView,
    UnitTaskLine,
    reminded_recently,
    the_only_open,
)
from bot.units.authority import Authority
from bot.units.groups import task_groups
from bot.units.records import Unit
from bot.units.service import Units

_UNIT_ROWS = (
    "SELECT ru.*, u.name, u.category, u.city, u.deleted_at FROM return_units ru JOIN units u ON u.id=ru.unit_id "
    "WHERE ru.return_id=? ORDER BY u.id"
)


TABLES = TaskTables(
    noun="报送",
    history_sql=(
        "SELECT r.id, r.title, r.deadline, r.state, ru.submitted_at AS done_at, ru.late FROM return_units ru "
        "JOIN returns r ON r.id=ru.return_id WHERE ru.unit_id=? ORDER BY r.deadline DESC LIMIT ?"
    ),
    people_sql="SELECT submitted_by, submitted_by_name FROM return_units WHERE submitted_by IS NOT NULL",
    end_sql="UPDATE returns SET state=?, closed_by=?, closed_at=? WHERE id=?",
    already_ended="报送 {label} 已经结束了。",
)


class Returns:
    """Returns and their submissions; registers the `return` kind with the reminder engine. Its parts: `engine`
    (announcing, reminders, nudges), `book` (history, people, ending a return, the lines reports show) and
    `reactions` (confirming by reaction, catching up reactions given while away)."""

    kind = KIND
    noun = "报送"

    def __init__(self, db: Database, units: Units, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        self.db = db
        self.units = units
        self.outbox = outbox
        self.reminders = reminders
        self.settings = settings
        self.authority = Authority(units, settings.admins)  # who may confirm for a unit: the one rule
        self.engine = TaskEngine(self.kind, units, outbox, reminders, settings)
        self.book = TaskBook(db, self.engine, TABLES)
        self.reactions = ReturnReactions(
            db,
            settings,
            units,
            outbox,
            self.authority,
            get=self.get,
            open_for_unit=self.open_for_unit,
            mark=self._mark,
            owing=self._owing,
        )
        # before an automatic reminder's transaction, reactions given while away are counted
        reminders.register(self.kind, self._remind, prepare=self.reactions.away.before_nudge)

    # ------------------------------------------------------------ reading

    async def get_in(self, tx: Tx, return_id: int) -> Return:
        r = await tx.one("SELECT * FROM returns WHERE id=?", (return_id,))
        if r is None:
            raise NotFound(f"没有编号为 {return_id} 的报送任务。发 /报送 查看进行中的报送。")
        return return_row(r)

    async def progress(self, return_id: int) -> Progress[Return, Submission]:
        """The submissions (in the order they came) and the units not done; those whose file needs fixing and those
        with no operator (nobody can hand in) noted."""
        async with self.db.read() as tx:
            ret = await self.get_in(tx, return_id)
            rows = await tx.all(_UNIT_ROWS, (return_id,))
        done, pending, fixing = [], [], set()
        for r in rows:
            if r["submitted_at"]:
                done.append(submission_row(r))
            elif r["deleted_at"] is None:
                pending.append(unit_row(r))
                if r["file_state"] == NEEDS_FIX:
                    fixing.add(r["unit_id"])
            owes = await self._owes_in(tx, ret, [u.id for u in pending]) if len(ret.forms) > 1 else {}
        done.sort(key=lambda s: s.at)
        staffed = await self.units.registrations.staffed(u.id for u in pending)
        return Progress(
            ret,
            done,
            pending,
            frozenset(u.id for u in pending if u.id not in staffed),
            fixing=frozenset(fixing),
            owes={k: v.forms for k, v in owes.items() if v.have},
        )

    async def _owes_in(self, tx: Tx, ret: Return, unit_ids: list[int]) -> dict[int, Owed]:
        """What each of these units (not done) still owes of a file return, read inside the caller's transaction."""
        one = unit_ids[0] if len(unit_ids) == 1 else None
        have = await store.forms_in(tx, ret.id, one)
        scans = await store.scans_in(tx, ret.id, one) if ret.wants_scan else set()
        out = {}
        for uid in unit_ids:
            got = have.get(uid, set())
            scan = ret.wants_scan and uid not in scans
            out[uid] = Owed(tuple(f for f in ret.forms if f not in got), tuple(f for f in ret.forms if f in got), scan)
        return out

    async def owed(self, return_id: int, unit_id: int) -> Owed:
        """What one unit still owes of a return that asks for files (everything when it handed in nothing)."""
        async with self.db.read() as tx:
            ret = await self.get_in(tx, return_id)
            return (await self._owes_in(tx, ret, [unit_id]))[unit_id]

    async def owes_for_unit(self, unit_id: int) -> dict[int, Owed]:
        """For each open file return the unit has not finished: what it still owes."""
        out = {}
        for ret, sub in await self.open_for_unit(unit_id):
            if ret.wants_files and sub is None:
                out[ret.id] = await self.owed(ret.id, unit_id)
        return out

    async def listing(self, *, include_closed: bool = False) -> list[tuple[Return, int, int]]:
        """Returns with (done, total), open ones first by deadline (closed ones, newest first, when asked)."""
        where = "" if include_closed else "WHERE r.state='进行中'"
        rows = await self.book.read(
            "SELECT r.*, "
            "(SELECT COUNT(*) FROM return_units ru WHERE ru.return_id=r.id AND ru.submitted_at IS NOT NULL) AS done, "
            "(SELECT COUNT(*) FROM return_units ru JOIN units u ON u.id=ru.unit_id WHERE ru.return_id=r.id "
            " AND (ru.submitted_at IS NOT NULL OR u.deleted_at IS NULL)) AS total "
            f"FROM returns r {where} ORDER BY r.state='已结束', "
            "CASE WHEN r.state='进行中' THEN r.deadline END, r.id DESC"
        )
        return [(return_row(r), r["done"], r["total"]) for r in rows]

    async def open_for_unit(self, unit_id: int) -> list[tuple[Return, Submission | None]]:
        """The open returns a unit owes, each with its submission (None: not yet), by deadline."""
        rows = await self.book.read(
            "SELECT r.*, ru.unit_id, ru.submitted_at, ru.submitted_by, ru.submitted_by_name, ru.via, "
            "ru.note AS sub_note, ru.late, u.name, u.category, u.city "
            "FROM returns r JOIN return_units ru ON ru.return_id=r.id JOIN units u ON u.id=ru.unit_id "
            "WHERE ru.unit_id=? AND r.state='进行中' ORDER BY r.deadline, r.id",
            (unit_id,),
        )
        out: list[tuple[Return, Submission | None]] = []
        for r in rows:
            sub = None
            if r["submitted_at"]:
                sub = Submission(
                    unit_row(r),
                    clock.from_db(r["submitted_at"]),
                    r["submitted_by"] or "",
                    r["submitted_by_name"],
                    r["via"] or BY_SELF,
                    r["sub_note"],
                    bool(r["late"]),
                )
            out.append((return_row(r), sub))
        return out

    async def fixing_for_unit(self, unit_id: int) -> set[int]:
        """The open returns whose latest file from this unit has problems (需修改) and is not yet accepted."""
        rows = await self.book.read(
            "SELECT ru.return_id FROM return_units ru JOIN returns r ON r.id=ru.return_id "
            "WHERE ru.unit_id=? AND r.state='进行中' AND ru.submitted_at IS NULL AND ru.file_state=?",
            (unit_id, NEEDS_FIX),
        )
        return {r[0] for r in rows}

    async def from_message(self, message_id: str | int) -> int | None:
        """The return a bot message (its announcement, a reminder or a nudge) was about, if any."""
        for ref in await self.outbox.reading.refs_of_message(message_id):
            if ref.kind == KIND:
                return ref.id
        return None

    async def pick_open(self) -> Return:
        """The only open return (for commands whose number may be left out)."""
        return the_only_open(
            [r for r, _, _ in await self.listing()],
            none="现在没有进行中的报送任务。",
            several=lambda open_: UserError(
                f"有 {len(open_)} 个进行中的报送，请写出编号："
                + "；".join(f"{r.label} 截止 {clock.show(r.deadline)}" for r in open_[:10])
            ),
        )

    # ------------------------------------------------------------ creating (closing is `close`: no more
    # submissions from operators, no more reminders)

    async def scope_units(self, text: str, within: Scope | None = None) -> tuple[list[Unit], str]:
        """The units of a 范围 (see `Units.scope`) inside the asker's scope `within` (`bot.roles.scoped_units`), and
        how to describe it."""
        units, desc = await scoped_units(self.units, [text], within)
        return units, desc or "全部单位"

    async def create(self, new: NewReturn, *, actor: str, scope: Scope | None = None) -> CreatedReturn:
        """Store a return, fix the units that owe it, owe its reminders and announce it, in one transaction. A city
        admin's (`scope`) owes only units of their scope, belongs to their unit and is announced in their city's
        group (bot/units/groups.py)."""
        if new.deadline <= clock.now():
            raise UserError("截止时间已经过去了，请给一个将来的时间，如：明天18点、周五17:30。")
        units, desc = await self.scope_units(new.scope, scope)
        owner = scope.owner if scope is not None else None
        if not units:
            raise UserError("名册里还没有单位，无法发起报送。请先用 /单位 添加 或导入名册。")
        groups = self.engine.groups()
        async with self.db.tx() as tx:
            now = clock.now_db()
            rid = await tx.run(
                "INSERT INTO returns (title, note, deadline, scope, created_by, created_at, forms, wants_scan, by_level, "
                "owner_unit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.title,
                    new.note,
                    clock.to_db(new.deadline),
                    desc,
                    actor,
                    now,
                    json.dumps(list(new.forms), ensure_ascii=False),
                    int(new.scan),
                    int(new.by_level),
                    owner,
                ),
            )
            await tx.many("INSERT INTO return_units (return_id, unit_id) VALUES (?, ?)", [(rid, u.id) for u in units])
            labels = await self.engine.schedule(tx, rid, new.deadline)
            ret = await self.get_in(tx, rid)
            await self.engine.announce(tx, rid, announcement(ret, len(units)), owner=owner)
            await audit(
                tx,
                actor,
                "报送新建",
                f"#{rid} {new.title} 截止 {clock.show(new.deadline)} 范围 {desc}"
                + ("（逐级汇总）" if new.by_level else ""),
            )
        return CreatedReturn(ret, len(units), groups, labels)

    # ------------------------------------------------------------ submitting

    async def submit(
        self, user_id: str, user_name: str, return_id: int | None = None, note: str = "", *, reply_to: str | None = None
    ) -> Submitted:
        """An operator marks their own unit's return as submitted.

        Args:
            return_id: which return; None means the one the quoted message was about, else the only one
                the unit still owes.
            reply_to: the id of the bot message the command quoted, if any.

        Raises:
            UserError: not bound, no such return, closed, not in its 范围, or several to choose from.
        """
        unit = (await self.authority.actor(user_id)).unit  # an operator reports for their own unit only
        if unit is None:
            raise UserError(
                "你还没有绑定单位，不能报送。请先发 /注册 <单位名称> 申请成为联络员，如：/注册 郑州大学，"
                "审核通过后再发 /已报送 <编号>。"
            )
        if return_id is None and reply_to:
            return_id = await self.from_message(reply_to)
        if return_id is None:
            return_id = await self._owed_one(unit)
        ret = await self.get(return_id)
        if ret.wants_files and ret.open:
            raise UserError(f"报送 {ret.label} 要交文件：{files_needed(ret, await self.owed(ret.id, unit.id))}")
        return await self._mark(return_id, unit, user_id, user_name, BY_SELF, note)

    async def register(
        self, return_id: int, unit_name: str, *, actor: str, actor_name: str = "", scope: Scope | None = None
    ) -> Submitted:
        """An admin marks a unit submitted (received another way, e.g. by e-mail); works after the end too. A city
        admin (`scope`) only a unit of theirs."""
        unit = await self.units.resolve(unit_name, strict=True)
        if scope is not None:
            scope.check(unit)
        return await self._mark(return_id, unit, actor, actor_name, BY_ADMIN, "")

    async def _owed_one(self, unit: Unit) -> int:
        owed = await self.open_for_unit(unit.id)
        todo = [r for r, sub in owed if sub is None]
        plain = [r for r in todo if not r.wants_files]
        if len(todo) == 1 or (len(plain) == 1 and plain != todo):
            return (plain or todo)[0].id  # a return that asks for files is not confirmed by a word
        if not todo:
            done = "、".join(r.label for r, _ in owed)
            extra = f"（{done} 已报送）" if done else ""
            raise UserError(f"“{unit.name}”现在没有待报送的任务{extra}。发 /报送 查看进行中的报送。")
        listed = "；".join(f"{r.label} 截止 {clock.show(r.deadline)}" for r in todo[:10])
        raise UserError(f"“{unit.name}”有 {len(todo)} 个报送待完成，请写出编号：{listed}。如：/已报送 {todo[0].id}")

    async def _mark(self, return_id: int, unit: Unit, by: str, by_name: str, via: str, note: str) -> Submitted:
        async with self.db.tx() as tx:
            return await self.mark_in(tx, return_id, unit, by, by_name, via, note)

    async def mark_in(
        self, tx: Tx, return_id: int, unit: Unit, by: str, by_name: str, via: str, note: str
    ) -> Submitted:
        """Mark a unit submitted inside the caller's transaction (a file handed in is stored in the same one)."""
        note = clean_text(note)[:MAX_NOTE]
        ret = await self.get_in(tx, return_id)
        if not ret.open and via != BY_ADMIN:
            raise UserError(f"报送 {ret.label} 已结束，不再接收。如需补报，请联系管理员登记。")
        row = await tx.one(
            "SELECT ru.*, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
            "WHERE ru.return_id=? AND ru.unit_id=?",
            (return_id, unit.id),
        )
        if row is None:
            raise UserError(f"“{unit.name}”不在报送 {ret.label} 的范围（{ret.scope}）内，不用报送。")
        new = not row["submitted_at"]
        if new:
            now = clock.now()
            late = now > ret.deadline
            await tx.run(
                "UPDATE return_units SET submitted_at=?, submitted_by=?, submitted_by_name=?, via=?, note=?, late=? "
                "WHERE return_id=? AND unit_id=?",
                (clock.to_db(now), by, by_name, via, note, int(late), return_id, unit.id),
            )
            metrics.CONFIRMATIONS.labels("return").inc()
            what = "报送登记" if via == BY_ADMIN else "已报送"
            await audit(tx, by, what, f"{ret.label}{'（逾期）' if late else ''} {note}".strip(), unit.id)
            row = await tx.one(
                "SELECT ru.*, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
                "WHERE ru.return_id=? AND ru.unit_id=?",
                (return_id, unit.id),
            )
        counts = await tx.one(
            "SELECT COUNT(ru.submitted_at) AS done, "
            "SUM(ru.submitted_at IS NOT NULL OR u.deleted_at IS NULL) AS total "
            "FROM return_units ru JOIN units u ON u.id=ru.unit_id WHERE ru.return_id=?",
            (return_id,),
        )
        return Submitted(ret, unit, submission_row(row), new, counts["done"], counts["total"] or 0)

    # ------------------------------------------------------------ nudging

    async def _owing(self, tx: Tx, ret: Return, scope: Scope | None = None) -> Owing:
        """Units not done (deleted ones left out; with `scope`, those inside it) and their operators, read inside
        the caller's transaction."""
        units = [
            unit_row(r)
            for r in await tx.all(
                "SELECT ru.unit_id, u.name, u.category, u.city FROM return_units ru JOIN units u ON u.id=ru.unit_id "
                "WHERE ru.return_id=? AND ru.submitted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id",
                (ret.id,),
            )
        ]
        return await self.engine.owing(tx, [u for u in units if scope is None or u in scope])

    def _nudges(
        self, ret: Return, owing: Owing, *, overdue: bool, manual: bool, groups: list[str] | None = None
    ) -> list[Outgoing]:
        """@-mentions of the operators of units not done (in `groups` when given: a city's own); with nobody to @ at
        all, one line in each group that says how many owe (the units are never named in a group: the admins get
        them privately)."""
        header = nudge_header(ret, len(owing.units), owing.operators, overdue=overdue, manual=manual)
        overdue = overdue or ret.deadline <= clock.now()
        out = self.engine.messages(NudgeText(header, footer(ret), private_text(ret, overdue)), owing, groups)
        if owing.units and not owing.operators:
            msg = Msg(header).line(footer(ret))
            out.extend(("group", g, msg) for g in (self.engine.groups() if groups is None else groups))
        return out

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The reminder handler: who is still owed is read now, inside the engine's transaction."""
        row = await tx.one("SELECT * FROM returns WHERE id=?", (rem.task_id,))
        if row is None:
            return []
        ret = return_row(row)
        if not ret.open:
            return []
        owing = await self._owing(tx, ret)
        if not owing.units:
            return []
        groups = await task_groups(tx, self.settings.groups, ret.owner_unit_id)
        out = self._nudges(ret, owing, overdue=rem.overdue, manual=False, groups=groups)
        return out + await self.engine.orphans_digest(tx, f"报送 {ret.label}未报送", owing)

    async def nudge(self, return_id: int, *, actor: str, force: bool = False, scope: Scope | None = None) -> Nudged:
        """An admin's 催办: @-mention the operators of the units not done now, in batches; a city admin's (`scope`)
        only their units', in their city's group.

        Raises:
            UserError: closed, all done, or (unless `force`) the automatic reminder went out moments ago.
        """
        async with self.db.tx() as tx:
            ret = await self.get_in(tx, return_id)
            if not ret.open:
                raise UserError(f"报送 {ret.label} 已经结束，不用催办。")
            owing = await self._owing(tx, ret, scope)
            if not owing.units:
                raise UserError(f"报送 {ret.label} 的单位都已报送，不用催办。")
            if not force and (ago := await self.engine.reminded_ago(tx, ret.id)) is not None:
                raise reminded_recently(f"报送 {ret.label}", ago, f"/报送 催办 {ret.id} 强制")
            owner = scope.owner if scope is not None and scope.owner is not None else ret.owner_unit_id
            groups = await task_groups(tx, self.settings.groups, owner)
            messages = self._nudges(ret, owing, overdue=ret.deadline <= clock.now(), manual=True, groups=groups)
            detail = f"{ret.label} {len(owing.units)} 个单位"
            await self.engine.nudge(
                tx, ret, messages, purpose=RETURN_NUDGE, actor=actor, action="报送催办", detail=detail
            )
        return Nudged(ret, owing.units, len(owing.operators), owing.orphans, len(messages))

    # ------------------------------------------------------------ what the book does the same way for either kind

    async def get(self, task_id: int) -> Return:
        """The task with this number (NotFound says how to list them)."""
        async with self.db.read() as tx:
            return await self.get_in(tx, task_id)

    async def close(self, task_id: int, *, actor: str, scope: Scope | None = None) -> Progress[Return, Submission]:
        """End a task early or after its deadline (see `TaskBook.close`); its progress as it ends."""
        async with self.db.tx() as tx:
            await self.book.close(tx, await self.get_in(tx, task_id), scope, actor=actor)
        return await self.progress(task_id)

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]:
        """The 报送 a unit owed (at most `limit`, newest deadline first) and how each stands for it."""
        return await self.book.history(unit_id, limit)

    async def people(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who did a 报送."""
        return await self.book.people()

    # ------------------------------------------------------------ as reports, exports and the dashboard see tasks

    async def lines(self, *, include_closed: bool = True) -> list[TaskLine]:
        return [
            self.book.line(ret, done, total) for ret, done, total in await self.listing(include_closed=include_closed)
        ]

    async def view(self, task_id: int) -> TaskView:
        p = await self.progress(task_id)
        ret = p.task
        done = [
            TaskDone(
                s.unit,
                person_label(s.by_name, s.by),
                clock.stamp(s.at),
                s.late,
                "；".join(x for x in (s.via if s.via != BY_SELF else "", s.note) if x),
            )
            for s in p.done
        ]
        return self.book.task_view(ret, done, list(p.pending), note=ret.note)
