"""The return page's files (issue 16): each unit's files with download links, and the merged workbook."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response

from bot import privacy
from bot.app import App
from bot.db import Tx
from bot.errors import Forbidden, UserError
from bot.readouts import reports, workbooks
from bot.returns.files import store
from plugins.dashboard import html as h
from plugins.dashboard.forms import form_int
from plugins.dashboard.html import e, url
from plugins.dashboard.web import Session, checked_form, page, redirect, refused, shell

_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xls": "application/vnd.ms-excel",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


async def section(app: App, return_id: int, s: Session) -> str:
    """HTML for the return page: the files units handed in (newest first per unit) and the merge button."""
    ret = await app.returns.get(return_id)
    if not ret.wants_files:
        return ""
    files = [
        f
        for f in await app.return_files.files_of(return_id)
        if f.kind != "模板" and (s.scope.everything or (f.unit_id is not None and f.unit_id in s.scope))
    ]
    rows = [
        [
            e(f.unit_name or "（未确认）"),
            f'<a href="{url(f"/tasks/return/{return_id}/files/{f.id}")}">{e(f.original_name)}</a>',
            e(f.form or f.kind),
            h.badge(f.state),
            e(str(f.rows)),
            e("；".join(f"第{p[0]}行 {p[1]}“{p[2]}”{p[3]}" if p[0] else str(p[3]) for p in f.problems[:3])),
            e(reports.show_time(f.uploaded_at)),
        ]
        for f in files
    ]
    merge = (
        f'<form class="inline" method="post" action="{url(f"/tasks/return/{return_id}/merged")}">'
        f'{h.hidden_csrf(s.csrf)}<button type="submit" class="light">汇总为一个工作簿</button></form>'
        if ret.forms
        else ""
    )
    return f"<h2>交来的文件（{len(files)}）</h2><p>{merge}</p>" + h.table(
        ["单位", "文件", "类型", "状态", "行数", "问题", "时间"], rows, numeric=[4], empty="还没有单位交文件。"
    )


@page("/tasks/return/{task_id}/files/{file_id}", "下载", "tasks")
async def download(request: Request, app: App, s: Session) -> str | Response:
    rid = form_int(request.path_params.get("task_id"), 0)
    found = await app.return_files.file(form_int(request.path_params.get("file_id"), 0))
    if found is None or found[0].return_id != rid or not found[1].is_file():
        return shell(s, "没有这个文件", h.message("没有这个文件。", ok=False), status=404)
    rec, path = found
    if not s.scope.everything:
        if not await app.reports.visible("报送", rid, s.scope):
            return refused(s, f"报送 #{rid} 不涉及你的管理范围（{s.scope.label}）内的单位，不能下载它的文件。")
        if rec.unit_id is None or rec.unit_id not in s.scope:
            who = f"“{rec.unit_name}”交的" if rec.unit_name else "还没有确认是哪个单位交的"
            return refused(s, f"这个文件是{who}，不在你的管理范围（{s.scope.label}）内，不能下载。")
    name = f"{rec.unit_name}_{rec.original_name}" if rec.unit_name else rec.original_name
    try:  # the privacy filter's exit: whole to the office, masked to anyone else
        served = await privacy.for_audience(path, office=s.office)
    except privacy.CannotMask:
        msg = h.message("这个原件含有无法检查的内容（扫描件、图片或旧格式表格），只有新闻办可以下载。", ok=False)
        return shell(s, "不能下载", msg, status=403)
    return FileResponse(
        served,
        media_type=_TYPES.get(path.suffix, "application/octet-stream"),
        filename=workbooks.safe_name(name if s.office else privacy.mask(name)),
    )


async def _part(app: App, return_id: int, s: Session) -> workbooks.Part | None:
    """A city admin's merge: only their units' rows and missing units (None: the office's, every unit).

    Raises:
        Forbidden: the return concerns none of their units.
    """
    if s.scope.everything:
        return None
    await app.reports.task("报送", return_id, s.scope)  # refused when it is another city's
    scope = s.scope

    async def rows(tx: Tx, form: str) -> workbooks.Rows:
        return [(f, r) for f, r in await store.merged_rows(tx, return_id, form) if f.unit_id in scope]

    heads = await app.units.by_ids(list(scope.heads))
    return workbooks.Part(rows, units=scope.unit_ids, name=heads[0].name if heads else "")


@page("/tasks/return/{task_id}/merged", "汇总", "tasks", methods=("POST",))
async def merged(request: Request, app: App, s: Session) -> str | Response:
    form = await checked_form(request, s)
    if isinstance(form, Response):
        return form
    rid = form_int(request.path_params.get("task_id"), 0)
    try:
        ret = await app.returns.get(rid)
        layouts = await app.return_files.layouts_of(ret)
        if not layouts:
            raise UserError("这个报送不收表格（或还没有模板），没有可汇总的内容。")
        made = await app.workbooks.merged(ret, layouts, await _part(app, rid, s))
    except Forbidden as err:
        return refused(s, str(err))
    except UserError as err:
        return shell(s, "汇总", h.message(str(err), ok=False), status=400)
    await app.reports.record(s.actor, "报送汇总", f"{ret.label} → {made.name}")
    return redirect(f"/exports/file/{quote(made.name)}")
