"""The one clock of the bot; tests move it with `set_offset` or `freeze`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_tz = ZoneInfo("Asia/Shanghai")
_offset = timedelta(0)
_frozen: datetime | None = None
# what a member did while the bot was away is processed at its own time (issue 22.5): `at` sets it for one task
_at: ContextVar[datetime | None] = ContextVar("alliance_clock_at", default=None)


def set_tz(tz: ZoneInfo) -> None:
    """Set the time zone every time is read and shown in."""
    global _tz
    _tz = tz


def tz() -> ZoneInfo:
    return _tz


def now() -> datetime:
    """The current time, aware, in the configured time zone (inside `at`, that time)."""
    if (at_ := _at.get()) is not None:
        return at_.astimezone(_tz)
    if _frozen is not None:
        return _frozen.astimezone(_tz)
    return (datetime.now(_tz) + _offset).astimezone(_tz)


@contextmanager
def at(when: datetime) -> Iterator[None]:
    """Within this block (and the tasks it starts), `now()` is `when`: a message read back from the group's history
    is handled at the time it was written."""
    token = _at.set(when)
    try:
        yield
    finally:
        _at.reset(token)


def freeze(at: datetime | None) -> None:
    """Stop the clock at `at` (None lets it run again)."""
    global _frozen
    _frozen = at


def advance(delta: timedelta) -> None:
    """Move the clock forward (frozen or not)."""
    global _offset, _frozen
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None


_DB_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def to_db(dt: datetime) -> str:
    """Store times as UTC ISO strings, which sort and compare as text (`2026-04-01T01:00:00`)."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def from_db(text: str) -> datetime:
    """A time as `to_db` stored it, in the configured time zone (ValueError for any other text).

    fromisoformat is a twentieth of strptime's cost, and a confirmation reads several times."""
    if not _DB_TIME.fullmatch(text):
        raise ValueError(f"not a stored time: {text!r}")
    return datetime.fromisoformat(text).replace(tzinfo=UTC).astimezone(_tz)


def now_db() -> str:
    return to_db(now())


def show(dt: datetime) -> str:
    """A time as users read it: `11月25日 18:00`, with the year when it is not this year."""
    dt = dt.astimezone(_tz)
    if dt.year != now().year:
        return f"{dt.year}年{dt.month}月{dt.day}日 {dt:%H:%M}"
    return f"{dt.month}月{dt.day}日 {dt:%H:%M}"


def stamp(dt: datetime | None) -> str:
    """A time as tables and the dashboard show it: `2026-11-25 18:00` in the bot's time zone ('' for none)."""
    return "" if dt is None else dt.astimezone(_tz).strftime("%Y-%m-%d %H:%M")


def stamp_db(text: str | None) -> str:
    """A stored UTC time as `stamp` shows it ('' when empty)."""
    return stamp(from_db(text)) if text else ""
