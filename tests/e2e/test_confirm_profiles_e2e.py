"""The confirmation scenario against each client profile (issue 22): a reply 已转发 and a reaction to an
announcement confirm, end to end over the real WebSocket, whether the client is NapCat (short ids, `real_seq`,
`get_emoji_likes`: NapNeko/NapCatQQ packages/napcat-onebot/action/msg/GetMsg.ts, action/extends/GetEmojiLikes.ts),
LLOneBot (`message_seq` the sequence, `fetch_emoji_like` only: LLOneBot/LuckyLilliaBot
src/onebot11/action/msg/GetMsg.ts, src/onebot11/action/llbot/msg/FetchEmojiLike.ts) or today's permissive one
(sim/qqsim.py `PROFILES`)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from pathlib import Path

import pytest

from sim.qqsim import BotProcess, QQClient, Sent

pytestmark = pytest.mark.asyncio

GROUP = 100200300
ADMIN = 900001
ZZU, HENU = 20001, 20002


@pytest.fixture(params=["napcat", "llonebot", "permissive"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[QQClient, Path]]:
    env = {
        "ALLIANCE_ADMINS": f'["{ADMIN}"]',
        "ALLIANCE_GROUPS": f'["{GROUP}"]',
        "ALLIANCE_DATA_DIR": str(tmp_path / "data"),
        "ALLIANCE_SEND_INTERVAL": "0",
        "ALLIANCE_SEND_JITTER": "0",
        "ALLIANCE_REACTION_INTERVAL": "0",
        "ALLIANCE_QUIET_HOURS": "",
        "ALLIANCE_FETCH_TITLES": "false",
    }
    proc = BotProcess(tmp_path, env, python=sys.executable)
    client = QQClient(proc.url)
    client.use_profile(request.param)
    await proc.start(timeout=60)
    try:
        await client.connect(timeout=30)
        yield client, tmp_path / "data" / "alliance.db"
    finally:
        await client.close()
        await proc.stop()


async def command(client: QQClient, user: int, text: str, expect: str, *, card: str = "") -> Sent:
    client.mark()
    await client.group_message(GROUP, user, text, card=card)
    return (await client.wait_sent(lambda s: expect in s.text, timeout=20))[0]


def confirmations(db: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(db, timeout=10)) as con:
        return con.execute(
            "SELECT user_id, via FROM broadcast_confirmations WHERE task_id=1 AND counted=1 ORDER BY user_id"
        ).fetchall()


async def until(check: Callable[[], bool], timeout: float = 20) -> None:
    """Wait for what the bot stores (a reaction confirmed says nothing in the group)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


async def test_a_reply_and_a_reaction_to_an_announcement_confirm_on_every_client(world: tuple[QQClient, Path]) -> None:
    client, db = world
    for text in ("/单位 添加 郑州大学 本科高校 郑州", "/单位 添加 河南大学 本科高校 开封"):
        await command(client, ADMIN, text, "已")
    for qq, unit, name in ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")):
        await command(client, qq, f"/注册 {unit}", "已记录", card=name)
    await command(client, ADMIN, "/审核 通过 1 2", "已通过")
    note = await command(client, ADMIN, "/统发 大会精神 https://mp.weixin.qq.com/s/e2e 截止 1天后", "【一键统发 #1】")

    client.mark()
    before = len(client.bot_reactions)
    reply = await client.group_message(GROUP, ZZU, "已转发", reply_to=note.message_id, card="张三")
    acks = await client.wait_reactions(before + 1, timeout=20)  # acknowledged by a reaction on the reply
    assert reply in [mid for mid, _, _ in acks[before:]]
    await client.react(GROUP, HENU, note.message_id, "76")
    await until(lambda: len(confirmations(db)) == 2)
    assert confirmations(db) == [(str(ZZU), "reply"), (str(HENU), "reaction")]

    progress = await command(client, ADMIN, "/统发 进度 1", "#1")
    assert "已完成 2/2" in progress.text, progress.text
    assert not [s for s in client.sent[client._mark :] if s.group_id == GROUP and "逾期" in s.text]
