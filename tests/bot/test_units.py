"""Units: name matching, registration applications and their review, bindings, rename, soft delete."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.errors import Ambiguous, NotFound, UserError
from bot.roster import import_file
from bot.units.service import Units
from tests.conftest import ROSTER

ADMIN = "900001"
OP, OP2, OP3 = "20001", "20002", "20003"


@pytest.fixture
async def units(core: App) -> Units:
    await import_file(core.units, ROSTER, actor="test")
    return core.units


# ---------------------------------------------------------------- resolve


async def test_exact_name(units: Units) -> None:
    assert (await units.resolve("郑州大学")).name == "郑州大学"
    assert (await units.resolve("  郑州大学 ")).name == "郑州大学"


async def test_alias(units: Units) -> None:
    assert (await units.resolve("郑大")).name == "郑州大学"
    assert (await units.resolve("河科大")).name == "河南科技大学"
    assert (await units.resolve("省厅")).name == "河南省教育厅"


async def test_missing_shi_or_xian(units: Units) -> None:
    assert (await units.resolve("郑州教育局")).name == "郑州市教育局"
    assert (await units.resolve("开封教育局")).name == "开封市教育局"
    assert (await units.resolve("河南教育厅")).name == "河南省教育厅"


async def test_pinyin_initials(units: Units) -> None:
    assert (await units.resolve("hndx")).name == "河南大学"
    assert (await units.resolve("HNDX")).name == "河南大学"
    assert (await units.resolve("zzdx")).name == "郑州大学"


async def test_unique_substring(units: Units) -> None:
    assert (await units.resolve("濮阳工学院")).name == "河南大学濮阳工学院"


async def test_ambiguous_lists_both_and_chooses_nothing(units: Units) -> None:
    with pytest.raises(Ambiguous) as info:
        await units.resolve("河南科技")
    assert {"河南科技大学", "河南科技学院"} <= set(info.value.candidates)
    assert "河南科技大学" in str(info.value) and "河南科技学院" in str(info.value)
    assert await units.find("河南科技学院") is not None
    with pytest.raises(Ambiguous):
        await units.find("河南科技")


async def test_exact_beats_a_longer_name_containing_it(units: Units) -> None:
    assert (await units.resolve("河南大学")).name == "河南大学"


async def test_not_found_says_what_to_do(units: Units) -> None:
    with pytest.raises(NotFound, match="单位 列表"):
        await units.resolve("火星大学")
    assert await units.find("火星大学") is None
    with pytest.raises(NotFound):
        await units.resolve("   ")


async def test_every_roster_name_and_alias_resolves_to_its_own_unit(units: Units) -> None:
    for u in await units.all():
        assert (await units.resolve(u.name)).id == u.id
        for a in u.aliases:
            assert (await units.resolve(a)).id == u.id, a


# ---------------------------------------------------------------- add, aliases, rename, delete


async def test_add_refuses_duplicates_and_alias_clashes(core: App) -> None:
    u = await core.units.add("郑州大学", "本科", "郑州", actor=ADMIN, aliases=("郑大",))
    assert (u.category, u.city, u.aliases) == ("本科高校", "郑州", ("郑大",))
    with pytest.raises(UserError, match="已经存在"):
        await core.units.add("郑州大学", "本科高校", actor=ADMIN)
    with pytest.raises(UserError, match="简称"):
        await core.units.add("郑大", "本科高校", actor=ADMIN)
    with pytest.raises(UserError, match="类别"):
        await core.units.add("某某学校", "培训机构", actor=ADMIN)
    assert len(await core.units.all()) == 1


async def test_aliases_are_unique_across_units(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor=ADMIN)
    await core.units.add("郑州轻工业大学", "本科高校", "郑州", actor=ADMIN)
    unit, added = await core.units.add_aliases("郑州大学", ["郑大", "zzu"], actor=ADMIN)
    assert added == ["郑大", "zzu"] and set(unit.aliases) == {"郑大", "zzu"}
    unit, added = await core.units.add_aliases("郑州大学", ["郑大"], actor=ADMIN)
    assert added == []
    with pytest.raises(UserError, match="已属于"):
        await core.units.add_aliases("郑州轻工业大学", ["郑大"], actor=ADMIN)
    with pytest.raises(UserError, match="全称"):
        await core.units.add_aliases("郑州轻工业大学", ["郑州大学"], actor=ADMIN)
    assert (await core.units.resolve("zzu")).name == "郑州大学"


async def test_rename_keeps_the_old_name_as_alias(core: App) -> None:
    await core.units.add("信阳师范学院", "本科高校", "信阳", actor=ADMIN)
    old, new = await core.units.rename("信阳师范学院", "信阳师范大学", actor=ADMIN)
    assert (old.name, new.name) == ("信阳师范学院", "信阳师范大学")
    assert "信阳师范学院" in new.aliases
    assert (await core.units.resolve("信阳师范学院")).id == new.id
    assert (await core.units.resolve("信阳师范大学")).id == new.id
    # and back again: the old name is no longer also an alias of itself
    _, back = await core.units.rename("信阳师范大学", "信阳师范学院", actor=ADMIN)
    assert back.name == "信阳师范学院" and "信阳师范学院" not in back.aliases


async def test_rename_refuses_a_name_in_use(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor=ADMIN, aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor=ADMIN)
    with pytest.raises(UserError, match="已经存在"):
        await core.units.rename("河南大学", "郑州大学", actor=ADMIN)
    with pytest.raises(UserError, match="郑州大学"):
        await core.units.rename("河南大学", "郑大", actor=ADMIN)
    # nothing changed: the alias still belongs to 郑州大学
    assert (await core.units.resolve("郑大")).name == "郑州大学"
    assert (await core.units.resolve("河南大学")).name == "河南大学"


async def test_soft_delete_unbinds_and_keeps_history(core: App) -> None:
    unit = await core.units.add("旧学校", "高中", "开封", actor=ADMIN, aliases=("旧校",))
    app, _ = await core.units.registrations.apply(OP, "张三", None, "旧学校")
    await core.units.registrations.approve([app.id], actor=ADMIN)
    pending, _ = await core.units.registrations.apply(OP2, "李四", None, "旧学校")
    deleted, unbound = await core.units.delete("旧学校", actor=ADMIN)
    assert deleted.id == unit.id and unbound == [OP]
    assert await core.units.find("旧学校") is None
    assert await core.units.find("旧校") is None
    assert await core.units.registrations.operator(OP) is None
    assert (await core.units.registrations.application(pending.id)).state == "已撤销"
    async with core.db.read() as tx:
        row = await tx.one("SELECT name, deleted_at FROM units WHERE id=?", (unit.id,))
        assert row["name"] == "旧学校" and row["deleted_at"] is not None
        assert await tx.value("SELECT COUNT(*) FROM audit WHERE action='单位删除'") == 1
    # a new unit may take the name again
    again = await core.units.add("旧学校", "高中", "开封", actor=ADMIN, aliases=("旧校",))
    assert again.id != unit.id and (await core.units.resolve("旧校")).id == again.id


async def test_listing_by_category_and_city(units: Units) -> None:
    universities, what = await units.listing("本科高校")
    assert what == "本科高校" and universities and all(u.category == "本科高校" for u in universities)
    zhengzhou, what = await units.listing("郑州")
    assert zhengzhou and all(u.city == "郑州" for u in zhengzhou)
    assert zhengzhou == (await units.listing("郑州市"))[0]
    everything, _ = await units.listing()
    assert len(everything) == ROSTER.read_text(encoding="utf-8-sig").strip().count("\n")
    with pytest.raises(UserError, match="类别"):
        await units.listing("火星")


# ---------------------------------------------------------------- apply, approve, reject


async def test_apply_then_approve_binds(units: Units) -> None:
    app, new = await units.registrations.apply(OP, "张三", "100200300", "郑大")
    assert new and app.state == "待审核" and app.unit_name == "郑州大学" and not app.is_new_unit
    assert [a.id for a in await units.registrations.pending()] == [app.id]
    again, new = await units.registrations.apply(OP, "张三", "100200300", "郑州大学")
    assert not new and again.id == app.id
    [d] = await units.registrations.approve([app.id], actor=ADMIN)
    assert d.ok and d.unit is not None and d.unit.name == "郑州大学"
    op, unit = await units.registrations.operator(OP)  # type: ignore[misc]
    assert unit.name == "郑州大学" and op.name == "张三" and op.group_id == "100200300"
    assert (await units.registrations.application(app.id)).state == "已通过"
    assert await units.registrations.pending() == []
    with pytest.raises(UserError, match="联络员"):
        await units.registrations.apply(OP, "张三", None, "河南大学")


async def test_approving_twice_or_a_missing_number_is_reported_not_raised(units: Units) -> None:
    app, _ = await units.registrations.apply(OP, "张三", None, "郑大")
    first = await units.registrations.approve([app.id, app.id], actor=ADMIN)
    assert [d.ok for d in first] == [True]  # a repeated number counts once
    decisions = await units.registrations.approve([app.id, 999], actor=ADMIN)
    assert [d.ok for d in decisions] == [False, False]
    assert "不能再通过" in decisions[0].message
    assert "999" in decisions[1].message
    assert (await units.registrations.operator(OP))[1].name == "郑州大学"  # type: ignore[index]


async def test_reject_keeps_the_applicant_unbound(units: Units) -> None:
    app, _ = await units.registrations.apply(OP, "张三", None, "郑大")
    d = await units.registrations.reject(app.id, "不是本单位人员", actor=ADMIN)
    assert d.application.user_id == OP
    assert (await units.registrations.application(app.id)).state == "已驳回"
    assert (await units.registrations.application(app.id)).reason == "不是本单位人员"
    assert await units.registrations.operator(OP) is None
    with pytest.raises(UserError, match="不能再驳回"):
        await units.registrations.reject(app.id, "", actor=ADMIN)
    [d] = await units.registrations.approve([app.id], actor=ADMIN)
    assert not d.ok and await units.registrations.operator(OP) is None


async def test_applying_for_another_unit_withdraws_the_pending_one(units: Units) -> None:
    first, _ = await units.registrations.apply(OP, "张三", None, "郑大")
    second, new = await units.registrations.apply(OP, "张三", None, "河南大学")
    assert new and second.id != first.id
    assert (await units.registrations.application(first.id)).state == "已撤销"
    assert [a.id for a in await units.registrations.pending()] == [second.id]


async def test_ambiguous_application_files_nothing(units: Units) -> None:
    with pytest.raises(Ambiguous):
        await units.registrations.apply(OP, "张三", None, "河南科技")
    assert await units.registrations.pending() == []


async def test_unknown_unit_without_category_is_refused_with_the_way_to_apply(units: Units) -> None:
    with pytest.raises(UserError, match="类别"):
        await units.registrations.apply(OP, "张三", None, "郑州市第一百中学")
    assert await units.registrations.pending() == []


async def test_new_unit_application_creates_the_unit_on_approval(units: Units) -> None:
    before = len(await units.all())
    app, new = await units.registrations.apply(OP, "张三", None, "郑州市第一百中学", "高中", "郑州")
    assert new and app.is_new_unit and app.unit_name == "郑州市第一百中学"
    assert (app.category, app.city) == ("高中", "郑州")
    assert await units.find("郑州市第一百中学") is None  # not before approval
    with pytest.raises(UserError, match="类别"):
        await units.registrations.apply(OP2, "李四", None, "某某新学校", "培训机构")
    [d] = await units.registrations.approve([app.id], actor=ADMIN)
    assert d.ok and d.unit is not None and d.unit.name == "郑州市第一百中学"
    assert (d.unit.category, d.unit.city) == ("高中", "郑州")
    assert len(await units.all()) == before + 1
    assert (await units.registrations.operator(OP))[1].id == d.unit.id  # type: ignore[index]
    assert (await units.registrations.application(app.id)).unit_id == d.unit.id


async def test_two_applications_for_the_same_new_unit_create_it_once(units: Units) -> None:
    a1, _ = await units.registrations.apply(OP, "张三", None, "某某实验学校", "初中", "郑州")
    a2, _ = await units.registrations.apply(OP2, "李四", None, "某某实验学校", "初中", "郑州")
    decisions = await units.registrations.approve([a1.id, a2.id], actor=ADMIN)
    assert all(d.ok for d in decisions)
    assert decisions[0].unit.id == decisions[1].unit.id  # type: ignore[union-attr]
    assert len([u for u in await units.all() if u.name == "某某实验学校"]) == 1


# ---------------------------------------------------------------- unbind and the last operator


async def _bind(units: Units, user: str, name: str) -> None:
    app, _ = await units.registrations.apply(user, f"用户{user}", None, name)
    [d] = await units.registrations.approve([app.id], actor=ADMIN)
    assert d.ok


async def test_unbind_tells_when_the_last_operator_leaves(units: Units) -> None:
    await _bind(units, OP, "郑州大学")
    await _bind(units, OP2, "郑州大学")
    assert [o.user_id for o in await units.registrations.operators((await units.resolve("郑州大学")).id)] == [OP, OP2]
    first = await units.registrations.unbind(OP, actor=OP)
    assert first is not None and first.unit.name == "郑州大学" and not first.last_operator
    last = await units.registrations.unbind(OP2, actor="system", why="退群解绑")
    assert last is not None and last.last_operator
    assert await units.registrations.unbind(OP2, actor=OP2) is None
    assert await units.registrations.operator(OP2) is None
    # once unbound, the user may register again
    app, new = await units.registrations.apply(OP2, "李四", None, "河南大学")
    assert new and app.unit_name == "河南大学"


async def test_is_known(units: Units) -> None:
    assert not await units.registrations.is_known(OP)
    await units.registrations.apply(OP, "张三", None, "郑大")
    assert await units.registrations.is_known(OP)


async def test_unbound_members_and_orphan_units(units: Units) -> None:
    await _bind(units, OP, "郑州大学")
    await _bind(units, OP2, "河南大学")
    members = {OP: "张三", OP3: "王五", ADMIN: "新闻办"}  # OP2 is not in the group
    loose, orphan = await units.registrations.unbound(members, frozenset({ADMIN}))
    assert loose == [(OP3, "王五")]
    names = {u.name for u in orphan}
    assert "郑州大学" not in names
    assert "河南大学" in names  # its operator is not in the group
    assert len(orphan) == len(await units.all()) - 1


async def test_acts_that_change_data_never_take_a_loose_match(core: App) -> None:
    """Deleting, renaming, aliasing a unit act only on its name, an alias or the name less 市/县."""
    from bot.errors import Unsure

    await core.units.add("郑州市第十九中学", "高中", "郑州", actor="t")
    with pytest.raises(Unsure, match="你是指“郑州市第十九中学”吗"):
        await core.units.delete("郑州市第九中学", actor="t")
    assert (await core.units.resolve("郑州市第十九中学")).name == "郑州市第十九中学"
    with pytest.raises(Unsure):
        await core.units.rename("第十九中学", "新名", actor="t")
    unit, _ = await core.units.delete("郑州第十九中学", actor="t")  # missing 市 is not a guess
    assert unit.name == "郑州市第十九中学"


async def test_registering_a_new_unit_close_to_a_known_one_asks(core: App) -> None:
    await core.units.add("郑州市第十九中学", "高中", "郑州", actor="t")
    with pytest.raises(UserError, match="但有“郑州市第十九中学”"):
        await core.units.registrations.apply(30001, "张三", None, "郑州第九中学", "高中", "郑州")
    assert await core.units.registrations.pending() == []


# ---------------------------------------------------------------- issue 12: look-alikes, ids, cities, private chat


@pytest.mark.parametrize(
    "twin", ["郑州大学\u200b", "\u202e郑州大学", "郑州\u2060大学", "\ufeff郑州大学", "郑州大学\u00ad"]
)
async def test_invisible_characters_make_no_look_alike_unit(units: Units, twin: str) -> None:
    with pytest.raises(UserError, match="已经存在"):
        await units.add(twin, "本科高校", "郑州", actor="t")
    app, _ = await units.registrations.apply(OP, "张三", None, twin, "本科高校", "郑州")
    assert app.unit_name == "郑州大学" and not app.is_new_unit
    assert (await units.resolve(twin)).name == "郑州大学"
    async with units.db.read() as tx:
        assert await tx.value("SELECT count(*) FROM units WHERE name LIKE '%郑州大学%'") == 1


async def test_names_are_stored_normalized(units: Units) -> None:
    u = await units.add("  ＡＢＣ\u200b  实验  学校 ", "高中", " 郑州\u200b ", actor="t", aliases=("ＡＢＣ校\u202e",))
    assert u.name == "ABC 实验 学校" and u.city == "郑州" and u.aliases == ("ABC校",)
    assert (await units.resolve("abc 实验 学校")).id == u.id
    _, renamed = await units.rename("ABC 实验 学校", "ABC实验学校(本部)\u200b", actor="t")
    assert renamed.name == "ABC实验学校（本部）"


@pytest.mark.parametrize(
    "city", ["郑州\n【通知】全体单位今晚 8 点前报送", "郑州\r\n伪造", "郑州\u2028伪造", "[CQ:at,qq=all]", "x" * 21]
)
async def test_a_city_with_line_breaks_or_markup_is_refused(units: Units, city: str) -> None:
    with pytest.raises(UserError, match="地市"):
        await units.add("郑州市第九十九中学", "高中", city, actor="t")
    with pytest.raises(UserError, match="地市"):
        await units.registrations.apply(OP, "张三", None, "郑州市第九十九中学", "高中", city)
    assert await units.find("郑州市第九十九中学") is None and await units.registrations.pending() == []


@pytest.mark.parametrize("bad", ["-5", "0", "0012345", "1" * 30, "abc", ""])
async def test_a_malformed_user_id_is_refused_before_anything_is_stored(units: Units, bad: str) -> None:
    with pytest.raises(UserError, match="QQ 号"):
        await units.registrations.apply(bad, "张三", None, "郑州大学")
    async with units.db.read() as tx:
        assert await tx.value("SELECT count(*) FROM applications") == 0


async def test_private_chat_is_for_people_bound_or_waiting_only(units: Units) -> None:
    a, _ = await units.registrations.apply(OP, "张三", None, "郑大")
    assert await units.registrations.is_known(OP)  # waiting for review
    await units.registrations.reject(a.id, "不是本单位", actor="t")
    assert not await units.registrations.is_known(OP)  # rejected
    b, _ = await units.registrations.apply(OP2, "李四", None, "河南大学")
    await units.registrations.approve([b.id], actor="t")
    assert await units.registrations.is_known(OP2)  # bound
    await units.registrations.unbind(OP2, actor="system", why="退群")
    assert not await units.registrations.is_known(OP2)  # left the group


# a typed name that holds many of one character, against a unit whose name holds many of it: the loose
# (subsequence) search was a backtracking regex, 2^n steps; the hypothesis run that drew
# "99999999999999999999999 °é #1 # 99999999999999999999999" after a unit named with 23 nines held up a test
# worker for over an hour (CI), and one such message would have frozen the bot
_REPEATED = """
import sys
from bot.units.records import Unit, UnitIndex
index = UnitIndex()
index.put(Unit(1, "9" * 30 + "中学", "高中", "郑州"))
index.put(Unit(2, "郑州大学", "本科高校", "郑州"))
for typed in ("9" * 60 + "#1", "9" * 31, "郑" * 40 + "州" * 40):
    try:
        index.lookup(typed)
    except Exception as e:  # not found / ambiguous: an answer
        pass
print("answered")
"""


def test_a_name_of_one_repeated_character_is_answered_at_once() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    run = subprocess.run([sys.executable, "-c", _REPEATED], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "answered" in run.stdout, run.stderr[-2000:]
