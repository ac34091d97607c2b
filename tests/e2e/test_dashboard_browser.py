"""The dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright, against the real bot.

Logs in, opens every page on a laptop-sized and a phone-sized screen, imports a roster, downloads an
export, and writes a screenshot of each page to tests/e2e/screenshots/. Skipped, with the reason,
when /usr/bin/chromium or the playwright module is missing (`make test` installs both where it can).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.qqsim import BotProcess  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"
ROSTER = ROOT / "bot" / "data" / "roster-henan.csv"
TOKEN = "e2e-dashboard-令牌"
ADMIN, GROUP = "900001", "100200300"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

if not Path(CHROMIUM).is_file():
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium fonts-noto-cjk); "
        "the browser test of the dashboard is skipped",
        allow_module_level=True,
    )
if importlib.util.find_spec("playwright") is None:
    pytest.skip(
        "the playwright module is not installed (pip install playwright; no `playwright install` needed, "
        "the test uses Debian's Chromium); the browser test of the dashboard is skipped",
        allow_module_level=True,
    )

from httpx import AsyncClient  # noqa: E402
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright  # noqa: E402
from playwright.async_api import Response as PwResponse  # noqa: E402

pytestmark = pytest.mark.asyncio


async def seed(data_dir: Path) -> None:
    """A realistic alliance in the bot's database before it starts: roster, operators, accounts, tasks, counts."""
    from bot import clock
    from bot.app import App
    from bot.broadcasts.records import Draft
    from bot.config import Settings
    from bot.returns.records import NewReturn
    from bot.roster import import_file

    settings = Settings(
        alliance_admins=[ADMIN],
        alliance_groups=[GROUP],
        alliance_data_dir=str(data_dir),
        dashboard_token=TOKEN,
    )
    app = App(settings)
    await app.open()
    try:
        now = clock.now()
        clock.freeze(now - timedelta(days=40))
        await import_file(app.units, ROSTER)
        units = [u for u in await app.units.all()][:40]
        platforms = ["微信", "微博", "抖音", "视频号"]
        filings = []
        for i, u in enumerate(units):
            qq = str(20001 + i)
            a, _ = await app.units.registrations.apply(qq, f"联络员{i + 1}", GROUP, u.name)
            await app.units.registrations.approve([a.id], actor=ADMIN)
            for p in platforms[: 1 + i % 3]:
                f = await app.accounts.file_opening(qq, f"联络员{i + 1}", p, f"{u.name}{'' if p == '微信' else p}")
                filings.append(f.id)
        await app.accounts.approve(filings[:-3], actor=ADMIN)
        await app.units.add("<script>alert('x')</script>", "高中", "郑州", actor=ADMIN)
        for i in range(25):
            await app.followers.report(str(20001 + i), ["微信"], str(8000 + i * 3731 % 50000))
        clock.freeze(now - timedelta(days=2))
        ret = await app.returns.create(
            NewReturn("2026年新媒体账号年度统计表", now - timedelta(days=1), "", "请按附件1格式填写"), actor=ADMIN
        )
        for i in range(0, 30, 2):
            await app.returns.submit(str(20001 + i), f"联络员{i + 1}", ret.ret.id, "已发邮箱")
        clock.freeze(now)
        for i in range(25):
            # made-up counts, some far from the first ones: recorded as if confirmed
            await app.followers.report(str(20001 + i), ["微信"], str(9000 + i * 5119 % 60000), confirmed=True)
        for title in ("转发：教育强省建设新闻发布会", "点赞评论：开学第一课"):
            draft = Draft(title, "https://mp.weixin.qq.com/s/demo", now + timedelta(days=1), ("转发", "点赞"), ())
            task = (await app.broadcasts.create(draft, actor=ADMIN)).task
            for i in range(0, 40, 1 + len(title) % 3):
                await app.broadcasts.confirm(str(20001 + i), f"联络员{i + 1}", task.id)
        await app.returns.create(NewReturn("春季开学宣传材料", now + timedelta(days=3), "", ""), actor=ADMIN)
    finally:
        clock.reset()
        await app.db.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotProcess]:
    data = tmp_path / "data"
    await seed(data)
    env = {
        "ALLIANCE_ADMINS": f'["{ADMIN}"]',
        "ALLIANCE_GROUPS": f'["{GROUP}"]',
        "ALLIANCE_DATA_DIR": str(data),
        "ALLIANCE_SEND_INTERVAL": "0",
        "DASHBOARD_TOKEN": TOKEN,
        "LOG_LEVEL": "INFO",
    }
    proc = BotProcess(tmp_path, env)
    await proc.start(timeout=90)
    try:
        yield proc
    finally:
        await proc.stop()


async def shot(page: Page, screen: str, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{screen}-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def watch(page: Page) -> list[str]:
    """Collect what went wrong in the page: script errors, CSP refusals, failed requests (but the bad login)."""
    problems: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            problems.append(m.text)

    def on_response(r: PwResponse) -> None:
        if r.status >= 400 and not (r.status == 401 and r.url.endswith("/login")):
            problems.append(f"{r.status} {r.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda err: problems.append(str(err)))
    page.on("response", on_response)
    return problems


async def visit(browser: Browser, base: str, screen: str, size: dict[str, int], tmp_path: Path) -> None:
    """Everything an admin does, on one screen size, with a screenshot of each page."""
    context = await browser.new_context(viewport=size, locale="zh-CN", accept_downloads=True)  # type: ignore[arg-type]
    page = await context.new_page()
    problems = watch(page)

    # before login: every page sends the browser to the login form, showing no data
    await page.goto(f"{base}/units")
    assert page.url == f"{base}/login"
    assert "郑州大学" not in await page.content()
    await page.fill("input[name=token]", "wrong")
    await page.click("button[type=submit]")
    assert "令牌不正确" in await page.inner_text("main")
    await shot(page, screen, "01-login")

    await page.fill("input[name=token]", TOKEN)
    await page.click("button[type=submit]")
    assert page.url == base and TOKEN not in page.url
    cookies = await context.cookies()
    assert cookies and all(c["httpOnly"] for c in cookies) and all(TOKEN not in c["value"] for c in cookies)
    assert "进行中的统发" in await page.inner_text("main")
    assert "逾期未完成的报送" in await page.inner_text("main")
    await shot(page, screen, "02-overview")

    pages = [
        ("03-units", "/units", "河南省教育厅"),
        ("04-units-search", "/units?q=hndx", "河南大学"),
        ("05-unit", "/units/2", "联络员"),
        ("06-accounts", "/accounts", "微信公众号"),
        ("07-tasks", "/tasks", "教育强省"),
        ("08-broadcast", "/tasks/broadcast/1", "未确认"),
        ("09-return", "/tasks/return/1", "已报送"),
        ("10-followers", "/followers", "粉丝数前"),
        ("11-audit", "/audit", "后台登录"),
    ]
    for name, path, expect in pages:
        resp = await page.goto(base + path)
        assert resp is not None and resp.status == 200, (path, resp and resp.status)
        text = await page.inner_text("main")
        assert expect in text, (path, text[:500])
        assert TOKEN not in page.url and TOKEN not in await page.content()
        await shot(page, screen, name)
        # nothing is wider than the screen (wide tables scroll inside their own box)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"] + 1, f"{screen} {path}: page is {width}px wide"
    # user text shows as text, never as markup
    await page.goto(f"{base}/units?q=script")
    assert "<script>alert('x')</script>" in await page.inner_text("main")

    # roster import through the form
    await page.goto(f"{base}/import")
    new_roster = tmp_path / f"新增学校-{screen}.csv"
    new_roster.write_text(
        f"名称,类别,地市,别名\n{screen}第九中学,高中,郑州,九中{screen}\n{screen}实验中学,高中,郑州,\n", encoding="utf-8"
    )
    await page.set_input_files("input[type=file]", str(new_roster))
    await page.click("main button[type=submit]")
    text = await page.inner_text("main")
    assert f"已导入 {new_roster.name}：新增 2 个单位" in text, text
    await shot(page, screen, "12-import")

    # an export button downloads the workbook
    await page.goto(f"{base}/exports")
    async with page.expect_download() as info:
        await page.click("form:has(input[value='统计表']) button")
    download = await info.value
    saved = tmp_path / f"{screen}-{download.suggested_filename}"
    await download.save_as(str(saved))
    assert download.suggested_filename.startswith("统计表-") and saved.stat().st_size > 4000
    await page.goto(f"{base}/exports")
    await shot(page, screen, "13-exports")

    await page.click("header button")
    assert page.url == f"{base}/login"
    await page.goto(base)
    assert page.url == f"{base}/login"
    assert not problems, problems
    await context.close()


async def test_dashboard_in_a_real_browser(bot: BotProcess, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{bot.port}/dashboard"
    # some Playwright calls (content, cookies, evaluate, close) wait without a timeout of their own: a browser
    # that hangs without crashing ends the test here instead of holding up the run
    async with asyncio.timeout(240), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for screen, size in SCREENS.items():
                await visit(browser, base, screen, size, tmp_path)
        finally:
            await browser.close()
    assert "Traceback" not in bot.log_text(), bot.log_tail(60)
    for screen in SCREENS:
        assert (SHOTS / f"{screen}-02-overview.png").is_file()
    async with AsyncClient() as http:  # the dashboard answers nothing once logged out
        r = await http.get(f"{base}/units", follow_redirects=False)
        assert r.status_code == 303 and "郑州大学" not in r.text
