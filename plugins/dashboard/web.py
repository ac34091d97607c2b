"""The dashboard's routes: login with the configured token, then read-mostly pages; every change is audited.

Access: with `DASHBOARD_TOKEN` empty every path answers 404. Otherwise every path but the login
page answers a redirect to it (with no data) until the token has been POSTed; the session id is
random, kept server-side, and set as an HttpOnly, SameSite=Strict cookie scoped to /dashboard.
The token never appears in a URL. Forms that change or make something carry a per-session CSRF
value. No page runs a script (the Content-Security-Policy forbids them).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bot import exports, reports
from bot.app import App, current_app
from bot.errors import UserError
from bot.parse import CATEGORIES, PLATFORMS
from bot.render import person_name
from bot.roster import import_roster
from bot.units.records import initials
from plugins.dashboard import html as h
from plugins.dashboard.html import e, url

BASE = h.BASE
COOKIE = "alliance_dashboard"
IDLE_SECONDS = 8 * 3600
MAX_SECONDS = 7 * 24 * 3600
MAX_FORM = 16 * 1024
MAX_UPLOAD = 5 * 1024 * 1024
PAGE_SIZE = 20
FAIL_WINDOW, FAIL_LIMIT = 600.0, 10

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Session:
    sid: str
    label: str
    csrf: str
    token_digest: bytes
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: the session's public label, never its secret id."""
        return f"dashboard:{self.label}"


_sessions: dict[str, Session] = {}
_failures: dict[str, list[float]] = {}


def reset() -> None:
    """Forget every session and failed login (tests)."""
    _sessions.clear()
    _failures.clear()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _token(app: App | None) -> str:
    return app.settings.dashboard_token if app is not None else ""


def _session(request: Request, app: App) -> Session | None:
    sid = request.cookies.get(COOKIE, "")
    if not sid:
        return None
    s = _sessions.get(sid)
    now = time.monotonic()
    if s is None:
        return None
    expired = now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS
    # a changed token logs everyone out
    if expired or not hmac.compare_digest(s.token_digest, _digest(_token(app))):
        _sessions.pop(sid, None)
        return None
    s.seen = now
    return s


def _headers(resp: Response) -> Response:
    for k, v in HEADERS.items():
        resp.headers[k] = v
    return resp


def page_response(body: str, status: int = 200) -> Response:
    return _headers(HTMLResponse(body, status_code=status))


def redirect(path: str) -> Response:
    return _headers(RedirectResponse(BASE + path, status_code=303))


def not_found() -> Response:
    return _headers(Response("Not Found", status_code=404, media_type="text/plain"))


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit`."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BadForm(ValueError):
    """A form that is not a small urlencoded form (too many fields, not text)."""


def parse_form(body: bytes) -> dict[str, str]:
    """A urlencoded form, first value of each field. Raises BadForm when it has more than 50 fields."""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50)
    except ValueError as e:
        raise BadForm(str(e)) from None
    return {k: v[0] for k, v in fields.items()}


_DISPOSITION = re.compile(r'(\w+\*?)="((?:[^"\\]|\\.)*)"|(\w+\*?)=([^;\s]+)')


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """`multipart/form-data` fields: name → (filename or None, bytes). Raises ValueError when malformed."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m or not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("not multipart/form-data")
    delimiter = b"--" + m.group(1).encode("latin-1")
    out: dict[str, tuple[str | None, bytes]] = {}
    parts = body.split(delimiter)
    if len(parts) < 3:
        raise ValueError("no parts")
    for part in parts[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without headers")
        data = data.removesuffix(b"\r\n")
        params: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                for pm in _DISPOSITION.finditer(value):
                    k = (pm.group(1) or pm.group(3)).lower()
                    params[k] = pm.group(2) if pm.group(1) else pm.group(4)
        name = params.get("name")
        if name is None:
            continue
        filename = params.get("filename")
        if "filename*" in params and params["filename*"].lower().startswith("utf-8''"):
            from urllib.parse import unquote

            filename = unquote(params["filename*"][7:])
        out[name] = (filename, data)
    return out


# ------------------------------------------------------------------ the router


router = APIRouter(prefix=BASE, include_in_schema=False)

Handler = Callable[[Request, App, Session], Awaitable[str | Response]]


def page(path: str, title: str, active: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Handler]:
    """Register a page that needs a login: no session → a redirect to the login page (POST: 403), no data."""

    def wrap(fn: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            app = current_app()
            if not _token(app):
                return not_found()
            assert app is not None
            s = _session(request, app)
            if s is None:
                if request.method != "GET":
                    return _headers(Response("请先登录。", status_code=403, media_type="text/plain; charset=utf-8"))
                return redirect("/login")
            result = await fn(request, app, s)
            if isinstance(result, Response):
                return _headers(result)
            return page_response(h.layout(title, result, active=active, csrf=s.csrf, who=LOGGED_IN_AS))

        endpoint.__name__ = f"dashboard_{active}_{fn.__name__}"
        router.add_api_route(path, endpoint, methods=list(methods), response_class=HTMLResponse)
        return fn

    return wrap


# Who the header says is logged in: the token is the news office's, so that is who (never the session's label)
LOGGED_IN_AS = "新闻办管理员"


def login_form(error: str = "", status: int = 200) -> Response:
    err = h.message(error, ok=False) if error else ""
    body = (
        f'<div class="panel login"><h1>管理后台登录</h1>{err}'
        f'<form method="post" action="{url("/login")}" autocomplete="off">'
        '<label for="token">登录令牌</label>'
        '<input id="token" type="password" name="token" required autofocus>'
        '<button type="submit">登录</button></form>'
        '<p class="muted small">令牌见机器人配置 DASHBOARD_TOKEN。</p></div>'
    )
    return page_response(h.layout("登录", body), status)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    app = current_app()
    if not _token(app):
        return not_found()
    assert app is not None
    if _session(request, app) is not None:
        return redirect("")
    return login_form()


def _client(request: Request, app: App) -> str:
    """The address a login is counted against: the peer, or, when the peer is a configured trusted proxy
    (DASHBOARD_TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not one. The server runs
    without uvicorn's proxy headers (`bot/__main__.py`), so the peer is the socket's."""
    peer = request.client.host if request.client else "?"
    trusted = set(app.settings.dashboard_trusted_proxies)
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    app = current_app()
    token = _token(app)
    if not token:
        return not_found()
    assert app is not None
    who = _client(request, app)
    now = time.monotonic()
    if len(_failures) > 1000:
        for ip in [ip for ip, ts in _failures.items() if not ts or now - ts[-1] >= FAIL_WINDOW]:
            del _failures[ip]
    # Each attempt is counted before the body is awaited, in the one list kept per address (never replaced),
    # so concurrent guesses are all counted; a right token takes its own attempt back.
    recent = _failures.setdefault(who, [])
    recent[:] = [t for t in recent if now - t < FAIL_WINDOW]
    if len(recent) >= FAIL_LIMIT:
        return login_form("登录失败次数太多，请 10 分钟后再试。", 429)
    recent.append(now)
    body = await read_body(request, MAX_FORM)
    if body is None:
        return login_form("表单太大。", 413)
    try:
        given = parse_form(body).get("token", "")
    except BadForm:
        return login_form("表单格式不对：只需填写登录令牌。", 400)
    # compare digests: constant time, and the token's length does not leak either
    if not given or not hmac.compare_digest(_digest(given), _digest(token)):
        return login_form("令牌不正确。", 401)
    with contextlib.suppress(ValueError):
        recent.remove(now)
    _purge()
    s = Session(secrets.token_urlsafe(32), secrets.token_hex(4), secrets.token_urlsafe(24), _digest(token))
    _sessions[s.sid] = s
    await reports.record(app, s.actor, "后台登录", f"来自 {who}")
    resp = redirect("")
    resp.set_cookie(COOKIE, s.sid, max_age=MAX_SECONDS, path=BASE, httponly=True, samesite="strict")
    return resp


def _purge() -> None:
    now = time.monotonic()
    for sid, s in list(_sessions.items()):
        if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
            _sessions.pop(sid, None)


async def _form(request: Request, s: Session) -> dict[str, str] | Response:
    """A POSTed urlencoded form whose CSRF value matches the session's (else a 403 response)."""
    body = await read_body(request, MAX_FORM)
    if body is None:
        return Response("表单太大。", status_code=413, media_type="text/plain; charset=utf-8")
    try:
        form = parse_form(body)
    except BadForm:
        return Response("表单格式不对，请刷新页面后重试。", status_code=400, media_type="text/plain; charset=utf-8")
    if not hmac.compare_digest(form.get("csrf", "").encode(), s.csrf.encode()):
        return Response("页面已过期，请刷新后重试。", status_code=403, media_type="text/plain; charset=utf-8")
    return form


@page("/logout", "退出", "logout", methods=("POST",))
async def logout(request: Request, app: App, s: Session) -> str | Response:
    form = await _form(request, s)
    if isinstance(form, Response):
        return form
    _sessions.pop(s.sid, None)
    await reports.record(app, s.actor, "后台退出")
    resp = redirect("/login")
    resp.delete_cookie(COOKIE, path=BASE, httponly=True, samesite="strict")
    return resp


def _int(value: str | None, default: int = 1) -> int:
    try:
        n = int(value or default)
    except ValueError:
        return default
    return n if abs(n) < 2**53 else default


# ------------------------------------------------------------------ overview


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


def _unavailable(kind: str) -> str:
    return f'<p class="muted">{e(kind)}功能{e(reports.NOT_AVAILABLE)}。</p>'


@router.get("/", response_class=HTMLResponse)
async def slash() -> Response:
    return redirect("") if _token(current_app()) else not_found()


@page("", "概览", "overview")
async def overview(request: Request, app: App, s: Session) -> str:
    o = await reports.overview(app)
    cards = [
        ("单位", o.units, False, url("/units")),
        ("联络员", o.operators, False, ""),
        ("在运行账号", o.accounts, False, url("/accounts")),
        ("没有联络员的单位", o.units_without_operator, o.units_without_operator > 0, ""),
        ("待审核备案", o.pending_filings, o.pending_filings > 0, url("/filings")),
        ("待审核注册", o.pending_applications, o.pending_applications > 0, ""),
    ]
    body = ["<h1>概览</h1>", '<div class="cards">']
    for label, value, warn, link in cards:
        inner = f"<b>{value:,}</b><span>{e(label)}</span>"
        cls = f"card{' warn' if warn else ''}"
        body.append(f'<a class="{cls}" href="{link}">{inner}</a>' if link else f'<div class="{cls}">{inner}</div>')
    body.append("</div>")
    for kind, path in (("统发", "broadcast"), ("报送", "return")):
        body.append(f"<h2>进行中的{kind}</h2>")
        if not reports.tasks_available(app, kind):
            body.append(f'<div class="panel">{_unavailable(kind)}</div>')
            continue
        lines = [t for t in await reports.tasks(app, kind, include_closed=False)]
        body.append(f'<div class="panel">{task_rows(lines, path)}</div>')
    body.append("<h2>逾期未完成的报送</h2>")
    if not reports.tasks_available(app, "报送"):
        body.append(f'<div class="panel">{_unavailable("报送")}</div>')
    else:
        overdue = [t for t in await reports.tasks(app, "报送", include_closed=False) if t.overdue]
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


# ------------------------------------------------------------------ units


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
    units = sorted(await app.units.all(), key=reports.unit_key)
    chosen = [u for u in units if _match_unit(u, q) and (not cat or u.category == cat)]
    shown, page_no, pages = h.paginate(chosen, _int(request.query_params.get("page")), PAGE_SIZE)
    ops = await app.units.operators_of(u.id for u in shown)
    accs = await reports.accounts(app)
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
    unit = await app.units.get(_int(request.path_params.get("unit_id"), 0))
    if unit is None:
        return page_response(h.layout("没有这个单位", h.message("没有这个单位。", ok=False), csrf=s.csrf), 404)
    ops = await app.units.operators(unit.id)
    accs = [a for a in await reports.accounts(app, ("正常", "待审核", "已注销")) if a.unit.id == unit.id]
    fs = [f for f in await reports.filings(app) if f.unit_id == unit.id]
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
        + await _unit_history(app, unit.id)
        + "<h2>备案</h2>"
        + h.table(["编号", "类型", "账号", "状态", "提交时间"], f_rows, empty="没有备案。")
    )


async def _unit_target(app: App, unit: Any) -> str:
    """The unit's follower target and how far its accounts' latest counts are from it."""
    followers = reports.service(app, "followers")
    if followers is None:
        return ""
    p = await followers.progress(unit)
    if not p.target.amount:
        return f'<h2>粉丝目标</h2><div class="panel">{e(p.target.rule)}；单位合计 {e(h.num(p.total))}。</div>'
    pct = f"{p.total / p.target.amount * 100:.1f}%"
    return (
        '<h2>粉丝目标</h2><div class="panel"><dl class="kv">'
        f"<dt>目标</dt><dd>{e(h.num(p.target.amount))}（{e(p.target.rule)}）</dd>"
        f"<dt>单位合计</dt><dd>{e(h.num(p.total))}（完成 {e(pct)}）</dd></dl>"
        f"{h.progress(min(p.total, p.target.amount), p.target.amount)}</div>"
    )


async def _unit_history(app: App, unit_id: int) -> str:
    """Every 统发 and 报送 the unit owed: done when, late, or still owing."""
    rows = []
    tasks = await reports.unit_tasks(app, unit_id)
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


# ------------------------------------------------------------------ filings

FILING_STATES = ("待审核", "已备案", "已驳回")


@page("/filings", "备案", "accounts")
async def filings_page(request: Request, app: App, s: Session) -> str:
    state = request.query_params.get("state", "待审核")
    state = state if state in FILING_STATES or state == "全部" else "待审核"
    fs = [f for f in await reports.filings(app) if state == "全部" or f.state == state]
    fs.reverse()  # newest first
    shown, page_no, pages = h.paginate(fs, _int(request.query_params.get("page")), PAGE_SIZE)
    rows = [
        [
            e(f.id),
            e(f.kind),
            f'<a href="{url(f"/units/{f.unit_id}")}">{e(f.unit_name)}</a>',
            e(f"{f.platform} {f.account_name}"),
            e(f.changes or f.uid),
            h.badge(f.state),
            e(f.filed_by),
            e(f.filed_at),
        ]
        for f in shown
    ]
    return (
        "<h1>备案</h1>"
        f'<form class="filters" method="get" action="{url("/filings")}">'
        f'<select name="state">{h.options(("已备案", "已驳回", "全部"), state, blank="待审核")}</select>'
        '<button type="submit">查看</button></form>'
        '<p class="muted small">在群里或私聊机器人审核：/备案 通过 &lt;编号…&gt;、/备案 驳回 &lt;编号&gt; [原因]。</p>'
        + h.table(
            ["编号", "类型", "单位", "账号", "内容", "状态", "提交人", "提交时间"], rows, empty=f"没有{state}的备案。"
        )
        + h.pager("/filings", page_no, pages, len(fs), state=state)
    )


# ------------------------------------------------------------------ accounts


@page("/accounts", "账号", "accounts")
async def accounts_page(request: Request, app: App, s: Session) -> str:
    q = request.query_params.get("q", "")[:60].strip()
    platform = request.query_params.get("platform", "")
    state = request.query_params.get("state", "")
    states = ("正常", "待审核", "已注销", "已驳回")
    accs = await reports.accounts(app, (state,) if state in states else ("正常", "待审核"))
    ql = q.lower()
    chosen = [
        a
        for a in accs
        if (not platform or a.platform == platform)
        and (not ql or ql in a.name.lower() or ql in a.unit.name.lower() or ql in a.uid.lower() or ql in a.unit.city)
    ]
    shown, page_no, pages = h.paginate(chosen, _int(request.query_params.get("page")), PAGE_SIZE)
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


# ------------------------------------------------------------------ tasks

KIND_PATHS = {"broadcast": "统发", "return": "报送"}


@page("/tasks", "统发与报送", "tasks")
async def tasks_page(request: Request, app: App, s: Session) -> str:
    body = ["<h1>统发与报送</h1>"]
    for path, kind in KIND_PATHS.items():
        body.append(f"<h2>{e(kind)}</h2>")
        if not reports.tasks_available(app, kind):
            body.append(f'<div class="panel">{_unavailable(kind)}</div>')
            continue
        lines = await reports.tasks(app, kind, include_closed=True)
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
        return page_response(h.layout("没有这个任务", h.message("没有这个任务。", ok=False), csrf=s.csrf), 404)
    try:
        t = await reports.task(app, kind, _int(request.path_params.get("task_id"), 0))
    except UserError as err:
        return page_response(h.layout("没有这个任务", h.message(str(err), ok=False), csrf=s.csrf), 404)
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


# ------------------------------------------------------------------ followers


@page("/followers", "粉丝排行", "followers")
async def followers_page(request: Request, app: App, s: Session) -> str:
    platform = request.query_params.get("platform", "")
    cat = request.query_params.get("cat", "")
    period = request.query_params.get("period", "本月")
    if period not in ("本月", "上月"):
        period = "本月"
    body = ["<h1>粉丝排行</h1>"]
    ranked = await reports.ranking(
        app, platform if platform in PLATFORMS else "", cat if cat in CATEGORIES else "", period
    )
    if ranked is None:
        body.append(f'<div class="panel">{_unavailable("粉丝数")}</div>')
        return "".join(body)
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


# ------------------------------------------------------------------ roster import


def _import_refused(s: Session, why: str, status: int = 400) -> Response:
    """The import page again with what was wrong, answered with a 4xx status."""
    body = import_form(s, h.message(why, ok=False))
    return page_response(h.layout("导入名册", body, active="import", csrf=s.csrf, who=s.label), status)


def import_form(s: Session, note: str = "") -> str:
    return (
        "<h1>导入名册</h1>"
        + note
        + '<div class="panel"><p>上传 CSV 或 Excel（.xlsx）名册。第一行为表头：<b>名称,类别,地市,别名,在校生</b>。'
        "同一个文件导入两次不会重复添加；有任何一行出错时，整份名册都不会导入。</p>"
        f'<form method="post" action="{url("/import")}" enctype="multipart/form-data">{h.hidden_csrf(s.csrf)}'
        '<p><input type="file" name="file" accept=".csv,.xlsx" required></p>'
        '<button type="submit">导入</button></form></div>'
    )


@page("/import", "导入名册", "import", methods=("GET", "POST"))
async def import_page(request: Request, app: App, s: Session) -> str | Response:
    if request.method == "GET":
        return import_form(s)
    body = await read_body(request, MAX_UPLOAD)
    if body is None:
        return _import_refused(s, f"文件太大（超过 {MAX_UPLOAD // 1024 // 1024} MB）。", 413)
    try:
        fields = parse_multipart(body, request.headers.get("content-type", ""))
    except ValueError:
        return _import_refused(s, "没有收到文件，请重新选择文件后上传。")
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


# ------------------------------------------------------------------ exports

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
        form = await _form(request, s)
        if isinstance(form, Response):
            return form
        kind = form.get("kind", "")
        task_id = _int(form.get("task"), 0) if kind in ("统发", "报送") else None
        try:
            if kind not in exports.KINDS:
                raise UserError("请选择要导出的表格。")
            made = await exports.export(app, kind, task_id, actor=s.actor)
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
        if not reports.tasks_available(app, kind):
            cards.append(f'<div class="panel"><b>{e(kind)}进度</b>{_unavailable(kind)}</div>')
            continue
        lines = (await reports.tasks(app, kind, include_closed=True))[:30]
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
    files = exports.list_exports(app)
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
        + note
        + f'<div class="exports">{"".join(cards)}</div>'
        + f'<h2>最近导出的文件</h2><p class="muted small">保存在服务器 {e(exports.export_dir(app))}</p>'
        + h.table(["文件", "大小", "时间"], rows, numeric=[1], empty="还没有导出过文件。")
    )


def _mtime(p: Path) -> Any:
    from datetime import datetime

    from bot import clock

    return datetime.fromtimestamp(p.stat().st_mtime, clock.tz())


@page("/exports/file/{name}", "下载", "exports")
async def export_file(request: Request, app: App, s: Session) -> str | Response:
    name = request.path_params.get("name", "")
    folder = exports.export_dir(app)
    path = folder / name
    if not _FILE_NAME.match(name) or path.parent != folder or not path.is_file():
        return page_response(h.layout("没有这个文件", h.message("没有这个文件。", ok=False), csrf=s.csrf), 404)
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name,
    )


# ------------------------------------------------------------------ audit log


@page("/audit", "操作记录", "audit")
async def audit_page(request: Request, app: App, s: Session) -> str:
    page_no = max(1, _int(request.query_params.get("page")))
    entries, total = await reports.audit_log(app, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    names = await reports.people_names(app)
    rows = [
        [e(a.at), e(reports.actor_name(a.actor, names, app.settings.admins)), e(a.action), e(a.unit), e(a.detail)]
        for a in entries
    ]
    return (
        "<h1>操作记录</h1>"
        + h.table(["时间", "操作人", "操作", "单位", "内容"], rows, empty="还没有记录。")
        + h.pager("/audit", min(page_no, pages), pages, total)
    )
