"""python -m bench.pictures: how long each picture takes to draw for 200 and 2,000 units, and the RSS after.

Synthetic data through the same card builders the bot uses (`bot.readouts.views`); every run draws a new PNG
(no file cache, no kept skeleton), so the figures are the cost of a picture the data has just changed for;
`asker` is the same ranking asked by one unit after another (each with its own row highlighted, the skeleton
kept). Targets (issue 17): p99 ≤ 300 ms for 200 units, ≤ 1 s for 2,000; RSS after rendering ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from bench.procs import memory_mb
from bot.accounts import Account
from bot.config import Settings
from bot.followers.periods import month_period
from bot.followers.records import Ranking, Stale, StaleAccount
from bot.followers.targets import DEFAULT_TARGETS, target_for
from bot.pictures import Card, find_font, render_png
from bot.pictures.cards import forget_skeletons
from bot.readouts.views import progress_card, ranking_card, rates_card, stale_card, targets_card
from bot.units.records import Unit
from bot.vocab import CATEGORIES

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("ranking", "asker", "targets", "progress", "rates", "stale")
TARGETS = {200: 300.0, 2000: 1000.0}  # p99 ms
ROWS = Settings().alliance_picture_rows  # rows per list, as the bot draws them


def dataset(n: int, seed: int = 17) -> dict[str, Callable[[], Card]]:
    """Card builders of each kind over `n` units (the same data on every call)."""
    rng = random.Random(seed)
    cats = [c for c in CATEGORIES if c not in ("省直单位", "幼儿园", "其他")]
    units = [
        Unit(i + 1, f"{rng.choice(['郑州', '开封', '洛阳', '南阳'])}市第{i + 1}{rng.choice(['中学', '小学', '大学'])}",
             cats[i % len(cats)], "郑州", rng.choice([None, 8000, 25000]))
        for i in range(n)
    ]  # fmt: skip
    today = date(2026, 11, 30)
    period = month_period(2026, 11, today, "本月（11月）")
    r = Ranking(None, None, period, units_in_scope=n)
    for u in units:
        total = rng.randint(0, 300_000)
        r.counts.append((-total, u.name, u.id, u))
        if rng.random() < 0.7:
            r.growths.append((-rng.randint(-500, 5000), u.name, u.id, u))
    populous = frozenset({"郑州"})

    def target(u: Unit):
        return target_for(u, DEFAULT_TARGETS, populous)

    cat = cats[0]
    overview = [(u, rng.choice([None, rng.randint(0, 200_000)]), target(u)) for u in units if u.category == cat]
    overview = overview or [(u, 1000, target(u)) for u in units[:1]]
    pending = [u for u in units if rng.random() < 0.5]
    totals: dict[str, int] = {}
    for u in units:
        totals[u.category] = totals.get(u.category, 0) + 1
    rates = sorted(((u.name, rng.randint(0, 10), 10, rng.randint(0, 2)) for u in units), key=lambda x: -x[1])

    def stale_item(u: Unit, idle: int) -> StaleAccount:
        a = Account(u.id, u.id, "微信公众号", u.name[:6] + "发布", "", None, "正常")
        return StaleAccount(a, today - timedelta(days=idle), today, 1000, today - timedelta(days=idle), idle)

    stale = Stale(14, today - timedelta(days=14), 10)
    stale.no_post = [(u, [stale_item(u, 14 + u.id % 40)]) for u in units[: n // 4]]
    stale.warning = [(u, [stale_item(u, 10 + u.id % 4)]) for u in units[n // 4 : n // 3]]
    askers = itertools.cycle(units[n // 3 :])
    return {
        "ranking": lambda: ranking_card(r, target, mine=units[n // 2].id, limit=ROWS),
        # the same ranking asked by one unit after another (each highlighted): the data has not changed
        "asker": lambda: ranking_card(r, target, mine=next(askers).id, limit=ROWS),
        "targets": lambda: targets_card(cat, overview, mine=None, limit=ROWS),
        "progress": lambda: progress_card(
            "统发进度 · #3「学习全国教育大会精神」", "已完成", n - len(pending), n, pending, totals
        ),
        "rates": lambda: rates_card("统发完成率 · 11月", "统发 12 次", rates, ROWS),
        "stale": lambda: stale_card(stale, ROWS),
    }


def measure(n: int, runs: int) -> dict[str, dict[str, float]]:
    font = find_font(os.environ.get("ALLIANCE_FONT", ""))
    if font is None:
        raise SystemExit("no CJK font found: install fonts-noto-cjk (or set ALLIANCE_FONT)")
    out: dict[str, dict[str, float]] = {}
    for kind, build in dataset(n).items():
        forget_skeletons()
        t0 = time.perf_counter()
        png = render_png(build(), font)
        first = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(runs):
            if kind != "asker":
                forget_skeletons()  # as if the data had just changed: nothing drawn before is reused
            t0 = time.perf_counter()
            render_png(build(), font)  # the card is built too: that is part of answering
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        out[kind] = {
            "first_ms": round(first, 1),
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(p99, 1),
            "png_kb": round(len(png) / 1024, 1),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pictures", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="200 units only, 3 runs (a smoke run)")
    p.add_argument("--runs", type=int, default=None, help="timed runs per picture kind (default 20; --quick 3)")
    p.add_argument("--results-dir", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    sizes = [200] if args.quick else [200, 2000]
    runs = args.runs or (3 if args.quick else 20)
    results = {str(n): measure(n, runs) for n in sizes}
    rss = memory_mb(os.getpid())
    print("picture  | units | first ms | p50 ms | p99 ms | target p99 | PNG KB")
    print("---------|-------|----------|--------|--------|------------|-------")
    ok = True
    for n in sizes:
        for kind in KINDS:
            r = results[str(n)][kind]
            goal = TARGETS[n]
            ok &= r["p99_ms"] <= goal
            print(
                f"{kind:<8} | {n:>5} | {r['first_ms']:>8} | {r['p50_ms']:>6} | {r['p99_ms']:>6} | "
                f"≤ {goal:>6.0f} {'ok' if r['p99_ms'] <= goal else 'MISSED'} | {r['png_kb']:>6}"
            )
    peak = rss.get("peak_rss_mb")
    print(f"\nRSS after rendering: {rss.get('rss_mb')} MB (peak {peak} MB; target ≤ 200 MB)")
    ok &= peak is None or peak <= 200
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"pictures-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps({"runs": runs, "results": results, "rss_mb": rss, "targets_met": ok}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
