"""The reminder engine keeps its promises (docs/PROMISES.md), shown with a clock the tests move."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import clock
from bot.db import Database, Tx
from bot.outbox.service import Outbox
from bot.reminders import OVERDUE, Reminder, Reminders, describe_left, in_quiet, offset_label
from bot.render import Msg

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
DEADLINE = START + timedelta(days=2)  # 11-22 09:00
OFFSETS = [timedelta(days=1), timedelta(hours=2)]  # due 11-21 09:00 and 11-22 07:00


@dataclass
class Task:
    """A stand-in for a return or a 统发 task: the units still owing it, looked up when the reminder goes out."""

    owing: set[str] = field(default_factory=lambda: {"甲", "乙"})
    calls: list[Reminder] = field(default_factory=list)
    fail: bool = False

    async def handler(self, tx: Tx, rem: Reminder) -> list[tuple[str, str, Msg]]:
        self.calls.append(rem)
        if self.fail:
            raise RuntimeError("boom")
        if not self.owing:
            return []
        return [("group", "100", Msg(f"[{rem.label}] 未完成：{'、'.join(sorted(self.owing))}"))]


class Bot:
    """One run of the bot on a database file: its outbox (worker not started) and reminder engine."""

    def __init__(self, path: Path, task: Task, *, quiet: tuple[time, time] | None = None, tick: float = 30) -> None:
        self.db = Database(path)
        self.outbox = Outbox(self.db, interval=0)
        self.reminders = Reminders(self.db, self.outbox, offsets=OFFSETS, quiet=quiet, tick_seconds=tick)
        self.reminders.register("test", task.handler)

    async def __aenter__(self) -> Bot:
        await self.db.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.reminders.stop()
        await self.db.close()

    def connect(self) -> None:
        async def sender(target_type: str, target_id: str, segments: list) -> str:
            return "1"

        self.outbox.attach(sender)

    async def schedule(self, task_id: int = 1, deadline: datetime = DEADLINE) -> int:
        async with self.db.tx() as tx:
            return await self.reminders.schedule(tx, "test", task_id, deadline)

    async def queued(self) -> list[str]:
        async with self.db.read() as tx:
            rows = await tx.all("SELECT message FROM outbox ORDER BY id")
        return ["".join(s["data"]["text"] for s in json.loads(r[0]) if s["type"] == "text") for r in rows]

    async def states(self) -> dict[str, str]:
        async with self.db.read() as tx:
            rows = await tx.all("SELECT label, state FROM reminders ORDER BY due_at")
        return {r[0]: r[1] for r in rows}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    clock.set_tz(TZ)
    clock.freeze(START)
    yield
    clock.reset()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "alliance.db"


async def test_schedule_owes_each_offset_and_the_overdue_one(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        assert await bot.schedule() == 3
        assert await bot.states() == {"1d": "pending", "2h": "pending", OVERDUE: "pending"}


async def test_offsets_already_past_at_creation_are_not_owed(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        assert await bot.schedule(deadline=START + timedelta(hours=3)) == 2  # 1d before is already past
        assert list(await bot.states()) == ["2h", OVERDUE]


async def test_nothing_is_sent_before_it_is_due(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(hours=23, minutes=59))
        assert await bot.reminders.tick() == 0
        assert await bot.queued() == []


async def test_a_due_reminder_is_sent_once_never_twice(db_path: Path) -> None:
    task = Task()
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 1
        assert await bot.reminders.tick() == 0
        clock.advance(timedelta(minutes=30))
        assert await bot.reminders.tick() == 0
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]
        assert (await bot.states())["1d"] == "sent"
        assert len(task.calls) == 1


async def test_restart_does_not_send_a_sent_reminder_again(db_path: Path) -> None:
    task = Task()
    async with Bot(db_path, task) as first:
        first.connect()
        await first.schedule()
        clock.advance(timedelta(days=1))
        assert await first.reminders.tick() == 1
    # the bot restarts: a second engine on the same file
    async with Bot(db_path, task) as second:
        second.connect()
        assert await second.reminders.tick() == 0
        assert await second.queued() == ["[1d] 未完成：乙、甲"]
        clock.advance(timedelta(hours=22))  # the 2h one comes due: that one, and only that one, goes out
        assert await second.reminders.tick() == 1
        assert [m[:4] for m in await second.queued()] == ["[1d]", "[2h]"]


async def test_a_reminder_due_while_the_bot_was_down_goes_out_when_it_is_back(db_path: Path) -> None:
    async with Bot(db_path, Task()) as first:
        await first.schedule()
    clock.advance(timedelta(days=1, hours=1))  # down across the 1d reminder
    async with Bot(db_path, Task(), tick=3600) as second:
        second.connect()
        await second.reminders.start()  # the first tick runs at start, before any wait
        for _ in range(100):
            if await second.queued():
                break
            await asyncio.sleep(0.02)
        assert await second.queued() == ["[1d] 未完成：乙、甲"]


async def test_no_tick_while_the_qq_client_is_away_then_sent_on_connect(db_path: Path) -> None:
    async with Bot(db_path, Task(), tick=3600) as bot:
        await bot.schedule()
        await bot.reminders.start()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 0  # detached: nothing is marked, nothing queued
        assert (await bot.states())["1d"] == "pending"
        # the client connects: the system plugin attaches the outbox and kicks the engine
        bot.connect()
        bot.reminders.kick()
        for _ in range(100):
            if await bot.queued():
                break
            await asyncio.sleep(0.02)
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]
        assert (await bot.states())["1d"] == "sent"


async def test_a_client_that_drops_after_the_hand_over_still_gets_it_once(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 1
        bot.outbox.detach()  # the message waits in the outbox, pending; the reminder is not owed again
        bot.connect()
        assert await bot.reminders.tick() == 0
        async with bot.db.read() as tx:
            assert await tx.value("SELECT COUNT(*) FROM outbox WHERE state='pending'") == 1


async def test_quiet_hours_hold_reminders_until_the_window_ends(db_path: Path) -> None:
    async with Bot(db_path, Task(), quiet=(time(22, 0), time(7, 30))) as bot:
        bot.connect()
        clock.freeze(datetime(2026, 11, 20, 21, 0, tzinfo=TZ))
        async with bot.db.tx() as tx:
            # due at 22:30 (in the window)
            await bot.reminders.schedule(tx, "test", 1, datetime(2026, 11, 21, 0, 30, tzinfo=TZ))
        clock.freeze(datetime(2026, 11, 20, 22, 31, tzinfo=TZ))
        assert await bot.reminders.tick() == 0
        clock.freeze(datetime(2026, 11, 21, 7, 29, tzinfo=TZ))
        assert await bot.reminders.tick() == 0
        assert await bot.queued() == []
        clock.freeze(datetime(2026, 11, 21, 7, 30, tzinfo=TZ))
        assert await bot.reminders.tick() == 1
        # the 2h one and the overdue one both came due in the night: only the latest goes, once
        assert await bot.queued() == ["[overdue] 未完成：乙、甲"]
        assert await bot.states() == {"2h": "skipped", OVERDUE: "sent"}


async def test_a_reminder_held_until_just_before_the_next_one_is_replaced_by_it(db_path: Path) -> None:
    """Issue 21 item 7: quiet hours held the 2h reminder of an 08:00 deadline until 07:30; "还剩 30 分钟" followed by
    "已逾期" half an hour later is one message too many: the overdue one speaks for both."""
    async with Bot(db_path, Task(), quiet=(time(22, 0), time(7, 30))) as bot:
        bot.connect()
        clock.freeze(datetime(2026, 11, 20, 21, 0, tzinfo=TZ))
        await bot.schedule(deadline=datetime(2026, 11, 21, 8, 0, tzinfo=TZ))  # owed: 2h (06:00) and overdue
        clock.freeze(datetime(2026, 11, 21, 7, 30, tzinfo=TZ))
        assert await bot.reminders.tick() == 0
        assert await bot.states() == {"2h": "skipped", OVERDUE: "pending"}
        clock.freeze(datetime(2026, 11, 21, 8, 0, 30, tzinfo=TZ))
        assert await bot.reminders.tick() == 1
        assert await bot.queued() == ["[overdue] 未完成：乙、甲"]


async def test_a_late_reminder_still_goes_while_it_is_nearer_its_own_moment_than_the_next(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        await bot.schedule()  # 1d due 11-21 09:00, 2h due 11-22 07:00
        bot.connect()
        clock.freeze(datetime(2026, 11, 21, 15, 0, tzinfo=TZ))  # 6 hours late, the next one 16 hours away
        assert await bot.reminders.tick() == 1
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]
        clock.freeze(datetime(2026, 11, 21, 20, 0, tzinfo=TZ))
        assert await bot.reminders.tick() == 0


async def test_several_due_at_once_become_one_message_the_latest(db_path: Path) -> None:
    task = Task()
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=3))  # down across both offsets and the deadline
        assert await bot.reminders.tick() == 1
        assert [c.label for c in task.calls] == [OVERDUE]
        assert task.calls[0].overdue
        assert await bot.queued() == ["[overdue] 未完成：乙、甲"]
        assert await bot.states() == {"1d": "skipped", "2h": "skipped", OVERDUE: "sent"}


async def test_each_task_gets_its_own_reminder(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        await bot.schedule(1)
        await bot.schedule(2)
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 2
        assert len(await bot.queued()) == 2


async def test_a_unit_done_by_then_is_not_nudged(db_path: Path) -> None:
    task = Task()
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        task.owing.discard("甲")  # done after the reminder was scheduled, before it went out
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 1
        assert await bot.queued() == ["[1d] 未完成：乙"]


async def test_when_everyone_is_done_nothing_is_sent_and_the_reminder_is_closed(db_path: Path) -> None:
    task = Task()
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        task.owing.clear()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 0
        assert await bot.queued() == []
        assert (await bot.states())["1d"] == "skipped"
        assert await bot.reminders.tick() == 0
        assert len(task.calls) == 1


async def test_a_failing_handler_loses_nothing_and_is_tried_again(db_path: Path) -> None:
    task = Task(fail=True)
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 0
        assert (await bot.states())["1d"] == "pending"
        task.fail = False
        assert await bot.reminders.tick() == 1
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]


@asynccontextmanager
async def full_disk() -> AsyncIterator[None]:
    """A write transaction on a full disk, as tests/plugins/test_hardening.py simulates it."""
    raise sqlite3.OperationalError("database or disk is full")
    yield  # pragma: no cover


async def test_a_full_disk_keeps_the_worker_running_tells_and_loses_no_reminder(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = Task()
    async with Bot(db_path, task, tick=0.01) as bot:
        told: list[str] = []

        async def tell(what: str) -> None:
            told.append(what)

        bot.outbox.on_disk_full = tell
        bot.connect()
        await bot.schedule()
        real_tx = bot.db.tx
        monkeypatch.setattr(bot.db, "tx", full_disk)
        clock.advance(timedelta(days=1))
        await bot.reminders.start()  # the worker's own loop, ticking every 10 ms
        for _ in range(500):
            if len(told) >= 3:
                break
            await asyncio.sleep(0.01)
        assert len(told) >= 3, "the worker stopped after the first full-disk error"
        assert "到期的自动提醒" in told[0] and "补发" in told[0]
        assert bot.reminders._task is not None and not bot.reminders._task.done()
        assert await bot.queued() == [] and (await bot.states())["1d"] == "pending"
        monkeypatch.setattr(bot.db, "tx", real_tx)  # space returns
        for _ in range(500):
            if await bot.queued():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # more ticks: still once
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]
        assert (await bot.states())["1d"] == "sent"


async def test_marking_and_queueing_are_one_transaction(db_path: Path) -> None:
    async def bad(tx: Tx, rem: Reminder) -> list[tuple[str, str, Msg]]:
        return [("group", "100", Msg("ok")), ("group", "100", Msg())]  # the second cannot be queued

    async with Bot(db_path, Task()) as bot:
        bot.reminders.register("test", bad)
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 0
        # neither the first message nor the mark survived: it is still owed, whole
        assert await bot.queued() == []
        assert (await bot.states())["1d"] == "pending"


async def test_cancel_stops_the_reminders_of_a_task(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        await bot.schedule()
        async with bot.db.tx() as tx:
            await bot.reminders.cancel(tx, "test", 1)
        clock.advance(timedelta(days=3))
        assert await bot.reminders.tick() == 0
        assert set((await bot.states()).values()) == {"cancelled"}


async def test_rescheduling_replaces_what_was_not_sent(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 1  # 1d sent
        await bot.schedule(deadline=DEADLINE + timedelta(days=2))  # extended: a new 1d would be owed, but 1d was sent
        clock.advance(timedelta(days=1))
        assert await bot.reminders.tick() == 0
        assert (await bot.states())["1d"] == "sent"


async def test_unknown_kind_waits_for_its_handler(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        async with bot.db.tx() as tx:
            await bot.reminders.schedule(tx, "later", 1, DEADLINE)
        clock.advance(timedelta(days=3))
        assert await bot.reminders.tick() == 0
        assert set((await bot.states()).values()) == {"pending"}


def test_offset_labels_are_distinct_for_seconds() -> None:
    assert [offset_label(timedelta(seconds=s)) for s in (50, 60, 90, 7200, 86400)] == ["50s", "1m", "90s", "2h", "1d"]


def test_quiet_window_crossing_midnight() -> None:
    q = (time(22, 0), time(7, 30))
    at = lambda h, m: datetime(2026, 11, 20, h, m, tzinfo=TZ)  # noqa: E731
    assert [in_quiet(at(h, m), q) for h, m in ((21, 59), (22, 0), (3, 0), (7, 29), (7, 30))] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert not in_quiet(at(3, 0), None)
    assert in_quiet(at(13, 0), (time(12, 0), time(14, 0)))


def test_describe_left() -> None:
    assert describe_left(START + timedelta(days=3), START) == "还剩约 3 天"
    assert describe_left(START + timedelta(hours=2), START) == "还剩约 2 小时"
    assert describe_left(START + timedelta(seconds=20), START) == "还剩 1 分钟"


def test_a_day_and_a_half_is_said_in_days_and_hours() -> None:
    """Issue 21.15: 39 hours read `还剩约 2 天`."""
    assert describe_left(START + timedelta(hours=39), START) == "还剩 1 天 15 小时"
    assert describe_left(START + timedelta(hours=48, minutes=10), START) == "还剩 2 天"
    assert describe_left(START + timedelta(hours=71, minutes=40), START) == "还剩 3 天"
    assert describe_left(START + timedelta(hours=24), START) == "还剩约 24 小时"
    assert describe_left(START, START) == "已逾期"
