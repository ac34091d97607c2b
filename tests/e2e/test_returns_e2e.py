"""Returns end-to-end: the real bot process, a WebSocket QQ client, a stop across a reminder and a disconnection
across the deadline. Each reminder is counted per unit: sent once, never twice, none lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sim.qqsim import BotProcess, QQClient, Sent
from tests.e2e.bots import ADMIN, GROUP, command, running, settings

pytestmark = pytest.mark.asyncio

TZ = ZoneInfo("Asia/Shanghai")
SHIM = Path(__file__).resolve().parent / "clockshim"
ZZU, HENU, LY = 20001, 20002, 20003  # operators of 郑州大学, 河南大学, 洛阳市教育局
# The restart test types its deadline as 1分钟后 with a reminder 40 s before it (due ~20 s in), and starts the bot
# again on a clock moved past the reminder; the reconnect test types 半分钟后 with a reminder 20 s before it (due ~10 s in), so it crosses its deadline in half a minute.
UNITS = [
    "/单位 添加 郑州大学 本科高校 郑州",
    "/单位 添加 河南大学 本科高校 开封",
    "/单位 添加 洛阳市教育局 市教育局 洛阳",
    "/单位 添加 河南科技大学 本科高校 洛阳",
    "/单位 添加 河南科技学院 本科高校 新乡",
    "/单位 别名 郑州大学 郑大",
]


def env(tmp_path: Path, offset: int) -> dict[str, str]:
    return settings(
        tmp_path,
        ALLIANCE_ACK_WINDOW="0",  # acknowledgements one by one (merging is tests/e2e/test_quiet_group_e2e.py)
        ALLIANCE_REMINDER_TICK="1",
        ALLIANCE_REMIND_OFFSETS=f'["{offset}s"]',
        ALLIANCE_PRIVATE_REMINDERS="false",
        LOG_LEVEL="INFO",
    )


@pytest.fixture
async def bot(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[BotProcess, QQClient]]:
    # acknowledgements come as messages (reactions: test_quiet_group_e2e)
    async with running(tmp_path, env(tmp_path, request.param), reactions=False) as (proc, client):
        yield proc, client


def reminders(client: QQClient) -> list[Sent]:
    return [s for s in client.sent if s.group_id == GROUP and s.text.startswith(("【报送提醒】", "【报送逾期】"))]


def nudged(client: QQClient, qq: int) -> int:
    """How many reminders @-mentioned this operator."""
    return sum(str(qq) in s.ats for s in reminders(client))


async def setup_roster(client: QQClient) -> None:
    for text in UNITS:
        await command(client, ADMIN, text, "已")
    for qq, unit, name in ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四"), (LY, "洛阳市教育局", "王五")):
        await command(client, qq, f"/注册 {unit}", "已记录", card=name)
    await command(client, ADMIN, "/审核 通过 1 2 3", "已通过 #3")


async def create_return(client: QQClient, due: str, offset: int) -> float:
    """Create a return due at `due` (`1分钟后`); returns the monotonic time it was created."""
    t0 = time.monotonic()
    reply = await command(client, ADMIN, f"/报送 新建 秋季统计表 截止 {due} 请按附件填写", "已记录：报送 #1")
    assert f"截止前 {offset} 秒和逾期时" in reply.text
    return t0


def clock_at(proc: BotProcess, when: datetime) -> None:
    """Start `proc` next time with its clock at `when` (tests/e2e/clockshim), instead of waiting for it."""
    proc.env["PYTHONPATH"] = str(SHIM)
    proc.env["ALLIANCE_TEST_NOW"] = when.isoformat()


async def until(t0: float, seconds: float) -> None:
    await asyncio.sleep(max(0.0, t0 + seconds - time.monotonic()))


@pytest.mark.parametrize("bot", [40], indirect=True)
async def test_reminder_due_while_the_bot_is_down_goes_out_once_when_it_is_back(
    bot: tuple[BotProcess, QQClient],
) -> None:
    proc, client = bot
    await setup_roster(client)
    made = datetime.now(TZ)  # the return is made just after: due at made + 60 s, its reminder at made + 20 s
    t0 = await create_return(client, "1分钟后", 40)
    await command(client, ZZU, "/已报送 1 已发邮箱", "已记录：“郑州大学”已报送 #1")
    await command(client, ADMIN, "/报送 登记 1 河南大学", "已记录：“河南大学”已报送 #1")

    await proc.stop()  # down across the reminder
    assert time.monotonic() < t0 + 20, "the machine was too slow to stop the bot before the reminder"
    assert reminders(client) == []
    # it comes back on a clock 25 s after the return was made: past the reminder, before the deadline (no waiting)
    clock_at(proc, made + timedelta(seconds=25))
    await proc.start(timeout=60)
    await client.connect(timeout=30)

    got = await client.wait_sent(lambda s: s in reminders(client), timeout=30)
    assert len(got) == 1
    assert got[0].text.startswith("【报送提醒】#1《秋季统计表》") and got[0].ats == [str(LY)]
    # submitted and registered units are not nudged; the submissions survived the restart
    assert (nudged(client, ZZU), nudged(client, HENU), nudged(client, LY)) == (0, 0, 1)
    progress = await command(client, LY, "/报送 进度 1", "已报送 2/5")
    assert "洛阳市教育局" in progress.text

    # restart again: the reminder that was sent is not sent twice
    await client.close()
    await proc.stop()
    clock_at(proc, made + timedelta(seconds=27))
    await proc.start(timeout=60)
    await client.connect(timeout=30)
    await command(client, ADMIN, "/报送 列表", "#1《秋季统计表》")
    await asyncio.sleep(3)  # three ticks
    assert len(reminders(client)) == 1

    # /查询 by full, short and ambiguous names, and an operator's own unit, over the same connection
    text = (await command(client, LY, "/查询 郑州大学", "类别：本科高校")).text
    assert "“郑州大学”" in text and "联络员（1）：张三" in text and "#1《秋季统计表》已报送" in text
    assert "近30天统发" in text and "待审核备案" in text and str(ZZU) not in text
    assert "“郑州大学”" in (await command(client, LY, "/查询 郑大", "类别：")).text
    text = (await command(client, LY, "/查询 河南科技", "可能指")).text
    assert "河南科技大学" in text and "河南科技学院" in text
    text = (await command(client, LY, "/查询", "类别：")).text
    assert "“洛阳市教育局”" in text and "#1《秋季统计表》未报送" in text


@pytest.mark.parametrize("bot", [20], indirect=True)
async def test_reminder_due_while_the_client_is_away_goes_out_once_on_reconnect(
    bot: tuple[BotProcess, QQClient],
) -> None:
    proc, client = bot
    await setup_roster(client)
    t0 = await create_return(client, "半分钟后", 20)
    await command(client, ADMIN, "/报送 新建 年度材料 截止 3天后", "已记录：报送 #2")  # a second one stays open
    await command(client, ZZU, "/已报送 1", "已记录：“郑州大学”已报送 #1")

    # the before-deadline reminder goes out while connected: to the two units not done
    first = await client.wait_sent(lambda s: s in reminders(client), timeout=60)
    assert first[0].text.startswith("【报送提醒】") and sorted(first[0].ats) == sorted([str(HENU), str(LY)])
    # 河南大学 answers by quoting the reminder with a plain 已报送 (issue 13 item 8): the return is the quoted one's
    client.mark()
    await client.group_message(GROUP, HENU, "已报送", reply_to=first[0].message_id, at_bot=True, card="李四")
    await client.wait_sent(lambda s: "已记录：“河南大学”已报送 #1" in s.text, timeout=20)

    await client.close()  # away across the deadline (t0 + 30 s)
    assert time.monotonic() < t0 + 30, "the machine was too slow to disconnect before the deadline"
    await until(t0, 33)
    assert len(reminders(client)) == 1
    await client.connect(timeout=30)

    got = await client.wait_sent(lambda s: s.text.startswith("【报送逾期】"), timeout=30)
    assert len(got) == 1 and got[0].ats == [str(LY)]  # 河南大学 submitted while we were away: not nudged
    await asyncio.sleep(3)  # three more ticks: nothing twice
    assert (nudged(client, ZZU), nudged(client, HENU), nudged(client, LY)) == (0, 1, 2)
    assert len(reminders(client)) == 2
    late = await command(client, LY, "/已报送 1", "已记录：“洛阳市教育局”已报送 #1")
    assert "逾期" in late.text
    assert proc.running
