"""Hostile spreadsheets (issue 20 item 5, item 9's CSV cell): the return reader and the roster import refuse each one
with a clear answer, in bounded memory and time, parsing in the limited child process, and the event loop keeps
running meanwhile."""

from __future__ import annotations

import asyncio
import io
import os
import resource
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from bot import sandbox
from bot.app import App
from bot.errors import UserError
from bot.returns.files import read
from bot.returns.files.layouts import STATS
from bot.returns.records import NewReturn
from bot.roster import import_roster
from sim import samples
from tests import hostile
from tests.bot.sandbox_jobs import dies_once_before_running
from tests.bot.test_returnfiles import ZZU, hand, roster
from tests.conftest import stopped_clock

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
DEADLINE = datetime(2026, 10, 31, 17, 30, tzinfo=TZ)
GROWTH_MB = 64
"""What one hostile file may add to the test process's peak memory (the parsing happens in the child)."""
TIME_S = 15.0

# (builder, file name, what the refusal says); None: refused before any parsing (by its bytes)
CASES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "sparse A1 + XFD1048576": (
        hostile.sparse,
        "郑州大学统计表.xlsx",
        "第 1,048,576 行、第 XFD 列，超过上限（5000 行、200 列）",
    ),
    "sparse, prefixed and lower-case": (hostile.sparse_prefixed, "郑州大学统计表.xlsx", "第 1,048,576 行、第 XFD 列"),
    "sparse, written to dodge the checks": (hostile.sparse_unmarked, "郑州大学统计表.xlsx", "需要的内存超过了上限"),
    "shared-string bomb": (hostile.shared_string_bomb, "郑州大学统计表.xlsx", "文字合计超过 1600 万字"),
    "huge cell": (
        hostile.huge_cell,
        "郑州大学统计表.xlsx",
        "第 1 行 B 列的单元格有 1,000,000 个字，超过一个单元格 32767 字",
    ),
    "zip bomb": (hostile.zip_bomb, "郑州大学统计表.xlsx", "解压后超过 30 MB"),
    "entity bomb": (hostile.entity_bomb, "郑州大学统计表.xlsx", "DOCTYPE"),
    "random bytes behind a zip signature": (hostile.random_zip, "郑州大学统计表.xlsx", "已损坏"),
    "xls with cells at A1 and IV65536": (hostile.xls_far_cells, "郑州大学统计表.xls", "需要的内存超过了上限"),
    "csv of one 10 MB line": (hostile.csv_long_line, "郑州大学统计表.csv", "第 1 行有 5,242,881 列，超过 200 列"),
    "csv of one 10 MB cell": (hostile.csv_one_cell, "郑州大学统计表.csv", "第 1 行 A 列的单元格有 10,485,760 个字"),
}
RENAMED = {"renamed exe": hostile.renamed_exe, "random bytes": hostile.random_bytes}


frozen = stopped_clock(NOW)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("case", list(CASES))
def test_the_return_reader_refuses_a_hostile_file_in_the_limited_child(case: str) -> None:
    make, name, says = CASES[case]
    data = make()
    kind = read.check_kind(data, name)
    jobs, before, start = sandbox.jobs_run, peak_mb(), time.monotonic()
    with pytest.raises(read.FileRefused, match=says.replace("（", r"\（").replace("）", r"\）")) as info:
        read.read_table(data, kind, STATS)
    assert time.monotonic() - start < TIME_S
    assert peak_mb() - before < GROWTH_MB
    assert sandbox.jobs_run == jobs + 1, "parsed in the child"
    assert "请" in str(info.value), "says what to do"


@pytest.mark.parametrize("case", list(RENAMED))
def test_a_renamed_binary_is_refused_by_its_bytes_before_any_parsing(case: str) -> None:
    jobs = sandbox.jobs_run
    with pytest.raises(read.FileRefused, match="不是能读取的表格"):
        read.check_kind(RENAMED[case](), "郑州大学统计表.xlsx")
    assert sandbox.jobs_run == jobs


def test_deep_nesting_is_read_within_bounds_and_its_missing_header_named() -> None:
    data = hostile.deep_nesting()
    before, start = peak_mb(), time.monotonic()
    table = read.read_table(data, read.check_kind(data, "统计表.xlsx"), STATS)
    assert time.monotonic() - start < TIME_S and peak_mb() - before < GROWTH_MB
    assert table.header is not None and "类型" in table.header.missing


def test_a_declared_dimension_alone_is_harmless() -> None:
    before = peak_mb()
    assert read.read_table(hostile.declared_dimension(), "xlsx").rows == [[1.0]]
    assert peak_mb() - before < GROWTH_MB


def test_good_files_still_read_the_same() -> None:
    rows = samples.stats_rows("郑州大学", 200)
    for name, data in (
        ("a.xlsx", samples.xlsx(rows)),
        ("a.xls", samples.xls(rows)),
        ("a.csv", samples.csv_bytes(rows)),
    ):
        table = read.read_table(data, read.check_kind(data, name), STATS)
        assert table.header is not None and table.header.missing == [], name
        assert len(table.rows) == table.header.row + 1 + 200, name


def test_a_cell_of_exactly_excels_limit_is_read() -> None:
    rows = samples.stats_rows("郑州大学", 1)
    rows[0][14] = "备" * 32767
    table = read.read_table(samples.xlsx(rows), "xlsx", STATS)
    assert any(c == "备" * 32767 for c in table.rows[-1])


async def open_form_return(app: App) -> None:
    await roster(app)
    await app.returns.create(NewReturn("2026年新媒体统计", DEADLINE, "", "", "统计表", False), actor="t")


@pytest.mark.parametrize(
    "case", ["sparse A1 + XFD1048576", "shared-string bomb", "xls with cells at A1 and IV65536", "huge cell"]
)
async def test_an_operator_uploading_a_hostile_form_gets_the_reason_and_nothing_is_stored(core: App, case: str) -> None:
    await open_form_return(core)
    make, name, says = CASES[case]
    jobs = sandbox.jobs_run
    answer = await hand(core, ZZU, name, make())
    assert says in answer and "重新上传" in answer
    assert sandbox.jobs_run == jobs + 1
    assert await core.return_files.files_of(1) == []


async def test_a_csv_cell_over_128_kb_is_named_by_row_and_column(core: App) -> None:
    """Issue 20 item 9: the reason, not 没有收好."""
    await open_form_return(core)
    rows = samples.stats_rows("郑州大学", 3)
    rows[1][14] = "x" * 200_000  # the second account's 备注: row 3 of the CSV (one header row), column O
    answer = await hand(core, ZZU, "郑州大学统计表.csv", samples.csv_bytes(rows))
    assert "第 3 行 O 列的单元格有 200,000 个字，超过一个单元格 32767 字的上限" in answer
    assert "删去多余的内容后重新上传" in answer


async def test_the_event_loop_keeps_running_while_a_hostile_file_is_read(core: App) -> None:
    await open_form_return(core)
    bomb = hostile.shared_string_bomb()
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    answer = await hand(core, ZZU, "郑州大学统计表.xlsx", bomb)
    done.set()
    await task
    assert "文字合计超过" in answer
    assert max(gaps) < 0.5, f"the loop stalled {max(gaps):.2f} s"


# ---------------------------------------------------------------- the roster import


ROSTER_CASES = {
    **{k: (make, name.replace("郑州大学统计表", "名册"), says) for k, (make, name, says) in CASES.items()},
    "renamed exe": (hostile.renamed_exe, "名册.xlsx", "文件内容不是"),
    "random bytes as csv": (hostile.random_bytes, "名册.csv", "文件内容不是"),
}
ROSTER_CASES.pop("xls with cells at A1 and IV65536")  # the roster takes .xlsx and .csv only
ROSTER_CASES["sparse A1 + XFD1048576"] = (
    hostile.sparse,
    "名册.xlsx",
    "第 1,048,576 行、第 XFD 列，超过上限（50000 行、50 列）",
)
ROSTER_CASES["shared-string bomb"] = (
    lambda: hostile.shared_string_bomb(17_500, 40),
    "名册.xlsx",
    "文字合计超过 1600 万字",
)
ROSTER_CASES["csv of one 10 MB line"] = (hostile.csv_long_line, "名册.csv", "第 1 行有 5,242,881 列，超过 50 列")


@pytest.mark.parametrize("case", list(ROSTER_CASES))
async def test_the_roster_import_refuses_a_hostile_file_and_imports_nothing(core: App, case: str) -> None:
    make, name, says = ROSTER_CASES[case]
    data = make()
    before, start = peak_mb(), time.monotonic()
    with pytest.raises(UserError) as info:
        await import_roster(core.units, data, name, actor="t")
    assert says in str(info.value)
    assert "名册没有导入" in str(info.value)
    assert time.monotonic() - start < TIME_S and peak_mb() - before < GROWTH_MB
    assert await core.units.all() == []


async def test_a_roster_xlsx_reads_whole_numbers_as_typed(core: App) -> None:
    wb = Workbook()
    wb.active.append(["名称", "类别", "地市", "在校生"])
    wb.active.append(["郑州大学", "本科高校", "郑州", 20000])
    buf = io.BytesIO()
    wb.save(buf)
    result = await import_roster(core.units, buf.getvalue(), "名册.xlsx", actor="t")
    assert result.added == ["郑州大学"]
    assert (await core.units.resolve("郑州大学")).students == 20000


# ---------------------------------------------------------------- the limited child itself


def test_a_job_past_its_time_is_killed() -> None:
    start = time.monotonic()
    with pytest.raises(sandbox.Overrun) as info:
        sandbox.run(time.sleep, 30, seconds=0.5)
    assert info.value.kind == sandbox.TIME
    assert time.monotonic() - start < 5


def test_a_job_past_its_memory_is_stopped_and_the_parent_untouched() -> None:
    before = peak_mb()
    with pytest.raises(sandbox.Overrun) as info:
        sandbox.run(bytearray, 4 * 1024**3)
    assert info.value.kind == sandbox.MEMORY
    assert peak_mb() - before < GROWTH_MB


def test_a_job_whose_process_dies_is_a_crash_and_the_next_job_runs() -> None:
    with pytest.raises(sandbox.Overrun) as info:
        sandbox.run(os._exit, 3)
    assert info.value.kind == sandbox.CRASH
    assert sandbox.run(len, b"abc") == 3


def test_a_child_that_died_before_running_its_job_is_started_once_more(tmp_path: Path) -> None:
    """The files bench saw the fork server's child fail to read its launch data (exit 1, no answer) for 1 upload in
    ~2,000, and the unit was told its good form was damaged. Such a child is started once more (a job has no side
    effects); a job that kills its own child otherwise (`os._exit(3)`, a native abort) is not run again."""
    before = sandbox.jobs_run
    assert sandbox.run(dies_once_before_running, str(tmp_path / "flag")) == "ran"
    assert sandbox.jobs_run - before == 2
    before = sandbox.jobs_run
    with pytest.raises(sandbox.Overrun) as info:
        sandbox.run(os._exit, 3)
    assert info.value.kind == sandbox.CRASH and sandbox.jobs_run - before == 1


def test_an_answer_of_another_job_is_never_taken_for_this_ones() -> None:
    assert sandbox._answer(("a1b2", "ok", ["郑州大学的行"]), "a1b2") == ("ok", ["郑州大学的行"])
    assert sandbox._answer(("c3d4", "ok", ["河南大学的行"]), "a1b2") is None
    assert sandbox._answer(("ok", ["没有令牌的旧式回答"]), "a1b2") is None
