"""The fast workbook writer types its cells (issue 23): numbers as numbers (so SUM adds them), dates as dates,
no NaN or infinity, text cut at Excel's 32,767 characters; generated data survives openpyxl and calamine."""

from __future__ import annotations

import io
import math
import re
import tempfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from bot.app import App
from bot.readouts import xlsxfast
from bot.readouts.workbooks import typed
from bot.returns.files.layouts import COUNT, DATE, STATS, TEXT
from sim import samples
from tests.bot.test_returnfiles import ZZU, file_return, frozen, hand, roster

__all__ = ["frozen"]  # the clock those helpers expect

# what a cell's text may hold: any character XML 1.0 allows (control characters are dropped by the writer)
TEXT_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff")
CELLS = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    st.text(TEXT_CHARS, max_size=40),
)


def expected(value: object) -> object:
    """What a reader should give back for a value written."""
    if value == "" or value is None:
        return None
    if isinstance(value, str):
        return xlsxfast.clean_text(value) or None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def ooxml(value: object) -> object:
    """Text as Excel and calamine read it: openpyxl leaves the `_xHHHH_` escapes of inline strings undecoded."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def write(rows: list[list[object]]) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.xlsx"
        xlsxfast.write(path, [xlsxfast.Sheet("表", rows, {1})])
        return path.read_bytes()


def same(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)):
        return got == want or math.isclose(got, want, rel_tol=1e-15)
    if isinstance(want, datetime) and isinstance(got, date) and not isinstance(got, datetime):
        got = datetime(got.year, got.month, got.day)
    if isinstance(want, int) and isinstance(got, float):
        return got == want
    return got == want


@settings(max_examples=60, deadline=None)
@example([["a\r\nb", "\r", " ", "_x0041_", "=SUM(A1:A2)", "<&>\"'", "\x01控制", 0, -0.0, 1e300, 5e-324]])
@example([[date(1900, 3, 1), datetime(9999, 12, 31, 23, 59), 10**15 - 1, -(10**15) + 1]])
@given(st.lists(st.lists(CELLS, min_size=1, max_size=6), min_size=1, max_size=8))
def test_generated_cells_round_trip_through_openpyxl_and_calamine(rows: list[list[object]]) -> None:
    data = write(rows)
    width = max(len(r) for r in rows)
    want = [[expected(v) for v in r] + [None] * (width - len(r)) for r in rows]

    wb = load_workbook(io.BytesIO(data))
    got = [[ooxml(c.value) for c in r] for r in wb.worksheets[0].iter_rows(max_col=width, max_row=len(rows))]
    for g_row, w_row in zip(got, want, strict=True):
        for g, w in zip(g_row, w_row, strict=True):
            assert same(g, w), (g, w)

    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    for r, w_row in enumerate(want):
        for c, w in enumerate(w_row):
            g = sheet[r][c] if r < len(sheet) and c < len(sheet[r]) else ""
            assert same(None if g == "" else g, w), (r, c, g, w)


def test_numbers_are_numbers_and_dates_are_dates_for_excel() -> None:
    wb = load_workbook(io.BytesIO(write([["粉丝数", "开通日期"], [12, date(2020, 1, 10)], [30, date(2021, 2, 1)]])))
    ws = wb.worksheets[0]
    assert [ws.cell(r, 1).data_type for r in (2, 3)] == ["n", "n"]  # SUM(A2:A3) is 42, not 0
    assert ws.cell(2, 2).is_date and ws.cell(2, 2).number_format == "yyyy-mm-dd"
    assert ws.cell(2, 2).value == datetime(2020, 1, 10)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="NaN"):
        write([["数"], [bad]])


def test_a_cell_is_cut_at_excels_32767_characters_counting_an_emoji_as_two() -> None:
    long = "字" * 40_000
    emoji = "😀" * 20_000  # 40,000 UTF-16 units
    exact = "x" * 32_767
    wb = load_workbook(io.BytesIO(write([[long, emoji, exact]])))
    a, b, c = (wb.worksheets[0].cell(1, i).value for i in (1, 2, 3))
    assert len(a) == 32_767 and a.endswith("…") and a.startswith("字字")
    assert len(b.encode("utf-16-le")) // 2 <= 32_767 and b.endswith("…") and b[:-1] == "😀" * len(b[:-1])
    assert c == exact


def test_an_integer_past_15_digits_is_kept_whole_as_text() -> None:
    wb = load_workbook(io.BytesIO(write([[10**15, 123456789012345]])))
    assert wb.worksheets[0].cell(1, 1).value == "1000000000000000"
    assert wb.worksheets[0].cell(1, 2).value == 123456789012345


def test_stored_cells_are_typed_by_their_column() -> None:
    assert typed("12345", COUNT) == 12345 and typed("12345", TEXT) == "12345"
    assert typed("2020-01-10", DATE) == date(2020, 1, 10)
    assert typed("2020-13-01", DATE) == "2020-13-01"  # accepted by an admin unchecked: kept as typed
    assert typed("20200110", DATE) == "20200110"
    assert typed("1234567890123456", COUNT) == "1234567890123456"
    assert typed("约100", COUNT) == "约100" and typed("", COUNT) == ""


async def test_the_merged_workbooks_count_columns_are_numbers_a_sum_adds(core: App) -> None:
    await roster(core)
    rid = await file_return(core)
    await hand(core, ZZU, "郑大.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 3)))
    ret = await core.returns.get(rid)
    made = await core.workbooks.merged(ret, STATS)
    rows = list(load_workbook(made.path, read_only=True).worksheets[0].iter_rows(values_only=True))
    header, data = list(rows[3]), rows[4:]
    counts = [c.name for c in STATS.columns if c.check == COUNT]
    assert "序号" in counts and len(data) == 3
    for name in counts:
        values = [r[header.index(name)] for r in data]
        assert all(v is None or type(v) is int for v in values), (name, values)
    assert [r[header.index("序号")] for r in data] == [1, 2, 3]
    opened = [r[header.index("开通日期")] for r in data]
    assert all(type(v) is datetime for v in opened), opened
