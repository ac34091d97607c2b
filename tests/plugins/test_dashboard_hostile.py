"""Hostile rosters through the dashboard's upload (issue 20 item 5): a clear 400, nothing imported, no stall."""

from __future__ import annotations

import asyncio
import time

from bot import sandbox
from bot.app import App
from tests import hostile
from tests.plugins.test_dashboard import client, csrf_of, dash, login

__all__ = ["dash"]

CASES = {
    "名册.xlsx": (hostile.sparse, "第 1,048,576 行、第 XFD 列，超过上限"),
    "名册2.xlsx": (lambda: hostile.shared_string_bomb(17_500, 40), "文字合计超过 1600 万字"),
    "名册3.xlsx": (hostile.sparse_unmarked, "需要的内存超过了上限"),
    "名册4.xlsx": (hostile.random_zip, "已损坏"),
    "名册.csv": (lambda: hostile.csv_long_line(4 * 1024 * 1024), "超过 50 列"),
    "名册2.csv": (lambda: hostile.csv_one_cell(4 * 1024 * 1024), "第 1 行 A 列的单元格有 4,194,304 个字"),
}


async def test_a_hostile_roster_upload_is_a_clear_400_and_the_loop_keeps_running(dash: App) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    files = {name: make() for name, (make, _) in CASES.items()}
    before = await dash.units.all()
    async with client() as c:
        await login(c)
        csrf = csrf_of((await c.get("/dashboard/import")).text)
        task = asyncio.create_task(ticker())
        for name, (_, says) in CASES.items():
            jobs = sandbox.jobs_run
            r = await c.post("/dashboard/import", data={"csrf": csrf}, files={"file": (name, files[name])})
            assert r.status_code == 400, (name, r.status_code)
            assert "名册没有导入" in r.text and says in r.text, name
            assert sandbox.jobs_run == jobs + 1, f"{name} parsed in the child"
        done.set()
        await task
    assert max(gaps) < 0.5, f"the dashboard stalled the loop {max(gaps):.2f} s"
    assert await dash.units.all() == before
