"""When periodic work comes due: the one calculator behind the monthly follower reminder, the monthly list and the
daily check of accounts that stopped posting (each owed in the reminder ledger, bot/reminders.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from bot import clock
from bot.workdays import first_working_day

DAY, MONTH = "day", "month"


def month_due(year: int, month: int, at: time, day: int | None = None) -> datetime:
    """When a monthly job of that month comes due: on day `day`, or the first working day (China's holidays and
    调休) when None, at `at`."""
    on = first_working_day(year, month) if day is None else date(year, month, day)
    return datetime.combine(on, at, tzinfo=clock.tz())


def next_due(
    now: datetime, at: time, *, every: Literal["day", "month"] = MONTH, day: int | None = None
) -> tuple[int, datetime]:
    """The next time strictly after `now` a periodic job comes due, with the key of its period: (yyyymmdd, when)
    for a daily job at `at`; (yyyymm, when) for a monthly one (see `month_due`)."""
    if every == DAY:
        due = datetime.combine(now.date(), at, tzinfo=clock.tz())
        if due <= now:
            due = datetime.combine(now.date() + timedelta(days=1), at, tzinfo=clock.tz())
        return int(due.strftime("%Y%m%d")), due
    year, month = now.year, now.month
    for _ in range(2):
        due = month_due(year, month, at, day)
        if due > now:
            return year * 100 + month, due
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: a month's due time is within that month")
