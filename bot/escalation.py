"""Escalation up the tree (issue 24.3, SPEC §13): when a 统发 or a 报送 is overdue, each city admin gets their area's
overdue list privately, once per task, in working hours.

How the promises hold:
- once, also across a restart: the escalation of a task is a row of the reminder ledger (kind `<kind>_up`, owed
  when the task is scheduled: `owe`), marked sent in the transaction that queues the messages (bot/reminders.py);
- in working hours: it is owed at the first moment at or after the deadline that is on a working day
  (bot/workdays.py) and outside quiet hours (`working_moment`); the kind is registered `workdays_only` and the
  ledger never sends in quiet hours, so a calendar changed meanwhile is still obeyed;
- their area: a city admin's units are the subtrees of the units they were appointed over (bot/roles.py); a task
  closed or withdrawn first cancels it with its other reminders; nobody appointed, or nothing overdue in an area:
  nothing is sent.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Protocol

from bot import clock
from bot.db import Tx
from bot.errors import NotFound
from bot.nudge import Outgoing
from bot.reminders import Reminder, Reminders, in_quiet, quiet_end
from bot.render import Msg
from bot.roles import Roles
from bot.units.service import Units
from bot.vocab import category_key
from bot.workdays import is_working_day, next_working_day

SUFFIX = "_up"
DAY_START = time(8, 0)  # where there are no quiet hours, a day off's escalation waits for this time


def escalation_kind(kind: str) -> str:
    """The ledger kind of a task kind's escalation (`broadcast` → `broadcast_up`)."""
    return kind + SUFFIX


def working_moment(when: datetime, quiet: tuple[time, time] | None) -> datetime:
    """`when` if it is in working hours (a working day, outside quiet hours), else the first moment after it that
    is: the end of the quiet hours, on the next working day."""
    t = when
    for _ in range(400):
        if not is_working_day(t.date()):
            day = next_working_day(t.date())
            t = datetime.combine(day, quiet[1] if quiet else DAY_START, tzinfo=t.tzinfo)
        end = quiet_end(t, quiet)
        if end is not None:
            t = end
            continue
        if is_working_day(t.date()) and not in_quiet(t, quiet):
            return t
    return t


async def owe(reminders: Reminders, tx: Tx, kind: str, task_id: int, deadline: datetime) -> None:
    """Owe a task's escalation at the first working moment from its deadline (a new deadline replaces it)."""
    due = working_moment(deadline, reminders.quiet)
    await reminders.schedule(tx, escalation_kind(kind), task_id, due, offsets=[], overdue=True)


async def cancel(reminders: Reminders, tx: Tx, kind: str, task_id: int, why: str) -> None:
    await reminders.cancel(tx, escalation_kind(kind), task_id, why)


class Service(Protocol):
    """What escalation asks of a task service (bot/tasks.py `TaskService`, the Protocol reports see too)."""

    kind: str
    noun: str

    async def progress(self, task_id: int) -> Any: ...


class Escalation:
    """Sends each city admin their area's overdue list of a task, once (registered per kind of task: `watch`)."""

    def __init__(self, reminders: Reminders, units: Units, roles: Roles) -> None:
        self.reminders = reminders
        self.units = units
        self.roles = roles
        self.services: dict[str, Service] = {}

    def watch(self, service: Service) -> None:
        kind = escalation_kind(service.kind)
        self.services[kind] = service
        self.reminders.register(
            kind, self._send, self._prepare, title=f"{service.noun}逾期名单（给市级管理员）", workdays_only=True
        )

    async def _prepare(self, rem: Reminder) -> list[Outgoing]:
        """The messages, read before the ledger's transaction (progress, the appointments and the tree)."""
        service = self.services[rem.kind]
        try:
            p = await service.progress(rem.task_id)
        except NotFound:
            return []
        if not p.task.is_open or not p.pending:
            return []
        out: list[Outgoing] = []
        by_person: dict[str, list] = {}
        for a in await self.roles.listing():
            by_person.setdefault(a.user_id, []).append(a.unit)
        for user_id, heads in sorted(by_person.items()):
            ids: set[int] = set()
            for unit in heads:
                ids |= await self.units.subtree(unit)
            overdue = [u for u in p.pending if u.id in ids]
            if overdue:
                names = [f"{u.name}{'及其下级单位' if len(await self.units.subtree(u)) > 1 else ''}" for u in heads]
                area = "、".join(names)
                out.append(("private", user_id, overdue_message(service.noun, p, area, overdue)))
        return out

    async def _send(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        return list(rem.prepared or [])


def overdue_message(noun: str, p: Any, area: str, overdue: list) -> Msg:
    """`【逾期名单 · 郑州市教育局及其下级单位】统发 #1「…」已于 … 截止，你管理的单位中还有 12 个没有完成：` and the units
    by category."""
    t = p.task
    verb = "没有完成" if noun == "统发" else "没有报送"
    out = Msg(
        f"【逾期名单 · {area}】{noun} {t.label}已于 {clock.show(t.deadline)} 截止，"
        f"你管理的单位中还有 {len(overdue)} 个{verb}："
    )
    groups: dict[str, list[str]] = {}
    for u in overdue:
        groups.setdefault(u.category, []).append(u.name)
    for cat in sorted(groups, key=category_key):
        out.line(f"【{cat}】{'、'.join(groups[cat])}")
    out.line(f"请督促这些单位尽快办理。催办：/{noun} 催办 {t.id}；查看进度：/{noun} 进度 {t.id}")
    return out
