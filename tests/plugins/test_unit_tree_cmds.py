"""/单位 上级, /单位 下级 and the 上级单位 line of /单位 and /查询, through NoneBot's handlers (issue 24.2)."""

from __future__ import annotations

import pytest
from nonebug import App as NBApp

from bot.app import App
from bot.roster import import_file
from tests.conftest import ROSTER, say
from tests.fake import ADMIN, GROUP, group_msg, private_msg
from tests.plugins.test_registry_more import bind

OP = 20001


@pytest.fixture
async def henan(core: App) -> App:
    await import_file(core.units, ROSTER)
    for i in range(1, 41):  # enough schools under 郑州 that the group's answer is cut
        await core.units.add(f"郑州市第{i}中学", "高中", "郑州", actor="t")
    return core


async def test_admin_moves_a_unit(app: NBApp, henan: App) -> None:
    out = await say(app, henan, group_msg("/单位 上级 郑州市第9中学 郑州市金水区教育局", ADMIN))
    assert out[0]["text"].endswith("已把“郑州市第9中学”的上级单位从“郑州市教育局”改为“郑州市金水区教育局”。")
    parent = await henan.units.parent(await henan.units.resolve("郑州市第9中学"))
    assert parent is not None and parent.name == "郑州市金水区教育局"
    out = await say(app, henan, group_msg("/单位 上级 郑州市第9中学 郑州市金水区教育局", ADMIN))
    assert "本来就是“郑州市金水区教育局”，没有变化" in out[0]["text"]
    out = await say(app, henan, private_msg("/单位 上级 郑大 全省", ADMIN))
    assert "本来就是“全省”" in out[0]["text"]
    out = await say(app, henan, private_msg("/单位 上级 郑州大学 郑州市教育局", ADMIN))
    assert "从“全省”改为“郑州市教育局”" in out[0]["text"]
    out = await say(app, henan, private_msg("/单位 上级 郑州市第8中学 开封", ADMIN))  # a city: its bureau
    assert "从“郑州市教育局”改为“开封市教育局”" in out[0]["text"]
    # the chain is shown to admins (/单位 上级 is declared for admins once, as a whole); /查询 shows the parent to all
    out = await say(app, henan, group_msg("/单位 上级 郑州市第9中学", ADMIN))
    assert "“郑州市第9中学”的上级单位：郑州市金水区教育局 → 郑州市教育局 → 全省" in out[0]["text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "/单位 上级 郑州市教育局 郑州市金水区教育局",
            "“郑州市金水区教育局”是“郑州市教育局”的下级，这样上下级会绕成一个圈",
        ),
        ("/单位 上级 郑州大学 火星教育局", "上级单位“火星教育局”不是名册里的单位"),
        ("/单位 上级 郑州大学 郑州大学", "“郑州大学”不能做自己的上级"),
        ("/单位 上级 郑州大学 郑州市教育局 多余", "用法：/单位 上级 <单位> <上级单位>"),
        ("/单位 上级", "用法：/单位 上级 <单位> <上级单位>"),
    ],
)
async def test_bad_moves_are_refused_in_chinese(app: NBApp, henan: App, text: str, expected: str) -> None:
    out = await say(app, henan, group_msg(text, ADMIN))
    assert expected in out[0]["text"]


async def test_only_admins_move_or_list_the_subtree(app: NBApp, henan: App) -> None:
    for text in ("/单位 上级 郑州大学 郑州市教育局", "/单位 下级 郑州市教育局"):
        out = await say(app, henan, group_msg(text, OP))
        assert "只有管理员可以" in out[0]["text"], text
    assert await henan.units.parent(await henan.units.resolve("郑州大学")) is None


async def test_subtree_is_cut_in_the_group_and_whole_in_private(app: NBApp, henan: App) -> None:
    await henan.units.move("郑州市第9中学", "郑州市金水区教育局", actor="t")
    await bind(henan, OP, "郑州市第9中学")
    await bind(henan, OP + 1, "郑州市金水区教育局")
    n = 12 + 40  # 郑州's county bureaus and schools
    out = await say(app, henan, group_msg("/单位 下级 郑州", ADMIN))
    cut = out[0]["fallback"]
    assert cut.lstrip().startswith(f"“郑州市教育局”下面共 {n} 个单位，有联络员的 2 个。")
    assert "按类别：县区教育局 12（有联络员 1）、高中 40（有联络员 1）" in cut
    assert "另有" in cut and "条未列出" in cut
    out = await say(app, henan, private_msg("/单位 下级 郑州市教育局", ADMIN))
    whole = "".join(o["text"] for o in out)
    assert "另有" not in whole and all(f"郑州市第{i}中学（高中" in whole for i in range(1, 41))
    assert "· 郑州市金水区教育局（县区教育局，下级 1 个）\n　· 郑州市第9中学（高中）" in whole
    assert "· 郑州市中原区教育局（县区教育局，无联络员）" in whole
    out = await say(app, henan, private_msg("/单位 下级 郑州大学", ADMIN))
    assert "“郑州大学”下面没有单位。它的上级单位是“全省”。" in out[0]["text"]


async def test_subtree_of_the_province_has_a_line_per_city(app: NBApp, henan: App) -> None:
    out = await say(app, henan, private_msg("/单位 下级", ADMIN))
    whole = "".join(o["text"] for o in out)
    total = len(await henan.units.all())
    assert whole.startswith(f"全省下面共 {total} 个单位，有联络员的 0 个。")
    assert "· 郑州市教育局：下级 52 个，有联络员 0 个" in whole
    assert "· 开封市教育局：下级 9 个，有联络员 0 个" in whole
    assert "直属全省：省直单位 1 个、本科高校 36 个、高职高专 30 个" in whole
    assert "· 济源示范区教育体育局：下级 0 个，有联络员 0 个" in whole  # a city with no county bureau in the roster
    out = await say(app, henan, private_msg("/单位 下级 全省", ADMIN))
    assert "".join(o["text"] for o in out) == whole


async def test_unit_card_and_query_show_the_parent(app: NBApp, henan: App) -> None:
    out = await say(app, henan, group_msg("/单位 郑州市金水区教育局", OP))
    assert "上级单位：郑州市教育局" in out[0]["text"]
    out = await say(app, henan, group_msg("/查询 郑州市金水区教育局", OP))
    assert "上级单位：郑州市教育局" in out[0]["text"]
    out = await say(app, henan, group_msg("/查询 郑大", OP, group_id=GROUP))
    assert "上级单位：全省" in out[0]["text"]


async def _stored(core: App, name: str) -> bool:
    async with core.db.read() as tx:
        return bool(await tx.value("SELECT 1 FROM units WHERE name=?", (name,)))


async def _parent_name(core: App, name: str) -> str | None:
    parent = await core.units.parent(await core.units.resolve(name))
    return None if parent is None else parent.name


async def test_unit_add_takes_the_county_and_the_parent(app: NBApp, henan: App) -> None:
    """/单位 添加 takes 县区 and 上级单位 as the roster's columns do, in any order; without them the defaults apply."""
    out = await say(app, henan, group_msg("/单位 添加 郑州市第九十中学 高中 郑州 县区 金水区", ADMIN))
    text = out[0]["text"]
    assert "已添加单位“郑州市第九十中学”（高中，郑州）。" in text, text
    assert "上级单位：郑州市金水区教育局　县区：金水区" in text, text  # the default: its 县区's bureau
    assert await _parent_name(henan, "郑州市第九十中学") == "郑州市金水区教育局"

    out = await say(
        app, henan, group_msg("/单位 添加 郑州外国语学校 高中 郑州 别名 郑外 上级单位 郑州市中原区教育局", ADMIN)
    )
    assert "上级单位：郑州市中原区教育局" in out[0]["text"] and "简称：郑外" in out[0]["text"], out[0]["text"]
    assert await _parent_name(henan, "郑外") == "郑州市中原区教育局"
    await henan.units.add("郑州市第一百中学", "高中", "郑州", actor="t")  # a new unit later keeps the parent set
    assert await _parent_name(henan, "郑州外国语学校") == "郑州市中原区教育局"

    out = await say(app, henan, private_msg("/单位 添加 河南省实验中学 高中 郑州 上级 全省", ADMIN))
    assert "上级单位：全省" in out[0]["text"], out[0]["text"]
    assert await _parent_name(henan, "河南省实验中学") is None

    out = await say(app, henan, private_msg("/单位 添加 开封市第二十中学 高中 上级 开封 县区 龙亭区", ADMIN))
    assert "上级单位：开封市教育局　县区：龙亭区" in out[0]["text"], out[0]["text"]  # a city: its bureau

    out = await say(app, henan, private_msg("/单位 添加 郑州市第九十一中学 高中 郑州", ADMIN))
    assert "上级单位：郑州市教育局" in out[0]["text"], out[0]["text"]  # nothing given: the city's bureau
    out = await say(app, henan, private_msg("/单位 添加 郑州市第九十二中学 高中 郑州 上级 默认", ADMIN))
    assert "上级单位：郑州市教育局" in out[0]["text"], out[0]["text"]  # 默认: the same


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/单位 添加 新学校 高中 郑州 上级 火星教育局", "上级单位“火星教育局”不是名册里的单位"),
        ("/单位 添加 新学校 高中 郑州 上级 新学校", "“新学校”不能做自己的上级"),
        ("/单位 添加 新学校 高中 郑州 上级", "用法：/单位 添加 <名称> <类别> [地市] [县区 <县区>] [上级 <上级单位>]"),
        ("/单位 添加 新学校 高中 郑州 县区", "用法：/单位 添加"),
        ("/单位 添加 新学校 高中 郑州 县区 金水 县区 中原", "县区只能写一个"),
        ("/单位 添加 新学校 高中 郑州 上级 郑州大学 上级 开封", "上级单位只能写一个"),
        ("/单位 添加 新学校 高中 郑州 县区 [CQ:at,qq=all]", "县区"),
    ],
)
async def test_unit_add_refuses_a_bad_parent_or_county(app: NBApp, henan: App, text: str, expected: str) -> None:
    out = await say(app, henan, group_msg(text, ADMIN))
    assert expected in out[0]["text"], out[0]["text"]
    assert not await _stored(henan, "新学校")  # nothing added


async def test_unit_add_refuses_a_parent_that_would_loop(app: NBApp, core: App) -> None:
    """A new city bureau put under a county bureau of its own city: by default that county bureau belongs under the
    new bureau, so the two would go round in a loop; refused with the reason, nothing added."""
    await core.units.add("新乡市红旗区教育局", "县区教育局", "新乡", actor="t")
    out = await say(app, core, group_msg("/单位 添加 新乡市教育局 市教育局 新乡 上级 新乡市红旗区教育局", ADMIN))
    text = out[0]["text"]
    assert "不能把“新乡市教育局”放到“新乡市红旗区教育局”下面" in text and "绕成一个圈" in text, text
    assert not await _stored(core, "新乡市教育局")
    out = await say(app, core, group_msg("/单位 添加 新乡市教育局 市教育局 新乡", ADMIN))
    assert "上级单位：全省" in out[0]["text"]
    assert await _parent_name(core, "新乡市红旗区教育局") == "新乡市教育局"  # the default takes it in
