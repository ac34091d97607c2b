"""The scenarios: each runs the same requests against the real bot and the bare echo bot."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.load import BenchClient, Request, RunResult, ms, probe_all, run_requests
from bench.procs import cpu_seconds, memory_mb, pid_of
from bench.seed import NEWCOMER_BASE, PROVINCE_ASKERS, Dataset
from sim.qqsim import BotProcess

SKIPPED = "skipped: command not available"
TASK_CREATE = "/统发 测试标题 https://example.com/a 截止 明天18点"


@dataclass
class Sizes:
    """How much load each scenario sends."""

    mixed: int = 1000
    burst: int = 1000
    progress: int = 200
    query: int = 500
    followers: int = 300
    startup_runs: int = 3
    window: int = 50
    timeout: float = 30.0
    probe_timeout: float = 4.0


QUICK = Sizes(
    mixed=60, burst=60, progress=20, query=30, followers=20, startup_runs=1, window=20, timeout=20.0, probe_timeout=4.0
)


@dataclass
class Side:
    """One bot under test: its process and the client connected to it."""

    name: str
    proc: BotProcess
    client: BenchClient | None = None
    startup: list[dict[str, float | None]] = field(default_factory=list)
    task_created: bool = False

    def memory(self) -> dict[str, float | None]:
        return memory_mb(pid_of(self.proc))

    async def start(self, first: Request, timeout: float = 60) -> dict[str, float | None]:
        """Start the process, connect, ask `first`; the times (ms) until the port opened and the first answer."""
        began = time.monotonic()
        await self.proc.start(timeout=timeout)
        port_open = time.monotonic()
        self.client = BenchClient(self.proc.url, self_id=10000)
        await self.client.connect(timeout=timeout)
        latency, reply = await self.client.request(first, timeout)
        run = {
            "port_open_ms": ms(port_open - began),
            "first_reply_ms": ms(reply.time - began),
            "first_latency_ms": ms(latency),
        }
        self.startup.append(run)
        return run

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
        await self.proc.stop()


async def settle(client: BenchClient, quiet: float = 0.5, limit: float = 15.0) -> None:
    """Wait until the bot has sent nothing for `quiet` seconds (at most `limit`)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = len(client.attempts)
        await asyncio.sleep(quiet)
        if len(client.attempts) == before:
            return


# ------------------------------------------------------------------ what each scenario sends


@dataclass
class Plan:
    """The shared facts every scenario draws its requests from."""

    ds: Dataset
    sizes: Sizes
    available: dict[str, bool] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    newcomer: int = NEWCOMER_BASE + 1_000_000

    def unit_names(self) -> list[str]:
        return [name for _, name in self.ds.units]

    def operators(self) -> list[int]:
        return sorted(self.ds.operators)

    def next_newcomer(self) -> int:
        self.newcomer += 1
        return self.newcomer


def probes(plan: Plan) -> dict[str, Request]:
    """One harmless request per command that other parts of the project may not have shipped yet."""
    ops = plan.operators()
    g = plan.ds.group_id
    return {
        "查询": Request("probe", ops[0], f"/查询 {plan.ds.units[0][1]}", g),
        "统发 进度": Request("probe", ops[1], "/统发 进度", g),
        "已转发": Request("probe", NEWCOMER_BASE + 999_999, "/已转发", g),  # someone unbound: nothing is counted
        "粉丝 排行": Request("probe", ops[2], "/粉丝 排行", g),
    }


def mixed_requests(plan: Plan) -> list[Request]:
    """A day in the group: reading the roster, one's unit and accounts, help, registrations, reviews, queries."""
    rng, ds, g = plan.rng, plan.ds, plan.ds.group_id
    names, ops = plan.unit_names(), plan.operators()
    filters = ["郑州", "洛阳", "南阳", "本科高校", "高职高专", "县区教育局", "高中", "小学"]
    kinds: list[tuple[str, int, Callable[[], Request]]] = [
        ("帮助(私聊)", 10, lambda: Request("帮助(私聊)", rng.choice(ops), "/帮助")),
        ("单位 列表", 10, lambda: Request("单位 列表", rng.choice(ops), f"/单位 列表 {rng.choice(filters)}", g)),
        ("单位 名称", 15, lambda: Request("单位 名称", rng.choice(ops), f"/单位 {rng.choice(names + ds.aliases)}", g)),
        ("我的单位", 20, lambda: Request("我的单位", rng.choice(ops), "/我的单位", g)),
        ("账号 列表", 10, lambda: Request("账号 列表", rng.choice(ops), f"/账号 列表 {rng.choice(names)}", g)),
        ("注册", 10, lambda: Request("注册", plan.next_newcomer(), f"/注册 {rng.choice(names)}", g)),
        ("审核", 5, lambda: Request("审核", rng.choice(ds.admins), "/审核", g)),
    ]
    if plan.available.get("查询"):
        kinds.append(("查询", 15, lambda: Request("查询", rng.choice(ops), f"/查询 {rng.choice(names)}", g)))
    if plan.available.get("统发 进度"):
        kinds.append(("统发 进度", 5, lambda: Request("统发 进度", rng.choice(ops), "/统发 进度", g)))
    weights = [w for _, w, _ in kinds]
    return [rng.choices(kinds, weights)[0][2]() for _ in range(plan.sizes.mixed)]


def burst_requests(plan: Plan) -> list[Request]:
    """`/已转发` from the operators of the first N units: distinct operators, distinct units."""
    ops = plan.operators()[: plan.sizes.burst]
    return [Request("已转发", qq, "/已转发", plan.ds.group_id) for qq in ops]


def progress_requests(plan: Plan) -> list[Request]:
    ops = plan.operators()
    return [
        Request("统发 进度", ops[-1 - i % len(ops)], "/统发 进度", plan.ds.group_id) for i in range(plan.sizes.progress)
    ]


def rollup_requests(plan: Plan) -> list[Request]:
    """`/统发 进度` asked by province admins (each a different one): the roll-up, a line per city and category."""
    return [
        Request("统发 进度(全省)", PROVINCE_ASKERS[i % len(PROVINCE_ASKERS)], "/统发 进度", plan.ds.group_id)
        for i in range(plan.sizes.progress)
    ]


def query_requests(plan: Plan) -> list[Request]:
    """`/查询 <单位>` for random units, and `/查询` (my unit) now and then."""
    rng, ops, names = plan.rng, plan.operators(), plan.unit_names()
    return [
        Request("查询", rng.choice(ops), "/查询" if i % 5 == 0 else f"/查询 {rng.choice(names)}", plan.ds.group_id)
        for i in range(plan.sizes.query)
    ]


async def ensure_task(plan: Plan, side: Side) -> bool:
    """An admin creates one 统发 task (once per side); False when the bot does not answer `/统发`."""
    if side.task_created:
        return True
    assert side.client is not None
    req = Request("统发 新建", plan.ds.admins[0], TASK_CREATE, plan.ds.group_id)
    replies = await probe_all(side.client, {"create": req}, timeout=max(plan.sizes.probe_timeout, 5.0))
    if replies["create"] is None:
        return False
    side.task_created = True
    await settle(side.client)  # the announcement goes out before the timed part
    return True


def follower_requests(plan: Plan) -> list[Request]:
    """`/粉丝 排行` (all, by platform, by category, last month) and `/粉丝 目标` (mine, a unit, a category) on a
    year of weekly reports."""
    rng, ops, names = plan.rng, plan.operators(), plan.unit_names()
    forms = [
        "/粉丝 排行",
        "/粉丝 排行 抖音",
        "/粉丝 排行 本科高校",
        "/粉丝 排行 上月",
        "/粉丝 目标",
        None,
        "/粉丝 目标 高中",
    ]
    out = []
    for i in range(plan.sizes.followers):
        text = forms[i % len(forms)] or f"/粉丝 目标 {rng.choice(names)}"
        out.append(Request("粉丝", rng.choice(ops), text, plan.ds.group_id))
    return out


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    needs: tuple[str, ...]  # commands that must exist (from the probes)
    requests: Callable[[Plan], list[Request]]
    needs_task: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "mixed",
            "a mixed command stream (roster, my unit, accounts, help, registration, review, queries)",
            (),
            mixed_requests,
        ),
        Scenario("burst", "/已转发 from distinct operators after a /统发", ("已转发",), burst_requests, True),
        Scenario("progress", "/统发 进度 on the full dataset", ("统发 进度",), progress_requests, True),
        Scenario(
            "rollup",
            "/统发 进度 by province admins: one line per city and category",
            ("统发 进度",),
            rollup_requests,
            True,
        ),
        Scenario("query", "/查询 on the full dataset", ("查询",), query_requests),
        Scenario(
            "followers", "/粉丝 排行 and /粉丝 目标 on a year of weekly reports", ("粉丝 排行",), follower_requests
        ),
    )
}
ALL = ("startup", *SCENARIOS)


async def run_scenario(plan: Plan, scenario: Scenario, sides: list[Side]) -> dict[str, Any]:
    """The same requests against each side, one side at a time; the figures of each side."""
    missing = [c for c in scenario.needs if not plan.available.get(c)]
    if missing:
        return {"status": f"{SKIPPED} (/{', /'.join(missing)})"}
    requests = scenario.requests(plan)
    out: dict[str, Any] = {"status": "ok", "requests": len(requests)}
    for side in sides:
        assert side.client is not None
        if scenario.needs_task and not await ensure_task(plan, side):
            return {"status": f"{SKIPPED} (/统发)"}
        await settle(side.client, quiet=0.3)
        cpu_before = cpu_seconds(pid_of(side.proc))
        result: RunResult = await run_requests(
            side.client, requests, window=plan.sizes.window, timeout=plan.sizes.timeout, keep=True
        )
        await settle(side.client, quiet=0.3)  # what the answers set going (a folded list, a reaction) counts too
        cpu_after = cpu_seconds(pid_of(side.proc))
        figures = result.summary()
        if cpu_before is not None and cpu_after is not None:
            figures["cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / max(1, len(requests)), 2)
        figures.update(side.memory())
        figures["sample_replies"] = [reply.text.strip()[:120] for _, reply in result.replies[:3]]
        out[side.name] = figures
    return out


async def run_startup(plan: Plan, sides: list[Side], runs: int) -> dict[str, Any]:
    """Start each bot `runs` times (the last one stays up for the other scenarios); the median times."""
    ds = plan.ds
    first = Request("startup", plan.operators()[0], f"/单位 {ds.units[-1][1]}", ds.group_id)
    out: dict[str, Any] = {"status": "ok", "runs": runs}
    for side in sides:
        for i in range(runs):
            await side.start(first)
            if i < runs - 1:
                await side.stop()
        ready = sorted(r["first_reply_ms"] or 0.0 for r in side.startup)
        port = sorted(r["port_open_ms"] or 0.0 for r in side.startup)
        out[side.name] = {
            "ready_ms": ready[len(ready) // 2],
            "port_open_ms": port[len(port) // 2],
            "runs": side.startup,
            **side.memory(),
        }
    out["db_size_mb"] = round(ds.db_path.stat().st_size / 2**20, 1) if ds.db_path.exists() else None
    return out


async def guarded(coro: Awaitable[dict[str, Any]], limit: float) -> dict[str, Any]:
    """A scenario that takes longer than `limit` seconds is reported as such instead of hanging the run."""
    try:
        return await asyncio.wait_for(coro, limit)
    except TimeoutError:
        return {"status": f"failed: did not finish within {limit:.0f} s"}
