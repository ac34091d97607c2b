"""/粉丝, /粉丝 排行, /粉丝 目标, /更新 and /僵尸号 through NoneBot's handlers (nonebug)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from nonebug import App as NBApp

from bot import clock, sandbox
from bot.app import App
from bot.pictures import Pictures
from bot.readouts.drawn_ahead import draw_follower_views
from tests.bot.test_followers import MONDAY, make_unit, two_universities
from tests.conftest import NEEDS_FONT, say
from tests.fake import ADMIN, group_msg, private_msg

ZZU, HENU = 20001, 20002


@pytest.fixture
async def world(core: App) -> App:
    clock.freeze(MONDAY)
    await two_universities(core, ZZU, HENU)
    return core


async def ask(nb: NBApp, app: App, text: str, user: int, *, private: bool = False) -> dict:
    out = await say(nb, app, private_msg(text, user) if private else group_msg(text, user))
    assert out, f"no answer to {text!r}"
    return out[0]


async def test_report_replies_with_the_change_and_the_target(app: NBApp, world: App) -> None:
    first = await ask(app, world, "/粉丝 抖音 1.2万", HENU)
    assert first["ats"] == [str(HENU)]
    assert "已记录" in first["text"] and "12,000" in first["text"] and "第一次" in first["text"]
    assert "目标 8万" in first["text"] and "15.0%" in first["text"]
    clock.advance(timedelta(days=7))
    second = await ask(app, world, "/粉丝 河南大学 12,345", HENU)
    assert "比上次（3月16日 12,000）+345" in second["text"]
    assert "15.4%" in second["text"] and "还差 6.77万" in second["text"]


@pytest.mark.parametrize(
    "form,shown", [("12.3w", "123,000"), ("3千", "3,000"), ("120万+", "1,200,000"), ("12,345", "12,345")]
)
async def test_every_count_form_is_understood(app: NBApp, world: App, form: str, shown: str) -> None:
    out = await ask(app, world, f"/粉丝 抖音 {form}", HENU)
    assert f"粉丝 {shown}" in out["text"]


async def test_same_day_correction_says_so(app: NBApp, world: App) -> None:
    await ask(app, world, "/粉丝 抖音 1000", HENU)
    out = await ask(app, world, "/粉丝 抖音 1100", HENU)
    assert "已更正今天的报送：1,000 → 1,100" in out["text"]


async def test_another_units_account_and_bad_input_are_refused(app: NBApp, world: App) -> None:
    out = await ask(app, world, "/粉丝 郑大青年 5000", HENU)
    assert "郑州大学" in out["text"] and "本单位" in out["text"] and "已记录" not in out["text"]
    out = await ask(app, world, "/粉丝 微信 5000", ZZU)
    assert "郑大青年" in out["text"] and "郑州大学" in out["text"] and "已记录" not in out["text"]
    out = await ask(app, world, "/粉丝 抖音", HENU)
    assert "12345" in out["text"]
    out = await ask(app, world, "/粉丝 抖音 很多", HENU)
    assert "不是粉丝数" in out["text"] and "1.2万" in out["text"]
    out = await ask(app, world, "/粉丝 抖音 100", 777)
    assert "/注册" in out["text"]
    async with world.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM follower_reports") == 0


async def test_ranking_is_cut_in_the_group_and_whole_in_private(app: NBApp, world: App) -> None:
    for i in range(14):
        op = str(30000 + i)
        await make_unit(world, f"[CQ:at,qq=all]第{i}中学", "高中", "郑州", op, (("抖音", f"中学{i}"),))
        await world.followers.report(op, ["抖音"], str(1000 * (i + 1)))
    await ask(app, world, "/粉丝 抖音 500", HENU)
    out = await ask(app, world, "／粉丝 排行", HENU)
    text = out["text"]
    assert "粉丝排行 · 全部平台 · 全部类别 · 本月（3月）" in text
    assert "1. [CQ:at,qq=all]第13中学 1.4万" in text
    assert "另有 5 个单位未列出" in text and "河南大学" not in text
    assert "all" not in out["ats"] and out["ats"] == [str(HENU)]
    whole = await ask(app, world, "/粉丝 排行", HENU, private=True)
    assert "15. 河南大学 500" in whole["text"] and "未列出" not in whole["text"]
    only = await ask(app, world, "/粉丝 排行 本科高校 抖音 上月", HENU)
    assert "抖音 · 本科高校 · 上月（2月）" in only["text"] and "还没有单位报送" in only["text"]
    bad = await ask(app, world, "/粉丝 排行 最近", HENU)
    assert "看不懂“最近”" in bad["text"]


async def test_targets_of_a_unit_a_category_and_all(app: NBApp, world: App) -> None:
    await ask(app, world, "/粉丝 郑大青年 3千", ZZU)
    mine = await ask(app, world, "/粉丝 目标", ZZU)
    assert "郑州大学 粉丝目标 10万（本科高校，在校生超过2万人）" in mine["text"]
    assert "微信公众号“郑大青年” 3,000（3月16日）" in mine["text"] and "抖音“郑州大学” 未报送" in mine["text"]
    other = await ask(app, world, "/粉丝 目标 河南大学", ZZU)
    assert "河南大学 粉丝目标 8万" in other["text"]
    cat = await ask(app, world, "/粉丝 目标 本科高校", 777)
    assert "本科高校 粉丝目标完成情况（达标 0/2）" in cat["text"] and "河南大学 未报送" in cat["text"]
    overview = await ask(app, world, "/粉丝 目标", 777)
    assert "本科高校：在校生超过2万人 10万，其他 8万 — 达标 0/2，已报送 1" in overview["text"]
    status = await ask(app, world, "/粉丝", ZZU)
    assert "郑州大学" in status["text"] and "用法" in status["text"]


async def test_post_updates_and_the_stale_watch(app: NBApp, world: App) -> None:
    out = await ask(app, world, "/更新 抖音", HENU)
    assert "河南大学 抖音“河南大学” 最近一次更新是 3月16日（今天）" in out["text"]
    out = await ask(app, world, "/更新 微信 郑大青年 3月10日", ZZU)
    assert "3月10日（6 天前）" in out["text"]
    out = await ask(app, world, "/更新 抖音 明年", HENU)
    assert "明年" in out["text"] and "已记录" not in out["text"]
    refused = await ask(app, world, "/僵尸号", ZZU)
    assert "只有管理员" in refused["text"]
    clock.advance(timedelta(days=40))
    await ask(app, world, "/粉丝 抖音 100", HENU)
    out = await ask(app, world, "/僵尸号", ADMIN)
    text = out["text"]
    assert "国办秘函〔2019〕19号" in text
    assert "【僵尸号：14 天及以上没有更新】2 个单位 4 个账号" in text
    assert "郑州大学：" in text and "微信公众号“郑大青年”（最后更新 3月10日，46 天）" in text
    assert "【预警：10–13 天没有更新】0 个单位 0 个账号：无" in text
    assert "【14 天以上没有报送粉丝数】1 个单位 3 个账号" in text and "从未报送粉丝数" in text
    await ask(app, world, "/更新 抖音 4月14日", HENU)  # 11 days ago: past the warning line, not yet 僵尸号
    text = (await ask(app, world, "/僵尸号", ADMIN))["text"]
    assert "【僵尸号：14 天及以上没有更新】1 个单位 3 个账号" in text
    assert "【预警：10–13 天没有更新】1 个单位 1 个账号\n河南大学：抖音“河南大学”（最后更新 4月14日，11 天）" in text
    out = await ask(app, world, "/僵尸号 60", ADMIN)
    assert "没有找到" in out["text"]
    out = await ask(app, world, "/僵尸号 很久", ADMIN)
    assert "天数" in out["text"]


async def test_help_explains_the_commands(app: NBApp, world: App) -> None:
    out = await ask(app, world, "/帮助 粉丝", HENU)
    assert "/粉丝 排行" in out["text"] and "120万+" in out["text"]
    out = await ask(app, world, "/帮助", ADMIN)
    assert "/僵尸号" in out["text"] and "/更新" in out["text"]


async def test_a_first_report_far_above_the_target_is_recorded_only_once_confirmed(app: NBApp, world: App) -> None:
    """Issue 13 item 20: `120万+` for a unit with nothing before went straight to 完成 1200.0%，已达标."""
    out = await ask(app, world, "/粉丝 抖音 120万+", ZZU)
    assert "还没有记录" in out["text"] and "1,200,000" in out["text"] and "目标（10万）的 12 倍" in out["text"]
    assert "1200.0%" not in out["text"] and "已达标" not in out["text"]
    assert await world.followers.latest_for_unit((await world.units.resolve("郑州大学")).id) == {}
    assert await say(app, world, group_msg("确认", HENU)) == []  # nobody asked 河南大学's operator anything
    out = await ask(app, world, "确认", ZZU)  # one short reply
    assert "已记录" in out["text"] and "1,200,000" in out["text"]
    assert await say(app, world, group_msg("确认", ZZU)) == []  # asked once, confirmed once


async def test_a_tenfold_jump_or_a_90_percent_drop_since_the_last_report_asks_first(app: NBApp, world: App) -> None:
    assert "已记录" in (await ask(app, world, "/粉丝 抖音 1.2万", HENU))["text"]
    clock.advance(timedelta(days=7))
    out = await ask(app, world, "/粉丝 抖音 13万", HENU)  # 10.8× the last report
    assert "还没有记录" in out["text"] and "是上次（12,000）的 11 倍" in out["text"]
    out = await ask(app, world, "/粉丝 抖音 1000", HENU)  # a new report replaces the one waiting
    assert "还没有记录" in out["text"] and "少了 92%" in out["text"]
    out = await ask(app, world, "/粉丝 确认", HENU)
    assert "已记录" in out["text"] and "粉丝 1,000" in out["text"]
    out = await ask(app, world, "/粉丝 确认", HENU)
    assert "没有等你确认的粉丝数" in out["text"]
    clock.advance(timedelta(days=1))
    assert "已记录" in (await ask(app, world, "/粉丝 抖音 1500", HENU))["text"]  # small accounts swing freely


async def test_a_report_between_two_rankings_changes_the_second(app: NBApp, world: App) -> None:
    """The ranking, its ordered lists and its picture are kept between asks: a report in between must show."""
    await ask(app, world, "/粉丝 抖音 500", HENU)
    first = await ask(app, world, "/粉丝 排行", ZZU)
    assert "1. 河南大学 500" in first["text"] and "郑州大学" not in first["text"]
    await ask(app, world, "/粉丝 抖音 1.2万", ZZU)
    second = await ask(app, world, "/粉丝 排行", HENU)
    assert "1. 郑州大学 1.2万" in second["text"] and "2. 河南大学 500" in second["text"], second["text"]
    await ask(app, world, "/粉丝 抖音 600", HENU)  # a correction the same day
    third = await ask(app, world, "/粉丝 排行", ZZU)
    assert "2. 河南大学 600" in third["text"], third["text"]


async def test_a_long_category_of_targets_is_cut_in_the_group_as_the_whole_list_begins(app: NBApp, world: App) -> None:
    for i in range(40):  # more than the group's list limit (30)
        op = str(31000 + i)
        await make_unit(world, f"第{i}高中", "高中", "郑州", op, (("抖音", f"高中{i}"),))
        if i % 3:
            await world.followers.report(op, ["抖音"], str(1000 * (i + 1)))
    cut = (await ask(app, world, "/粉丝 目标 高中 文字", HENU))["text"].strip().splitlines()
    whole = (await ask(app, world, "/粉丝 目标 高中", HENU, private=True))["text"].splitlines()
    assert whole[0] == "高中 粉丝目标完成情况（达标 0/40）：" and len(whole) == 41 and whole[-1].endswith("未报送")
    assert cut[:31] == whole[:31] and cut[31:] == ["……另有 10 个单位未列出（私聊机器人发送同一命令可看全部）"]


def _png(out: dict) -> bytes:
    (image,) = [s for s in out["segments"] if s["type"] == "image"]
    return Path(image["data"]["file"].removeprefix("file://")).read_bytes()


@NEEDS_FONT
async def test_every_asker_gets_the_same_picture_with_their_own_place_in_words(
    app: NBApp, world: App, tmp_path: Path
) -> None:
    """One picture per data for everyone who asks (it was one per asker, with their row highlighted), and the
    asker's own place said before it; a report in between gives a new picture."""
    world.pictures = Pictures(tmp_path / "data")  # the tests' settings turn pictures off
    for i in range(12):
        op = str(32000 + i)
        await make_unit(world, f"第{i}高中", "高中", "郑州", op, (("抖音", f"高中{i}"),))
        await world.followers.report(op, ["抖音"], str(10_000 * (i + 1)))
    first = await ask(app, world, "/粉丝 排行 图片", 32000)
    second = await ask(app, world, "/粉丝 排行 图片", 32011)
    assert _png(first) == _png(second) and world.pictures.rendered == 1
    assert first["text"].strip() == "你的单位 第0高中：按粉丝数第 12 名（1万），按本月（3月）增长第 1 名（±0）。"
    assert second["text"].strip().startswith("你的单位 第11高中：按粉丝数第 1 名（12万）")
    assert (
        first["fallback"].strip().startswith("你的单位 第0高中：按粉丝数第 12 名") and "粉丝排行" in first["fallback"]
    )
    stranger = await ask(app, world, "/粉丝 排行 图片", 777)
    assert _png(stranger) == _png(first) and not stranger["text"].strip()

    targets = await ask(app, world, "/粉丝 目标 高中 图片", 32011)
    assert targets["text"].strip() == "你的单位 第11高中：第 1 名，12万/8万，已达标。"
    other = await ask(app, world, "/粉丝 目标 高中 图片", 32000)
    assert _png(other) == _png(targets) and other["text"].strip() == "你的单位 第0高中：第 12 名，1万/8万，完成 12.5%。"
    assert (await ask(app, world, "/粉丝 目标 高中 图片", HENU))["text"].strip() == ""  # not a 高中: no place

    said = await ask(app, world, "/粉丝 抖音 2.5万", 32000)  # a report between two asks: a new picture, a new place
    assert "已记录" in said["text"]
    again = await ask(app, world, "/粉丝 排行 图片", 32005)
    assert _png(again) != _png(first) and world.pictures.rendered == 3
    mine = await ask(app, world, "/粉丝 排行 图片", 32000)
    assert _png(mine) == _png(again) and world.pictures.rendered == 3
    assert mine["text"].strip().startswith("你的单位 第0高中：按粉丝数第 11 名（2.5万）")


@NEEDS_FONT
async def test_the_views_drawn_ahead_at_a_start_are_not_drawn_again_when_asked(
    app: NBApp, world: App, tmp_path: Path
) -> None:
    """After a start the pictures of the views a member asks by one word are drawn before anyone asks (the first
    questions of the day, each of another view, waited while those were drawn in turn), in the sandbox's child
    process, not in the bot; a view the group gets as text is not drawn; a report makes the next ask draw its view
    again (in the bot)."""
    world.pictures = Pictures(tmp_path / "data")
    s = world.settings
    for i in range(s.alliance_picture_lines + 2):
        op = str(32000 + i)
        await make_unit(world, f"第{i}高中", "高中", "郑州", op, (("抖音", f"高中{i}"),))
        await world.followers.report(op, ["抖音"], str(10_000 * (i + 1)))
    jobs = sandbox.jobs_run
    drawn = await draw_follower_views(
        world.followers, world.pictures, rows=s.alliance_picture_rows, lines=s.alliance_picture_lines
    )
    # this month and 抖音 (14 units reported; 上月 and 微信 have nothing), 高中 (14 units) ranked and its targets;
    # 本科高校 (2 units) would be text
    assert drawn == 4 and world.pictures.rendered == 0 and sandbox.jobs_run == jobs + 1
    assert len(list(world.pictures.dir.glob("*.png"))) == 4
    assert await draw_follower_views(world.followers, world.pictures, rows=s.alliance_picture_rows, lines=12) == 0
    for asked in ("/粉丝 排行", "/粉丝 排行 抖音", "/粉丝 排行 高中", "/粉丝 目标 高中"):
        reply = await ask(app, world, asked, 32001)
        assert _png(reply), asked
    assert world.pictures.rendered == 0  # every one was there already
    text = await ask(app, world, "/粉丝 排行 本科高校", 32002)
    assert not [seg for seg in text["segments"] if seg["type"] == "image"]
    await world.followers.report("32003", ["抖音"], "95000")
    await ask(app, world, "/粉丝 排行 抖音", 32004)
    assert world.pictures.rendered == 1
