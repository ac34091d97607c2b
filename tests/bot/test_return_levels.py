"""Returns collected by level (issue 24.3): units → their city (checked, 需修改, accepted) → the province, on the
sample roster; the province's merged workbook is built from the cities' signed-off files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.db import Database
from bot.errors import UserError
from bot.returns.files.records import Upload
from bot.returns.levels_text import province_progress
from bot.returns.parse import parse_new
from bot.roles import EVERYTHING
from bot.roster import import_file
from sim import samples
from tests.conftest import ROSTER, sent, stopped_clock
from tests.fake import ADMIN, GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
CITY = 30001
JINSHUI, ERQI, ZZU = 21001, 21002, 20001
OPS = {JINSHUI: "郑州市金水区教育局", ERQI: "郑州市二七区教育局", ZZU: "郑州大学"}


frozen = stopped_clock(NOW)


async def tree(core: App) -> int:
    """The sample roster, three operators, a 郑州 city admin, and a 逐级汇总 return over 郑州 and 开封."""
    await import_file(core.units, ROSTER)
    for qq, unit in OPS.items():
        a, _ = await core.units.registrations.apply(qq, f"联络员{qq}", GROUP, unit)
        await core.units.registrations.approve([a.id], actor="t")
    await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
    new = parse_new("2026年新媒体统计 截止 10-31 17:30 逐级汇总 范围 郑州,开封 表格 统计表".split(), NOW)
    assert new.by_level and new.forms == ("统计表",) and new.scope == "郑州,开封"
    made = await core.returns.create(new, actor=str(ADMIN))
    await sent(core)
    return made.ret.id


async def hand(core: App, user: int, rows: int, mistakes: dict[int, str] | None = None, tag: str = "") -> str:
    unit = OPS[user]
    data = samples.xlsx(samples.stats_rows(unit, rows, mistakes))
    up = Upload(str(user), f"联络员{user}", str(GROUP), f"{unit}统计表{tag}.xlsx", len(data), f"fid-{user}-{tag}{rows}")

    async def give(cap: int) -> bytes:
        return data

    msg = await core.return_files.receive(up, give, is_admin=False)
    return msg.plain() if msg else ""


async def test_the_option_may_come_anywhere_and_needs_a_form() -> None:
    for text in ("统计 逐级汇总 截止 10-31 17:30 表格 统计表", "统计 截止 10-31 17:30 表格 统计表 逐级汇总"):
        new = parse_new(text.split(), NOW)
        assert new.by_level and new.title == "统计" and new.note == ""
    with pytest.raises(UserError, match="逐级汇总的报送要交表格"):
        parse_new("统计 截止 10-31 17:30 逐级汇总".split(), NOW)
    assert not parse_new("统计 截止 10-31 17:30 表格 统计表".split(), NOW).by_level


async def test_units_to_their_city_then_the_city_hands_one_signed_file_up(core: App) -> None:
    rid = await tree(core)
    ret = await core.returns.get(rid)
    assert ret.by_level
    levels = core.return_levels
    _, scope = await core.roles.of(CITY)
    lv = await levels.levels(rid)
    assert [(c.bureau.name, c.state, len(c.units)) for c in lv.cities] == [
        ("郑州市教育局", "未开始", 13),
        ("开封市教育局", "未开始", 10),
    ]
    assert "郑州大学" in {u.name for u in lv.direct} and "河南省教育厅" in {u.name for u in lv.direct}

    assert (await hand(core, JINSHUI, 4)).startswith("收到 郑州市金水区教育局 的统计表：4 个账号")
    assert "有 1 处要改" in await hand(core, ERQI, 3, {0: "date"})
    lv = await levels.levels(rid)
    zz = lv.city(lv.cities[0].bureau.id)
    assert zz is not None and zz.state == "汇总中" and len(zz.done) == 1 and len(zz.fixing) == 1
    text = province_progress(lv, None).plain()
    # 金水 and 二七 have operators; the other 11 of 郑州 and all 10 of 开封 have none
    assert "郑州市教育局：汇总中（1/13 个单位已交，需修改 1，其中 11 个单位无联络员）" in text
    assert "开封市教育局：未开始（0/10 个单位已交，其中 10 个单位无联络员）" in text
    assert "各市：已上报 0/2，汇总中 1，未开始 1" in text

    # a unit still 需修改: refused, saying what to do
    with pytest.raises(UserError, match="还有 1 个单位的文件需修改：郑州市二七区教育局"):
        await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope)
    said = (await core.return_files.accept(rid, "郑州市二七区教育局", actor=str(CITY), actor_name="王市")).plain()
    assert said.startswith("已接受“郑州市二七区教育局”")
    # units missing: how many, and how to hand up anyway
    with pytest.raises(UserError, match=rf"还有 11 个单位没交：.*请发 /报送 上报 {rid} 确认"):
        await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope)
    msg, made = await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope, confirm=True)
    assert msg.plain().startswith(
        f"已上报：郑州市教育局汇总的报送 #{rid}《2026年新媒体统计》（2/13 个单位，7 行，其中 11 个单位没交"
    )
    assert "签收人 王市" in msg.plain()
    rows = list(load_workbook(made.path, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[3][-3:] == ("填报单位", "提交时间", "上报签收")
    assert {r[-3] for r in rows[4:]} == {"郑州市金水区教育局", "郑州市二七区教育局"}
    assert all(str(r[-1]).startswith("郑州市教育局 王市 10月20日") for r in rows[4:])
    told = await sent(core)
    assert [m["target"] for m in told] == [("private", str(ADMIN))]
    assert "【逐级汇总】郑州市教育局 王市 已上报" in told[0]["text"] and "2/13 个单位，7 行" in told[0]["text"]
    async with core.db.read() as tx:
        audit = await tx.one("SELECT actor, detail FROM audit WHERE action='报送上报'")
    assert audit["actor"] == str(CITY) and "郑州市教育局 2/13 个单位 7 行" in audit["detail"]

    text = province_progress(await levels.levels(rid), None).plain()
    assert "郑州市教育局：已上报（王市 10月20日 09:00 签收，2/13 个单位）" in text

    # the direct unit hands in to the province; what 金水 hands in after the sign-off waits for the next 上报
    await hand(core, ZZU, 5)
    await hand(core, JINSHUI, 9, tag="改")
    book = await levels.province_merge(ret, await core.return_files.layouts_of(ret))
    wb = load_workbook(book.path, read_only=True)
    data = list(wb.worksheets[0].iter_rows(values_only=True))[4:]
    by_unit: dict[str, list] = {}
    for r in data:
        by_unit.setdefault(r[-3], []).append(r)
    assert {k: len(v) for k, v in by_unit.items()} == {"郑州市金水区教育局": 4, "郑州市二七区教育局": 3, "郑州大学": 5}
    assert by_unit["郑州市金水区教育局"][0][-1].startswith("郑州市教育局 王市")
    assert by_unit["郑州大学"][0][-1] == "直接报省"
    missing = {r[1]: r for r in list(wb.worksheets[1].iter_rows(values_only=True))[1:]}
    assert missing["开封市教育局"][4] == "未上报" and "未开始" in missing["开封市教育局"][5]
    assert "郑州市中原区教育局" not in missing  # the city's units are the city's to chase, not listed one by one


async def test_sending_back_tells_the_operators_and_withdraws_the_citys_sign_off(core: App) -> None:
    rid = await tree(core)
    _, scope = await core.roles.of(CITY)
    levels = core.return_levels
    await hand(core, JINSHUI, 4)
    await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope, confirm=True)
    await sent(core)
    with pytest.raises(UserError, match="“郑州大学”不在你的管理范围（郑州市教育局及其下级单位）内"):
        await levels.send_back(rid, "郑州大学", "", actor=str(CITY), actor_name="王市", scope=scope)
    with pytest.raises(UserError, match="还没有交文件，没有可退回的"):
        await levels.send_back(rid, "郑州市二七区教育局", "", actor=str(CITY), actor_name="王市", scope=scope)
    said = await levels.send_back(
        rid, "郑州市金水区教育局", "粉丝数 填错了", actor=str(CITY), actor_name="王市", scope=scope
    )
    assert said.plain().startswith(
        "已退回“郑州市金水区教育局”的“郑州市金水区教育局统计表.xlsx”（需修改：粉丝数 填错了）"
    )
    assert "已私聊告诉 1 位联络员" in said.plain() and f"重新发 /报送 上报 {rid}" in said.plain()
    told = await sent(core)
    assert [m["target"] for m in told] == [("private", str(JINSHUI))]
    assert "被退回，需修改" in told[0]["text"] and "原因：粉丝数 填错了" in told[0]["text"]
    lv = await levels.levels(rid)
    jinshui = (await core.units.resolve("郑州市金水区教育局")).id
    assert lv.cities[0].state == "汇总中" and lv.cities[0].fixing == {jinshui} and lv.cities[0].handup is None
    assert await core.returns.fixing_for_unit(jinshui) == {rid}
    with pytest.raises(UserError, match="需修改：郑州市金水区教育局"):
        await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope, confirm=True)
    # a good file again: counted, and the city may hand up
    assert "已记为已报送" in await hand(core, JINSHUI, 4, tag="v2")
    msg, _ = await levels.hand_up(rid, actor=str(CITY), actor_name="王市", scope=scope, confirm=True)
    assert "1/13 个单位" in msg.plain()


async def test_an_ordinary_return_has_nothing_to_hand_up_and_a_province_admin_names_the_city(core: App) -> None:
    rid = await tree(core)
    await hand(core, JINSHUI, 2)
    plain = await core.returns.create(parse_new("普通 截止 10-31 17:30 表格 统计表".split(), NOW), actor=str(ADMIN))
    with pytest.raises(UserError, match="不是逐级汇总的报送"):
        await core.return_levels.hand_up(plain.ret.id, actor=str(ADMIN), actor_name="", scope=EVERYTHING)
    with pytest.raises(UserError, match="请写出哪个市：郑州市教育局、开封市教育局"):
        await core.return_levels.hand_up(rid, actor=str(ADMIN), actor_name="", scope=EVERYTHING)
    msg, _ = await core.return_levels.hand_up(
        rid, actor=str(ADMIN), actor_name="省办", scope=EVERYTHING, city_text="郑州", confirm=True
    )
    assert msg.plain().startswith("已上报：郑州市教育局汇总的报送")


async def test_migration_014_upgrades_a_database_with_returns(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open(upto=13)
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO returns (title, deadline, created_by, created_at) VALUES ('旧报送', '2026-11-01T00:00:00+08:00', "
            "'1', '2026-10-01T00:00:00+08:00')"
        )
    await db.migrate()
    async with db.read() as tx:
        r = await tx.one("SELECT by_level FROM returns")
        assert r["by_level"] == 0
        assert await tx.all("SELECT * FROM return_handups") == []
    await db.close()
