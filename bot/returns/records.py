"""报送 records: a return, a unit's submission (its entry in `tasks.Progress.done`), what creating, submitting and nudging return."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot import clock
from bot.render import person_name
from bot.tasks import (
    TaskRecord,
)
from bot.units.records import Unit

KIND = "return"


NEEDS_FIX = "需修改"


TEMPLATE = "模板"
"""The form that follows the admin's own template (bot/returns/files/layouts.py names the same)."""


OPEN, CLOSED = "进行中", "已结束"


BY_SELF, BY_ADMIN = "本人", "管理员登记"


# the note of a submission confirmed by a reaction on the notice or a reminder (returns without files); it is the
# operator's own act, so its `via` is BY_SELF (the table allows only 本人 and 管理员登记)
BY_REACTION = "表情回应"


MAX_TITLE = 100


MAX_NOTE = 500


@dataclass(frozen=True)
class Return(TaskRecord):
    marks = "《》"
    id: int
    title: str
    note: str
    deadline: datetime
    scope: str
    state: str
    created_by: str
    created_at: datetime
    forms: tuple[str, ...] = ()
    """The forms units hand in as files (统计表, 汇总表, 备案表, 模板), in the order the admin named them; a unit is
    done when every one is in."""
    wants_scan: bool = False
    template_file: int | None = None
    by_level: bool = False
    """逐级汇总: units under a city hand in to their 市教育局, which checks them and hands one merged file up."""
    owner_unit_id: int | None = None  # a city admin's return: the unit they were appointed for (None: the province's)

    @property
    def wants_files(self) -> bool:
        return bool(self.forms) or self.wants_scan

    @property
    def open(self) -> bool:
        return self.is_open


@dataclass(frozen=True)
class Owed:
    """What a unit has not yet handed in for a file return: the forms without a good file, the forms in, and
    whether the scan is still wanted."""

    forms: tuple[str, ...]
    have: tuple[str, ...] = ()
    scan: bool = False


@dataclass(frozen=True)
class Submission:
    unit: Unit
    at: datetime
    by: str
    by_name: str
    via: str
    note: str
    late: bool

    def describe(self) -> str:
        """`11月20日 10:00 张三报送（逾期）` for a progress line."""
        who = person_name(self.by_name)
        how = "登记" if self.via == BY_ADMIN else "报送"
        return f"{clock.show(self.at)} {who}{how}" + ("（逾期）" if self.late else "")


@dataclass
class NewReturn:
    """What `/报送 新建` was given, read but not yet stored."""

    title: str
    deadline: datetime
    scope: str = ""
    note: str = ""
    forms: tuple[str, ...] | str = ()
    """The forms asked for; a text (`统计表` or `统计表,汇总表`) is read as that list."""
    scan: bool = False
    by_level: bool = False
    """逐级汇总 (bot/returns/levels.py)."""

    def __post_init__(self) -> None:
        if isinstance(self.forms, str):
            self.forms = tuple(f for f in self.forms.split(",") if f)


@dataclass
class CreatedReturn:
    ret: Return
    units: int
    groups: list[str]
    reminders: list[str]
    """Labels of the reminders owed, soonest first (`1d`, `2h`, `overdue`)."""


@dataclass
class Submitted:
    ret: Return
    unit: Unit
    submission: Submission
    new: bool
    done: int
    total: int


@dataclass
class Nudged:
    ret: Return
    units: list[Unit]
    operators: int
    orphans: list[Unit]
    messages: int


def return_row(r) -> Return:
    return Return(
        r["id"],
        r["title"],
        r["note"],
        clock.from_db(r["deadline"]),
        r["scope"],
        r["state"],
        r["created_by"],
        clock.from_db(r["created_at"]),
        tuple(json.loads(r["forms"] or "[]")),
        bool(r["wants_scan"]),
        r["template_file"],
        bool(r["by_level"]) if "by_level" in r.keys() else False,
        r["owner_unit_id"] if "owner_unit_id" in r.keys() else None,
    )


def unit_row(r) -> Unit:
    return Unit(r["unit_id"], r["name"], r["category"], r["city"])


def submission_row(r) -> Submission:
    return Submission(
        unit_row(r),
        clock.from_db(r["submitted_at"]),
        r["submitted_by"] or "",
        r["submitted_by_name"],
        r["via"] or BY_SELF,
        r["note"],
        bool(r["late"]),
    )
