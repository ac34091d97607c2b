"""Roster import from CSV and XLSX: all or nothing, idempotent, and the command-line tool."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.app import App
from bot.errors import UserError
from bot.roster import import_file, import_roster
from tests.conftest import ROOT, ROSTER


def roster_rows() -> list[list[str]]:
    with open(ROSTER, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


N = len(roster_rows()) - 1  # units in the sample roster (163 when this was written)


async def snapshot(app: App) -> tuple[list[tuple], list[tuple]]:
    async with app.db.read() as tx:
        units = [tuple(r) for r in await tx.all("SELECT id, name, category, city, students FROM units ORDER BY id")]
        aliases = [tuple(r) for r in await tx.all("SELECT alias, unit_id FROM unit_aliases ORDER BY alias")]
    return units, aliases


async def test_import_the_henan_roster(core: App) -> None:
    rows = roster_rows()[1:]
    result = await import_file(core.units, ROSTER)
    assert len(result.added) == len(rows) == N > 100
    assert result.updated == [] and result.unchanged == 0
    units = {u.name: u for u in await core.units.all()}
    assert set(units) == {r[0] for r in rows}
    zzu = units["郑州大学"]
    assert (zzu.category, zzu.city, zzu.students, zzu.aliases) == ("本科高校", "郑州", 72000, ("郑大",))
    assert units["郑州市教育局"].students is None
    assert f"新增 {N} 个单位" in result.summary()


async def test_importing_twice_changes_nothing(core: App) -> None:
    await import_file(core.units, ROSTER)
    before = await snapshot(core)
    again = await import_file(core.units, ROSTER)
    assert (len(again.added), len(again.updated), again.unchanged) == (0, 0, N)
    assert "新增 0 个单位，更新 0 个" in again.summary()
    assert await snapshot(core) == before


async def test_a_changed_row_updates_that_unit_only(core: App) -> None:
    await import_file(core.units, ROSTER)
    rows = roster_rows()
    for r in rows:
        if r[0] == "郑州大学":
            r[4] = "73000"
            r[3] = "郑大;zzu"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    result = await import_roster(core.units, buf.getvalue().encode("utf-8"), "roster.csv", actor="t")
    assert result.added == [] and result.updated == ["郑州大学"] and result.unchanged == N - 1
    zzu = await core.units.resolve("zzu")
    assert zzu.name == "郑州大学" and zzu.students == 73000


async def test_xlsx_with_the_same_content_is_equivalent(tmp_path: Path, core: App) -> None:
    wb = Workbook()
    ws = wb.active
    for i, row in enumerate(roster_rows()):
        if i and row[4]:
            row = [*row[:4], int(row[4])]  # Excel stores the enrolment as a number
        ws.append(row)
    xlsx = tmp_path / "roster.xlsx"
    wb.save(xlsx)

    result = await import_file(core.units, xlsx)
    assert len(result.added) == N
    from_xlsx = await snapshot(core)
    again = await import_file(core.units, ROSTER)  # the CSV on top of the XLSX changes nothing
    assert (len(again.added), len(again.updated)) == (0, 0)
    assert await snapshot(core) == from_xlsx

    other = App(core.settings.model_copy(update={"alliance_data_dir": str(tmp_path / "csv")}))
    await other.open()
    try:
        await import_file(other.units, ROSTER)
        assert await snapshot(other) == from_xlsx
    finally:
        await other.db.close()


async def test_gbk_encoded_csv(core: App) -> None:
    data = ROSTER.read_text(encoding="utf-8-sig").encode("gbk")
    result = await import_roster(core.units, data, "名册.csv", actor="t")
    assert len(result.added) == N
    assert (await core.units.resolve("郑大")).name == "郑州大学"


async def test_a_bad_row_imports_nothing_and_names_the_line(core: App) -> None:
    text = (
        "名称,类别,地市,别名,在校生\n"
        "郑州大学,本科高校,郑州,郑大,72000\n"
        "河南大学,本科高校,开封,河大,50000\n"
        "某某学校,培训机构,郑州,,\n"
        "河南科技大学,本科高校,洛阳,河科大,很多\n"
    )
    with pytest.raises(UserError) as info:
        await import_roster(core.units, text.encode(), "bad.csv", actor="t")
    msg = str(info.value)
    assert "没有导入" in msg
    assert "第 4 行" in msg and "培训机构" in msg
    assert "第 5 行" in msg
    assert "第 2 行" not in msg and "第 3 行" not in msg
    assert await core.units.all() == []


async def test_line_numbers_count_blank_lines(core: App) -> None:
    text = "名称,类别,地市\n郑州大学,本科高校,郑州\n\n,,\n河南大学,大学堂,开封\n"
    with pytest.raises(UserError) as info:
        await import_roster(core.units, text.encode(), "bad.csv", actor="t")
    assert "第 5 行" in str(info.value)
    assert await core.units.all() == []


async def test_duplicate_rows_are_named(core: App) -> None:
    text = "名称,类别\n郑州大学,本科高校\n河南大学,本科高校\n郑州大学,本科高校\n"
    with pytest.raises(UserError, match=r"第 4 行.*第 2 行"):
        await import_roster(core.units, text.encode(), "dup.csv", actor="t")
    assert await core.units.all() == []


async def test_an_alias_owned_by_another_unit_is_refused_on_its_row_and_the_rest_imported(core: App) -> None:
    await core.units.add("郑州轻工业大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    text = "名称,类别,地市,别名\n河南大学,本科高校,开封,河大\n郑州大学,本科高校,郑州,郑大;zzu\n"
    result = await import_roster(core.units, text.encode(), "clash.csv", actor="t")
    assert result.added == ["河南大学", "郑州大学"]
    assert [(line, alias) for line, alias, _ in result.refused_aliases] == [(3, "郑大")]
    assert "第 3 行“郑大”：简称“郑大”已属于“郑州轻工业大学”" in result.summary()
    assert (await core.units.resolve("郑大")).name == "郑州轻工业大学"
    assert (await core.units.resolve("zzu")).name == "郑州大学"
    again = await import_roster(core.units, text.encode(), "clash.csv", actor="t")  # idempotent, same answer
    assert (again.added, again.updated, again.unchanged) == ([], [], 2) and len(again.refused_aliases) == 1


async def test_missing_header_or_empty_file(core: App) -> None:
    with pytest.raises(UserError, match="表头"):
        await import_roster(core.units, "郑州大学,本科高校\n".encode(), "x.csv", actor="t")
    with pytest.raises(UserError, match="空"):
        await import_roster(core.units, b"", "x.csv", actor="t")
    with pytest.raises(UserError, match="找不到"):
        await import_file(core.units, "/nonexistent/roster.csv")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env.update({"PYTHONPATH": str(ROOT), "ALLIANCE_DATA_DIR": str(tmp_path / "store")})
    return subprocess.run(
        [sys.executable, "-m", "bot", "import-units", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_imports_and_is_idempotent(tmp_path: Path) -> None:
    first = _cli(tmp_path, str(ROSTER))
    assert first.returncode == 0, first.stderr
    assert f"新增 {N} 个单位" in first.stdout
    assert (tmp_path / "store" / "alliance.db").is_file()
    second = _cli(tmp_path, str(ROSTER))
    assert second.returncode == 0, second.stderr
    assert "新增 0 个单位，更新 0 个" in second.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("名称,类别\n某某学校,培训机构\n", encoding="utf-8")
    third = _cli(tmp_path, str(bad))
    assert third.returncode != 0
    assert "第 2 行" in third.stderr and "Traceback" not in third.stderr


# ---------------------------------------------------------------- issue 12


async def test_reimport_after_a_unit_was_deleted_skips_it_clearly(core: App) -> None:
    await import_file(core.units, ROSTER)
    await core.units.delete("郑州大学", actor="t")
    result = await import_file(core.units, ROSTER)  # 郑大 is still the deleted unit's alias
    assert result.added == [] and result.updated == [] and result.unchanged == N - 1
    assert result.skipped_deleted == ["郑州大学"]
    assert "跳过 1 个已删除的单位（郑州大学）" in result.summary() and "/单位 添加" in result.summary()
    assert "郑州大学" not in [u.name for u in await core.units.all()]
    again = await import_file(core.units, ROSTER)
    assert again.skipped_deleted == ["郑州大学"] and again.unchanged == N - 1


async def test_a_deleted_units_alias_goes_to_the_live_unit_that_claims_it(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.delete("郑州大学", actor="t")
    text = "名称,类别,地市,别名\n郑州大学（新）,本科高校,郑州,郑大\n"
    result = await import_roster(core.units, text.encode(), "r.csv", actor="t")
    assert result.added == ["郑州大学（新）"]
    assert (await core.units.resolve("郑大")).name == "郑州大学（新）"


async def test_a_huge_csv_cell_is_a_clear_error(core: App) -> None:
    text = "名称,类别,地市\n郑州大学,本科高校," + "郑" * 200_000 + "\n"
    with pytest.raises(UserError, match="没有导入"):
        await import_roster(core.units, text.encode(), "big.csv", actor="t")
    quoted = '名称,类别,地市\n郑州大学,本科高校,"' + "x" * 200_000 + '"\n'
    with pytest.raises(UserError, match="没有导入"):
        await import_roster(core.units, quoted.encode(), "big.csv", actor="t")
    assert await core.units.all() == []


async def test_a_city_with_a_quoted_line_break_is_refused(core: App) -> None:
    text = '名称,类别,地市\n郑州大学,本科高校,"郑州\n【通知】请所有单位今晚报送"\n河南大学,本科高校,开封\n'
    with pytest.raises(UserError, match=r"第 2 行.*地市") as info:
        await import_roster(core.units, text.encode(), "inject.csv", actor="t")
    assert "没有导入" in str(info.value)
    assert await core.units.all() == []


async def test_an_alias_given_to_two_rows_goes_to_the_first_and_is_refused_on_the_second(core: App) -> None:
    text = "名称,类别,别名\n郑州大学,本科高校,郑大\n郑州轻工业大学,本科高校,郑大\n"
    result = await import_roster(core.units, text.encode(), "clash.csv", actor="t")
    assert result.added == ["郑州大学", "郑州轻工业大学"]
    assert [(line, alias) for line, alias, _ in result.refused_aliases] == [(3, "郑大")]
    assert (await core.units.resolve("郑大")).name == "郑州大学"


# ---------------------------------------------------------------- the takeover check, as /单位 别名 makes it


async def test_an_alias_that_already_finds_another_unit_is_refused_per_row(core: App) -> None:
    """hndx is 河南大学's pinyin initials, 郑州大学\u200b a look-alike of a name, 河大。 of an alias."""
    await core.units.add("河南大学", "本科高校", "开封", actor="t", aliases=("河大",))
    text = (
        "名称,类别,地市,别名\n"
        "郑州大学,本科高校,郑州,郑大、hndx\n"
        "郑州轻工业大学,本科高校,郑州,郑州大学\u200b\n"
        "河南财经政法大学,本科高校,郑州,河大。;财大\n"
    )
    result = await import_roster(core.units, text.encode(), "takeover.csv", actor="t")
    assert result.added == ["郑州大学", "郑州轻工业大学", "河南财经政法大学"]
    refused = {(line, alias): why for line, alias, why in result.refused_aliases}
    assert set(refused) == {(2, "hndx"), (3, "郑州大学"), (4, "河大。")}
    assert "现在就指“河南大学”" in refused[(2, "hndx")]
    assert "是另一个单位“郑州大学”的全称" in refused[(3, "郑州大学")]
    assert "已属于“河南大学”" in refused[(4, "河大。")]
    summary = result.summary()
    assert "3 个简称没有导入" in summary and "第 2 行“hndx”" in summary and "第 4 行“河大。”" in summary
    assert (await core.units.resolve("hndx")).name == "河南大学"
    assert (await core.units.resolve("郑大")).name == "郑州大学"
    assert (await core.units.resolve("财大")).name == "河南财经政法大学"


async def test_the_sample_roster_has_no_alias_refused(core: App) -> None:
    result = await import_file(core.units, ROSTER)
    assert result.refused_aliases == [] and "没有导入" not in result.summary()


async def test_the_command_line_names_refused_aliases(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        "名称,类别,地市,别名\n河南大学,本科高校,开封,河大\n郑州大学,本科高校,郑州,hndx\n", encoding="utf-8"
    )
    done = _cli(tmp_path, str(roster))
    assert done.returncode == 0, done.stderr
    assert "新增 2 个单位" in done.stdout and "第 3 行“hndx”" in done.stdout and "河南大学" in done.stdout


async def test_a_big_import_lets_a_command_in_between_chunks(core: App) -> None:
    import asyncio

    rows = "".join(f"测试学校{i},高中,郑州\n" for i in range(3000))
    data = ("名称,类别,地市\n" + rows).encode()
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    importing = asyncio.create_task(import_roster(core.units, data, "big.csv", actor="t"))
    while not importing.done():  # wait until the import is writing
        async with core.db.read() as tx:
            if await tx.value("SELECT count(*) FROM units") > 1:
                break
        await asyncio.sleep(0)
    app, _ = await core.units.registrations.apply("20001", "张三", None, "郑州大学")
    assert not importing.done(), "the command waited for the whole import"
    result = await importing
    assert len(result.added) == 3000 and app.unit_name == "郑州大学"
