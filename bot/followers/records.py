"""Follower records: what a report, a unit's progress, a ranking, a post date and the 僵尸号 lists return, and the SQL that reads an account's latest count."""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from bot.accounts import Account
from bot.errors import UserError
from bot.followers.periods import Period
from bot.followers.targets import (
    Target,
    wan,
)
from bot.units.records import Unit

log = logging.getLogger("alliance.followers")


KIND = "followers"


STALE_KIND = "stale_watch"  # the daily check for accounts past the warning line (task id: yyyymmdd)


LABEL = "monthly"


LIVE = ("正常", "待审核")


# `LIVE` as an SQL list, for `state IN ...`
LIVE_STATES_SQL = "('正常', '待审核')"


# A report far from what the account's reports lead one to expect is recorded only once the person confirms it:
# a slipped digit (×/÷ about 10, 100, …: 680000 for 68000, 9100 for 91000) or a jump off the trend.
RISE = 3.0  # 3× the last report (or the count its trend expects) or more …
DROP = 0.5  # … or half of it or less
TREND_SLACK = 0.2  # with a trend (two earlier reports): more than this share of the last count off the expected one …
TREND_TIMES = 3  # … and more than 3× the growth the trend predicts
SLIP = 1.35  # a ratio within this factor of 10, 100, 1000 … reads as a digit added or left out
FIRST_OVER = 5  # a first report at 5× the whole unit's target or more


JUMP_FLOOR = 1000  # … and always more than this many followers apart (a small account's swings are real)


CONFIRM_WINDOW = timedelta(minutes=30)


class NeedsConfirmation(UserError):
    """A count far from the last report (or, for a first report, from the unit's target): not recorded yet."""


@dataclass(frozen=True)
class Trend:
    """The last report before today and the one before it: where the count should be today."""

    last: int
    last_day: date
    before: int | None = None
    before_day: date | None = None

    @classmethod
    def of(cls, reports: list[tuple[int, date]]) -> Trend | None:
        """From the last reports before today, (count, day), newest first; None without any."""
        if not reports:
            return None
        (last, last_day), *rest = reports
        return cls(last, last_day, *(rest[0] if rest else (None, None)))

    def expected(self, today: date) -> float | None:
        """The last count moved on by the growth per day between the two reports; None without two."""
        if self.before is None or self.before_day is None or self.before_day >= self.last_day:
            return None
        rate = (self.last - self.before) / (self.last_day - self.before_day).days
        return max(0.0, self.last + rate * max((today - self.last_day).days, 1))


def _slipped(ratio: float) -> int:
    """How many digits `ratio` looks like (+1: one added, -2: two left out); 0 when it is no power of ten."""
    for k in range(1, 10):
        for sign in (1, -1):
            if 10**k / SLIP <= ratio**sign <= 10**k * SLIP:
                return k * sign
    return 0


def implausible(
    count: int, trend: Trend | None, target: int | None, *, replaced: int | None = None, today: date | None = None
) -> str | None:
    """Why `count` needs a confirmation, or None.

    It is compared with the last report before today (`trend`); a same-day correction with nothing before today,
    with the count it replaces (unless that one was itself far off the target, and confirmed). Asked: a slipped
    digit (about 10×, 100× … or a tenth, a hundredth … of it); 3× it (or the trend's expected count) or more, half
    of it or less; with two reports, also far off the line they draw. Counts within 1,000 of it never are (a small
    account's swings are real). A first report is compared with the unit's target: one account alone at 5× what
    the whole unit is asked to reach is more likely a slip than a fact.
    """
    if trend is not None and trend.last:
        ref, label = trend.last, f"上次（{trend.last:,}）"
        expected = trend.expected(today) if today is not None else None
    elif replaced and implausible(replaced, None, target) is None:  # not a count that was itself confirmed far off
        ref, label, expected = replaced, f"今天已记录的（{replaced:,}）", None
    else:
        if target and count >= target * FIRST_OVER:
            return f"是第一次报送，已是本单位粉丝目标（{wan(target)}）的 {count / target:.0f} 倍"
        return None
    if abs(count - ref) <= JUMP_FLOOR:
        return None
    ratio = count / ref
    digits = _slipped(ratio) if count else 0
    far = count >= RISE * max(ref, expected or 0) or ratio <= DROP
    if expected is not None:
        far = far or abs(count - expected) > max(TREND_SLACK * ref, TREND_TIMES * abs(expected - ref), JUMP_FLOOR)
    if not far and not digits:
        return None
    if ratio >= 3:
        why = f"是{label}的 {ratio:.0f} 倍"
    elif ratio > 1:
        why = f"比{label}多了 {ratio - 1:.0%}"
    else:
        why = f"比{label}少了 {1 - ratio:.0%}"
    if digits:
        many = {1: "一", 2: "两"}.get(abs(digits), str(abs(digits)))
        why += f"，像是{'多' if digits > 0 else '少'}写了{many}位数"
    elif expected is not None:
        why += f"，而按以往的增长应在 {expected:,.0f} 左右"
    return why


@dataclass(frozen=True)
class Reported:
    """What a /粉丝 report did, for the reply."""

    unit: Unit
    account: Account
    count: int
    day: date
    previous: tuple[int, date] | None
    replaced: int | None
    total: int
    target: Target
    unreported: list[Account]


@dataclass(frozen=True)
class TargetProgress:
    """A unit's total against its target, with each account's latest count."""

    unit: Unit
    target: Target
    total: int
    accounts: list[tuple[Account, int | None, date | None]]


class Standing(NamedTuple):
    rank: int
    unit: Unit
    value: int


@dataclass
class Ranking:
    """Units by count and by growth; the lists are ordered only as far as they are read (top N in a group)."""

    platform: str | None
    category: str | None
    period: Period
    units_in_scope: int = 0
    counts: list[tuple[int, str, int, Unit]] = field(default_factory=list)
    growths: list[tuple[int, str, int, Unit]] = field(default_factory=list)
    # the lists as read, by (which, limit): a cached ranking is read by every asker (its picture and its text);
    # a ranking is filled before it is read and never changed after (a new report makes a new one)
    _read: dict[tuple[str, int | None], tuple[Standing, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def scope(self) -> str:
        return f"{self.platform or '全部平台'} · {self.category or '全部类别'}"

    def by_count(self, limit: int | None = None) -> list[Standing]:
        return self._ordered("count", self.counts, limit)

    def by_growth(self, limit: int | None = None) -> list[Standing]:
        return self._ordered("growth", self.growths, limit)

    def _ordered(self, which: str, values: list[tuple[int, str, int, Unit]], limit: int | None) -> list[Standing]:
        """`_ranked(values, limit)`, ordered once per ranking and limit (a copy of the list kept)."""
        if (kept := self._read.get((which, limit))) is None:
            kept = self._read[(which, limit)] = tuple(_ranked(values, limit))
        return list(kept)

    @cached_property
    def count_by_unit(self) -> dict[int, int]:
        """Unit id → its count: built once per ranking (a cached ranking is read by every asker's picture)."""
        return {uid: -neg for neg, _, uid, _ in self.counts}

    @cached_property
    def growth_by_unit(self) -> dict[int, int]:
        return {uid: -neg for neg, _, uid, _ in self.growths}

    def count_of(self, unit_id: int) -> Standing | None:
        """The unit's place by count, as in `by_count()`."""
        return self._count_places.get(unit_id)

    def growth_of(self, unit_id: int) -> Standing | None:
        """The unit's place by growth, as in `by_growth()`."""
        return self._growth_places.get(unit_id)

    @cached_property
    def _count_places(self) -> dict[int, Standing]:
        """Unit id → its place by count: the list ordered once per ranking, then every asker's place is a lookup
        (it was counted over every unit for each ask)."""
        return {s.unit.id: s for s in self.by_count()}

    @cached_property
    def _growth_places(self) -> dict[int, Standing]:
        return {s.unit.id: s for s in self.by_growth()}


@dataclass(frozen=True)
class Posted:
    unit: Unit
    account: Account
    day: date
    previous: date | None


@dataclass(frozen=True)
class StaleAccount:
    account: Account
    last_post: date | None
    last_count: date | None
    count: int | None
    since: date  # the start of the stretch without posts
    idle: int  # days since then


@dataclass
class Stale:
    """`no_post`: 僵尸号 (no post for `days` or more); `warning`: from `warn` days; `no_count`: no count for `days`."""

    days: int
    cutoff: date
    warn: int = 10
    no_post: list[tuple[Unit, list[StaleAccount]]] = field(default_factory=list)
    warning: list[tuple[Unit, list[StaleAccount]]] = field(default_factory=list)
    no_count: list[tuple[Unit, list[StaleAccount]]] = field(default_factory=list)


def _ranked(values: list[tuple[int, str, int, Unit]], limit: int | None = None) -> list[Standing]:
    """(-value, name, id, unit) in, the first `limit` by highest value out; equal values share a rank (1, 2, 2, 4)."""
    values = heapq.nsmallest(limit, values) if limit is not None and limit < len(values) else sorted(values)
    out: list[Standing] = []
    rank, last = 0, None
    for i, (neg, _name, _id, unit) in enumerate(values, start=1):
        if neg != last:
            rank, last = i, neg
        out.append(Standing(rank, unit, -neg))
    return out


def day_or_none(text: str | None) -> date | None:
    """A stored `YYYY-MM-DD` as a date (None stays None)."""
    return date.fromisoformat(text) if text else None


def account_from_row(r: Any) -> Account:
    """An `accounts` row as an `Account`."""
    return Account(r["id"], r["unit_id"], r["platform"], r["name"], r["uid"], r["opened_on"], r["state"])


# a column giving an account's (alias `a`) latest report as 'YYYY-MM-DD count' (see `split_latest_report`)
LATEST_REPORT_SQL = (
    "(SELECT r.day || ' ' || r.count FROM follower_reports r WHERE r.account_id=a.id ORDER BY r.day DESC LIMIT 1)"
)


def split_latest_report(text: str | None) -> tuple[int, date] | None:
    """`'2026-03-16 12345'` (from `LATEST_REPORT_SQL`) → (12345, date)."""
    if not text:
        return None
    day, _, count = text.partition(" ")
    return int(count), date.fromisoformat(day)
