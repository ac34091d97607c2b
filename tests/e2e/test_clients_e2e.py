"""Reactions and message ids as NapCat and LLOneBot really answer (issue 22 items 1 and 2), end to end over the
real WebSocket, with the simulated client in the profile of each (sim/qqsim.py `PROFILES`).

What the profiles play, read from the clients' source:
- LLOneBot/LuckyLilliaBot `src/onebot11/action/llbot/msg/FetchEmojiLike.ts`: `fetch_emoji_like` reads one page of
  `count` (default 20) from `cookie`, answering `cookie` and `isLastPage`; no `get_emoji_likes`.
- NapNeko/NapCatQQ `packages/napcat-onebot/action/extends/GetEmojiLikes.ts`: `get_emoji_likes` takes `message_id`
  as a string (typebox `Type.String`) and `count` (0 = all, read 15 at a time).
- NapNeko/NapCatQQ `packages/napcat-common/src/message-unique.ts`: short ids of the latest 5,000 messages only
  (`LimitedHashTable(5000)`, in memory); `packages/napcat-onebot/action/msg/GetMsg.ts`: a forgotten id answers
  `消息不存在`, and `message_seq` is the short id while `real_seq` is the message's sequence.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bench.seed import Dataset
from sim.qqsim import BotProcess, QQClient, Sent
from tests.e2e import bots
from tests.e2e.bots import seeded, until

pytestmark = pytest.mark.asyncio

ADMIN = 900001
UNITS = 210
REACTING = 200


def running(tmp_path: Path) -> AbstractAsyncContextManager[tuple[BotProcess, Dataset]]:
    return seeded(tmp_path, UNITS, (ADMIN,), history=0, pending=0)


async def say(client: QQClient, group: int, user: int, text: str, expect: str, **kw: object) -> Sent:
    client.mark()
    await client.group_message(group, user, text, **kw)  # type: ignore[arg-type]
    return (await client.wait_sent(lambda s: s.group_id == group and expect in s.text, timeout=30))[0]


async def announce(client: QQClient, group: int) -> Sent:
    client.mark()
    await client.group_message(group, ADMIN, "/统发 学习 https://mp.weixin.qq.com/s/clients 截止 3天后")
    note = (await client.wait_sent(lambda s: s.text.startswith("【一键统发 #1】"), timeout=30))[0]
    await client.wait_sent(lambda s: "已发布统发 #1" in s.text, timeout=30)
    return note


def confirmations(ds: Dataset) -> list[tuple[str, str]]:
    return bots.confirmations(ds.db_path)


@pytest.mark.parametrize("profile", ["llonebot", "napcat"])
async def test_two_hundred_reactions_given_while_the_bot_was_down_are_all_caught_up(
    tmp_path: Path, profile: str
) -> None:
    async with running(tmp_path) as (proc, ds):
        client = QQClient(proc.url, self_id=10000, profile=profile)
        await client.connect(timeout=30)
        try:
            note = await announce(client, ds.group_id)
            await client.close()
            await proc.stop()
            reacting = [ds.operator_of(uid) for uid, _ in ds.units[:REACTING]]
            for i, qq in enumerate(reacting):  # a thumbs-up, an OK, a 赞: all confirm
                client.react_offline(qq, note.message_id, ("76", "124", "201")[i % 3])
            await proc.start(timeout=60)
            await client.connect(timeout=30)
            # the progress report counts them (the catch-up runs before it answers)
            client.mark()
            await client.group_message(ds.group_id, ADMIN, "/统发 进度 1 文字")  # text: the roll-up is a picture
            reply = (await client.wait_sent(lambda s: s.group_id == ds.group_id, timeout=30))[0]
            assert len(confirmations(ds)) == REACTING
            assert f"已完成 {REACTING}/{len(ds.units)}" in reply.text, reply.text
        finally:
            await client.close()
    rows = confirmations(ds)
    assert sorted(int(u) for u, _ in rows) == sorted(reacting)
    assert {via for _, via in rows} == {"reaction"}
    if profile == "llonebot":  # every page was read: 200 people in pages of 20 over three faces
        assert client.like_reads >= REACTING // 20
        assert not any(a == "get_emoji_likes" and "message_id" in p for a, p in client.api_calls[-1:])
    else:  # NapCat's schema: message_id a string, count 0 (all)
        calls = [p for a, p in client.api_calls if a == "get_emoji_likes"]
        assert calls and all(isinstance(p["message_id"], str) and p.get("count") == 0 for p in calls)


async def test_a_reply_and_a_reaction_to_an_announcement_the_client_forgot_still_confirm(tmp_path: Path) -> None:
    async with running(tmp_path) as (proc, ds):
        client = QQClient(proc.url, self_id=10000, profile="napcat")
        client.id_window = 50  # NapCat keeps 5,000; a small window plays two busy days
        await client.connect(timeout=30)
        try:
            note = await announce(client, ds.group_id)
            first, second, third = (ds.operator_of(uid) for uid, _ in ds.units[:3])

            # the bot asks the client for the announcement's stable key while its id is fresh
            await until(lambda: ("get_msg", {"message_id": note.message_id}) in client.api_calls)

            # 60 messages later the client has forgotten the announcement's id: a reply names it by a new one
            client.see_messages(60)
            assert client.short_id(note.message_id) != note.message_id
            await client.group_message(ds.group_id, first, "已转发", reply_to=note.message_id)
            await client.wait_reactions(1, timeout=30)  # the bot acknowledges by a reaction on the reply

            # and 60 more later, a reaction names it by yet another
            client.see_messages(60)
            await client.react(ds.group_id, second, note.message_id, "76")
            await until(lambda: len(confirmations(ds)) == 2)

            # the QQ client restarts: NapCat forgets every short id, a reaction comes with yet another
            client.restart_client()
            await client.react(ds.group_id, third, note.message_id, "124")
            await until(lambda: len(confirmations(ds)) == 3)
        finally:
            await client.close()
    assert confirmations(ds) == sorted([(str(first), "reply"), (str(second), "reaction"), (str(third), "reaction")])
