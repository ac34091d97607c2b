"""What members did while the bot was away (issue 22.5), end to end over the real WebSocket.

Neither client replays events to a reverse WebSocket that was down; both answer `get_group_msg_history`
(NapNeko/NapCatQQ packages/napcat-onebot/action/go-cqhttp/GetGroupMsgHistory.ts: `group_id`, `message_seq` — a
short message id —, `count`, `reverse_order`; LLOneBot/LuckyLilliaBot src/onebot11/action/go-cqhttp/
GetGroupMsgHistory.ts: `group_id`, `message_seq` — the real seq —, `count`, `reverseOrder`; a page oldest first that
ends at `message_seq`, the newest page without it). sim/qqsim.py `_RealClient` plays both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sim.qqsim import BotProcess, QQClient, Sent
from tests.e2e import bots
from tests.e2e.bots import ADMIN, GROUP, enrol, query, restart, running, settings

pytestmark = pytest.mark.asyncio

SHIM = Path(__file__).resolve().parent / "clockshim"
TZ = ZoneInfo("Asia/Shanghai")
ZZU, HENU = 20001, 20002


@pytest.fixture(params=["napcat", "llonebot"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[BotProcess, QQClient, Path]]:
    env = settings(tmp_path, ALLIANCE_FETCH_TITLES="false", ALLIANCE_ACK_WINDOW="0")
    async with running(tmp_path, env, profile=request.param) as (proc, client):
        yield proc, client, tmp_path / "data" / "alliance.db"


async def command(client: QQClient, user: int, text: str, expect: str, *, card: str = "") -> Sent:
    return await bots.command(client, user, text, expect, card=card, anywhere=True)


def db_time(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).replace(tzinfo=None).isoformat(timespec="seconds")


async def test_confirmations_and_reports_made_while_the_bot_was_down_are_recorded_once_at_their_own_time(
    world: tuple[BotProcess, QQClient, Path],
) -> None:
    proc, client, db = world
    await enrol(
        client,
        ("郑州大学 本科高校 郑州", "河南大学 本科高校 开封"),
        ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四")),
        anywhere=True,
    )
    await command(client, ZZU, "/账号 登记 抖音 郑州大学", "已")
    await command(client, ADMIN, "/统发 大会精神 https://mp.weixin.qq.com/s/e2e 截止 1天后", "已发布统发 #1")
    await command(client, ZZU, "/粉丝 抖音 1千", "已记录")  # seen live: never read back

    await client.close()
    await proc.stop()
    t = int(time.time())  # while the bot is down, before the deadline
    client.offline_group_message(GROUP, ZZU, "/已转发 1", when=t, card="张三")
    client.offline_group_message(GROUP, HENU, "/已转发", when=t + 1, card="李四")
    client.offline_group_message(GROUP, ZZU, "/粉丝 抖音 1200", when=t + 2, card="张三")
    client.offline_group_message(GROUP, ZZU, "/粉丝 排行", when=t + 3, card="张三")  # a question: not answered late
    client.offline_group_message(GROUP, ADMIN, "/统发 第二条 https://mp.weixin.qq.com/s/two 截止 1天后", when=t + 4)

    # back two days later, past the deadline: the confirmations made before it are on time
    proc.env["PYTHONPATH"] = str(SHIM)
    proc.env["ALLIANCE_TEST_NOW"] = (datetime.now(TZ) + timedelta(days=2)).isoformat()
    client.mark()
    await proc.start(timeout=60)
    await client.connect(timeout=30)
    (told,) = await client.wait_sent(lambda s: s.user_id == ADMIN and "没有执行" in s.text, timeout=20)
    assert "/统发 第二条 https://mp.weixin.qq.com/s/two 截止 1天后" in told.text and "请重新发送" in told.text

    confirmations = query(db, "SELECT user_id, at, late, counted FROM broadcast_confirmations ORDER BY at")
    assert confirmations == [(str(ZZU), db_time(t), 0, 1), (str(HENU), db_time(t + 1), 0, 1)]
    reports = query(db, "SELECT count, reported_by, reported_at FROM follower_reports")
    assert reports == [(1200, str(ZZU), db_time(t + 2))]
    assert query(db, "SELECT COUNT(*) FROM broadcasts") == [(1,)], "the admin's /统发 was not carried out late"
    assert not [s for s in client.sent[client._mark :] if s.group_id == GROUP and "【按粉丝数】" in s.text]

    # the next restart reads nothing twice
    await restart(proc, client, mark=True)
    await command(client, HENU, "/统发 进度 1", "#1")  # answered: the catch-up at connect is over
    assert query(db, "SELECT COUNT(*) FROM broadcast_confirmations") == [(2,)]
    assert query(db, "SELECT COUNT(*) FROM follower_reports") == [(1,)]
    assert not [s for s in client.sent[client._mark :] if s.user_id == ADMIN and "没有执行" in s.text]


async def test_a_message_read_back_from_the_history_is_not_handled_again_when_its_live_copy_comes_after(
    world: tuple[BotProcess, QQClient, Path],
) -> None:
    """A member writes while the bot reconnects: the catch-up finds it in the history before its live event reaches
    the bot. It is handled once (the live copy was handled as well: a second report, a second answer)."""
    proc, client, db = world
    await enrol(client, ("郑州大学 本科高校 郑州",), ((ZZU, "郑州大学", "张三"),), anywhere=True)
    await command(client, ZZU, "/账号 登记 抖音 郑州大学", "已")
    await command(client, ZZU, "/粉丝 抖音 1千", "已记录")
    await client.close()
    await proc.stop()
    client.offline_group_message(GROUP, ZZU, "/粉丝 抖音 1200", when=int(time.time()), card="张三")
    (written,) = client.history[GROUP][-1:]
    await proc.start(timeout=60)
    await client.connect(timeout=30)
    async with asyncio.timeout(20):  # the catch-up read it back and recorded it
        while query(db, "SELECT COUNT(*) FROM follower_reports WHERE count=1200") != [(1,)]:
            await asyncio.sleep(0.05)
    client.mark()
    await client.send_raw(dict(written))  # its live copy, late
    await command(client, ZZU, "/粉丝 抖音 1300", "已记录")  # answered after whatever the late copy caused
    said = [s.text for s in client.sent[client._mark :] if s.group_id == GROUP]
    assert not [t for t in said if "粉丝 1,200" in t], said  # the late copy recorded again: "1,200 → 1,200"
    assert query(db, "SELECT count FROM follower_reports") == [(1300,)]  # one row a day: corrected in place
