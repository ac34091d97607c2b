"""Roster import from CSV or XLSX: validated whole, aliases checked by the name index (refused ones named per row), then written in chunks, idempotent."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot import clock
from bot.audit import audit
from bot.db import Tx
from bot.errors import UserError
from bot.names import check_city, check_name
from bot.parse import parse_count
from bot.sheets import CSV, XLSX, FileRefused, Limits, read_sheets_limited, sniff
from bot.units.records import Unit, UnitIndex
from bot.units.service import Units
from bot.units.tree import PROVINCE, apply_defaults, in_loops, is_default, is_province
from bot.vocab import category_or_none

SAMPLE_NAME = "roster-henan.csv"


def sample_roster() -> Path:
    """The Henan sample roster: `../shared/data/` beside the project when there, else the copy in `bot/data/`."""
    here = Path(__file__).resolve().parent
    shared = here.parent.parent / "shared" / "data" / SAMPLE_NAME
    return shared if shared.is_file() else here / "data" / SAMPLE_NAME


COLUMNS = {
    "名称": "name",
    "单位名称": "name",
    "单位": "name",
    "类别": "category",
    "单位类别": "category",
    "地市": "city",
    "城市": "city",
    "所在地市": "city",
    "别名": "aliases",
    "简称": "aliases",
    "在校生": "students",
    "在校生数": "students",
    "学生数": "students",
    "上级单位": "parent",
    "上级": "parent",
    "主管单位": "parent",
    "县区": "county",
    "区县": "county",
    "县市区": "county",
    "县（市、区）": "county",
    "县(市、区)": "county",
    "所在县区": "county",
}


@dataclass
class RosterRow:
    line: int
    name: str
    category: str
    city: str
    aliases: list[str]
    students: int | None
    county: str | None = None  # None: the file has no 县区 column (the stored one stays)
    parent: str = ""  # the 上级单位 cell: a unit of the roster or of the file, 全省, 默认, or empty (the default)


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped_deleted: list[str] = field(default_factory=list)
    refused_aliases: list[tuple[int, str, str]] = field(default_factory=list)  # (line, alias, why)

    def summary(self) -> str:
        text = f"新增 {len(self.added)} 个单位，更新 {len(self.updated)} 个，未变 {self.unchanged} 个。"
        if self.skipped_deleted:
            shown = "、".join(self.skipped_deleted[:10]) + ("等" if len(self.skipped_deleted) > 10 else "")
            text += (
                f"跳过 {len(self.skipped_deleted)} 个已删除的单位（{shown}）：删除不因导入而撤销，"
                "如需恢复，请管理员发 /单位 添加 <名称> <类别> [地市]。"
            )
        if self.refused_aliases:
            text += (
                f"\n{len(self.refused_aliases)} 个简称没有导入（单位照常导入；改好名册后再导入一次，"
                "或用 /单位 别名 <名称> <简称> 另加）："
            )
            for line, alias, why in self.refused_aliases[:20]:
                text += f"\n第 {line} 行“{alias}”：{why}"
            if len(self.refused_aliases) > 20:
                text += f"\n……另有 {len(self.refused_aliases) - 20} 个"
        return text


MAX_CELL = 1000  # characters in one cell; a roster cell is a name, a category, a city or a few aliases
CHUNK = 1000  # rows written per transaction: a big import never holds the write lock for long
CHUNK_GAP = 0.12  # seconds between two chunks, for writers in other processes


ROSTER_LIMITS = Limits(rows=50_000, cols=50, extra_rows=1)
"""A roster is read like a handed-in form (bot/sheets.py, in the limited child), with room for every unit."""


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """Rows of cells from CSV (UTF-8, UTF-8 with BOM, or GBK) or XLSX bytes, read in the limited child process
    (blocking: call it from a worker thread). A file is what its bytes say: a renamed binary is refused.

    Raises:
        UserError: the file is not a CSV or .xlsx, too big, damaged, or a cell is too long (row and column named).
    """
    claimed = XLSX if filename.lower().endswith((".xlsx", ".xlsm")) else CSV
    real = sniff(data)
    if real != claimed:
        what = "Excel 表格（.xlsx）" if claimed == XLSX else "CSV 表格"
        raise UserError(
            f"名册没有导入：“{filename}”的扩展名是{what}，但文件内容不是。"
            "请用 Excel 或 WPS 打开名册，另存为 .xlsx 或 UTF-8 编码的 CSV 后重新导入。"
        )
    try:
        sheets = read_sheets_limited(data, real, ROSTER_LIMITS, first_only=True)
    except FileRefused as e:
        raise UserError(f"名册没有导入任何内容：{e}") from None
    rows = sheets[0][1] if sheets else []
    return [[_text(c) for c in row] for row in rows]


def _text(cell: object) -> str:
    """A cell as the text a person typed: whole numbers without `.0`, nothing for an empty cell."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def parse_roster(table: list[list[str]]) -> list[RosterRow]:
    """Check every row; raise one UserError listing every problem (nothing is imported then)."""
    numbered = [(n, r) for n, r in enumerate(table, start=1) if any(c for c in r)]  # line numbers as in the file
    table = [r for _, r in numbered]
    if not table:
        raise UserError("文件是空的。第一行应为表头：名称,类别,地市,别名,在校生（可加 县区、上级单位 两列）")
    header = [COLUMNS.get(h.strip()) for h in table[0]]
    if "name" not in header or "category" not in header:
        raise UserError("表头缺少“名称”或“类别”列。第一行应为：名称,类别,地市,别名,在校生（可加 县区、上级单位 两列）")
    rows, problems, seen = [], [], {}
    for n, cells in numbered[1:]:
        rec = {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(header) if key}
        try:
            if any(len(v) > MAX_CELL for v in rec.values()):
                raise UserError(f"有单元格超过 {MAX_CELL} 字")
            name = check_name(rec.get("name", ""), "名称")
            cat = category_or_none(rec.get("category", ""))
            if cat is None:
                raise UserError(f"类别“{rec.get('category', '')}”不认识")
            city = check_city(rec.get("city", ""))
            aliases = [check_name(a, "简称") for a in re.split(r"[、,，;；/|\s]+", rec.get("aliases", "")) if a.strip()]
            students = parse_count(rec["students"]) if rec.get("students", "").strip() else None
            county = check_city(rec["county"], "县区") if "county" in rec else None
            parent = check_name(rec["parent"], "上级单位") if rec.get("parent", "").strip() else ""
        except UserError as e:
            problems.append(f"第 {n} 行：{e}")
            continue
        if name in seen:
            problems.append(f"第 {n} 行：单位“{name}”与第 {seen[name]} 行重复")
            continue
        seen[name] = n
        rows.append(RosterRow(n, name, cat, city, aliases, students, county, parent))
    if problems:
        shown = problems[:20]
        more = f"\n……另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
        raise UserError("名册有误，没有导入任何内容：\n" + "\n".join(shown) + more)
    return rows


async def import_roster(units: Units, data: bytes, filename: str, *, actor: str) -> ImportResult:
    """Import a roster; the same file twice changes nothing the second time.

    Every row is checked before anything is written (a bad row imports nothing), and every alias with the units'
    name index, as `/单位 别名` does: an alias that would take over another unit's name is left out of its row
    and named in the summary, the rest is imported. Then
    the rows are written `CHUNK` at a time, each chunk its own transaction, so commands of the running bot
    (another process, or this one) get the write lock in between. A unit an admin deleted is skipped and
    named in the summary, never re-created behind the admin's back; its aliases go to a live unit that claims
    them. A chunk that fails leaves the chunks before it; importing the file again finishes the job.
    """
    rows = await asyncio.to_thread(lambda: parse_roster(read_table(data, filename)))
    result = ImportResult()
    async with units.db.read() as tx:
        live = {
            r["name"]: dict(r)
            for r in await tx.all(
                "SELECT id, name, category, city, students, county, parent_id, parent_fixed FROM units "
                "WHERE deleted_at IS NULL"
            )
        }
        deleted = {r[0] for r in await tx.all("SELECT name FROM units WHERE deleted_at IS NOT NULL")}
        owners = {
            r["alias"]: r["unit_id"]
            for r in await tx.all(
                "SELECT a.alias, a.unit_id FROM unit_aliases a JOIN units u ON u.id=a.unit_id WHERE u.deleted_at IS NULL"
            )
        }
    by_id = {u["id"]: u for u in live.values()}
    plan: list[tuple[RosterRow, dict | None]] = []
    for r in rows:
        cur = live.get(r.name)
        if cur is None and r.name in owners:
            cur = by_id.get(owners[r.name])  # a unit renamed since keeps its old name as an alias
        if cur is None and r.name in deleted:
            result.skipped_deleted.append(r.name)
            continue
        plan.append((r, cur))
    idx = await units.name_index()
    _refuse_takeovers(idx, plan, result)
    parents = _parents(idx, plan, (await units.tree()).parents)
    ids: dict[int, int] = {}  # each row's unit, by line
    for start in range(0, len(plan), CHUNK):
        async with units.db.tx() as tx:
            for r, cur in plan[start : start + CHUNK]:
                ids[r.line] = await _apply_row(tx, r, cur, result)
        # A pause, not just a yield: another process (the running bot) waits for the lock in SQLite's busy
        # handler, which sleeps up to 100 ms between tries; back-to-back chunks would starve it.
        await asyncio.sleep(CHUNK_GAP)
    async with units.db.tx() as tx:
        await _set_parents(tx, plan, parents, ids, result)
        await apply_defaults(tx)
        await audit(tx, actor, "导入名册", f"{filename}: {result.summary()}")
    units.invalidate()
    return result


def _refuse_takeovers(idx: UnitIndex, plan: list[tuple[RosterRow, dict | None]], result: ImportResult) -> None:
    """Check every alias of the file with the name index, as `/单位 别名` does: one that is another unit's name
    or alias, a look-alike of one, or a name that already finds another unit is left out of its row and named in
    the summary; the rest of the file is imported. The file's new units are in the index first (so a short name
    that would find two of them is no reason to refuse), and each alias accepted is in it for the rows after."""
    ids: dict[int, int] = {}
    for r, cur in plan:
        if cur is None:
            idx.put(Unit(-r.line, r.name, r.category, r.city, r.students))
        ids[r.line] = -r.line if cur is None else cur["id"]
    for r, _ in plan:
        accepted = []
        for a in r.aliases:
            unit = idx.units[ids[r.line]]
            why = idx.takeover(unit, a)
            if why is not None:
                result.refused_aliases.append((r.line, a, why))
                continue
            idx.put(replace(unit, aliases=(*unit.aliases, a)))
            accepted.append(a)
        r.aliases = accepted


async def _apply_row(tx: Tx, r: RosterRow, cur: dict | None, result: ImportResult) -> int:
    """Write one row; returns its unit's id."""
    if cur is None:
        unit_id = await tx.run(
            "INSERT INTO units (name, category, city, students, county, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (r.name, r.category, r.city, r.students, r.county or "", clock.now_db()),
        )
        result.added.append(r.name)
        changed = False
    else:
        unit_id = cur["id"]
        county = cur["county"] if r.county is None else r.county
        changed = (cur["category"], cur["city"], cur["students"], cur["county"]) != (
            r.category,
            r.city,
            r.students,
            county,
        )
        if changed:
            await tx.run(
                "UPDATE units SET category=?, city=?, students=?, county=? WHERE id=?",
                (r.category, r.city, r.students, county, unit_id),
            )
    for a in r.aliases:
        owner = await tx.one(
            "SELECT a.unit_id, u.deleted_at FROM unit_aliases a JOIN units u ON u.id=a.unit_id WHERE a.alias=?", (a,)
        )
        if owner is not None and owner["unit_id"] == unit_id:
            continue
        if owner is not None and owner["deleted_at"] is None:  # claimed meanwhile by a command: keep it there
            result.refused_aliases.append((r.line, a, "导入时刚被另一个单位用作简称"))
            continue
        await tx.run("DELETE FROM unit_aliases WHERE alias=?", (a,))  # a deleted unit's alias goes to this one
        await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES (?, ?)", (a, unit_id))
        changed = changed or cur is not None
    if cur is not None:
        if changed:
            result.updated.append(r.name)
        else:
            result.unchanged += 1
    return unit_id


def _parents(
    idx: UnitIndex, plan: list[tuple[RosterRow, dict | None]], tree: dict[int, int | None]
) -> dict[int, tuple[int | None, bool]]:
    """The 上级单位 cells of the file, by line: (the parent's id, or None for the province; whether it is set by the
    file, not left to the default). A unit of the file not yet stored has the id minus its line (as in `idx`).

    Raises:
        UserError: a parent that is neither a unit of the roster or of the file nor 全省, a unit its own parent, or
            parents that go round in a loop; every such line is named and nothing is imported.
    """
    out: dict[int, tuple[int | None, bool]] = {}
    problems = []
    ids = {r.line: (-r.line if cur is None else cur["id"]) for r, cur in plan}
    for r, _ in plan:
        if not r.parent:
            continue
        if is_default(r.parent):
            out[r.line] = (None, False)
            continue
        if is_province(r.parent):
            out[r.line] = (None, True)
            continue
        try:
            parent = idx.lookup(r.parent, strict=True)
        except UserError as e:
            problems.append(f"第 {r.line} 行：上级单位“{r.parent}”不是名册里的单位（{e}）")
            continue
        if parent.id == ids[r.line]:
            problems.append(f"第 {r.line} 行：“{r.name}”不能做自己的上级单位")
            continue
        out[r.line] = (parent.id, True)
    after = dict(tree)
    after.update({ids[r.line]: None for r, cur in plan if cur is None})
    after.update({ids[line]: parent for line, (parent, fixed) in out.items() if fixed})
    looped = in_loops(after)
    names = {ids[r.line]: r for r, _ in plan}
    for uid in sorted(looped, key=lambda u: names[u].line if u in names else 0):
        if uid in names and names[uid].line in out:
            r = names[uid]
            problems.append(f"第 {r.line} 行：“{r.name}”的上级单位“{r.parent}”又在它的下级里，上下级绕成了一个圈")
    if problems:
        shown = problems[:20]
        more = f"\n……另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
        raise UserError(
            "名册的“上级单位”列有误，没有导入任何内容：\n"
            + "\n".join(shown)
            + more
            + f"\n上级单位要写名册里（或这份名册里）的单位全称或简称；直属省里的写“{PROVINCE}”，按默认归属的留空。"
        )
    return out


async def _set_parents(
    tx: Tx,
    plan: list[tuple[RosterRow, dict | None]],
    parents: dict[int, tuple[int | None, bool]],
    ids: dict[int, int],
    result: ImportResult,
) -> None:
    """Store the parents the file sets (a unit of the file by the id it was stored with); a unit whose parent
    changed and nothing else counts as updated."""
    for r, cur in plan:
        if r.line not in parents or r.line not in ids:
            continue
        parent, fixed = parents[r.line]
        if parent is not None and parent < 0:
            parent = ids.get(-parent)
        if cur is not None and (cur["parent_id"], bool(cur["parent_fixed"])) == (parent, fixed):
            continue
        if cur is not None and not fixed and not cur["parent_fixed"]:
            continue  # 默认 for a unit already on its default
        await tx.run("UPDATE units SET parent_id=?, parent_fixed=? WHERE id=?", (parent, int(fixed), ids[r.line]))
        if cur is not None and r.name not in result.updated:
            result.updated.append(r.name)
            result.unchanged -= 1


async def import_file(units: Units, path: str | Path, *, actor: str = "cli") -> ImportResult:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"找不到文件 {p}")
    return await import_roster(units, p.read_bytes(), p.name, actor=actor)
