"""Periods and the words of /粉丝 排行: a calendar month cut at today, 本月 / 上月 / 3月 / 2026-03, platform and category in any order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot import clock, days
from bot.errors import UserError
from bot.parse import read_month
from bot.vocab import CATEGORY_GROUPS, category_or_none, parse_category, platform_or_none


def show_day(d: date, today: date | None = None) -> str:
    today = today or clock.now().date()
    return f"{d.month}月{d.day}日" if d.year == today.year else f"{d.year}年{d.month}月{d.day}日"


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


def looks_like_date(text: str) -> bool:
    """Whether an argument of /更新 is its day (`3月1日`, `20260301`, `昨天`, `上周五`, `3天前`), not an account."""
    return days.looks_like_date(text, digits=True)
