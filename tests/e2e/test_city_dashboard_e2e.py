"""Issue 24.1 over a real WebSocket and the bot's own web server, with the sample roster: a 郑州 city admin's `/后台`
link (asked for privately) logs them in once, and every page shows 郑州 only, names them, and offers nothing only
the office may use (导入名册 is not in their menu, and the page itself is refused with a Chinese sentence)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from sim.qqsim import BotProcess, QQClient
from tests.e2e.test_foundation import ADMIN, ENV, GROUP, TOKEN, import_roster_cli

CITY, OP_ZZ, OP_LY = 30001, 20001, 20002
DASHBOARD_TOKEN = "city-dashboard-e2e-令牌-0123456789"
LINK = "https://mp.weixin.qq.com/s/dash"
PAGES = [
    "",
    "/units",
    "/units?q=洛阳",
    "/accounts",
    "/filings?state=全部",
    "/tasks",
    "/followers",
    "/exports",
    "/audit",
]


async def test_a_city_admins_dashboard_link_shows_only_zhengzhou(tmp_path: Path) -> None:
    proc = BotProcess(tmp_path, {**ENV, "DASHBOARD_TOKEN": DASHBOARD_TOKEN, "ALLIANCE_PICTURES": "false"})
    client = QQClient(proc.url, token=TOKEN)
    try:
        await proc.start(timeout=40)
        done = await asyncio.to_thread(import_roster_cli, proc)
        assert done.returncode == 0, done.stderr
        await client.connect(timeout=15)
        reply = await client.ask(GROUP, ADMIN, f"/管理员 任命 {CITY} 郑州市教育局")
        assert " 为市级管理员" in reply.text, reply.text
        for qq, unit in ((OP_ZZ, "郑州市金水区教育局"), (OP_LY, "洛阳市西工区教育局")):
            number = re.search(r"#(\d+)", (await client.ask(GROUP, qq, f"/注册 {unit}")).text)
            assert number, unit
            assert "联络员" in (await client.ask(GROUP, ADMIN, f"/审核 通过 {number.group(1)}")).text
        client.mark()
        await client.group_message(GROUP, ADMIN, f"/统发 全省转发 {LINK}")
        await client.wait_sent(lambda s: "已发布统发 #1" in s.text, timeout=20)

        said = await client.ask_private(CITY, "/后台")
        assert "管理后台（郑州市教育局及其下级单位）" in said.text, said.text
        found = re.search(r"(http://[^\s/，。]+)/dashboard/enter\?c=([\w-]+)", said.text)
        assert found, said.text
        root, code = found.groups()
        base = f"{root}/dashboard"  # every path below is asked as base + path ("" is the overview)
        async with httpx.AsyncClient(timeout=15) as web:
            opened = await web.get(f"{base}/enter?c={code}")  # a link previewer's GET spends nothing
            assert opened.status_code == 200 and "登录" in opened.text
            entered = await web.post(f"{base}/enter", data={"c": code})
            assert entered.status_code == 303, entered.text
            for path in [*PAGES, "/tasks/broadcast/1"]:
                page = await web.get(base + path)
                assert page.status_code == 200, path
                assert "洛阳市" not in page.text and "西工" not in page.text, path  # every 洛阳 unit is 洛阳市…
                assert "市级管理员 30001（郑州市教育局及其下级单位）" in page.text, path
                assert 'href="/dashboard/import"' not in page.text, path  # the office's only: not offered
            units = (await web.get(f"{base}/units")).text
            assert "郑州市金水区教育局" in units and "郑州大学" not in units
            assert "未确认（13）" in (await web.get(f"{base}/tasks/broadcast/1")).text  # 郑州's 13 units, not 163
            refused = await web.get(f"{base}/import")
            assert refused.status_code == 403 and "导入名册只能由新闻办（省级管理员）操作" in refused.text
            audit = (await web.get(f"{base}/audit")).text
            assert "后台登录" in audit and str(CITY) in audit  # the person is named
        async with httpx.AsyncClient(timeout=15) as again:  # the link is spent
            assert (await again.post(f"{base}/enter", data={"c": code})).status_code == 410
            assert (await again.get(f"{base}/units", follow_redirects=False)).status_code == 303  # no session, no data
        async with httpx.AsyncClient(timeout=15) as office:  # the office's token: the province
            await office.post(f"{base}/login", data={"token": DASHBOARD_TOKEN})
            page = (await office.get(f"{base}/units?q=洛阳")).text
            assert "洛阳市西工区教育局" in page and 'href="/dashboard/import"' in page
    finally:
        await client.close()
        await proc.stop()
