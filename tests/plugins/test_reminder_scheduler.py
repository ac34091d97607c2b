"""APScheduler is the clock of timed work (issue 23): the reminder engine's wake becomes one date job that kicks it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app import App


async def test_the_engines_wake_is_one_apscheduler_date_job_replaced_and_removed(core: App) -> None:
    from nonebot_plugin_apscheduler import scheduler

    from plugins.system import REMINDER_JOB, _scheduler_wake

    wake = _scheduler_wake(core)
    soon = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=1)
    try:
        wake(soon + timedelta(hours=1))
        wake(soon)  # sooner: the one job moves
        jobs = [j for j in scheduler.get_jobs() if j.id == REMINDER_JOB]
        assert len(jobs) == 1 and jobs[0].trigger.run_date == soon and jobs[0].misfire_grace_time is None
        assert asyncio.iscoroutinefunction(jobs[0].func)  # run on the event loop, not in a worker thread
        core.reminders._kick.clear()
        await jobs[0].func()
        assert core.reminders._kick.is_set()  # the job kicks the engine; the ledger decides what goes out
        wake(None)
        assert scheduler.get_job(REMINDER_JOB) is None
        wake(None)  # no job: nothing to remove, no error
    finally:
        if scheduler.get_job(REMINDER_JOB) is not None:
            scheduler.remove_job(REMINDER_JOB)
