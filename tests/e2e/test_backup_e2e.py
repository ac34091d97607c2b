"""Issue 25.1 and 25.3 through the real bot process: a backup taken in the middle of a confirmation burst restores
to an intact database holding every confirmation acknowledged before it began; restore is refused while the bot
runs; a database newer than the code is refused at start."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from bench.load import BenchClient
from bench.procs import bot_env
from bench.seed import seed
from bot.db import latest_version
from sim.qqsim import BotProcess, Sent
from tests.e2e.bots import announce, cli, query

ADMIN = 900001
LIMIT = 60


def _ack(sent: Sent) -> list[int] | None:
    """Who an acknowledgement names: one “已记录” answer, or a merged “N 条确认” message."""
    if ("已记录" in sent.text or "确认" in sent.text) and sent.ats:
        return [int(q) for q in sent.ats]
    return None


async def test_a_backup_mid_burst_restores_every_acknowledged_confirmation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ds = await seed(data / "alliance.db", 150, history=0)
    env = bot_env(data, ds.group_id, (ADMIN,), "INFO") | {"ALLIANCE_ACK_WINDOW": "0.2", "ALLIANCE_AT_BATCH": "10"}
    proc = BotProcess(tmp_path, env)
    client = BenchClient(proc.url, self_id=10000)
    client.reactions_supported = False  # acknowledgements come as merged messages naming who was counted
    ops = sorted(ds.operators)[:120]
    async with asyncio.timeout(LIMIT):
        try:
            await proc.start(timeout=40)
            await client.connect(timeout=20)
            task = await announce(client, ds.group_id, ADMIN, "/统发 备份演练 https://example.com/b 截止 明天18点", 20)

            backed_up = asyncio.Event()

            async def burst() -> None:  # confirmations keep coming while the backup runs, the rest after it
                for i, op in enumerate(ops):
                    await client.group_message(ds.group_id, op, f"/已转发 {task}")
                    await asyncio.sleep(0.05 if i >= 30 and not backed_up.is_set() else 0.005)

            sending = asyncio.create_task(burst())
            await client.wait_sent(lambda s: _ack(s) is not None, count=2, timeout=30)
            acked_before = {q for s in list(client.sent) for q in _ack(s) or []}
            code, out = await cli(proc, "backup", str(tmp_path / "backups"))
            backed_up.set()
            assert code == 0, out
            assert "已备份到" in out
            archive = Path(re.search(r"已备份到 (\S+\.zip)", out).group(1))  # type: ignore[union-attr]
            await sending
            # the bot went on answering during and after the backup
            await client.wait_sent(lambda s: ops[-1] in (_ack(s) or []), timeout=30)

            code, out = await cli(proc, "restore", str(archive))
            assert code == 1 and "机器人正在运行" in out and "请先停止机器人" in out, out
        finally:
            await client.close()
            await proc.stop()

        everyone = {int(r[0]) for r in query(ds.db_path, "SELECT user_id FROM broadcast_confirmations")}
        assert set(ops) <= everyone
        code, out = await cli(proc, "restore", str(archive))
        assert code == 0 and "已恢复" in out and "完整性检查通过" in out, out
        assert query(ds.db_path, "PRAGMA integrity_check") == [("ok",)]
        restored = {int(r[0]) for r in query(ds.db_path, "SELECT user_id FROM broadcast_confirmations WHERE counted=1")}
        assert acked_before, "some confirmations were acknowledged before the backup"
        assert acked_before <= restored, f"acknowledged but not in the backup: {sorted(acked_before - restored)}"
        assert restored < everyone, "the backup is a snapshot from the middle of the burst"
        assert list(data.glob("alliance.db.before-restore-*")), "the replaced database is kept"


async def test_a_database_newer_than_the_code_is_refused_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ds = await seed(data / "alliance.db", 5, history=0)
    with closing(sqlite3.connect(ds.db_path)) as con:
        con.execute(f"PRAGMA user_version={latest_version() + 1}")
    before = ds.db_path.read_bytes()
    proc = BotProcess(tmp_path, bot_env(data, ds.group_id, (ADMIN,), "INFO"))
    try:
        code, out = await cli(proc, "run")
    finally:
        await proc.stop()
    assert code == 2, out
    assert f"版本是 {latest_version() + 1}" in out and "更新版本的联盟助手" in out and "Traceback" not in out, out
    assert ds.db_path.read_bytes() == before
