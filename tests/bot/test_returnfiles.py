"""Returns as files (issue 16): reading, checking, attributing, storing and merging the units' forms."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from bot import privacy
from bot.app import App
from bot.db import Database, migrations
from bot.errors import UserError
from bot.returns.files import read, store
from bot.returns.files.check import check_rows
from bot.returns.files.fetch import ClientFiles, FetchFailed, Source, TooBig, fetch
from bot.returns.files.layouts import STATS, SUMMARY
from bot.returns.files.records import Upload
from bot.returns.parse import parse_new
from bot.returns.records import NewReturn
from sim import samples
from tests.conftest import sent, stopped_clock
from tests.fake import ADMIN, GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
DEADLINE = datetime(2026, 10, 31, 17, 30, tzinfo=TZ)
ZZU, HENU = 20001, 20002


frozen = stopped_clock(NOW)


async def roster(app: App) -> None:
    await app.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await app.units.add("河南大学", "本科高校", "开封", actor="t", aliases=("河大",))
    await app.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")
    for qq, unit in ((ZZU, "郑州大学"), (HENU, "河南大学")):
        a, _ = await app.units.registrations.apply(qq, f"联络员{qq}", GROUP, unit)
        await app.units.registrations.approve([a.id], actor="t")
    await sent(app)


async def file_return(app: App, form: str = "统计表", scan: bool = False, title: str = "2026年新媒体统计") -> int:
    made = await app.returns.create(NewReturn(title, DEADLINE, "", "", form, scan), actor=str(ADMIN))
    return made.ret.id


def up(user: int, name: str, size: int | None = None, file_id: str = "") -> Upload:
    return Upload(str(user), f"用户{user}", str(GROUP), name, size, file_id or f"fid-{user}-{name}")


def giving(data: bytes):
    async def fetch_(cap: int) -> bytes:
        return data

    return fetch_


async def hand(app: App, user: int, name: str, data: bytes, **kw) -> str:
    msg = await app.return_files.receive(up(user, name, len(data)), giving(data), is_admin=app.is_admin(user), **kw)
    return msg.plain() if msg else ""


# ---------------------------------------------------------------- reading and checking


def test_merged_header_with_spaces_and_line_breaks_is_found() -> None:
    data = samples.xlsx(samples.stats_rows("郑州大学", 3))
    table = read.read_table(data, read.check_kind(data, "a.xlsx"), STATS)
    header = read.find_header(table.rows, STATS)
    assert header.missing == []
    assert header.written["账号(网站)名称"] == "账号 (网站) 名称"
    assert header.columns["是否委托其他单位运营"] == 9
    checked = check_rows(table.rows, header, STATS)
    assert [n for n, _ in checked.rows] == [5, 6, 7]
    assert checked.problems == []


def test_each_mistake_is_named_with_its_row_and_header() -> None:
    rows = samples.stats_rows("郑州大学", 6, {1: "date", 3: "platform", 4: "phone"})
    rows[5][6] = "不知道"
    rows[2][1] = ""  # no account name: not a data row
    data = samples.xlsx(rows)
    table = read.read_table(data, "xlsx", STATS)
    checked = check_rows(table.rows, read.find_header(table.rows, STATS), STATS)
    said = [p.describe() for p in checked.problems]
    assert said[0] == "第6行 开通时间“2020.13.01”不是日期（请写成 2020-01-31）"
    assert said[1].startswith("第8行 类型“微信号”不在平台列表（可写：微信公众号、微博")
    assert said[2].startswith("第9行 联系电话“123”不是电话号码")
    assert said[3] == "第10行 是否整改“不知道”应填“是”或“否”"
    assert len(checked.rows) == 5


def test_old_xls_and_gbk_csv_read_like_xlsx() -> None:
    rows = samples.stats_rows("河南大学", 4)
    for name, data in (("a.xls", samples.xls(rows)), ("a.csv", samples.csv_bytes(rows, encoding="gb18030"))):
        kind = read.check_kind(data, name)
        table = read.read_table(data, kind, STATS)
        checked = check_rows(table.rows, read.find_header(table.rows, STATS), STATS)
        assert len(checked.rows) == 4, name
        assert checked.problems == [], (name, checked.problems)
        assert checked.rows[0][1][STATS.names.index("开通日期")] == "2020-01-10"


def test_formulas_are_never_evaluated() -> None:
    rows = samples.stats_rows("郑州大学", 1)
    rows[0][14] = '=HYPERLINK("http://evil","x")'
    data = samples.csv_bytes(rows)
    table = read.read_table(data, "csv", STATS)
    checked = check_rows(table.rows, read.find_header(table.rows, STATS), STATS)
    assert checked.rows[0][1][14] == '=HYPERLINK("http://evil","x")'


def test_renamed_binary_is_refused_by_its_bytes() -> None:
    with pytest.raises(read.FileRefused, match="不是能读取的表格"):
        read.check_kind(b"MZ\x90\x00\x03" + bytes(200), "统计表.xlsx")
    with pytest.raises(read.FileRefused, match="文件内容是PDF"):
        read.check_kind(b"%PDF-1.4 ...", "统计表.xls")
    assert read.check_kind(samples.xlsx([]), "old-name.xls") == "xlsx"  # Excel opens either


def test_zip_bomb_and_a_million_rows_are_refused_without_reading_them() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 1 + b"\x00" * (40 * 1024 * 1024))
    with pytest.raises(read.FileRefused, match="解压后超过"):
        read.read_table(buf.getvalue(), "xlsx", STATS)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    for i in range(read.MAX_ROWS + 100):
        ws.append([i])
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(read.FileRefused, match="超过 5000 行"):
        read.read_table(out.getvalue(), "xlsx", STATS)


async def test_download_is_capped_whatever_the_source_claims(tmp_path: Path) -> None:
    with pytest.raises(TooBig):
        await fetch(Source(b64="A" * 4000), 1000, 5)
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 2000)
    here = ClientFiles(dirs=(tmp_path.resolve(),))  # a local path is read only inside the allowed folders
    with pytest.raises(TooBig):
        await fetch(Source(path=str(p)), 1000, 5, rules=here)
    assert await fetch(Source(path=str(p)), 5000, 5, rules=here) == b"x" * 2000
    with pytest.raises(FetchFailed):
        await fetch(Source(url="ftp://x"), 1000, 5)


# ---------------------------------------------------------------- creating a file return


def test_new_return_reads_what_files_it_expects() -> None:
    new = parse_new(["2026年新媒体统计", "截止", "10-31", "17:30", "表格", "附件1,扫描件", "请按时报送"], NOW)
    assert (new.forms, new.scan, new.note) == (("统计表",), True, "请按时报送")
    with pytest.raises(UserError, match="不认识表格“附件9”"):
        parse_new(["统计", "截止", "10-31", "表格", "附件9"], NOW)


async def test_announcement_says_what_to_send_and_how(core: App) -> None:
    await roster(core)
    await file_return(core, scan=True)
    text = (await sent(core))[0]["text"]
    assert "统计表（.xlsx 或 .xls，按官方格式）和首页加盖单位公章的扫描件（PDF 或图片）" in text
    assert "20261030郑州大学新媒体统计.xlsx" in text
    assert "/报送 表格 1" in text


# ---------------------------------------------------------------- handing in


async def test_good_file_counts_as_submitted(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    said = await hand(core, ZZU, "20261030郑州大学新媒体统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 12)))
    assert said == "收到 郑州大学 的统计表：12 个账号，已记为已报送。"
    p = await core.returns.progress(rid)
    assert [s.unit.name for s in p.done] == ["郑州大学"]
    files = await core.return_files.files_of(rid)
    assert files[0].state == "通过" and files[0].original_name == "20261030郑州大学新媒体统计.xlsx"
    stored = core.return_files.files.path(files[0].stored_name)
    assert stored.parent == (core.settings.data_dir / "return_files").resolve() and stored.suffix == ".xlsx"


async def test_file_with_mistakes_is_kept_as_needing_changes_until_corrected(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    bad = samples.xlsx(samples.stats_rows("郑州大学", 12, {0: "date", 2: "platform"}))
    said = await hand(core, ZZU, "郑州大学统计表.xlsx", bad)
    assert said.startswith("收到 郑州大学 的统计表：12 个账号，有 2 处要改：第5行 开通时间“2020.13.01”不是日期")
    assert "第7行 类型“微信号”不在平台列表（可写：微信公众号、微博" in said
    assert said.endswith("改好后重新上传即可。")
    p = await core.returns.progress(rid)
    assert p.done == [] and p.fixing == {1}
    assert await core.returns.fixing_for_unit(1) == {rid}
    from bot.returns.text import render_progress

    assert "其中需修改（1，已交文件但有问题）：郑州大学" in render_progress(p, None).plain()
    good = samples.xlsx(samples.stats_rows("郑州大学", 12))
    assert await hand(core, ZZU, "郑州大学统计表(改).xlsx", good) == "收到 郑州大学 的统计表：12 个账号，已记为已报送。"
    states = [f.state for f in await core.return_files.files_of(rid)]
    assert states == ["通过", "已替换"]
    assert (await core.returns.progress(rid)).fixing == set()


async def test_admin_accepts_a_file_with_problems(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, ZZU, "郑大.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3, {0: "phone"})))
    said = (await core.return_files.accept(rid, "郑州大学", actor=str(ADMIN))).plain()
    assert said.startswith("已接受“郑州大学”的“郑大.xlsx”（3 行，1 处问题未改），记为已报送。")
    assert len((await core.returns.progress(rid)).done) == 1


async def test_admin_upload_goes_to_the_unit_in_the_file_name(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    said = await hand(core, ADMIN, "20261030河南大学新媒体统计.xls", samples.xls(samples.stats_rows("河南大学", 5)))
    assert said == "收到 河南大学 的统计表：5 个账号，已记为已报送。"
    done = (await core.returns.progress(rid)).done
    assert done[0].unit.name == "河南大学" and done[0].via == "管理员登记"


async def test_unknown_unit_asks_and_counts_nothing_until_answered(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    said = await hand(core, ADMIN, "新媒体统计.xlsx", samples.xlsx(samples.stats_rows("洛阳市教育局", 2)))
    assert "看不出是哪个单位的" in said and f"/报送 文件 {rid} 郑州大学" in said
    assert (await core.returns.progress(rid)).done == []
    said = (
        await core.return_files.attribution.attribute(str(ADMIN), "管理员", rid, "洛阳市教育局", is_admin=True)
    ).plain()
    assert said == "收到 洛阳市教育局 的统计表：2 个账号，已记为已报送。"


async def test_two_file_returns_ask_which_one(core: App) -> None:
    await roster(core)
    await file_return(core)
    second = await file_return(core, title="第二季度统计")
    said = await hand(core, ZZU, "郑大.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
    assert "现在有 2 个报送在收表格" in said and "/报送 文件 <编号>" in said
    said = (await core.return_files.attribution.attribute(str(ZZU), "张三", second, "", is_admin=False)).plain()
    assert said.startswith("收到 郑州大学 的统计表：2 个账号")
    assert len((await core.returns.progress(second)).done) == 1


async def test_pdf_is_kept_as_the_stamped_scan(core: App) -> None:
    await roster(core)
    rid = await file_return(core, form="", scan=True)
    said = await hand(core, HENU, "河南大学盖章扫描件.pdf", b"%PDF-1.4\n...")
    assert said.startswith("收到 河南大学 的盖章扫描件（PDF），已记为已报送。")
    assert (await core.return_files.files_of(rid))[0].kind == "扫描件"


async def test_too_big_and_renamed_files_get_a_clear_answer_and_nothing_is_stored(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    big = core.return_files.cap + 1
    msg = await core.return_files.receive(up(ZZU, "郑大.xlsx", big), giving(b""), is_admin=False)
    assert msg is not None and msg.plain().startswith("文件太大（10.0 MB），上限是 10.0 MB。")
    said = await hand(core, ZZU, "郑大.xls", b"\x7fELF" + bytes(100))
    assert "不是能读取的表格" in said
    assert await core.return_files.files_of(rid) == []
    folder = core.settings.data_dir / "return_files"
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_the_same_upload_announced_twice_is_handled_once(core: App) -> None:
    await roster(core)
    await file_return(core)
    data = samples.xlsx(samples.stats_rows("郑州大学", 2))
    first = await core.return_files.receive(up(ZZU, "郑大.xlsx", file_id="same"), giving(data), is_admin=False)
    again = await core.return_files.receive(up(ZZU, "郑大.xlsx", file_id="same"), giving(data), is_admin=False)
    assert first is not None and again is None


async def test_saying_submitted_on_a_file_return_asks_for_the_file(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    with pytest.raises(UserError, match="要交文件：请把填好的统计表上传到群文件"):
        await core.returns.submit(str(ZZU), "张三", rid)


async def test_no_file_return_means_uploads_are_left_alone(core: App) -> None:
    await roster(core)
    await core.returns.create(NewReturn("普通报送", DEADLINE), actor=str(ADMIN))
    assert await hand(core, ZZU, "郑大.xlsx", samples.xlsx([])) == ""


# ---------------------------------------------------------------- merged, packed, pre-filled


async def test_merged_workbook_holds_every_units_rows_and_who_is_missing(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, ZZU, "郑大.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    await hand(core, HENU, "河大.xls", samples.xls(samples.stats_rows("河南大学", 2, {1: "date"})))
    ret = await core.returns.get(rid)
    made = await core.workbooks.merged(ret, STATS)
    wb = load_workbook(made.path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    header = list(rows[3])
    assert header[-2:] == ["填报单位", "提交时间"] and header[1] == "账号(网站)名称"
    data = rows[4:]
    assert len(data) == 3
    assert data[0][1] == "郑州大学微信公众号1" and data[0][-2] == "郑州大学"
    assert data[0][header.index("联系电话")] == "13812340000"  # the office's copy is whole ...
    chat = load_workbook(privacy.masked_file(made.path), read_only=True)  # ... what leaves for a chat is masked
    assert list(chat.worksheets[0].iter_rows(values_only=True))[4][header.index("联系电话")] == "138****0000"
    assert data[0][header.index("开通日期")] == datetime(2020, 1, 10)  # a date cell (issue 23), no longer text
    missing = list(wb.worksheets[1].iter_rows(values_only=True))
    by_name = {r[1]: r for r in missing[1:]}
    assert sorted(by_name) == ["河南大学", "洛阳市教育局"]
    assert by_name["河南大学"][4] == "需修改" and "第6行 开通时间“2020.13.01”不是日期" in by_name["河南大学"][5]
    assert by_name["洛阳市教育局"][4] == "未报送"


async def test_pack_names_originals_by_unit(core: App) -> None:
    await roster(core)
    rid = await file_return(core, scan=True)
    await hand(core, ZZU, "统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 1)))
    await hand(core, ZZU, "盖章.pdf", b"%PDF-1.4")
    made = await core.workbooks.pack(await core.returns.get(rid))
    with zipfile.ZipFile(made.path) as zf:
        assert sorted(zf.namelist()) == ["郑州大学_盖章.pdf", "郑州大学_统计.xlsx"]


async def test_prefilled_form_comes_from_the_registry_and_reads_back_clean(core: App) -> None:
    await roster(core)
    await core.accounts.file_opening(str(ZZU), "张三", "微信", "郑州大学", "zzu1956", "2014-03-01")
    rid = await file_return(core)
    ret = await core.returns.get(rid)
    unit = await core.units.resolve("郑州大学")
    made = await core.workbooks.prefilled(ret, STATS, unit)
    data = made.path.read_bytes()
    table = read.read_table(data, "xlsx", STATS)
    header = read.find_header(table.rows, STATS)
    checked = check_rows(table.rows, header, STATS)
    assert len(checked.rows) == 1 and checked.problems == []
    cells = checked.rows[0][1]
    assert cells[STATS.names.index("类型")] == "微信公众号"
    assert cells[STATS.names.index("账号ID")] == "zzu1956"
    assert cells[STATS.names.index("开通日期")] == "2014-03-01"


async def test_admin_template_becomes_the_layout(core: App) -> None:
    await roster(core)
    rid = await file_return(core, form="模板")
    wb = Workbook()
    wb.active.append(["单位", "姓名", "职务"])
    buf = io.BytesIO()
    wb.save(buf)
    said = await hand(core, ADMIN, "自查模板.xlsx", buf.getvalue())
    assert f"如果这是报送 #{rid}《2026年新媒体统计》的模板，请发 /报送 模板 {rid}" in said
    said = (await core.return_files.attach_template(rid, actor=str(ADMIN))).plain()
    assert said.startswith(f"已把“自查模板.xlsx”设为报送 #{rid}《2026年新媒体统计》的模板，表头 3 列：单位、姓名、职务")
    filled = Workbook()
    filled.active.append(["单位", "姓名", "职务"])
    filled.active.append(["郑州大学", "张三", "主任"])
    buf = io.BytesIO()
    filled.save(buf)
    assert await hand(core, ZZU, "郑大自查.xlsx", buf.getvalue()) == "收到 郑州大学 的表格：1 行，已记为已报送。"


# ---------------------------------------------------------------- schema


async def test_migration_upgrades_a_database_of_the_previous_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open(upto=6)
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO returns (title, deadline, created_by, created_at) VALUES ('旧报送', '2026-11-01T00:00:00+08:00', "
            "'1', '2026-10-01T00:00:00+08:00')"
        )
    await db.migrate()
    assert await db.version() == migrations()[-1][0]
    async with db.read() as tx:
        r = await tx.one("SELECT forms, wants_scan, template_file FROM returns")
    assert (r["forms"], r["wants_scan"], r["template_file"]) == ("[]", 0, None)
    await db.close()


def test_fast_writer_makes_a_workbook_both_readers_open_and_formulas_stay_text(tmp_path: Path) -> None:
    from bot.readouts import xlsxfast

    path = tmp_path / "m.xlsx"
    rows = [["表头", "数"], ["=1+1", 3], [" 前后空格 ", None], ["控制\x01字符<&>", 2.5]]
    xlsxfast.write(path, [xlsxfast.Sheet("汇总/1", rows, {1}, (10, 8), freeze_row=2), xlsxfast.Sheet("空", [])])
    wb = load_workbook(path)
    assert [[c.value for c in r] for r in wb.worksheets[0].iter_rows()] == [
        ["表头", "数"],
        ["=1+1", 3],
        [" 前后空格 ", None],
        ["控制字符<&>", 2.5],
    ]
    assert wb.worksheets[0].cell(2, 1).data_type == "s" and wb.sheetnames == ["汇总_1", "空"]
    table = read.read_table(path.read_bytes(), "xlsx")
    assert table.rows[1] == ["=1+1", 3.0]


def test_a_wrong_phone_number_is_quoted_back_masked() -> None:
    rows = samples.stats_rows("郑州大学", 1)
    rows[0][12] = "1381234567x"
    data = samples.xlsx(rows)
    table = read.read_table(data, "xlsx", STATS)
    checked = check_rows(table.rows, read.find_header(table.rows, STATS), STATS)
    assert checked.problems[0].describe().startswith("第5行 联系电话“****67x”不是电话号码")  # 10 digits: a run


def test_file_settings_are_read_and_checked() -> None:
    from bot.config import Settings

    s = Settings.model_validate({"alliance_file_max_mb": "1.5", "alliance_file_timeout": "10"})
    assert (s.alliance_file_max_mb, s.alliance_file_timeout) == (1.5, 10)
    with pytest.raises(ValueError, match="不超过 200"):
        Settings.model_validate({"alliance_file_max_mb": "5000"})


async def test_an_upload_announced_twice_at_the_same_moment_is_handled_once(core: App) -> None:
    import asyncio

    await roster(core)
    rid = await file_return(core)
    data = samples.xlsx(samples.stats_rows("郑州大学", 2))
    both = await asyncio.gather(
        *(core.return_files.receive(up(ZZU, "郑大.xlsx", file_id="same"), giving(data), is_admin=False) for _ in "ab")
    )
    assert sum(m is not None for m in both) == 1
    assert len(await core.return_files.files_of(rid)) == 1


async def test_bytes_stored_by_a_cancelled_check_are_removed(tmp_path: Path) -> None:
    files = store.FileStore(tmp_path / "return_files")
    go = threading.Event()
    written: list[str] = []

    def work() -> tuple[None, str | None]:
        go.wait(5)
        written.append(files.write(b"PK\x03\x04 form", ".xlsx"))
        return None, written[-1]

    task = asyncio.create_task(store.in_thread(files, work))
    await asyncio.sleep(0)  # the check starts in its thread
    job = next(t for t in asyncio.all_tasks() if t.get_name() == store.IO_TASK)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    go.set()  # the thread finishes after its caller was cancelled: it stores the bytes
    await job
    assert written and not (tmp_path / "return_files" / written[0]).exists()
    assert list((tmp_path / "return_files").iterdir()) == []


# ---------------------------------------------------------------- several forms in one return (issue 21 item 2)

ISSUE21 = ["新媒体（网站）基本情况统计", "截止", "12月11日17:30", "表格", "统计表,汇总表,扫描件"]


def zzu_summary() -> bytes:
    return samples.summary_xlsx([("郑州大学", "本科高校", "郑州")])


async def two_forms(app: App) -> int:
    new = parse_new(ISSUE21, NOW)
    made = await app.returns.create(new, actor=str(ADMIN))
    return made.ret.id


def test_every_form_named_is_kept_in_order_and_said_once() -> None:
    new = parse_new(ISSUE21, NOW)
    assert (new.forms, new.scan) == (("统计表", "汇总表"), True)
    new = parse_new(["统计", "截止", "10-31", "表格", "附件2、附件1、汇总表"], NOW)
    assert new.forms == ("汇总表", "统计表")
    new = parse_new(["统计", "截止", "10-31", "表格", "统计表", "表格", "汇总表"], NOW)
    assert new.forms == ("统计表", "汇总表")
    new = parse_new(["统计", "截止", "10-31", "表格", "附件1", "附件2", "扫描件", "请按时报送"], NOW)
    assert (new.forms, new.scan, new.note) == (("统计表", "汇总表"), True, "请按时报送")
    new = parse_new(["统计", "截止", "10-31", "表格", "统计表，汇总表", "汇总表"], NOW)
    assert new.forms == ("统计表", "汇总表")


async def test_the_notice_asks_for_every_form_named(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    ret = await core.returns.get(rid)
    assert ret.forms == ("统计表", "汇总表") and ret.wants_scan
    text = (await sent(core))[0]["text"]
    assert "统计表、汇总表（.xlsx 或 .xls，按官方格式，每张表一个文件）和首页加盖单位公章的扫描件（PDF 或图片）" in text
    assert "两张表都交齐才算已报送" in text


async def test_a_unit_is_done_only_when_every_form_is_in(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    said = await hand(core, ZZU, "郑州大学附件1.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 4)))
    assert said == "收到 郑州大学 的统计表：4 个账号，已收好。还差：汇总表，交齐后记为已报送。"
    p = await core.returns.progress(rid)
    assert p.done == [] and p.owes == {1: ("汇总表",)}
    from bot.returns.text import render_progress

    shown = render_progress(p, None).plain()
    assert "每个单位要交：统计表、汇总表（交齐才算已报送）；另交盖章扫描件" in shown
    assert "其中已交一部分（1）：郑州大学（还差汇总表）" in shown
    said = await hand(core, ZZU, "郑州大学附件2.xlsx", zzu_summary())
    assert said == "收到 郑州大学 的汇总表：1 个单位，已记为已报送；还请上传首页盖章的扫描件（PDF）。"
    p = await core.returns.progress(rid)
    assert [s.unit.name for s in p.done] == ["郑州大学"] and p.owes == {}
    files = await core.return_files.files_of(rid)
    assert sorted((f.form, f.state) for f in files) == [("汇总表", "通过"), ("统计表", "通过")]


async def test_the_same_form_twice_replaces_only_that_form(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    await hand(core, ZZU, "统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 4)))
    said = await hand(core, ZZU, "统计(改).xlsx", samples.xlsx(samples.stats_rows("郑州大学", 5)))
    assert said == "收到 郑州大学 的统计表：5 个账号，已收好。还差：汇总表，交齐后记为已报送。"
    assert (await core.returns.progress(rid)).done == []
    await hand(core, ZZU, "汇总.xlsx", zzu_summary())
    said = await hand(core, ZZU, "汇总(改).xlsx", zzu_summary())
    assert said == "收到 郑州大学 的汇总表：1 个单位，已替换之前交的文件。进度：1/3"
    states = sorted((f.original_name, f.state) for f in await core.return_files.files_of(rid))
    assert states == [
        ("汇总(改).xlsx", "通过"),
        ("汇总.xlsx", "已替换"),
        ("统计(改).xlsx", "通过"),
        ("统计.xlsx", "已替换"),
    ]


async def test_a_file_matching_no_form_says_which_forms_are_expected(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    wb = Workbook()
    wb.active.append(["姓名", "职务", "电话"])
    wb.active.append(["张三", "主任", "无"])
    buf = io.BytesIO()
    wb.save(buf)
    said = await hand(core, ZZU, "郑大.xlsx", buf.getvalue())
    assert said.startswith("收到 郑州大学 的“郑大.xlsx”，但它的表头和要交的表格都对不上，先不记报送。")
    assert "本报送要交：统计表（表头有 账号(网站)名称、类型 等）、汇总表（表头有 单位名称、合计 等）" in said
    assert f"发 /报送 表格 {rid} 领取本单位的表格" in said
    p = await core.returns.progress(rid)
    assert p.done == [] and p.fixing == {1}


async def test_a_form_with_mistakes_needs_fixing_and_the_admin_may_accept_it(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    await hand(core, ZZU, "汇总.xlsx", zzu_summary())
    said = await hand(core, ZZU, "统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3, {0: "date"})))
    assert said.startswith("收到 郑州大学 的统计表：3 个账号，有 1 处要改：第5行 开通时间“2020.13.01”不是日期")
    p = await core.returns.progress(rid)
    assert p.fixing == {1} and p.owes == {1: ("统计表",)}
    said = (await core.return_files.accept(rid, "郑州大学", actor=str(ADMIN))).plain()
    assert said.startswith("已接受“郑州大学”的“统计.xlsx”（3 行，1 处问题未改），记为已报送。")
    assert len((await core.returns.progress(rid)).done) == 1


async def test_the_merged_workbook_has_one_sheet_per_form(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    await hand(core, ZZU, "统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    await hand(core, ZZU, "汇总.xlsx", zzu_summary())
    await hand(core, HENU, "河大统计.xlsx", samples.xlsx(samples.stats_rows("河南大学", 2)))
    ret = await core.returns.get(rid)
    made = await core.workbooks.merged(ret, await core.return_files.layouts_of(ret))
    assert made.rows == 6
    wb = load_workbook(made.path, read_only=True)
    assert wb.sheetnames == ["统计表汇总", "汇总表汇总", "未报送及需修改"]
    stats = list(wb["统计表汇总"].iter_rows(min_row=5, values_only=True))
    assert [r[-2] for r in stats] == ["郑州大学"] * 3 + ["河南大学"] * 2
    summary = list(wb["汇总表汇总"].iter_rows(min_row=5, values_only=True))
    assert [(r[1], r[-2]) for r in summary] == [("郑州大学", "郑州大学")]
    missing = {r[1]: r for r in wb["未报送及需修改"].iter_rows(min_row=2, values_only=True)}
    assert sorted(missing) == ["河南大学", "洛阳市教育局"]
    assert missing["河南大学"][4] == "未交齐" and missing["河南大学"][5] == "还差汇总表"
    assert missing["洛阳市教育局"][4] == "未报送"


async def test_each_form_is_handed_out_prefilled(core: App) -> None:
    await roster(core)
    rid = await two_forms(core)
    ret = await core.returns.get(rid)
    unit = await core.units.resolve("郑州大学")
    made = await core.workbooks.prefilled_forms(ret, unit)
    assert [m.path.name[8:15] for m in made] == ["郑州大学统计表", "郑州大学汇总表"]
    summary = read.read_table(made[1].path.read_bytes(), "xlsx", SUMMARY)
    assert read.find_header(summary.rows, SUMMARY).missing == []


async def test_a_template_and_an_official_form_in_one_return(core: App) -> None:
    await roster(core)
    rid = await file_return(core, form="统计表,模板")
    wb = Workbook()
    wb.active.append(["单位", "姓名", "职务"])
    buf = io.BytesIO()
    wb.save(buf)
    await hand(core, ADMIN, "自查模板.xlsx", buf.getvalue())
    await core.return_files.attach_template(rid, actor=str(ADMIN))
    filled = Workbook()
    filled.active.append(["单位", "姓名", "职务"])
    filled.active.append(["郑州大学", "张三", "主任"])
    buf = io.BytesIO()
    filled.save(buf)
    said = await hand(core, ZZU, "郑大自查.xlsx", buf.getvalue())
    assert said == "收到 郑州大学 的模板表格：1 行，已收好。还差：统计表，交齐后记为已报送。"
    said = await hand(core, ZZU, "郑大统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
    assert said == "收到 郑州大学 的统计表：2 个账号，已记为已报送。"


async def test_a_database_with_one_form_per_return_upgrades_to_a_list_of_one(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open(upto=8)
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO returns (title, deadline, created_by, created_at, form, wants_scan) VALUES "
            "('旧报送', '2026-10-31T16:00:00', '1', '2026-09-30T16:00:00', '统计表', 1)"
        )
        await tx.run(
            "INSERT INTO returns (title, deadline, created_by, created_at) VALUES "
            "('无表格', '2026-10-31T16:00:00', '1', '2026-09-30T16:00:00')"
        )
        await tx.run(
            "INSERT INTO return_files (return_id, kind, state, original_name, stored_name, size, sha256, uploaded_by, "
            "uploaded_at) VALUES (1, '表格', '通过', 'a.xlsx', 'x.xlsx', 1, 'h', '1', '2026-10-01T16:00:00'), "
            "(1, '扫描件', '已保存', 'a.pdf', 'x.pdf', 1, 'h', '1', '2026-10-01T16:00:00')"
        )
    await db.migrate()
    async with db.read() as tx:
        from bot.returns.records import return_row

        rets = [return_row(r) for r in await tx.all("SELECT * FROM returns ORDER BY id")]
        files = [tuple(r) for r in await tx.all("SELECT kind, form FROM return_files ORDER BY id")]
    assert [(r.forms, r.wants_scan) for r in rets] == [(("统计表",), True), ((), False)]
    assert files == [("表格", "统计表"), ("扫描件", "")]
    await db.close()


async def test_with_two_file_returns_open_the_header_picks_the_one_asking_for_that_form(core: App) -> None:
    await roster(core)
    stats = await file_return(core, form="统计表")
    summary = await file_return(core, form="汇总表", title="各单位账号汇总")
    said = await hand(core, ZZU, "郑大汇总.xlsx", zzu_summary())
    assert said == "收到 郑州大学 的汇总表：1 个单位，已记为已报送。"
    assert len((await core.returns.progress(summary)).done) == 1
    assert (await core.returns.progress(stats)).done == []
    said = await hand(core, ZZU, "郑大统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 2)))
    assert said == "收到 郑州大学 的统计表：2 个账号，已记为已报送。"
