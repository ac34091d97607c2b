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
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path

import httpx

from bench.load import BenchClient, Request
from bench.seed import Dataset
from sim.qqsim import BotProcess
from tests.e2e.bots import announce, confirm_all, query, seeded

ADMINS = (900001, 900002)
UNITS = 60
LIMIT = 40


def bot(tmp_path: Path, **env: str) -> AbstractAsyncContextManager[tuple[BotProcess, Dataset]]:
    return seeded(tmp_path, UNITS, ADMINS, timeout=30, **env)


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
            task = await announce(client, group, ADMINS[0], "/统发 停机测试 https://example.com/t 截止 明天18点", 20)
            await confirm_all(client, group, ops, task)
            await client.wait_sent(lambda s: "条确认" in s.text, count=1, timeout=20)
            assert proc.proc is not None
            began = time.monotonic()
            proc.proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.proc.wait(), 15)
            took = time.monotonic() - began
        finally:
            await client.close()
        assert took < 10, f"stopping took {took:.1f} s"
        # uvicorn ends by the signal it got after a clean shutdown (systemd counts that as a clean stop)
        assert code in (0, -signal.SIGTERM), proc.log_tail()
        assert "联盟助手已停止" in proc.log_text()
        # the log file (ALLIANCE_LOG_FILE's default) holds the same run, the core's own records included
        logged = (tmp_path / "data" / "logs" / "bot.log").read_text(encoding="utf-8")
        assert "联盟助手已启动" in logged and "联盟助手已停止" in logged
        assert "alliance.outbox | QQ 客户端 10000 不支持表情回应" in logged
        # a line per message received, without NoneBot's two bookkeeping lines around each (bot/logfile.py)
        assert "[message.group.normal]" in logged and "running complete" not in logged
        assert "Event will be handled by" not in logged and "running complete" not in proc.log_text()
        acked = [int(q) for s in client.sent if "确认" in s.text for q in s.ats]
        db = ds.db_path
        confirmed = {int(r[0]) for r in query(db, "SELECT user_id FROM broadcast_confirmations WHERE counted=1")}
        assert acked and set(acked) <= confirmed  # every acknowledged confirmation was committed
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
        # the bot finished what it was writing: no message is left claimed half-way
        assert query(db, "SELECT COUNT(*) FROM outbox WHERE state='sending'") == [(0,)]


# ----------------------------------------------------------------------------- /healthz and /metrics

TOKEN = "health-token-0123456789"


def metric(text: str, name: str) -> float:
    """The value of one sample (`name` with its labels, as written) in a Prometheus text answer."""
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert m is not None, f"{name} not in /metrics"
    return float(m.group(1))


def queue_stuck(db: Path, minutes: int) -> None:
    """A message waiting in the outbox since `minutes` ago (as if the client had been silent that long)."""
    with closing(sqlite3.connect(db, timeout=10)) as con, con:
        con.execute(
            "INSERT INTO outbox (target_type, target_id, message, created_at, priority) VALUES "
            '(\'private\', \'900001\', \'[{"type": "text", "data": {"text": "积压"}}]\', '
            "strftime('%Y-%m-%dT%H:%M:%S', 'now', 'localtime', ?), 0)",
            (f"-{minutes} minutes",),
        )


async def test_healthz_and_metrics_show_a_disconnected_client_and_a_stuck_outbox(tmp_path: Path) -> None:
    env = {
        "ALLIANCE_ACCOUNTS": '["10000"]',
        "DASHBOARD_TOKEN": TOKEN,
        "DASHBOARD_TRUSTED_PROXIES": '["127.0.0.1"]',  # so a request can say it comes from elsewhere
        "TZ": "Asia/Shanghai",
    }
    async with asyncio.timeout(LIMIT), bot(tmp_path, **env) as (proc, ds):
        base = f"http://127.0.0.1:{proc.port}"
        client = BenchClient(proc.url, self_id=10000)
        async with httpx.AsyncClient(base_url=base, timeout=10) as web:
            # not connected yet: 503, naming the account
            r = await web.get("/healthz")
            assert r.status_code == 503, r.text
            body = r.json()
            assert any("QQ 账号 10000 未连接" in p for p in body["problems"]), body
            assert body["database"]["writable"] is True and body["accounts"][0]["connected"] is False
            m = (await web.get("/metrics")).text
            assert metric(m, 'alliance_client_connected{account="10000"}') == 0
            assert metric(m, "alliance_healthy") == 0

            # access: from elsewhere (through the trusted proxy) only with the dashboard token
            away = {"X-Forwarded-For": "203.0.113.9"}
            for path in ("/healthz", "/metrics"):
                refused = await web.get(path, headers=away)
                assert refused.status_code == 403 and "Authorization" in refused.text and "alliance" not in refused.text
                wrong = await web.get(path, headers={**away, "Authorization": "Bearer wrong-token-000000"})
                assert wrong.status_code == 403
                assert (await web.get(path, headers={**away, "Authorization": f"Bearer {TOKEN}"})).status_code in (
                    200,
                    503,
                )

            try:
                await client.connect(timeout=20)
                _, reply = await client.request(Request("状态", ADMINS[0], "/状态", ds.group_id), 15)
                assert "已私聊" in reply.text
                [private] = await client.wait_sent(lambda s: s.group_id is None and "联盟助手" in s.text, timeout=10)
                assert "QQ 账号 10000：已连接" in private.text and "待发消息" in private.text
                assert "数据库" in private.text and "最近备份：还没有" in private.text

                async with asyncio.timeout(10):  # connected, nothing owed: well
                    while (r := await web.get("/healthz")).status_code != 200:
                        await asyncio.sleep(0.2)
                assert r.json()["status"] == "ok" and r.json()["accounts"][0]["connected"] is True
                m = (await web.get("/metrics")).text
                assert metric(m, 'alliance_client_connected{account="10000"}') == 1
                assert metric(m, "alliance_healthy") == 1
                assert metric(m, 'alliance_events_total{type="message"}') >= 1
                assert metric(m, 'alliance_messages_out_total{kind="answer",outcome="sent"}') >= 2
                assert metric(m, "alliance_command_seconds_count") >= 1
                assert 'alliance_command_seconds_bucket{le="0.25"}' in m
                assert not re.search(r"^alliance_errors_total", m, re.M), "no error was logged"
                assert metric(m, "alliance_uptime_seconds") > 0
            finally:
                await client.close()

            # the client went away, and a message has waited 11 minutes: 503 with both reasons
            await asyncio.to_thread(queue_stuck, ds.db_path, 11)
            async with asyncio.timeout(10):
                while (r := await web.get("/healthz")).json()["accounts"][0]["connected"]:
                    await asyncio.sleep(0.2)
            assert r.status_code == 503
            problems = r.json()["problems"]
            assert any("QQ 账号 10000 未连接" in p for p in problems), problems
            assert any("发送队列积压 1 条" in p and "11 分钟" in p for p in problems), problems
            m = (await web.get("/metrics")).text
            assert metric(m, 'alliance_client_connected{account="10000"}') == 0
            assert metric(m, 'alliance_client_disconnected_seconds{account="10000"}') >= 0
            assert metric(m, "alliance_outbox_backlog") == 1
            assert 660 <= metric(m, "alliance_outbox_oldest_seconds") < 720

            # back: the stuck message goes out, and all is well again
            again = BenchClient(proc.url, self_id=10000)
            try:
                await again.connect(timeout=20)
                await again.wait_sent(lambda s: "积压" in s.text, timeout=10)
                async with asyncio.timeout(10):
                    while (r := await web.get("/healthz")).status_code != 200:
                        await asyncio.sleep(0.2)
                assert metric((await web.get("/metrics")).text, "alliance_outbox_backlog") == 0
            finally:
                await again.close()
