"""Post dates and the 僵尸号 watch (a part of Followers): /更新, accounts with no post or no count reported for too long, the daily warning."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from bot import clock
from bot.db import Database, Tx
from bot.due import DAY, next_due
from bot.followers.own_accounts import OwnAccounts
from bot.followers.periods import show_day
from bot.followers.records import (
    LABEL,
    LATEST_REPORT_SQL,
    LIVE_STATES_SQL,
    STALE_KIND,
    Posted,
    Stale,
    StaleAccount,
    account_from_row,
    day_or_none,
    split_latest_report,
)
from bot.followers.scoped import stale_within
from bot.nudge import Outgoing
from bot.parse import (
    parse_date,
)
from bot.reminders import Reminder, Reminders
from bot.render import Msg
from bot.roles import Scope
from bot.units.service import Units

if TYPE_CHECKING:
    from bot.config import Settings


class PostWatch:
    """Post dates and the 僵尸号 watch (a part of Followers): /更新, accounts with no post or no count reported for too long, the daily warning."""

    def __init__(
        self, db: Database, units: Units, own: OwnAccounts, reminders: Reminders, settings: Settings, *, at: time
    ) -> None:
        self.db = db
        self.units = units
        self.own = own
        self.reminders = reminders
        self.settings = settings
        self.stale_days: int = settings.alliance_stale_days
        self.at = at  # the daily warning's time
        reminders.register(STALE_KIND, self._warn_stale)

    async def mark_post(self, user_id: str, words: list[str], day_text: str = "") -> Posted:
        """Record the date of an account's latest post (default today).

        Raises:
            UserError: not an operator, a bad date, an account that is not the unit's.
        """
        unit = await self.own.unit_of(user_id, "报告账号更新")
        today = clock.now().date()
        day = parse_date(day_text, today) if day_text.strip() else today
        account = await self.own.named(
            unit, words, "/更新 <账号> 今天", "请写出平台或账号名称，如：/更新 微信、/更新 抖音 3月1日"
        )
        async with self.db.tx() as tx:
            prev = await tx.value("SELECT MAX(day) FROM post_reports WHERE account_id=?", (account.id,))
            await tx.run(
                "INSERT INTO post_reports (account_id, day, reported_by, reported_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, day) DO UPDATE SET reported_by=excluded.reported_by, "
                "reported_at=excluded.reported_at",
                (account.id, day.isoformat(), str(user_id), clock.now_db()),
            )
        return Posted(unit, account, day, day_or_none(prev))

    async def stale(self, days: int | None = None, scope: Scope | None = None, *, as_of: date | None = None) -> Stale:
        """Live accounts by days without a post reported: 僵尸号 at `days` or more (ALLIANCE_STALE_DAYS), on the
        warning list from ALLIANCE_STALE_WARN_DAYS; and those with no follower count reported for `days`. A city
        admin's (`scope`): the accounts of their area only.

        A stretch without posts starts at the last post reported, or, for an account never reported, on the day
        it was registered with the bot. `as_of` (a past day, e.g. the last day of a month's list) counts as things
        stood that day: posts reported later and accounts registered later are left out.
        """
        if scope is not None and not scope.everything:
            return stale_within(await self.stale(days, as_of=as_of), scope)
        # another number of days than the setting's asks for that list alone (no warning list)
        warn = min(self.settings.alliance_stale_warn_days, self.stale_days) if days is None else days
        days = self.stale_days if days is None else days
        async with self.db.read() as tx:
            found = await self._stale(tx, days, warn, as_of)
        units = {u.id: u for u in await self.units.by_ids(sorted({uid for uid, _, _ in found}))}
        out = Stale(days, (as_of or clock.now().date()) - timedelta(days=days), warn)
        lists: dict[str, dict[int, list[StaleAccount]]] = {"no_post": {}, "warning": {}, "no_count": {}}
        for uid, item, where in found:
            if uid in units:
                for name in where:
                    lists[name].setdefault(uid, []).append(item)
        for name, by_unit in lists.items():
            setattr(out, name, [(units[uid], items) for uid, items in by_unit.items()])
        return out

    async def _stale(
        self, tx: Tx, days: int, warn: int, as_of: date | None = None
    ) -> list[tuple[int, StaleAccount, tuple[str, ...]]]:
        """(unit id, account, the lists it is on) for every live account on one of the `stale` lists (as it stood
        on `as_of`, default today)."""
        today = as_of or clock.now().date()
        cutoff = today - timedelta(days=days)
        rows = await tx.all(
            f"""
            SELECT a.*,
                (SELECT MAX(p.day) FROM post_reports p WHERE p.account_id=a.id AND p.day <= ?) AS last_post,
                {LATEST_REPORT_SQL} AS last_report
            FROM accounts a JOIN units u ON u.id=a.unit_id
            WHERE a.state IN {LIVE_STATES_SQL} AND u.deleted_at IS NULL
            ORDER BY a.unit_id, a.platform, a.name
            """,
            (today.isoformat(),),
        )
        out = []
        for r in rows:
            registered = clock.from_db(r["created_at"]).date()
            if registered > today:  # registered after the day asked about
                continue
            count, last_day = split_latest_report(r["last_report"]) or (None, None)
            last_post = day_or_none(r["last_post"])
            since = last_post or registered
            item = StaleAccount(account_from_row(r), last_post, last_day, count, since, (today - since).days)
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
        day, nxt = next_due(max(now, rem.due_at), self.at, every=DAY)
        await self.reminders.schedule_at(tx, STALE_KIND, day, LABEL, nxt)
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
        for op in await self.units.registrations.operators_owing(tx, list(due)):
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

    async def start(self) -> None:
        """Owe the next daily check for accounts past the warning line (at the monthly reminder's time, else 09:00)."""
        now = clock.now()
        day, nxt = next_due(now, self.at, every=DAY)
        async with self.db.tx() as tx:
            await self.reminders.schedule_at(tx, STALE_KIND, day, LABEL, nxt)
