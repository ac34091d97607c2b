"""Issue 21 items 1, 3 and 4 at the core: the slipped-digit rule, days people type, lists of numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.days import looks_like_date, parse_date
from bot.errors import UserError
from bot.followers.records import Trend, implausible
from bot.parse import leading_numbers, parse_numbers, read_number, reads_as_numbers

WEDNESDAY = date(2026, 12, 9)
CN = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """1 → 一, 10 → 十, 11 → 十一, 20 → 二十, 99 → 九十九."""
    tens, ones = divmod(n, 10)
    if not tens:
        return CN[ones]
    return ("" if tens == 1 else CN[tens]) + "十" + (CN[ones] if ones else "")


# ---------------------------------------------------------------- item 1: slipped digits


@pytest.mark.parametrize(
    "count,last",
    [(680_000, 68_000), (2_050_000, 205_000), (9_100, 91_000), (8_000_000, 800_000), (6_800_000, 68_000)],
)
def test_the_issues_counts_ask_first(count: int, last: int) -> None:
    assert implausible(count, Trend(last, WEDNESDAY - timedelta(days=1)), 100_000, today=WEDNESDAY) is not None


def test_a_same_day_correction_with_nothing_before_is_compared_with_what_it_replaces() -> None:
    assert implausible(8_000_000, None, 1_000_000, replaced=800_000) is not None
    assert implausible(810_000, None, 1_000_000, replaced=800_000) is None
    # with days before, they are the measure: a typo corrected back to the trend is no jump
    assert implausible(810_000, Trend(800_000, WEDNESDAY - timedelta(days=1)), None, replaced=81_000) is None


@settings(max_examples=300, deadline=None)
@given(
    last=st.integers(min_value=2_000, max_value=50_000_000),
    digits=st.integers(min_value=1, max_value=3),
    wobble=st.floats(min_value=0.8, max_value=1.25),
    up=st.booleans(),
    gap=st.integers(min_value=1, max_value=60),
)
def test_any_slipped_digit_asks(last: int, digits: int, wobble: float, up: bool, gap: int) -> None:
    count = round(last * 10**digits * wobble) if up else round(last / 10**digits * wobble)
    if abs(count - last) <= 1000:
        return  # a small account's swing
    trend = Trend(last, WEDNESDAY - timedelta(days=gap))
    assert implausible(count, trend, None, today=WEDNESDAY) is not None
    with_trend = Trend(last, WEDNESDAY - timedelta(days=gap), round(last * 0.99), WEDNESDAY - timedelta(days=gap + 7))
    why = implausible(count, with_trend, None, today=WEDNESDAY)
    assert why is not None
    if min(count, last) >= 100:  # (a count of 3 for 2,001 is asked about too, without guessing how many digits)
        assert ("多写" if up else "少写") in why


@settings(max_examples=300, deadline=None)
@given(
    last=st.integers(min_value=1_000, max_value=50_000_000),
    per_day=st.floats(min_value=0, max_value=0.003),
    gap=st.integers(min_value=1, max_value=45),
    noise=st.floats(min_value=-0.05, max_value=0.05),
)
def test_ordinary_growth_never_asks(last: int, per_day: float, gap: int, noise: float) -> None:
    before = round(last / (1 + per_day * 7))
    trend = Trend(last, WEDNESDAY - timedelta(days=gap), before, WEDNESDAY - timedelta(days=gap + 7))
    count = round(last * (1 + per_day * gap + noise))
    assert implausible(count, trend, None, today=WEDNESDAY) is None
    assert implausible(count, Trend(last, WEDNESDAY - timedelta(days=gap)), None, today=WEDNESDAY) is None


# ---------------------------------------------------------------- item 3: days


def test_the_issues_days() -> None:
    with pytest.raises(UserError, match="还没到"):
        parse_date("12月20日", WEDNESDAY)
    assert parse_date("上周五", WEDNESDAY) == date(2026, 12, 4)
    assert parse_date("2019年", WEDNESDAY) == date(2019, 1, 1)
    assert looks_like_date("2019年") and looks_like_date("2019年3月") and looks_like_date("2019-03")
    assert looks_like_date("上周五") and looks_like_date("3天前") and not looks_like_date("2019")


@pytest.mark.parametrize(
    "text,day",
    [
        ("今天", WEDNESDAY),
        ("昨天", date(2026, 12, 8)),
        ("前天", date(2026, 12, 7)),
        ("大前天", date(2026, 12, 6)),
        ("3天前", date(2026, 12, 6)),
        ("十天前", date(2026, 11, 29)),
        ("一周前", date(2026, 12, 2)),
        ("两个星期前", date(2026, 11, 25)),
        ("1个月前", date(2026, 11, 9)),
        ("周三", WEDNESDAY),  # today is Wednesday
        ("周四", date(2026, 12, 3)),
        ("星期日", date(2026, 12, 6)),
        ("上周日", date(2026, 12, 6)),
        ("上上周五", date(2026, 11, 27)),
        ("这周一", date(2026, 12, 7)),
        ("12月9日", WEDNESDAY),
        ("12月9号", WEDNESDAY),
        ("十二月一日", date(2026, 12, 1)),
        ("2026年12月1日", date(2026, 12, 1)),
        ("2025-12-20", date(2025, 12, 20)),
        ("3月1日", date(2026, 3, 1)),
    ],
)
def test_days_people_type(text: str, day: date) -> None:
    assert parse_date(text, WEDNESDAY) == day


@pytest.mark.parametrize("text", ["12月20日", "12-10", "本周五", "这周四", "明天", "2026-12-10", "2027年"])
def test_a_day_to_come_is_refused(text: str) -> None:
    with pytest.raises(UserError, match="还没到"):
        parse_date(text, WEDNESDAY)


def test_last_years_december_early_in_january() -> None:
    assert parse_date("12月20日", date(2027, 1, 5)) == date(2026, 12, 20)
    with pytest.raises(UserError, match="还没到"):
        parse_date("12-01", date(2026, 11, 18))  # 13 days ahead: not moved back a year


@settings(max_examples=300, deadline=None)
@given(today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), back=st.integers(0, 400))
def test_a_day_is_never_moved_to_another_year_than_written_or_into_the_future(today: date, back: int) -> None:
    day = today - timedelta(days=back)
    try:
        got = parse_date(f"{day.month}月{day.day}日", today)
    except UserError as e:
        assert "还没到" in str(e) or "看不懂" in str(e)  # 2月29日 whose year cannot be this one
        return
    assert got <= today and (got.month, got.day) == (day.month, day.day)
    assert got.year == today.year or (today - got).days <= 92
    assert parse_date(f"{day.year}年{day.month}月{day.day}日", today) == day


@settings(max_examples=200, deadline=None)
@given(today=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), wd=st.integers(0, 6))
def test_weekdays_are_the_latest_past_one(today: date, wd: int) -> None:
    name = "一二三四五六日"[wd]
    plain, last = parse_date(f"周{name}", today), parse_date(f"上周{name}", today)
    assert plain.weekday() == wd == last.weekday()
    assert 0 <= (today - plain).days < 7
    assert last < today - timedelta(days=today.weekday()) <= last + timedelta(days=7)


# ---------------------------------------------------------------- item 4: numbers


@pytest.mark.parametrize(
    "text,numbers",
    [("二", [2]), ("2，5", [2, 5]), ("二，五", [2, 5]), ("十一", [11]), ("九十九", [99]), ("一到三", [1, 2, 3])],
)
def test_the_issues_numbers(text: str, numbers: list[int]) -> None:
    assert parse_numbers([text]) == numbers and reads_as_numbers(text)


@settings(max_examples=300, deadline=None)
@given(
    numbers=st.lists(st.integers(1, 99), min_size=1, max_size=8, unique=True),
    seps=st.lists(st.sampled_from([",", "，", "、", " ", "\u3000", "；", ";", " , ", "和"]), min_size=8, max_size=8),
    cn=st.lists(st.booleans(), min_size=8, max_size=8),
    hash_=st.booleans(),
)
def test_any_list_in_any_writing(numbers: list[int], seps: list[str], cn: list[bool], hash_: bool) -> None:
    written = [("#" if hash_ else "") + (chinese(n) if c else str(n)) for n, c in zip(numbers, cn, strict=False)]
    text = written[0] + "".join(s + w for s, w in zip(seps, written[1:], strict=False))
    assert parse_numbers([text]) == numbers
    assert parse_numbers(text.split()) == numbers
    assert leading_numbers([*text.split(), "已发邮箱"]) == (numbers, ["已发邮箱"])


@pytest.mark.parametrize("n", range(1, 100))
def test_every_chinese_number_up_to_99(n: int) -> None:
    assert read_number(chinese(n)) == n and read_number(f"第{chinese(n)}") == n


@pytest.mark.parametrize("text", ["已发邮箱", "3篇", "abc", "一式两份", "99999999999", ""])
def test_words_are_no_numbers(text: str) -> None:
    assert read_number(text) is None and not reads_as_numbers(text)


def test_a_correction_of_a_confirmed_far_off_first_report_is_a_first_report() -> None:
    assert implausible(12_345, None, 80_000, replaced=1_200_000) is None  # 1,200,000 was 15× the target, confirmed
    assert implausible(80_000, None, 1_000_000, replaced=800_000) is not None  # a tenth of a plausible one


def test_a_fast_trend_does_not_hide_a_collapse() -> None:
    trend = Trend(20_000, WEDNESDAY - timedelta(days=7), 10_000, WEDNESDAY - timedelta(days=14))
    assert implausible(5_000, trend, None, today=WEDNESDAY) is not None
    assert implausible(30_000, trend, None, today=WEDNESDAY) is None  # the trend said so
    assert implausible(200_000, trend, None, today=WEDNESDAY) is not None  # a slipped digit all the same
