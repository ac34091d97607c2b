"""Hostile pages and a lying QQ client, end to end through the real bot (issue 20 items 6 and 7).

6. A 统发 link to a page of `<title>` repeated (200 KB) held an operator's `/帮助` for 28.9 s; `<meta ` repeated
   too. The title is read in linear time off the event loop: others are answered at once.
7. A client answering get_file with the bot's own `.env`, `/proc/kmsg`, a FIFO, a symlink out, the database, or
   an address on this machine (directly or by a redirect): refused with a clear answer, nothing stored, nothing
   asked of the internal address, and the bot keeps answering. A plain file inside the allowed folder is taken.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.returns.files.fetch import NOT_REGULAR, OUTSIDE, PRIVATE_URL
from sim import samples
from sim.qqsim import BotProcess, QQClient, Sent
from sim.qqsim_files import FileServer, SimFiles
from tests.e2e.bots import ADMIN, GROUP, running, settings
from tests.pages import SERVED, serve_pages

pytestmark = pytest.mark.asyncio

ZZU = 20001
OTHER = 20999  # a group member bound to no unit
PROMPT = 3.0  # seconds: /帮助 is answered in a fraction of that on a free loop


async def command(client: QQClient, user: int, text: str, expect: str) -> Sent:
    client.mark()
    await client.group_message(GROUP, user, text)
    return (await client.wait_sent(lambda s: s.group_id == GROUP and expect in s.text, timeout=20))[0]


ASKERS = itertools.count(30_100)


async def help_took(client: QQClient) -> float:
    """Seconds until a stranger's /帮助 is answered."""
    client.mark()
    started = time.monotonic()
    # each time another stranger: the same person asking again within a minute is answered once (issue 20.8)
    await client.group_message(GROUP, next(ASKERS), "/帮助")
    await client.wait_sent(lambda s: s.group_id == GROUP and s.text.startswith("联盟助手 — 你是群成员"), timeout=120)
    return time.monotonic() - started


async def until_served(path: str, timeout: float = 20) -> None:
    """Until the page server has written the whole page at `path` (the bot reads it from then on)."""
    deadline = time.monotonic() + timeout
    while path not in SERVED:
        assert time.monotonic() < deadline, f"{path} was never asked for"
        await asyncio.sleep(0.01)


def base_env(tmp_path: Path) -> dict[str, str]:
    return settings(tmp_path, ALLIANCE_SEND_JITTER="0")


async def test_a_hostile_article_page_holds_up_nobody(tmp_path: Path) -> None:
    async with serve_pages() as pages:
        env = {**base_env(tmp_path), "ALLIANCE_FETCH_PRIVATE": "true", "ALLIANCE_FETCH_TIMEOUT": "10"}
        proc = BotProcess(tmp_path, env, python=sys.executable)
        client = QQClient(proc.url)
        try:
            await proc.start(timeout=60)
            await client.connect(timeout=30)
            await command(client, ADMIN, "/单位 添加 郑州大学 本科高校 郑州", "已")
            for n, name in enumerate(("title", "meta", "lt"), start=1):
                client.mark()
                await client.group_message(GROUP, ADMIN, f"/统发 大会精神{n} {pages}/h/{name} 截止 3天后")
                await until_served(f"/h/{name}")
                took = await help_took(client)  # the bot is reading the page now
                assert took < PROMPT, f"/帮助 waited {took:.1f} s behind the page {name}"
                done = await client.wait_sent(lambda s, n=n: f"已发布统发 #{n}" in s.text, timeout=30)
                assert "原文标题" not in done[0].text  # the page has no title: announced without one
        finally:
            await client.close()
            await proc.stop()


@pytest.fixture
async def lying_client(tmp_path: Path) -> AsyncIterator[tuple[QQClient, SimFiles, FileServer, FileServer]]:
    """The bot in tmp_path (its .env and data folder there), allowed to read the whole of tmp_path and to download
    from the client's own file server; another server on this machine stands for an internal service."""
    (tmp_path / ".env").write_text("DASHBOARD_TOKEN=secret-token-0123456789abcdef\n", encoding="utf-8")
    async with FileServer() as server, FileServer() as internal:
        env = {
            **base_env(tmp_path),
            "ALLIANCE_FILE_TIMEOUT": "5",
            "ALLIANCE_CLIENT_FILE_DIRS": f'["{tmp_path}"]',
            "ALLIANCE_CLIENT_FILE_HOSTS": f'["127.0.0.1:{server.port}"]',
        }
        async with running(tmp_path, env) as (_, client):
            yield client, SimFiles(client, server), server, internal


async def test_paths_and_urls_from_the_client_are_not_trusted(
    tmp_path: Path, lying_client: tuple[QQClient, SimFiles, FileServer, FileServer]
) -> None:
    client, files, server, internal = lying_client
    await command(client, ADMIN, "/单位 添加 郑州大学 本科高校 郑州", "已")
    await command(client, ZZU, "/注册 郑州大学", "已记录")
    await command(client, ADMIN, "/审核 通过 1", "已通过")
    await command(client, ADMIN, "/报送 新建 2026年新媒体统计 截止 3天后 表格 统计表", "已记录：报送 #1")

    qq = tmp_path / "qq"
    qq.mkdir()
    fifo = qq / "fifo.csv"
    os.mkfifo(fifo)
    (qq / "passwd.csv").symlink_to("/etc/passwd")
    (qq / "env.csv").symlink_to(tmp_path / ".env")
    secret = internal.add(b"internal only")
    forged = [
        ({"file": str(tmp_path / ".env")}, OUTSIDE),
        ({"file": "/proc/kmsg"}, OUTSIDE),
        ({"file": str(fifo)}, NOT_REGULAR),
        ({"file": str(qq / "passwd.csv")}, OUTSIDE),
        ({"file": str(qq / "env.csv")}, OUTSIDE),
        ({"file": str(tmp_path / "data" / "alliance.db")}, OUTSIDE),
        ({"url": secret}, PRIVATE_URL),
        ({"url": server.redirect(secret)}, PRIVATE_URL),
    ]
    for answer, expected in forged:
        files.forged = answer
        client.mark()
        await files.group_upload(GROUP, ZZU, "郑州大学统计表.csv", b"unit,accounts\n")
        said = (await client.wait_sent(lambda s: s.group_id == GROUP and str(ZZU) in s.ats, timeout=20))[0]
        assert expected in said.text, (answer, said.text)
        assert "secret-token" not in said.text
        took = await help_took(client)
        assert took < PROMPT, f"/帮助 waited {took:.1f} s after {answer}"
    assert internal.requests == [], "nothing was asked of the internal address"
    progress = await command(client, ADMIN, "/报送 进度 1", "已报送")
    assert "已报送 0/1" in progress.text

    # the honest ways still work: a plain file inside the allowed folder, and the client's own file server
    good = qq / "郑州大学统计表.xlsx"
    good.write_bytes(samples.xlsx(samples.stats_rows("郑州大学", 3)))
    files.forged = {"file": str(good)}
    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表.xlsx", b"")
    said = (await client.wait_sent(lambda s: s.group_id == GROUP and str(ZZU) in s.ats, timeout=20))[0]
    assert "收到 郑州大学 的统计表：3 个账号" in said.text
    files.forged = None
    client.mark()
    await files.group_upload(GROUP, ZZU, "郑州大学统计表(改).xlsx", samples.xlsx(samples.stats_rows("郑州大学", 4)))
    said = (await client.wait_sent(lambda s: s.group_id == GROUP and str(ZZU) in s.ats, timeout=20))[0]
    assert "收到 郑州大学 的统计表：4 个账号" in said.text
