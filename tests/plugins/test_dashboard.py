"""The web dashboard through NoneBot's own FastAPI app: access control, escaping, import and export logged."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import nonebot
import pytest
from openpyxl import load_workbook

from bot import clock
from bot.app import App, set_app
from bot.errors import UserError
from tests.conftest import ROOT, make_settings


def _web():
    """The dashboard module (imported late: NoneBot must be initialised first)."""
    from plugins.dashboard import web

    return web


ROSTER = ROOT / "bot" / "data" / "roster-henan.csv"
TOKEN = "s3cret-令牌-token-2026"
PAGES = [
    "/dashboard",
    "/dashboard/units",
    "/dashboard/units/1",
    "/dashboard/accounts",
    "/dashboard/tasks",
    "/dashboard/followers",
    "/dashboard/import",
    "/dashboard/exports",
    "/dashboard/audit",
    "/dashboard/filings",
]


async def _app(tmp_path: Path, token: str) -> App:
    app = App(make_settings(tmp_path, dashboard_token=token))
    await app.open()
    set_app(app)
    _web().reset()
    return app


@asynccontextmanager
async def dashboard_app(tmp_path: Path, token: str) -> AsyncIterator[App]:
    """A core App on a fresh database whose dashboard opens with `token`; the web state is reset before and after."""
    app = await _app(tmp_path, token)
    try:
        yield app
    finally:
        set_app(None)
        _web().reset()
        await app.db.close()
        clock.reset()


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[App]:
    async with dashboard_app(tmp_path, TOKEN) as app:
        await app.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
        yield app


def client() -> httpx.AsyncClient:
    server = nonebot.get_driver().server_app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://testserver")


async def login(c: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await c.post("/dashboard/login", data={"token": token})


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


async def audit_rows(app: App) -> list[dict]:
    async with app.db.read() as tx:
        return [dict(r) for r in await tx.all("SELECT actor, action, detail FROM audit ORDER BY id")]


async def test_disabled_without_token(tmp_path: Path) -> None:
    app = await _app(tmp_path, "")
    try:
        async with client() as c:
            for path in [*PAGES, "/dashboard/login"]:
                r = await c.get(path)
                assert r.status_code == 404, path
            r = await c.post("/dashboard/login", data={"token": ""})
            assert r.status_code == 404
    finally:
        set_app(None)
        await app.db.close()


async def test_no_data_before_login(dash: App) -> None:
    async with client() as c:
        for path in PAGES:
            r = await c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"] == "/dashboard/login"
            assert "郑州大学" not in r.text and r.text == ""
        r = await c.get("/dashboard/login")
        assert r.status_code == 200 and "郑州大学" not in r.text and 'type="password"' in r.text
        r = await c.post("/dashboard/import", files={"file": ("r.csv", "名称,类别\n新单位,高中\n".encode())})
        assert r.status_code == 403 and "郑州大学" not in r.text
        r = await c.post("/dashboard/exports", data={"kind": "统计表"})
        assert r.status_code == 403
    assert await dash.units.find("新单位") is None
    assert not (dash.settings.data_dir / "exports").exists()


async def test_forged_cookie_is_refused(dash: App) -> None:
    async with client() as c:
        c.cookies.set(_web().COOKIE, "not-a-session", path="/dashboard")
        r = await c.get("/dashboard/units")
        assert r.status_code == 303 and "郑州大学" not in r.text


async def test_wrong_token_refused(dash: App) -> None:
    async with client() as c:
        for bad in ("wrong", "", TOKEN + "x", TOKEN[:-1]):
            r = await login(c, bad)
            assert r.status_code == 401, bad
            assert "set-cookie" not in r.headers
            assert "令牌不正确" in r.text and "郑州大学" not in r.text
        r = await c.get("/dashboard")
        assert r.status_code == 303


async def test_token_in_query_string_does_not_log_in(dash: App) -> None:
    async with client() as c:
        r = await c.get("/dashboard", params={"token": TOKEN})
        assert r.status_code == 303
        r = await c.get("/dashboard/login", params={"token": TOKEN})
        assert "set-cookie" not in r.headers


async def test_login_sets_httponly_cookie_and_keeps_token_out_of_urls(dash: App) -> None:
    async with client() as c:
        r = await login(c)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/dashboard" in cookie
        assert TOKEN not in cookie
        for path in PAGES:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            assert TOKEN not in r.text and TOKEN not in str(r.url)
            for link in re.findall(r'(?:href|action)="([^"]*)"', r.text):
                assert TOKEN not in link
            assert "script-src" not in r.headers["content-security-policy"]  # default-src 'none': no scripts
            assert r.headers["cache-control"] == "no-store"
        r = await c.get("/dashboard/units", params={"q": "郑大"})
        assert "郑州大学" in r.text
    actions = [a["action"] for a in await audit_rows(dash)]
    assert "后台登录" in actions


async def test_user_text_is_escaped(dash: App) -> None:
    await dash.units.add("<script>alert(1)</script>", "高中", "郑州", actor="t")
    with pytest.raises(UserError, match="地市"):  # a city like this is refused now; one stored before is escaped
        await dash.units.add("[CQ:at,qq=all]", "高中", '"><img src=x>', actor="t")
    u = await dash.units.add("[CQ:at,qq=all]", "高中", "郑州", actor="t")
    async with dash.db.tx() as tx:
        await tx.run("UPDATE units SET city=? WHERE id=?", ('"><img src=x>', u.id))
    dash.units.invalidate()
    async with client() as c:
        await login(c)
        for path in ("/dashboard/units", "/dashboard/audit", "/dashboard/units?q=%3Cscript"):
            r = await c.get(path)
            assert "<script>" not in r.text
            assert '"><img' not in r.text
            assert "<img" not in r.text
        r = await c.get("/dashboard/units")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
        assert "[CQ:at,qq=all]" in r.text
        r = await c.get("/dashboard/units", params={"q": '"><b>x'})
        assert '"><b>x' not in r.text and "&quot;&gt;&lt;b&gt;x" in r.text


async def test_roster_import_is_logged_and_idempotent(dash: App) -> None:
    data = ROSTER.read_bytes()
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post(
            "/dashboard/import", data={"csrf": csrf}, files={"file": ("roster-henan.csv", data, "text/csv")}
        )
        assert r.status_code == 200
        assert "已导入 roster-henan.csv" in r.text and "新增" in r.text
        count = len(await dash.units.all())
        assert count > 100
        r = await c.post(
            "/dashboard/import", data={"csrf": csrf}, files={"file": ("roster-henan.csv", data, "text/csv")}
        )
        assert "新增 0 个单位，更新 0 个" in r.text
        assert len(await dash.units.all()) == count
    imports = [a for a in await audit_rows(dash) if a["action"] == "导入名册"]
    assert len(imports) == 2
    assert all(re.fullmatch(r"dashboard:office-[0-9a-f]{8}", a["actor"]) for a in imports)
    assert "roster-henan.csv" in imports[0]["detail"]


async def test_import_xlsx_and_bad_file(dash: App) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["名称", "类别", "地市"])
    wb.active.append(["郑州市第九中学", "高中", "郑州"])
    buf = io.BytesIO()
    wb.save(buf)
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": ("名册.xlsx", buf.getvalue())})
        assert "新增 1 个单位" in r.text
        r = await c.post(
            "/dashboard/import",
            data={"csrf": csrf},
            files={"file": ("bad.csv", "名称,类别\n某校,不存在的类别\n".encode())},
        )
        assert "名册有误" in r.text and "msg err" in r.text
        r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": ("x.exe", b"MZ")})
        assert "不是 CSV" in r.text
    assert await dash.units.find("郑州市第九中学") is not None
    assert await dash.units.find("某校") is None


async def test_import_names_an_alias_that_takes_over_another_unit_on_its_row(dash: App) -> None:
    await dash.units.add("河南大学", "本科高校", "开封", actor="t")
    text = "名称,类别,地市,别名\n河南农业大学,本科高校,郑州,河农;hndx\n"
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": ("r.csv", text.encode())})
    assert r.status_code == 200 and "新增 1 个单位" in r.text
    assert "1 个简称没有导入" in r.text and "第 2 行“hndx”" in r.text and "现在就指“河南大学”" in r.text
    assert (await dash.units.resolve("hndx")).name == "河南大学"
    assert (await dash.units.resolve("河农")).name == "河南农业大学"


async def test_post_without_csrf_is_refused(dash: App) -> None:
    async with client() as c:
        await login(c)
        r = await c.post("/dashboard/import", files={"file": ("r.csv", "名称,类别\n新单位,高中\n".encode())})
        assert r.status_code == 403
        r = await c.post("/dashboard/exports", data={"kind": "统计表", "csrf": "forged"})
        assert r.status_code == 403
    assert await dash.units.find("新单位") is None


async def test_export_button_downloads_xlsx_and_is_logged(dash: App) -> None:
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/exports")).text)
        r = await c.post("/dashboard/exports", data={"kind": "汇总表", "csrf": csrf})
        assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/exports/file/")
        r = await c.get(r.headers["location"])
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(r.content))
        assert wb.active["A4"].value == "序号" and wb.active["B5"].value == "郑州大学"
        r = await c.get("/dashboard/exports/file/..%2F..%2Falliance.db")
        assert r.status_code == 404
        r = await c.get("/dashboard/exports")
        assert "汇总表-" in r.text
    logged = [a for a in await audit_rows(dash) if a["action"] == "导出"]
    assert logged and logged[0]["actor"].startswith("dashboard:")


async def test_logout_ends_the_session(dash: App) -> None:
    async with client() as c:
        await login(c)
        page = await c.get("/dashboard")
        sid = c.cookies.get(_web().COOKIE)
        r = await c.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
        c.cookies.set(_web().COOKIE, sid or "", path="/dashboard")  # an old cookie replayed
        r = await c.get("/dashboard")
        assert r.status_code == 303


async def test_changed_token_logs_everyone_out(dash: App, tmp_path: Path) -> None:
    async with client() as c:
        await login(c)
        assert (await c.get("/dashboard")).status_code == 200
        other = App(make_settings(tmp_path, dashboard_token="another-token-2026-xyz"))
        other.db = dash.db
        other.units = dash.units
        set_app(other)
        assert (await c.get("/dashboard")).status_code == 303
        set_app(dash)


async def test_repeated_wrong_tokens_are_throttled(dash: App) -> None:
    async with client() as c:
        for _ in range(_web().FAIL_LIMIT):
            assert (await login(c, "nope")).status_code == 401
        r = await login(c)
        assert r.status_code == 429 and "set-cookie" not in r.headers


async def test_task_and_ranking_pages_show_progress(dash: App) -> None:
    from datetime import timedelta

    from bot.broadcasts.records import Draft
    from bot.returns.records import NewReturn

    await dash.units.add("河南大学", "本科高校", "开封", actor="t")
    for qq, who, unit in (("20001", "张三", "郑州大学"), ("20002", "李四", "河南大学")):
        a, _ = await dash.units.registrations.apply(qq, who, None, unit)
        await dash.units.registrations.approve([a.id], actor="t")
    f = await dash.accounts.file_opening("20001", "张三", "微信", "郑州大学")
    await dash.accounts.approve([f.id], actor="t")
    await dash.followers.report("20001", ["微信"], "1.2万")
    now = clock.now()
    draft = Draft("转发<b>新闻</b>", "https://example.com/a?x=1&y=2", now + timedelta(hours=3), ("转发",), ())
    task = (await dash.broadcasts.create(draft, actor="t")).task
    await dash.broadcasts.confirm("20002", "李四", task.id)
    ret = (await dash.returns.create(NewReturn("年度统计表", now + timedelta(days=1), "", ""), actor="t")).ret
    async with client() as c:
        await login(c)
        r = await c.get("/dashboard")
        assert "转发&lt;b&gt;新闻&lt;/b&gt;" in r.text and "1/2（50.0%）" in r.text and "年度统计表" in r.text
        r = await c.get("/dashboard/tasks")
        assert r.status_code == 200 and "0/2（0.0%）" in r.text
        r = await c.get(f"/dashboard/tasks/broadcast/{task.id}")
        assert "李四（20002）" in r.text and "未确认（1）" in r.text and "郑州大学" in r.text
        assert 'href="https://example.com/a?x=1&amp;y=2"' in r.text
        r = await c.get(f"/dashboard/tasks/return/{ret.id}")
        assert "未报送（2）" in r.text
        r = await c.get("/dashboard/tasks/return/99")
        assert r.status_code == 404 and "没有编号为 99" in r.text
        r = await c.get("/dashboard/tasks/nothing/1")
        assert r.status_code == 404
        r = await c.get("/dashboard/followers")
        assert "郑州大学" in r.text and "12,000" in r.text and "<svg" in r.text
        r = await c.get("/dashboard/followers", params={"platform": "抖音", "period": "上月"})
        assert r.status_code == 200 and "郑州大学" not in r.text.split("全部排名")[1]


async def test_concurrent_wrong_tokens_are_all_counted(dash: App) -> None:
    import asyncio

    go = asyncio.Event()
    started = 0

    async def body(i: int) -> AsyncIterator[bytes]:
        nonlocal started
        started += 1
        await go.wait()  # every request is in flight before any body arrives
        yield f"token=nope-{i}".encode()

    async def guess(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.post(
            "/dashboard/login", content=body(i), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    async with client() as c:
        tasks = [asyncio.create_task(guess(c, i)) for i in range(40)]
        while started + sum(t.done() for t in tasks) < len(tasks):  # each one waits for its body, or was answered
            await asyncio.sleep(0.01)
        go.set()
        codes = [r.status_code for r in await asyncio.gather(*tasks)]
        assert codes.count(401) == _web().FAIL_LIMIT and codes.count(429) == 40 - _web().FAIL_LIMIT, codes
        assert (await login(c)).status_code == 429


async def test_forwarded_for_is_not_trusted_unless_configured(dash: App, tmp_path: Path) -> None:
    async with client() as c:
        for i in range(_web().FAIL_LIMIT):
            r = await c.post("/dashboard/login", data={"token": "nope"}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
            assert r.status_code == 401
        r = await c.post("/dashboard/login", data={"token": TOKEN}, headers={"X-Forwarded-For": "10.9.9.9"})
        assert r.status_code == 429
    # behind a configured proxy, the forwarded address is the one counted
    proxied = App(make_settings(tmp_path, dashboard_token=TOKEN, dashboard_trusted_proxies=["127.0.0.1"]))
    proxied.db, proxied.units, proxied.reports = dash.db, dash.units, dash.reports
    set_app(proxied)
    _web().reset()
    try:
        transport = httpx.ASGITransport(app=nonebot.get_driver().server_app, client=("127.0.0.1", 5000))  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for _ in range(_web().FAIL_LIMIT):
                r = await c.post("/dashboard/login", data={"token": "x"}, headers={"X-Forwarded-For": "6.6.6.6"})
                assert r.status_code == 401
            assert (
                await c.post("/dashboard/login", data={"token": TOKEN}, headers={"X-Forwarded-For": "6.6.6.6"})
            ).status_code == 429
            ok = await c.post("/dashboard/login", data={"token": TOKEN}, headers={"X-Forwarded-For": "7.7.7.7"})
            assert ok.status_code == 303
    finally:
        set_app(dash)


def test_a_short_dashboard_token_stops_the_bot_naming_the_key(tmp_path: Path) -> None:
    from bot.config import ConfigError, load_settings

    for bad in ("x", "short-token", " padded-token-2026-abc "):
        with pytest.raises(ConfigError, match="DASHBOARD_TOKEN"):
            load_settings(None, {"DASHBOARD_TOKEN": bad})
    with pytest.raises(ConfigError, match="DASHBOARD_TRUSTED_PROXIES"):
        load_settings(None, {"DASHBOARD_TRUSTED_PROXIES": '["proxy.example"]'})
    assert load_settings(None, {"DASHBOARD_TOKEN": ""}).dashboard_token == ""


async def test_malformed_requests_get_a_4xx(dash: App) -> None:
    many = "&".join(f"f{i}=1" for i in range(60))
    async with client() as c:
        r = await c.post(
            "/dashboard/login", content=many, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert r.status_code == 400
        r = await c.post("/dashboard/login", content=b"token=\xff\xfe\x00", headers={"Content-Type": "x"})
        assert r.status_code == 401
        r = await c.post("/dashboard/login", content=b"token=" + b"a" * 100_000)
        assert r.status_code == 413
        await login(c)
        page = await c.get("/dashboard/exports")
        r = await c.post("/dashboard/logout", content=f"csrf={csrf_of(page.text)}&{many}")
        assert r.status_code == 400
        for path in (
            "/dashboard/units/99999999999999999999999",
            "/dashboard/units?page=1e999999",
            "/dashboard/units?page=-99999999999999999999",
        ):
            r = await c.get(path)
            assert r.status_code < 500, path


async def test_a_bad_roster_upload_is_a_clear_4xx(dash: App) -> None:
    huge = '名称,类别,地市\n郑州大学,本科高校,"' + "x" * 200_000 + '"\n'
    injected = '名称,类别,地市\n郑州大学,本科高校,"郑州\n【通知】今晚报送"\n'
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        for name, data in (("big.csv", huge.encode()), ("inject.csv", injected.encode()), ("x.exe", b"MZ")):
            r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": (name, data)})
            assert r.status_code == 400 and "msg err" in r.text, (name, r.status_code)
        r = await c.post("/dashboard/import", content=b"garbage", headers={"Content-Type": "multipart/form-data"})
        assert r.status_code == 400
    assert await dash.units.all() == [await dash.units.get(1)]  # only the fixture's unit


async def test_pages_say_who_did_what_link_the_pending_filings_and_show_a_units_history(dash: App) -> None:
    """Issue 13 item 27: session id in the header, bare QQ numbers, a card that is no link, 前 0 名, a thin unit page."""
    from bot.broadcasts.parse import parse_draft
    from bot.returns.parse import parse_new

    unit = await dash.units.resolve("郑州大学")
    a, _ = await dash.units.registrations.apply("20001", "郑大-张老师", None, "郑州大学")
    await dash.units.registrations.approve([a.id], actor="900001")
    await dash.accounts.file_opening("20001", "郑大-张老师", "微信公众号", "郑州大学")
    draft = parse_draft(["学习精神", "https://a.cn/1", "截止", "3天后"], clock.now(), dash.settings.broadcast_deadline)
    task = (await dash.broadcasts.create(draft, actor="900001")).task
    await dash.broadcasts.confirm("20001", "郑大-张老师", task.id)
    await dash.returns.create(parse_new(["统计表", "截止", "3天后"], clock.now()), actor="900001")
    async with client() as c:
        await login(c)
        home = (await c.get("/dashboard")).text
        s = next(iter(_web().sessions.values()))
        assert "已登录：新闻办管理员" in home and s.label not in home
        assert re.search(r'<a class="card warn" href="/dashboard/filings"><b>1</b><span>待审核备案</span></a>', home)
        filings = (await c.get("/dashboard/filings")).text
        assert "郑大-张老师" in filings and "微信公众号 郑州大学" in filings and "/备案 通过" in filings
        ranking = (await c.get("/dashboard/followers")).text
        assert "前 0 名" not in ranking and "还没有单位报送粉丝数" in ranking
        page = (await c.get(f"/dashboard/units/{unit.id}")).text
        assert "<h2>统发与报送</h2>" in page and f"#{task.id} 学习精神" in page and "#1 统计表" in page
        assert "已完成" in page and "完成 1/2" in page
        assert "<h2>粉丝目标</h2>" in page and "单位合计" in page
        audit = (await c.get("/dashboard/audit")).text
        assert "郑大-张老师（20001）" in audit and "<td>20001</td>" not in audit
        assert "管理员（网页后台）" in audit and s.label not in audit


def test_an_office_session_whose_label_is_all_digits_is_never_shown_as_a_person() -> None:
    """One office login in ~40 showed its session label in the audit log: a label of eight digits (token_hex) was
    taken for a QQ id (`dashboard:12345678`)."""
    from bot.readouts.reports import actor_name
    from plugins.dashboard.web import Session

    s = Session("secret-id", "12345678", "csrf", "digest")
    assert actor_name(s.actor, {}, frozenset()) == "管理员（网页后台）"
    assert actor_name("dashboard:900001", {"900001": "新闻办小王"}, frozenset({"900001"})).endswith("（网页后台）")
