"""The running application: settings, database and services, opened and closed in one place."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging

from bot import clock, workdays
from bot.accounts import MediaAccounts
from bot.broadcasts.service import Broadcasts
from bot.config import Settings
from bot.db import Database
from bot.escalation import Escalation
from bot.flood import FloodGuard
from bot.followers.service import Followers
from bot.health import Health
from bot.outbox.service import Outbox
from bot.pictures import Pictures
from bot.readouts.drawn_ahead import draw_follower_views
from bot.readouts.exports import Exports
from bot.readouts.monthly import MonthlyList
from bot.readouts.reports import Reports
from bot.readouts.workbooks import Workbooks
from bot.reminders import Reminders
from bot.returns.files.service import ReturnFiles
from bot.returns.levels import ReturnLevels
from bot.returns.service import Returns
from bot.roles import Roles
from bot.stale_escalation import StaleEscalation
from bot.titles import Fetcher, fetch_page
from bot.units.groups import CityGroups
from bot.units.service import Units
from bot.upkeep import Upkeep

log = logging.getLogger("alliance")


class App:
    """Everything a handler needs, built from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        clock.set_tz(settings.tzinfo)
        workdays.configure(settings.extra_holidays, settings.extra_workdays)
        self.db = Database(settings.db_path)
        self.units = Units(self.db)
        self.roles = Roles(self.db, self.units, settings.admins)
        self.city_groups = CityGroups(self.db, self.units, settings.groups)
        self.accounts = MediaAccounts(self.db, self.units)
        self.outbox = Outbox(
            self.db,
            settings.alliance_send_interval,
            settings.alliance_send_jitter,
            react_interval=settings.alliance_reaction_interval,
            ack_window=settings.alliance_ack_window,
            ack_max_age=settings.alliance_ack_max_age,
            at_batch=settings.alliance_at_batch,
            accounts=settings.alliance_accounts,
            group_accounts=settings.alliance_group_accounts,
        )
        self.flood = FloodGuard(settings.alliance_flood_window, settings.alliance_flood_budget)
        self.reminders = Reminders(
            self.db,
            self.outbox,
            offsets=settings.remind_offsets,
            quiet=settings.quiet,
            tick_seconds=settings.alliance_reminder_tick,
        )
        self.broadcasts = Broadcasts(self.db, self.units, self.outbox, self.reminders, settings)
        self._warming: asyncio.Task[None] | None = None
        self.followers = Followers(self.db, self.units, self.accounts, self.reminders, settings)
        self.returns = Returns(self.db, self.units, self.outbox, self.reminders, settings)
        self.escalation = Escalation(self.reminders, self.units, self.roles)  # overdue lists to city admins
        self.escalation.watch(self.broadcasts)
        self.escalation.watch(self.returns)
        self.stale_up = StaleEscalation(  # 僵尸号 to the unit's city admin, two days after the operator's warning
            self.followers.watch.stale,
            self.units,
            self.roles,
            self.reminders,
            warn_days=settings.alliance_stale_warn_days,
            stale_days=settings.alliance_stale_days,
            at=self.followers.watch.at,
        )
        self.pictures = Pictures(settings.data_dir, settings.alliance_font, settings.alliance_pictures)
        self.monthly = MonthlyList(self.db, settings, self.units, self.followers, self.pictures, self.reminders)
        # reads a 统发 link's title; None when ALLIANCE_FETCH_TITLES is off (tests may put in their own)
        self.fetch_page: Fetcher | None = (
            functools.partial(
                fetch_page,
                timeout=settings.alliance_fetch_timeout,
                max_bytes=settings.alliance_fetch_max_bytes,
                allow_private=settings.alliance_fetch_private,
            )
            if settings.alliance_fetch_titles
            else None
        )
        self.return_files = ReturnFiles(self.db, self.units, self.returns, settings)
        # the read side (bot/readouts/): the dashboard's views, /导出's files, the file returns' workbooks
        self.reports = Reports(self.db, self.units, self.accounts, self.followers, self.broadcasts, self.returns)
        self.exports = Exports(self.units, self.reports, settings.data_dir)
        self.workbooks = Workbooks(self.db, self.returns, self.return_files, self.reports, settings.data_dir)
        # 逐级汇总 (issue 24.3): the cities' checks and sign-offs
        self.return_levels = ReturnLevels(
            self.db, self.units, self.returns, self.return_files, self.outbox, settings, self.workbooks
        )
        self.health = Health(self.db, self.outbox, self.reminders, settings)  # /healthz, /metrics, /状态 (issue 25)
        self.upkeep = Upkeep(settings, self.db, self.outbox)  # issue 25: the daily backup and pruning

    async def open(self) -> None:
        await self.db.open()

    async def start(self) -> None:
        """Open the database and start the workers."""
        await self.open()
        await self.outbox.start()
        await self.followers.reminder.start()
        await self.followers.watch.start()
        await self.stale_up.start()
        await self.monthly.start()
        self._warming = asyncio.create_task(self._warm(), name="warm-followers")
        await self.reminders.start()
        await self.health.start()
        await self.upkeep.start()

    async def _warm(self) -> None:
        await self.followers.rankings.warm()
        settle_heap()
        s = self.settings
        drawn = await draw_follower_views(
            self.followers, self.pictures, rows=s.alliance_picture_rows, lines=s.alliance_picture_lines
        )
        log.info(f"drew {drawn} pictures of /粉丝 排行 and /粉丝 目标 ahead")

    async def stop(self) -> None:
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
        await self.health.stop()
        await self.upkeep.stop()
        await self.reminders.stop()
        await self.outbox.stop()
        await self.return_files.close()
        await self.db.close()

    def is_admin(self, user_id: str | int) -> bool:
        return str(user_id) in self.settings.admins


def settle_heap() -> None:
    """Take what the bot loaded at start (libraries, roster, rankings: it lives as long as the process) out of the
    garbage collector's sight: collect once, then freeze. A full collection then walks only what came since.
    Without it a full collection walked the whole heap while nothing was answered (issue 16; the measurement is in
    bench/README.md, "Timings behind the code")."""
    gc.collect()
    gc.freeze()


_current: App | None = None


def set_app(app: App | None) -> None:
    global _current
    _current = app


def current_app() -> App | None:
    return _current


def get_app() -> App:
    if _current is None:
        raise RuntimeError("the application has not started")
    return _current
