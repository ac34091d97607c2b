"""Roster import from CSV or XLSX: validated whole, applied in one transaction, idempotent."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot import clock
from bot.errors import UserError
from bot.parse import category_or_none, check_name, parse_count
from bot.units import Units, audit

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
}


@dataclass
class RosterRow:
    line: int
    name: str
    category: str
    city: str
    aliases: list[str]
    students: int | None


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return f"新增 {len(self.added)} 个单位，更新 {len(self.updated)} 个，未变 {self.unchanged} 个。"


def read_table(data: bytes, filename: str) -> list[list[str]]:
    """Rows of cells from CSV (UTF-8, UTF-8 with BOM, or GBK) or XLSX bytes."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:
            raise UserError(f"无法读取 Excel 文件：{e}") from None
        ws = wb.worksheets[0]
        rows = [["" if c is None else str(c).strip() for c in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UserError("无法识别文件编码，请另存为 UTF-8 编码的 CSV 或 .xlsx。")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def parse_roster(table: list[list[str]]) -> list[RosterRow]:
    """Check every row; raise one UserError listing every problem (nothing is imported then)."""
    numbered = [(n, r) for n, r in enumerate(table, start=1) if any(c for c in r)]  # line numbers as in the file
    table = [r for _, r in numbered]
    if not table:
        raise UserError("文件是空的。第一行应为表头：名称,类别,地市,别名,在校生")
    header = [COLUMNS.get(h.strip()) for h in table[0]]
    if "name" not in header or "category" not in header:
        raise UserError("表头缺少“名称”或“类别”列。第一行应为：名称,类别,地市,别名,在校生")
    rows, problems, seen = [], [], {}
    for n, cells in numbered[1:]:
        rec = {key: (cells[i] if i < len(cells) else "") for i, key in enumerate(header) if key}
        try:
            name = check_name(rec.get("name", ""), "名称")
            cat = category_or_none(rec.get("category", ""))
            if cat is None:
                raise UserError(f"类别“{rec.get('category', '')}”不认识")
            city = rec.get("city", "").strip()
            aliases = [a for a in re.split(r"[、,，;；/|\s]+", rec.get("aliases", "")) if a]
            students = parse_count(rec["students"]) if rec.get("students", "").strip() else None
        except UserError as e:
            problems.append(f"第 {n} 行：{e}")
            continue
        if name in seen:
            problems.append(f"第 {n} 行：单位“{name}”与第 {seen[name]} 行重复")
            continue
        seen[name] = n
        rows.append(RosterRow(n, name, cat, city, aliases, students))
    if problems:
        shown = problems[:20]
        more = f"\n……另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
        raise UserError("名册有误，没有导入任何内容：\n" + "\n".join(shown) + more)
    return rows


async def import_roster(units: Units, data: bytes, filename: str, *, actor: str) -> ImportResult:
    """Import a roster; the same file twice changes nothing the second time."""
    rows = parse_roster(read_table(data, filename))
    result = ImportResult()
    async with units.db.tx() as tx:
        for r in rows:
            cur = await tx.one(
                "SELECT id, category, city, students FROM units WHERE name=? AND deleted_at IS NULL", (r.name,)
            ) or await tx.one(  # a unit renamed since keeps its old name as an alias: it is the same unit
                "SELECT u.id, u.category, u.city, u.students FROM unit_aliases a JOIN units u ON u.id=a.unit_id "
                "WHERE a.alias=? AND u.deleted_at IS NULL",
                (r.name,),
            )
            if cur is None:
                unit_id = await tx.run(
                    "INSERT INTO units (name, category, city, students, created_at) VALUES (?, ?, ?, ?, ?)",
                    (r.name, r.category, r.city, r.students, clock.now_db()),
                )
                result.added.append(r.name)
                changed = False
            else:
                unit_id = cur["id"]
                changed = (cur["category"], cur["city"], cur["students"]) != (r.category, r.city, r.students)
                if changed:
                    await tx.run(
                        "UPDATE units SET category=?, city=?, students=? WHERE id=?",
                        (r.category, r.city, r.students, unit_id),
                    )
            for a in r.aliases:
                owner = await tx.value("SELECT unit_id FROM unit_aliases WHERE alias=?", (a,))
                if owner is None:
                    await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES (?, ?)", (a, unit_id))
                    changed = changed or cur is not None
                elif owner != unit_id:
                    raise UserError(f"名册有误，没有导入任何内容：第 {r.line} 行的简称“{a}”已属于另一个单位。")
            if cur is not None:
                if changed:
                    result.updated.append(r.name)
                else:
                    result.unchanged += 1
        await audit(tx, actor, "导入名册", f"{filename}: {result.summary()}")
    units.invalidate()
    return result


async def import_file(units: Units, path: str | Path, *, actor: str = "cli") -> ImportResult:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"找不到文件 {p}")
    return await import_roster(units, p.read_bytes(), p.name, actor=actor)
