"""Issue 13: what busy office workers type means what they meant (dates, options, scopes, counts, lists)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.broadcasts.parse import parse_draft
from bot.errors import UserError
from bot.parse import looks_like_date, parse_count, parse_date, parse_numbers, parse_time
from bot.returns.parse import parse_new
from bot.vocab import categories_of, parse_category

TZ = ZoneInfo("Asia/Shanghai")
DEC1 = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)  # the day the demo was played
JAN10 = datetime(2027, 1, 10, 10, 0, tzinfo=TZ)


# ---------------------------------------------------------------- item 1: a past date never moves to next year


@pytest.mark.parametrize("text", ["11-30 18:00", "11月25日", "11/30", "11月30日18时", "10-15", "10月2日"])
def test_a_date_just_past_is_an_error_not_next_year(text: str) -> None:
    with pytest.raises(UserError, match="已经过去了"):
        parse_time(text, DEC1)


def test_the_exact_input_of_the_issue_is_refused_by_statfa() -> None:
    for text in ("11-30 18:00", "11月25日"):
        with pytest.raises(UserError, match="已经过去了"):
            parse_draft(["测试", "https://a.cn/9", "截止", *text.split()], DEC1, timedelta(hours=24))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-25", datetime(2026, 12, 25, 23, 59, tzinfo=TZ)),
        ("1月5日 9点", datetime(2027, 1, 5, 9, 0, tzinfo=TZ)),
        ("3月1日", datetime(2027, 3, 1, 23, 59, tzinfo=TZ)),
        ("9-1 18:00", datetime(2027, 9, 1, 18, 0, tzinfo=TZ)),
    ],
)
def test_a_date_ahead_within_ten_months_is_read(text: str, expected: datetime) -> None:
    assert parse_time(text, DEC1) == expected


def test_a_date_just_past_across_new_year_is_an_error() -> None:
    with pytest.raises(UserError, match="已经过去了"):
        parse_time("12-30", JAN10)
    assert parse_time("2-1", JAN10) == datetime(2027, 2, 1, 23, 59, tzinfo=TZ)


# ---------------------------------------------------------------- item 2: options before the link


def test_options_before_the_link_are_options_not_title() -> None:
    d = parse_draft(["顺序", "截止", "明天18点", "https://a.cn/o"], DEC1, timedelta(hours=24))
    assert d.title == "顺序" and d.url == "https://a.cn/o"
    assert d.deadline == datetime(2026, 12, 2, 18, 0, tzinfo=TZ)


def test_every_option_may_come_before_or_after_the_link() -> None:
    args = ["学习", "精神", "范围", "高校", "要求", "转发,点赞", "https://a.cn/o", "截止明天18点"]
    d = parse_draft(args, DEC1, timedelta(hours=24))
    assert d.title == "学习 精神" and d.scope == ("高校",) and d.requirements == ("转发", "点赞")
    assert d.deadline == datetime(2026, 12, 2, 18, 0, tzinfo=TZ)
    d = parse_draft(["截止日期调整通知", "https://a.cn/o"], DEC1, timedelta(hours=24))
    assert d.title == "截止日期调整通知"
    d = parse_draft(["https://a.cn/o", "学习", "精神", "截止", "明天18点"], DEC1, timedelta(hours=24))
    assert d.title == "学习 精神" and d.deadline == datetime(2026, 12, 2, 18, 0, tzinfo=TZ)
    d = parse_draft(["截止", "明天18点", "https://a.cn/o", "顺序"], DEC1, timedelta(hours=24))
    assert d.title == "顺序" and d.deadline == datetime(2026, 12, 2, 18, 0, tzinfo=TZ)


def test_return_options_in_any_order() -> None:
    new = parse_new(["统计表", "范围", "高校", "截止", "明天18点"], DEC1)
    assert new.title == "统计表" and new.scope == "高校" and new.deadline == datetime(2026, 12, 2, 18, 0, tzinfo=TZ)


# ---------------------------------------------------------------- item 3: words that cover several categories


def test_words_covering_several_categories_expand() -> None:
    assert categories_of("高校") == ("本科高校", "高职高专")
    assert categories_of("中小学") == ("高中", "初中", "小学")
    assert categories_of("教育局") == ("市教育局", "县区教育局")
    assert categories_of("本科") == ("本科高校",)


def test_where_one_category_is_needed_a_wide_word_is_asked_about() -> None:
    with pytest.raises(UserError, match="本科高校、高职高专"):
        parse_category("高校")


# ---------------------------------------------------------------- item 4: a date where an ID was expected


@pytest.mark.parametrize("text", ["2023/9/1", "2023-09-01", "2012年5月", "2012-05", "2023年9月1日", "９月１日"])
def test_plain_dates_look_like_dates(text: str) -> None:
    assert looks_like_date(text)


@pytest.mark.parametrize("text", ["hnkjdx", "12345678", "gh_12ab", "河科大视频号", "2023"])
def test_ids_do_not_look_like_dates(text: str) -> None:
    assert not looks_like_date(text)


def test_month_only_dates_mean_the_first() -> None:
    assert parse_date("2012年5月", date(2026, 12, 1)) == date(2012, 5, 1)
    assert parse_date("2012-05", date(2026, 12, 1)) == date(2012, 5, 1)


# ---------------------------------------------------------------- item 12: numbers people type


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("1.5万人", 15000),
        ("一万", 10000),
        ("１．３万", 13000),
        ("两万五千", 25000),
        ("两万五", 25000),
        ("1万5", 15000),
        ("约1.2万", 12000),
        ("一亿五千万", 150_000_000),
        ("120万+", 1_200_000),
        ("3000粉丝", 3000),
    ],
)
def test_counts_people_type(text: str, n: int) -> None:
    assert parse_count(text) == n


@pytest.mark.parametrize("text", ["1-3", "1,2,3", "1、2、3", "1 2 3", "#1 #2 #3", "1～3", "１-３"])
def test_number_lists(text: str) -> None:
    assert parse_numbers(text.split()) == [1, 2, 3]


def test_all_is_none_and_garbage_is_refused() -> None:
    assert parse_numbers(["全部"]) is None
    with pytest.raises(UserError, match="1-3"):
        parse_numbers(["郑大"])
    with pytest.raises(UserError):
        parse_numbers(["全部"], allow_all=False)
