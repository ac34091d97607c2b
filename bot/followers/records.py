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


_LIVE_SQL = "('正常', '待审核')"


# A report this far from the last one is recorded only once the person confirms it (a typo of 万 for 千, an extra 0).
JUMP = 10  # more than 10× the last report, or less than a tenth of it …


JUMP_FLOOR = 1000  # … and more than this many followers apart (a small account's swings are real)


CONFIRM_WINDOW = timedelta(minutes=30)


class NeedsConfirmation(UserError):
    """A count far from the last report (or, for a first report, from the unit's target): not recorded yet."""


def implausible(count: int, last: int | None, target: int | None) -> str | None:
    """Why `count` needs a confirmation, or None.

    Against the last report: more than 10× it or less than a tenth of it (and more than 1,000 apart). A first report
    (or one after 0) has nothing to compare with, so it is compared with the unit's target: one account alone at
    more than 10× what the whole unit is asked to reach is far more likely a slip than a fact.
    """
    if last:
        if count > last * JUMP and count - last > JUMP_FLOOR:
            return f"是上次（{last:,}）的 {count / last:.0f} 倍"
        if count * JUMP < last and last - count > JUMP_FLOOR:
            return f"比上次（{last:,}）少了 {(last - count) / last:.0%}"
        return None
    if target and count > target * JUMP:
        return f"是第一次报送，已是本单位粉丝目标（{wan(target)}）的 {count / target:.0f} 倍"
    return None


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

    @property
    def scope(self) -> str:
        return f"{self.platform or '全部平台'} · {self.category or '全部类别'}"

    def by_count(self, limit: int | None = None) -> list[Standing]:
        return _ranked(self.counts, limit)

    def by_growth(self, limit: int | None = None) -> list[Standing]:
        return _ranked(self.growths, limit)

    @cached_property
    def count_by_unit(self) -> dict[int, int]:
        """Unit id → its count: built once per ranking (a cached ranking is read by every asker's picture)."""
        return {uid: -neg for neg, _, uid, _ in self.counts}

    @cached_property
    def growth_by_unit(self) -> dict[int, int]:
        return {uid: -neg for neg, _, uid, _ in self.growths}

    def count_of(self, unit_id: int) -> Standing | None:
        """The unit's place by count, as in `by_count()`, without ordering the whole list."""
        return _standing(self.counts, unit_id)

    def growth_of(self, unit_id: int) -> Standing | None:
        """The unit's place by growth, as in `by_growth()`."""
        return _standing(self.growths, unit_id)


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


def _standing(values: list[tuple[int, str, int, Unit]], unit_id: int) -> Standing | None:
    """The unit's Standing in `_ranked(values)`: its rank is 1 + the number of higher values."""
    own = next((v for v in values if v[2] == unit_id), None)
    if own is None:
        return None
    return Standing(1 + sum(1 for v in values if v[0] < own[0]), own[3], -own[0])


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _account(r: Any) -> Account:
    return Account(r["id"], r["unit_id"], r["platform"], r["name"], r["uid"], r["opened_on"], r["state"])


_LATEST = "(SELECT r.day || ' ' || r.count FROM follower_reports r WHERE r.account_id=a.id ORDER BY r.day DESC LIMIT 1)"


def _split_latest(text: str | None) -> tuple[int, date] | None:
    """`'2026-03-16 12345'` (from _LATEST) → (12345, date)."""
    if not text:
        return None
    day, _, count = text.partition(" ")
    return int(count), date.fromisoformat(day)
