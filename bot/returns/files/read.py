"""Reading a handed-in file: what it really is (by its bytes), its cells (xlsx/xls/csv), and the layout's header row.

How the promises hold:
- Nothing in a file is executed or evaluated: spreadsheets are read with python-calamine, which returns
  the values Excel cached and never computes a formula; a CSV cell `=1+1` stays the text `=1+1`.
- A file is what its bytes say, not its name: xlsx is a zip holding xl/workbook.xml, xls an OLE2
  compound file, PDF starts with %PDF, PNG/JPEG with their signatures, CSV is text without NUL bytes.
  A renamed binary gets `FileRefused` with a clear answer.
- Size is bounded before anything is parsed, and the parsing is done in a child process with a memory and a
  time limit (bot/sheets.py, bot/sandbox.py): a zip bomb, a sheet whose cells sit at A1 and XFD1048576, a
  shared-string bomb, a huge cell or a 10 MB CSV line is refused with a clear answer, and whatever slips past
  the checks costs the child, never the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.returns.files.layouts import Layout, normalize_header
from bot.sheets import CSV, IMAGE, PDF, XLS, XLSX, FileRefused, Limits, read_sheets_limited, sniff

SHEET_KINDS = {XLSX, XLS, CSV}
SCAN_KINDS = {PDF, IMAGE}
SHEET_EXT = {".xlsx": XLSX, ".xlsm": XLSX, ".xls": XLS, ".csv": CSV}
SCAN_EXT = {".pdf": PDF, ".jpg": IMAGE, ".jpeg": IMAGE, ".png": IMAGE}
KIND_NAMES = {XLSX: "Excel 表格（.xlsx）", XLS: "Excel 表格（.xls）", CSV: "CSV 表格", PDF: "PDF", IMAGE: "图片"}

MAX_ROWS = 5000
MAX_COLS = 200
HEADER_SCAN = 30
LIMITS = Limits(MAX_ROWS, MAX_COLS, extra_rows=HEADER_SCAN)


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

    The file is read in a limited child process (`bot.sheets`, `bot.sandbox`): blocking, so call it from a
    worker thread.

    Raises:
        FileRefused: too big, too many rows or columns, a cell too long, damaged, or encrypted.
    """
    sheets = read_sheets_limited(data, kind, LIMITS, first_only=layout is None)
    best: Table | None = None
    for name, rows in sheets:
        table = Table(rows, name)
        if layout is None:
            return table
        table.header = find_header(table.rows, layout)
        if table.header.missing == []:
            return table
        if best is None:
            best = table
    return best or Table([])


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
