"""The shared core of 统发 and 报送: a task owed by a fixed set of units, with a deadline, progress, nudges and reminders.

`Broadcasts` (bot/broadcasts/) and `Returns` (bot/returns/) each keep their own tables (the task, the units
that owe it, how a unit did it) and their own rules and words; each composes one `TaskEngine` for what they
share: announcing in every alliance group, the reminders owed before the deadline, the operators of the units
still owing, nudges queued in the outbox with an audit entry, "task N, or the only open one", and the units not
done grouped by category; and one `TaskBook` for what they read and end the same way: a unit's history, the people
who did one, closing a task, and the lines and views reports show. `TaskService` is what reports, exports and the
dashboard see of either kind (`lines()` for a list, `view(id)` for one task, so they never ask which kind it is): a
Protocol, not a base class. A kind gives the book only its SQL and words (`TaskTables`); both share the one
`Progress` record (each unit done, in its kind's own record, and the units still owing).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from bot import clock, escalation
from bot.audit import audit
from bot.config import Settings
from bot.db import Database, Tx
from bot.errors import Forbidden, NotFound, UserError
from bot.nudge import Outgoing, nudge_messages
from bot.outbox.service import Outbox
from bot.refs import Ref
from bot.reminders import Reminders
from bot.render import Msg, percent
from bot.roles import Scope
from bot.units.groups import task_groups
from bot.units.records import Operator, Unit
from bot.units.service import Units
from bot.vocab import category_key

OPEN, CLOSED = "进行中", "已结束"
# an admin's 催办 this soon after the automatic reminder of the same task would repeat it word for word
RECENT_REMINDER = timedelta(minutes=30)
ORPHANS_DIGEST = "orphans_digest"  # the admins' daily private list of units with nobody to @ (ledger kind; id yyyymmdd)


class TaskClosed(UserError):
    """The task no longer takes what was asked (a confirmation, a nudge, closing it again)."""


def reminded_recently(what: str, ago: timedelta, again: str) -> UserError:
    """An admin's 催办 right after the automatic reminder of the same task: said instead of repeating it."""
    mins = int(ago.total_seconds() // 60)
    when = f"{mins} 分钟前" if mins >= 1 else "刚刚"
    return UserError(f"{what}{when}已自动提醒过，不再重复；如需再次提醒请发 {again}")


# said (privately, for a reaction) to someone bound to no unit who confirmed a 统发 or a 报送
NOT_BOUND = (
    "你还没有绑定单位，这次确认没有计数。请先发 /注册 <单位名称> 申请成为本单位的联络员"
    "（如：/注册 郑州大学），管理员审核通过后再确认。"
)


class AnyTask(Protocol):
    """What every task has, whatever its kind."""

    @property
    def id(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def deadline(self) -> datetime: ...

    @property
    def state(self) -> str: ...

    @property
    def label(self) -> str: ...


class UnitDone(Protocol):
    """How one unit did a task, in its kind's own record (a 统发 confirmation, a 报送 submission)."""

    @property
    def unit(self) -> Unit: ...

    @property
    def late(self) -> bool: ...


T = TypeVar("T", bound=AnyTask)
D = TypeVar("D", bound=UnitDone)


@dataclass(frozen=True)
class Progress(Generic[T, D]):
    """Where a task stands: each unit that did it (in the order they came) and the units still owing.

    A unit deleted since the task was created counts among the done if it did the task, else drops out.
    """

    task: T
    done: list[D]
    pending: list[Unit]
    unstaffed: frozenset[int] = frozenset()  # ids of the pending units with no operator (nobody to @, to confirm)
    fixing: frozenset[int] = frozenset()  # ids of the pending units whose latest file has problems (报送: 需修改)
    owes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    """Pending units that handed in some of a return's several forms → the forms they still owe (报送)."""

    @property
    def total(self) -> int:
        return len(self.done) + len(self.pending)

    @property
    def late(self) -> int:
        return sum(1 for d in self.done if d.late)

    @property
    def percent(self) -> str:
        return percent(len(self.done), self.total)

    def per_category(self) -> dict[str, int]:
        """How many units of each category the task counts (done or still owing)."""
        out: dict[str, int] = {}
        for u in (*(d.unit for d in self.done), *self.pending):
            out[u.category] = out.get(u.category, 0) + 1
        return out


# ---------------------------------------------------------------- what reports, exports and the dashboard see


@dataclass(frozen=True)
class TaskDone:
    """How one unit did a task: who, when, late or not, and a note (how it was done, proof, remarks)."""

    unit: Unit
    by: str
    at: str
    late: bool = False
    note: str = ""


@dataclass(frozen=True)
class TaskView:
    kind: str  # "统发" or "报送"
    id: int
    title: str
    state: str
    deadline: str
    overdue: bool
    done: list[TaskDone]
    missing: list[Unit]
    link: str = ""
    note: str = ""

    @property
    def open(self) -> bool:
        return self.state == OPEN

    @property
    def total(self) -> int:
        return len(self.done) + len(self.missing)


@dataclass(frozen=True)
class TaskLine:
    """A task in a list: its progress as counts only."""

    kind: str
    id: int
    title: str
    state: str
    deadline: str
    overdue: bool
    done: int
    total: int

    @property
    def open(self) -> bool:
        return self.state == OPEN


@dataclass(frozen=True)
class UnitTaskLine:
    """One 统发 or 报送 a unit owed, and how it stands for that unit."""

    kind: str
    id: int
    title: str
    deadline: str
    state: str
    done_at: str  # '' when not done
    late: bool
    overdue: bool  # not done and past the deadline


class TaskRecord:
    """What a task record (a frozen dataclass with `id`, `title`, `state`) says the same way for either kind."""

    marks = "「」"  # how its title is quoted in a label
    id: int
    title: str
    state: str

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    @property
    def label(self) -> str:
        return f"#{self.id}{self.marks[0]}{self.title}{self.marks[1]}"


# ---------------------------------------------------------------- rules both kinds follow


def own_task(task: AnyTask, scope: Scope | None, verb: str, noun: str = "统发") -> None:
    """A city admin (`scope` not everything) may end or withdraw only their own tasks: those created in their scope.

    Raises:
        Forbidden: the task is the province's or another city's.
    """
    if scope is None or scope.everything:
        return
    owner = getattr(task, "owner_unit_id", None)
    if owner is None or owner not in scope:
        whose = "省里发布的" if owner is None else "其他地市发布的"
        raise Forbidden(
            f"{noun} {task.label}是{whose}，你是市级管理员（管理范围：{scope.label}），只能{verb}自己发布的{noun}。"
            f"催办你的单位可以发：/{noun} 催办 {task.id}"
        )


def the_only_open(tasks: Sequence[T], *, none: str, several: Callable[[Sequence[T]], UserError]) -> T:
    """The one open task when a command leaves the number out.

    Raises:
        NotFound: none is open (`none` says what to do).
        UserError: several are (`several` builds the question, listing them).
    """
    if not tasks:
        raise NotFound(none)
    if len(tasks) > 1:
        raise several(tasks)
    return tasks[0]


def by_category(units: Iterable[Unit]) -> list[tuple[str, list[Unit]]]:
    """Units grouped by category, the categories in their usual order (unknown ones last, by name)."""
    groups: dict[str, list[Unit]] = {}
    for u in units:
        groups.setdefault(u.category, []).append(u)
    return sorted(groups.items(), key=lambda kv: category_key(kv[0]))


@dataclass(frozen=True)
class Owing:
    """The units of a task not done yet (deleted ones left out) and their operators."""

    units: list[Unit]
    operators: list[Operator]

    @property
    def orphans(self) -> list[Unit]:
        """Units nobody can be @-mentioned for (no operator bound)."""
        covered = {o.unit_id for o in self.operators}
        return [u for u in self.units if u.id not in covered]


@dataclass(frozen=True)
class NudgeText:
    """What a nudge says: the header above the @-mentions, the line under them, the private reminder."""

    header: str
    footer: str
    private: str


class TaskService(Protocol):
    """What reports, exports, escalation and the dashboard see of `Broadcasts` or `Returns`, never asking which kind
    it is (a structural type: neither inherits it; each holds a `TaskBook` and a `TaskEngine` as parts)."""

    kind: str  # in the outbox and the reminder ledger: "broadcast", "return"
    noun: str  # in words: "统发", "报送"

    async def lines(self, *, include_closed: bool = True) -> list[TaskLine]: ...

    async def view(self, task_id: int) -> TaskView: ...

    async def get(self, task_id: int) -> Any: ...

    async def progress(self, task_id: int) -> Progress: ...

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]: ...

    async def people(self) -> list[tuple[str, str]]: ...


@dataclass(frozen=True)
class TaskTables:
    """A kind's own SQL and words for what `TaskBook` does the same way for either kind."""

    noun: str  # in words: "统发", "报送"
    # a unit's tasks (id, title, deadline, state, done_at, late; params unit id, limit)
    history_sql: str
    # (QQ id, name) of everyone who did one
    people_sql: str
    # how a task ends: "UPDATE <its table> SET state=?, closed_by=?, closed_at=? WHERE id=?"
    end_sql: str
    # what closing one that already ended says ({label}, {state})
    already_ended: str


class TaskBook:
    """The part of `Broadcasts` and `Returns` that is the same for either kind: reading, a unit's history, the people
    who did a task, ending one, and the `TaskLine`/`TaskView` shapes reports see. Its kind gives only `TaskTables`."""

    def __init__(self, db: Database, engine: TaskEngine, tables: TaskTables) -> None:
        self.db = db
        self.engine = engine
        self.tables = tables
        self.noun = tables.noun

    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query, read under the database's lock."""
        async with self.db.read() as tx:
            return await tx.all(sql, params)

    async def close(self, tx: Tx, task: AnyTask, scope: Scope | None, *, actor: str) -> None:
        """End `task` early or after its deadline, in the caller's transaction: no more reminders or nudges. A city
        admin (`scope`) ends only their own tasks.

        Raises:
            TaskClosed: it had already ended. Forbidden: a city admin's, not their own.
        """
        own_task(task, scope, "结束", self.noun)
        if task.state != OPEN:
            raise TaskClosed(self.tables.already_ended.format(label=task.label, state=task.state))
        await self.end(tx, task, CLOSED, actor=actor, action=f"{self.noun}结束", why=f"{self.noun}已结束")

    async def end(self, tx: Tx, task: AnyTask, state: str, *, actor: str, action: str, why: str) -> None:
        """The task ends (closed or withdrawn) in the caller's transaction: who and when are stored, its reminders
        cancelled (`why`), and `action` audited."""
        await tx.run(self.tables.end_sql, (state, actor, clock.now_db(), task.id))
        await self.engine.ended(tx, task, actor=actor, action=action, why=why)

    async def history(self, unit_id: int, limit: int) -> list[UnitTaskLine]:
        """The tasks a unit owed (at most `limit`, newest deadline first) and how each stands for it."""
        now = clock.now_db()
        return [self.history_line(r, now) for r in await self.read(self.tables.history_sql, (unit_id, limit))]

    async def people(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who did a task of this kind."""
        return [(r[0], r[1]) for r in await self.read(self.tables.people_sql)]

    def history_line(self, row: Any, now_db: str) -> UnitTaskLine:
        """A row with id, title, deadline, state, done_at, late as a `UnitTaskLine`."""
        return UnitTaskLine(
            self.noun,
            row["id"],
            row["title"],
            clock.stamp_db(row["deadline"]),
            row["state"],
            clock.stamp_db(row["done_at"]),
            bool(row["late"]),
            not row["done_at"] and row["deadline"] <= now_db,
        )

    def line(self, task: AnyTask, done: int, total: int) -> TaskLine:
        overdue = task.state == OPEN and task.deadline < clock.now()
        return TaskLine(self.noun, task.id, task.title, task.state, clock.stamp(task.deadline), overdue, done, total)

    def task_view(
        self, task: AnyTask, done: list[TaskDone], missing: list[Unit], *, link: str = "", note: str = ""
    ) -> TaskView:
        overdue = task.state == OPEN and task.deadline < clock.now()
        return TaskView(
            self.noun, task.id, task.title, task.state, clock.stamp(task.deadline), overdue, done, missing, link, note
        )


class TaskEngine:
    """Announcements, reminders and nudges of one kind of task (`kind` names it in the outbox and the ledger)."""

    def __init__(self, kind: str, units: Units, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        self.kind = kind
        self.units = units
        self.outbox = outbox
        self.reminders = reminders
        self.settings = settings

    def groups(self) -> list[str]:
        return sorted(self.settings.groups)

    async def announce(self, tx: Tx, task_id: int, msg: Msg, *, purpose: str = "", owner: int | None = None) -> int:
        """Queue `msg` in every alliance group (a city admin's task, `owner`: the city's own groups, see
        bot/units/groups.py), about the task; returns how many groups."""
        groups = await task_groups(tx, self.settings.groups, owner)
        for g in groups:
            await self.outbox.put(tx, "group", g, msg, ref=Ref(self.kind, task_id, purpose))
        return len(groups)

    async def schedule(self, tx: Tx, task_id: int, deadline: datetime, *, overdue: bool = True) -> list[str]:
        """Owe the task's reminders before its deadline (and when overdue); their labels, soonest first."""
        await self.reminders.schedule(tx, self.kind, task_id, deadline, overdue=overdue)
        await escalation.owe(self.reminders, tx, self.kind, task_id, deadline)  # the city admins' overdue lists
        return await self.reminders.pending_labels(tx, self.kind, task_id)

    async def ended(self, tx: Tx, task: AnyTask, *, actor: str, action: str, why: str) -> None:
        """The task was closed or withdrawn (its own row already updated): no more reminders; audited."""
        await self.reminders.cancel(tx, self.kind, task.id, why)
        await escalation.cancel(self.reminders, tx, self.kind, task.id, why)
        await audit(tx, actor, action, task.label)

    async def owing(self, tx: Tx, units: list[Unit]) -> Owing:
        """The operators of the units still owing, inside the caller's transaction."""
        return Owing(units, await self.units.registrations.operators_owing(tx, [u.id for u in units]))

    def messages(self, text: NudgeText, owing: Owing, groups: Collection[str] | None = None) -> list[Outgoing]:
        """Batched @-mentions of the operators owing, in each one's group (of `groups`, when given: a city's own;
        and privately when configured); the units nobody can be @-mentioned for are only counted (in
        `text.header`), never named in a group."""
        return nudge_messages(
            self.settings, text.header, owing.operators, footer=text.footer, private_text=text.private, groups=groups
        )

    async def reminded_ago(self, tx: Tx, task_id: int) -> timedelta | None:
        """How long ago the task's automatic reminder went out, when that was less than RECENT_REMINDER ago."""
        at = await self.reminders.last_sent(tx, self.kind, task_id)
        if at is None:
            return None
        ago = clock.now() - at
        return ago if timedelta(0) <= ago < RECENT_REMINDER else None

    async def orphans_digest(self, tx: Tx, what: str, owing: Owing) -> list[Outgoing]:
        """The units owing `what` with nobody to @, named to the admins privately: at most once a day, whatever the
        task (the reminder ledger keeps the day, in the caller's transaction); nothing when there are none."""
        orphans = owing.orphans
        admins = sorted(self.settings.admins)
        if not orphans or not admins:
            return []
        today = clock.now().date()
        if not await self.reminders.claim(tx, ORPHANS_DIGEST, int(today.strftime("%Y%m%d")), "daily", what):
            return []
        msg = Msg(
            f"【没有联络员的单位】{what}：{len(orphans)} 个单位没有绑定联络员，群里的自动提醒 @ 不到它们，请另行联系"
            "（这份名单每天最多私聊一次；发 /未绑定 查看全部没有联络员的单位）："
        ).line("、".join(u.name for u in orphans))
        return [("private", admin, msg) for admin in admins]

    async def nudge(
        self, tx: Tx, task: AnyTask, messages: list[Outgoing], *, purpose: str, actor: str, action: str, detail: str
    ) -> None:
        """Queue an admin's nudge in the outbox and audit it, in the caller's transaction."""
        for target_type, target_id, msg in messages:
            await self.outbox.put(tx, target_type, target_id, msg, ref=Ref(self.kind, task.id, purpose))
        await audit(tx, actor, action, detail)
