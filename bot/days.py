"""Pure readers of a day as people type it for something that has happened: a last post, an account's opening.

Forms: `2026-03-01`, `2026/3/1`, `2026年3月1日`, `20260301`, `3月1日`, `3-1`, `12.1`, `十二月一日`; `今天`, `昨天`,
`前天`, `大前天`; `3天前`, `三天前`, `2周前`, `1个月前`; `周五` (the latest Friday, today included), `上周五`,
`上上周五`, `本周一`; a month (`2012年5月`, `2012-05`) means its 1st, a year (`2019年`) its 1 January.

A day without a year is this year's; one still to come this year is refused as not yet come (`12月20日` typed on
12月9日: never moved back a year), unless last year's is at most about three months ago (`12月20日` on 1月5日).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.errors import UserError

_CN_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_WEEKDAY = {ch: i for i, ch in enumerate("一二三四五六日")} | {"天": 6} | {str(i + 1): i for i in range(7)}
_N = r"(\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_WORDS = {
    "今天": 0,
    "今日": 0,
    "当天": 0,
    "昨天": 1,
    "昨日": 1,
    "前天": 2,
    "前日": 2,
    "大前天": 3,
    "明天": -1,
    "后天": -2,
}
_AGO = re.compile(rf"{_N}\s*(?:个)?\s*(天|日|周|星期|礼拜|月)\s*(?:前|以前|之前)")
_WEEKDAY_FORM = re.compile(r"(上上|上|本|这)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_FULL = re.compile(rf"(\d{{4}})\s*(?:[-/.]|年)\s*{_N}\s*(?:[-/.]|月)\s*{_N}\s*[日号]?")
_YEARLESS = re.compile(rf"{_N}\s*(?:[-/.]|月)\s*{_N}\s*[日号]?")
_MONTH_ONLY = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?(?:份)?")
_YEAR_ONLY = re.compile(r"(\d{4})\s*年(?:份)?")
_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
# A day without a year still to come this year is last year's only when that is this recent (12月20日 on 1月5日).
YEARLESS_BACK = timedelta(days=92)
FORMS = "2026-03-01、3月1日、今天、昨天、前天、上周五、3天前 或 2012年5月"


def small_number(s: str) -> int:
    """Arabic or simple Chinese numerals up to 99 (十, 十二, 二十, 二十三). Raises ValueError for anything else."""
    if s.isdigit():
        return int(s)
    if s in _CN_DIGITS:
        return _CN_DIGITS[s]
    if "十" in s:
        a, _, b = s.partition("十")
        if (a and a not in _CN_DIGITS) or (b and b not in _CN_DIGITS):
            raise ValueError(s)
        return (_CN_DIGITS[a] if a else 1) * 10 + (_CN_DIGITS[b] if b else 0)
    raise ValueError(s)


class _Future(Exception):
    """A day that is read but has not come yet."""


def _months_back(today: date, n: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - n, 12)
    month += 1
    for dom in (today.day, 30, 29, 28):
        try:
            return date(year, month, dom)
        except ValueError:
            continue
    raise ValueError(n)


def _read(s: str, today: date) -> date | None:
    """The day `s` names, None when it is no day form. Raises ValueError (no such day) or _Future (a day to come)."""
    if s in _WORDS:
        return today - timedelta(days=_WORDS[s])
    if m := _AGO.fullmatch(s):
        n, unit = small_number(m.group(1)), m.group(2)
        if unit == "月":
            return _months_back(today, n)
        return today - timedelta(days=n if unit in ("天", "日") else 7 * n)
    if m := _WEEKDAY_FORM.fullmatch(s):
        week_start = today - timedelta(days=today.weekday())
        weeks = {"上": 1, "上上": 2}.get(m.group(1) or "", 0)
        day = week_start - timedelta(weeks=weeks) + timedelta(days=_WEEKDAY[m.group(2)])
        if day > today and not m.group(1):  # 周五 on a Wednesday: the Friday just past
            day -= timedelta(weeks=1)
        return day
    if m := _DIGITS.fullmatch(s):
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _FULL.fullmatch(s):
        return date(int(m.group(1)), small_number(m.group(2)), small_number(m.group(3)))
    if m := _YEARLESS.fullmatch(s):
        month, dom = small_number(m.group(1)), small_number(m.group(2))
        this = date(today.year, month, dom)  # 2月29日 in a common year: no such day
        if this <= today:
            return this
        last = date(today.year - 1, month, dom)
        if today - last <= YEARLESS_BACK:
            return last
        raise _Future(this)
    if m := _MONTH_ONLY.fullmatch(s):
        return date(int(m.group(1)), int(m.group(2)), 1)
    if m := _YEAR_ONLY.fullmatch(s):
        return date(int(m.group(1)), 1, 1)
    return None


def _normal(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", "".join(ch for ch in s if ch.isprintable() or ch.isspace()))


def looks_like_date(text: str, *, digits: bool = False) -> bool:
    """Whether `text` is written as a day (`2023/9/1`, `9月1日`, `2012年5月`, `2019年`, `昨天`, `上周五`, `3天前`),
    even an impossible one (`2月30日`), so that it is read as a date and never as a name or an ID.

    `20230901` counts only with `digits` (where an ID cannot be: /更新); `2023` alone is never a date.
    """
    s = _normal(text)
    if not s or len(s) > 40 or (not digits and s.isdigit()):
        return False
    try:
        return _read(s, date(2000, 6, 15)) is not None
    except (_Future, ValueError, OverflowError):
        return True


def _with_year(s: str, day: date, today: date) -> str:
    """For a day typed without a year, well ahead (not a slip of a day or two): how to write last year's."""
    if not _YEARLESS.fullmatch(s) or (day - today).days <= 31:
        return ""
    return f"；去年的请写上年份，如 {day.year - 1}年{day.month}月{day.day}日"


def parse_date(text: str, today: date) -> date:
    """The day `text` names (see the module's forms), today or before.

    Raises:
        UserError: unreadable, or a day that has not come yet.
    """
    s = _normal(text)
    try:
        day = _read(s, today) if len(s) <= 40 else None
    except _Future as e:
        day = e.args[0]
    except (ValueError, OverflowError):
        day = None
    if day is None:
        raise UserError(f"看不懂日期“{s}”，请写成 {FORMS}。")
    if day > today:
        raise UserError(
            f"日期“{s}”（{day.year}年{day.month}月{day.day}日）还没到，今天是{today.month}月{today.day}日。"
            f"请写今天或以前的日期，如 今天、昨天、上周五、3天前{_with_year(s, day, today)}。"
        )
    return day
