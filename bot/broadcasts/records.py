"""一键统发 records: a task, what confirming (a unit's `Done` is its entry in `tasks.Progress.done`), nudges and statistics return, the errors a user sees, and the SQL condition that a unit has done a task."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import clock
from bot.errors import UserError
from bot.tasks import (
    TaskRecord,
)
from bot.units.records import Unit

log = logging.getLogger("alliance.broadcasts")


KIND = "broadcast"


OPEN, CLOSED, WITHDRAWN = "进行中", "已结束", "已撤回"


class NotBound(UserError):
    """The user is bound to no unit: nothing is counted."""


class WhichTask(UserError):
    """Several tasks are open and no number was given; `task_ids` lists them."""

    def __init__(self, message: str, task_ids: list[int]) -> None:
        super().__init__(message)
        self.task_ids = task_ids


@dataclass(frozen=True)
class Task(TaskRecord):
    id: int
    title: str
    url: str
    deadline: datetime
    requirements: tuple[str, ...]
    scope: str
    state: str
    created_by: str
    created_at: datetime
    article_title: str | None = None  # the linked page's own title, when it could be read
    owner_unit_id: int | None = None  # a city admin's task: the unit they were appointed for (None: the province's)


@dataclass(frozen=True)
class Draft:
    """A task as typed, checked, before its scope is resolved against the roster."""

    title: str
    url: str
    deadline: datetime
    requirements: tuple[str, ...]
    scope: tuple[str, ...]


@dataclass(frozen=True)
class CreatedBroadcast:
    task: Task
    units: int
    groups: int


@dataclass(frozen=True)
class Confirmation:
    task: Task
    unit: Unit
    counted: bool
    late: bool
    proof: bool
    first_user: str | None = None
    first_name: str = ""
    first_at: datetime | None = None


@dataclass(frozen=True)
class Summary:
    task: Task
    done: int
    total: int


@dataclass(frozen=True)
class Done:
    """The confirmation that counted for one unit."""

    unit: Unit
    user_id: str
    user_name: str
    at: datetime
    late: bool
    via: str
    proof_url: str | None
    proof_image: str | None


@dataclass(frozen=True)
class NudgeResult:
    task: Task
    pending_units: int
    operators: int
    messages: int
    orphans: list[str]


@dataclass(frozen=True)
class UnitTask:
    """A task as one unit sees it (for /查询 and /我的单位)."""

    task: Task
    done: bool
    late: bool

    @property
    def id(self) -> int:
        return self.task.id

    @property
    def title(self) -> str:
        return self.task.title

    @property
    def deadline(self) -> datetime:
        return self.task.deadline


@dataclass(frozen=True)
class UnitRate:
    unit_id: int
    name: str
    category: str
    done: int
    owed: int
    late: int

    @property
    def rate(self) -> float:
        return self.done / self.owed if self.owed else 0.0


@dataclass(frozen=True)
class Completion:
    """A unit's 统发 over the last days (for /查询): done of those owed, and the open ones not due it has not done."""

    done: int
    owed: int  # tasks over (deadline passed or closed) or done by the unit: an open task not yet due is no miss
    running: int = 0  # open, not yet due, not done: counted apart


@dataclass(frozen=True)
class Stats:
    label: str
    tasks: int
    rows: list[UnitRate]  # best first
    running: int = 0  # tasks whose deadline has not come: they count for a unit only once it confirmed

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)

    @property
    def owed(self) -> int:
        return sum(r.owed for r in self.rows)


def task_row(r) -> Task:
    return Task(
        id=r["id"],
        title=r["title"],
        url=r["url"],
        deadline=clock.from_db(r["deadline"]),
        requirements=tuple(x for x in r["requirements"].split("、") if x),
        scope=r["scope"],
        state=r["state"],
        created_by=r["created_by"],
        created_at=clock.from_db(r["created_at"]),
        article_title=r["article_title"] if "article_title" in r.keys() else None,
        owner_unit_id=r["owner_unit_id"] if "owner_unit_id" in r.keys() else None,
    )


def norm_id(message_id: object) -> str:
    """A client message id as text, the same however it was written (`-123`, `"-123"`, `" -123 "`)."""
    s = str(message_id).strip()
    try:
        return str(int(s))
    except ValueError:
        return s


# A unit counts as done for a task (alias `bu` is the task's broadcast_units row).
DONE_SQL = (
    "EXISTS (SELECT 1 FROM broadcast_confirmations c "
    "WHERE c.task_id=bu.task_id AND c.unit_id=bu.unit_id AND c.counted=1)"
)
