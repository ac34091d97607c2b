"""A file uploaded while the bot was down is handed in once at reconnect (issue 22.5), end to end.

Neither client replays events to a reverse WebSocket that was down, so the `group_upload` notice is lost; newer
NapCat and LLOneBot builds also post the upload as a group message with a `file` segment (sim/qqsim_files.py,
`via="segment"`), which the history (`get_group_msg_history`, sources cited in tests/e2e/test_replay_e2e.py) gives
back. The bot reads it there, fetches the file through `get_group_file_url` and answers as it would have live.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sim import samples
from sim.qqsim import BotProcess, QQClient, Sent
from sim.qqsim_files import FileServer, SimFiles
from tests.e2e import bots
from tests.e2e.bots import ADMIN, GROUP, enrol, query, restart, running, settings

pytestmark = pytest.mark.asyncio

ZZU = 20001


@pytest.fixture(params=["napcat", "llonebot"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[BotProcess, QQClient, SimFiles, Path]]:
    async with FileServer() as server:
        env = settings(
            tmp_path, ALLIANCE_FETCH_TITLES="false", ALLIANCE_CLIENT_FILE_HOSTS=f'["127.0.0.1:{server.port}"]'
        )
        async with running(tmp_path, env, profile=request.param) as (proc, client):
            yield proc, client, SimFiles(client, server), tmp_path / "data" / "alliance.db"


async def command(client: QQClient, user: int, text: str, expect: str, *, card: str = "") -> Sent:
    return await bots.command(client, user, text, expect, card=card, anywhere=True)


async def test_a_file_uploaded_while_the_bot_was_down_is_handed_in_once_at_reconnect(
    world: tuple[BotProcess, QQClient, SimFiles, Path],
) -> None:
    proc, client, files, db = world
    await enrol(client, ("郑州大学 本科高校 郑州",), ((ZZU, "郑州大学", "张三"),), anywhere=True)
    await command(client, ADMIN, "/报送 新建 秋季统计 截止 3天后 表格 统计表", "已记录：报送 #1")

    await client.close()
    await proc.stop()
    t = int(time.time())
    data = samples.xlsx(samples.stats_rows("郑州大学", 6))
    fid, _ = files.offline_upload(GROUP, ZZU, "郑州大学新媒体统计.xlsx", data, when=t, card="张三")

    client.mark()
    await proc.start(timeout=60)
    await client.connect(timeout=30)
    (said,) = await client.wait_sent(lambda s: s.group_id == GROUP and str(ZZU) in s.ats, timeout=30)
    assert "收到 郑州大学 的统计表：6 个账号，已记为已报送" in said.text, said.text
    stored = query(db, "SELECT unit_id, state, rows, source_id, uploaded_by, uploaded_at FROM return_files")
    at = datetime.fromtimestamp(t, UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    assert stored == [(1, "通过", 6, stored[0][3], str(ZZU), at)]  # at its own time, while the bot was down
    assert fid in stored[0][3]
    assert query(db, "SELECT submitted_by FROM return_units WHERE return_id=1") == [(str(ZZU),)]

    # the next restart reads it back again and hands in nothing twice
    await restart(proc, client, mark=True)
    reply = await command(client, ADMIN, "/报送 进度 1", "#1")
    assert "已报送 1/1" in reply.text, reply.text
    assert query(db, "SELECT COUNT(*) FROM return_files") == [(1,)]
    assert not [s for s in client.sent[client._mark :] if str(ZZU) in s.ats and "统计表" in s.text]
