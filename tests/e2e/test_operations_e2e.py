"""Operating it (issue 25 §2 and §5): /healthz, /metrics and SIGTERM, through the real bot process.

Each test starts `python -m bot` on a seeded database (bench.seed) and talks to it as the simulated QQ client
(sim.qqsim); the web endpoints are read over HTTP from the same machine. Every process is stopped in `finally`.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import httpx

from bench.load import BenchClient, Request
from bench.procs import bot_env
from bench.seed import Dataset, seed
from sim.qqsim import BotProcess

ADMINS = (900001, 900002)
UNITS = 60
LIMIT = 40


@asynccontextmanager
async def bot(tmp_path: Path, **env: str) -> AsyncIterator[tuple[BotProcess, Dataset]]:
    data = tmp_path / "data"
    ds = await seed(data / "alliance.db", UNITS, history=1)
    full_env = bot_env(data, ds.group_id, ADMINS, "INFO")
    full_env.update(env)
    proc = BotProcess(tmp_path, full_env)
    try:
        await proc.start(timeout=30)
        yield proc, ds
    finally:
        await proc.stop()


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(db, timeout=10)) as con:
        return con.execute(sql, params).fetchall()


# ----------------------------------------------------------------------------- SIGTERM


async def test_sigterm_during_a_confirmation_burst_loses_nothing_acknowledged_and_exits_within_10s(
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(LIMIT), bot(tmp_path, ALLIANCE_ACK_WINDOW="0.3", ALLIANCE_AT_BATCH="10") as (proc, ds):
        group = ds.group_id
        client = BenchClient(proc.url, self_id=10000)
        client.reactions_supported = False  # acknowledgements go as merged messages that name who was counted
        ops = sorted(ds.operators)[:UNITS]
        try:
            await client.connect(timeout=20)
            _, reply = await client.request(
                Request("统发", ADMINS[0], "/统发 停机测试 https://example.com/t 截止 明天18点", group), 20
            )
            task = re.search(r"#(\d+)", reply.text).group(1)  # type: ignore[union-attr]
            for op in ops:
                await client.group_message(group, op, f"/已转发 {task}")
            await client.wait_sent(lambda s: "条确认" in s.text, count=1, timeout=20)
            assert proc.proc is not None
            began = time.monotonic()
            proc.proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.proc.wait(), 15)
            took = time.monotonic() - began
        finally:
            await client.close()
        assert took < 10, f"stopping took {took:.1f} s"
        assert code == 0, proc.log_tail()
        acked = [int(q) for s in client.sent if "确认" in s.text for q in s.ats]
        db = ds.db_path
        confirmed = {int(r[0]) for r in query(db, "SELECT user_id FROM broadcast_confirmations WHERE counted=1")}
        assert acked and set(acked) <= confirmed  # every acknowledged confirmation was committed
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        # the bot finished what it was writing: no message is left claimed half-way
        assert query(db, "SELECT COUNT(*) FROM outbox WHERE state='sending'") == [(0,)]
