"""The confirmation scenario against each client profile (issue 22): a reply 已转发 and a reaction to an
announcement confirm, end to end over the real WebSocket, whether the client is NapCat (short ids, `real_seq`,
`get_emoji_likes`: NapNeko/NapCatQQ packages/napcat-onebot/action/msg/GetMsg.ts, action/extends/GetEmojiLikes.ts),
LLOneBot (`message_seq` the sequence, `fetch_emoji_like` only: LLOneBot/LuckyLilliaBot
src/onebot11/action/msg/GetMsg.ts, src/onebot11/action/llbot/msg/FetchEmojiLike.ts) or today's permissive one
(sim/qqsim.py `PROFILES`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.qqsim import QQClient, Sent
from tests.e2e import bots
from tests.e2e.bots import ADMIN, GROUP, confirmations, enrol, running, settings, until

pytestmark = pytest.mark.asyncio

ZZU, HENU = 20001, 20002


@pytest.fixture(params=["napcat", "llonebot", "permissive"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[QQClient, Path]]:
    env = settings(
        tmp_path,
        ALLIANCE_SEND_JITTER="0",
        ALLIANCE_REACTION_INTERVAL="0",
        ALLIANCE_FETCH_TITLES="false",
    )
    async with running(tmp_path, env, profile=request.param) as (_, client):
        yield client, tmp_path / "data" / "alliance.db"


async def command(client: QQClient, user: int, text: str, expect: str, *, card: str = "") -> Sent:
    return await bots.command(client, user, text, expect, card=card, anywhere=True)


async def test_a_reply_and_a_reaction_to_an_announcement_confirm_on_every_client(world: tuple[QQClient, Path]) -> None:
    client, db = world
    await enrol(
        client,
        ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封"),
        ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")),
        anywhere=True,
    )
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
