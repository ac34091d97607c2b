"""The alliance tree (issue 24.2): default parents, moves, loops refused, the roster's 上级单位 and 县区
columns, deleted units, the core API (parent, subtree, ancestors, city_of) and the migration of an old database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.app import App
from bot.db import Database, migrations
from bot.errors import UserError
from bot.roster import import_file, import_roster
from bot.units.service import Units
from bot.units.tree import Tree, in_loops
from tests.conftest import ROSTER


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


async def parent_name(units: Units, name: str) -> str | None:
    parent = await units.parent(await units.resolve(name))
    return None if parent is None else parent.name


# ---------------------------------------------------------------- defaults


async def test_sample_roster_puts_every_county_bureau_under_its_city_bureau(core: App) -> None:
    await import_file(core.units, ROSTER)
    units = await core.units.all()
    city_bureaus = {u.city: u for u in units if u.category == "市教育局"}
    counties = [u for u in units if u.category == "县区教育局"]
    assert len(counties) == 78
    for u in counties:
        parent = await core.units.parent(u)
        assert parent == city_bureaus[u.city], u.name
    for u in units:
        if u.category in ("本科高校", "高职高专", "省直单位", "市教育局"):
            assert await core.units.parent(u) is None, u.name
    zz = city_bureaus["郑州"]
    assert await core.units.city_of(await core.units.resolve("郑州市金水区教育局")) == zz
    assert await core.units.city_of(zz) == zz  # a city bureau is its own city's
    assert await core.units.city_of(await core.units.resolve("郑州大学")) is None
    below = await core.units.subtree(zz)
    assert zz.id in below and len(below) == 1 + sum(1 for u in counties if u.city == "郑州")
    assert await core.units.subtree(None) == {u.id for u in units}


async def test_a_school_goes_under_its_county_bureau_else_its_city_bureau(core: App) -> None:
    data = csv_bytes(
        [
            ["名称", "类别", "地市", "县区"],
            ["郑州市第九中学", "高中", "郑州", "金水区"],  # before its bureaus in the file
            ["郑州市第一中学", "高中", "郑州市", "金水"],
            ["郑州市第二中学", "初中", "郑州", ""],
            ["郑州市第三中学", "小学", "郑州", "荥阳"],  # a county without a bureau in the roster
            ["某某幼儿园", "幼儿园", "", ""],  # no city: under the province
            ["郑州市教育局", "市教育局", "郑州", ""],
            ["郑州市金水区教育局", "县区教育局", "郑州", ""],
            ["郑州市巩义市教育局", "县区教育局", "郑州", ""],
            ["巩义市第一中学", "高中", "郑州", "巩义市"],
        ]
    )
    await import_roster(core.units, data, "r.csv", actor="t")
    u = core.units
    assert await parent_name(u, "郑州市第九中学") == "郑州市金水区教育局"
    assert await parent_name(u, "郑州市第一中学") == "郑州市金水区教育局"
    assert await parent_name(u, "郑州市第二中学") == "郑州市教育局"
    assert await parent_name(u, "郑州市第三中学") == "郑州市教育局"
    assert await parent_name(u, "某某幼儿园") is None
    assert await parent_name(u, "巩义市第一中学") == "郑州市巩义市教育局"
    assert await parent_name(u, "郑州市金水区教育局") == "郑州市教育局"
    nine = await u.resolve("郑州市第九中学")
    assert nine.county == "金水区"
    assert [a.name for a in await u.ancestors(nine)] == ["郑州市金水区教育局", "郑州市教育局"]
    assert (await u.city_of(nine)).name == "郑州市教育局"  # type: ignore[union-attr]


async def test_a_bureau_added_later_takes_in_the_units_of_its_city(core: App) -> None:
    await core.units.add("郑州市第九中学", "高中", "郑州", actor="t")
    await core.units.add("郑州市第十中学", "高中", "郑州", actor="t")
    assert await parent_name(core.units, "郑州市第九中学") is None
    await core.units.move("郑州市第十中学", "全省", actor="t")  # set by a person: stays
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    assert await parent_name(core.units, "郑州市第九中学") == "郑州市教育局"
    assert await parent_name(core.units, "郑州市第十中学") is None
    await core.units.move("郑州市第十中学", "默认", actor="t")  # back to the default
    assert await parent_name(core.units, "郑州市第十中学") == "郑州市教育局"


async def test_a_registered_new_unit_gets_its_default_parent(core: App) -> None:
    await core.units.add("开封市教育局", "市教育局", "开封", actor="t")
    a, _ = await core.units.registrations.apply("20001", "张三", None, "开封市第五中学", "高中", "开封")
    [d] = await core.units.registrations.approve([a.id], actor="1")
    assert d.ok and await parent_name(core.units, "开封市第五中学") == "开封市教育局"


# ---------------------------------------------------------------- moves and loops


@pytest.fixture
async def henan(core: App) -> App:
    await import_file(core.units, ROSTER)
    await core.units.add("郑州市第九中学", "高中", "郑州", actor="t")
    return core


async def test_move_a_unit_and_its_subtree_follows(henan: App) -> None:
    u = henan.units
    nine = await u.resolve("郑州市第九中学")
    zz, jinshui = await u.resolve("郑州市教育局"), await u.resolve("郑州市金水区教育局")
    assert nine.id in await u.subtree(zz) and nine.id not in await u.subtree(jinshui)
    unit, old, new = await u.move("郑州市第九中学", "郑州市金水区教育局", actor="1")
    assert (unit.name, old, new) == ("郑州市第九中学", zz, jinshui)
    assert nine.id in await u.subtree(jinshui) and nine.id in await u.subtree(zz)
    # the county bureau with its school under 开封: both leave 郑州's subtree
    await u.move("郑州市金水区教育局", "开封市教育局", actor="1")
    assert nine.id not in await u.subtree(zz)
    assert [a.name for a in await u.ancestors(nine)] == ["郑州市金水区教育局", "开封市教育局"]
    async with henan.db.read() as tx:
        actions = [r[0] for r in await tx.all("SELECT detail FROM audit WHERE action='单位上级' ORDER BY id")]
    assert actions == [
        "郑州市第九中学: 郑州市教育局 → 郑州市金水区教育局",
        "郑州市金水区教育局: 郑州市教育局 → 开封市教育局",
    ]


@pytest.mark.parametrize(
    ("unit", "parent", "expected"),
    [
        ("郑州市教育局", "郑州市金水区教育局", "“郑州市金水区教育局”是“郑州市教育局”的下级"),
        ("郑州市教育局", "郑州市第九中学", "绕成一个圈"),
        ("郑州大学", "郑州大学", "不能做自己的上级"),
        ("郑州大学", "郑大", "不能做自己的上级"),
        ("郑州大学", "火星教育局", "上级单位“火星教育局”不是名册里的单位"),
        ("郑州大学", "", "请写出“郑州大学”的上级单位"),
        ("火星大学", "郑州市教育局", "没有找到单位“火星大学”"),
    ],
)
async def test_bad_moves_are_refused_with_the_reason(henan: App, unit: str, parent: str, expected: str) -> None:
    before = dict((await henan.units.tree()).parents)
    with pytest.raises(UserError) as e:
        await henan.units.move(unit, parent, actor="1")
    assert expected in str(e.value)
    assert (await henan.units.tree()).parents == before


async def test_a_loop_through_a_moved_unit_is_refused(henan: App) -> None:
    u = henan.units
    await u.move("郑州市第九中学", "郑州市金水区教育局", actor="1")
    with pytest.raises(UserError, match="绕成一个圈"):
        await u.move("郑州市金水区教育局", "郑州市第九中学", actor="1")
    await u.move("郑州大学", "郑州市第九中学", actor="1")
    with pytest.raises(UserError, match="绕成一个圈"):
        await u.move("郑州市教育局", "郑州大学", actor="1")


async def test_a_deleted_unit_drops_out_and_its_children_move_up(henan: App) -> None:
    u = henan.units
    await u.move("郑州市第九中学", "郑州市金水区教育局", actor="1")
    await u.move("郑州大学", "郑州市第九中学", actor="1")
    nine = await u.resolve("郑州市第九中学")
    zz = await u.resolve("郑州市教育局")
    await u.delete("郑州市第九中学", actor="1")
    assert nine.id not in await u.subtree(zz) and nine.id not in await u.subtree(None)
    assert await parent_name(u, "郑州大学") == "郑州市金水区教育局"  # the grandparent
    await u.delete("郑州市金水区教育局", actor="1")
    assert await parent_name(u, "郑州大学") == "郑州市教育局"
    async with henan.db.read() as tx:  # stored so, not only read so
        stored = await tx.value("SELECT parent_id FROM units WHERE name='郑州大学'")
    assert stored == zz.id


async def test_subtree_is_kept_until_the_units_change(henan: App) -> None:
    u = henan.units
    zz = await u.resolve("郑州市教育局")
    first = await u.subtree(zz)
    assert await u.subtree(zz) is first
    await u.move("郑州大学", "郑州市教育局", actor="1")
    again = await u.subtree(zz)
    assert again is not first and again == first | {(await u.resolve("郑州大学")).id}


def test_tree_of_3000_units_is_fast() -> None:
    import time

    parents: dict[int, int | None] = {c: None for c in range(1, 19)}
    parents.update({100 + i: 1 + i % 18 for i in range(180)})
    parents.update({1000 + i: 100 + i % 180 for i in range(2800)})
    tree = Tree(parents)
    start = time.perf_counter()
    sizes = [len(tree.subtree(c)) for c in range(1, 19)]
    assert sum(sizes) == 18 + 180 + 2800 and len(tree.subtree(None)) == len(parents)
    assert time.perf_counter() - start < 0.05
    assert in_loops(parents) == set() and in_loops({1: 2, 2: 3, 3: 1, 4: 1}) == {1, 2, 3}


# ---------------------------------------------------------------- the roster's columns


async def test_roster_parent_and_county_columns(core: App) -> None:
    rows = [
        ["名称", "类别", "地市", "县区", "上级单位"],
        ["郑州市教育局", "市教育局", "郑州", "", ""],
        ["郑州外国语学校", "高中", "郑州", "", "郑州大学"],  # a parent later in the file, by its name
        ["郑州大学", "本科高校", "郑州", "", ""],
        ["郑州大学附属中学", "高中", "郑州", "", "全省"],
        ["郑州市第九中学", "高中", "郑州", "金水", ""],
        ["郑州市金水区教育局", "县区教育局", "郑州", "", "郑州市教育局"],
    ]
    result = await import_roster(core.units, csv_bytes(rows), "r.csv", actor="t")
    assert len(result.added) == 6
    u = core.units
    assert await parent_name(u, "郑州外国语学校") == "郑州大学"
    assert await parent_name(u, "郑州大学附属中学") is None
    assert await parent_name(u, "郑州市第九中学") == "郑州市金水区教育局"
    again = await import_roster(core.units, csv_bytes(rows), "r.csv", actor="t")
    assert (len(again.added), again.updated, again.unchanged) == (0, [], 6)
    rows[2][4] = "郑州市教育局"  # one parent changed: that row is updated
    again = await import_roster(core.units, csv_bytes(rows), "r.csv", actor="t")
    assert (again.updated, again.unchanged) == (["郑州外国语学校"], 5)
    assert await parent_name(u, "郑州外国语学校") == "郑州市教育局"
    # a file without the columns keeps what the earlier one set
    plain = [[r[0], r[1], r[2]] for r in rows]
    again = await import_roster(core.units, csv_bytes(plain), "r.csv", actor="t")
    assert again.unchanged == 6 and await parent_name(u, "郑州外国语学校") == "郑州市教育局"
    assert (await u.resolve("郑州市第九中学")).county == "金水"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["甲中学", "高中", "郑州", "火星教育局"]], "第 2 行：上级单位“火星教育局”不是名册里的单位"),
        ([["甲中学", "高中", "郑州", "甲中学"]], "第 2 行：“甲中学”不能做自己的上级单位"),
        ([["甲中学", "高中", "郑州", "乙中学"], ["乙中学", "高中", "郑州", "甲中学"]], "上下级绕成了一个圈"),
        ([["郑州大学", "本科高校", "郑州", "甲中学"], ["甲中学", "高中", "郑州", "郑州大学附中"]], "绕成了一个圈"),
    ],
)
async def test_roster_bad_parents_import_nothing(core: App, rows: list[list[str]], expected: str) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await core.units.add("郑州大学附中", "高中", "郑州", actor="t")
    await core.units.move("郑州大学附中", "郑州大学", actor="t")
    before = await core.units.all()
    with pytest.raises(UserError) as e:
        await import_roster(core.units, csv_bytes([["名称", "类别", "地市", "上级单位"], *rows]), "r.csv", actor="t")
    assert expected in str(e.value) and "没有导入任何内容" in str(e.value)
    assert await core.units.all() == before


# ---------------------------------------------------------------- the migration


async def test_migration_fills_parents_of_an_existing_database(tmp_path: Path) -> None:
    tree_version = next(v for v, sql in migrations() if "parent_id" in sql)
    path = tmp_path / "alliance.db"
    old = Database(path)
    await old.open(upto=tree_version - 1)
    rows = [
        (1, "郑州市教育局", "市教育局", "郑州", None),
        (2, "郑州市金水区教育局", "县区教育局", "郑州市", None),
        (3, "郑州市第九中学", "高中", "郑州", None),
        (4, "郑州大学", "本科高校", "郑州", None),
        (5, "河南省教育厅", "省直单位", "郑州", None),
        (6, "开封市第五中学", "高中", "开封", None),  # no 开封 bureau
        (7, "旧郑州局", "市教育局", "郑州", "2026-01-01T00:00:00"),  # deleted: adopts nobody
        (8, "无地市小学", "小学", "", None),
    ]
    async with old.tx() as tx:
        for uid, name, cat, city, deleted in sorted(rows, key=lambda r: -r[0]):
            await tx.run(
                "INSERT INTO units (id, name, category, city, created_at, deleted_at) VALUES (?, ?, ?, ?, 't', ?)",
                (uid, name, cat, city, deleted),
            )
    await old.close()
    db = Database(path)
    await db.open()
    try:
        async with db.read() as tx:
            got = {r[0]: r[1] for r in await tx.all("SELECT name, parent_id FROM units WHERE deleted_at IS NULL")}
        assert got == {
            "郑州市教育局": None,
            "郑州市金水区教育局": 1,
            "郑州市第九中学": 1,
            "郑州大学": None,
            "河南省教育厅": None,
            "开封市第五中学": None,
            "无地市小学": None,
        }
        units = Units(db)
        assert await parent_name(units, "郑州市第九中学") == "郑州市教育局"
    finally:
        await db.close()
