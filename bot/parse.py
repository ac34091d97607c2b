"""Pure parsers for what users type: arguments, times, counts, dates, platforms."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from bot.days import looks_like_date as looks_like_date
from bot.days import parse_date as parse_date
from bot.days import small_number as _num
from bot.errors import UserError

MAX_ARG_TEXT = 2000

TIME_FORMS = (
    "2026-11-25 18:00、11-25 18:00、11月25日18:00、11月25日18时、11月25日（当天23:59）、"
    "明天18点、今晚8点、后天、30分钟后、3小时后、3天后、周五17:30"
)

# the words that introduce a deadline in /统发 and /报送 新建 (longest first, so 截止时间 wins over 截止)
DEADLINE_WORDS = ("截止时间", "截至时间", "截止日期", "截至日期", "截止到", "截止于", "截止", "截至", "期限")

_QUOTES = {'"': '"', "“": "”", "「": "」", "'": "'"}
_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}


def clean_text(text: str) -> str:
    """Drop control characters (keeping none), fold full-width spaces; user text stays otherwise as typed."""
    text = text.replace("\u3000", " ")
    return "".join(ch for ch in text if ch in "\n\t" or (ord(ch) >= 32 and not 0x7F <= ord(ch) < 0xA0)).strip()


def split_args(text: str) -> list[str]:
    """Split on spaces; "..." or “...” keep spaces inside one argument.

    Raises:
        UserError: the text is too long or a quote is not closed.
    """
    text = clean_text(text)
    if len(text) > MAX_ARG_TEXT:
        raise UserError(f"内容太长（{len(text)} 字），请控制在 {MAX_ARG_TEXT} 字以内。")
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _QUOTES:
            close = _QUOTES[ch]
            j = text.find(close, i + 1)
            if j < 0:
                raise UserError(f"引号 {ch} 没有配对，请用成对的引号把含空格的内容括起来，如 “郑州 市教育局”。")
            args.append(text[i + 1 : j].strip())
            i = j + 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        args.append(text[i:j])
        i = j
    return args


# ---------------------------------------------------------------- counts


_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
# what people write after a count: 1.5万人, 3000粉, 12万粉丝, 5000个, 1200名
_COUNT_TAIL = re.compile(r"(人|个|名|位|粉丝|粉|关注|关注者|订阅|用户)+$")


def _chinese_count(s: str) -> int | None:
    """`一万`, `十二万`, `三千五百`, `两万五千`, `一亿`; None when `s` is not written in Chinese numerals."""
    if not s or any(ch not in _CN_NUM and ch not in _CN_SMALL and ch not in _CN_BIG for ch in s):
        return None
    if s[0] not in _CN_NUM and s[0] != "十":  # 万, 千万: no number in it
        return None
    result = wan = section = digit = 0
    seen_digit = False
    for ch in s:
        if ch in _CN_NUM:
            digit, seen_digit = _CN_NUM[ch], True
        elif ch in _CN_SMALL:
            section += (digit if seen_digit else 1) * _CN_SMALL[ch]
            digit, seen_digit = 0, False
        elif ch == "万":
            wan += (section + digit) * 10_000
            section = digit = 0
            seen_digit = False
        else:  # 亿
            result = (result + wan + section + digit) * 100_000_000
            wan = section = digit = 0
            seen_digit = False
    if seen_digit and len(s) >= 2 and s[-2] in "百千万亿":  # 一万五 = 15000, 三千五 = 3500, 一百五 = 150
        digit *= {**_CN_SMALL, **_CN_BIG}[s[-2]] // 10
    return result + wan + section + digit


def parse_count(text: str) -> int:
    """Read `12345`, `12,345`, `1.2万`, `12.3w`, `3千`, `1.5k`, `120万+`, `1亿`, `1.5万人`, `一万`, `１．３万`.

    Full-width digits and points are read as half-width; a trailing 人/个/粉丝 is ignored.

    Raises:
        UserError: not a count.
    """
    s = unicodedata.normalize("NFKC", clean_text(text)).lower()
    s = s.replace(",", "").replace("，", "").replace(" ", "").replace("。", ".")
    s = _COUNT_TAIL.sub("", s.rstrip("+")).rstrip("+")
    s = re.sub(r"(以上|多|余)$", "", s).rstrip("+")
    s = re.sub(r"^(约|大约|近|将近|超过|逾)", "", s)
    if m := re.fullmatch(r"(\d+)([万千])(\d+)", s):  # 1万5 = 15000, 3千5 = 3500, 12万3456 = 123456
        unit = 10_000 if m.group(2) == "万" else 1_000
        tail = int(m.group(3)) * (unit // 10) if len(m.group(3)) == 1 else int(m.group(3))
        if tail < unit:
            return int(m.group(1)) * unit + tail
    cn = _chinese_count(s)
    if cn is not None:
        if cn > 10**12:
            raise UserError(f"“{text}” 太大了，请检查数量。")
        return cn
    mult = Decimal(1)
    for suffix, m in (("亿", 100_000_000), ("万", 10_000), ("w", 10_000), ("千", 1_000), ("k", 1_000)):
        if s.endswith(suffix):
            s, mult = s[: -len(suffix)], Decimal(m)
            break
    try:
        if not re.fullmatch(r"\d+(\.\d+)?", s):
            raise InvalidOperation
        value = Decimal(s) * mult
    except InvalidOperation:
        raise UserError(f"“{text}” 不是数量，请写成 12345、12,345、1.2万、12.3w、3千、一万 或 120万+。") from None
    if value != value.to_integral_value() and mult == 1:
        raise UserError(f"“{text}” 不是整数，请写成 12345 或 1.2万 这样的数量。")
    if value > 10**12:
        raise UserError(f"“{text}” 太大了，请检查数量。")
    return int(value)


def looks_like_count(text: str) -> bool:
    """Whether `text` reads as a count (for arguments that may come in any order)."""
    try:
        parse_count(text)
    except UserError:
        return False
    return True


# ---------------------------------------------------------------- lists of numbers

ALL_WORDS = ("全部", "所有", "全体", "都", "全都")
MAX_NUMBERS = 500
# between the numbers of a list: spaces (also full-width), commas, 、, semicolons, slashes, 和/及/与
_LIST_SEP = re.compile(r"[\s,，、;；/和及与]+")
_RANGE_SEP = "-~～至到—"
_ONE = re.compile(r"[#＃]?第?([0-9]{1,9}|[零〇一二两三四五六七八九十百]{1,6})[号个]?")


def read_number(text: str) -> int | None:
    """One number as people type it: `3`, `#3`, `３`, `第3`, `3号`, `二`, `十一`, `九十九`, `第二个`; None otherwise."""
    m = _ONE.fullmatch(unicodedata.normalize("NFKC", clean_text(text)))
    if m is None:
        return None
    s = m.group(1)
    value = int(s) if s.isdigit() else _chinese_count(s)
    return value if value is not None and value < 10**9 else None


def _number_list(text: str) -> list[tuple[str, int, int]]:
    """(part, first, last) for each part of `text` (`3`, `二`, `1-3`, `一到三`); last=-1 marks a part that is no number."""
    text = re.sub(rf"\s*([{_RANGE_SEP}])\s*", r"\1", unicodedata.normalize("NFKC", clean_text(text)))
    out = []
    for p in (p for p in _LIST_SEP.split(text) if p):
        a, sep, b = p.partition(next((c for c in _RANGE_SEP if c in p[1:]), "\0"))
        first, last = read_number(a), read_number(b) if sep else read_number(a)
        out.append((p, first, last) if first is not None and last is not None else (p, 0, -1))
    return out


def reads_as_numbers(text: str) -> bool:
    """Whether `text` is a number or a list of them (`3`, `2，5`, `二、五`, `1-3`), so a command may take it as one."""
    parts = _number_list(text)
    return bool(parts) and all(last >= 0 for _, _, last in parts)


def parse_numbers(args: list[str], what: str = "编号", *, allow_all: bool = True) -> list[int] | None:
    """The one reader of lists of numbers: `1 2 3`, `1,2,3`, `2，5`, `1、2、3`, `1-3`, `#4`, `二`, `一到三`, `十一`;
    None means 全部 (when allowed).

    Raises:
        UserError: something that is no number, or too many.
    """
    parts = _number_list(" ".join(args))
    if allow_all and parts and all(p in ALL_WORDS for p, _, _ in parts):
        return None
    out: list[int] = []
    example = "3、1 2 3、1,2,3、1、2、3、1-3 或 二" + ("，或 全部" if allow_all else "")
    for p, a, b in parts:
        if b < 0:
            raise UserError(f"{what}应是数字，而不是“{p}”。可以写成 {example}。")
        if b < a:
            a, b = b, a
        if b - a >= MAX_NUMBERS:
            raise UserError(f"“{p}”包含的{what}太多了，一次最多 {MAX_NUMBERS} 个。")
        out.extend(n for n in range(a, b + 1) if n not in out)
    if not out:
        raise UserError(f"请写出{what}，可以写成 {example}。")
    if len(out) > MAX_NUMBERS:
        raise UserError(f"{what}太多了，一次最多 {MAX_NUMBERS} 个。")
    return out


def _in_list(arg: str) -> bool:
    return reads_as_numbers(arg) or bool(_LIST_SEP.fullmatch(unicodedata.normalize("NFKC", arg)))


def leading_numbers(args: list[str]) -> tuple[list[int], list[str]]:
    """The numbers written first in `args` (`3`, `2，5`, `二 五`, `1 , 2`, `1-3`) and the words after them (a note)."""
    n = 0
    while n < len(args) and _in_list(args[n]):
        n += 1
    numbers = parse_numbers(args[:n], allow_all=False) if any(map(reads_as_numbers, args[:n])) else None
    return numbers or [], args[n:]


def numbers_among(args: list[str]) -> tuple[list[int], list[str]]:
    """The numbers anywhere in `args` (`/已转发 https://… 2，5`), in order without repeats, and the other words."""
    numbers: list[int] = []
    for a in args:
        if reads_as_numbers(a):
            numbers += [n for n in parse_numbers([a], allow_all=False) or [] if n not in numbers]
    return numbers, [a for a in args if not _in_list(a)]


# ---------------------------------------------------------------- "done" words

_PUNCT = " \t\n,，.。!！~～、;；:：…?？"
# In office usage 收到 means "I got the notice"; it may come before a done word (收到，已转发), never alone.
RECEIVED_WORDS = ("收到", "好的", "好", "ok", "OK", "嗯", "明白", "已收到")
DONE_TAILS = ("", "了", "啦", "了的", "好了", "哈", "了哈", "咯", "喽")


def done_rest(text: str, words: tuple[str, ...]) -> str | None:
    """If `text` says it is done with one of `words` (`已转发`, `收到，已转发了`), what follows the word; else None.

    What follows is "" or, after a space or comma, the rest (a task number, a proof link, a note).
    """
    s = clean_text(text).lstrip("/／").strip()
    for r in RECEIVED_WORDS:
        if s.startswith(r) and s[len(r) : len(r) + 1] in tuple(_PUNCT):
            s = s[len(r) :].lstrip(_PUNCT)
            break
    for word in sorted(words, key=len, reverse=True):
        if not s.startswith(word):
            continue
        rest = s[len(word) :]
        if rest.strip(_PUNCT) in DONE_TAILS:
            return ""
        if rest[:1].isspace() or rest[:1] in "，,：:":
            return rest.strip(_PUNCT)
        return None
    return None


# ---------------------------------------------------------------- dates and times


_N = r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})"
_CLOCK = re.compile(
    rf"^(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|今晚|明晚|明早|夜里)?\s*"
    rf"(?:(?P<h>{_N})\s*(?::|：|点|时)\s*(?:(?P<m>\d{{1,2}}|半|[零一二三四五六七八九十]{{1,3}})\s*分?)?)$"
)


def _parse_clock(text: str, period: str | None = None) -> time | None:
    """`18:00`, `18点`, `8点半`, `下午3点`, `18时30分`; None if empty. Raises ValueError if malformed."""
    text = text.strip()
    if not text:
        return None
    m = _CLOCK.match(text)
    if not m:
        raise ValueError(text)
    period = m.group("period") or period
    h = _num(m.group("h"))
    mm = m.group("m")
    minute = 30 if mm == "半" else (_num(mm) if mm else 0)
    if period in ("下午", "傍晚", "晚上", "今晚", "明晚", "夜里") and h < 12:
        h += 12
    if period == "中午" and h < 11:
        h += 12
    if h == 24 and minute == 0:
        return time(23, 59)
    if not (0 <= h <= 23 and 0 <= minute <= 59):
        raise ValueError(text)
    return time(h, minute)


_END_OF_DAY = time(23, 59)


def parse_time(text: str, now: datetime, *, allow_past: bool = False) -> datetime:
    """Read a deadline in any accepted form (`2026-11-25 18:00`, `11月25日18时`, `明天18点`, `3小时后`, `周五17:30`,
    …), relative to `now` (aware; its zone is the user's).

    A day without a time means 23:59 that day.

    Raises:
        UserError: unreadable, or in the past; the message lists the accepted forms.
    """
    raw = clean_text(text)
    s = re.sub(r"\s+", " ", raw).replace("：", ":").replace("／", "/")
    try:
        dt = _parse_time(s, now)
    except (ValueError, OverflowError):
        dt = None
    if dt is None:
        raise UserError(f"看不懂时间“{raw}”。可以这样写：{TIME_FORMS}。")
    if not allow_past and dt <= now:
        raise UserError(
            f"时间“{raw}”（{dt.month}月{dt.day}日 {dt:%H:%M}）已经过去了，请给一个将来的时间。可以这样写：{TIME_FORMS}。"
        )
    return dt


def _at(day: date, clock: time | None, now: datetime) -> datetime:
    return datetime.combine(day, clock or _END_OF_DAY, tzinfo=now.tzinfo)


def _parse_time(s: str, now: datetime) -> datetime | None:
    today = now.date()
    # relative: 30分钟后, 3小时后, 3天后, 2周后, 半小时后
    m = re.fullmatch(rf"({_N}|半)\s*(个)?\s*(分钟|分|小时|钟头|天|日|周|星期)\s*(后|以后|之后)", s)
    if m:
        n = 0.5 if m.group(1) == "半" else _num(m.group(1))
        unit = m.group(4)
        if unit in ("分钟", "分"):
            return now + timedelta(minutes=n)
        if unit in ("小时", "钟头"):
            return now + timedelta(hours=n)
        if unit in ("天", "日"):
            return now + timedelta(days=n)
        return now + timedelta(weeks=n)
    # absolute: 2026-11-25 18:00, 2026/11/25, 11-25 18:00, 11/25
    m = re.fullmatch(r"(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})(?:[ T]?(.*))?", s)
    if m:
        clock = _parse_clock(m.group(4) or "")
        if m.group(1):
            return _at(date(int(m.group(1)), int(m.group(2)), int(m.group(3))), clock, now)
        return _at(_yearless(int(m.group(2)), int(m.group(3)), clock, now), clock, now)
    # 2026年11月25日18:00, 11月25日18时, 11月25日, 25日18点, 11月25号
    m = re.fullmatch(rf"(?:(\d{{4}})年)?(?:{_N}月)?{_N}[日号]\s*(.*)", s)
    if m and (m.group(1) or m.group(2) or m.group(3)):
        clock = _parse_clock(m.group(4))
        if m.group(1):
            month = _num(m.group(2)) if m.group(2) else today.month
            return _at(date(int(m.group(1)), month, _num(m.group(3))), clock, now)
        if m.group(2):
            return _at(_yearless(_num(m.group(2)), _num(m.group(3)), clock, now), clock, now)
        day = date(today.year, today.month, _num(m.group(3)))
        if _at(day, None, now) < now:
            day = _add_month(day)
        return _at(day, clock, now)
    # 今天/今晚/明天/明早/明晚/后天/大后天 + clock
    m = re.fullmatch(r"(今天|今日|今晚|明天|明日|明早|明晚|后天|大后天)\s*(.*)", s)
    if m:
        word = m.group(1)
        offset = {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}[
            word
        ]
        period = {"今晚": "今晚", "明晚": "明晚", "明早": "明早"}.get(word)
        clock = _parse_clock(m.group(2), period)
        if clock is None and word in ("今晚", "明晚"):
            clock = _END_OF_DAY
        if clock is None and word == "明早":
            clock = time(9, 0)
        return _at(today + timedelta(days=offset), clock, now)
    # 周五17:30, 星期五, 下周一9点, 本周五
    m = re.fullmatch(r"(下下|下|本|这)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])\s*(.*)", s)
    if m:
        target = _WEEKDAYS[m.group(2)]
        week_start = today - timedelta(days=today.weekday())
        weeks = {"下": 1, "下下": 2}.get(m.group(1) or "", 0)
        day = week_start + timedelta(days=7 * weeks + target)
        clock = _parse_clock(m.group(3))
        if not m.group(1) and _at(day, clock, now) <= now:
            day += timedelta(days=7)
        return _at(day, clock, now)
    # a bare clock: 18:00, 下午3点, 今晚8点 handled above → today (or tomorrow if it has passed? no: say past)
    clock = _parse_clock(s)
    if clock is not None:
        return _at(today, clock, now)
    return None


# A date written without a year is the one ahead within this window (about ten months); failing that, the
# nearest one, so a date up to about two months past is read as past (an error for a deadline), never as next year.
YEARLESS_AHEAD = timedelta(days=305)


def _yearless(month: int, dom: int, clock: time | None, now: datetime) -> date:
    """The year of `month`-`dom` written without one: the next occurrence within ~10 months, else the nearest."""
    days = []
    for year in (now.year - 1, now.year, now.year + 1):
        try:
            days.append(date(year, month, dom))
        except ValueError:  # 2月29日 in a common year
            continue
    if not days:
        raise ValueError(f"{month}-{dom}")
    ahead = [d for d in days if now < _at(d, clock, now) <= now + YEARLESS_AHEAD]
    if ahead:
        return min(ahead)
    return min(days, key=lambda d: abs(_at(d, clock, now) - now))


def _add_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, day.day)


THIS_MONTH_WORDS = ("本月", "这个月", "当月", "这月", "本月份")
LAST_MONTH_WORDS = ("上月", "上个月", "上一月", "上月份")
_MONTH = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})(月?份?)")


def read_month(text: str, today: date, *, bare: bool = True) -> tuple[int, int, str] | None:
    """The one month reader: (year, month, how) for `本月`, `上月`, `11月`, `11月份`, `2026-11`, `2026年11月`
    (and a bare `11` when `bare`); `how` is `本月`, `上月` or empty. A month later than today's without a year is
    last year's. None when `text` names no month.

    Raises:
        UserError: a month that cannot be (13月, 1999-01), with the ways to write one.
    """
    s = clean_text(text).replace(" ", "")
    if s in THIS_MONTH_WORDS:
        return today.year, today.month, "本月"
    if s in LAST_MONTH_WORDS:
        prev = today.replace(day=1) - timedelta(days=1)
        return prev.year, prev.month, "上月"
    m = _MONTH.fullmatch(s)
    if m is None or not (bare or m.group(1) or m.group(3)):
        return None
    year = int(m.group(1)) if m.group(1) else today.year
    month = int(m.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise UserError(f"月份“{text}”不对，请写 1 到 12 月，如 本月、上月、11月 或 2026-11。")
    if not m.group(1) and month > today.month:
        year -= 1
    return year, month, ""
