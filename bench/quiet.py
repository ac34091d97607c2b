"""The quiet-group scenario (issue 15): a burst of confirmations at the production send gap.

Distinct operators confirm one 统发 over a few minutes — a third by `/已转发 N`, a third by replying 已转发 to
the announcement, a third by a reaction on it — while someone asks `/查询` every so often. Run twice on the same
bot: with a client that can put reactions (acknowledgements are reactions) and with one that cannot (they are
merged into few messages). Reported: the group messages the burst caused, the time from a typed confirmation to
its acknowledgement (reaction or message), the `/查询` latency, and the count the bot recorded.
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

CONFIRM_EMOJI = "76"


@dataclass
class QuietSizes:
    confirmations: int = 1000
    spread: float = 180.0  # seconds over which the confirmations come
    query_every: float = 20.0
    interval: float = 1.5  # ALLIANCE_SEND_INTERVAL: the production gap
    drain: float = 90.0  # how long to wait for the last acknowledgements


QUICK_QUIET = QuietSizes(confirmations=24, spread=4.0, query_every=4.0, interval=1.5, drain=30.0)

TARGETS = {  # (most group messages caused by the burst, p99 acknowledgement seconds, p99 /查询 seconds)
    "with_reactions": (5, 5.0, 3.0),
    "without_reactions": (40, 20.0, 3.0),
}


def quiet_env(base: dict[str, str], sizes: QuietSizes) -> dict[str, str]:
    env = dict(base)
    env["ALLIANCE_SEND_INTERVAL"] = str(sizes.interval)
    env.pop("ALLIANCE_SEND_JITTER", None)  # the production jitter (0.3 s) and reaction gap (0.2 s) too
    env.pop("ALLIANCE_REACTION_INTERVAL", None)
    return env


async def _announce(client: BenchClient, ds: Dataset, title: str) -> tuple[int, int]:
    """An admin creates a task; (its number, the announcement's message id in the group)."""
    g = ds.group_id
    mark = len(client.sent)
    await client.request(Request("统发", ds.admins[0], f"/统发 {title} https://example.com/q 截止 明天18点", g), 60)
    deadline = time.monotonic() + 60
    m = None
    while m is None:  # its answer (a late answer of an earlier scenario to the same admin may come first)
        m = next((x for s in client.sent[mark:] if (x := re.search(r"已发布统发 #(\d+)", s.text))), None)
        if m is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the task was not created")
            await asyncio.sleep(0.1)
    task = int(m.group(1))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for s in client.sent[mark:]:
            if s.group_id == g and s.text.startswith(f"【一键统发 #{task}】"):
                return task, s.message_id
        await asyncio.sleep(0.1)
    raise RuntimeError("the announcement did not go out")


async def one_run(client: BenchClient, ds: Dataset, sizes: QuietSizes, operators: list[int], label: str) -> dict:
    g = ds.group_id
    task, announcement = await _announce(client, ds, f"安静测试{label}")
    await asyncio.sleep(max(3.0, sizes.interval * 2))  # the "已发布" answer and announcement are out
    sent_mark = len(client.sent)
    reactions_mark = len(client.bot_reactions)
    typed: dict[int, tuple[int, float]] = {}  # operator → (message id, sent at)
    queries: list[float] = []
    asker = ds.admins[-1]

    async def ask_queries(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                latency, _ = await client.request(Request("查询", asker, f"/查询 {ds.units[0][1]}", g), 30)
                queries.append(latency)
            except TimeoutError:
                queries.append(30.0)
            try:
                await asyncio.wait_for(stop.wait(), sizes.query_every)
            except TimeoutError:
                pass

    stop = asyncio.Event()
    q_task = asyncio.create_task(ask_queries(stop))
    began = time.monotonic()
    step = sizes.spread / max(1, len(operators))
    for i, op in enumerate(operators):
        wait = began + i * step - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if i % 3 == 0:
            mid = await client.group_message(g, op, f"/已转发 {task}")
            typed[op] = (mid, time.monotonic())
        elif i % 3 == 1:
            mid = await client.group_message(g, op, "已转发", reply_to=announcement)
            typed[op] = (mid, time.monotonic())
        else:
            await client.react(g, op, announcement, CONFIRM_EMOJI)

    def acked() -> dict[int, float]:
        out: dict[int, float] = {}
        by_mid = {mid: op for op, (mid, _) in typed.items()}
        for mid, _emoji, at in client.bot_reactions[reactions_mark:]:
            op = by_mid.get(mid)
            if op is not None:
                out.setdefault(op, at)
        for s in client.sent[sent_mark:]:
            if s.group_id == g:
                for qq in s.ats:
                    if qq.isdigit() and int(qq) in typed:
                        out.setdefault(int(qq), s.time)
        return out

    deadline = time.monotonic() + sizes.drain
    while time.monotonic() < deadline and len(acked()) < len(typed):
        await asyncio.sleep(0.5)
    stop.set()
    await q_task
    done_at = acked()
    latencies = [done_at[op] - at for op, (_, at) in typed.items() if op in done_at]
    query_replies = len(queries)
    group_msgs = [s for s in client.sent[sent_mark:] if s.group_id == g]
    await asyncio.sleep(1.0)  # the last reaction notices are handled (they are not acknowledged, so not awaited)
    with closing(sqlite3.connect(ds.db_path, timeout=10)) as db:  # what the bot recorded (read beside it, WAL)
        done = db.execute(
            "SELECT COUNT(*) FROM broadcast_confirmations WHERE task_id=? AND counted=1", (task,)
        ).fetchone()[0]
        total = db.execute("SELECT COUNT(*) FROM broadcast_units WHERE task_id=?", (task,)).fetchone()[0]
    return {
        "task": task,
        "confirmations": len(operators),
        "typed": len(typed),
        "by_reaction": len(operators) - len(typed),
        "acknowledged": len(done_at),
        "ack_by_reaction": len({op for op in done_at if any(r[0] == typed[op][0] for r in client.bot_reactions)}),
        "group_messages_from_burst": max(0, len(group_msgs) - query_replies),
        "ack_p50_ms": ms(percentile(latencies, 50)),
        "ack_p99_ms": ms(percentile(latencies, 99)),
        "ack_max_ms": ms(max(latencies) if latencies else None),
        "query_n": query_replies,
        "query_p50_ms": ms(percentile(queries, 50)),
        "query_p99_ms": ms(percentile(queries, 99)),
        "recorded": f"已完成 {done}/{total}",
        "wall_s": round(time.monotonic() - began, 1),
    }


async def run_quiet(ds: Dataset, workdir: Path, env: dict[str, str], sizes: QuietSizes) -> dict[str, Any]:
    """Both runs on a bot at the production send gap; the figures and whether each target was met."""
    proc = BotProcess(workdir, quiet_env(env, sizes))
    client = BenchClient(proc.url, self_id=10000)
    out: dict[str, Any] = {"status": "ok", "interval_s": sizes.interval, "spread_s": sizes.spread}
    ops = sorted(ds.operators)
    if len(ops) < sizes.confirmations:
        raise RuntimeError(f"{sizes.confirmations} confirmations need as many operators; the dataset has {len(ops)}")
    try:
        await proc.start(timeout=60)
        await client.connect(timeout=60)
        for label, reactions in (("with_reactions", True), ("without_reactions", False)):
            client.reactions_supported = reactions
            r = await one_run(client, ds, sizes, ops[: sizes.confirmations], label)
            most, ack_p99, query_p99 = TARGETS[label]
            r["targets"] = {
                f"group messages <= {most}": r["group_messages_from_burst"] <= most,
                f"p99 acknowledgement <= {ack_p99} s": (r["ack_p99_ms"] or 1e9) <= ack_p99 * 1000,
                f"p99 /查询 <= {query_p99} s": (r["query_p99_ms"] or 1e9) <= query_p99 * 1000,
            }
            out[label] = r
    finally:
        await client.close()
        await proc.stop()
    return out


def quiet_text(r: dict[str, Any]) -> str:
    lines = [f"quiet group at the production gap ({r.get('interval_s')} s), confirmations over {r.get('spread_s')} s:"]
    for label in ("with_reactions", "without_reactions"):
        x = r.get(label)
        if not isinstance(x, dict):
            continue
        met = ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in x["targets"].items())
        lines.append(
            f"  {label}: {x['confirmations']} confirmations ({x['typed']} typed, {x['by_reaction']} by reaction), "
            f"{x['group_messages_from_burst']} group messages, ack p50 {x['ack_p50_ms']} ms p99 {x['ack_p99_ms']} ms "
            f"({x['acknowledged']}/{x['typed']} acknowledged), /查询 p99 {x['query_p99_ms']} ms (n={x['query_n']}), "
            f"recorded {x['recorded']}; {met}"
        )
    return "\n".join(lines)
