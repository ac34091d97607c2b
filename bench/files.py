"""The file-return scenario (issue 16): units upload a filled 统计表 through the simulated client, then the office
merges them. Measured: upload → answer latency (p50/p99), the `/报送 汇总` time, and the bot's peak RSS.

Every unit's operator uploads an .xlsx of `rows` accounts (every tenth with a mistake) announced by a
group_upload notice; the file is served from a local HTTP server and fetched by the bot through
get_group_file_url, as from a real client. Targets (issue 16): answer p99 ≤ 2 s, 汇总 ≤ 10 s, RSS ≤ 200 MB.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from bench.load import BenchClient, Request, ms, percentile
from bench.procs import memory_mb
from bench.seed import Dataset
from sim import samples
from sim.qqsim_files import FileServer, SimFiles

P99_TARGET_MS = 2000.0
MERGE_TARGET_S = 10.0
RSS_TARGET_MB = 200.0


@dataclass
class FileSizes:
    units: int = 2000
    rows: int = 20
    window: int = 50
    timeout: float = 60.0


def _variants(rows: int) -> list[tuple[bytes, bool]]:
    """A few forms to hand in (the unit is the uploader's; the rows need not name it): 9 good, 1 with mistakes."""
    out = [(samples.xlsx(samples.stats_rows(f"单位{k}", rows)), False) for k in range(9)]
    out.append((samples.xlsx(samples.stats_rows("单位9", rows, {1: "date", 3: "platform"})), True))
    return out


async def run_files(client: BenchClient, ds: Dataset, pid: int | None, sizes: FileSizes) -> dict[str, Any]:
    """Run the scenario against a started bot; returns the figures (and `ok` against the targets)."""
    server = await FileServer().start()
    try:
        sim = SimFiles(client, server)
        admin = ds.admins[0]
        created = await client.request(
            Request("files", admin, "/报送 新建 基准新媒体统计 截止 3天后 表格 统计表", ds.group_id), sizes.timeout
        )
        rid = _return_id(created[1].text)
        variants = _variants(sizes.rows)
        operators = sorted(ds.operators.items(), key=lambda kv: kv[1])[: sizes.units]
        latencies: list[float] = []
        wrong: list[str] = []
        queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        for i, (qq, _unit) in enumerate(operators):
            queue.put_nowait((i, qq))

        async def worker() -> None:
            while not queue.empty():
                i, qq = queue.get_nowait()
                data, bad = variants[i % len(variants)]
                key = ("g", ds.group_id, qq)
                fut: asyncio.Future = asyncio.get_running_loop().create_future()
                client.waiting[key] = fut
                started = time.monotonic()
                await sim.group_upload(ds.group_id, qq, f"20261030单位{i}新媒体统计.xlsx", data)
                try:
                    reply = await asyncio.wait_for(fut, sizes.timeout)
                except TimeoutError:
                    wrong.append(f"{qq}: no answer")
                    continue
                finally:
                    client.waiting.pop(key, None)
                latencies.append(reply.time - started)
                expect = "处要改" if bad else "已记为已报送"
                if expect not in reply.text:
                    wrong.append(f"{qq}: {reply.text[:80]}")

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(max(1, min(sizes.window, len(operators))))))
        wall = time.monotonic() - t0
        client.mark()
        m0 = time.monotonic()
        await client.group_message(ds.group_id, admin, f"/报送 汇总 {rid}")
        merged = await client.wait_sent(lambda s: s.action == "upload_group_file", timeout=120)
        merge_s = time.monotonic() - m0
        mem = memory_mb(pid)
    finally:
        await server.stop()
    p50, p99 = ms(percentile(latencies, 50)), ms(percentile(latencies, 99))
    result = {
        "units": len(operators),
        "rows_per_file": sizes.rows,
        "answered": len(latencies),
        "wrong_or_missing": wrong[:10],
        "wall_s": round(wall, 2),
        "uploads_per_s": round(len(latencies) / wall, 1) if wall else None,
        "answer_p50_ms": p50,
        "answer_p99_ms": p99,
        "merge_s": round(merge_s, 2),
        "merged_file": merged[0].params.get("file") if merged else None,
        "peak_rss_mb": mem.get("peak_rss_mb"),
    }
    result["ok"] = (
        not wrong
        and p99 is not None
        and p99 <= P99_TARGET_MS
        and merge_s <= MERGE_TARGET_S
        and (mem.get("peak_rss_mb") or 0) <= RSS_TARGET_MB
    )
    return result


def _return_id(text: str) -> int:
    m = re.search(r"报送 #(\d+)", text)
    if not m:
        raise RuntimeError(f"the return was not created: {text[:200]}")
    return int(m.group(1))


def files_text(r: dict[str, Any]) -> str:
    """One paragraph for the terminal."""
    if "answered" not in r:
        return f"files: {r.get('status') or r}"
    return (
        f"files: {r['answered']}/{r['units']} uploads of {r['rows_per_file']} rows answered, "
        f"answer p50/p99 {r['answer_p50_ms']}/{r['answer_p99_ms']} ms (target p99 ≤ {P99_TARGET_MS:.0f}), "
        f"/报送 汇总 {r['merge_s']} s (target ≤ {MERGE_TARGET_S:.0f}), peak RSS {r['peak_rss_mb']} MB "
        f"(target ≤ {RSS_TARGET_MB:.0f}) → {'met' if r['ok'] else 'NOT met'}"
        + (f"; wrong answers: {r['wrong_or_missing']}" if r["wrong_or_missing"] else "")
    )
