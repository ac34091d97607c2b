"""A city admin runs their level (issue 24.3): inside their subtree what the province does everywhere, refused
outside it naming their scope; a city's own group (/群 归属). Through NoneBot's handlers, with the sample roster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nonebug import App as NBApp

from bot.app import App, set_app
from bot.roster import import_file
from tests.conftest import ROSTER, make_settings, say
from tests.fake import ADMIN, GROUP, group_msg, private_msg
from tests.plugins.test_registry_more import bind

CITY = 30001  # 郑州's city admin
OP_ZZ = 20001  # operator of 郑州市金水区教育局
OP_LY = 20002  # operator of 洛阳市西工区教育局
CITY_GROUP = 100200301
LINK = "https://mp.weixin.qq.com/s/abc"
REFUSED = "你是市级管理员，管理范围：郑州市教育局及其下级单位；“{}”不在其中。"
ZZ_UNITS = 13  # 郑州市教育局 and its 12 county bureaus (the sample roster's schools are universities: the province's)


@pytest.fixture
async def henan(tmp_path: Path) -> AsyncIterator[App]:
    core = App(make_settings(tmp_path, alliance_groups=[str(GROUP), str(CITY_GROUP)]))
    await core.open()
    set_app(core)
    try:
        await import_file(core.units, ROSTER)
        await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
        yield core
    finally:
        set_app(None)
        await core.db.close()


async def zz_ids(core: App) -> set[int]:
    return set(await core.units.subtree(await core.units.resolve("郑州市教育局")))


async def owed(core: App, task_id: int) -> set[int]:
    async with core.db.read() as tx:
        return {r[0] for r in await tx.all("SELECT unit_id FROM broadcast_units WHERE task_id=?", (task_id,))}


async def test_a_city_admin_approves_a_county_bureaus_operator_and_not_luoyangs(app: NBApp, henan: App) -> None:
    await say(app, henan, group_msg("/注册 郑州市金水区教育局", OP_ZZ))
    await say(app, henan, group_msg("/注册 洛阳市西工区教育局", OP_LY))
    out = await say(app, henan, private_msg("/审核", CITY))
    assert "待审核的注册申请 1 个" in out[0]["text"] and "郑州市金水区教育局" in out[0]["text"]
    assert "洛阳" not in out[0]["text"]  # the city admin sees only their units' applications
    out = await say(app, henan, group_msg("/审核 通过 1", CITY))
    assert "成为“郑州市金水区教育局”的联络员" in out[0]["text"] and str(OP_ZZ) in out[0]["ats"]
    assert (await henan.units.registrations.operator(OP_ZZ))[1].name == "郑州市金水区教育局"
    for text in ("/审核 通过 2", "/审核 驳回 2 不对"):
        out = await say(app, henan, group_msg(text, CITY))
        assert REFUSED.format("洛阳市西工区教育局") in out[0]["text"], text
    assert await henan.units.registrations.operator(OP_LY) is None
    assert [a.id for a in await henan.units.registrations.pending()] == [2]  # still waiting for the province
    out = await say(app, henan, group_msg("/审核 通过 2", ADMIN))
    assert "成为“洛阳市西工区教育局”的联络员" in out[0]["text"]


async def test_a_new_units_application_is_the_provinces(app: NBApp, henan: App) -> None:
    await say(app, henan, group_msg("/注册 郑州市第一百中学 高中 郑州", OP_ZZ))
    out = await say(app, henan, private_msg("/审核", CITY))
    assert "没有待审核的注册申请" in out[0]["text"]
    out = await say(app, henan, private_msg("/审核 通过 1", CITY))
    assert "不在其中" in out[0]["text"] and "由省级管理员审核" in out[0]["text"]


async def test_a_city_admins_broadcast_owes_only_their_units(app: NBApp, henan: App) -> None:
    out = await say(app, henan, group_msg(f"/统发 郑州的稿子 {LINK}", CITY))
    reply = next(o for o in out if "已发布统发 #1" in o["text"])
    assert f"{ZZ_UNITS} 个单位需完成" in reply["text"]
    assert await owed(henan, 1) == await zz_ids(henan)
    note = next(o for o in out if "【一键统发 #1】" in o["text"])
    assert "范围：郑州市教育局及其下级单位（共 13 个单位）" in note["text"]
    # a 范围 is cut to their scope: 郑州 is the city's subtree, not 郑州大学 (a university: the province's)
    out = await say(app, henan, group_msg(f"/统发 稿子二 {LINK} 范围 郑州", CITY))
    assert await owed(henan, 2) == await zz_ids(henan)
    out = await say(app, henan, group_msg(f"/统发 稿子三 {LINK} 范围 县区教育局", CITY))
    assert await owed(henan, 3) == await zz_ids(henan) - {(await henan.units.resolve("郑州市教育局")).id}
    async with henan.db.read() as tx:
        owners = {r[0] for r in await tx.all("SELECT owner_unit_id FROM broadcasts")}
    assert owners == {(await henan.units.resolve("郑州市教育局")).id}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (f"/统发 稿子 {LINK} 范围 洛阳", "洛阳"),
        (f"/统发 稿子 {LINK} 范围 郑州,洛阳", "洛阳"),
        (f"/统发 稿子 {LINK} 范围 本科高校", "范围 本科高校"),
        ("/单位 上级 洛阳市西工区教育局", "洛阳市西工区教育局"),
        ("/单位 上级 洛阳市西工区教育局 郑州市教育局", "洛阳市西工区教育局"),
        ("/单位 上级 郑州市金水区教育局 洛阳市教育局", "洛阳市教育局"),
        ("/单位 上级 郑州市金水区教育局 全省", "全省"),
        ("/单位 下级 洛阳", "洛阳市教育局"),
        ("/统发 代确认 1 洛阳市西工区教育局", "洛阳市西工区教育局"),
    ],
)
async def test_a_city_admin_is_refused_outside_their_scope(app: NBApp, henan: App, text: str, name: str) -> None:
    await say(app, henan, group_msg(f"/统发 省里的稿子 {LINK}", ADMIN))
    out = await say(app, henan, group_msg(text, CITY))
    assert REFUSED.format(name) in out[0]["text"], out[0]["text"]
    assert len(await henan.broadcasts.listing()) == 1  # nothing published
    assert (await henan.units.parent(await henan.units.resolve("郑州市金水区教育局"))).name == "郑州市教育局"


async def test_a_city_admin_moves_and_lists_inside_their_subtree(app: NBApp, henan: App) -> None:
    out = await say(app, henan, group_msg("/单位 上级 郑州市金水区教育局 郑州市中原区教育局", CITY))
    assert "已把“郑州市金水区教育局”的上级单位从“郑州市教育局”改为“郑州市中原区教育局”" in out[0]["text"]
    out = await say(app, henan, private_msg("/单位 下级", CITY))
    whole = "".join(o["text"] for o in out)
    assert whole.startswith("“郑州市教育局”下面共 12 个单位") and "洛阳" not in whole


async def test_a_city_admins_nudge_reaches_only_their_operators(app: NBApp, henan: App) -> None:
    await bind(henan, OP_ZZ, "郑州市金水区教育局")
    await bind(henan, OP_LY, "洛阳市西工区教育局")
    await say(app, henan, group_msg(f"/统发 省里的稿子 {LINK}", ADMIN))
    out = await say(app, henan, group_msg("/统发 催办 1 强制", CITY))
    ats = [a for o in out for a in o["ats"]]
    assert str(OP_ZZ) in ats and str(OP_LY) not in ats
    summary = next(o for o in out if "已催办统发 #1" in o["text"])
    assert f"{ZZ_UNITS} 个单位未完成，@ 了 1 位联络员" in summary["text"]
    out = await say(app, henan, group_msg("/统发 催办 1 强制", ADMIN))
    ats = [a for o in out for a in o["ats"]]
    assert str(OP_ZZ) in ats and str(OP_LY) in ats


async def test_a_city_admin_ends_only_their_own_tasks(app: NBApp, henan: App) -> None:
    await say(app, henan, group_msg(f"/统发 省里的稿子 {LINK}", ADMIN))
    await say(app, henan, group_msg(f"/统发 郑州的稿子 {LINK}", CITY))
    for text in ("/统发 结束 1", "/统发 撤回 1"):
        out = await say(app, henan, group_msg(text, CITY))
        assert "统发 #1「省里的稿子」是省里发布的" in out[0]["text"] and "只能" in out[0]["text"], text
    assert (await henan.broadcasts.get(1)).state == "进行中"
    out = await say(app, henan, group_msg("/统发 结束 2", CITY))
    assert "已结束统发 #2「郑州的稿子」" in out[0]["text"]


async def test_a_city_group_gets_the_citys_tasks_and_nudges_only(app: NBApp, henan: App) -> None:
    out = await say(app, henan, group_msg("/群 归属 郑州", CITY, group_id=CITY_GROUP))
    assert "只有省级管理员可以设置联盟群的归属" in out[0]["text"]
    out = await say(app, henan, group_msg("/群 归属 郑州", ADMIN, group_id=CITY_GROUP))
    assert f"已把群 {CITY_GROUP} 设为“郑州市教育局”的群" in out[0]["text"]
    await bind(henan, OP_ZZ, "郑州市金水区教育局", group=GROUP)  # bound in the province group
    out = await say(app, henan, group_msg(f"/统发 郑州的稿子 {LINK}", CITY))
    notes = [o["target"] for o in out if "【一键统发 #1】" in o["text"]]
    assert notes == [("group", str(CITY_GROUP))]
    out = await say(app, henan, group_msg(f"/统发 省里的稿子 {LINK}", ADMIN))
    notes = [o["target"] for o in out if "【一键统发 #2】" in o["text"]]
    assert sorted(notes) == [("group", str(GROUP)), ("group", str(CITY_GROUP))]
    out = await say(app, henan, group_msg("/统发 催办 1 强制", CITY))
    nudges = [o for o in out if str(OP_ZZ) in o["ats"]]
    assert [o["target"] for o in nudges] == [("group", str(CITY_GROUP))]
    out = await say(app, henan, group_msg("/统发 撤回 1", CITY))
    notice = [o["target"] for o in out if "【统发撤回】#1" in o["text"]]
    assert notice == [("group", str(CITY_GROUP))]
    out = await say(app, henan, private_msg("/群", CITY))
    assert f"群 {CITY_GROUP}：郑州市教育局" in out[0]["text"] and f"群 {GROUP}：全省" in out[0]["text"]
    out = await say(app, henan, group_msg("/群 归属 全省", ADMIN, group_id=CITY_GROUP))
    assert "已改回全省的群（原归属：郑州市教育局）" in out[0]["text"]


async def test_a_city_admins_return_owes_only_their_units_and_is_nudged_in_their_group(app: NBApp, henan: App) -> None:
    await say(app, henan, group_msg("/群 归属 郑州", ADMIN, group_id=CITY_GROUP))
    await bind(henan, OP_ZZ, "郑州市金水区教育局", group=GROUP)
    await bind(henan, OP_LY, "洛阳市西工区教育局", group=GROUP)
    out = await say(app, henan, group_msg("/报送 新建 郑州统计表 截止 3天后", CITY))
    reply = next(o for o in out if o["ats"] == [str(CITY)])
    assert f"共 {ZZ_UNITS} 个单位" in reply["text"], reply["text"]
    assert [o["target"] for o in out if o["text"].startswith("【报送】")] == [("group", str(CITY_GROUP))]
    async with henan.db.read() as tx:
        units = {r[0] for r in await tx.all("SELECT unit_id FROM return_units WHERE return_id=1")}
    assert units == await zz_ids(henan)
    out = await say(app, henan, group_msg("/报送 新建 洛阳表 截止 3天后 范围 洛阳", CITY))
    assert REFUSED.format("洛阳") in out[0]["text"]
    await say(app, henan, group_msg("/报送 新建 全省表 截止 3天后", ADMIN))
    out = await say(app, henan, group_msg("/报送 催办 2 强制", CITY))
    ats = [(o["target"], a) for o in out for a in o["ats"] if a in (str(OP_ZZ), str(OP_LY))]
    assert ats == [(("group", str(CITY_GROUP)), str(OP_ZZ))]
    out = await say(app, henan, group_msg("/报送 登记 2 洛阳市西工区教育局", CITY))
    assert REFUSED.format("洛阳市西工区教育局") in out[0]["text"]
    out = await say(app, henan, group_msg("/报送 结束 2", CITY))
    assert "是省里发布的" in out[0]["text"]


async def test_a_city_admins_export_and_stale_list_hold_their_area_only(app: NBApp, henan: App) -> None:

    await say(app, henan, group_msg(f"/统发 省里的稿子 {LINK}", ADMIN))
    scope = (await henan.roles.of(CITY))[1]
    assert (await henan.exports.export("统发", 1, actor=str(CITY), scope=scope)).rows == ZZ_UNITS
    assert (await henan.exports.export("统发", 1, actor=str(ADMIN))).rows == len(await henan.units.all())
    whole, mine = await henan.followers.watch.stale(), await henan.followers.watch.stale(scope=scope)
    assert all(u in scope for u, _ in mine.no_post + mine.warning + mine.no_count)
    assert len(mine.no_count) <= len(whole.no_count)
