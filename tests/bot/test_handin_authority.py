"""Who may hand in for a unit (issue 20 item 1, and the small items of item 9): only the unit's own operators and
admins; a stranger's upload waits (待确认) for an admin, is never counted and never replaces a file."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bot.app import App
from bot.errors import UserError
from bot.readouts import workbooks
from bot.returns.files import store
from bot.returns.files.records import Upload
from bot.returns.records import NewReturn
from bot.units.authority import Authority
from sim import samples
from tests.bot.test_returnfiles import DEADLINE, HENU, ZZU, frozen, giving, roster  # noqa: F401 (frozen: autouse)
from tests.conftest import sent
from tests.fake import ADMIN, GROUP

STRANGER = 30001
FORGED = "郑州大学统计表(更正).xlsx"


async def file_return(app: App, title: str = "2026年新媒体统计", form: str = "统计表") -> int:
    return (await app.returns.create(NewReturn(title, DEADLINE, "", "", form, False), actor=str(ADMIN))).ret.id


async def hand(app: App, user: int | str, name: str, data: bytes, who: str = "") -> str:
    u = Upload(str(user), who or f"用户{user}", str(GROUP), name, len(data), f"fid-{user}-{name}")
    msg = await app.return_files.receive(u, giving(data), is_admin=app.is_admin(user))
    return msg.plain() if msg else ""


def one_made_up_row() -> bytes:
    return samples.xlsx(samples.stats_rows("郑州大学", 1))


async def merged_units(app: App, rid: int) -> list[tuple[str, int]]:
    async with app.db.read() as tx:
        return [(f.unit_name, len(list(rows))) for f, rows in await store.merged_rows(tx, rid)]


async def audit_rows(app: App, action: str) -> list[tuple[str, str]]:
    async with app.db.read() as tx:
        return [(r[0], r[1]) for r in await tx.all("SELECT actor, detail FROM audit WHERE action=?", (action,))]


# ---------------------------------------------------------------- the reproduction


async def test_a_strangers_upload_named_for_a_unit_is_kept_aside_and_replaces_nothing(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    good = samples.xlsx(samples.stats_rows("郑州大学", 20))
    assert await hand(core, ZZU, "郑州大学统计表.xlsx", good) == "收到 郑州大学 的统计表：20 个账号，已记为已报送。"
    await sent(core)

    said = await hand(core, STRANGER, FORGED, one_made_up_row(), who="王五")
    assert "已替换" not in said and "进度" not in said
    assert said == (
        f"收到“{FORGED}”。只有郑州大学的联络员和管理员可以替它交文件：这个文件先交管理员确认，不计入报送。"
        "你如是该单位的联络员，请先发 /注册 郑州大学 申请绑定。"
    )
    p = await core.returns.progress(rid)
    assert [s.unit.name for s in p.done] == ["郑州大学"] and p.done[0].by == str(ZZU)
    assert await merged_units(core, rid) == [("郑州大学", 20)]
    files = {f.original_name: f for f in await core.return_files.files_of(rid)}
    assert files["郑州大学统计表.xlsx"].state == "通过"
    pending = await core.return_files.pending.pending_files()
    assert [(f.original_name, f.state, f.unit_id, f.uploaded_by) for f in pending] == [
        (FORGED, "待确认", None, str(STRANGER))
    ]
    fid = pending[0].id
    # the admin is told privately, once; the group hears nothing more
    out = await sent(core)
    assert [o["target"] for o in out] == [("private", str(ADMIN))]
    assert out[0]["text"] == (
        f"【待确认文件 #{fid}】“{FORGED}”：上传人 王五（{STRANGER}）没有绑定单位（文件名像是郑州大学的），"
        f"没有计入报送。收下：/报送 文件 {rid} 郑州大学 #{fid}；丢弃：/报送 丢弃 {fid}；全部：/报送 待确认"
    )
    # the pack holds only the operator's original
    made = await core.workbooks.pack(await core.returns.get(rid))
    assert made.rows == 1


async def test_a_stranger_cannot_hand_in_for_a_unit_by_command(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, STRANGER, FORGED, one_made_up_row())
    with pytest.raises(UserError, match="请写出单位名称"):
        await core.return_files.attribution.attribute(str(STRANGER), "王五", rid, "", is_admin=False)
    with pytest.raises(UserError, match="只有郑州大学的联络员和管理员可以替它交文件"):
        await core.return_files.attribution.attribute(str(STRANGER), "王五", rid, "郑大", is_admin=False)
    assert (await core.returns.progress(rid)).done == []
    assert [f.state for f in await core.return_files.pending.pending_files()] == ["待确认"]


async def test_an_operator_of_another_unit_cannot_hand_in_for_it_by_command(core: App) -> None:
    await roster(core)
    first = await file_return(core)
    await file_return(core, title="第二季度统计")  # two returns: 河南大学's file waits to be told which
    said = await hand(core, HENU, FORGED, one_made_up_row())
    assert "现在有 2 个报送在收表格" in said
    with pytest.raises(UserError, match="你是“河南大学”的联络员，只能替本单位交文件"):
        await core.return_files.attribution.attribute(str(HENU), "李四", first, "郑州大学", is_admin=False)
    assert (await core.returns.progress(first)).done == []


async def test_the_admin_lists_accepts_and_drops_strangers_files(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, STRANGER, FORGED, one_made_up_row(), who="王五")
    await hand(core, STRANGER + 1, "河大统计表.xlsx", samples.xlsx(samples.stats_rows("河南大学", 2)), who="赵六")
    listed = (await core.return_files.pending.pending_listing()).plain()
    a, b = [f.id for f in await core.return_files.pending.pending_files()]
    assert listed.startswith("待确认的文件（2）：")
    assert (
        f"#{a}“{FORGED}”王五（{STRANGER}） 10月20日 09:00，文件名像是郑州大学的 → /报送 文件 {rid} 郑州大学 #{a}"
        in listed
    )
    assert "/报送 丢弃 <文件编号…>" in listed
    # accepting one names the admin as the one who handed it in, and counts it
    said = (
        await core.return_files.attribution.attribute(str(ADMIN), "管理员", rid, "郑州大学", is_admin=True, file_id=a)
    ).plain()
    assert said == "收到 郑州大学 的统计表：1 个账号，已记为已报送。"
    assert (await core.returns.progress(rid)).done[0].by == str(ADMIN)
    assert any(str(STRANGER) in d and FORGED in d for actor, d in await audit_rows(core, "收下待确认文件"))
    # dropping the other removes it (and its bytes), audited
    _, path = await core.return_files.file(b)  # type: ignore[misc]
    said = (await core.return_files.pending.drop([b], actor=str(ADMIN))).plain()
    assert said == f"已丢弃 1 个待确认文件：#{b}“河大统计表.xlsx”。"
    assert await core.return_files.file(b) is None and not path.exists()
    assert await core.return_files.pending.pending_files() == []
    assert (await audit_rows(core, "丢弃待确认文件"))[0][0] == str(ADMIN)
    with pytest.raises(UserError, match=f"#{a} 不是待确认的文件"):
        await core.return_files.pending.drop([a], actor=str(ADMIN))


async def test_an_operators_replacement_keeps_the_earlier_file_and_is_audited(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    said = await hand(core, ZZU, "郑州大学统计表(改).xlsx", samples.xlsx(samples.stats_rows("郑州大学", 4)))
    assert said == "收到 郑州大学 的统计表：4 个账号，已替换之前交的文件。进度：1/3"
    old, new = sorted(await core.return_files.files_of(rid), key=lambda f: f.id)
    assert (old.state, new.state) == ("已替换", "通过")
    found = await core.return_files.file(old.id)
    assert found is not None and found[1].is_file(), "the replaced version stays downloadable"
    assert await merged_units(core, rid) == [("郑州大学", 4)]
    assert await audit_rows(core, "报送文件替换") == [
        (
            str(ZZU),
            f"#{rid}《2026年新媒体统计》 郑州大学：#{new.id}“郑州大学统计表(改).xlsx” 替换 #{old.id}“郑州大学统计表.xlsx”",
        )
    ]


async def test_the_one_rule_for_acting_for_a_unit(core: App) -> None:
    await roster(core)
    rule = Authority(core.units, core.settings.admins)
    zzu = await core.units.resolve("郑州大学")
    henu = await core.units.resolve("河南大学")
    assert await rule.may_act_for(ZZU, zzu)
    assert not await rule.may_act_for(ZZU, henu)
    assert not await rule.may_act_for(STRANGER, zzu)
    assert await rule.may_act_for(ADMIN, henu)


# ---------------------------------------------------------------- a return of several forms (issue 21 item 2)


def zzu_summary() -> bytes:
    return samples.summary_xlsx([("郑州大学", "本科高校", "郑州")])


async def test_a_replacement_replaces_only_its_own_form_and_is_audited(core: App) -> None:
    await roster(core)
    rid = await file_return(core, form="统计表,汇总表")
    await hand(core, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    await hand(core, ZZU, "郑州大学汇总表.xlsx", zzu_summary())
    said = await hand(core, ZZU, "郑州大学统计表(改).xlsx", samples.xlsx(samples.stats_rows("郑州大学", 4)))
    assert said == "收到 郑州大学 的统计表：4 个账号，已替换之前交的文件。进度：1/3"
    files = {f.original_name: f for f in await core.return_files.files_of(rid)}
    assert {n: (f.form, f.state) for n, f in files.items()} == {
        "郑州大学统计表.xlsx": ("统计表", "已替换"),
        "郑州大学汇总表.xlsx": ("汇总表", "通过"),
        "郑州大学统计表(改).xlsx": ("统计表", "通过"),
    }
    new, old = files["郑州大学统计表(改).xlsx"], files["郑州大学统计表.xlsx"]
    assert await audit_rows(core, "报送文件替换") == [
        (
            str(ZZU),
            f"#{rid}《2026年新媒体统计》 郑州大学：#{new.id}“郑州大学统计表(改).xlsx” 替换 #{old.id}“郑州大学统计表.xlsx”",
        )
    ]


async def test_a_strangers_form_of_a_two_form_return_waits_and_counts_as_its_form_once_taken_in(core: App) -> None:
    await roster(core)
    rid = await file_return(core, form="统计表,汇总表")
    said = await hand(core, STRANGER, "郑州大学汇总表.xlsx", zzu_summary(), who="王五")
    assert "先交管理员确认，不计入报送" in said
    p = await core.returns.progress(rid)
    assert p.done == [] and p.owes == {}
    (waiting,) = await core.return_files.pending.pending_files()
    said = (
        await core.return_files.attribution.attribute(
            str(ADMIN), "管理员", rid, "郑州大学", is_admin=True, file_id=waiting.id
        )
    ).plain()
    assert said == "收到 郑州大学 的汇总表：1 个单位，已收好。还差：统计表，交齐后记为已报送。"
    p = await core.returns.progress(rid)
    assert p.done == [] and p.owes == {1: ("统计表",)}
    said = await hand(core, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
    assert said == "收到 郑州大学 的统计表：2 个账号，已记为已报送。"
    assert [s.unit.name for s in (await core.returns.progress(rid)).done] == ["郑州大学"]


# ---------------------------------------------------------------- item 9: ids, names, file names


@pytest.mark.parametrize("bad", ["-5", str(10**15), "0", ""])
async def test_an_upload_from_an_impossible_qq_id_is_refused_and_nothing_stored(core: App, bad: str) -> None:
    await roster(core)
    rid = await file_return(core)
    with pytest.raises(UserError, match="无法识别你的 QQ 号"):
        await hand(core, bad, "郑州大学统计表.xlsx", one_made_up_row())
    assert await core.return_files.files_of(rid) == [] and await core.return_files.pending.pending_files() == []


@pytest.mark.parametrize("length", [85, 300])
async def test_a_long_template_name_still_gives_every_unit_its_form(core: App, length: int) -> None:
    await roster(core)
    rid = await file_return(core, form="模板")
    wb = Workbook()
    wb.active.append(["单位", "姓名", "职务"])
    buf = io.BytesIO()
    wb.save(buf)
    name = "模" * (length - 5) + ".xlsx"
    await hand(core, ADMIN, name, buf.getvalue())
    await core.return_files.attach_template(rid, actor=str(ADMIN))
    ret = await core.returns.get(rid)
    for unit_name in ("郑州大学", "洛阳市教育局"):
        made = await core.workbooks.prefilled(ret, None, await core.units.resolve(unit_name))
        assert made.path.is_file() and made.path.suffix == ".xlsx"
        assert len(made.path.name.encode()) <= 200 and made.path.name.startswith(unit_name)


@pytest.mark.parametrize("length", [85, 300])
def test_file_names_the_bot_writes_are_bounded_and_keep_the_extension(length: int) -> None:
    for ext in (".xlsx", ".pdf", ""):
        got = workbooks.safe_name("郑州大学_" + "表" * length + ext)
        assert len(got.encode()) <= 200 and got.endswith(ext) and got.startswith("郑州大学_表")
    assert workbooks.safe_name("短名.xlsx") == "短名.xlsx"


async def test_variants_a_strangers_scan_an_alias_in_the_name_and_another_units_operator(core: App) -> None:
    await roster(core)
    rid = (await core.returns.create(NewReturn("统计", DEADLINE, "", "", "统计表", True), actor=str(ADMIN))).ret.id
    await hand(core, ZZU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
    await hand(core, ZZU, "郑州大学盖章.pdf", b"%PDF-1.4\n")
    # a stranger's stamped scan, and a form named by the alias 郑大: both wait, neither replaces anything
    assert "先交管理员确认" in await hand(core, STRANGER, "郑大盖章扫描件(新).pdf", b"%PDF-1.4\nforged")
    assert "只有郑州大学的联络员" in await hand(core, STRANGER, "郑大统计表v2.xlsx", one_made_up_row())
    assert "你还没有绑定单位" in await hand(core, STRANGER + 1, "统计表.xlsx", one_made_up_row())
    states = sorted((f.kind, f.state, f.unit_id) for f in await core.return_files.files_of(rid))
    assert states == [
        ("扫描件", "已保存", 1),
        ("扫描件", "待确认", None),
        ("表格", "待确认", None),
        ("表格", "待确认", None),
        ("表格", "通过", 1),
    ]
    assert sorted(f.state for f in await core.return_files.pending.pending_files()) == ["待确认"] * 3
    assert await merged_units(core, rid) == [("郑州大学", 2)]
    # 河南大学's operator naming 郑州大学 in the file name hands in for 河南大学 only
    said = await hand(core, HENU, "郑州大学统计表.xlsx", samples.xlsx(samples.stats_rows("河南大学", 3)))
    assert said.startswith("收到 河南大学 的统计表：3 个账号")
    assert await merged_units(core, rid) == [("郑州大学", 2), ("河南大学", 3)]
