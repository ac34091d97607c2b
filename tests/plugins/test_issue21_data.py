"""Issue 21 items 1, 3 and 4 through NoneBot's handlers: slipped digits in follower counts, dates, typed numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nonebug import App as NBApp

from bot import clock
from bot.app import App
from tests.bot.test_followers import make_unit
from tests.conftest import say, sent
from tests.fake import ADMIN, GROUP, group_msg

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=TZ)  # the simulated week: 7–11 December 2026
WEDNESDAY = MONDAY + timedelta(days=2)  # 12月9日
HSD, HNAU, NY, HENU = 20011, 20012, 20013, 20014


@pytest.fixture
async def week(core: App) -> App:
    clock.set_tz(TZ)
    clock.freeze(MONDAY)
    await make_unit(
        core,
        "河南师范大学",
        "本科高校",
        "新乡",
        str(HSD),
        (("微信公众号", "河南师范大学"), ("微博", "河南师范大学")),
        students=40000,
    )
    await make_unit(core, "河南农业大学", "本科高校", "郑州", str(HNAU), (("抖音", "河南农业大学"),), students=30000)
    await make_unit(core, "南阳市教育局", "市教育局", "南阳", str(NY), (("微信公众号", "南阳教育"),))
    await make_unit(core, "河南大学", "本科高校", "开封", str(HENU))
    await sent(core)
    return core


async def ask(nb: NBApp, app: App, text: str, user: int) -> str:
    out = await say(nb, app, group_msg(text, user))
    assert out, f"no answer to {text!r}"
    return out[0]["text"]


async def counts(app: App, unit: str) -> list[int]:
    uid = (await app.units.resolve(unit)).id
    return [c for c, _ in (await app.followers.latest_for_unit(uid)).values()]


# ---------------------------------------------------------------- item 1: a slipped digit asks first


@pytest.mark.parametrize(
    "user,unit,platform,before,typed",
    [
        (HSD, "河南师范大学", "微信", "68000", "680000"),  # exactly 10×
        (HNAU, "河南农业大学", "抖音", "205000", "2050000"),  # exactly 10×
        (HSD, "河南师范大学", "微信", "91000", "9100"),  # exactly a tenth
        (HSD, "河南师范大学", "微信", "68000", "6800000"),  # 100×
        (HSD, "河南师范大学", "微信", "68000", "680"),  # a hundredth
        (HNAU, "河南农业大学", "抖音", "205000", "2005000"),  # a digit slipped in: 9.8×
        (HNAU, "河南农业大学", "抖音", "205000", "25000"),  # a digit left out
        (HSD, "河南师范大学", "微信", "68000", "86000"),  # two digits swapped: far from the trend
    ],
)
async def test_a_slipped_digit_is_not_recorded_until_confirmed(
    app: NBApp, week: App, user: int, unit: str, platform: str, before: str, typed: str
) -> None:
    assert "已记录" in await ask(app, week, f"/粉丝 {platform} {before}", user)
    clock.advance(timedelta(days=2))  # Wednesday
    assert "已记录" in await ask(app, week, f"/粉丝 {platform} {int(before) + 300}", user)
    clock.advance(timedelta(days=1))
    text = await ask(app, week, f"/粉丝 {platform} {typed}", user)
    assert "还没有记录" in text and f"{int(typed):,}" in text and "确认" in text, text
    assert "已记录" not in text and "今天再发一次即可更正" not in text
    assert await counts(week, unit) == [int(before) + 300]  # nothing stored
    text = await ask(app, week, "确认", user)
    assert "已记录" in text and f"粉丝 {int(typed):,}" in text
    assert await counts(week, unit) == [int(typed)]


async def test_the_question_says_what_looks_wrong(app: NBApp, week: App) -> None:
    await ask(app, week, "/粉丝 微信 68000", HSD)
    clock.advance(timedelta(days=2))
    text = await ask(app, week, "/粉丝 微信 680000", HSD)
    assert "是上次（68,000）的 10 倍" in text and "多写了一位" in text
    text = await ask(app, week, "/粉丝 微信 6800", HSD)  # a new report replaces the one waiting
    assert "比上次（68,000）少了 90%" in text and "少写了一位" in text
    text = await ask(app, week, "/粉丝 微信 68,500", HSD)  # the right number: recorded, nothing waits
    assert "已记录" in text
    assert await say(app, week, group_msg("确认", HSD)) == []


async def test_a_same_day_correction_is_checked_too(app: NBApp, week: App) -> None:
    """南阳 800,000 then `8000000` the same day went straight in."""
    clock.freeze(WEDNESDAY)
    assert "已记录" in await ask(app, week, "/粉丝 微信 800000", NY)
    text = await ask(app, week, "/粉丝 微信 8000000", NY)
    assert "还没有记录" in text and "800,000" in text and "8,000,000" in text
    assert await counts(week, "南阳市教育局") == [800_000]
    text = await ask(app, week, "/粉丝 微信 810000", NY)  # a small correction goes in
    assert "已更正今天的报送：800,000 → 810,000" in text
    # a correction is compared with the days before: 810,000 yesterday, 8,100,000 today then 8,200,000
    clock.advance(timedelta(days=1))
    assert "还没有记录" in await ask(app, week, "/粉丝 微信 8100000", NY)
    assert "已记录" in await ask(app, week, "/粉丝 微信 8100000 确认", NY)  # repeat with 确认
    assert "还没有记录" not in await ask(app, week, "/粉丝 微信 812000", NY)  # back to the trend: no question


async def test_the_command_repeated_with_confirm_records_it(app: NBApp, week: App) -> None:
    await ask(app, week, "/粉丝 抖音 205000", HNAU)
    clock.advance(timedelta(days=3))
    assert "还没有记录" in await ask(app, week, "/粉丝 抖音 2050000", HNAU)
    text = await ask(app, week, "/粉丝 确认 抖音 2050000", HNAU)
    assert "已记录" in text and "2,050,000" in text
    assert await counts(week, "河南农业大学") == [2_050_000]


async def test_ordinary_growth_and_small_accounts_need_no_question(app: NBApp, week: App) -> None:
    await ask(app, week, "/粉丝 微信 68000", HSD)
    for day, value in ((3, "68,400"), (3, "6.9万"), (7, "70200"), (7, "71000")):
        clock.advance(timedelta(days=day))
        text = await ask(app, week, f"/粉丝 微信 {value}", HSD)
        assert "已记录" in text, (value, text)
    await ask(app, week, "/粉丝 微博 120", HSD)
    clock.advance(timedelta(days=1))
    assert "已记录" in await ask(app, week, "/粉丝 微博 900", HSD)  # tiny accounts swing freely


async def test_the_monthly_ranking_keeps_the_slip_out(app: NBApp, week: App) -> None:
    await ask(app, week, "/粉丝 抖音 205000", HNAU)
    await ask(app, week, "/粉丝 微信 68000", HSD)
    clock.advance(timedelta(days=2))
    await ask(app, week, "/粉丝 抖音 2050000", HNAU)  # asked, never confirmed
    out = await say(app, week, group_msg("/粉丝 排行 文字", HENU))
    assert "205.91万" not in out[0]["text"] and "20.5万" in out[0]["text"]


# ---------------------------------------------------------------- item 3: dates


async def test_a_post_date_in_the_future_is_refused_not_moved_back_a_year(app: NBApp, week: App) -> None:
    clock.freeze(WEDNESDAY)
    text = await ask(app, week, "/更新 微信 12月20日", HSD)
    assert "已记录" not in text and "354 天前" not in text and "12月20日" in text and "还没到" in text
    async with week.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM post_reports") == 0
    out = await say(app, week, group_msg("/僵尸号", ADMIN))
    assert "354" not in out[0]["text"]


@pytest.mark.parametrize(
    "typed,day",
    [
        ("上周五", "12月4日"),
        ("周五", "12月4日"),
        ("上星期五", "12月4日"),
        ("上个周一", "11月30日"),
        ("周一", "12月7日"),
        ("本周一", "12月7日"),
        ("今天", "12月9日"),
        ("昨天", "12月8日"),
        ("前天", "12月7日"),
        ("3天前", "12月6日"),
        ("三天前", "12月6日"),
        ("12月1日", "12月1日"),
        ("12.1", "12月1日"),
    ],
)
async def test_relative_days_are_dates(app: NBApp, week: App, typed: str, day: str) -> None:
    clock.freeze(WEDNESDAY)
    text = await ask(app, week, f"/更新 微博 {typed}", HSD)
    assert f"河南师范大学 微博“河南师范大学” 最近一次更新是 {day}" in text, text


async def test_this_weeks_friday_not_yet_come_is_refused(app: NBApp, week: App) -> None:
    clock.freeze(WEDNESDAY)
    text = await ask(app, week, "/更新 微博 本周五", HSD)
    assert "还没到" in text and "已记录" not in text and "没有微博账号" not in text


async def test_last_decembers_date_in_january_is_last_year(app: NBApp, week: App) -> None:
    clock.freeze(datetime(2027, 1, 5, 10, 0, tzinfo=TZ))
    text = await ask(app, week, "/更新 微信 12月20日", HSD)
    assert "2026年12月20日（16 天前）" in text


@pytest.mark.parametrize(
    "typed,stored", [("2019年", "2019-01-01"), ("2019年3月", "2019-03-01"), ("2019-03", "2019-03-01")]
)
async def test_a_year_is_an_opening_date_not_an_id(app: NBApp, week: App, typed: str, stored: str) -> None:
    text = await ask(app, week, f"/账号 登记 抖音 河南大学 {typed}", HENU)
    assert "已记录开设备案" in text
    async with week.db.read() as tx:
        row = await tx.one("SELECT uid, opened_on FROM accounts WHERE name='河南大学'")
    assert (row["uid"], row["opened_on"]) == ("", stored)
    out = await say(app, week, group_msg("/账号 列表 河南大学", HENU))
    assert "ID 2019" not in out[0]["text"]


# ---------------------------------------------------------------- item 4: typed numbers


async def returns(app: NBApp, core: App, n: int) -> None:
    for i in range(n):
        out = await say(app, core, group_msg(f"/报送 新建 统计表{i + 1} 截止 12月20日18:00", ADMIN))
        assert any(o["text"].startswith("【报送】") for o in out), out


@pytest.mark.parametrize("typed", ["二", "#二", "第二", "２", "2号"])
async def test_a_return_number_in_chinese_is_read(app: NBApp, week: App, typed: str) -> None:
    await returns(app, week, 3)
    text = await ask(app, week, f"/已报送 {typed}", HSD)
    assert "已记录" in text and "#2" in text, text


async def broadcasts(app: NBApp, core: App, n: int) -> None:
    for i in range(n):
        out = await say(app, core, group_msg(f"/统发 文章{i + 1} https://mp.weixin.qq.com/s/a{i} 截止 3天后", ADMIN))
        assert any("已发布统发" in o["text"] for o in out), out


async def confirmed(core: App) -> list[int]:
    async with core.db.read() as tx:
        return [r[0] for r in await tx.all("SELECT task_id FROM broadcast_confirmations ORDER BY task_id")]


@pytest.mark.parametrize("typed", ["2，5", "2,5", "2、5", "2 5", "2\u30005", "二，五", "二 五", "2；5", "2和5"])
async def test_several_broadcasts_confirmed_with_any_separator(app: NBApp, week: App, typed: str) -> None:
    await broadcasts(app, week, 5)
    text = await ask(app, week, f"/已转发 {typed}", HSD)
    assert "请写出编号" not in text and "#2" in text and "#5" in text, text
    assert await confirmed(week) == [2, 5]


async def test_several_returns_submitted_at_once(app: NBApp, week: App) -> None:
    await returns(app, week, 3)
    text = await ask(app, week, "/已报送 一、三", HSD)
    assert "#1" in text and "#3" in text and "#2" not in text, text
    text = await ask(app, week, "/报送 进度 十", ADMIN)
    assert "10" in text and "请写出编号" not in text


async def test_admin_lists_of_numbers_take_chinese_numerals(app: NBApp, week: App) -> None:
    ids = [
        (await week.units.registrations.apply(str(u), f"用户{u}", str(GROUP), "河南大学"))[0].id
        for u in (30001, 30002, 30003)
    ]
    assert ids == [5, 6, 7]
    await sent(week)
    text = await ask(app, week, "/审核 通过 五，六　七", ADMIN)
    assert "3" in text and "应是数字" not in text, text
    assert all([await week.units.registrations.operator(str(u)) for u in (30001, 30002, 30003)])
