"""The dashboard's files: importing a roster, making and downloading exports."""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response

from bot import privacy
from bot.app import App
from bot.errors import UserError
from bot.readouts import exports, reports
from bot.roster import import_roster
from plugins.dashboard import html as h
from plugins.dashboard.forms import MAX_UPLOAD, BadUpload, form_int, read_upload
from plugins.dashboard.html import e, url
from plugins.dashboard.web import Session, checked_form, page, redirect, refused, scope_note, shell


def _import_refused(s: Session, why: str, status: int = 400) -> Response:
    """The import page again with what was wrong, answered with a 4xx status."""
    body = import_form(s, h.message(why, ok=False))
    return shell(s, "导入名册", body, active="import", status=status)


def import_form(s: Session, note: str = "") -> str:
    return (
        "<h1>导入名册</h1>"
        + note
        + '<div class="panel"><p>上传 CSV 或 Excel（.xlsx）名册。第一行为表头：<b>名称,类别,地市,别名,在校生</b>。'
        "同一个文件导入两次不会重复添加；有任何一行出错时，整份名册都不会导入；"
        "简称已被别的单位占用（或会让人找错单位）的，只跳过那个简称，结果里按行列出。</p>"
        f'<form method="post" action="{url("/import")}" enctype="multipart/form-data">{h.hidden_csrf(s.csrf)}'
        '<p><input type="file" name="file" accept=".csv,.xlsx" required></p>'
        '<button type="submit">导入</button></form></div>'
    )


@page("/import", "导入名册", "import", methods=("GET", "POST"))
async def import_page(request: Request, app: App, s: Session) -> str | Response:
    if not s.scope.everything:  # the roster is the province's: a city admin moves units with /单位 上级 in chat
        return refused(
            s,
            "导入名册只能由新闻办（省级管理员）操作。你是市级管理员，"
            f"管理范围：{s.scope.label}；要调整单位的上级，请在群里发 /单位 上级 <单位> <上级单位>。",
        )
    if request.method == "GET":
        return import_form(s)
    try:
        fields = await read_upload(request, MAX_UPLOAD)
    except BadUpload as err:
        return _import_refused(s, str(err), err.status)
    csrf = fields.get("csrf", (None, b""))[1].decode("utf-8", "replace")
    if not hmac.compare_digest(csrf.encode(), s.csrf.encode()):
        return Response("页面已过期，请刷新后重试。", status_code=403, media_type="text/plain; charset=utf-8")
    filename, data = fields.get("file", (None, b""))
    filename = Path(filename or "").name[:100]
    if not filename or not data:
        return _import_refused(s, "没有收到文件，请选择 CSV 或 .xlsx 文件后再导入。")
    if not filename.lower().endswith((".csv", ".xlsx")):
        return _import_refused(s, f"“{filename}”不是 CSV 或 .xlsx 文件。")
    try:
        result = await import_roster(app.units, data, filename, actor=s.actor)
    except UserError as err:
        return _import_refused(s, str(err))
    lines = [f"已导入 {filename}：{result.summary()}"]
    if result.added:
        lines.append("新增：" + "、".join(result.added[:50]) + ("……" if len(result.added) > 50 else ""))
    if result.updated:
        lines.append("更新：" + "、".join(result.updated[:50]) + ("……" if len(result.updated) > 50 else ""))
    return import_form(s, h.message("\n".join(lines)))


EXPORT_BUTTONS = (
    ("统计表", "附件1 统计表", "每个账号一行：账号名称、开设单位、类型、负责人等；电话、微信号留给单位填写。"),
    ("汇总表", "附件2 汇总表", "各单位、各类别在各平台的账号数，带合计。"),
    ("备案表", "备案汇总表", "所有开设、变更、注销备案，谁提交、何时、审核结果。"),
)


_FILE_NAME = re.compile(r"^[\w\u4e00-\u9fff\-]+\.xlsx$")


@page("/exports", "导出", "exports", methods=("GET", "POST"))
async def exports_page(request: Request, app: App, s: Session) -> str | Response:
    note = ""
    if request.method == "POST":
        form = await checked_form(request, s)
        if isinstance(form, Response):
            return form
        kind = form.get("kind", "")
        task_id = form_int(form.get("task"), 0) if kind in ("统发", "报送") else None
        try:
            if kind not in exports.KINDS:
                raise UserError("请选择要导出的表格。")
            made = await app.exports.export(kind, task_id, actor=s.actor, scope=s.scope)
        except UserError as err:
            note = h.message(str(err), ok=False)
        else:
            return redirect(f"/exports/file/{quote(made.name)}")
    cards = [
        f'<div class="panel"><b>{e(label)}</b><p>{e(desc)}</p>'
        f'<form method="post" action="{url("/exports")}">{h.hidden_csrf(s.csrf)}'
        f'<input type="hidden" name="kind" value="{e(kind)}"><button type="submit">导出 {e(kind)}</button></form></div>'
        for kind, label, desc in EXPORT_BUTTONS
    ]
    for kind in ("统发", "报送"):
        lines = (await app.reports.tasks(kind, include_closed=True, scope=s.scope))[:30]
        opts = "".join(f'<option value="{t.id}">#{t.id} {e(t.title)}</option>' for t in lines)
        cards.append(
            f'<div class="panel"><b>{e(kind)}进度</b><p>每个单位谁在什么时候完成，谁还没有。</p>'
            + (
                f'<form method="post" action="{url("/exports")}">{h.hidden_csrf(s.csrf)}'
                f'<input type="hidden" name="kind" value="{e(kind)}"><select name="task">{opts}</select> '
                f'<button type="submit">导出</button></form>'
                if lines
                else f'<p class="muted">还没有{e(kind)}任务。</p>'
            )
            + "</div>"
        )
    files = app.exports.list_exports()
    if not s.scope.everything:  # a city admin sees the files they made, no one else's
        mine = await _made_by(app, s)
        files = [p for p in files if p.name in mine]
    rows = [
        [
            f'<a href="{url("/exports/file/" + quote(p.name))}">{e(p.name)}</a>',
            e(f"{p.stat().st_size / 1024:.1f} KB"),
            e(reports.show_time(_mtime(p))),
        ]
        for p in files
    ]
    return (
        "<h1>导出</h1>"
        + scope_note(s)
        + note
        + f'<div class="exports">{"".join(cards)}</div>'
        + f'<h2>最近导出的文件</h2><p class="muted small">保存在服务器 {e(app.exports.folder)}</p>'
        + h.table(["文件", "大小", "时间"], rows, numeric=[1], empty="还没有导出过文件。")
    )


async def _made_by(app: App, s: Session) -> set[str]:
    """The export files this person made, here or with /导出 in the chat."""
    return await app.reports.files_made_by((s.actor, s.person) if s.person else (s.actor,))


def _mtime(p: Path) -> Any:
    from datetime import datetime

    from bot import clock

    return datetime.fromtimestamp(p.stat().st_mtime, clock.tz())


@page("/exports/file/{name}", "下载", "exports")
async def export_file(request: Request, app: App, s: Session) -> str | Response:
    name = request.path_params.get("name", "")
    folder = app.exports.folder
    path = folder / name
    if not _FILE_NAME.match(name) or path.parent != folder or not path.is_file():
        return shell(s, "没有这个文件", h.message("没有这个文件。", ok=False), status=404)
    if not s.scope.everything and name not in await _made_by(app, s):
        return refused(
            s,
            f"这个文件不是你导出的，不能下载。你是市级管理员（管理范围：{s.scope.label}），请在“导出”页导出你范围内的表格。",
        )
    return FileResponse(
        await privacy.for_audience(path, office=s.office),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
    )
