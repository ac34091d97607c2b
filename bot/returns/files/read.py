"""Reading a handed-in file: what it really is (by its bytes), its cells (xlsx/xls/csv), and the layout's header row.

How the promises hold:
- Nothing in a file is executed or evaluated: spreadsheets are read with python-calamine, which returns
  the values Excel cached and never computes a formula; a CSV cell `=1+1` stays the text `=1+1`.
- A file is what its bytes say, not its name: xlsx is a zip holding xl/workbook.xml, xls an OLE2
  compound file, PDF starts with %PDF, PNG/JPEG with their signatures, CSV is text without NUL bytes.
  A renamed binary gets `FileRefused` with a clear answer.
- Size is bounded before anything is parsed: an xlsx's members are decompressed (CRC-checked) up to a cap
  and its sheets' rows counted while streaming, so a zip bomb or a 1,000,000-row sheet is refused without
  building it in memory; xls and csv are bounded by the download cap and the row cap.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.errors import UserError
from bot.returns.files.layouts import Layout, normalize_header

XLSX, XLS, CSV, PDF, IMAGE = "xlsx", "xls", "csv", "pdf", "image"
SHEET_KINDS = {XLSX, XLS, CSV}
SCAN_KINDS = {PDF, IMAGE}
SHEET_EXT = {".xlsx": XLSX, ".xlsm": XLSX, ".xls": XLS, ".csv": CSV}
SCAN_EXT = {".pdf": PDF, ".jpg": IMAGE, ".jpeg": IMAGE, ".png": IMAGE}
KIND_NAMES = {XLSX: "Excel 表格（.xlsx）", XLS: "Excel 表格（.xls）", CSV: "CSV 表格", PDF: "PDF", IMAGE: "图片"}

MAX_ROWS = 5000
MAX_COLS = 200
MAX_UNZIPPED = 30 * 1024 * 1024
MAX_MEMBERS = 2000
HEADER_SCAN = 30


class FileRefused(UserError):
    """The file is not what it claims, too big, or unreadable; `str(e)` says so and what to send instead."""


@dataclass
class Header:
    row: int
    """0-based index of the (last) header row in the table."""
    columns: dict[str, int]
    """Layout column name → 0-based column index."""
    written: dict[str, str]
    """Layout column name → the header as the file wrote it (for messages)."""
    missing: list[str]


@dataclass
class Table:
    rows: list[list[Any]]
    sheet: str = ""
    header: Header | None = None
    """The layout's header row, when `read_table` was given a layout and found it while choosing the sheet."""


def ext_kind(name: str) -> str | None:
    """What a file name claims: xlsx/xls/csv/pdf/image, or None for anything else."""
    lower = name.lower().strip()
    for ext, kind in {**SHEET_EXT, **SCAN_EXT}.items():
        if lower.endswith(ext):
            return kind
    return None


def sniff(data: bytes) -> str | None:
    """What the bytes are: xlsx/xls/pdf/image/csv, or None (some other binary)."""
    if data.startswith(b"PK\x03\x04"):
        return XLSX
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return XLS
    if data.startswith(b"%PDF"):
        return PDF
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        return IMAGE
    head = data[:65536]
    if b"\x00" not in head and _decode(head, partial=True) is not None:
        return CSV
    return None


def check_kind(data: bytes, name: str) -> str:
    """The file's real kind when it matches its name (xls/xlsx may stand for each other, as Excel allows).

    Raises:
        FileRefused: the bytes are not what the name says (a renamed binary), or of no kind we read.
    """
    claimed = ext_kind(name)
    real = sniff(data)
    if real is None or claimed is None:
        raise FileRefused(
            f"“{name}”不是能读取的表格或扫描件（文件内容不是 Excel、CSV、PDF 或图片）。"
            "请把表格另存为 .xlsx 或 .xls，扫描件存为 PDF 后重新上传。"
        )
    if real == claimed or {real, claimed} <= {XLS, XLSX}:
        return real
    raise FileRefused(
        f"“{name}”的扩展名是{KIND_NAMES[claimed]}，但文件内容是{KIND_NAMES[real]}。"
        "请用 Excel 或 WPS 打开后另存为 .xlsx 或 .xls，再重新上传。"
    )


# ---------------------------------------------------------------- cells


def read_table(data: bytes, kind: str, layout: Layout | None = None) -> Table:
    """The cells of the sheet that holds the layout's header (else the first sheet), as Python values.

    Raises:
        FileRefused: too big, too many rows or columns, damaged, or encrypted.
    """
    if kind == CSV:
        rows = _csv_rows(data)
        return Table(rows, header=find_header(rows, layout) if layout is not None else None)
    if kind == XLSX:
        _guard_zip(data)
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        best: Table | None = None
        for i, name in enumerate(wb.sheet_names[:20]):
            sheet = wb.get_sheet_by_index(i)
            if sheet.total_height > MAX_ROWS + HEADER_SCAN or sheet.total_width > MAX_COLS:
                raise FileRefused(
                    f"工作表“{name}”有 {sheet.total_height} 行、{sheet.total_width} 列，超过上限（{MAX_ROWS} 行、"
                    f"{MAX_COLS} 列）。请只保留要报送的表格后重新上传。"
                )
            table = Table([list(r) for r in sheet.iter_rows()], name)
            if layout is None:
                return table
            table.header = find_header(table.rows, layout)
            if table.header.missing == []:
                return table
            if best is None:
                best = table
        return best or Table([])
    except FileRefused:
        raise
    except Exception as e:
        raise FileRefused(
            f"表格打不开（{type(e).__name__}），可能已损坏或设了密码。请用 Excel 或 WPS 打开后另存为 .xlsx，再重新上传。"
        ) from None


def _guard_zip(data: bytes) -> None:
    """Decompress every member up to the cap (CRC-checked) and count sheet rows, refusing bombs and huge sheets."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS or "xl/workbook.xml" not in {i.filename for i in infos}:
            raise FileRefused(
                "这个 .xlsx 文件的结构不对（不是 Excel 工作簿）。请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"
            )
        total = 0
        for info in infos:
            if info.file_size > MAX_UNZIPPED:
                raise _too_big()
            rows = 0
            tail = b""
            sheet = info.filename.startswith("xl/worksheets/")
            with zf.open(info) as f:
                while chunk := f.read(1 << 16):
                    total += len(chunk)
                    if total > MAX_UNZIPPED:
                        raise _too_big()
                    if sheet:
                        buf = tail + chunk
                        rows += buf.count(b"<row") + buf.count(b"<x:row")
                        tail = buf[-5:]
                        rows -= tail.count(b"<row") + tail.count(b"<x:row")
            if sheet and rows > MAX_ROWS + HEADER_SCAN:
                raise FileRefused(f"表格有 {rows} 行，超过 {MAX_ROWS} 行的上限。请只保留本单位要报送的内容后重新上传。")
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError):
        raise FileRefused("这个 .xlsx 文件已损坏，打不开。请用 Excel 或 WPS 打开后另存为 .xlsx，再重新上传。") from None


def _too_big() -> FileRefused:
    return FileRefused(
        f"这个表格解压后超过 {MAX_UNZIPPED // (1024 * 1024)} MB，不像是一份报送表。请只保留要报送的表格后重新上传。"
    )


def _decode(data: bytes, *, partial: bool = False) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (what Excel saves CSV as on Chinese Windows)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            if partial:
                return codecs.getincrementaldecoder(enc)().decode(data, final=False)
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    if text is None:
        raise FileRefused("CSV 文件的编码看不懂。请用 Excel 打开后另存为 .xlsx 再上传。")
    rows: list[list[Any]] = []
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    for row in csv.reader(io.StringIO(text), dialect):
        if len(rows) >= MAX_ROWS + HEADER_SCAN:
            raise FileRefused(f"表格超过 {MAX_ROWS} 行的上限。请只保留本单位要报送的内容后重新上传。")
        if len(row) > MAX_COLS:
            raise FileRefused(f"表格超过 {MAX_COLS} 列的上限。请只保留要报送的表格后重新上传。")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the header row


def _merged(upper: list[str], lower: list[str]) -> list[str]:
    """Two (folded) header rows read as one: a cell of the lower row under a merged (or empty) upper cell wins."""
    n = max(len(upper), len(lower))
    pad = [*upper, *[""] * (n - len(upper))], [*lower, *[""] * (n - len(lower))]
    return [low or up for up, low in zip(*pad, strict=True)]


@lru_cache(maxsize=8192)
def _fold_text(cell: str) -> str:
    return normalize_header(cell)


def _fold(cell: Any) -> str:
    """A header candidate folded for comparison; text only (the same words recur in every unit's form, so each is
    folded once)."""
    return _fold_text(cell) if isinstance(cell, str) and cell else ""


def _match(cells: list[str], lookup: dict[str, str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = lookup.get(cell) if cell else None
        if name is not None and name not in found:
            found[name] = i
    return found


def find_header(rows: list[list[Any]], layout: Layout) -> Header:
    """The header row of `layout` among the first rows: the one matching most columns (a two-row merged header
    counts as one); `missing` lists the needed columns it lacks (all of them when nothing matched)."""
    best: tuple[int, int, dict[str, int]] | None = None
    lookup = layout.lookup
    limit = min(len(rows), HEADER_SCAN)
    folded = [[_fold(c) for c in row] for row in rows[: limit + 1]]
    for r in range(limit):
        candidates = [(r, folded[r])]
        if r + 1 < len(folded):
            candidates.append((r + 1, _merged(folded[r], folded[r + 1])))
        for last, cells in candidates:
            found = _match(cells, lookup)
            if best is None or len(found) > len(best[2]):
                best = (last, len(found), found)
    if best is None or not best[2]:
        return Header(-1, {}, {}, list(layout.needed))
    last, _, found = best
    written: dict[str, str] = {}
    for name, i in found.items():
        raw = rows[last][i] if i < len(rows[last]) and str(rows[last][i] or "").strip() else ""
        if not raw and last > 0 and i < len(rows[last - 1]):
            raw = rows[last - 1][i]
        written[name] = " ".join(str(raw or name).split())
    return Header(last, found, written, [n for n in layout.needed if n not in found])


def template_headers(rows: list[list[Any]]) -> list[str]:
    """A template's header: the first of its first rows with the most text cells (at least two)."""
    best: list[str] = []
    for row in rows[:HEADER_SCAN]:
        cells = [" ".join(str(c).split()) for c in row if isinstance(c, str) and c.strip()]
        if len(cells) > len(best):
            best = cells
    if len(best) < 2:
        raise FileRefused("模板里没有找到表头（至少两列带文字的标题）。请检查模板后重新上传。")
    return best
