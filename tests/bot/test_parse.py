"""Pure parsers of what users type: arguments, times, counts, dates, platforms, categories."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.names import check_name
from bot.parse import TIME_FORMS, parse_count, parse_date, parse_time, split_args
from bot.vocab import CATEGORIES, PLATFORMS, category_or_none, parse_category, parse_platform, platform_or_none

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 18 November 2026, 10:00 in Shanghai
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


# ---------------------------------------------------------------- split_args


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("郑州大学 本科高校 郑州", ["郑州大学", "本科高校", "郑州"]),
        ("  多个   空格\t分隔 ", ["多个", "空格", "分隔"]),
        ('"郑州 第九中学" 高中 郑州', ["郑州 第九中学", "高中", "郑州"]),
        ("“郑州 第九中学” 高中 郑州", ["郑州 第九中学", "高中", "郑州"]),
        ("通过 “a b”“c d”", ["通过", "a b", "c d"]),
        ("全角\u3000空格", ["全角", "空格"]),
        ("", []),
        ("[CQ:at,qq=all] 高中", ["[CQ:at,qq=all]", "高中"]),
    ],
)
def test_split_args_spaces_and_quotes(text: str, args: list[str]) -> None:
    assert split_args(text) == args


@pytest.mark.parametrize("text", ['"郑州 第九中学 高中', "“郑州 第九中学 高中", "a “b"])
def test_unclosed_quote_is_refused_with_how_to_quote(text: str) -> None:
    with pytest.raises(UserError, match="引号"):
        split_args(text)


def test_ten_thousand_characters_are_refused_quickly() -> None:
    with pytest.raises(UserError, match="太长"):
        split_args("郑" * 10_000)
    with pytest.raises(UserError, match="太长"):
        split_args('"' + "a b " * 2_500)


def test_control_characters_are_dropped() -> None:
    assert split_args("郑州\x00大学\x07 高中") == ["郑州大学", "高中"]


# ---------------------------------------------------------------- parse_time: every accepted form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25 18:00", at(2026, 11, 25, 18, 0)),
        ("2026/11/25 18:00", at(2026, 11, 25, 18, 0)),
        ("11-25 18:00", at(2026, 11, 25, 18, 0)),
        ("11月25日18:00", at(2026, 11, 25, 18, 0)),
        ("11月25日 18:00", at(2026, 11, 25, 18, 0)),
        ("11月25日18：00", at(2026, 11, 25, 18, 0)),
        ("11月25日18时", at(2026, 11, 25, 18, 0)),
        ("11月25日", at(2026, 11, 25, 23, 59)),
        ("明天18点", at(2026, 11, 19, 18, 0)),
        ("明天 18:00", at(2026, 11, 19, 18, 0)),
        ("今晚8点", at(2026, 11, 18, 20, 0)),
        ("后天", at(2026, 11, 20, 23, 59)),
        ("30分钟后", at(2026, 11, 18, 10, 30)),
        ("3小时后", at(2026, 11, 18, 13, 0)),
        ("3天后", at(2026, 11, 21, 10, 0)),
        ("周五17:30", at(2026, 11, 20, 17, 30)),
        ("周五 17:30", at(2026, 11, 20, 17, 30)),
        ("下午3点", at(2026, 11, 18, 15, 0)),
    ],
)
def test_parse_time_accepts_every_form(text: str, expected: datetime) -> None:
    got = parse_time(text, NOW)
    assert got == expected
    assert got.utcoffset() == expected.utcoffset()


def test_a_day_just_gone_is_past_not_next_year() -> None:
    # issue 13 item 1: a deadline just past is an error, never silently next year
    for text in ("11月17日", "11-17 09:00"):
        with pytest.raises(UserError, match="已经过去了"):
            parse_time(text, NOW)
    # a day long gone this year is the one ahead (within ten months)
    assert parse_time("3月1日", NOW) == at(2027, 3, 1, 23, 59)


def test_weekday_that_passed_this_week_means_next_week() -> None:
    friday_evening = at(2026, 11, 20, 18, 0)
    assert parse_time("周五17:30", friday_evening) == at(2026, 11, 27, 17, 30)
    # Wednesday 10:00: 周三9点 has passed today, 周三11点 has not
    assert parse_time("周三9点", NOW) == at(2026, 11, 25, 9, 0)
    assert parse_time("周三11点", NOW) == at(2026, 11, 18, 11, 0)


def test_today_at_end_of_day_is_still_the_future() -> None:
    assert parse_time("11月18日", NOW) == at(2026, 11, 18, 23, 59)


@pytest.mark.parametrize("text", ["2026-11-17 18:00", "2025-01-01 08:00", "8点", "今天9点"])
def test_past_time_is_refused_and_the_forms_are_shown(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_time(text, NOW)
    msg = str(info.value)
    assert "过去" in msg
    assert TIME_FORMS in msg


def test_past_time_is_accepted_when_allowed() -> None:
    assert parse_time("2026-11-17 18:00", NOW, allow_past=True) == at(2026, 11, 17, 18, 0)


@pytest.mark.parametrize(
    "text",
    ["", "随便什么时候", "abc", "25:00", "11-31 18:00", "13月1日", "明天25点", "11月25日18:61", "2月30日", "1.5小时后"],
)
def test_unreadable_time_is_refused_and_the_forms_are_shown(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_time(text, NOW)
    msg = str(info.value)
    assert "看不懂" in msg
    assert TIME_FORMS in msg
    for form in ("2026-11-25 18:00", "11月25日18时", "明天18点", "30分钟后", "周五17:30"):
        assert form in msg


# ---------------------------------------------------------------- parse_count


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12345", 12345),
        ("12,345", 12345),
        ("12，345", 12345),
        ("1.2万", 12_000),
        ("12.3w", 123_000),
        ("12.3W", 123_000),
        ("3千", 3_000),
        ("120万+", 1_200_000),
        ("120万＋", 1_200_000),
        ("1.5k", 1_500),
        ("1亿", 100_000_000),
        (" 42 ", 42),
        ("0", 0),
    ],
)
def test_parse_count_accepts_the_forms(text: str, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "abc", "-3", "1e5", "万", "万万", "1.2.3万", "12 345 678 9999999"])
def test_parse_count_refuses_garbage_with_examples(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_count(text)
    assert "12345" in str(info.value) or "太大" in str(info.value)


def test_parse_count_refuses_fractions_without_a_unit() -> None:
    with pytest.raises(UserError, match="整数"):
        parse_count("1.5")


# ---------------------------------------------------------------- parse_date

TODAY = date(2026, 11, 18)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("20260301", date(2026, 3, 1)),
        ("3月1日", date(2026, 3, 1)),
        ("11-15", date(2026, 11, 15)),
        ("01-10", date(2026, 1, 10)),  # no year: this year's
        ("今天", TODAY),
        ("昨天", date(2026, 11, 17)),
        ("前天", date(2026, 11, 16)),
    ],
)
def test_parse_date(text: str, day: date) -> None:
    assert parse_date(text, TODAY) == day


@pytest.mark.parametrize("text", ["abc", "13-45", "2026-02-30", ""])
def test_parse_date_refuses_garbage(text: str) -> None:
    with pytest.raises(UserError, match="看不懂日期"):
        parse_date(text, TODAY)


def test_parse_date_refuses_the_future() -> None:
    with pytest.raises(UserError, match="还没到"):
        parse_date("2027-01-01", TODAY)


# ---------------------------------------------------------------- platforms and categories


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("微信公众号", "微信公众号"),
        ("微信", "微信公众号"),
        ("公众号", "微信公众号"),
        ("微博", "微博"),
        ("抖音", "抖音"),
        ("头条", "头条号"),
        ("头条号", "头条号"),
        ("视频号", "视频号"),
        ("快手", "快手"),
        ("B站", "B站"),
        ("b站", "B站"),
        ("哔哩哔哩", "B站"),
        ("bilibili", "B站"),
        ("BiliBili", "B站"),
        ("百家号", "百家号"),
        ("小红书", "小红书"),
        ("客户端", "客户端"),
        ("APP", "客户端"),
        ("app", "客户端"),
        ("网站", "网站"),
        ("其他", "其他"),
    ],
)
def test_platforms_and_aliases(text: str, platform: str) -> None:
    assert platform_or_none(text) == platform
    assert parse_platform(text) == platform


SPEC_PLATFORMS = [
    "微信公众号",
    "微博",
    "抖音",
    "头条号",
    "视频号",
    "快手",
    "B站",
    "百家号",
    "小红书",
    "客户端",
    "网站",
    "其他",
]
"""The platforms as the spec lists them, in its order (written out here, not read from bot.vocab)."""


def test_every_platform_of_the_spec_is_known() -> None:
    assert list(PLATFORMS) == SPEC_PLATFORMS


def test_unknown_platform_lists_the_platforms() -> None:
    assert platform_or_none("脸书") is None
    with pytest.raises(UserError) as info:
        parse_platform("脸书")
    for p in PLATFORMS:
        assert p in str(info.value)


def test_categories_and_aliases() -> None:
    spec = [
        "省直单位",
        "市教育局",
        "县区教育局",
        "本科高校",
        "高职高专",
        "中职学校",
        "高中",
        "初中",
        "小学",
        "幼儿园",
        "其他",
    ]
    assert list(CATEGORIES) == spec
    for c in spec:
        assert parse_category(c) == c
    assert category_or_none("高职") == "高职高专"
    assert category_or_none("县局") == "县区教育局"
    assert category_or_none("其它") == "其他"
    assert category_or_none("大专院校其他") is None
    with pytest.raises(UserError) as info:
        parse_category("培训机构")
    assert all(c in str(info.value) for c in spec)


def test_check_name() -> None:
    assert check_name("  郑州大学 ") == "郑州大学"
    with pytest.raises(UserError, match="不能为空"):
        check_name("   ", "单位名称")
    with pytest.raises(UserError, match="太长"):
        check_name("长" * 61)
    with pytest.raises(UserError, match="换行"):
        check_name("两行\n名称")


# ---------------------------------------------------------------- nothing but UserError, whatever is typed

_TYPED = st.text(
    st.sampled_from(
        list('0123456789１２-/.: 年月日号时点分半后天周星期一二三五十今明晚下午个小钟头早上+万千wk,，“”" \t\x00')
    ),
    max_size=16,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TYPED, st.text(max_size=16)))
def test_whatever_is_typed_the_parsers_answer_or_raise_user_error(text: str) -> None:
    try:
        got = parse_time(text, NOW)
    except UserError:
        pass
    else:
        assert got > NOW and got.tzinfo is not None
    for parse in (parse_count, lambda t: parse_date(t, TODAY), split_args):
        try:
            parse(text)
        except UserError:
            pass
