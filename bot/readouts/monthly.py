"""The monthly list: last month's follower ranking, per category, by count and by growth, units only,
published as a picture and the .xlsx behind it to every alliance group on the first working day of the month.

How the promises hold:
- exactly once, also across restarts and disconnections: the month's row in the reminder ledger is marked sent
  in the same transaction that queues the picture and the file in the outbox (bot/reminders.py); the picture
  and the workbook are made before that transaction (`prepare`), so a crash between them only leaves files;
- never in quiet hours, never while no QQ client is connected: the reminder engine does not tick then, and
  what came due goes out when they end (the same month only: a month missed entirely is not published late);
- the clock that wakes the check at the set time is the scheduler: the reminder engine asks it to wake at the
  ledger's next due time (bot/reminders.py), the ledger stays the record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Font

from bot import clock
from bot.db import Tx
from bot.due import next_due
from bot.followers.periods import Period, month_period, parse_period, show_day
from bot.followers.records import Ranking, Stale
from bot.followers.targets import signed, wan
from bot.pictures.cards import Card, RankRow, RankTable
from bot.reminders import Outgoing, Reminder
from bot.render import Msg
from bot.rollup import count_by_area
from bot.setting_values import parse_month_day
from bot.vocab import CATEGORIES

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.db import Database
    from bot.followers.service import Followers
    from bot.pictures import Pictures
    from bot.reminders import Reminders
    from bot.units.service import Units


log = logging.getLogger("alliance.monthly")
KIND = "monthly_list"
LABEL = "publish"
TOP = 10  # units per list and category in the picture (the workbook has them all)


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


@dataclass(frozen=True)
class MonthlyReport:
    period: Period
    rankings: dict[str, Ranking]  # category → ranking (categories with units only)
    stale: Stale
    picture: Path | None
    workbook: Path
    summary: Msg  # the text sent when the picture cannot be

    @property
    def title(self) -> str:
        return f"{self.period.label}粉丝排行月报"


class MonthlyList:
    """Builds and publishes the monthly list, from the services it reads (never the whole App)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        units: Units,
        followers: Followers,
        pictures: Pictures,
        reminders: Reminders,
    ) -> None:
        self.db, self.settings, self.units = db, settings, units
        self.followers, self.pictures, self.reminders = followers, pictures, reminders
        s = settings
        self.enabled = s.alliance_monthly_list
        self.rule = parse_month_day(s.alliance_monthly_list_day)
        hh, mm = (int(x) for x in s.alliance_monthly_list_time.split(":"))
        self.at = time(hh, mm)
        reminders.register(KIND, self._handler, self._prepare, title="月度粉丝榜单", workdays_only=True)

    # ------------------------------------------------------------ schedule

    async def start(self) -> None:
        """Owe the next publication (or cancel it when ALLIANCE_MONTHLY_LIST is off); one already due stays."""
        now = clock.now()
        async with self.db.tx() as tx:
            if not self.enabled:
                await self.reminders.cancel_kind(tx, KIND, "已关闭月度榜单")
                return
            await self.reminders.drop_future(tx, KIND, now)
            month, due = next_due(now, self.at, day=self.rule)
            await self.reminders.schedule_at(tx, KIND, month, LABEL, due)

    def next_time(self) -> datetime:
        return next_due(clock.now(), self.at, day=self.rule)[1]

    # ------------------------------------------------------------ building

    def period_of(self, text: str = "") -> Period:
        """The month asked for (`10月`, `2026-10`, `上月`), by default last month."""
        today = clock.now().date()
        if text.strip():
            period = parse_period(text, today)
            if period is None:
                from bot.errors import UserError

                raise UserError(f"看不懂月份“{text}”。用法：/粉丝 月报 [月份]，如：/粉丝 月报、/粉丝 月报 10月")
            return period
        year, month = previous_month(today.year, today.month)
        return month_period(year, month, today, f"{year}年{month}月")

    async def build(self, period: Period) -> MonthlyReport:
        """Rankings per category for the period, the 僵尸号 as of the period's last day, the picture and the
        workbook."""
        followers = self.followers
        units = await self.units.all()
        present = {u.category for u in units}
        rankings = {c: await followers.rankings.ranking(None, c, period) for c in CATEGORIES if c in present}
        stale = await followers.watch.stale(as_of=min(period.end, clock.now().date()))  # 僵尸号 as the month ended
        card = self.card(period, rankings, stale)
        pictures = self.pictures
        picture = await pictures.render_async(card) if pictures.available else None
        workbook = await self.workbook(period, rankings, stale)
        areas = await count_by_area(self.units, stale.no_post)  # where the 僵尸号 are, a count per city
        return MonthlyReport(period, rankings, stale, picture, workbook, self.summary(period, rankings, stale, areas))

    def card(self, period: Period, rankings: dict[str, Ranking], stale: Stale) -> Card:
        tables: list[RankTable] = []
        for category, r in rankings.items():
            growth = {uid: -neg for neg, _, uid, _ in r.growths}
            counts = {uid: -neg for neg, _, uid, _ in r.counts}
            by_count = tuple(
                RankRow(s.rank, s.unit.name, wan(s.value), signed(growth[s.unit.id]) if s.unit.id in growth else "")
                for s in r.by_count(TOP)
            )
            by_growth = tuple(
                RankRow(s.rank, s.unit.name, signed(s.value), wan(counts.get(s.unit.id, 0))) for s in r.by_growth(TOP)
            )
            more_c = f"另有 {len(r.counts) - TOP} 个单位，见表格" if len(r.counts) > TOP else ""
            more_g = f"另有 {len(r.growths) - TOP} 个单位，见表格" if len(r.growths) > TOP else ""
            tables.append(RankTable(f"{category} · 按粉丝数", by_count, more_c, "没有单位报送"))
            tables.append(RankTable(f"{category} · 按增长", by_growth, more_g, "这个月没有单位报送"))
        dormant = sum(len(items) for _, items in stale.no_post)
        return Card(
            title=f"{period.label} 新媒体账号粉丝排行",
            subtitle="按单位统计（各账号粉丝数之和），每类单位按粉丝数和当月增长排名",
            note=f"数据截至 {show_day(period.end)}；僵尸号（{stale.days} 天以上未更新）{len(stale.no_post)} 个单位 "
            f"{dormant} 个账号，详见表格",
            tables=tuple(tables),
            footer="联盟助手 · 完整名次和各单位的僵尸号见所附表格",
        )

    def summary(self, period: Period, rankings: dict[str, Ranking], stale: Stale, areas: str = "") -> Msg:
        out = Msg(f"【{period.label}粉丝排行月报】各类单位粉丝数前三名：")
        for category, r in rankings.items():
            top = "、".join(f"{s.unit.name} {wan(s.value)}" for s in r.by_count(3)) or "没有单位报送"
            out.line(f"{category}：{top}")
        out.line(f"僵尸号（{stale.days} 天以上未更新）：{len(stale.no_post)} 个单位。完整名次见所附表格。")
        if areas:
            out.line(f"僵尸号账号分布：{areas}")
        return out

    async def workbook(self, period: Period, rankings: dict[str, Ranking], stale: Stale) -> Path:
        dormant: dict[int, list[str]] = {
            u.id: [f"{i.account.platform}“{i.account.name}”（{i.idle} 天）" for i in items]
            for u, items in stale.no_post
        }
        wb = Workbook()
        ws = wb.active
        ws.title = "按粉丝数"
        ws.append([f"{period.label}新媒体账号粉丝排行（按单位，各账号粉丝数之和）"])
        ws.append(["类别", "名次", "单位", "粉丝数", "当月增长", "目标", "完成率", "僵尸号"])
        for category, r in rankings.items():
            growth = {uid: -neg for neg, _, uid, _ in r.growths}
            for s in r.by_count():
                target = self.followers.target(s.unit).amount
                rate = round(s.value / target, 4) if target else None
                ws.append(
                    [category, s.rank, s.unit.name, s.value, growth.get(s.unit.id), target, rate]
                    + ["；".join(dormant.get(s.unit.id, []))]
                )
        ws2 = wb.create_sheet("按增长")
        ws2.append([f"{period.label}粉丝增长排行（按单位）"])
        ws2.append(["类别", "名次", "单位", "当月增长", "粉丝数"])
        for category, r in rankings.items():
            counts = {uid: -neg for neg, _, uid, _ in r.counts}
            for s in r.by_growth():
                ws2.append([category, s.rank, s.unit.name, s.value, counts.get(s.unit.id)])
        ws3 = wb.create_sheet("僵尸号")
        ws3.append(
            [f"{stale.days} 天以上没有报告更新的账号（截至 {show_day(stale.cutoff + timedelta(days=stale.days))}）"]
        )
        ws3.append(["单位", "类别", "平台", "账号", "最后更新", "未更新天数"])
        for unit, items in stale.no_post:
            for i in items:
                last = i.last_post.isoformat() if i.last_post else "未报告过"
                ws3.append([unit.name, unit.category, i.account.platform, i.account.name, last, i.idle])
        for sheet in (ws, ws2, ws3):
            sheet["A1"].font = Font(bold=True, size=13)
            for cell in sheet[2]:
                cell.font = Font(bold=True)
            sheet.freeze_panes = "A3"
            for col, width in zip("ABCDEFGH", (12, 6, 30, 12, 12, 12, 10, 40), strict=False):
                sheet.column_dimensions[col].width = width
        folder = (self.settings.data_dir / "exports").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"粉丝月报-{period.start:%Y-%m}.xlsx"
        tmp = path.with_suffix(".tmp")
        await asyncio.to_thread(wb.save, tmp)
        tmp.replace(path)
        return path

    def messages(self, report: MonthlyReport) -> list[Msg]:
        """The picture (the summary where it cannot be drawn or sent) and the workbook."""
        caption = f"【{report.title}】"
        if report.picture is not None:
            pic = Msg(caption).add(Msg.picture(report.picture, report.summary).segments[0])
            pic.fallback = report.summary
        else:
            pic = report.summary
        name = report.workbook.name
        upload = Msg.upload(report.workbook, name, Msg(f"{report.title}的表格 {name} 没能上传，请向管理员索取。"))
        return [pic, upload]

    # ------------------------------------------------------------ the ledger

    async def _prepare(self, rem: Reminder) -> MonthlyReport | None:
        now = clock.now()
        if not self.enabled or rem.task_id != now.year * 100 + now.month:
            return None
        year, month = previous_month(now.year, now.month)
        return await self.build(month_period(year, month, now.date(), f"{year}年{month}月"))

    async def _handler(self, tx: Tx, rem: Reminder) -> list[Outgoing]:
        now = clock.now()
        month, due = next_due(max(now, rem.due_at) + timedelta(seconds=1), self.at, day=self.rule)
        await self.reminders.schedule_at(tx, KIND, month, LABEL, due)
        report: MonthlyReport | None = rem.prepared
        if report is None:
            return []  # switched off, or a month missed entirely (not published late)
        out: list[Outgoing] = []
        for group in sorted(self.settings.groups):
            out.extend(("group", group, m) for m in self.messages(report))
        log.info("monthly list for %s queued to %d groups", report.period.label, len(self.settings.groups))
        return out
