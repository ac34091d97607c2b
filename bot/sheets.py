"""Reading an untrusted spreadsheet (xlsx, xls, csv) into rows of Python values, every size checked before it is built.

It runs inside `bot.sandbox`'s limited child (the fork server preloads it, so it imports nothing heavy); callers
go through `read_sheets_limited`. Returns (bot/returns/files/read.py) and the roster import (bot/roster.py) both
read their files here.

How the promises hold:
- Nothing in a file is executed or evaluated: python-calamine returns the values Excel cached and never computes
  a formula; a CSV cell `=1+1` stays the text `=1+1`.
- An xlsx is checked part by part before calamine sees it: every member is decompressed (CRC-checked) up to
  `Limits.unzipped`, and every part holding sheet data is scanned (a few regular expressions; timings in
  bench/README.md) for what calamine would build from it: the highest row and column any valued cell names
  (A1 + XFD1048576 would be a dense range of 17 billion cells), the number of rows, and the text its
  shared-string cells expand to (one 32,767-character string referenced by 700,000 cells would be 23 GB); a
  DOCTYPE (entity expansion) is refused. The declared `<dimension>` is not trusted either way: calamine goes by
  the cells. Deep nesting costs calamine (a streaming parser) nothing beyond the unzipped cap.
- After reading, each sheet's size is checked before its rows are built, every text cell against Excel's own
  limit of 32,767 characters, and all the text read against `Limits.text`, each refusal naming the sheet, row
  and column. An xls has no cheap pre-check: its dense range is built in the child, under its memory limit.
- A CSV is read with the field limit raised to the file's length, so an overlong cell is measured and named
  (row and column) instead of failing inside the csv module.
- Whatever slips past these checks (a native crash, an allocation of hundreds of GB, a parse that never ends)
  meets the child's memory and time limits and becomes `FileRefused` with a clear answer: the bot never dies.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from python_calamine import CalamineWorkbook

from bot import sandbox
from bot.errors import UserError

log = logging.getLogger("alliance.sheets")

XLSX, XLS, CSV, PDF, IMAGE = "xlsx", "xls", "csv", "pdf", "image"

EXCEL_CELL = 32767
"""Characters in one cell: Excel's own limit."""


class FileRefused(UserError):
    """The file is not what it claims, too big, or unreadable; `str(e)` says so and what to send instead."""


@dataclass(frozen=True)
class Limits:
    rows: int
    """Rows of content the caller takes (named in refusals)."""
    cols: int
    extra_rows: int = 0
    """Rows allowed beyond `rows` (title and header rows above the table)."""
    sheets: int = 20
    cell: int = EXCEL_CELL
    text: int = 16_000_000
    """Characters of text in all the cells read (and in what shared-string cells expand to)."""
    unzipped: int = 30 * 1024 * 1024
    members: int = 2000

    @property
    def max_rows(self) -> int:
        return self.rows + self.extra_rows

    @property
    def cells(self) -> int:
        """Cells read over all sheets: one full-size sheet's worth."""
        return self.max_rows * self.cols


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
    if b"\x00" not in head and decode(head, partial=True) is not None:
        return CSV
    return None


def decode(data: bytes, *, partial: bool = False) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (what Excel saves CSV as on Chinese Windows)."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            if partial:
                return codecs.getincrementaldecoder(enc)().decode(data, final=False)
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


def column_letter(col: int) -> str:
    """1 → A, 27 → AA (what a user sees in Excel)."""
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


# ---------------------------------------------------------------- in the parent


def read_sheets_limited(data: bytes, kind: str, limits: Limits, *, first_only: bool = False) -> list[tuple[str, list]]:
    """`read_sheets` in the sandbox's limited child; blocking (call it from a worker thread).

    Raises:
        FileRefused: the file is refused, by a check or by the child's memory or time limit.
    """
    try:
        return sandbox.run(read_sheets, data, kind, limits, first_only)
    except sandbox.Overrun as e:
        log.warning("reading a %s of %d bytes in the sandbox failed: %s", kind, len(data), e)
        raise _overrun(e.kind) from None


def _overrun(kind: str) -> FileRefused:
    if kind == sandbox.MEMORY:
        return FileRefused(
            "这个表格读取时需要的内存超过了上限，没有收下（表格里可能有离得极远的单元格、大量重复的超长文字或隐藏的内容）。"
            "请在 Excel 或 WPS 里只把要报送的表格复制到一个新文件，另存为 .xlsx 后重新上传。"
        )
    if kind == sandbox.TIME:
        return FileRefused(
            f"这个表格读取超过了 {sandbox.SECONDS:g} 秒的上限，没有收下。"
            "请在 Excel 或 WPS 里只把要报送的表格复制到一个新文件，另存为 .xlsx 后重新上传。"
        )
    return FileRefused("表格打不开，可能已损坏或设了密码。请用 Excel 或 WPS 打开后另存为 .xlsx，再重新上传。")


# ---------------------------------------------------------------- in the child


def read_sheets(data: bytes, kind: str, limits: Limits, first_only: bool = False) -> list[tuple[str, list]]:
    """The sheets (name, rows) of a workbook, or the one table of a CSV; every size checked.

    Raises:
        FileRefused: too big (which sheet, row, column), damaged, or encrypted.
    """
    if kind == CSV:
        return [("", csv_rows(data, limits))]
    if kind == XLSX:
        guard_zip(data, limits)
    out: list[tuple[str, list]] = []
    budget = _Budget(limits)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for i, name in enumerate(wb.sheet_names[: limits.sheets]):
            sheet = wb.get_sheet_by_index(i)
            height, width = (sheet.total_height + 1, sheet.total_width + 1) if sheet.end else (0, 0)
            if height > limits.max_rows or width > limits.cols:
                raise FileRefused(
                    f"工作表“{name}”有 {height:,} 行、{width:,} 列，超过上限（{limits.rows} 行、{limits.cols} 列）。"
                    "请只保留要报送的表格后重新上传。"
                )
            budget.cells(height * width, name)
            rows = [list(row) for row in sheet.iter_rows()]
            budget.text(rows, name)
            out.append((name, rows))
            if first_only:
                break
    except FileRefused:
        raise
    except MemoryError:
        raise
    except Exception as e:
        raise FileRefused(
            f"表格打不开（{type(e).__name__}），可能已损坏或设了密码。请用 Excel 或 WPS 打开后另存为 .xlsx，再重新上传。"
        ) from None
    return out


class _Budget:
    """Cells and text read so far, against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.n_cells = 0
        self.n_text = 0

    def cells(self, n: int, sheet: str) -> None:
        self.n_cells += n
        if self.n_cells > self.limits.cells:
            raise FileRefused(
                f"工作簿里的表格合计超过 {self.limits.cells} 个单元格（到工作表“{sheet}”为止）。"
                "请只保留要报送的工作表后重新上传。"
            )

    def text(self, rows: list[list[Any]], sheet: str) -> None:
        """Every text cell within Excel's limit, all of them within the budget."""
        for r, row in enumerate(rows, start=1):
            lengths = [len(v) if v.__class__ is str else 0 for v in row]
            longest = max(lengths, default=0)
            if longest > self.limits.cell:
                raise too_long_cell(r, lengths.index(longest) + 1, longest, self.limits.cell, sheet)
            self.n_text += sum(lengths)
        if self.n_text > self.limits.text:
            raise _too_much_text(self.limits.text)


def too_long_cell(row: int, col: int, n: int, cap: int, sheet: str = "") -> FileRefused:
    where = f"工作表“{sheet}”" if sheet else ""
    return FileRefused(
        f"{where}第 {row:,} 行 {column_letter(col)} 列的单元格有 {n:,} 个字，超过一个单元格 {cap} 字的上限"
        "（可能是少了一个引号，后面的内容都连成了一格）。请检查这一格，删去多余的内容后重新上传。"
    )


def _too_much_text(cap: int) -> FileRefused:
    return FileRefused(
        f"这个表格里的文字合计超过 {cap // 10000} 万字，不像是一份报送表。请只保留要报送的表格后重新上传。"
    )


def _too_big(limits: Limits) -> FileRefused:
    return FileRefused(
        f"这个表格解压后超过 {limits.unzipped // (1024 * 1024)} MB，不像是一份报送表。请只保留要报送的表格后重新上传。"
    )


def _broken() -> FileRefused:
    return FileRefused("这个 .xlsx 文件已损坏，打不开。请用 Excel 或 WPS 打开后另存为 .xlsx，再重新上传。")


def guard_zip(data: bytes, limits: Limits) -> None:
    """Decompress every member up to the cap (CRC-checked) and scan its XML for what reading it would build.

    The scan is a few C-speed regular expressions over each part (a 200-row form takes about a millisecond);
    a part written to dodge them (a `>` inside an attribute value) still meets the child's limits.

    Raises:
        FileRefused: a zip bomb, a sheet too big (by its cells' positions), a shared-string bomb, a DOCTYPE, or
            not an Excel workbook at all.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if len(infos) > limits.members or "xl/workbook.xml" not in names:
            raise FileRefused(
                "这个 .xlsx 文件的结构不对（不是 Excel 工作簿）。请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"
            )
        if sum(i.file_size for i in infos) > limits.unzipped:
            raise _too_big(limits)
        # Shared strings first: a sheet's cells are weighed by the strings they point at.
        infos.sort(key=lambda i: not _is_sst(i.filename))
        total = 0
        sst: list[int] = []
        for info in infos:
            parts = []
            with zf.open(info) as f:
                while chunk := f.read(1 << 16):
                    total += len(chunk)
                    if total > limits.unzipped:
                        raise _too_big(limits)
                    parts.append(chunk)
            xml = b"".join(parts)
            if _DOCTYPE.search(xml):
                raise FileRefused(
                    "这个 .xlsx 文件里有 Excel 不会写的内容（DOCTYPE 声明），没有收下。"
                    "请用 Excel 或 WPS 另存为 .xlsx 后重新上传。"
                )
            if _is_sst(info.filename):
                sst.extend(_string_sizes(xml))
            elif b"sheetData" in xml:
                _scan_sheet(xml, sst, limits)
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError):
        raise _broken() from None


def _is_sst(name: str) -> bool:
    return name.lower().endswith("sharedstrings.xml")


_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_SI = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")
# Start tags that hold content (not `<c .../>`, which calamine skips): the position of each valued cell, the
# number of each row. Written as Excel, WPS and the usual libraries write them, so that a literal leads the
# pattern (fast); a part written to dodge them still meets the child's limits.
_CELL = re.compile(rb' r="([A-Za-z]{1,4})(\d{1,12})"(?=[^>]*(?<!/)>)')
_ROW = re.compile(rb'row r="(\d{1,12})"(?=[^>]*(?<!/)>)')
_SHARED = re.compile(rb' t="s"[^>]*>\s*<(?:[\w.-]+:)?v>\s*(\d{1,12})\s*<')


def _string_sizes(xml: bytes) -> list[int]:
    """The size of each shared string, in bytes of its XML (at least its length in characters)."""
    starts = [m.start() for m in _SI.finditer(xml)]
    return [b - a for a, b in zip(starts, [*starts[1:], len(xml)], strict=True)]


def _col(letters: bytes) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ch - 64
    return col


def _scan_sheet(xml: bytes, sst: list[int], limits: Limits) -> None:
    """Refuse a sheet whose row elements, valued cells' positions or shared-string text go past the limits."""
    rows = xml.count(b"<row") + xml.count(b":row")
    if rows > limits.max_rows:
        raise FileRefused(f"表格有 {rows:,} 行，超过 {limits.rows} 行的上限。请只保留本单位要报送的内容后重新上传。")
    cells = _CELL.findall(xml)
    letters, numbers = zip(*cells, strict=True) if cells else ((), ())
    far_row = max(map(int, [*_ROW.findall(xml), *numbers]), default=0)
    far_col = max(map(_col, set(letters)), default=0)
    if far_row > limits.max_rows or far_col > limits.cols:
        raise FileRefused(
            f"表格里有内容写到了第 {far_row:,} 行、第 {column_letter(far_col) or 'A'} 列，超过上限（{limits.rows} 行、"
            f"{limits.cols} 列）。请删去表格以外的内容（或只把要报送的表格复制到一个新文件）后重新上传。"
        )
    if sst and xml.count(b' t="s"') * max(sst) > limits.text:
        n = len(sst)
        expanded = sum(sst[i] for i in map(int, _SHARED.findall(xml)) if i < n)
        if expanded > limits.text:
            raise _too_much_text(limits.text)


def csv_rows(data: bytes, limits: Limits) -> list[list[Any]]:
    """The rows of a CSV (UTF-8 or GB18030, delimiter sniffed), every size checked with its row and column.

    Raises:
        FileRefused: unreadable encoding, too many rows or columns, a cell over the limit, or broken quoting.
    """
    text = decode(data)
    if text is None:
        raise FileRefused("CSV 文件的编码看不懂。请用 Excel 打开后另存为 .xlsx 再上传。")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(max(len(text), 131072) + 1)  # the child's own module state: we measure cells ourselves
    rows: list[list[Any]] = []
    n_text = 0
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for row in reader:
            if len(rows) >= limits.max_rows:
                raise FileRefused(f"表格超过 {limits.rows} 行的上限。请只保留本单位要报送的内容后重新上传。")
            if len(row) > limits.cols:
                raise FileRefused(
                    f"第 {len(rows) + 1:,} 行有 {len(row):,} 列，超过 {limits.cols} 列的上限（可能分隔符不对，"
                    "或整份文件没有换行）。请用 Excel 打开后另存为 .xlsx 再重新上传。"
                )
            for c, cell in enumerate(row, start=1):
                if len(cell) > limits.cell:
                    raise too_long_cell(len(rows) + 1, c, len(cell), limits.cell)
                n_text += len(cell)
            if n_text > limits.text:
                raise _too_much_text(limits.text)
            rows.append(row)
    except csv.Error as e:
        raise FileRefused(
            f"CSV 文件第 {len(rows) + 1:,} 行的格式有误（{e}），可能有未配对的引号。请用 Excel 打开后另存为 .xlsx 再重新上传。"
        ) from None
    return rows
