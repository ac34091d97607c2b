"""python -m bench: every scenario against the real bot and the bare NoneBot echo bot; table and JSON out."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.files import FileSizes, files_text, run_files
from bench.followers_data import seed_followers
from bench.load import Request, probe_all
from bench.procs import bot_env, bot_process, echo_process, pid_of
from bench.quiet import QUICK_QUIET, QuietSizes, quiet_text, run_quiet
from bench.reconnect import QUICK_RECONNECT, ReconnectSizes, reconnect_text, run_reconnect
from bench.report import add_ratios, table, targets, targets_text, write_json
from bench.scenarios import ALL, QUICK, SCENARIOS, Plan, Side, Sizes, guarded, probes, run_scenario, run_startup
from bench.seed import PROVINCE_ASKERS, ROSTER, seed

RESULTS = Path(__file__).resolve().parent / "results"
CHOICES = (*ALL, "files", "quiet", "reconnect")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load the real bot and a bare NoneBot echo bot with the same events over reverse WebSocket; "
        "print events/s, p50/p99 latency, peak RSS and the ratios to the bare bot.",
    )
    p.add_argument("--units", type=int, default=None, help="units in the dataset (default 2000; --quick: 200)")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    p.add_argument(
        "--scenario",
        action="append",
        choices=CHOICES,
        help="run only this scenario (repeatable; default all: " + ", ".join(CHOICES) + ")",
    )
    p.add_argument("--quiet-confirmations", type=int, default=None, help="quiet scenario: confirmations (default 1000)")
    p.add_argument("--quiet-spread", type=float, default=None, help="quiet scenario: over how many seconds (180)")
    p.add_argument("--quiet-query-every", type=float, default=None, help="quiet scenario: /查询 every … s (20)")
    p.add_argument("--burst", type=int, default=None, help="confirmations in the burst (default 1000)")
    p.add_argument(
        "--progress",
        type=int,
        default=None,
        help="/统发 进度 asked in progress and rollup (default 200; for profiling)",
    )
    p.add_argument(
        "--followers",
        type=int,
        default=None,
        help="/粉丝 排行 and /粉丝 目标 asked in followers (default 300; for profiling)",
    )
    p.add_argument("--window", type=int, default=None, help="requests in flight at once (default 50)")
    p.add_argument(
        "--file-units", type=int, default=None, help="units uploading a 统计表 in `files` (default: --units)"
    )
    p.add_argument("--file-rows", type=int, default=None, help="rows in each uploaded 统计表 (default 20; --quick: 5)")
    p.add_argument("--log-level", default="INFO", help="LOG_LEVEL of both bots (default INFO, as in production)")
    p.add_argument("--results-dir", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})")
    p.add_argument("--keep", action="store_true", help="keep the work dir (database, bot logs) and print its path")
    p.add_argument("--roster", type=Path, default=ROSTER, help="the roster CSV the dataset starts from")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    sizes: Sizes = replace(QUICK if args.quick else Sizes())
    units = args.units or (200 if args.quick else 2000)
    if args.burst:
        sizes.burst = args.burst
    if args.window:
        sizes.window = args.window
    if args.progress:
        sizes.progress = args.progress
    if args.followers:
        sizes.followers = args.followers
    sizes.burst = min(sizes.burst, units)
    selected = [s for s in CHOICES if not args.scenario or s in args.scenario]
    file_sizes = FileSizes(
        units=args.file_units or (20 if args.quick else units),
        rows=args.file_rows or (5 if args.quick else 20),
        window=sizes.window,
    )
    files_result: dict[str, Any] | None = None
    quiet = replace(QUICK_QUIET if args.quick else QuietSizes())
    if args.quiet_confirmations:
        quiet.confirmations = args.quiet_confirmations
    if args.quiet_spread:
        quiet.spread = args.quiet_spread
    if args.quiet_query_every:
        quiet.query_every = args.quiet_query_every
    quiet.confirmations = min(quiet.confirmations, units)
    limit = 120.0 if args.quick else 900.0

    workdir = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    started = datetime.now().astimezone()
    t0 = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    sides: list[Side] = []
    quiet_result: dict[str, Any] | None = None
    reconnect_result: dict[str, Any] | None = None
    reconnect = replace(QUICK_RECONNECT if args.quick else ReconnectSizes())
    code = 0
    try:
        print(f"seeding {units} units …", flush=True)
        data_dir = workdir / "bot" / "data"
        ds = await seed(data_dir / "alliance.db", units, roster=args.roster, history=2 if args.quick else 10)
        weeks = 8 if args.quick else 52
        print(f"follower history: {5 * units} accounts, {weeks} weekly reports each …", flush=True)
        seed_followers(ds.db_path, units=units, accounts=5 * units, weeks=weeks)
        plan = Plan(ds, sizes)
        sides = [
            Side(
                "bot",
                bot_process(
                    workdir / "bot", bot_env(data_dir, ds.group_id, (*ds.admins, *PROVINCE_ASKERS), args.log_level)
                ),
            ),
            Side("echo", echo_process(workdir / "echo", args.log_level)),
        ]
        if "startup" in selected:
            print(f"startup: {sizes.startup_runs} start(s) of each bot …", flush=True)
            results["startup"] = await guarded(run_startup(plan, sides, sizes.startup_runs), limit)
        else:
            first = Request("startup", plan.operators()[0], "/帮助", None)
            for side in sides:
                await side.start(first)
        for side in sides:
            print(f"{side.name}: pid {pid_of(side.proc)}, log {side.proc.log_path}", flush=True)
        if any(s in SCENARIOS for s in selected):
            client = sides[0].client
            if client is None:
                raise RuntimeError("the bot did not start")
            replies = await probe_all(client, probes(plan), sizes.probe_timeout)
            plan.available = {name: reply is not None for name, reply in replies.items()}
            print("commands available: " + ", ".join(f"/{k} {'yes' if v else 'no'}" for k, v in plan.available.items()))
        for name in selected:
            if name in SCENARIOS:
                print(f"{name}: {SCENARIOS[name].description} …", flush=True)
                results[name] = await guarded(run_scenario(plan, SCENARIOS[name], sides), limit)
        if "files" in selected and sides[0].client is not None:
            print(
                f"files: {file_sizes.units} units upload a {file_sizes.rows}-row 统计表, then /报送 汇总 …", flush=True
            )
            files_result = await guarded(run_files(sides[0].client, ds, pid_of(sides[0].proc), file_sizes), limit)
        if "quiet" in selected:
            await sides[0].stop()  # the quiet bot uses the same database: one bot at a time
            print(
                f"quiet: {quiet.confirmations} confirmations over {quiet.spread:.0f} s at the production gap "
                f"{quiet.interval} s, with and without reactions …",
                flush=True,
            )
            env = bot_env(data_dir, ds.group_id, ds.admins, args.log_level)
            budget = 2 * (quiet.spread + quiet.drain) + 240
            quiet_result = await guarded(run_quiet(ds, workdir / "quiet", env, quiet), budget)
        if "reconnect" in selected:
            await sides[0].stop()  # one bot at a time on the database
            print(
                f"reconnect: {reconnect.history} history messages and {reconnect.reactions} reactions while the bot "
                "was down, live /查询 during the catch-up …",
                flush=True,
            )
            env = bot_env(data_dir, ds.group_id, ds.admins, args.log_level)
            reconnect_result = await guarded(
                run_reconnect(ds, workdir / "reconnect", env, reconnect), reconnect.limit + 240
            )
    except Exception as e:
        code = 1
        print(f"bench failed: {type(e).__name__}: {e}", file=sys.stderr)
        for side in sides:
            print(f"--- {side.name} log (tail) ---\n{side.proc.log_tail(30)}", file=sys.stderr)
    finally:
        for side in sides:
            await side.stop()

    add_ratios(results)
    goals = targets(results)
    print()
    print(table(results))
    print()
    print(targets_text(goals))
    if files_result is not None:
        print(files_text(files_result))
    if quiet_result is not None:
        print()
        print(quiet_text(quiet_result) if quiet_result.get("status") == "ok" else f"quiet: {quiet_result}")
    if reconnect_result is not None:
        print(reconnect_text(reconnect_result))
    payload = {
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "units": units,
        "sizes": asdict(sizes),
        "quiet_sizes": asdict(quiet),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "notes": [
            "ALLIANCE_SEND_INTERVAL=0 and ALLIANCE_SEND_JITTER=0: the production send rate limit is off on purpose",
            "latency: from the event leaving the client to the reply reaching it; ev/s: answered requests per second",
            "RSS: VmHWM (peak) of the bot process from /proc, after each scenario",
        ],
        "scenarios": results,
        "quiet": quiet_result,
        "targets": goals,
        "files": files_result,
        "reconnect": reconnect_result,
    }
    path = write_json(args.results_dir, payload)
    print(f"\nresults written to {path}")
    if args.keep:
        print(f"work dir kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return code


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
