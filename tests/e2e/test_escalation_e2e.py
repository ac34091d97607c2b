"""Issue 24.3 over a real WebSocket, with the sample roster: when a province 统发 is overdue, the 郑州 city admin gets
郑州's overdue list privately, once (also across a restart of the bot), and 洛阳's admin gets only 洛阳's."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sim.qqsim import BotProcess, QQClient
from tests.e2e.test_foundation import ADMIN, ENV, GROUP, TOKEN, import_roster_cli

TZ = ZoneInfo("Asia/Shanghai")
SHIM = Path(__file__).resolve().parent / "clockshim"
ZHENGZHOU, LUOYANG = 30001, 30002
MONDAY = datetime(2026, 12, 7, tzinfo=TZ).date()  # a working day


def at(hh: int, mm: int) -> str:
    return datetime.combine(MONDAY, time(hh, mm), tzinfo=TZ).isoformat()


async def test_an_overdue_task_sends_each_city_admin_their_area_once(tmp_path: Path) -> None:
    env = {**ENV, "PYTHONPATH": str(SHIM), "ALLIANCE_TEST_NOW": at(10, 0), "ALLIANCE_REMIND_OFFSETS": "[]"}
    proc = BotProcess(tmp_path, env)
    client = QQClient(proc.url, token=TOKEN)
    try:
        await proc.start(timeout=40)
        done = await asyncio.to_thread(import_roster_cli, proc)
        assert done.returncode == 0, done.stderr
        await client.connect(timeout=15)
        for qq, unit in ((ZHENGZHOU, "郑州市教育局"), (LUOYANG, "洛阳市教育局")):
            reply = await client.ask(GROUP, ADMIN, f"/管理员 任命 {qq} {unit}")
            assert " 为市级管理员" in reply.text and str(qq) in reply.ats, reply.text
        client.mark()
        await client.group_message(GROUP, ADMIN, "/统发 冬季安全提示 https://mp.weixin.qq.com/s/esc 截止 30分钟后")
        await client.wait_sent(lambda s: "已发布统发 #1" in s.text, timeout=20)
        await client.close()
        await proc.stop()

        # back at 11:00, past the 10:30 deadline, on a working day outside quiet hours: one list each
        proc.env["ALLIANCE_TEST_NOW"] = at(11, 0)
        client = QQClient(proc.url, token=TOKEN)
        await proc.start(timeout=40)
        await client.connect(timeout=15)
        zz = (await client.wait_sent(lambda s: s.user_id == ZHENGZHOU and "逾期名单" in s.text, timeout=30))[0]
        ly = (await client.wait_sent(lambda s: s.user_id == LUOYANG and "逾期名单" in s.text, timeout=30))[0]
        assert "【逾期名单 · 郑州市教育局及其下级单位】" in zz.text and "郑州市金水区教育局" in zz.text, zz.text
        assert "洛阳" not in zz.text and "郑州大学" not in zz.text
        assert "洛阳市" in ly.text and "郑州" not in ly.text, ly.text
        await client.quiet(1.0)
        assert len([s for s in client.sent if s.user_id == ZHENGZHOU and "逾期名单" in s.text]) == 1
        assert not [s for s in client.sent if s.group_id is not None and "逾期名单" in s.text], "never in the group"

        # a restart: not again
        await client.close()
        await proc.stop()
        proc.env["ALLIANCE_TEST_NOW"] = at(11, 30)
        client = QQClient(proc.url, token=TOKEN)
        await proc.start(timeout=40)
        await client.connect(timeout=15)
        await client.ask(GROUP, 20009, "/帮助")  # the bot is up and answering
        await client.quiet(1.0)
        assert not [s for s in client.sent if "逾期名单" in s.text]
    finally:
        await client.close()
        await proc.stop()
