"""The reconnect scenario (issue 22): the catch-up at a connect, and live commands answered meanwhile.

The bot announces a 统发 and stops. While it is down the group goes on: `history` messages (every fourth a
`/已转发 N` by an operator, the rest chatter and questions that are not answered late) and `reactions` confirming
reactions on the announcement by other operators (neither client replays events to a reverse WebSocket that was
down). The bot starts again; as soon as it reads the group's history (`get_group_msg_history`), an admin asks
`/查询 <名称>`, and again every `ask_every` seconds until the catch-up is over. Reported: the first live
command's latency (target ≤ 3 s), the live commands' p50/max during the catch-up, the time from the connect until
every confirmation is recorded (typed ones from the history, then the reactions), and the count recorded.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import BenchClient, Request, ms, percentile
from bench.seed import Dataset
from sim.qqsim import BotProcess

FIRST_TARGET_S = 3.0
CHATTER = ("收到", "好的，马上转", "[CQ:face,id=76]", "/查询 郑州大学", "请问截止时间是？", "已阅")


@dataclass
class ReconnectSizes:
    history: int = 2000  # group messages while the bot was down
    reactions: int = 1000  # confirming reactions on the announcement meanwhile
    ask_every: float = 0.5  # seconds between live /查询 during the catch-up
    limit: float = 300.0  # seconds to wait for the catch-up


QUICK_RECONNECT = ReconnectSizes(history=200, reactions=100, ask_every=0.5, limit=120.0)


def _recorded(db_path: Path, task: int) -> int:
    with closing(sqlite3.connect(db_path, timeout=10)) as db:  # read beside the bot (WAL)
        return db.execute(
            "SELECT COUNT(*) FROM broadcast_confirmations WHERE task_id=? AND counted=1", (task,)
        ).fetchone()[0]


async def _announce(client: BenchClient, ds: Dataset) -> tuple[int, int]:
    """An admin creates a task; (its number, the announcement's message id)."""
    mark = len(client.sent)
    await client.group_message(ds.group_id, ds.admins[0], "/统发 重连测试 https://example.com/r 截止 明天18点")
    deadline = time.monotonic() + 60
    task = None
    while time.monotonic() < deadline:
        for s in client.sent[mark:]:
            m = re.search(r"【一键统发 #(\d+)】", s.text)
            if s.group_id == ds.group_id and m:
                task = int(m.group(1))
                await asyncio.sleep(1.0)  # the answer to the admin and the key of the announcement
                return task, s.message_id
        await asyncio.sleep(0.1)
    raise RuntimeError("the announcement did not go out")


async def run_reconnect(ds: Dataset, workdir: Path, env: dict[str, str], sizes: ReconnectSizes) -> dict[str, Any]:
    """Announce, stop, let the group go on, start again: the figures and whether the target was met."""
    proc = BotProcess(workdir, env)
    client = BenchClient(proc.url, self_id=10000)
    client.group_names[ds.group_id] = "联盟群"  # the bot reads back only the groups the account says it is in
    ops = sorted(ds.operators)
    typed_n = (sizes.history + 3) // 4
    if len(ops) < typed_n + sizes.reactions:
        raise RuntimeError(f"{typed_n + sizes.reactions} confirmations need as many operators; {len(ops)} seeded")
    asker, g = ds.admins[-1], ds.group_id
    try:
        await proc.start(timeout=60)
        await client.connect(timeout=60)
        task, note = await _announce(client, ds)
        await client.request(Request("查询", asker, f"/查询 {ds.units[0][1]}", g), 30)  # the last message seen live
        before = _recorded(ds.db_path, task)
        await client.close()
        await proc.stop()

        now = time.time() + 1
        typed = ops[:typed_n]
        for i in range(sizes.history):
            if i % 4 == 0:
                client.offline_group_message(g, typed[i // 4], f"/已转发 {task}", when=now + i / 100)
            else:
                client.offline_group_message(g, ops[-1 - i % 50], CHATTER[i % len(CHATTER)], when=now + i / 100)
        for qq in ops[typed_n : typed_n + sizes.reactions]:
            client.react_offline(qq, note, "76")
        expected = before + typed_n + sizes.reactions

        await proc.start(timeout=60)
        client.api_calls.clear()
        await client.connect(timeout=60)
        connected = time.monotonic()
        while not any(a == "get_group_msg_history" for a, _ in client.api_calls):
            if time.monotonic() - connected > 60:
                raise RuntimeError("the bot did not read the group's history")
            await asyncio.sleep(0.01)
        history_read = time.monotonic()
        latencies: list[float] = []
        done_at = None
        while time.monotonic() - connected < sizes.limit:
            asked = time.monotonic()
            try:
                latency, _ = await client.request(Request("查询", asker, f"/查询 {ds.units[0][1]}", g), 30)
            except TimeoutError:
                latency = 30.0
            latencies.append(latency)
            if _recorded(ds.db_path, task) >= expected:
                done_at = time.monotonic()
                break
            await asyncio.sleep(max(0.0, sizes.ask_every - (time.monotonic() - asked)))
        recorded = _recorded(ds.db_path, task)
    finally:
        await client.close()
        await proc.stop()
    first = latencies[0] if latencies else None
    return {
        "status": "ok",
        "history_messages": sizes.history,
        "typed_confirmations": typed_n,
        "reactions": sizes.reactions,
        "first_live_ms": ms(first),
        "live_n": len(latencies),
        "live_p50_ms": ms(percentile(latencies, 50)),
        "live_max_ms": ms(max(latencies) if latencies else None),
        "history_read_after_connect_ms": ms(history_read - connected),
        "catch_up_s": round(done_at - connected, 2) if done_at is not None else None,
        "recorded": f"{recorded - before}/{typed_n + sizes.reactions}",
        "ok": first is not None and first <= FIRST_TARGET_S and recorded >= expected,
    }


def reconnect_text(r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return f"reconnect: {r}"
    return (
        f"reconnect: {r['history_messages']} history messages ({r['typed_confirmations']} /已转发) and "
        f"{r['reactions']} reactions caught up in {r['catch_up_s']} s (recorded {r['recorded']}); first live "
        f"/查询 {r['first_live_ms']} ms (target ≤ {FIRST_TARGET_S:.0f} s), during the catch-up p50 "
        f"{r['live_p50_ms']} ms max {r['live_max_ms']} ms (n={r['live_n']}) → {'met' if r['ok'] else 'NOT met'}"
    )
