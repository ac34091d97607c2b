"""/查询 through NoneBot's handlers: full, short, pinyin, ambiguous and unknown names; my own unit."""

from __future__ import annotations

from datetime import timedelta

from nonebug import App as NBApp

from bot import clock
from bot.app import App
from bot.broadcasts.records import Draft
from tests.conftest import say, sent
from tests.fake import GROUP, group_msg, private_msg

OP, STRANGER = 20001, 29999


async def roster(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南科技大学", "本科高校", "洛阳", actor="t")
    await core.units.add("河南科技学院", "本科高校", "新乡", actor="t")
    await core.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")
    a, _ = await core.units.registrations.apply(OP, "张三 13812345678", GROUP, "郑州大学")
    await core.units.registrations.approve([a.id], actor="t")
    await sent(core)


async def test_full_short_and_pinyin_names_answer_in_one_message(app: NBApp, core: App) -> None:
    await roster(core)
    for name in ("郑州大学", "郑大", "zzdx"):
        out = await say(app, core, group_msg(f"/查询 {name}", STRANGER))
        assert len(out) == 1, name
        text = out[0]["text"]
        assert "“郑州大学”" in text and "类别：本科高校" in text and "地市：郑州" in text, name
        assert "联络员（1）：张三" in text and "13812345678" not in text
        assert "近30天统发" in text and "进行中的报送" in text and "待审核备案" in text


async def test_missing_city_suffix_matches(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/查询 洛阳教育局", STRANGER))
    assert "“洛阳市教育局”" in out[0]["text"]


async def test_ambiguous_name_lists_candidates_and_asks_again(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/查询 河南科技", STRANGER))
    assert len(out) == 1
    text = out[0]["text"]
    assert "河南科技大学" in text and "河南科技学院" in text and "完整名称" in text
    assert "类别：" not in text


async def test_unknown_name_says_how_to_find_it(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/查询 火星大学", STRANGER))
    assert "没有找到单位“火星大学”" in out[0]["text"] and "/单位 列表" in out[0]["text"]


async def test_no_argument_means_my_unit(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/查询", OP))
    assert "“郑州大学”" in out[0]["text"]
    out = await say(app, core, group_msg("/查询", STRANGER))
    assert "/查询 郑州大学" in out[0]["text"] and "/注册" in out[0]["text"]


async def test_open_returns_show_for_the_unit(app: NBApp, core: App) -> None:
    await roster(core)
    await say(app, core, group_msg("/报送 新建 秋季统计表 截止 3天后", 900001))
    out = await say(app, core, private_msg("/查询", OP))
    assert out[0]["target"] == ("private", str(OP))
    assert "#1《秋季统计表》未报送" in out[0]["text"]
    await say(app, core, group_msg("/已报送 1", OP))
    out = await say(app, core, group_msg("/查询 郑大", STRANGER))
    assert "#1《秋季统计表》已报送" in out[0]["text"]


async def test_an_open_task_not_yet_due_is_no_miss_in_the_30_day_figure(app: NBApp, core: App) -> None:
    await roster(core)
    link = "https://mp.weixin.qq.com/s/q"
    soon, later = clock.now() + timedelta(hours=1), clock.now() + timedelta(days=3)
    await core.broadcasts.create(Draft("已截止", link, soon, ("转发",), ()), actor="t")
    await core.broadcasts.create(Draft("进行中", link, later, ("转发",), ()), actor="t")
    clock.freeze(clock.now() + timedelta(hours=2))
    await sent(core)  # the announcements
    out = await say(app, core, group_msg("/查询 郑州大学", STRANGER))
    assert "近30天统发：0/1（0.0%），另有 1 个未到截止、还没转发的不计入" in out[0]["text"]
