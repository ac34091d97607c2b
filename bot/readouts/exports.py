"""Exports in the official layouts as .xlsx (openpyxl): 统计表 (附件1), 汇总表 (附件2), 备案表, per-task sheets.

Layouts follow the Guangdong 2020 notice on the education system's new-media accounts:
附件1 lists one row per account; 附件2 counts accounts per platform; the 备案汇总表 lists every
filing. Each sheet has the attachment label in row 1, the title in row 2, what the sheet covers
in row 3, Chinese headers in row 4 (frozen, filtered) and data from row 5. Columns the bot
cannot know (phone numbers, WeChat ids, the self-inspection answers) are left empty for the unit
to fill, their headers shaded.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot import clock
from bot.errors import UserError
from bot.official_columns import ACCOUNT_COLUMNS, ACCOUNT_TO_FILL, FILING_COLUMNS, SUMMARY_COLUMNS
from bot.parse import read_number
from bot.readouts.reports import Reports, unit_key
from bot.render import person_name
from bot.vocab import CATEGORIES, PLATFORMS

if TYPE_CHECKING:
    from bot.roles import Scope
    from bot.units.records import Unit
    from bot.units.service import Units


LABEL_ROW, TITLE_ROW, NOTE_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3, 4, 5

DETAIL_COLUMNS = (
    "序号",
    "开设单位",
    "单位类别",
    "地市",
    "平台",
    "账号名称",
    "账号ID",
    "开通日期",
    "备案状态",
    "粉丝数",
    "粉丝数报告日期",
    "最近更新日期",
)
CATEGORY_COLUMNS = ("单位类别", "单位数", *PLATFORMS, "合计")
TASK_COLUMNS = ("序号", "单位名称", "单位类别", "地市", "完成情况", "确认人", "确认时间", "是否逾期", "备注")
RETURN_COLUMNS = ("序号", "单位名称", "单位类别", "地市", "完成情况", "报送人", "报送时间", "是否逾期", "备注")

KINDS = ("统计表", "汇总表", "备案表", "统发", "报送")
_KIND_ALIASES = {
    "统计表": "统计表",
    "附件1": "统计表",
    "账号统计表": "统计表",
    "汇总表": "汇总表",
    "附件2": "汇总表",
    "备案表": "备案表",
    "备案汇总表": "备案表",
    "备案": "备案表",
    "统发": "统发",
    "报送": "报送",
}
USAGE = "用法：/导出 统计表|汇总表|备案表|统发 <编号>|报送 <编号>，如：/导出 统计表、/导出 统发 3"

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_TO_FILL = PatternFill("solid", fgColor="FFF2CC")
_HEADER_FONT = Font(name="黑体", bold=True, size=11)
_TITLE_FONT = Font(name="黑体", bold=True, size=16)
_BODY_FONT = Font(name="宋体", size=11)
_WRAP = Alignment(wrap_text=True, vertical="center")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


@dataclass(frozen=True)
class Export:
    """A written file: where it is, what it is, and how many data rows it holds."""

    path: Path
    kind: str
    title: str
    rows: int

    @property
    def name(self) -> str:
        return self.path.name


def parse_kind(args: Sequence[str]) -> tuple[str, int | None]:
    """`["统发", "3"]` → ("统发", 3); raises UserError with the usage when the arguments are wrong."""
    if not args:
        raise UserError(USAGE)
    kind = _KIND_ALIASES.get(args[0].strip())
    if kind is None:
        raise UserError(f"不能导出“{args[0]}”。{USAGE}")
    if kind in ("统发", "报送"):
        if len(args) != 2:
            raise UserError(f"请写出{kind}任务的编号，如：/导出 {kind} 3。发 /{kind} 列表 查看编号。")
        num = read_number(args[1])
        if num is None:
            raise UserError(f"{kind}编号应是数字，如 /导出 {kind} 3，而不是“{args[1]}”。")
        return kind, num
    if len(args) != 1:
        raise UserError(f"“{kind}”不需要别的参数。{USAGE}")
    return kind, None


# ------------------------------------------------------------------ the sheets


def _in(scope: Scope | None, unit: Unit) -> bool:
    return scope is None or unit in scope


# ------------------------------------------------------------------ layout helpers


def _now() -> str:
    return clock.now().strftime("%Y-%m-%d %H:%M")


def text_width(value: Any) -> int:
    """Display width in a spreadsheet: CJK and full-width characters count two."""
    s = "" if value is None else str(value)
    longest = 0
    for line in s.splitlines() or [""]:
        longest = max(longest, sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line))
    return longest


def _table(
    ws: Worksheet,
    label: str,
    title: str,
    note: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    to_fill: frozenset[str] = frozenset(),
    numeric: set[str] | frozenset[str] = frozenset(),
    total_row: bool = False,
) -> None:
    """Label, title, note, header (frozen, filtered), data with borders; widths fitted to the content."""
    ncol = len(columns)
    last = get_column_letter(ncol)
    ws.cell(LABEL_ROW, 1, label).font = Font(name="黑体", bold=True, size=12)
    _put(ws, TITLE_ROW, 1, title).font = _TITLE_FONT
    ws.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.cell(TITLE_ROW, 1).alignment = _CENTER
    ws.row_dimensions[TITLE_ROW].height = 30
    _put(ws, NOTE_ROW, 1, note).font = Font(name="宋体", size=10, color="555555")
    ws.merge_cells(f"A{NOTE_ROW}:{last}{NOTE_ROW}")
    ws.cell(NOTE_ROW, 1).alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.row_dimensions[NOTE_ROW].height = 30 if text_width(note) > 12 * ncol else 18
    for c, name in enumerate(columns, start=1):
        cell = ws.cell(HEADER_ROW, c, name)
        cell.font = _HEADER_FONT
        cell.fill = _TO_FILL if name in to_fill else _HEADER_FILL
        cell.alignment = _CENTER
        cell.border = _BORDER
    ws.row_dimensions[HEADER_ROW].height = 36
    widths = [max(min(max(text_width(name), 6), 16), 14 if name in to_fill else 0) for name in columns]
    for r, values in enumerate(rows, start=FIRST_ROW):
        is_total = total_row and r == FIRST_ROW + len(rows) - 1
        for c, value in enumerate(values, start=1):
            cell = _put(ws, r, c, value)
            cell.font = Font(name="宋体", size=11, bold=is_total)
            cell.border = _BORDER
            cell.alignment = _CENTER if columns[c - 1] in numeric else _WRAP
            widths[c - 1] = max(widths[c - 1], min(text_width(value), 40))
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w + 3
    ws.freeze_panes = ws.cell(FIRST_ROW, 1)
    if rows:
        data_last = FIRST_ROW + len(rows) - (2 if total_row else 1)
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(data_last, HEADER_ROW)}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _put(ws: Worksheet, row: int, col: int, value: Any) -> Any:
    """Set a cell; text that came from users never becomes a formula (`=HYPERLINK(...)` stays text)."""
    cell = ws.cell(row, col, None if value == "" else value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


_SAFE_NAME = re.compile(r"[^\w\u4e00-\u9fff\-]+")


async def _save(folder: Path, wb: Workbook, stem: str, title: str, rows: int) -> Export:
    """Write the workbook into `folder` (ALLIANCE_DATA_DIR/exports/, see `export_dir`) atomically, with a time-stamped
    name."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    base = _SAFE_NAME.sub("_", stem)
    path = folder / f"{base}-{stamp}.xlsx"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{stamp}-{n}.xlsx"
    wb.properties.title = title
    wb.properties.creator = "联盟助手"

    def write() -> None:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        try:
            wb.save(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    await asyncio.to_thread(write)
    return Export(path.resolve(), stem, title, rows)


def export_dir(data_dir: Path) -> Path:
    """ALLIANCE_DATA_DIR/exports (absolute, so a QQ client can read the file)."""
    return (data_dir / "exports").resolve()


# shared with the returns' file forms (bot/readouts/workbooks.py): one way to lay out and save a sheet
write_table = _table
put_cell = _put
save_workbook = _save


class Exports:
    """Writes the exports, from the services it reads (never the whole App): the units, the read-only views
    (`Reports`) and the folder the files go to."""

    def __init__(self, units: Units, reports: Reports, data_dir: Path) -> None:
        self.units = units
        self.reports = reports
        self.data_dir = data_dir

    @property
    def folder(self) -> Path:
        """Where the files are written: ALLIANCE_DATA_DIR/exports (see `export_dir`)."""
        return export_dir(self.data_dir)

    async def export(self, kind: str, task_id: int | None = None, *, actor: str, scope: Scope | None = None) -> Export:
        """Write one export and record who made it; a city admin's (`scope`) holds only the units of their scope.

        Raises:
            UserError: an unknown kind, or a task that does not exist.
        """
        if kind == "统计表":
            result = await self.account_sheet(scope)
        elif kind == "汇总表":
            result = await self.summary_sheet(scope)
        elif kind == "备案表":
            result = await self.filing_sheet(scope)
        elif kind in ("统发", "报送"):
            if task_id is None:
                raise UserError(f"请写出{kind}任务的编号，如：/导出 {kind} 3")
            result = await self.task_sheet(kind, task_id, scope)
        else:
            raise UserError(f"不能导出“{kind}”。{USAGE}")
        await self.reports.record(actor, "导出", f"{result.title}（{result.rows} 行）→ {result.name}")
        return result

    async def account_sheet(self, scope: Scope | None = None) -> Export:
        """附件1: one row per account (filed or awaiting review), plus an inside sheet with the details."""
        accs = [a for a in await self.reports.accounts() if _in(scope, a.unit)]
        ops = await self.units.registrations.operators_of({a.unit.id for a in accs})
        stale = await self.reports.stale_accounts()
        rows: list[list[Any]] = []
        detail: list[list[Any]] = []
        for i, a in enumerate(accs, start=1):
            notes = [x for x in (a.uid and f"账号ID：{a.uid}", a.opened_on and f"开通日期：{a.opened_on}") if x]
            if a.state == "待审核":
                notes.append("开设备案审核中")
            rows.append(
                [
                    i,
                    a.name,
                    a.unit.name,
                    a.unit.name,
                    a.platform,
                    stale.get(a.id, ""),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "、".join(person_name(o.name) for o in ops.get(a.unit.id, [])),
                    "",
                    "",
                    "；".join(notes),
                ]
            )
            detail.append(
                [
                    i,
                    a.unit.name,
                    a.unit.category,
                    a.unit.city,
                    a.platform,
                    a.name,
                    a.uid,
                    a.opened_on or "",
                    "已备案" if a.state == "正常" else a.state,
                    a.followers if a.followers is not None else "",
                    a.followers_on,
                    a.last_post,
                ]
            )
        units = len({a.unit.id for a in accs})
        wb = Workbook()
        ws = wb.active
        ws.title = "附件1 统计表"
        _table(
            ws,
            "附件1",
            "教育系统政务新媒体账号统计表",
            f"共 {units} 个单位、{len(rows)} 个账号　导出时间：{_now()}　"
            "认证主体默认同开设单位，如不同请修改；黄色列由单位填写",
            ACCOUNT_COLUMNS,
            rows,
            to_fill=ACCOUNT_TO_FILL,
            numeric={"序号"},
        )
        _table(
            wb.create_sheet("账号明细"),
            "附表",
            "新媒体账号明细",
            f"共 {len(detail)} 个账号　导出时间：{_now()}",
            DETAIL_COLUMNS,
            detail,
            numeric={"序号", "粉丝数"},
        )
        return await _save(self.folder, wb, "统计表", "教育系统政务新媒体账号统计表", len(rows))

    async def summary_sheet(self, scope: Scope | None = None) -> Export:
        """附件2: accounts per platform, one row per unit with a total row; a second sheet per category."""
        units = sorted([u for u in await self.units.all() if _in(scope, u)], key=unit_key)
        accs = [a for a in await self.reports.accounts(("正常",)) if _in(scope, a.unit)]
        counts: dict[int, dict[str, int]] = {}
        for a in accs:
            counts.setdefault(a.unit.id, {}).setdefault(a.platform, 0)
            counts[a.unit.id][a.platform] += 1
        rows: list[list[Any]] = []
        totals = dict.fromkeys(PLATFORMS, 0)
        for i, u in enumerate(units, start=1):
            c = counts.get(u.id, {})
            per = [c.get(p, 0) for p in PLATFORMS]
            for p in PLATFORMS:
                totals[p] += c.get(p, 0)
            rows.append([i, u.name, u.category, u.city, *per, sum(per)])
        rows.append(["合计", f"{len(units)} 个单位", "", "", *totals.values(), sum(totals.values())])
        by_cat: list[list[Any]] = []
        for cat in CATEGORIES:
            members = [u for u in units if u.category == cat]
            if not members:
                continue
            per = [sum(counts.get(u.id, {}).get(p, 0) for u in members) for p in PLATFORMS]
            by_cat.append([cat, len(members), *per, sum(per)])
        by_cat.append(["合计", len(units), *totals.values(), sum(totals.values())])
        wb = Workbook()
        ws = wb.active
        ws.title = "附件2 汇总表"
        note = f"统计口径：已备案、在运行的账号　共 {len(units)} 个单位、{len(accs)} 个账号　导出时间：{_now()}"
        num = {"序号", *PLATFORMS, "合计", "单位数"}
        _table(ws, "附件2", "教育系统政务新媒体账号汇总表", note, SUMMARY_COLUMNS, rows, numeric=num, total_row=True)
        _table(
            wb.create_sheet("按类别"),
            "附件2",
            "教育系统政务新媒体账号汇总表（按单位类别）",
            note,
            CATEGORY_COLUMNS,
            by_cat,
            numeric=num,
            total_row=True,
        )
        return await _save(self.folder, wb, "汇总表", "教育系统政务新媒体账号汇总表", len(units))

    async def filing_sheet(self, scope: Scope | None = None) -> Export:
        """备案汇总表: every filing (开设/变更/注销) with who filed it, when, and the decision."""
        fs = await self.reports.filings()
        if scope is not None and not scope.everything:
            names = {u.name for u in await self.units.by_ids(sorted(scope.unit_ids))}
            fs = [f for f in fs if f.unit_name in names]
        rows = [
            [
                i,
                f.id,
                f.kind,
                f.unit_name,
                f.platform,
                f.account_name,
                f.uid,
                f.opened_on,
                f.changes,
                f.state,
                f.filed_by,
                f.filed_at,
                f.decided_by,
                f.decided_at,
                f.reason,
            ]
            for i, f in enumerate(fs, start=1)
        ]
        states = {s: sum(1 for f in fs if f.state == s) for s in ("已备案", "待审核", "已驳回")}
        note = "　".join(f"{k} {v}" for k, v in states.items())
        wb = Workbook()
        ws = wb.active
        ws.title = "备案汇总表"
        _table(
            ws,
            "备案",
            "教育系统政务新媒体备案汇总表",
            f"共 {len(rows)} 条备案（{note}）　导出时间：{_now()}",
            FILING_COLUMNS,
            rows,
            numeric={"序号", "备案编号"},
        )
        return await _save(self.folder, wb, "备案表", "教育系统政务新媒体备案汇总表", len(rows))

    async def task_sheet(self, kind: str, task_id: int, scope: Scope | None = None) -> Export:
        """One 统发 or 报送 task: each unit that owes it, who did it and when, and who did not (a city admin: theirs)."""
        t = await self.reports.task(kind, task_id, scope)  # a city admin: their units; another city's task refused
        verb = "确认" if kind == "统发" else "报送"
        rows: list[list[Any]] = []
        i = 0
        for d in t.done:
            i += 1
            rows.append(
                [
                    i,
                    d.unit.name,
                    d.unit.category,
                    d.unit.city,
                    f"已{verb}",
                    d.by,
                    d.at,
                    "是" if d.late else "否",
                    d.note,
                ]
            )
        for u in sorted(t.missing, key=unit_key):
            i += 1
            rows.append([i, u.name, u.category, u.city, f"未{verb}", "", "", "", ""])
        columns = TASK_COLUMNS if kind == "统发" else RETURN_COLUMNS
        done, total = len(t.done), t.total
        pct = f"{done / total * 100:.1f}%" if total else "0.0%"
        head = f"{kind} #{t.id}：{t.title}"
        note = f"截止 {t.deadline}　状态：{t.state}　已{verb} {done}/{total}（{pct}），未{verb} {len(t.missing)}　导出时间：{_now()}"
        if t.note:
            note = f"说明：{t.note}　" + note
        if t.link:
            note = f"链接：{t.link}　" + note
        wb = Workbook()
        ws = wb.active
        ws.title = f"{kind}{t.id}"
        _table(ws, f"{kind}进度", head, note, columns, rows, numeric={"序号"})
        missing_ws = wb.create_sheet(f"未{verb}单位")
        miss_rows = [[n, u.name, u.category, u.city] for n, u in enumerate(sorted(t.missing, key=unit_key), 1)]
        _table(
            missing_ws,
            f"{kind}进度",
            f"{head}（未{verb}单位）",
            note,
            ("序号", "单位名称", "单位类别", "地市"),
            miss_rows,
        )
        return await _save(self.folder, wb, f"{kind}{t.id}", head, len(rows))

    def list_exports(self, limit: int = 30) -> list[Path]:
        """The newest export files, newest first."""
        folder = self.folder
        if not folder.is_dir():
            return []
        files = [p for p in folder.iterdir() if p.suffix == ".xlsx" and p.is_file()]
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
