"""Files the bot makes for a file return: a unit's pre-filled form, the merged workbook, the zip of originals.

The merged workbook is written from the rows stored when each file arrived (return_rows), in write-only
mode, so 2,000 units merge in seconds without reopening a file; cells are typed by their column (`typed`: counts
as numbers, dates as dates), formulas typed by units stay text. These are the office's files, whole: whatever
leaves for anyone else goes through the privacy filter at the exit (`bot.privacy.for_audience`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook

from bot import clock
from bot.db import Tx
from bot.errors import UserError
from bot.readouts import exports, xlsxfast
from bot.readouts.reports import Reports, unit_key
from bot.returns.files import store
from bot.returns.files.layouts import COUNT, DATE, FILING, OFFICIAL, STATS, SUMMARY, TEMPLATE, Layout
from bot.returns.records import Return
from bot.units.records import Unit
from bot.vocab import PLATFORMS

if TYPE_CHECKING:
    from bot.db import Database
    from bot.returns.files.service import ReturnFiles
    from bot.returns.service import Returns


_SAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


MAX_NAME_BYTES = 180  # file systems refuse names over 255 bytes; room left for a `(2)` or a time stamp


def safe_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """A file name without path separators or characters Windows refuses, at most `limit` bytes in UTF-8:
    a long name is cut in its middle part, keeping where it starts (the unit) and its extension."""
    clean = _SAFE.sub("_", name).strip(" .") or "文件"
    stem, ext = os.path.splitext(clean)
    if len(ext) > 8:
        stem, ext = clean, ""
    while len((stem + ext).encode()) > limit and len(stem) > 1:
        stem = stem[: max(1, len(stem) - max(1, (len((stem + ext).encode()) - limit) // 3))]
    return stem + ext


# ---------------------------------------------------------------- typed cells and parts

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def typed(text: str, check: str) -> Any:
    """A stored cell (text, checked when it arrived) as the workbook should hold it, by its column's check:
    counts as numbers (so SUM adds them), dates as dates, anything else (or a value an admin accepted unchecked)
    as the text it is."""
    if check == COUNT and text.isdecimal() and len(text) <= xlsxfast.MAX_DIGITS:
        return int(text)
    if check == DATE and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    return text


Rows = list[tuple[store.FileRecord, Iterator[list[str]]]]


@dataclass
class Part:
    """A merge of part of a return (a return collected by level, bot/returns/levels.py): where each form's rows come
    from, whose missing units are listed (and which others, with their state), and who signed each unit's rows off
    (a column 上报签收 when given)."""

    rows: Callable[[Tx, str], Awaitable[Rows]]
    units: Collection[int] | None = None
    """The units whose missing state is listed (None: every unit of the return)."""
    also_missing: list[tuple[Unit, str]] = field(default_factory=list)
    signed: Mapping[int, str] | None = None
    name: str = ""
    """What the file is of (`郑州市教育局`), in its name and title."""


class Workbooks:
    """Makes the files of file returns, from the services it reads (never the whole App): the database, the returns,
    their files, the read-only views (`Reports`, for the pre-filled forms) and the folder the files go to."""

    def __init__(self, db: Database, returns: Returns, files: ReturnFiles, reports: Reports, data_dir: Path) -> None:
        self.db = db
        self.returns = returns
        self.files = files
        self.reports = reports
        self.data_dir = data_dir

    @property
    def folder(self) -> Path:
        """Where the files are written: ALLIANCE_DATA_DIR/exports (`exports.export_dir`)."""
        return exports.export_dir(self.data_dir)

    # ------------------------------------------------------------ a unit's pre-filled form

    async def prefilled(self, ret: Return, layout: Layout | None, unit: Unit) -> exports.Export:
        """The form of `ret` for one unit, filled from the registry where the layout is official.

        Raises:
            UserError: the return asks for no form, or its template is not attached yet.
        """
        if not ret.forms:
            raise UserError(f"报送 {ret.label} 不需要交表格。")
        if layout is None or layout.name == TEMPLATE:
            if ret.template_file is None:
                raise UserError(f"报送 {ret.label} 还没有模板，请等管理员上传模板后再领取。")
            return await self._template_copy(ret, unit)
        rows: list[list[Any]] = []
        if layout is STATS:
            for i, a in enumerate((a for a in await self.reports.accounts() if a.unit.id == unit.id), start=1):
                values = {
                    "序号": i,
                    "账号(网站)名称": a.name,
                    "开设单位": unit.name,
                    "认证主体": unit.name,
                    "类型": a.platform,
                    "账号ID": a.uid,
                    "开通日期": a.opened_on or "",
                    "粉丝数": a.followers if a.followers is not None else "",
                }
                rows.append([values.get(c, "") for c in layout.names])
        elif layout is SUMMARY:
            counts: dict[str, int] = {}
            for a in await self.reports.accounts(("正常",)):
                if a.unit.id == unit.id:
                    counts[a.platform] = counts.get(a.platform, 0) + 1
            per = [counts.get(p, 0) for p in PLATFORMS]
            rows.append([1, unit.name, unit.category, unit.city, *per, sum(per)])
        elif layout is FILING:
            for i, f in enumerate((f for f in await self.reports.filings() if f.unit_id == unit.id), start=1):
                rows.append(
                    [i, f.id, f.kind, f.unit_name, f.platform, f.account_name, f.uid, f.opened_on, f.changes, f.state]
                    + [""] * (len(layout.names) - 10)
                )
        wb = Workbook()
        ws = wb.active
        ws.title = layout.name
        exports.write_table(
            ws,
            layout.label,
            f"{layout.title}（{unit.name}）",
            f"报送 {ret.label}　截止 {clock.show(ret.deadline)}　已按登记信息预填，请核对、修改、补全后上传到群文件或私聊发给机器人",
            layout.names,
            rows,
            numeric={"序号"},
        )
        stamp = clock.now().strftime("%Y%m%d")
        return await exports.save_workbook(
            self.folder, wb, f"{stamp}{unit.name}{layout.name}", f"{layout.title}（{unit.name}）", len(rows)
        )

    async def prefilled_forms(self, ret: Return, unit: Unit) -> list[exports.Export]:
        """Every form of `ret` for one unit, in the return's order (see `prefilled`)."""
        if not ret.forms:
            raise UserError(f"报送 {ret.label} 不需要交表格。")
        return [await self.prefilled(ret, OFFICIAL.get(form), unit) for form in ret.forms]

    async def _template_copy(self, ret: Return, unit: Unit) -> exports.Export:
        found = await self.files.file(ret.template_file or 0)
        if found is None:
            raise UserError(f"报送 {ret.label} 的模板文件不见了，请管理员重新上传并发 /报送 模板 {ret.id}。")
        rec, src = found
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / safe_name(f"{unit.name}_{rec.original_name}")
        await asyncio.to_thread(shutil.copyfile, src, dest)
        return exports.Export(dest.resolve(), "模板", f"报送 {ret.label} 模板", 0)

    # ------------------------------------------------------------ the merged workbook

    async def merged(self, ret: Return, layouts: Layout | Sequence[Layout], part: Part | None = None) -> exports.Export:
        """Every unit's rows with 填报单位 and 提交时间, one sheet per form of the return (each in its layout); a sheet of
        units not submitted, not complete or needing changes. `part`: only part of them (see `Part`)."""
        layouts = [layouts] if isinstance(layouts, Layout) else list(layouts)
        if not layouts:
            raise UserError(f"报送 {ret.label} 不收表格（或还没有模板），没有可汇总的内容。")
        async with self.db.read() as tx:
            by_form = [
                (layout, await (part.rows(tx, layout.name) if part else store.merged_rows(tx, ret.id, layout.name)))
                for layout in layouts
            ]
            fixing = await store.needing_fix(tx, ret.id)
        progress = await self.returns.progress(ret.id)
        done_units = set.intersection(*({f.unit_id for f, _ in forms} for _, forms in by_form))
        missing = [u for u in progress.pending if u.id not in done_units]
        if part is not None and part.units is not None:
            missing = [u for u in missing if u.id in part.units]
        states = {u.id: state for u, state in part.also_missing} if part else {}
        missing += [u for u, _ in part.also_missing] if part else []
        signed = part.signed if part else None
        extra = ["上报签收"] if signed is not None else []
        counted = [0]

        def data_rows(layout: Layout, forms: list[tuple[store.FileRecord, Iterator[list[str]]]]) -> Iterator[list[Any]]:
            checks = [
                c.check for c in layout.columns
            ]  # cells typed by their column (counts as numbers, dates as dates)
            yield [layout.label]
            yield [f"{layout.title}（汇总）"]
            yield [
                f"报送 {ret.label}　截止 {clock.show(ret.deadline)}　已交 {len(forms)} 个单位　"
                f"未交或需修改 {len(missing)} 个　汇总时间：{clock.now().strftime('%Y-%m-%d %H:%M')}"
            ]
            yield [*layout.names, "填报单位", "提交时间", *extra]
            for f, rows in forms:
                tail = [f.unit_name, clock.show(f.uploaded_at)]
                if signed is not None:
                    tail.append(signed.get(f.unit_id or 0, "直接报省"))
                for cells in rows:
                    counted[0] += 1
                    yield [typed(v, checks[i]) if i < len(checks) else v for i, v in enumerate(cells)] + tail

        def missing_rows() -> Iterator[list[Any]]:
            yield ["序号", "单位名称", "单位类别", "地市", "状态", "问题"]
            for i, u in enumerate(sorted(missing, key=unit_key), start=1):
                fix = fixing.get(u.id)
                owes = progress.owes.get(u.id)
                state = "需修改" if u.id in progress.fixing or fix is not None else "未交齐" if owes else "未报送"
                why = ""
                if u.id in states:
                    state, fix, owes = "未上报", None, None
                    why = states[u.id]
                if fix is not None:
                    probs = json.loads(fix["problems"])
                    why = f"{fix['original_name']}：" + "；".join(
                        f"第{p[0]}行 {p[1]}“{p[2]}”{p[3]}" if p[0] else str(p[3]) for p in probs[:5]
                    )
                    if len(probs) > 5:
                        why += f"；另有 {len(probs) - 5} 处"
                if owes:
                    why = "；".join(x for x in (f"还差{'、'.join(owes)}", why) if x)
                yield [i, u.name, u.category, u.city, state, why]  # values in problems are stored masked

        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        who = safe_name(part.name) if part and part.name else ""
        path = folder / f"报送{ret.id}{who}汇总-{clock.now().strftime('%Y%m%d-%H%M%S')}.xlsx"
        sheets = [
            xlsxfast.Sheet(
                f"{layout.name}汇总",
                data_rows(layout, forms),
                {1, 2, 4},
                [min(max(exports.text_width(n), 6), 16) + 3 for n in (*layout.names, "填报单位", "提交时间", *extra)],
                freeze_row=5,
            )
            for layout, forms in by_form
        ]
        sheets.append(xlsxfast.Sheet("未报送及需修改", missing_rows(), {1}, (6, 24, 12, 10, 10, 60), freeze_row=2))
        title = f"报送 {ret.label} {part.name if part else ''}{'、'.join(layout.name for layout in layouts)}汇总"
        await asyncio.to_thread(xlsxfast.write, path, sheets, title=title)
        return exports.Export(path.resolve(), f"报送{ret.id}汇总", title, counted[0])

    # ------------------------------------------------------------ the originals

    async def pack(self, ret: Return) -> exports.Export:
        """A zip of every unit's current files (forms and scans), named `<单位>_<原文件名>`."""
        files = [
            f
            for f in await self.files.files_of(ret.id)
            if f.unit_id is not None and f.state in (store.PASSED, store.ACCEPTED, store.NEEDS_FIX, store.KEPT)
        ]
        if not files:
            raise UserError(f"报送 {ret.label} 还没有单位交文件。")
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"报送{ret.id}原件-{clock.now().strftime('%Y%m%d-%H%M%S')}.zip"

        def write() -> None:
            used: set[str] = set()
            gone: list[str] = []
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            os.close(fd)
            try:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                    for f in files:
                        name = safe_name(f"{f.unit_name}_{f.original_name}")
                        stem, ext = os.path.splitext(name)
                        k = 1
                        while name in used:
                            k += 1
                            name = f"{stem}({k}){ext}"
                        used.add(name)
                        path = self.files.files.path(f.stored_name)
                        if path.is_file():
                            zf.write(path, name)
                        else:  # removed by the retention setting (issue 25.4): said inside the zip, not a traceback
                            gone.append(name)
                    if gone:
                        zf.writestr("已删除的原件.txt", "按保留期限已删除（其数据仍在汇总里）：\n" + "\n".join(gone))
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

        await asyncio.to_thread(write)
        return exports.Export(dest.resolve(), "打包", f"报送 {ret.label} 原件", len(files))
