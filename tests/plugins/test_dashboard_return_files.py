"""The dashboard's return page lists each unit's files with download links, and makes the merged workbook."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import nonebot
import pytest
from openpyxl import load_workbook

from bot import clock
from bot.app import App
from bot.returns.files.records import Upload
from bot.returns.records import NewReturn
from sim import samples
from tests.fake import GROUP
from tests.plugins.test_dashboard import dashboard_app

TOKEN = "s3cret-令牌-token-for-tests"


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[App]:
    async with dashboard_app(tmp_path, TOKEN) as app:
        yield app


async def test_return_page_links_each_units_file_and_the_merged_workbook(dash: App) -> None:
    await dash.units.add("郑州大学", "本科高校", "郑州", actor="t")
    a, _ = await dash.units.registrations.apply(20001, "张三", GROUP, "郑州大学")
    await dash.units.registrations.approve([a.id], actor="t")
    deadline = clock.now() + timedelta(days=3)
    ret = (await dash.returns.create(NewReturn("新媒体统计", deadline, "", "", "统计表"), actor="1")).ret
    data = samples.xlsx(samples.stats_rows("郑州大学", 4))

    async def give(cap: int) -> bytes:
        return data

    await dash.return_files.receive(
        Upload("20001", "张三", str(GROUP), "郑州大学<统计>.xlsx", len(data), "f1"), give, is_admin=False
    )
    server = nonebot.get_driver().server_app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://testserver") as c:
        await c.post("/dashboard/login", data={"token": TOKEN})
        page = (await c.get(f"/dashboard/tasks/return/{ret.id}")).text
        assert "交来的文件（1）" in page and "郑州大学&lt;统计&gt;.xlsx" in page
        link = re.search(r'href="(/dashboard/tasks/return/\d+/files/\d+)"', page)
        assert link is not None
        got = await c.get(link.group(1))
        assert got.status_code == 200 and got.content == data
        assert (await c.get(f"/dashboard/tasks/return/{ret.id + 1}/files/1")).status_code == 404
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        made = await c.post(f"/dashboard/tasks/return/{ret.id}/merged", data={"csrf": csrf.group(1)})
        assert made.status_code == 303
        book = await c.get(made.headers["location"])
        assert book.status_code == 200
        path = Path(dash.settings.data_dir / "exports" / unquote(made.headers["location"].rsplit("/", 1)[-1]))
        rows = list(load_workbook(path, read_only=True).worksheets[0].iter_rows(min_row=5, values_only=True))
        assert [r[1] for r in rows] == [f"郑州大学{p}{i}" for i, p in enumerate(samples.PLATFORM_CYCLE[:4], 1)]
