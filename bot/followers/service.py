"""Follower counts, the service: self-reports, targets and progress; rankings, post dates and the monthly reminder are its parts (ranking.py, post_dates.py, reminder.py), and own_accounts.py says which account a command names."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from bot import clock
from bot.accounts import MediaAccounts
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import UserError
from bot.followers.own_accounts import OwnAccounts
from bot.followers.post_dates import PostWatch
from bot.followers.ranking import Rankings
from bot.followers.records import (
    CONFIRM_WINDOW,
    LATEST_REPORT_SQL,
    LIVE_STATES_SQL,
    NeedsConfirmation,
    Reported,
    TargetProgress,
    Trend,
    account_from_row,
    implausible,
    split_latest_report,
)
from bot.followers.reminder import MonthlyReminder
from bot.followers.targets import (
    DEFAULT_TARGETS,
    CategoryTarget,
    Target,
    parse_reminder_time,
    parse_targets,
    target_for,
)
from bot.parse import parse_count
from bot.reminders import Reminders
from bot.units.authority import Authority
from bot.units.records import Unit
from bot.units.service import Units
from bot.units.tree import city_key

if TYPE_CHECKING:
    from bot.config import Settings


class Followers:
    """Follower reports, targets and progress.

    Its parts: `own` (the operator's unit and the account a command names), `rankings` (rankings and the targets
    overview, kept until the data changes), `watch` (post dates and the 僵尸号 watch) and `reminder` (the monthly
    reminder).
    """

    def __init__(
        self, db: Database, units: Units, accounts: MediaAccounts, reminders: Reminders, settings: Settings
    ) -> None:
        self.db = db
        self.targets: dict[str, CategoryTarget] = {
            **DEFAULT_TARGETS,
            **parse_targets(settings.alliance_follower_targets),
        }
        self.populous = frozenset(city_key(c) for c in settings.alliance_populous_cities)
        remind_at = parse_reminder_time(settings.alliance_follower_reminder)
        self.own = OwnAccounts(Authority(units, settings.admins), accounts)
        self.rankings = Rankings(db, units, self.targets, self.populous)
        self.reminder = MonthlyReminder(db, units, reminders, settings, remind_at)
        self.watch = PostWatch(db, units, self.own, reminders, settings, at=remind_at or time(9, 0))
        self._unconfirmed: dict[str, tuple[list[str], str, datetime]] = {}  # user → (words, count, asked at)
        # a change of units or accounts may move a ranking
        units.on_change.append(self.rankings.changed)
        accounts.on_change.append(self.rankings.changed)

    # ------------------------------------------------------------ helpers

    def target(self, unit: Unit) -> Target:
        return target_for(unit, self.targets, self.populous)

    @staticmethod
    async def _latest(tx: Tx, account_ids: list[int]) -> dict[int, tuple[int, date]]:
        """Account id → (latest count, its day) for a few accounts."""
        if not account_ids:
            return {}
        rows = await tx.all(
            f"SELECT a.id, {LATEST_REPORT_SQL} AS latest FROM accounts a WHERE a.id IN ({','.join('?' * len(account_ids))})",
            account_ids,
        )
        return {r["id"]: split_latest_report(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

    # ------------------------------------------------------------ reports

    async def confirm(self, user_id: str) -> Reported:
        """Record the report this person was asked to confirm (within 30 minutes)."""
        pending = self._unconfirmed.pop(str(user_id), None)
        if pending is None or clock.now() - pending[2] > CONFIRM_WINDOW:
            raise UserError("没有等你确认的粉丝数（超过 30 分钟需要重新报送）。报送请发：/粉丝 <平台或账号名称> <数量>")
        return await self.report(user_id, pending[0], pending[1], confirmed=True)

    def awaiting(self, user_id: str) -> bool:
        """Whether this person was asked, within the last 30 minutes, to confirm a count."""
        pending = self._unconfirmed.get(str(user_id))
        return pending is not None and clock.now() - pending[2] <= CONFIRM_WINDOW

    async def report(self, user_id: str, words: list[str], count_text: str, *, confirmed: bool = False) -> Reported:
        """Record today's follower count of one of the operator's unit's accounts (a same-day report replaces it).

        A count far from the last reports (see `implausible`) is recorded only with `confirmed`; otherwise
        NeedsConfirmation is raised, nothing is stored and the report is kept for `confirm` (a new report replaces it).

        Raises:
            UserError: not an operator, a bad count, an account that is not the unit's or is ambiguous.
        """
        try:
            count = parse_count(count_text)
        except UserError:
            raise UserError(
                f"“{count_text}”不是粉丝数。请写成 12345、12,345、1.2万、12.3w、3千 或 120万+，如：/粉丝 微信 1.2万"
            ) from None
        unit = await self.own.unit_of(user_id, "报送粉丝数")
        self._unconfirmed.pop(str(user_id), None)  # a new report replaces the one waiting for a confirmation
        account = await self.own.named(
            unit, words, "/粉丝 <账号> 12345", "请写出平台或账号名称，如：/粉丝 微信 12345、/粉丝 抖音 1.2万"
        )
        today = clock.now().date()
        day = today.isoformat()
        month = day[:7]
        async with self.db.tx() as tx:
            mark = await self.rankings.before_report(tx)
            earlier = await tx.all(
                "SELECT count, day FROM follower_reports WHERE account_id=? AND day<? ORDER BY day DESC LIMIT 2",
                (account.id, day),
            )
            prev = earlier[0] if earlier else None
            same = await tx.value("SELECT count FROM follower_reports WHERE account_id=? AND day=?", (account.id, day))
            # compared with the reports before today (a same-day correction too); with none, with the one it replaces
            trend = Trend.of([(r["count"], date.fromisoformat(r["day"])) for r in earlier])
            why = None if confirmed else implausible(count, trend, self.target(unit).amount, replaced=same, today=today)
            if why is not None:
                self._unconfirmed[str(user_id)] = (list(words), count_text, clock.now())
                raise NeedsConfirmation(
                    f"还没有记录：{unit.name} {account.platform}“{account.name}”粉丝 {count:,}，{why}。"
                    f"如果没写错，请回复“确认”（或发 /粉丝 确认）；写错了请重新发 /粉丝 {account.platform} <正确数量>。"
                )
            row = await tx.one(
                "SELECT first_day, first_count, last_count, prev_count FROM follower_monthly WHERE month=? AND account_id=?",
                (month, account.id),
            )
            if row is None:
                before = prev["count"] if prev is not None and prev["day"] < f"{month}-01" else None
                first = count
            else:
                before = row["prev_count"]
                first = count if row["first_day"] == day else row["first_count"]
            await tx.run(
                "INSERT INTO follower_reports (account_id, day, count, reported_by, reported_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (account_id, day) DO UPDATE SET count=excluded.count, reported_by=excluded.reported_by, "
                "reported_at=excluded.reported_at",
                (account.id, day, count, str(user_id), clock.now_db()),
            )
            await tx.run(
                "INSERT INTO follower_monthly (month, account_id, first_day, first_count, last_day, last_count, "
                "prev_count) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (month, account_id) DO UPDATE SET "
                "first_count=?4, last_day=excluded.last_day, last_count=excluded.last_count",
                (month, account.id, day, first, day, count, before),
            )
            if same is not None:
                await audit(
                    tx, user_id, "粉丝数更正", f"{account.platform}“{account.name}” {day}：{same} → {count}", unit.id
                )
            accounts = [
                account_from_row(r)
                for r in await tx.all(
                    f"SELECT * FROM accounts WHERE unit_id=? AND state IN {LIVE_STATES_SQL} ORDER BY platform, name",
                    (unit.id,),
                )
            ]
            latest = await self._latest(tx, [a.id for a in accounts])
        old_total = same if same is not None else (prev["count"] if prev is not None else None)
        old_growth = (
            None
            if row is None
            else row["last_count"] - (row["prev_count"] if row["prev_count"] is not None else row["first_count"])
        )
        new_growth = count - (before if before is not None else first)
        self.rankings.reported(mark, account, today, count, count - (old_total or 0), old_growth, new_growth)
        month_start = today.replace(day=1)
        return Reported(
            unit=unit,
            account=account,
            count=count,
            day=today,
            previous=(prev["count"], date.fromisoformat(prev["day"])) if prev else None,
            replaced=same,
            total=sum(c for c, _ in latest.values()),
            target=self.target(unit),
            unreported=[a for a in accounts if a.id not in latest or latest[a.id][1] < month_start],
        )

    async def latest_for_unit(self, unit_id: int) -> dict[int, tuple[int, date]]:
        """Account id → (latest count, the day it was reported), for every account of the unit ever reported."""
        async with self.db.read() as tx:
            rows = await tx.all(
                f"SELECT a.id, {LATEST_REPORT_SQL} AS latest FROM accounts a WHERE a.unit_id=?", (unit_id,)
            )
        return {r["id"]: split_latest_report(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

    async def latest_all(self) -> dict[int, tuple[int, date]]:
        """Account id → (latest count, the day it was reported), for every account ever reported."""
        async with self.db.read() as tx:
            rows = await tx.all(f"SELECT a.id, {LATEST_REPORT_SQL} AS latest FROM accounts a")
        return {r["id"]: split_latest_report(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

    async def last_posts(self) -> dict[int, str]:
        """Account id → the day of its latest post reported (ISO), for every account with one."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT account_id, MAX(day) AS day FROM post_reports GROUP BY account_id")
        return {r["account_id"]: r["day"] for r in rows}

    # ------------------------------------------------------------ targets

    async def progress(self, unit: Unit) -> TargetProgress:
        """A unit's total (sum of its live accounts' latest counts) against its target."""
        async with self.db.read() as tx:
            found = await tx.all(
                f"SELECT a.*, {LATEST_REPORT_SQL} AS latest FROM accounts a WHERE a.unit_id=? AND a.state IN {LIVE_STATES_SQL} "
                "ORDER BY a.platform, a.name",
                (unit.id,),
            )
        rows = [(account_from_row(r), *(split_latest_report(r["latest"]) or (None, None))) for r in found]
        return TargetProgress(unit, self.target(unit), sum(c or 0 for _, c, _ in rows), rows)
