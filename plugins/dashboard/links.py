"""A person behind every login (issue 24.1): `/后台` in a private chat gives an admin a single-use link that expires
in LINK_SECONDS, bound to their QQ id and scope. Opening it shows one button (a link previewer's GET spends
nothing); pressing it spends the link and starts a session that names the person in the audit log."""

from __future__ import annotations

import secrets
import time

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from bot.roles import Scope
from plugins.dashboard import html as h
from plugins.dashboard.forms import MAX_FORM, BadForm, parse_form, read_body
from plugins.dashboard.html import e, url
from plugins.dashboard.web import (
    COOKIE,
    MAX_SECONDS,
    Session,
    configured_token,
    current_app,
    digest_token,
    not_found,
    page_response,
    redirect,
    router,
    sessions,
)

LINK_SECONDS = 600


class Links:
    """The links handed out and not yet used: code → (QQ id, scope, when it expires)."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[str, Scope, float]] = {}

    def issue(self, person: str, scope: Scope) -> str:
        now = time.monotonic()
        for code in [c for c, (_, _, until) in self._open.items() if until <= now]:
            del self._open[code]
        code = secrets.token_urlsafe(24)
        self._open[code] = (person, scope, now + LINK_SECONDS)
        return code

    def spend(self, code: str) -> tuple[str, Scope] | None:
        """The person and scope of a link still good; it is gone afterwards (single use)."""
        found = self._open.pop(code, None)
        if found is None or found[2] <= time.monotonic():
            return None
        return found[0], found[1]


LINKS = Links()


def _gone() -> Response:
    body = (
        '<div class="panel login"><h1>登录链接已失效</h1>'
        f"<p>链接只能用一次，{LINK_SECONDS // 60} 分钟内有效。请私聊机器人再发一次 /后台 领新的链接。</p></div>"
    )
    return page_response(h.layout("登录", body), 410)


@router.get("/enter", response_class=HTMLResponse)
async def enter_page(request: Request, c: str = "") -> Response:
    app = current_app()
    if not configured_token(app):
        return not_found()
    body = (
        '<div class="panel login"><h1>管理后台登录</h1>'
        f'<form method="post" action="{url("/enter")}" autocomplete="off">'
        f'<input type="hidden" name="c" value="{e(c)}">'
        '<button type="submit">登录</button></form>'
        '<p class="muted small">这个链接只能用一次。</p></div>'
    )
    return page_response(h.layout("登录", body))


@router.post("/enter", response_class=HTMLResponse)
async def enter(request: Request) -> Response:
    app = current_app()
    token = configured_token(app)
    if not token or app is None:
        return not_found()
    body = await read_body(request, MAX_FORM)
    try:
        code = parse_form(body).get("c", "") if body is not None else ""
    except BadForm:
        code = ""
    found = LINKS.spend(code) if code else None
    if found is None:
        return _gone()
    person, scope = found
    s = Session(secrets.token_urlsafe(32), secrets.token_hex(4), secrets.token_urlsafe(24), digest_token(token))
    s.person, s.scope, s.office = person, scope, scope.everything
    sessions[s.sid] = s
    await app.reports.record(s.actor, "后台登录", f"{person} 用 /后台 链接登录（范围：{scope.label or '无'}）")
    resp = redirect("")
    resp.set_cookie(COOKIE, s.sid, max_age=MAX_SECONDS, path=BASE_PATH, httponly=True, samesite="strict")
    return resp


BASE_PATH = h.BASE
