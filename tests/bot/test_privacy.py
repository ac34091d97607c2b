"""The one privacy filter (issue 20.2–20.4): every phone notation, through every exit, leaves masked;
dates, times, counts, task numbers and links leave as they were."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
import unicodedata
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bot import privacy
from bot.app import App
from bot.db import Database
from bot.outbox.records import SendFailed
from bot.outbox.service import Outbox
from bot.readouts import xlsxfast
from bot.render import Msg, Segment, person_name
from bot.returns.files.layouts import STATS
from sim import samples
from tests.bot.test_outbox import no_sleep, started
from tests.bot.test_returnfiles import HENU, ZZU, file_return, frozen, hand, roster  # noqa: F401 (fixture)

GROUP = "100200300"

# (how a person wrote it, the digits that must never leave): the notations of issue 20 and more
NOTATIONS = [
    ("张老师 138 1234 5678", "12345678"),
    ("联系电话：139-8765-4321", "87654321"),
    ("wx 137 1111 2222", "11112222"),
    ("138.2468.1357", "24681357"),
    ("+86 136 9753 0864", "97530864"),
    ("+86-15011223344", "11223344"),
    ("（+86）18655667788", "55667788"),
    ("0086 177 3344 5566", "33445566"),
    ("１３５８６４２７５３１", "86427531"),
    ("１３８－６６５５－４４３３", "66554433"),
    ("0371-12345678", "12345678"),
    ("（0371）6677 8899", "66778899"),
    ("请加QQ987654321谢谢", "987654321"),
    ("电话8765 4321找李", "87654321"),
    ("手机号18912345670，座机0371-63691234", "63691234"),
    ("138 12 34 56 78", "12345678"),
    ("1 3 9 8 8 7 7 6 6 5 5", "88776655"),
]
# what people need and no phone: stays exactly as it was
KEPT = [
    "截止 2026-12-11 17:30",
    "开通时间“2020.13.01”不是日期",
    "粉丝 1,234,567（+12,345），合计 1234.57万",
    "/已转发 13 14 15 16 17 18",
    "已完成 132/210（62.9%）",
    "报送3汇总-20261211-173000.xlsx",
    "https://mp.weixin.qq.com/s/AbC1234567890123?sn=20261211123456",
    "#1 郑大-张老师（20001）申请 郑州大学",
    "第5行 年度信息发布数量“12”不是数字",
]


def leaked(text: str, secret: str) -> bool:
    """The secret digits can be read in `text` (full-width folded, separators taken out)."""
    flat = re.sub(r"[\s\-.．·()（）+＋_]", "", unicodedata.normalize("NFKC", text))
    return secret in flat


def test_every_phone_notation_is_masked_and_nothing_else_changes() -> None:
    for text, secret in NOTATIONS:
        assert leaked(text, secret)
        assert not leaked(privacy.mask(text), secret), (text, privacy.mask(text))
    assert privacy.mask("张老师 138 1234 5678") == "张老师 138****5678"
    assert privacy.mask("0371-12345678") == "0371-****5678"
    for text in KEPT:
        assert privacy.mask(text) == text
    # the quoted values of issue 20.4
    said = "第5行 年度信息发布数量“138.1234.5678”不是数字；第6行 开通时间“139.8765.4321”不是日期"
    assert privacy.mask(said) == "第5行 年度信息发布数量“138****5678”不是数字；第6行 开通时间“139****4321”不是日期"


def test_person_names_and_phone_checks_use_the_same_filter() -> None:
    assert person_name("郑大-张三 138.1234.5678") == "郑大-张三"
    assert person_name("李四 +86 139 8765 4321") == "李四"
    for ok in ("13812345678", "138 1234 5678", "0371-12345678", "0371-12345678-801", "63691234"):
        assert privacy.is_phone(ok), ok
    for bad in ("123", "2020-01-31", "138****4567x", "123456789"):
        assert not privacy.is_phone(bad), bad


# ---------------------------------------------------------------- the outbox


def _texts(segments: list[Segment]) -> str:
    out = []
    for s in segments:
        if s["type"] == "text":
            out.append(s["data"]["text"])
        elif s["type"] == "node":
            out.append(_texts(s["data"]["content"]))
        elif s["type"] == "upload":
            out.append(s["data"]["name"])
    return "\n".join(out)


async def test_group_messages_through_the_real_outbox_leave_masked_private_ones_whole(
    db: Database, tmp_path: Path
) -> None:
    sent: list[tuple[str, list[Segment]]] = []

    async def client(target_type: str, target_id: str, segments: list[Segment]) -> str:
        sent.append((target_type, segments))
        if any(s["type"] == "image" for s in segments):
            raise SendFailed("retcode 1200 图片发送失败")  # the picture is refused: its text goes instead
        return str(len(sent))

    body = "\n".join(t for t, _ in NOTATIONS)
    png = tmp_path / "card.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    book = tmp_path / "报送1汇总-20261211-173000.xlsx"
    wb = Workbook()
    for t, _ in NOTATIONS:
        wb.active.append([t, 13812345678])
    wb.save(book)
    box = Outbox(db, interval=0, jitter=0, sleep=no_sleep)
    await box.send("group", GROUP, Msg().at("20001").text(" " + body))
    await box.send("group", GROUP, Msg.folded([Msg(t) for t, _ in NOTATIONS], Msg(body)))
    await box.send("group", GROUP, Msg.picture(png, Msg(body)))
    await box.send("group", GROUP, Msg.upload(book, "联系电话138 1234 5678.xlsx", Msg(body)))
    await box.send("private", "900001", Msg(body))
    box.attach(client)
    async with started(box):
        await box.wait_idle(10)
    group = [segs for kind, segs in sent if kind == "group"]
    assert len(group) == 5  # text, folded list, refused picture and its text, file
    for segs in group:
        for _, secret in NOTATIONS:
            assert not leaked(_texts(segs), secret), _texts(segs)
    assert group[0][0] == {"type": "at", "data": {"qq": "20001"}}  # @-mentions are no text: left alone
    upload = next(s for s in group[-1] if s["type"] == "upload")["data"]
    assert upload["name"] == "联系电话138****5678.xlsx"
    cells = [c for row in load_workbook(upload["file"]).active.iter_rows(values_only=True) for c in row]
    for _, secret in NOTATIONS:
        assert not any(leaked(str(c), secret) for c in cells)
    assert "138****5678" in cells  # the number cell too
    assert load_workbook(book).active["B1"].value == 13812345678  # the office's own file is untouched
    private = [segs for kind, segs in sent if kind == "private"]
    assert _texts(private[0]) == body  # a private message is not a group's


# ---------------------------------------------------------------- files


def _rows(path: Path) -> list[list[object]]:
    wb = load_workbook(path)
    return [list(r) for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]


def _assert_masked(values: list[object]) -> None:
    for _, secret in NOTATIONS:
        hits = [v for v in values if v is not None and leaked(str(v), secret)]
        assert not hits, (secret, hits)


def test_a_workbook_csv_and_zip_are_masked_in_every_text_cell(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    for t, _ in NOTATIONS:
        ws.append([t, "2026-12-11", 1234567])
    ws["D1"] = CellRichText(TextBlock(InlineFont(b=True), "139 8765"), " 4321")  # one number over two runs
    ws["E1"] = 13987654321.0
    ws["F1"] = '="1398765"&"4321"'  # a formula would compute it again when opened
    book = tmp_path / "表.xlsx"
    wb.save(book)
    out = privacy.masked_file(book)
    values = [c for r in _rows(out) for c in r]
    _assert_masked(values)
    assert "2026-12-11" in values and 1234567 in values  # dates and counts stay
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    table = tmp_path / "表.csv"
    table.write_bytes("\n".join(f"{t},2026-12-11" for t, _ in NOTATIONS).encode("gbk", "replace"))
    got = [c for r in csv.reader(io.StringIO(privacy.masked_file(table).read_text("utf-8-sig"))) for c in r]
    _assert_masked(got)
    pack = tmp_path / "原件.zip"
    with zipfile.ZipFile(pack, "w") as zf:
        zf.write(book, "郑州大学_表.xlsx")
        zf.writestr("郑州大学_盖章.pdf", b"%PDF-1.4 13812345678")
    with zipfile.ZipFile(privacy.masked_file(pack)) as zf:
        assert sorted(zf.namelist()) == ["未附的原件.txt", "郑州大学_表.xlsx"]  # a scan cannot be checked: left out
        inner = tmp_path / "inner.xlsx"
        inner.write_bytes(zf.read("郑州大学_表.xlsx"))
    _assert_masked([c for r in _rows(inner) for c in r])


async def _unit_with_phones(core: App) -> int:
    await roster(core)
    rid = await file_return(core)
    rows = samples.stats_rows("郑州大学", len(NOTATIONS))
    for row, (t, _) in zip(rows, NOTATIONS, strict=True):
        row[11] = t  # 账号负责人姓名
        row[14] = t  # 备注
        row[15] = t  # 账号ID
    assert "已记为已报送" in await hand(core, ZZU, "郑州大学统计表.xlsx", samples.xlsx(rows))
    bad = samples.stats_rows("河南大学", 3)
    bad[0][10] = "138.1234.5678"  # 年度信息发布数量 (issue 20.4)
    bad[1][16] = "139.8765.4321"  # 开通时间
    said = await hand(core, HENU, "河南大学统计表.xlsx", samples.xlsx(bad))
    assert "不是数字" in said
    return rid


async def test_merged_workbook_pack_export_and_form_leave_masked_for_anyone_but_the_office(core: App) -> None:
    rid = await _unit_with_phones(core)
    ret = await core.returns.get(rid)
    merged = await core.workbooks.merged(ret, STATS)
    whole = [c for r in _rows(merged.path) for c in r]
    assert "13812340000" in whole  # the office's copy is whole (the 联系电话 they collect)
    masked = [c for r in _rows(await privacy.for_audience(merged.path, office=False)) for c in r]
    _assert_masked(masked)
    assert "138****0000" in masked
    missing = " ".join(str(c) for c in masked)
    assert "138****5678" in missing and "138.1234.5678" not in missing  # the 需修改 sheet quotes it masked
    pack = await core.workbooks.pack(ret)
    assert (await privacy.for_audience(pack.path, office=True)) == pack.path
    with zipfile.ZipFile(await privacy.for_audience(pack.path, office=False)) as zf:
        inner = Path(merged.path).parent / "inner.xlsx"
        inner.write_bytes(zf.read(zf.namelist()[0]))
    _assert_masked([c for r in _rows(inner) for c in r])
    for i, (t, _) in enumerate(NOTATIONS[:6]):  # a filing whose name and ID were typed with a phone in them
        f = await core.accounts.file_opening(str(ZZU), "联络员 138 1234 5678", "微博", f"郑大{i} {t}", t)
        await core.accounts.approve([f.id], actor="900001")
    for kind in ("统计表", "备案表", "报送"):
        made = await core.exports.export(kind, rid if kind == "报送" else None, actor="900001")
        if kind != "报送":
            assert any(leaked(str(c), "12345678") for r in _rows(made.path) for c in r)  # the office's copy
        _assert_masked([c for r in _rows(await privacy.for_audience(made.path, office=False)) for c in r])
    unit = await core.units.resolve("郑州大学")
    form = await core.workbooks.prefilled(ret, STATS, unit)
    _assert_masked([c for r in _rows(await privacy.for_audience(form.path, office=False)) for c in r])


def test_a_big_workbook_is_masked_a_piece_at_a_time_every_row_of_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The merged workbook of 2,000 units (40,000 rows) was masked whole: its XML as one string, copied by each
    pass, took the bot from 200 to 460 MB. Now each part goes a piece at a time, each piece ending with a row; a
    phone number in the row where a piece ends is masked like any other."""
    rows = [["序号", "单位", "联系电话", "备注"]]
    rows += [[i, f"河南省第{i}中学新媒体中心", f"1398765{i:04d}", f"负责人电话 1381234{i:04d}"] for i in range(1, 3001)]
    book = tmp_path / "汇总.xlsx"
    xlsxfast.write(book, [xlsxfast.Sheet("汇总", iter(rows))])

    monkeypatch.setattr(privacy, "READ_BYTES", 64 * 1024)  # the sheet's XML is ~0.5 MB: eight pieces
    tracemalloc.start()
    try:
        masked = privacy.masked_file(book)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    got = _rows(masked)
    assert len(got) == len(rows)
    assert _unmasked_phones(got) == []
    assert got[2000][1:] == ["河南省第2000中学新媒体中心", "139****2000", "负责人电话 138****2000"]
    assert peak < 3 * 2**20, f"{peak / 2**20:.1f} MB"  # masked whole: 6.4 MB

    monkeypatch.setattr(privacy, "READ_BYTES", 1000)  # a piece ends in nearly every row
    got = _rows(privacy.masked_file(book))
    assert len(got) == len(rows)
    assert _unmasked_phones(got) == []


def _unmasked_phones(rows: list[list[object]]) -> list[object]:
    return [v for r in rows for v in r if re.search(r"1[38]\d{9}", str(v))]


@pytest.mark.timeout(20)
def test_a_sheet_whose_text_ends_just_after_a_row_is_masked_and_the_masking_ends() -> None:
    """What is left after the last row end may be shorter than the end tag itself (a crafted or cut part): the
    masking must still finish (it read the part's end again and again, for ever)."""
    src = io.BytesIO()
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", '<row><c t="inlineStr"><is><t>13987654321</t></is></c></row>\n')
        zf.writestr("xl/sharedStrings.xml", "<si><t>13812345678</t></si>")
    with zipfile.ZipFile(io.BytesIO(privacy.mask_bytes("表.xlsx", src.getvalue()))) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        strings = zf.read("xl/sharedStrings.xml").decode()
    assert "139****4321" in sheet and sheet.endswith("</row>\n")
    assert "138****5678" in strings and "13812345678" not in strings
