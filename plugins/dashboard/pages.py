"""The dashboard's read-mostly pages: overview, units, a unit, accounts, 统发 and 报送 lists and progress, follower rankings, the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from bot.app import App, current_app
from bot.errors import Forbidden, UserError
from bot.readouts import reports
from bot.render import person_name
from bot.units.records import initials
from bot.vocab import CATEGORIES, PLATFORMS
from plugins.dashboard import html as h
from plugins.dashboard.forms import form_int
from plugins.dashboard.html import e, url
from plugins.dashboard.web import (
    PAGE_SIZE,
    Session,
    configured_token,
    not_found,
    page,
    redirect,
    refused,
    router,
    scope_note,
    shell,
)


def task_rows(lines: list[reports.TaskLine], kind_path: str) -> str:
    if not lines:
        return '<p class="muted">没有进行中的任务。</p>'
    out = []
    for t in lines:
        late = " " + h.badge("已逾期") if t.overdue else ""
        out.append(
            '<div class="task">'
            f'<div><a href="{url(f"/tasks/{kind_path}/{t.id}")}">#{t.id} {e(t.title)}</a>{late}'
            f'<div class="muted small">截止 {e(t.deadline)}</div></div>'
            f"{h.progress(t.done, t.total, late=t.overdue)}"
            f'<div class="pct">{e(h.pct_text(t.done, t.total))}</div></div>'
        )
    return "".join(out)


@router.get("/", response_class=HTMLResponse)
async def slash() -> Response:
    return redirect("") if configured_token(current_app()) else not_found()


@page("", "概览", "overview")
async def overview(request: Request, app: App, s: Session) -> str:
    o = await app.reports.overview(s.scope)
    cards = [
        ("单位", o.units, False, url("/units")),
        ("联络员", o.operators, False, ""),
        ("在运行账号", o.accounts, False, url("/accounts")),
        ("没有联络员的单位", o.units_without_operator, o.units_without_operator > 0, ""),
        ("待审核备案", o.pending_filings, o.pending_filings > 0, url("/filings")),
        ("待审核注册", o.pending_applications, o.pending_applications > 0, ""),
    ]
    body = ["<h1>概览</h1>", scope_note(s), '<div class="cards">']
    for label, value, warn, link in cards:
        inner = f"<b>{value:,}</b><span>{e(label)}</span>"
        cls = f"card{' warn' if warn else ''}"
        body.append(f'<a class="{cls}" href="{link}">{inner}</a>' if link else f'<div class="{cls}">{inner}</div>')
    body.append("</div>")
    for kind, path in (("统发", "broadcast"), ("报送", "return")):
        body.append(f"<h2>进行中的{kind}</h2>")
        lines = [t for t in await app.reports.tasks(kind, include_closed=False, scope=s.scope)]
        body.append(f'<div class="panel">{task_rows(lines, path)}</div>')
    body.append("<h2>逾期未完成的报送</h2>")
    overdue = [t for t in await app.reports.tasks("报送", include_closed=False, scope=s.scope) if t.overdue]
    rows = [
        [
            f'<a href="{url(f"/tasks/return/{t.id}")}">#{t.id} {e(t.title)}</a>',
            e(t.deadline),
            e(f"{t.total - t.done} 个单位"),
        ]
        for t in overdue
    ]
    body.append(h.table(["报送", "截止时间", "未报送"], rows, empty="没有逾期的报送。"))
    chart = [(p, o.by_platform[p]) for p in PLATFORMS if o.by_platform.get(p)]
    cats = [(c, o.by_category[c]) for c in CATEGORIES if o.by_category.get(c)]
    body.append(
        '<div class="grid2"><div><h2>账号平台分布</h2>'
        f'<div class="panel">{h.bar_chart(chart)}</div></div>'
        f'<div><h2>单位类别</h2><div class="panel">{h.bar_chart(cats, color="#0d9488")}</div></div></div>'
    )
    return "".join(body)


def _match_unit(u: Any, q: str) -> bool:
    q = q.strip().lower()
    if not q:
        return True
    hay = [u.name, u.city, u.category, *u.aliases]
    return any(q in x.lower() for x in hay) or (q.isascii() and q.isalpha() and q in initials(u.name))


@page("/units", "单位", "units")
async def units_page(request: Request, app: App, s: Session) -> str:
    q = request.query_params.get("q", "")[:60]
    cat = request.query_params.get("cat", "")
    units = sorted([u for u in await app.units.all() if u in s.scope], key=reports.unit_key)
    chosen = [u for u in units if _match_unit(u, q) and (not cat or u.category == cat)]
    shown, page_no, pages = h.paginate(chosen, form_int(request.query_params.get("page")), PAGE_SIZE)
    ops = await app.units.registrations.operators_of(u.id for u in shown)
    accs = await app.reports.accounts(scope=s.scope)
    count: dict[int, int] = {}
    for a in accs:
        count[a.unit.id] = count.get(a.unit.id, 0) + 1
    rows = [
        [
            f'<a href="{url(f"/units/{u.id}")}">{e(u.name)}</a>',
            e("、".join(u.aliases)),
            e(u.category),
            e(u.city),
            e(h.num(u.students) if u.students else ""),
            e("、".join(person_name(o.name) for o in ops.get(u.id, []))) or '<span class="badge wait">无</span>',
            e(count.get(u.id, 0)),
        ]
        for u in shown
    ]
    return (
        "<h1>单位</h1>"
        f'<form class="filters" method="get" action="{url("/units")}">'
        f'<input type="search" name="q" value="{e(q)}" placeholder="名称、简称、地市或拼音首字母">'
        f'<select name="cat">{h.options(CATEGORIES, cat, blank="全部类别")}</select>'
        '<button type="submit">查找</button></form>'
        + h.table(
            ["名称", "简称", "类别", "地市", "在校生", "联络员", "账号"],
            rows,
            numeric=[4, 6],
            empty="没有符合条件的单位。",
        )
        + h.pager("/units", page_no, pages, len(chosen), q=q, cat=cat)
    )


@page("/units/{unit_id}", "单位详情", "units")
async def unit_page(request: Request, app: App, s: Session) -> str | Response:
    unit = await app.units.get(form_int(request.path_params.get("unit_id"), 0))
    if unit is None:
        return shell(s, "没有这个单位", h.message("没有这个单位。", ok=False), status=404)
    if unit not in s.scope:
        return refused(s, f"“{unit.name}”不在你的管理范围（{s.scope.label}）内，不能查看。")
    ops = await app.units.registrations.operators(unit.id)
    accs = [a for a in await app.reports.accounts(("正常", "待审核", "已注销"), s.scope) if a.unit.id == unit.id]
    fs = [f for f in await app.reports.filings(s.scope) if f.unit_id == unit.id]
    info = (
        '<dl class="kv">'
        f"<dt>类别</dt><dd>{e(unit.category)}</dd><dt>地市</dt><dd>{e(unit.city or '未填')}</dd>"
        f"<dt>简称</dt><dd>{e('、'.join(unit.aliases) or '无')}</dd>"
        f"<dt>在校生</dt><dd>{e(h.num(unit.students) if unit.students else '未填')}</dd></dl>"
    )
    op_rows = [[e(person_name(o.name)), e(o.user_id)] for o in ops]
    acc_rows = [
        [e(a.platform), e(a.name), e(a.uid), e(a.opened_on or ""), h.badge(a.state), e(h.num(a.followers))]
        for a in accs
    ]
    f_rows = [[e(f.id), e(f.kind), e(f"{f.platform} {f.account_name}"), h.badge(f.state), e(f.filed_at)] for f in fs]
    return (
        f"<h1>{e(unit.name)}</h1>"
        f'<div class="panel">{info}</div>'
        + await _unit_target(app, unit)
        + "<h2>联络员</h2>"
        + h.table(["姓名", "QQ"], op_rows, empty="没有联络员。")
        + "<h2>账号</h2>"
        + h.table(["平台", "账号名称", "账号ID", "开通日期", "状态", "粉丝"], acc_rows, numeric=[5], empty="没有账号。")
        + "<h2>统发与报送</h2>"
        + await _unit_history(app, unit.id, s)
        + "<h2>备案</h2>"
        + h.table(["编号", "类型", "账号", "状态", "提交时间"], f_rows, empty="没有备案。")
    )


async def _unit_target(app: App, unit: Any) -> str:
    """The unit's follower target and how far its accounts' latest counts are from it."""
    p = await app.followers.progress(unit)
    if not p.target.amount:
        return f'<h2>粉丝目标</h2><div class="panel">{e(p.target.rule)}；单位合计 {e(h.num(p.total))}。</div>'
    pct = f"{p.total / p.target.amount * 100:.1f}%"
    return (
        '<h2>粉丝目标</h2><div class="panel"><dl class="kv">'
        f"<dt>目标</dt><dd>{e(h.num(p.target.amount))}（{e(p.target.rule)}）</dd>"
        f"<dt>单位合计</dt><dd>{e(h.num(p.total))}（完成 {e(pct)}）</dd></dl>"
        f"{h.progress(min(p.total, p.target.amount), p.target.amount)}</div>"
    )


async def _unit_history(app: App, unit_id: int, s: Session) -> str:
    """Every 统发 and 报送 the unit owed: done when, late, or still owing (a city admin: not another city's)."""
    rows = []
    tasks = await app.reports.unit_tasks(unit_id, scope=s.scope)
    for t in tasks:
        path = "broadcast" if t.kind == "统发" else "return"
        if t.done_at:
            how = h.badge("逾期完成" if t.late else "已完成") + f' <span class="muted small">{e(t.done_at)}</span>'
        else:
            how = h.badge("已逾期" if t.overdue else ("未完成" if t.state != "进行中" else "进行中"))
        rows.append(
            [
                e(t.kind),
                f'<a href="{url(f"/tasks/{path}/{t.id}")}">#{t.id} {e(t.title)}</a>',
                e(t.deadline),
                h.badge(t.state),
                how,
            ]
        )
    done = sum(1 for t in tasks if t.done_at)
    summary = f'<p class="muted small">完成 {done}/{len(rows)}。</p>' if rows else ""
    return summary + h.table(
        ["类型", "任务", "截止时间", "任务状态", "本单位"], rows, empty="还没有需要本单位完成的统发或报送。"
    )


@page("/accounts", "账号", "accounts")
async def accounts_page(request: Request, app: App, s: Session) -> str:
    q = request.query_params.get("q", "")[:60].strip()
    platform = request.query_params.get("platform", "")
    state = request.query_params.get("state", "")
    states = ("正常", "待审核", "已注销", "已驳回")
    accs = await app.reports.accounts((state,) if state in states else ("正常", "待审核"), s.scope)
    ql = q.lower()
    chosen = [
        a
        for a in accs
        if (not platform or a.platform == platform)
        and (not ql or ql in a.name.lower() or ql in a.unit.name.lower() or ql in a.uid.lower() or ql in a.unit.city)
    ]
    shown, page_no, pages = h.paginate(chosen, form_int(request.query_params.get("page")), PAGE_SIZE)
    rows = [
        [
            f'<a href="{url(f"/units/{a.unit.id}")}">{e(a.unit.name)}</a>',
            e(a.platform),
            e(a.name),
            e(a.uid),
            e(a.opened_on or ""),
            h.badge(a.state),
            e(h.num(a.followers)),
            e(a.last_post),
        ]
        for a in shown
    ]
    return (
        "<h1>账号</h1>"
        f'<form class="filters" method="get" action="{url("/accounts")}">'
        f'<input type="search" name="q" value="{e(q)}" placeholder="账号名称、单位、账号ID">'
        f'<select name="platform">{h.options(PLATFORMS, platform, blank="全部平台")}</select>'
        f'<select name="state">{h.options(states, state, blank="在运行和审核中")}</select>'
        '<button type="submit">查找</button></form>'
        + h.table(
            ["单位", "平台", "账号名称", "账号ID", "开通日期", "状态", "粉丝", "最近更新"],
            rows,
            numeric=[6],
            empty="没有符合条件的账号。",
        )
        + h.pager("/accounts", page_no, pages, len(chosen), q=q, platform=platform, state=state)
    )


KIND_PATHS = {"broadcast": "统发", "return": "报送"}


@page("/tasks", "统发与报送", "tasks")
async def tasks_page(request: Request, app: App, s: Session) -> str:
    body = ["<h1>统发与报送</h1>", scope_note(s)]
    for path, kind in KIND_PATHS.items():
        body.append(f"<h2>{e(kind)}</h2>")
        lines = await app.reports.tasks(kind, include_closed=True, scope=s.scope)
        rows = [
            [
                f'<a href="{url(f"/tasks/{path}/{t.id}")}">#{t.id} {e(t.title)}</a>',
                h.badge(t.state) + (" " + h.badge("已逾期") if t.overdue else ""),
                e(t.deadline),
                h.progress(t.done, t.total, late=t.overdue),
                e(h.pct_text(t.done, t.total)),
            ]
            for t in lines
        ]
        body.append(
            h.table(["任务", "状态", "截止时间", "进度", "完成"], rows, numeric=[4], empty=f"还没有{kind}任务。")
        )
    return "".join(body)


@page("/tasks/{kind}/{task_id}", "任务进度", "tasks")
async def task_page(request: Request, app: App, s: Session) -> str | Response:
    kind = KIND_PATHS.get(request.path_params.get("kind", ""))
    if kind is None:
        return shell(s, "没有这个任务", h.message("没有这个任务。", ok=False), status=404)
    try:
        t = await app.reports.task(kind, form_int(request.path_params.get("task_id"), 0), s.scope)
    except Forbidden as err:
        return refused(s, str(err))
    except UserError as err:
        return shell(s, "没有这个任务", h.message(str(err), ok=False), status=404)
    verb = "确认" if kind == "统发" else "报送"
    info = [f"<dt>状态</dt><dd>{h.badge(t.state)}{' ' + h.badge('已逾期') if t.overdue else ''}</dd>"]
    info.append(f"<dt>截止</dt><dd>{e(t.deadline)}</dd>")
    if t.link.startswith(("https://", "http://")):
        info.append(
            f'<dt>链接</dt><dd><a href="{e(t.link)}" rel="noopener noreferrer" target="_blank">{e(t.link)}</a></dd>'
        )
    elif t.link:
        info.append(f"<dt>链接</dt><dd>{e(t.link)}</dd>")
    if t.note:
        info.append(f"<dt>说明</dt><dd>{e(t.note)}</dd>")
    info.append(
        f"<dt>进度</dt><dd>{h.progress(len(t.done), t.total, late=t.overdue)}{e(h.pct_text(len(t.done), t.total))}</dd>"
    )
    done_rows = [
        [e(d.unit.name), e(d.unit.category), e(d.by), e(d.at), h.badge("逾期") if d.late else "", e(d.note)]
        for d in t.done
    ]
    groups: dict[str, list[str]] = {}
    for u in sorted(t.missing, key=reports.unit_key):
        groups.setdefault(u.category, []).append(u.name)
    missing = "".join(
        f"<h3 class='small'>{e(cat)}（{len(names)}）</h3><p>{e('、'.join(names))}</p>" for cat, names in groups.items()
    )
    export_form = (
        f'<form class="inline" method="post" action="{url("/exports")}">{h.hidden_csrf(s.csrf)}'
        f'<input type="hidden" name="kind" value="{e(kind)}"><input type="hidden" name="task" value="{t.id}">'
        '<button type="submit" class="light">导出 Excel</button></form>'
    )
    return (
        f"<h1>{e(kind)} #{t.id} {e(t.title)}</h1>"
        f'<div class="panel"><dl class="kv">{"".join(info)}</dl><p>{export_form}</p></div>'
        f"<h2>已{verb}（{len(t.done)}）</h2>"
        + h.table(["单位", "类别", f"{verb}人", f"{verb}时间", "逾期", "备注"], done_rows, empty=f"还没有单位{verb}。")
        + f"<h2>未{verb}（{len(t.missing)}）</h2>"
        + f'<div class="panel">{missing or "<p class=muted>全部完成。</p>"}</div>'
        + (await _return_files(app, t.id, s) if kind == "报送" else "")
    )


async def _return_files(app: App, return_id: int, s: Session) -> str:
    from plugins.dashboard.return_files import section  # it registers routes on this module's router

    return await section(app, return_id, s)


@page("/followers", "粉丝排行", "followers")
async def followers_page(request: Request, app: App, s: Session) -> str:
    platform = request.query_params.get("platform", "")
    cat = request.query_params.get("cat", "")
    period = request.query_params.get("period", "本月")
    if period not in ("本月", "上月"):
        period = "本月"
    body = ["<h1>粉丝排行</h1>"]
    ranked = await app.reports.ranking(
        platform if platform in PLATFORMS else "", cat if cat in CATEGORIES else "", period, s.scope
    )
    body.append(
        f'<form class="filters" method="get" action="{url("/followers")}">'
        f'<select name="platform">{h.options(PLATFORMS, platform, blank="全部平台")}</select>'
        f'<select name="cat">{h.options(CATEGORIES, cat, blank="全部类别")}</select>'
        f'<select name="period">{h.options(("上月",), period, blank="本月")}</select>'
        '<button type="submit">查看</button></form>'
        f'<p class="muted small">{e(ranked.scope)} · {e(ranked.period)} · 已报告 {len(ranked.rows)}/{ranked.units_in_scope} 个单位。'
        "按单位排名，不排个人。</p>"
    )
    top = ranked.rows[:15]
    growth = sorted((r for r in ranked.rows if r.growth is not None), key=lambda r: (-(r.growth or 0), r.unit.name))[
        :15
    ]
    none = f'<p class="muted">{e(ranked.period)}还没有单位报送粉丝数。</p>'
    growth_none = f'<p class="muted">{e(ranked.period)}还没有可以计算增长的报送（需要上月也报送过）。</p>'
    body.append(
        '<div class="grid2">'
        f'<div><h2>{f"粉丝数前 {len(top)} 名" if top else "粉丝数排行"}</h2><div class="panel">'
        f"{h.bar_chart([(f'{r.rank}. {r.unit.name}', r.count) for r in top]) if top else none}</div></div>"
        f'<div><h2>{f"增长前 {len(growth)} 名" if growth else "增长排行"}</h2><div class="panel">'
        f"{h.bar_chart([(r.unit.name, r.growth or 0) for r in growth], color='#16a34a') if growth else growth_none}"
        "</div></div></div>"
    )
    rows = [
        [
            e(r.rank),
            f'<a href="{url(f"/units/{r.unit.id}")}">{e(r.unit.name)}</a>',
            e(r.unit.category),
            e(h.num(r.count)),
            e("—" if r.growth is None else f"{r.growth:+,}"),
            e(h.num(r.target)),
            (h.progress(min(r.count, r.target), r.target) + e(f"{r.count / r.target * 100:.1f}%")) if r.target else "",
        ]
        for r in ranked.rows
    ]
    body.append("<h2>全部排名</h2>")
    body.append(
        h.table(
            ["名次", "单位", "类别", "粉丝数", "增长", "目标", "目标进度"],
            rows,
            numeric=[0, 3, 4, 5],
            empty="这个范围还没有粉丝数报告。",
        )
    )
    return "".join(body)


@page("/audit", "操作记录", "audit")
async def audit_page(request: Request, app: App, s: Session) -> str:
    page_no = max(1, form_int(request.query_params.get("page")))
    mine = (s.actor, s.person) if s.person else (s.actor,)
    entries, total = await app.reports.audit_log(PAGE_SIZE, (page_no - 1) * PAGE_SIZE, s.scope, mine)
    pages = max(1, -(-total // PAGE_SIZE))
    names = await app.reports.people_names()
    rows = [
        [e(a.at), e(reports.actor_name(a.actor, names, app.settings.admins)), e(a.action), e(a.unit), e(a.detail)]
        for a in entries
    ]
    return (
        "<h1>操作记录</h1>"
        + scope_note(s)
        + h.table(["时间", "操作人", "操作", "单位", "内容"], rows, empty="还没有记录。")
        + h.pager("/audit", min(page_no, pages), pages, total)
    )
