"""Stopping a background loop always ends (the outbox's sender, the reminder ledger's checks).

On Python 3.11, `asyncio.wait_for` returns the inner result instead of raising when it is cancelled in the
same moment the inner wait completes: a loop parked in `wait_for(event.wait(), …)` then runs on after
`task.cancel()`, and a stop that awaited the task once waited for ever (the app's stop at the end of a test
held up a whole test run). The loops now wait with `asyncio.timeout`, and `stop_loop` cancels until the task
has stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from bot.loops import stop_loop
from bot.outbox.service import Outbox
from bot.reminders import Reminders


async def stops(stop: Coroutine[Any, Any, None]) -> None:
    """`stop` ends on its own (not cancelled from outside, which would hide a stop that never ends)."""
    stopper = asyncio.create_task(stop)
    done, _ = await asyncio.wait({stopper}, timeout=5)
    assert stopper in done, "the stop did not end"
    stopper.result()


async def test_a_loop_that_swallows_a_cancellation_is_still_stopped() -> None:
    swallowed = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if not swallowed:  # what 3.11's wait_for does when its inner wait has just completed
                    swallowed.append(True)
                    continue
                raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await stops(stop_loop(task))
    assert swallowed and task.cancelled()


async def test_stop_loop_lets_the_callers_own_cancellation_through() -> None:
    loop_task = asyncio.create_task(asyncio.sleep(3600))

    async def stubborn_stop() -> None:
        await stop_loop(loop_task)

    stopper = asyncio.create_task(stubborn_stop())
    await asyncio.sleep(0)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert loop_task.cancelled()


async def test_stop_loop_reports_what_the_loop_failed_with() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="boom"):
        await stop_loop(task)


@pytest.mark.parametrize("gap", range(6))
async def test_reminders_stop_right_after_a_kick(tmp_path: Path, gap: int) -> None:
    db = Database(tmp_path / "a.db")
    await db.open()
    outbox = Outbox(db, interval=0)
    reminders = Reminders(db, outbox, offsets=[], quiet=None, tick_seconds=30)
    try:
        await reminders.start()
        await reminders.tick()  # the loop's first tick is done and it waits for the next
        for _ in range(20):
            await asyncio.sleep(0)
        reminders.kick()
        for _ in range(gap):
            await asyncio.sleep(0)
        await stops(reminders.stop())
    finally:
        await db.close()


@pytest.mark.parametrize("gap", range(6))
async def test_the_outbox_stops_right_after_a_wake(tmp_path: Path, gap: int) -> None:
    db = Database(tmp_path / "a.db")
    await db.open()
    outbox = Outbox(db, interval=0)
    try:
        await outbox.start()
        await outbox.wait_idle()
        for _ in range(20):
            await asyncio.sleep(0)
        outbox.wake()
        for _ in range(gap):
            await asyncio.sleep(0)
        await stops(outbox.stop())
    finally:
        await db.close()
