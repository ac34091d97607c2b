"""Issue 25.1 and 25.4 through the real bot process: the running bot writes the day's backup archive (here the one it
missed while it was down at ALLIANCE_BACKUP_TIME) and then prunes what is past its keeping (a file of a return closed long ago goes, an open return's
stays), each pruning a line in the audit log, while it keeps answering."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App
from sim.qqsim import BotProcess, QQClient
from tests.bot.test_backup import _return_with_file
from tests.conftest import make_settings

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = 900001
GROUP = 100200300
SHIM = Path(__file__).resolve().parent / "clockshim"


async def test_the_running_bot_makes_the_backup_it_missed_and_prunes(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path))  # the data a bot left: two returns with files, one closed three years ago
    await app.open()
    try:
        await _return_with_file(app, 1, "已结束", "2023-11-01T00:00:00", "20231101-old.xlsx", b"old")
        await _return_with_file(app, 2, "进行中", None, "20231102-open.xlsx", b"open, however old")
    finally:
        await app.db.close()
    data = tmp_path / "data"
    files = data / "return_files"
    today = datetime.now(TZ).date()
    env = {
        "ALLIANCE_ADMINS": f'["{ADMIN}"]',
        "ALLIANCE_GROUPS": f"[{GROUP}]",
        "ALLIANCE_DATA_DIR": str(data),
        "ALLIANCE_SEND_INTERVAL": "0",
        "ALLIANCE_BACKUP_TIME": "03:30",
        # the bot was down at 03:30 (yesterday's archive is the newest) and starts at 09:00: it backs up at once
        # (the clock shim moves the bot's clock, not the machine's)
        "ALLIANCE_TEST_NOW": datetime.combine(today, time(9, 0), tzinfo=TZ).isoformat(),
        "PYTHONPATH": str(SHIM),
    }
    backups = data / "backups"
    backups.mkdir(parents=True)
    yesterday = backups / f"alliance-{today - timedelta(days=1):%Y%m%d}-033000.zip"
    yesterday.write_bytes(b"yesterday's archive")
    proc = BotProcess(tmp_path, env)
    client = QQClient(proc.url)
    try:
        await proc.start(timeout=40)
        await client.connect(timeout=15)
        async with asyncio.timeout(60):
            while not (len(list(backups.glob("alliance-*.zip"))) == 2 and not (files / "20231101-old.xlsx").exists()):
                await asyncio.sleep(0.2)
        reply = await client.ask(GROUP, 20001, "/帮助")  # it keeps answering
        assert "联盟助手" in reply.text
    finally:
        await client.close()
        await proc.stop()
    assert (files / "20231102-open.xlsx").exists(), "an open return's file is never pruned"
    with closing(sqlite3.connect(data / "alliance.db")) as con:
        audit = con.execute("SELECT actor, action, detail FROM audit ORDER BY id").fetchall()
    assert any(a == "系统" and act == "清理报送文件" and "20231101-old.xlsx" in d for a, act, d in audit), audit
    (archive,) = [p for p in backups.glob("alliance-*.zip") if p != yesterday]
    assert archive.stat().st_size > 0 and archive.name.startswith(f"alliance-{today:%Y%m%d}-0900")
