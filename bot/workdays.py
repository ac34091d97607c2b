"""Working days in China: public holidays and swapped working days (调休) from the `chinesecalendar`
library, plus the days the office adds in settings (ALLIANCE_EXTRA_HOLIDAYS, ALLIANCE_EXTRA_WORKDAYS).

How the promises hold:
- the State Council publishes each year's schedule in the autumn before, and the library learns it in its next
  release: until then (a year it does not know) a day is a working day when it is Monday–Friday and not one of the
  holidays fixed by date in 《全国年节及纪念日放假办法》 (元旦 1月1日, 劳动节 5月1日–2日, 国庆节 10月1日–3日); the
  lunar holidays and 调休 of such a year come from the settings. A warning is logged once per unknown year;
- the office's own days win over the library (a day the library calls a working day can be made a holiday, and
  the other way round);
- the calendar is configured once at start (`configure`, as `clock.set_tz`), so every module that asks "is this a
  working day" asks the same one.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("alliance.workdays")

# holidays fixed by date in 《全国年节及纪念日放假办法》 (2024 revision): the fallback for a year the library does not know
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

_holidays: frozenset[date] = frozenset()
_workdays: frozenset[date] = frozenset()
_warned: set[int] = set()

_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_RANGE = re.compile(rf"^{_DAY.pattern}\s*(?:~|～|\.\.|至|到)\s*{_DAY.pattern}$")
MOST_DAYS = 400  # one setting's range covers at most this many days (a typo in a year must not cost memory)


def parse_days(value: object) -> list[date]:
    """Read ALLIANCE_EXTRA_HOLIDAYS / ALLIANCE_EXTRA_WORKDAYS: dates `2027-02-06` and ranges `2027-02-06~2027-02-12`,
    as a JSON list or separated by commas or spaces; empty for none.

    Raises:
        ValueError: a date that is not one, or a range backwards or too long (the message shows the right form).
    """
    if value is None:
        return []
    items: Iterable[object]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"不是合法的 JSON 列表（{e.msg}）") from e
        else:
            items = [p for p in re.split(r"[,，、;；\s]+", text) if p]
    elif isinstance(value, (list, tuple, set)):
        items = value
    else:
        raise ValueError('应为日期列表，如 ["2027-02-06~2027-02-12","2027-10-08"]')
    out: list[date] = []
    for item in items:
        s = str(item).strip()
        try:
            if m := _RANGE.match(s):
                first, last = _ymd(*m.groups()[:3]), _ymd(*m.groups()[3:])
                if last < first or (last - first).days >= MOST_DAYS:
                    raise ValueError
                out.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
            elif m := _DAY.fullmatch(s):
                out.append(_ymd(*m.groups()))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"看不懂日期 {s!r}：应写成 2027-02-06，或一段日子 2027-02-06~2027-02-12，多个用逗号隔开"
            ) from None
    return sorted(set(out))


def _ymd(y: str, m: str, d: str) -> date:
    return date(int(y), int(m), int(d))


def configure(holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
    """Set the office's own days (from the settings); a day in both lists is a working day."""
    global _holidays, _workdays
    _workdays = frozenset(workdays)
    _holidays = frozenset(holidays) - _workdays
    _warned.clear()  # a new configuration warns anew about the years it does not know


def known(year: int) -> bool:
    """Whether the library has the State Council's schedule for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """Whether people are at work that day: the office's own days first, then the library, else the fallback."""
    if day in _workdays:
        return True
    if day in _holidays:
        return False
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning(
                "chinesecalendar does not know %d yet: counting Monday-Friday minus the fixed-date holidays "
                "(元旦, 劳动节, 国庆节) as working days; add that year's other holidays and 调休 with "
                "ALLIANCE_EXTRA_HOLIDAYS / ALLIANCE_EXTRA_WORKDAYS, or upgrade chinesecalendar",
                day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    for _ in range(60):  # the longest run of days off (春节 with weekends) is far shorter
        if is_working_day(day):
            return day
        day += timedelta(days=1)
    return day


def first_working_day(year: int, month: int) -> date:
    """The first working day of a month (public holidays skipped, 调休 Saturdays and Sundays counted)."""
    return next_working_day(date(year, month, 1))
