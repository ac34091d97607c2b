"""Follower counts end to end: the real bot (`python -m bot`) and a simulated QQ client over a WebSocket."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot import clock
from bot.app import App
from bot.db import Database
from sim.qqsim import BotProcess, QQClient
from tests.bot.test_followers import two_universities
from tests.conftest import make_settings
from tests.e2e.bots import ADMIN, GROUP, settings

ZZU, HENU, STRANGER = 20001, 20002, 20009
MEMBERS = {
    GROUP: [
        {"user_id": ZZU, "nickname": "张三", "card": "张三-郑州大学"},
        {"user_id": HENU, "nickname": "李四", "card": ""},
        {"user_id": STRANGER, "nickname": "王五"},
        {"user_id": ADMIN, "nickname": "新闻办", "role": "admin"},
    ]
}


async def _seed(tmp_path: Path) -> None:
    """Two universities registered 60 days ago, their operators and accounts; 郑大青年 reported a week ago."""
    app = App(make_settings(tmp_path))
    await app.open()
    try:
        clock.freeze(clock.now() - timedelta(days=60))
        await two_universities(app, ZZU, HENU)
        clock.reset()
        clock.freeze(clock.now() - timedelta(days=7))
        await app.followers.report(str(ZZU), ["郑大青年"], "12000")
    finally:
        clock.reset()
        await app.db.close()


async def test_followers_over_a_real_websocket(tmp_path: Path) -> None:
    await _seed(tmp_path)
    env = settings(
        tmp_path,
        ALLIANCE_QUIET_HOURS=None,
        ALLIANCE_ACK_WINDOW="0",  # acknowledgements one by one (merging is tests/e2e/test_quiet_group_e2e.py)
        ALLIANCE_SEND_JITTER="0",
        LOG_LEVEL="INFO",
    )
    proc = BotProcess(tmp_path, env)
    client = QQClient(proc.url, group_members=MEMBERS)
    client.reactions_supported = False  # acknowledgements come as messages (reactions: test_quiet_group_e2e)
    try:
        await proc.start(timeout=30)
        await client.connect(timeout=15)

        async def ask(user: int, text: str) -> str:
            reply = await client.ask(GROUP, user, text, timeout=15)
            assert reply.ats[:1] == [str(user)], reply
            return reply.text

        # every count form, from two operators
        text = await ask(ZZU, "/粉丝 郑大青年 12,345")
        assert "已记录" in text and "粉丝 12,345" in text and "+345" in text and "目标 10万" in text
        assert "粉丝 12,000" in await ask(ZZU, "/粉丝 微信 郑州大学 1.2万")
        assert "粉丝 123,000" in await ask(ZZU, "/粉丝 抖音 12.3w")
        assert "粉丝 3,000" in await ask(HENU, "/粉丝 抖音 3千")
        text = await ask(HENU, "/粉丝 河南大学 120万+")  # 15× the unit's target: asked first (issue 13 item 20)
        assert "还没有记录" in text and "确认" in text
        text = await ask(HENU, "确认")
        assert "已更正今天的报送：3,000 → 1,200,000" in text and "已达标" in text
        text = await ask(HENU, "／粉丝 抖音 12345")
        assert "已更正今天的报送：1,200,000 → 12,345" in text and "15.4%" in text

        # refused: another unit's account, an ambiguous platform, a stranger
        text = await ask(HENU, "/粉丝 郑大青年 100")
        assert "郑州大学" in text and "已记录" not in text
        text = await ask(ZZU, "/粉丝 微信 100")
        assert "郑大青年" in text and "已记录" not in text
        assert "/注册" in await ask(STRANGER, "/粉丝 抖音 100")

        # rankings and targets, for anyone
        text = await ask(STRANGER, "/粉丝 排行")
        assert "【按粉丝数】\n1. 郑州大学 14.73万\n2. 河南大学 1.23万" in text
        assert "【按本月" in text and "郑州大学 +345" in text
        text = await ask(STRANGER, "/粉丝 排行 抖音 本科高校")
        assert "1. 郑州大学 12.3万" in text and "2. 河南大学 1.23万" in text
        text = await ask(ZZU, "/粉丝 目标")
        assert "郑州大学 粉丝目标 10万" in text and "已达标" in text and "微信公众号“郑大青年” 1.23万" in text
        text = await ask(STRANGER, "/粉丝 目标 河南大学")
        assert "河南大学 粉丝目标 8万（本科高校，在校生不超过2万人）" in text and "15.4%" in text

        # posts and the 僵尸号 watch
        assert "最近一次更新是" in await ask(HENU, "/更新 抖音")
        assert "1 天前" in await ask(ZZU, "/更新 微信 郑大青年 昨天")
        assert "只有管理员" in await ask(ZZU, "/僵尸号")
        text = await ask(ADMIN, "/僵尸号")
        assert "【僵尸号：14 天及以上没有更新】1 个单位 2 个账号" in text
        assert "郑州大学：微信公众号“郑州大学”（从未报告更新，60 天）、抖音“郑州大学”（从未报告更新，60 天）" in text
        assert "河南大学" not in text
        assert "没有找到" in await ask(ADMIN, "/僵尸号 90")

        whole = await client.ask_private(ADMIN, "/粉丝 排行", timeout=15)
        assert "1. 郑州大学" in whole.text and "未列出" not in whole.text
        assert all(s.ats.count("all") == 0 for s in client.sent)
    finally:
        await client.close()
        await proc.stop()

    db = Database(tmp_path / "data" / "alliance.db")
    await db.open()
    try:
        async with db.read() as tx:
            rows = await tx.all("SELECT account_id, day, count FROM follower_reports ORDER BY account_id, day")
        assert len(rows) == 5  # the correction replaced 河南大学's report of the day
        assert [r["count"] for r in rows if r["account_id"] == 4] == [12345]
    finally:
        await db.close()
