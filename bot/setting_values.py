"""Readers of setting values (durations, quiet hours, the monthly list's day): pure functions, heavily tested."""

from __future__ import annotations

import re
from datetime import time, timedelta

# the largest sensible value of each number setting: past it a value is a typo, and stops the bot
LIMITS: dict[str, float] = {
    "alliance_reminder_tick": 3600,
    "alliance_send_timeout": 600,
    "alliance_send_interval": 600,
    "alliance_send_jitter": 600,
    "alliance_at_batch": 100,
    "alliance_stale_days": 3650,
    "alliance_group_list_limit": 1000,
    "alliance_stale_warn_days": 3650,
    "alliance_picture_rows": 500,
    "alliance_fetch_timeout": 60,
    "alliance_fetch_max_bytes": 20_000_000,
    "alliance_file_max_mb": 200,
    "alliance_file_timeout": 600,
    "alliance_flood_window": 3600,
    "alliance_flood_budget": 1000,
    "alliance_log_keep": 3650,
}


MAX_DURATION = timedelta(days=366)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_duration(text: str) -> timedelta:
    """Read `30m`, `2h`, `3d` (minutes, hours, days); `45s` (seconds) is accepted too, for tests and demos."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"应写成数字加 m/h/d，如 30m、2h、3d，而不是 {text!r}")
    n, unit = int(m.group(1)), m.group(2)
    units = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
    if n > MAX_DURATION // units[unit]:
        raise ValueError(f"{text!r} 太长，最多 {MAX_DURATION.days} 天")
    return n * units[unit]


def parse_positive_duration(text: str) -> timedelta:
    """`parse_duration`, and more than zero."""
    d = parse_duration(text)
    if d <= timedelta(0):
        raise ValueError(f"应大于 0，如 30m、2h、3d，而不是 {text!r}")
    return d


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """Read `22:00-07:30`; empty means no quiet hours."""
    if not str(text).strip():
        return None
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", str(text))
    if not m:
        raise ValueError(f"应写成 HH:MM-HH:MM，如 22:00-07:30，或留空表示没有免打扰时段，而不是 {text!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"时间超出范围: {text!r}")
    return time(h1, m1), time(h2, m2)


def parse_month_day(text: str) -> int | None:
    """Read ALLIANCE_MONTHLY_LIST_DAY: `first_working_day` (or 第一个工作日; None) or a day of the month 1–28."""
    s = str(text).strip()
    if s.lower() in ("first_working_day", "第一个工作日", "首个工作日", ""):
        return None
    if s.isdecimal() and 1 <= int(s) <= 28:
        return int(s)
    raise ValueError(f"应为 first_working_day（每月第一个工作日）或 1 到 28 之间的日期，而不是 {text!r}")
