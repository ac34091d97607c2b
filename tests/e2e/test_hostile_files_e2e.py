"""Hostile spreadsheets against the real bot (issue 20 item 5): each upload is refused with its reason, the bot
process never dies, its memory stays bounded, and another member's /帮助 is answered promptly meanwhile."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim import samples
from sim.qqsim import BotProcess, QQClient
from sim.qqsim_files import FileServer, SimFiles
from tests import hostile
from tests.e2e.bots import ADMIN, GROUP, answer_to, command, enrol, running, settings
from tests.e2e.test_return_files_e2e import ZZU

pytestmark = pytest.mark.asyncio

PROMPT_S = 3.0
"""How long another member may wait for /帮助 while a hostile file is being refused."""
GROWTH_MB = 120
"""What all the hostile uploads together may add to the bot's peak memory (each file's bytes are held while read)."""

UPLOADS = [
    ("郑州大学统计表.xlsx", hostile.sparse, "第 1,048,576 行、第 XFD 列，超过上限"),
    ("郑州大学统计表(2).xlsx", hostile.shared_string_bomb, "文字合计超过 1600 万字"),
    ("郑州大学统计表(3).xlsx", hostile.sparse_unmarked, "需要的内存超过了上限"),
    ("郑州大学统计表(4).xlsx", hostile.huge_cell, "第 1 行 B 列的单元格有 1,000,000 个字"),
    ("郑州大学统计表(5).xlsx", hostile.zip_bomb, "解压后超过 30 MB"),
    ("郑州大学统计表(6).xlsx", hostile.renamed_exe, "不是能读取的表格"),
    ("郑州大学统计表(7).xls", hostile.xls_far_cells, "需要的内存超过了上限"),
    ("郑州大学统计表(8).csv", hostile.csv_long_line, "超过 200 列"),
    ("郑州大学统计表(9).csv", hostile.csv_big_cell, "第 2 行 C 列的单元格有 200,000 个字"),
]


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[QQClient, SimFiles, BotProcess]]:
    env = settings(
        tmp_path,
        ALLIANCE_FILE_MAX_MB="12",
        ALLIANCE_FILE_TIMEOUT="10",
        ALLIANCE_CLIENT_FILE_HOSTS='["127.0.0.1"]',  # the simulated client serves its files on this machine
    )
    async with FileServer() as server, running(tmp_path, env) as (proc, client):
        yield client, SimFiles(client, server), proc


async def test_hostile_uploads_are_refused_while_the_bot_keeps_answering_others(
    world: tuple[QQClient, SimFiles, BotProcess],
) -> None:
    client, files, proc = world
    await enrol(client, ("郑州大学 本科高校 郑州",), ((ZZU, "郑州大学", "张三"),))
    await command(client, ADMIN, "/报送 新建 2026年新媒体统计 截止 3天后 表格 统计表", "已记录：报送 #1")
    assert proc.proc is not None
    pid = proc.proc.pid
    before = peak_mb(pid)
    built = [(name, make(), says) for name, make, says in UPLOADS]

    for n, (name, data, says) in enumerate(built):
        client.mark()
        await files.group_upload(GROUP, ZZU, name, data)
        asked = time.monotonic()
        # someone else, while the file is being read (each time another: a repeat within a minute is answered once)
        await client.group_message(GROUP, 30_200 + n, "/帮助")
        helped = await client.wait_sent(lambda s: s.group_id == GROUP and "帮助" in s.text, timeout=20)
        waited = time.monotonic() - asked
        refused = await answer_to(client, ZZU)
        assert says in refused.text, (name, refused.text)
        assert "重新上传" in refused.text, name
        assert helped and waited < PROMPT_S, f"/帮助 waited {waited:.1f} s during {name}"
        assert proc.running, f"the bot died on {name}"

    assert peak_mb(pid) - before < GROWTH_MB, f"peak grew {peak_mb(pid) - before:.0f} MB"
    reply = await command(client, ADMIN, "/报送 进度 1", "已报送 0/1")
    assert "郑州大学" in reply.text

    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表(改).xlsx", samples.xlsx(samples.stats_rows("郑州大学", 20)))
    assert "收到 郑州大学 的统计表：20 个账号，已记为已报送" in (await answer_to(client, ZZU)).text
