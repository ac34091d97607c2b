"""The reminder engine's clock (issue 23): it asks a scheduler to wake it at the ledger's next due time, rebuilt
from the ledger at start, instead of polling; the ledger still decides what goes out, exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from pathlib import Path

from bot import clock
from bot.reminders import OVERDUE, quiet_end
from tests.bot.test_reminders import START, TZ, Bot, Task, db_path, frozen

__all__ = ["db_path", "frozen"]


class Scheduler:
    """A fake of APScheduler's one date job: the wall-clock time it was last asked to wake the engine."""

    def __init__(self) -> None:
        self.asked: list[datetime | None] = []
        self.changed = asyncio.Event()

    def __call__(self, when: datetime | None) -> None:
        self.asked.append(when)
        self.changed.set()

    async def next(self) -> timedelta | None:
        """Wait for the engine's next request; how far ahead of now (the wall clock) it asks to be woken."""
        async with asyncio.timeout(10):
            await self.changed.wait()
        self.changed.clear()
        when = self.asked[-1]
        return None if when is None else when - datetime.now(TZ)


def about(got: timedelta | None, want: timedelta) -> bool:
    return got is not None and abs(got - want) < timedelta(seconds=5)


async def test_the_scheduler_is_asked_for_the_ledgers_next_due_time_and_moved_sooner(db_path: Path) -> None:
    clock_ = Scheduler()
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        bot.reminders.use_scheduler(clock_)
        await bot.reminders.start()
        assert await clock_.next() is None  # nothing owed: no wake at all, nothing polls
        await bot.schedule()  # owed 11-21 09:00, 11-22 07:00 and 09:00
        assert about(await clock_.next(), timedelta(days=1))
        await bot.schedule(task_id=2, deadline=START + timedelta(hours=1))  # only its overdue one, in an hour
        assert about(await clock_.next(), timedelta(hours=1))
        await bot.schedule(task_id=3, deadline=START + timedelta(hours=5))  # later than the armed one: no change
        assert not clock_.changed.is_set()


async def test_a_wake_sends_what_is_due_once_and_arms_the_next(db_path: Path) -> None:
    clock_ = Scheduler()
    task = Task()
    async with Bot(db_path, task) as bot:
        bot.connect()
        await bot.schedule()
        bot.reminders.use_scheduler(clock_)
        await bot.reminders.start()
        assert about(await clock_.next(), timedelta(days=1))  # rebuilt from the ledger at start
        clock.advance(timedelta(days=1))
        bot.reminders.kick()  # the scheduler's job fires
        assert about(await clock_.next(), timedelta(hours=22))  # the 2h one, 11-22 07:00
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]
        bot.reminders.kick()  # a second wake (e.g. a reconnect) sends nothing twice
        assert about(await clock_.next(), timedelta(hours=22))
        assert await bot.queued() == ["[1d] 未完成：乙、甲"] and len(task.calls) == 1


async def test_a_restart_sends_what_came_due_while_down(db_path: Path) -> None:
    async with Bot(db_path, Task()) as bot:
        await bot.schedule()
    clock.advance(timedelta(days=2, minutes=30))  # down across 1d, 2h and the deadline itself
    clock_ = Scheduler()
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        bot.reminders.use_scheduler(clock_)
        await bot.reminders.start()
        assert await clock_.next() is None  # everything owed has gone out: nothing left to wake for
        assert await bot.queued() == [f"[{OVERDUE}] 未完成：乙、甲"]  # the latest speaks for the ones missed
        assert await bot.states() == {"1d": "skipped", "2h": "skipped", OVERDUE: "sent"}


async def test_in_quiet_hours_the_wake_is_at_their_end(db_path: Path) -> None:
    clock.freeze(datetime(2026, 11, 20, 23, 0, tzinfo=TZ))
    clock_ = Scheduler()
    async with Bot(db_path, Task(), quiet=(time(22), time(7, 30))) as bot:
        bot.connect()
        await bot.schedule(deadline=datetime(2026, 11, 20, 22, 30, tzinfo=TZ))  # overdue since 22:30
        bot.reminders.use_scheduler(clock_)
        await bot.reminders.start()
        assert about(await clock_.next(), timedelta(hours=8, minutes=30))  # 07:30, not every 30 s meanwhile
        assert await bot.queued() == []


async def test_what_could_not_go_out_is_tried_again_after_the_retry_interval(db_path: Path) -> None:
    clock_ = Scheduler()
    task = Task(fail=True)
    async with Bot(db_path, task, tick=45) as bot:
        bot.connect()
        await bot.schedule()
        clock.advance(timedelta(days=1))
        bot.reminders.use_scheduler(clock_)
        await bot.reminders.start()
        assert about(await clock_.next(), timedelta(seconds=45))
        task.fail = False
        clock.advance(timedelta(seconds=45))
        bot.reminders.kick()
        assert about(await clock_.next(), timedelta(hours=22) - timedelta(seconds=45))
        assert await bot.queued() == ["[1d] 未完成：乙、甲"]


async def test_without_a_scheduler_an_asyncio_timer_wakes_the_engine(db_path: Path) -> None:
    """The core on its own (no NoneBot): the reminder goes out when its time comes, on the wall clock."""
    async with Bot(db_path, Task()) as bot:
        bot.connect()
        clock.reset()
        clock.set_tz(TZ)
        await bot.reminders.start()
        now = clock.now()
        async with bot.db.tx() as tx:
            await bot.reminders.schedule(tx, "test", 1, now + timedelta(seconds=0.3), offsets=[])
        async with asyncio.timeout(10):
            while not await bot.queued():  # the timer fires at the due time; no tick or kick from the test
                await asyncio.sleep(0.05)
        assert await bot.queued() == [f"[{OVERDUE}] 未完成：乙、甲"]


def test_the_end_of_a_quiet_window_that_crosses_midnight() -> None:
    quiet = (time(22), time(7, 30))
    assert quiet_end(datetime(2026, 11, 20, 23, 0, tzinfo=TZ), quiet) == datetime(2026, 11, 21, 7, 30, tzinfo=TZ)
    assert quiet_end(datetime(2026, 11, 21, 6, 0, tzinfo=TZ), quiet) == datetime(2026, 11, 21, 7, 30, tzinfo=TZ)
    assert quiet_end(datetime(2026, 11, 21, 12, 0, tzinfo=TZ), quiet) is None
