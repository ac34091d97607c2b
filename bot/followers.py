"""Follower counts (SPEC §7): self-reports, targets, rankings of units, the 僵尸号 watch and the monthly reminder.

Decisions where the spec is silent:
- a unit's count is the sum of the latest reported counts of its live accounts (正常 or 待审核), per platform
  when a platform is asked for; the category target applies to that total (all platforms together);
- a report is for today; one per account and day counts, a second one the same day replaces it (the replaced
  value goes to the audit log);
- growth over a period is, per account reported in the period, its last count in the period minus its last
  count before the period (or, for an account first reported in the period, its first count in it);
- the monthly reminder goes out on the first working day (Monday–Friday; public holidays are not known) at
  ALLIANCE_FOLLOWER_REMINDER to the operators of units with live accounts and no report yet that month.
"""

from __future__ import annotations

import heapq
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from bot import clock
from bot.accounts import Account, Accounts
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import Ambiguous, Forbidden, NotFound, UserError
from bot.nudge import Outgoing, nudge_messages
from bot.parse import (
    CATEGORY_GROUPS,
    category_or_none,
    clean_text,
    parse_category,
    parse_count,
    parse_date,
    platform_or_none,
    read_month,
)
from bot.reminders import Reminder, Reminders
from bot.render import Msg
from bot.targets import (
    DEFAULT_TARGETS,
    CategoryTarget,
    Target,
    _city,
    parse_reminder_time,
    parse_targets,
    target_for,
    wan,
)
from bot.units import Unit, Units

if TYPE_CHECKING:
    from bot.config import Settings


log = logging.getLogger("alliance.followers")
KIND = "followers"
STALE_KIND = "stale_watch"  # the daily check for accounts past the warning line (task id: yyyymmdd)
LABEL = "monthly"
LIVE = ("正常", "待审核")
_LIVE_SQL = "('正常', '待审核')"


# ---------------------------------------------------------------- numbers


def show_day(d: date, today: date | None = None) -> str:
    today = today or clock.now().date()
    return f"{d.month}月{d.day}日" if d.year == today.year else f"{d.year}年{d.month}月{d.day}日"


# ---------------------------------------------------------------- targets


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


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A calendar month, cut at today when it is the current one."""

    start: date
    end: date
    label: str


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month_period(year: int, month: int, today: date, label: str | None = None) -> Period:
    start = date(year, month, 1)
    if start > today:
        raise UserError(f"{year}年{month}月还没到，请选本月、上月或以前的月份。")
    end = min(_month_end(start), today)
    name = f"{month}月" if year == today.year else f"{year}年{month}月"
    return Period(start, end, label or name)


def parse_period(text: str, today: date) -> Period | None:
    """`本月`, `上月`, `3月`, `2026-03`, `2026年3月`; None when `text` is no period."""
    found = read_month(text, today, bare=False)
    if found is None:
        return None
    year, month, how = found
    return month_period(year, month, today, f"{how}（{month}月）" if how else None)


RANKING_USAGE = "用法：/粉丝 排行 [平台] [类别] [本月/上月]，如：/粉丝 排行、/粉丝 排行 抖音 本科高校 上月"


def parse_ranking_args(args: list[str], today: date) -> tuple[str | None, str | None, Period]:
    """Platform, category and period from the words after /粉丝 排行, in any order."""
    platform = category = None
    period = None
    for a in args:
        if (p := platform_or_none(a)) is not None and platform is None:
            platform = p
        elif (c := category_or_none(a)) is not None and category is None:
            category = c
        elif period is None and (per := parse_period(a, today)) is not None:
            period = per
        elif a in ("全部", "所有", "全部平台", "全部类别"):
            continue
        elif a in CATEGORY_GROUPS:  # 高校 = 本科高校 + 高职高专: ask which, never guess
            parse_category(a)
        else:
            raise UserError(f"看不懂“{a}”。{RANKING_USAGE}。平台如 微信、抖音；类别如 本科高校、高职高专、市教育局。")
    if period is None:
        period = month_period(today.year, today.month, today, f"本月（{today.month}月）")
    return platform, category, period


# ---------------------------------------------------------------- monthly reminder dates


def first_working_day(year: int, month: int) -> date:
    """The first Monday–Friday of a month (public holidays are not known)."""
    d = date(year, month, 1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def monthly_due(year: int, month: int, at: time) -> datetime:
    return datetime.combine(first_working_day(year, month), at, tzinfo=clock.tz())


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def next_due(now: datetime, at: time) -> tuple[int, datetime]:
    """The next monthly reminder strictly after `now`: (yyyymm, due)."""
    year, month = now.year, now.month
    due = monthly_due(year, month, at)
    if due <= now:
        year, month = _next_month(year, month)
        due = monthly_due(year, month, at)
    return year * 100 + month, due


# ---------------------------------------------------------------- results


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


_DATEISH = re.compile(r"^(?:\d{8}|(?:\d{4}[-/.年])?\d{1,2}[-/.月]\d{1,2}[日号]?|今天|今日|昨天|昨日|前天)$")


def looks_like_date(text: str) -> bool:
    return bool(_DATEISH.match(clean_text(text)))


# ---------------------------------------------------------------- the service


class Followers:
    """Follower reports, targets, rankings, post dates and the monthly reminder."""

    def __init__(
        self, db: Database, units: Units, accounts: Accounts, reminders: Reminders, settings: Settings
    ) -> None:
        self.db = db
        self.units = units
        self.accounts = accounts
        self.reminders = reminders
        self.settings = settings
        self.targets: dict[str, CategoryTarget] = {
            **DEFAULT_TARGETS,
            **parse_targets(settings.alliance_follower_targets),
        }
        self.populous = frozenset(_city(c) for c in settings.alliance_populous_cities)
        self.remind_at = parse_reminder_time(settings.alliance_follower_reminder)
        self.stale_days: int = settings.alliance_stale_days
        self._unconfirmed: dict[str, tuple[list[str], str, datetime]] = {}  # user → (words, count, asked at)
        self._version = 0  # reports recorded by this process
        self._epoch = 0  # changes elsewhere that may move a ranking (units, accounts, another process's writes)
        self._data_version: int | None = None  # the database's data_version when last looked at
        self._mark: tuple | None = None
        self._cache: dict[tuple, Any] = {}
        self.watch_at = self.remind_at or time(9, 0)
        units.on_change.append(self._changed)
        accounts.on_change.append(self._changed)
        reminders.register(KIND, self._remind)
        reminders.register(STALE_KIND, self._warn_stale)

    # ------------------------------------------------------------ helpers

    def target(self, unit: Unit) -> Target:
        return target_for(unit, self.targets, self.populous)

    async def _operator_unit(self, user_id: str, what: str) -> Unit:
        bound = await self.units.operator(user_id)
        if bound is None:
            raise UserError(f"你还没有绑定单位，不能{what}。请先发 /注册 <单位名称>，等管理员审核通过。")
        return bound[1]

    async def _pick(self, unit: Unit, words: list[str], example: str) -> Account:
        """The account of `unit` named by 1–2 words: a platform, an account name, or both.

        Raises:
            Ambiguous: several accounts fit (two on one platform, one name on two platforms).
            Forbidden: the name is another unit's account.
            NotFound: no account fits.
        """
        accounts = await self.accounts.of_unit(unit.id)
        if not accounts:
            raise UserError(
                f"“{unit.name}”还没有登记账号。请先 /账号 登记 <平台> <账号名称>，如：/账号 登记 微信 {unit.name}。"
            )
        words = [clean_text(w) for w in words if clean_text(w)]
        if not words or len(words) > 2:
            raise UserError(f"请写出平台或账号名称，如：{example}。账号名称含空格请加引号。")
        platform, name = None, words[-1]
        if len(words) == 2:
            platform = platform_or_none(words[0])
            if platform is None and (p2 := platform_or_none(words[1])) is not None:
                platform, name = p2, words[0]
            if platform is None:
                raise UserError(f"“{words[0]}”不是平台。请写成 <平台> <账号名称>，如：{example}。")
        pool = [a for a in accounts if platform is None or a.platform == platform]
        exact = [a for a in pool if a.name.lower() == name.lower()]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise Ambiguous(
                f"本单位有 {len(exact)} 个账号叫“{name}”（{'、'.join(a.platform for a in exact)}），"
                f"请在名称前写出平台，如：{example.replace('<账号>', f'{exact[0].platform} {name}')}。",
                [f"{a.platform} {a.name}" for a in exact],
            )
        if platform is None and (p := platform_or_none(name)) is not None:
            on = [a for a in accounts if a.platform == p]
            if len(on) == 1:
                return on[0]
            if len(on) > 1:
                names = "、".join(f"“{a.name}”" for a in on)
                raise Ambiguous(
                    f"本单位有 {len(on)} 个{p}账号：{names}，请写出是哪一个，"
                    f"如：{example.replace('<账号>', f'{p} {on[0].name}')}。",
                    [a.name for a in on],
                )
            raise NotFound(
                f"本单位还没有{p}账号。已登记的：{'、'.join(f'{a.platform}“{a.name}”' for a in accounts)}。"
                f"新账号请先 /账号 登记 {p} <账号名称>。"
            )
        part = [a for a in pool if name.lower() in a.name.lower()]
        if len(part) == 1:
            return part[0]
        if len(part) > 1:
            raise Ambiguous(
                f"“{name}”可能指：{'、'.join(f'{a.platform}“{a.name}”' for a in part)}。请写出完整的平台和名称，"
                f"如：{example.replace('<账号>', f'{part[0].platform} {part[0].name}')}。",
                [f"{a.platform} {a.name}" for a in part],
            )
        await self._refuse_foreign(unit, platform, name)
        listing = "、".join(f"{a.platform}“{a.name}”" for a in accounts)
        raise NotFound(f"本单位没有{platform or ''}账号“{name}”。本单位的账号有：{listing}。")

    async def _refuse_foreign(self, unit: Unit, platform: str | None, name: str) -> None:
        async with self.db.read() as tx:
            row = await tx.one(
                f"SELECT a.platform, u.name AS unit_name FROM accounts a JOIN units u ON u.id=a.unit_id "
                f"WHERE lower(a.name)=lower(?) AND a.unit_id<>? AND a.state IN {_LIVE_SQL} "
                f"AND u.deleted_at IS NULL AND (? IS NULL OR a.platform=?) LIMIT 1",
                (name, unit.id, platform, platform),
            )
        if row is not None:
            raise Forbidden(
                f"{row['platform']}“{name}”是“{row['unit_name']}”的账号，不是本单位（{unit.name}）的。"
                f"联络员只能为本单位的账号报送，发 /账号 列表 查看本单位的账号。"
            )

    @staticmethod
    async def _latest(tx: Tx, account_ids: list[int]) -> dict[int, tuple[int, date]]:
        """Account id → (latest count, its day) for a few accounts."""
        if not account_ids:
            return {}
        rows = await tx.all(
            f"SELECT a.id, {_LATEST} AS latest FROM accounts a WHERE a.id IN ({','.join('?' * len(account_ids))})",
            account_ids,
        )
        return {r["id"]: _split_latest(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

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

        A count far from the last report (see `implausible`) is recorded only with `confirmed`; otherwise
        NeedsConfirmation is raised and the report is kept for `confirm`.

        Raises:
            UserError: not an operator, a bad count, an account that is not the unit's or is ambiguous.
        """
        try:
            count = parse_count(count_text)
        except UserError:
            raise UserError(
                f"“{count_text}”不是粉丝数。请写成 12345、12,345、1.2万、12.3w、3千 或 120万+，如：/粉丝 微信 1.2万"
            ) from None
        unit = await self._operator_unit(user_id, "报送粉丝数")
        if not words:
            accounts = await self.accounts.of_unit(unit.id)
            if len(accounts) != 1:
                raise UserError("请写出平台或账号名称，如：/粉丝 微信 12345、/粉丝 抖音 1.2万")
            account = accounts[0]
        else:
            account = await self._pick(unit, words, "/粉丝 <账号> 12345")
        today = clock.now().date()
        day = today.isoformat()
        month = day[:7]
        async with self.db.tx() as tx:
            await self._look(tx)
            mark = (self._version, self._epoch)
            prev = await tx.one(
                "SELECT count, day FROM follower_reports WHERE account_id=? AND day<? ORDER BY day DESC LIMIT 1",
                (account.id, day),
            )
            same = await tx.value("SELECT count FROM follower_reports WHERE account_id=? AND day=?", (account.id, day))
            # compared with the last day reported before today: a same-day correction is checked as the report it replaces
            last = prev["count"] if prev is not None else None
            why = None if confirmed else implausible(count, last, self.target(unit).amount)
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
                _account(r)
                for r in await tx.all(
                    f"SELECT * FROM accounts WHERE unit_id=? AND state IN {_LIVE_SQL} ORDER BY platform, name",
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
        self._reported(mark, unit.id, account.platform, today, count - (old_total or 0), old_growth, new_growth)
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
            rows = await tx.all(f"SELECT a.id, {_LATEST} AS latest FROM accounts a WHERE a.unit_id=?", (unit_id,))
        return {r["id"]: _split_latest(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

    async def latest_all(self) -> dict[int, tuple[int, date]]:
        """Account id → (latest count, the day it was reported), for every account ever reported."""
        async with self.db.read() as tx:
            rows = await tx.all(f"SELECT a.id, {_LATEST} AS latest FROM accounts a")
        return {r["id"]: _split_latest(r["latest"]) for r in rows if r["latest"]}  # type: ignore[misc]

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
                f"SELECT a.*, {_LATEST} AS latest FROM accounts a WHERE a.unit_id=? AND a.state IN {_LIVE_SQL} "
                "ORDER BY a.platform, a.name",
                (unit.id,),
            )
        rows = [(_account(r), *(_split_latest(r["latest"]) or (None, None))) for r in found]
        return TargetProgress(unit, self.target(unit), sum(c or 0 for _, c, _ in rows), rows)

    async def overview(self, category: str | None = None) -> list[tuple[Unit, int | None, Target]]:
        """Every unit (of a category) with its total today (None: never reported) and its target."""
        period = self._this_month()
        key = ("overview", category, period)
        mark = await self._check()
        if (cached := self._cache.get(key)) is not None:
            return cached
        totals = {uid: total for uid, (total, _) in (await self._unit_rows(mark, None, period)).items()}
        units = await self._units(mark)
        targets = self._cache.get(("targets",))
        if targets is None:
            targets = {uid: self.target(u) for uid, u in units.items()}
            self._store(mark, ("targets",), targets)
        out = [(u, totals.get(uid), targets[uid]) for uid, u in units.items() if category in (None, u.category)]
        self._store(mark, key, out)
        return out

    def _this_month(self) -> Period:
        today = clock.now().date()
        return month_period(today.year, today.month, today, f"本月（{today.month}月）")

    # ------------------------------------------------------------ rankings

    async def ranking(
        self, platform: str | None = None, category: str | None = None, period: Period | None = None
    ) -> Ranking:
        """Units by their count at the end of the period and by their growth over it."""
        period = period or self._this_month()
        key = ("ranking", platform, category, period)
        mark = await self._check()
        if (cached := self._cache.get(key)) is not None:
            return cached
        rows = await self._unit_rows(mark, platform, period)
        units = await self._units(mark)
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
        """Unit id → [count at the end of the period, growth over it or None], for every unit ever reported.

        Two statements: accounts reported in the month read their one `follower_monthly` row; the others
        (not reported in the month) look up their latest count before it.
        """
        key = ("rows", platform, period.start, period.end)
        if (cached := self._cache.get(key)) is not None:
            return cached
        month = period.start.isoformat()[:7]
        async with self.db.read() as tx:
            fresh = await tx.all(
                f"SELECT a.unit_id, SUM(m.last_count), SUM(m.last_count - COALESCE(m.prev_count, m.first_count)) "
                f"FROM follower_monthly m CROSS JOIN accounts a ON a.id=m.account_id "
                f"WHERE m.month=?1 AND a.state IN {_LIVE_SQL} AND (?2 IS NULL OR a.platform=?2) "
                f"GROUP BY a.unit_id",
                (month, platform),
            )
            older = await tx.all(
                f"SELECT unit_id, SUM(c) FROM (SELECT a.unit_id, (SELECT r.count FROM follower_reports r "
                f"WHERE r.account_id=a.id AND r.day<?3 ORDER BY r.day DESC LIMIT 1) AS c "
                f"FROM accounts a WHERE a.state IN {_LIVE_SQL} AND (?2 IS NULL OR a.platform=?2) "
                f"AND a.id NOT IN (SELECT account_id FROM follower_monthly WHERE month=?1)) "
                f"WHERE c IS NOT NULL GROUP BY unit_id",
                (month, platform, period.start.isoformat()),
            )
        rows: dict[int, list] = {r[0]: [r[1], r[2]] for r in fresh}
        for uid, total in older:
            rows.setdefault(uid, [0, None])[0] += total
        self._store(mark, key, rows)
        return rows

    async def _units(self, mark: tuple) -> dict[int, Unit]:
        """The live units by id."""
        units = self._cache.get(("units",))
        if units is None:
            units = {u.id: u for u in await self.units.all()}
            self._store(mark, ("units",), units)
        return units

    # The cache holds results computed since the last change: a report here (`_version`) or a change elsewhere
    # that may move a ranking (`_epoch`): Units and Accounts call `_changed` after theirs (registrations,
    # broadcasts and returns do not), and a commit by another process (the import-units command line) shows in
    # the database's data_version. A report patches the month's rows in place (`_reported`); anything else
    # empties the cache. A result is kept only if nothing changed while it was being computed.

    def _changed(self) -> None:
        self._epoch += 1

    async def _look(self, tx: Tx) -> None:
        """Start a new epoch if another connection committed since the last look."""
        version = await tx.value("PRAGMA data_version")
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
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[key] = value

    def _reported(
        self,
        mark: tuple,
        unit_id: int,
        platform: str,
        today: date,
        total_delta: int,
        old_growth: int | None,
        new_growth: int,
    ) -> None:
        """A count was reported for today: bring the cached per-unit rows of this month up to date in place
        (past months cannot change), so the next ranking does not have to read every account again."""
        self._version += 1
        if self._mark != mark:
            return  # something else changed since the cache was filled: recompute
        month_start = today.replace(day=1)
        for key in list(self._cache):
            if key[0] not in ("rows", "units", "targets"):
                del self._cache[key]  # rankings and overviews are rebuilt from the rows
            elif key[0] == "rows" and key[2:] == (month_start, today) and key[1] in (None, platform):
                entry = self._cache[key].setdefault(unit_id, [0, None])
                entry[0] += total_delta
                entry[1] = (entry[1] or 0) + new_growth - (old_growth or 0)
        self._mark = (self._version, self._epoch)

    # ------------------------------------------------------------ posts and 僵尸号

    async def mark_post(self, user_id: str, words: list[str], day_text: str = "") -> Posted:
        """Record the date of an account's latest post (default today).

        Raises:
            UserError: not an operator, a bad date, an account that is not the unit's.
        """
        unit = await self._operator_unit(user_id, "报告账号更新")
        today = clock.now().date()
        day = parse_date(day_text, today) if day_text.strip() else today
        if words:
            account = await self._pick(unit, words, "/更新 <账号> 今天")
        else:
            accounts = await self.accounts.of_unit(unit.id)
            if len(accounts) != 1:
                raise UserError("请写出平台或账号名称，如：/更新 微信、/更新 抖音 3月1日")
            account = accounts[0]
        async with self.db.tx() as tx:
            prev = await tx.value("SELECT MAX(day) FROM post_reports WHERE account_id=?", (account.id,))
            await tx.run(
                "INSERT INTO post_reports (account_id, day, reported_by, reported_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, day) DO UPDATE SET reported_by=excluded.reported_by, "
                "reported_at=excluded.reported_at",
                (account.id, day.isoformat(), str(user_id), clock.now_db()),
            )
        return Posted(unit, account, day, _day(prev))

    async def stale(self, days: int | None = None) -> Stale:
        """Live accounts by days without a post reported: 僵尸号 at `days` or more (ALLIANCE_STALE_DAYS), on the
        warning list from ALLIANCE_STALE_WARN_DAYS; and those with no follower count reported for `days`.

        A stretch without posts starts at the last post reported, or, for an account never reported, on the day
        it was registered with the bot.
        """
        # another number of days than the setting's asks for that list alone (no warning list)
        warn = min(self.settings.alliance_stale_warn_days, self.stale_days) if days is None else days
        days = self.stale_days if days is None else days
        async with self.db.read() as tx:
            found = await self._stale(tx, days, warn)
        units = {u.id: u for u in await self.units.by_ids(sorted({uid for uid, _, _ in found}))}
        out = Stale(days, clock.now().date() - timedelta(days=days), warn)
        lists: dict[str, dict[int, list[StaleAccount]]] = {"no_post": {}, "warning": {}, "no_count": {}}
        for uid, item, where in found:
            if uid in units:
                for name in where:
                    lists[name].setdefault(uid, []).append(item)
        for name, by_unit in lists.items():
            setattr(out, name, [(units[uid], items) for uid, items in by_unit.items()])
        return out

    async def _stale(self, tx: Tx, days: int, warn: int) -> list[tuple[int, StaleAccount, tuple[str, ...]]]:
        """(unit id, account, the lists it is on) for every live account on one of the `stale` lists."""
        today = clock.now().date()
        cutoff = today - timedelta(days=days)
        rows = await tx.all(
            f"""
            SELECT a.*,
                (SELECT MAX(p.day) FROM post_reports p WHERE p.account_id=a.id) AS last_post,
                {_LATEST} AS last_report
            FROM accounts a JOIN units u ON u.id=a.unit_id
            WHERE a.state IN {_LIVE_SQL} AND u.deleted_at IS NULL
            ORDER BY a.unit_id, a.platform, a.name
            """
        )
        out = []
        for r in rows:
            registered = clock.from_db(r["created_at"]).date()
            count, last_day = _split_latest(r["last_report"]) or (None, None)
            last_post = _day(r["last_post"])
            since = last_post or registered
            item = StaleAccount(_account(r), last_post, last_day, count, since, (today - since).days)
            where: list[str] = []
            if item.idle >= days:
                where.append("no_post")
            elif item.idle >= warn:
                where.append("warning")
            if registered <= cutoff and (last_day is None or last_day < cutoff):
                where.append("no_count")
            if where:
                out.append((r["unit_id"], item, tuple(where)))
        return out

    async def _warn_stale(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """Once a day: operators of accounts that passed the warning line get one private warning per account
        and stretch without posts (recorded in `stale_warnings` in the same transaction)."""
        now = clock.now()
        nxt = datetime.combine(now.date() + timedelta(days=1), self.watch_at, tzinfo=clock.tz())
        await self.reminders.schedule_at(tx, STALE_KIND, int(nxt.strftime("%Y%m%d")), LABEL, nxt)
        due: dict[int, list[StaleAccount]] = {}
        warn = min(self.settings.alliance_stale_warn_days, self.stale_days)
        for uid, item, where in await self._stale(tx, self.stale_days, warn):
            if "no_post" not in where and "warning" not in where:
                continue
            done = await tx.value(
                "SELECT 1 FROM stale_warnings WHERE account_id=? AND since=?", (item.account.id, item.since.isoformat())
            )
            if done is None:
                await tx.run(
                    "INSERT INTO stale_warnings (account_id, since, warned_at) VALUES (?, ?, ?)",
                    (item.account.id, item.since.isoformat(), clock.now_db()),
                )
                due.setdefault(uid, []).append(item)
        if not due:
            return []
        out: list[Outgoing] = []
        for op in await self.units.operators_owing(tx, list(due)):
            items = due[op.unit_id]
            lines = "；".join(
                f"{a.account.platform}“{a.account.name}”已 {a.idle} 天没有报告更新"
                + (f"（最后更新 {show_day(a.last_post)}）" if a.last_post else "（登记后还没有报告过更新）")
                for a in items
            )
            text = (
                f"联盟助手提醒：{lines}。按国办秘函〔2019〕19号，两周（{self.stale_days} 天）不更新即列为僵尸号。"
                f"发布内容后在群里发 /更新 {items[0].account.platform} 即可；已发布过的，发 /更新 <平台> <日期> 补报。"
            )
            out.append(("private", op.user_id, Msg(text)))
        return out

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

    # ------------------------------------------------------------ monthly reminder

    async def start(self) -> None:
        """Owe the next monthly reminder (or cancel them when ALLIANCE_FOLLOWER_REMINDER is empty).

        Reminders already owed and past due stay (they go out now); future ones are re-dated to the setting.
        """
        now = clock.now()
        async with self.db.tx() as tx:
            if self.remind_at is None:
                await self.reminders.cancel_kind(tx, KIND, "已关闭月度提醒")
                return
            await self.reminders.drop_future(tx, KIND, now)
            month, due = next_due(now, self.remind_at)
            await self.reminders.schedule_at(tx, KIND, month, LABEL, due)

    async def start_watch(self) -> None:
        """Owe the next daily check for accounts past the warning line (at the monthly reminder's time, else 09:00)."""
        now = clock.now()
        nxt = datetime.combine(now.date(), self.watch_at, tzinfo=clock.tz())
        if nxt <= now:
            nxt += timedelta(days=1)
        async with self.db.tx() as tx:
            await self.reminders.schedule_at(tx, STALE_KIND, int(nxt.strftime("%Y%m%d")), LABEL, nxt)

    async def _remind(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        """The monthly reminder: operators of units with live accounts and no report this month."""
        if self.remind_at is None:
            return []
        now = clock.now()
        current = now.year * 100 + now.month
        if rem.task_id != current and await self.reminders.is_pending(tx, KIND, current):
            return []  # a month missed while away; this month's own reminder is still owed
        year, month = _next_month(now.year, now.month)
        await self.reminders.schedule_at(tx, KIND, year * 100 + month, LABEL, monthly_due(year, month, self.remind_at))
        start = now.date().replace(day=1).isoformat()
        unit_ids = await tx.all(
            f"""
            SELECT u.id FROM units u
            WHERE u.deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM accounts a WHERE a.unit_id=u.id AND a.state IN {_LIVE_SQL})
              AND NOT EXISTS (SELECT 1 FROM accounts a JOIN follower_reports r ON r.account_id=a.id
                              WHERE a.unit_id=u.id AND r.day>=?)
            """,
            (start,),
        )
        ops = await self.units.operators_owing(tx, [r[0] for r in unit_ids])
        if not ops:
            return []
        units = len({op.unit_id for op in ops})
        header = f"【粉丝数月报】{now.month}月还有 {units} 个单位没有报送粉丝数，请联络员报送本单位各账号的最新粉丝数："
        footer = "发送 /粉丝 <平台或账号名称> <数量>，如：/粉丝 微信 12345、/粉丝 抖音 1.2万"
        private = f"联盟助手提醒：{now.month}月请报送本单位各新媒体账号的粉丝数，在群里发送 /粉丝 微信 12345 即可。"
        return nudge_messages(self.settings, header, ops, footer=footer, private_text=private)
