"""Rankings and the targets overview (a part of Followers), with their cache: results are kept until a report here (patched in place) or a change of units or accounts (their change callbacks, or another process's commit)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from bot import clock
from bot.accounts import Account
from bot.db import Database, Tx
from bot.followers.periods import Period, month_period
from bot.followers.records import (
    LIVE_STATES_SQL,
    Ranking,
    log,
)
from bot.followers.scoped import ranking_within
from bot.followers.targets import CategoryTarget, Target, target_for
from bot.roles import Scope
from bot.units.records import Unit
from bot.units.service import Units

_READ = ("accounts", "units", "targets")  # kept data every view is derived from (the rest is rebuilt from it)


class Rankings:
    """Rankings and the targets overview (a part of Followers), with their cache: results are kept until a report here (patched in place) or a change of units or accounts (their change callbacks, or another process's commit)."""

    def __init__(
        self, db: Database, units: Units, targets: dict[str, CategoryTarget], populous: frozenset[str]
    ) -> None:
        self.db = db
        self.units = units
        self.targets = targets  # the category targets and the populous cities: a unit's target (targets.target_for)
        self.populous = populous
        self._version = 0  # reports recorded by this process
        self._epoch = 0  # changes elsewhere that may move a ranking (units, accounts, another process's writes)
        self._data_version: int | None = None  # the database's data_version when last looked at
        self._mark: tuple | None = None
        self._cache: dict[tuple, Any] = {}
        self._flights: dict[tuple, asyncio.Future] = {}  # rows being read, by (key, mark): askers meanwhile wait

    async def overview(self, category: str | None = None) -> list[tuple[Unit, int | None, Target]]:
        """Every unit (of a category) with its total today (None: never reported) and its target."""
        period = self._this_month()
        key = ("overview", category, period)
        mark = await self._check()
        if (cached := self._cache.get(key)) is not None:
            return cached
        totals = {uid: total for uid, (total, _) in (await self._unit_rows(mark, None, period)).items()}
        units = await self._units(mark)
        if (cached := self._cache.get(key)) is not None:
            return cached  # built meanwhile by another asker
        targets = self._cache.get(("targets",))
        if targets is None:
            targets = {uid: target_for(u, self.targets, self.populous) for uid, u in units.items()}
            self._store(mark, ("targets",), targets)
        out = [(u, totals.get(uid), targets[uid]) for uid, u in units.items() if category in (None, u.category)]
        self._store(mark, key, out)
        return out

    def _this_month(self) -> Period:
        today = clock.now().date()
        return month_period(today.year, today.month, today, f"本月（{today.month}月）")

    async def ranking(
        self,
        platform: str | None = None,
        category: str | None = None,
        period: Period | None = None,
        scope: Scope | None = None,
    ) -> Ranking:
        """Units by their count at the end of the period and by their growth over it (a city admin's `scope`: the
        units of their area only)."""
        if scope is not None and not scope.everything:
            whole = await self.ranking(platform, category, period)
            units = [u for u in await self.units.by_ids(sorted(scope.unit_ids)) if category in (None, u.category)]
            return ranking_within(whole, scope, len(units))
        period = period or self._this_month()
        key = ("ranking", platform, category, period)
        mark = await self._check()
        if (cached := self._cache.get(key)) is not None:
            return cached
        rows = await self._unit_rows(mark, platform, period)
        units = await self._units(mark)
        if (cached := self._cache.get(key)) is not None:
            return cached  # another asker, waiting for the same rows, built it first: one ranking (and picture) for all
        if category is not None:
            units = {uid: u for uid, u in units.items() if u.category == category}
        out = Ranking(platform, category, period, units_in_scope=len(units))
        for uid, (total, growth) in rows.items():
            u = units.get(uid)
            if u is not None:
                out.counts.append((-total, u.name, uid, u))
                if growth is not None:
                    out.growths.append((-growth, u.name, uid, u))
        self._store(mark, key, out)
        return out

    async def _unit_rows(self, mark: tuple, platform: str | None, period: Period) -> dict[int, list]:
        """Unit id → [count at the end of the period, growth over it or None], for every unit ever reported (on
        `platform`, or on all): summed in memory from the period's accounts (`_accounts`), read once for every
        platform and category asked about the period."""
        key = ("rows", platform, period.start, period.end)
        if (cached := self._cache.get(key)) is not None:
            return cached
        accounts = await self._accounts(mark, period)
        if (cached := self._cache.get(key)) is not None:
            return cached  # summed meanwhile by another asker
        rows: dict[int, list] = {}
        for unit_id, on, count, growth in accounts.values():
            if platform is not None and on != platform:
                continue
            entry = rows.get(unit_id)
            if entry is None:
                rows[unit_id] = [count, growth]
            else:
                entry[0] += count
                if growth is not None:
                    entry[1] = (entry[1] or 0) + growth
        self._store(mark, key, rows)
        return rows

    async def _accounts(self, mark: tuple, period: Period) -> dict[int, tuple]:
        """Account id → (unit id, platform, count at the end of the period, growth over it or None), for every live
        account reported by then: one read per period and data version, shared by all its views (each platform,
        each category, the targets overview)."""
        key = ("accounts", period.start, period.end)
        if (cached := self._cache.get(key)) is not None:
            return cached
        # askers who come while the accounts are being read wait for that read (20 askers of a view not read yet
        # used to read the year of reports 20 times over, one after another); a waiter going away does not stop it
        flight = (key, mark)
        if (reading := self._flights.get(flight)) is None:
            reading = self._flights[flight] = asyncio.ensure_future(self._read_accounts(mark, key, period))
            reading.add_done_callback(lambda _: self._flights.pop(flight, None))
        return await asyncio.shield(reading)

    async def _read_accounts(self, mark: tuple, key: tuple, period: Period) -> dict[int, tuple]:
        """One pass over the live accounts: an account reported in the period's month reads its `follower_monthly`
        row, any other its latest count before the month (both by primary key: one seek each)."""
        async with self.db.read() as tx:
            found = await tx.tuples(
                f"SELECT a.id, a.unit_id, a.platform, m.last_count, "
                f"m.last_count - COALESCE(m.prev_count, m.first_count), "
                f"CASE WHEN m.account_id IS NULL THEN (SELECT r.count FROM follower_reports r "
                f"WHERE r.account_id=a.id AND r.day<?2 ORDER BY r.day DESC LIMIT 1) END "
                f"FROM accounts a LEFT JOIN follower_monthly m ON m.month=?1 AND m.account_id=a.id "
                f"WHERE a.state IN {LIVE_STATES_SQL}",
                (period.start.isoformat()[:7], period.start.isoformat()),
            )
        accounts: dict[int, tuple] = {}
        for account_id, unit_id, platform, last, growth, before in found:
            if last is not None:
                accounts[account_id] = (unit_id, platform, last, growth)
            elif before is not None:
                accounts[account_id] = (unit_id, platform, before, None)
        self._store(mark, key, accounts)
        return accounts

    async def _units(self, mark: tuple) -> dict[int, Unit]:
        """The live units by id."""
        units = self._cache.get(("units",))
        if units is None:
            units = {u.id: u for u in await self.units.all()}
            self._store(mark, ("units",), units)
        return units

    def changed(self) -> None:
        """Units or accounts changed (their change callbacks): the next ask computes afresh."""
        self._epoch += 1

    async def before_report(self, tx: Tx) -> tuple:
        """The mark a report about to be written in `tx` passes back to `reported` (looked at in the report's own
        transaction, so a commit by another connection since the cache was filled is noticed)."""
        await self._look(tx)
        return (self._version, self._epoch)

    async def _look(self, tx: Tx) -> None:
        """Start a new epoch if another connection committed since the last look."""
        version = tx.tiny_value("PRAGMA data_version")  # on the event loop's thread: no trip before every ask
        if version != self._data_version:
            self._epoch += 1
            self._data_version = version

    async def _check(self) -> tuple:
        """Empty the cache if anything changed since it was filled; returns the current mark."""
        async with self.db.read() as tx:
            await self._look(tx)
        mark = (self._version, self._epoch)
        if self._mark != mark:
            self._cache.clear()
            self._mark = mark
        return mark

    def _store(self, mark: tuple, key: tuple, value: Any) -> None:
        if self._mark != mark:
            return
        if len(self._cache) > 64:  # many views asked: drop what is derived first, the data read last
            for k in [k for k in self._cache if k[0] not in _READ]:
                del self._cache[k]
            if len(self._cache) > 64:
                self._cache.clear()
        self._cache[key] = value

    def reported(
        self,
        mark: tuple,
        account: Account,
        today: date,
        count: int,
        total_delta: int,
        old_growth: int | None,
        new_growth: int,
    ) -> None:
        """A count was reported for today: bring this month's kept accounts and per-unit rows up to date in place
        (past months cannot change), so the next ranking does not have to read every account again."""
        self._version += 1
        if self._mark != mark:
            return  # something else changed since the cache was filled: recompute
        month_start = today.replace(day=1)
        for key in list(self._cache):
            if key[0] not in ("accounts", "rows", "units", "targets"):
                del self._cache[key]  # rankings and overviews are rebuilt from the rows
            elif key[0] == "accounts" and key[1:] == (month_start, today):
                self._cache[key][account.id] = (account.unit_id, account.platform, count, new_growth)
            elif key[0] == "rows" and key[2:] == (month_start, today) and key[1] in (None, account.platform):
                entry = self._cache[key].setdefault(account.unit_id, [0, None])
                entry[0] += total_delta
                entry[1] = (entry[1] or 0) + new_growth - (old_growth or 0)
        self._mark = (self._version, self._epoch)

    async def warm(self) -> None:
        """Compute this month's and last month's rankings and the targets overview once, so the first
        `/粉丝 排行` or `/粉丝 目标` after a start does not wait for a scan of the whole history."""
        today = clock.now().date()
        prev = today.replace(day=1) - timedelta(days=1)
        try:
            await self.ranking()
            await self.ranking(period=month_period(prev.year, prev.month, today, f"上月（{prev.month}月）"))
            await self.overview()
        except Exception:
            log.exception("warming the follower rankings failed (they will be computed on first use)")
