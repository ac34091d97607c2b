"""A quiet group (issue 15), end to end over a real WebSocket: confirming by reaction (NapCat and Lagrange
notices), acknowledgements as reactions, then merged into one message on a client without reactions,
reactions given while the bot was away caught up, and QQ accounts that may not take over the outbox."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sim.qqsim import BotProcess, QQClient, Sent
from tests.e2e.bots import ADMIN, FOUR_UNITS, connected, import_units, settings

pytestmark = pytest.mark.asyncio

G1, G2 = 100200300, 100200301
A, B, C, D = 20001, 20003, 20004, 20005  # 郑州大学, 河南大学, 郑州市教育局, 开封市教育局
STRANGER = 29999
TOKEN = "e2e-quiet-token"


def env(tmp_path: Path, **over: str) -> dict[str, str]:
    base = settings(
        tmp_path,
        groups=(G1, G2),
        ALLIANCE_REACTION_INTERVAL="0",
        ALLIANCE_ACK_WINDOW="2",
        ONEBOT_ACCESS_TOKEN=TOKEN,
        LOG_LEVEL="INFO",
    )
    base.update(over)
    return base


async def start(tmp_path: Path, **over: str) -> BotProcess:
    proc = BotProcess(tmp_path, env(tmp_path, **over))
    await import_units(proc, FOUR_UNITS)
    await proc.start(timeout=60)
    return proc


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[BotProcess, QQClient]]:
    proc = await start(tmp_path)
    try:
        async with connected(proc, token=TOKEN, group_members={G1: [], G2: []}) as client:
            yield proc, client
    finally:
        await proc.stop()


async def say(client: QQClient, group: int, user: int, message: str, expect: str, **kw: object) -> Sent:
    client.mark()
    await client.group_message(group, user, message, **kw)  # type: ignore[arg-type]
    return (await client.wait_sent(lambda s: s.group_id == group and expect in s.text, timeout=30))[0]


async def registered(client: QQClient) -> None:
    for qq, unit in ((A, "郑大"), (B, "河南大学"), (C, "郑州市教育局"), (D, "开封市教育局")):
        await say(client, G1, qq, f"/注册 {unit}", "已记录", card=f"联络员{qq}")
    await say(client, G1, ADMIN, "/审核 通过 1 2 3 4", "已通过 #4")


async def test_reactions_confirm_and_acknowledge_and_without_them_acks_are_merged(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    proc, client = bot
    await registered(client)
    client.mark()
    await client.group_message(G1, ADMIN, "/统发 学习 https://mp.weixin.qq.com/s/quiet 截止 3天后")
    notes = await client.wait_sent(lambda s: s.text.startswith("【一键统发 #1】"), count=2, timeout=30)
    assert all("👍" in s.text and "/已转发 1" in s.text for s in notes)  # how to confirm, in one line
    note = next(s for s in notes if s.group_id == G1)
    await client.wait_sent(lambda s: "已发布统发 #1" in s.text, timeout=30)

    # a thumbs-up on the announcement confirms (NapCat/LLOneBot notice); an unbound person is told privately
    client.mark()
    await client.react(G1, A, note.message_id, "76")
    await client.react(G1, STRANGER, note.message_id, "128077")
    told = await client.wait_sent(lambda s: s.user_id == STRANGER, timeout=30)
    assert "/注册" in told[0].text
    # an OK on it by Lagrange's notice counts as well; a heart does not
    client.reaction_style = "lagrange"
    await client.react(G1, B, note.message_id, "124")
    await client.react(G1, C, note.message_id, "66")
    client.reaction_style = "napcat"

    # a typed confirmation is acknowledged by a reaction on the person's message: no group message
    client.mark()
    mid = await client.group_message(G1, C, "/已转发 1")
    await client.wait_reactions(1, timeout=30)
    assert client.bot_reactions[0][0] == mid
    reply = await say(client, G1, ADMIN, "/统发 进度 1", "已完成")
    assert "已完成 3/4" in reply.text and "开封市教育局" in reply.text
    between = [s for s in client.sent[client._mark - 1 :] if s.group_id is not None]
    assert [s.text for s in between if "统发 #1" in s.text and "已完成" not in s.text] == []

    # a reaction given while the bot was away is caught up before the next progress report
    await client.close()
    client.react_offline(D, note.message_id, "201")
    await client.connect(timeout=30)
    reply = await say(client, G1, ADMIN, "/统发 进度 1", "已完成")
    assert "已完成 4/4" in reply.text

    # a client without reactions: acknowledgements to one chat come merged in one message
    client.reactions_supported = False
    client.mark()
    await client.group_message(G1, ADMIN, "/统发 第二篇 https://mp.weixin.qq.com/s/two 截止 3天后")
    await client.wait_sent(lambda s: "已发布统发 #2" in s.text, timeout=30)
    client.mark()
    for qq in (A, B, C):
        await client.group_message(G1, qq, "/已转发 2")
    merged = await client.wait_sent(lambda s: s.group_id == G1 and "确认" in s.text and len(s.ats) >= 2, timeout=30)
    await asyncio.sleep(2.5)
    acks = [s for s in client.sent[client._mark :] if s.group_id == G1 and "完成统发 #2" in s.text]
    assert len(acks) <= 2 and {qq for s in acks for qq in s.ats} == {str(A), str(B), str(C)}, acks
    assert "收到 " in merged[0].text

    await client.close()
    await proc.stop()
    with sqlite3.connect(tmp_path / "data" / "alliance.db") as db:
        rows = db.execute("SELECT user_id, via, counted FROM broadcast_confirmations WHERE task_id=1 ORDER BY user_id")
        assert rows.fetchall() == [
            (str(A), "reaction", 1),
            (str(B), "reaction", 1),
            (str(C), "command", 1),
            (str(D), "reaction", 1),
        ]


async def test_a_reaction_confirms_a_return_without_files_and_one_with_files_asks_for_the_upload(
    bot: tuple[BotProcess, QQClient], tmp_path: Path
) -> None:
    proc, client = bot
    await registered(client)
    client.mark()
    await client.group_message(G1, ADMIN, "/报送 新建 秋季自查表 截止 3天后")
    notes = await client.wait_sent(lambda s: s.text.startswith("【报送】#1"), count=2, timeout=30)
    assert all("👍" in s.text and "/已报送 1" in s.text for s in notes)  # how to confirm, in one line
    note = next(s for s in notes if s.group_id == G1)
    await client.wait_sent(lambda s: "已记录：报送 #1" in s.text, timeout=30)

    # a thumbs-up (NapCat) and an OK (Lagrange) on the notice confirm; an unbound person is told privately
    first = len(client.sent)
    await client.react(G1, A, note.message_id, "76")
    client.reaction_style = "lagrange"
    await client.react(G1, B, note.message_id, "124")
    client.reaction_style = "napcat"
    await client.react(G1, STRANGER, note.message_id, "76")
    told = await client.wait_sent(lambda s: s.user_id == STRANGER, timeout=30)
    assert "/注册" in told[0].text
    reply = await say(client, G1, ADMIN, "/报送 进度 1", "已报送")
    assert "已报送 2/4" in reply.text and "郑州大学" not in reply.text and "河南大学" not in reply.text
    assert [s for s in client.sent[first:] if s.group_id is not None] == [reply]  # never a message in the group

    # a reaction given while the bot was away is caught up before the next progress report
    await client.close()
    client.react_offline(C, note.message_id, "201")
    await client.connect(timeout=30)
    reply = await say(client, G1, ADMIN, "/报送 进度 1", "已报送")
    assert "已报送 3/4" in reply.text and "开封市教育局" in reply.text

    # a return that asks for files: a reaction is no confirmation; the person is told once, privately
    client.mark()
    await client.group_message(G1, ADMIN, "/报送 新建 统计表 截止 3天后 表格 统计表")
    files = await client.wait_sent(lambda s: s.text.startswith("【报送】#2"), count=2, timeout=30)
    files_note = next(s for s in files if s.group_id == G1)
    await client.wait_sent(lambda s: "已记录：报送 #2" in s.text, timeout=30)
    first = len(client.sent)
    await client.react(G1, D, files_note.message_id, "76")
    await client.react(G1, D, files_note.message_id, "124")
    hint = await client.wait_sent(lambda s: s.user_id == D, timeout=30)
    assert "表情回应不算报送" in hint[0].text and "/报送 表格 2" in hint[0].text
    reply = await say(client, G1, ADMIN, "/报送 进度 2", "已报送")
    assert "已报送 0/4" in reply.text
    assert [s for s in client.sent[first:] if s.group_id is not None] == [reply]
    assert [s for s in client.sent if s.user_id == D] == hint  # once for two reactions

    await client.close()
    await proc.stop()
    with sqlite3.connect(tmp_path / "data" / "alliance.db") as db:
        rows = db.execute(
            "SELECT submitted_by, via, note FROM return_units WHERE submitted_at IS NOT NULL ORDER BY return_id, unit_id"
        )
        assert rows.fetchall() == [
            (str(A), "本人", "表情回应"),
            (str(B), "本人", "表情回应"),
            (str(C), "本人", "表情回应"),
        ]


async def test_another_qq_account_cannot_take_over_and_each_account_serves_its_group(tmp_path: Path) -> None:
    # none configured: the first account to connect serves; a second one is ignored, also while the first reconnects
    proc = await start(tmp_path / "one")
    real = QQClient(proc.url, self_id=10000, token=TOKEN)
    other = QQClient(proc.url, self_id=66666, token=TOKEN)
    try:
        await real.connect(timeout=30)
        await say(real, G1, ADMIN, "/帮助", "帮助")
        await real.close()
        await other.connect(timeout=30)
        other.mark()
        await other.group_message(G1, ADMIN, "/帮助")
        await real.connect(timeout=30)
        reply = await say(real, G1, ADMIN, "/发送记录", "发送")
        assert reply.group_id == G1
        await asyncio.sleep(1)
        assert other.sent == []
    finally:
        await real.close()
        await other.close()
        await proc.stop()

    # two configured accounts: each group is served by the account that is in it
    proc = await start(tmp_path / "two", ALLIANCE_ACCOUNTS='["10000","10001"]')
    one = QQClient(proc.url, self_id=10000, token=TOKEN, group_members={G1: []})
    two = QQClient(proc.url, self_id=10001, token=TOKEN, group_members={G2: []})
    try:
        await one.connect(timeout=30)
        await two.connect(timeout=30)
        await asyncio.sleep(1)  # the bot asks each client for its group list
        await say(one, G1, ADMIN, "/统发 标题 https://mp.weixin.qq.com/s/x 截止 3天后", "已发布统发 #1")
        await one.wait_sent(lambda s: s.text.startswith("【一键统发 #1】"), timeout=30)
        await two.wait_sent(lambda s: s.text.startswith("【一键统发 #1】"), timeout=30)
        assert {s.group_id for s in one.sent} == {G1} and {s.group_id for s in two.sent} == {G2}
        # the second account goes away: the first one's group is still served, the second's waits for it
        await two.close()
        await say(one, G1, ADMIN, "/统发 撤回 1", "已撤回统发 #1")
        await one.wait_sent(lambda s: "【统发撤回】" in s.text, timeout=30)
        two.mark()
        await two.connect(timeout=30)
        back = await two.wait_sent(lambda s: "【统发撤回】" in s.text, timeout=30)
        assert back[0].group_id == G2
        assert all(s.group_id == G1 for s in one.sent)
    finally:
        await one.close()
        await two.close()
        await proc.stop()
