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
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.app import App, current_app
from bot.roles import EVERYTHING, Scope
from plugins.dashboard import html as h
from plugins.dashboard.forms import MAX_FORM, BadForm, form_int, parse_form, read_body
from plugins.dashboard.html import e, url

BASE = h.BASE
COOKIE = "alliance_dashboard"
IDLE_SECONDS = 8 * 3600
MAX_SECONDS = 7 * 24 * 3600
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
    office: bool = True
    """The login is the news office's (the token is theirs): files are served whole; anyone else gets them through
    the privacy filter (`bot.privacy.for_audience`)."""
    person: str = ""  # the admin's QQ id, for a login through their own /后台 link (plugins/dashboard/links.py)
    scope: Scope = EVERYTHING  # the units that person may see and act on

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: the person (their QQ id), else the office's session by its public label
        (prefixed: a label of eight digits must not read as a QQ id), never its secret id."""
        return f"dashboard:{self.person}" if self.person else f"dashboard:office-{self.label}"

    @property
    def who(self) -> str:
        """Who the header says is logged in: the office for its token, else the person with their role and scope."""
        if not self.person:
            return LOGGED_IN_AS
        if self.scope.everything:
            return f"省级管理员 {self.person}"
        return f"市级管理员 {self.person}（{self.scope.label}）"


def shell(s: Session, title: str, body: str, *, active: str = "", status: int = 200) -> Response:
    """A page of the logged-in dashboard: who is logged in, and a menu of only what that person may use (a city
    admin is not offered the office's pages: `h.OFFICE_ONLY`)."""
    hidden = () if s.scope.everything else h.OFFICE_ONLY
    return page_response(h.layout(title, body, active=active, csrf=s.csrf, who=s.who, hidden=hidden), status)


def refused(s: Session, why: str) -> Response:
    """A page or download outside the session's scope: 403 with the reason, in Chinese."""
    return shell(s, "不在管理范围内", h.message(why, ok=False), status=403)


def scope_note(s: Session) -> str:
    """A line saying whose area a city admin's page shows (nothing for the whole province)."""
    if s.scope.everything:
        return ""
    return f'<p class="muted small">管理范围：{e(s.scope.label)}。这里只显示这个范围内的单位。</p>'


sessions: dict[str, Session] = {}  # the signed-in sessions by id (web.py and links.py open them)
_failures: dict[str, list[float]] = {}


def reset() -> None:
    """Forget every session and failed login (tests)."""
    sessions.clear()
    _failures.clear()


def digest_token(token: str) -> bytes:
    """What a session keeps of the token it signed in with, and what tokens are compared by."""
    return hashlib.sha256(token.encode()).digest()


def configured_token(app: App | None) -> str:
    """The dashboard's token from the settings (empty: the dashboard is closed)."""
    return app.settings.dashboard_token if app is not None else ""


def token_matches(app: App | None, given: str) -> bool:
    """Whether `given` is the dashboard's token (digests compared: constant time, the length does not leak); never
    with no token set. Also what /healthz and /metrics accept as `Authorization: Bearer` (plugins/status)."""
    token = configured_token(app)
    return bool(token and given) and hmac.compare_digest(digest_token(given), digest_token(token))


def _session(request: Request, app: App) -> Session | None:
    sid = request.cookies.get(COOKIE, "")
    if not sid:
        return None
    s = sessions.get(sid)
    now = time.monotonic()
    if s is None:
        return None
    expired = now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS
    # a changed token logs everyone out
    if expired or not hmac.compare_digest(s.token_digest, digest_token(configured_token(app))):
        sessions.pop(sid, None)
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


# ------------------------------------------------------------------ the router


router = APIRouter(prefix=BASE, include_in_schema=False)

Handler = Callable[[Request, App, Session], Awaitable[str | Response]]


def page(path: str, title: str, active: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Handler]:
    """Register a page that needs a login: no session → a redirect to the login page (POST: 403), no data."""

    def wrap(fn: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            app = current_app()
            if not configured_token(app):
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
            return shell(s, title, result, active=active)

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
    if not configured_token(app):
        return not_found()
    assert app is not None
    if _session(request, app) is not None:
        return redirect("")
    return login_form()


def client_address(request: Request, app: App) -> str:
    """The address a login is counted against: the peer, or, when the peer is a configured trusted proxy
    (DASHBOARD_TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not one. The server runs
    without uvicorn's proxy headers (`alliance/main.py`), so the peer is the socket's."""
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
    token = configured_token(app)
    if not token:
        return not_found()
    assert app is not None
    who = client_address(request, app)
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
    if not given or not hmac.compare_digest(digest_token(given), digest_token(token)):
        return login_form("令牌不正确。", 401)
    with contextlib.suppress(ValueError):
        recent.remove(now)
    _purge()
    s = Session(secrets.token_urlsafe(32), secrets.token_hex(4), secrets.token_urlsafe(24), digest_token(token))
    sessions[s.sid] = s
    await app.reports.record(s.actor, "后台登录", f"来自 {who}")
    resp = redirect("")
    resp.set_cookie(COOKIE, s.sid, max_age=MAX_SECONDS, path=BASE, httponly=True, samesite="strict")
    return resp


def _purge() -> None:
    now = time.monotonic()
    for sid, s in list(sessions.items()):
        if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
            sessions.pop(sid, None)


async def checked_form(request: Request, s: Session) -> dict[str, str] | Response:
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
    form = await checked_form(request, s)
    if isinstance(form, Response):
        return form
    sessions.pop(s.sid, None)
    await app.reports.record(s.actor, "后台退出")
    resp = redirect("/login")
    resp.delete_cookie(COOKIE, path=BASE, httponly=True, samesite="strict")
    return resp


# ------------------------------------------------------------------ overview


# ------------------------------------------------------------------ units


# ------------------------------------------------------------------ filings

FILING_STATES = ("待审核", "已备案", "已驳回")


@page("/filings", "备案", "accounts")
async def filings_page(request: Request, app: App, s: Session) -> str:
    state = request.query_params.get("state", "待审核")
    state = state if state in FILING_STATES or state == "全部" else "待审核"
    fs = [f for f in await app.reports.filings(s.scope) if state == "全部" or f.state == state]
    fs.reverse()  # newest first
    shown, page_no, pages = h.paginate(fs, form_int(request.query_params.get("page")), PAGE_SIZE)
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


# ------------------------------------------------------------------ tasks


# ------------------------------------------------------------------ followers


# ------------------------------------------------------------------ roster import


# ------------------------------------------------------------------ exports


# ------------------------------------------------------------------ audit log
