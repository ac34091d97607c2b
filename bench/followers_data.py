"""Follower history for the benchmark: accounts topped up to N, a year of weekly counts, post dates.

`seed_followers(db_path)` writes straight into an existing, migrated database (after the roster and units
exist, e.g. from `bench.seed.seed`) with the standard `sqlite3` module, which is far faster than the services.

Run as a script to time the follower queries of the service on such a dataset:

    .venv/bin/python -m bench.followers_data [--units 2000] [--accounts 10000] [--weeks 52] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bot import clock

# Platforms a unit's extra accounts are opened on, in order (a unit never gets two on one platform here).
PLATFORMS = ("微信公众号", "微博", "抖音", "头条号", "视频号", "快手", "B站", "百家号", "小红书", "客户端", "网站")
LIVE = ("正常", "待审核")


def seed_followers(
    db_path: str | Path,
    units: int = 2000,
    accounts: int = 10000,
    weeks: int = 52,
    *,
    seed_value: int = 7,
    today: date | None = None,
) -> dict[str, int]:
    """Give the first `units` units `accounts` live accounts in all, each with `weeks` weekly follower reports
    up to about `today`, and a few post dates (about one account in ten is a 僵尸号).

    The units must exist already; accounts are added (filed and approved) only when there are fewer than
    `accounts`. A plain function (not async): call it when nothing else is writing to the file, e.g. right after
    `await bench.seed.seed(...)` returned and before the bot starts. Running it twice rewrites the same rows.
    Returns how many rows were written: {"accounts_added", "accounts", "reports", "monthly", "posts"}.
    """
    rng = random.Random(seed_value)
    today = today or clock.now().date()
    conn = sqlite3.connect(str(db_path))
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='follower_reports'").fetchone():
            raise RuntimeError(f"{db_path}: no follower_reports table; open it with bot.db.Database first")
        unit_rows = conn.execute(
            "SELECT id, name FROM units WHERE deleted_at IS NULL ORDER BY id LIMIT ?", (units,)
        ).fetchall()
        if not unit_rows:
            raise RuntimeError(f"{db_path}: no units; seed the roster first")
        unit_ids = [u for u, _ in unit_rows]
        names = dict(unit_rows)
        marks = ",".join("?" * len(LIVE))
        existing = conn.execute(
            f"SELECT id, unit_id, platform FROM accounts WHERE state IN ({marks}) ORDER BY id", LIVE
        ).fetchall()
        existing = [a for a in existing if a[1] in names]
        operators = dict(conn.execute("SELECT unit_id, user_id FROM operators ORDER BY bound_at DESC").fetchall())
        year_ago = clock.to_db(
            datetime.combine(today - timedelta(days=7 * weeks + 30), datetime.min.time(), clock.tz())
        )

        conn.execute("BEGIN")
        added = 0
        if len(existing) < accounts:
            used: dict[int, set[str]] = {}
            for _, unit_id, platform in existing:
                used.setdefault(unit_id, set()).add(platform)
            next_id = (conn.execute("SELECT MAX(id) FROM accounts").fetchone()[0] or 0) + 1
            new_accounts, filings = [], []
            i = 0
            while len(existing) + len(new_accounts) < accounts:
                unit_id = unit_ids[i % len(unit_ids)]
                i += 1
                free = [p for p in PLATFORMS if p not in used.setdefault(unit_id, set())]
                if not free:
                    if i > len(unit_ids) * (len(PLATFORMS) + 1):
                        break
                    continue
                platform = free[0]
                used[unit_id].add(platform)
                new_accounts.append(
                    (next_id, unit_id, platform, names[unit_id], f"b{next_id}", "2020-01-01", "正常", year_ago)
                )
                who = operators.get(unit_id, "bench")
                filings.append(("开设", next_id, unit_id, "已备案", who, year_ago, "bench", year_ago))
                next_id += 1
            conn.executemany(
                "INSERT INTO accounts (id, unit_id, platform, name, uid, opened_on, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                new_accounts,
            )
            conn.executemany(
                "INSERT INTO filings (kind, account_id, unit_id, state, filed_by, filed_at, decided_by, decided_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                filings,
            )
            added = len(new_accounts)
            existing += [(a[0], a[1], a[2]) for a in new_accounts]
        chosen = sorted(existing)[:accounts]

        reports, posts, monthly = [], [], []
        for account_id, unit_id, _platform in chosen:
            who = operators.get(unit_id, "bench")
            count = int(math.exp(rng.uniform(math.log(100), math.log(500_000))))
            lag = account_id % 7  # reports fall on different weekdays
            silent = rng.randrange(3, 12) if rng.random() < 0.05 else 0  # stopped reporting weeks ago
            month_row: list | None = None
            prev: int | None = None
            for k in range(weeks - 1, silent - 1, -1):
                day = (today - timedelta(days=7 * k + lag)).isoformat()
                count = max(0, int(count * (1 + rng.gauss(0.004, 0.006))))
                reports.append((account_id, day, count, who, f"{day}T02:00:00"))
                if month_row is None or month_row[0] != day[:7]:
                    if month_row is not None:
                        monthly.append(tuple(month_row))
                        prev = month_row[5]
                    month_row = [day[:7], account_id, day, count, day, count, prev]
                else:
                    month_row[4:6] = [day, count]
            if month_row is not None:
                monthly.append(tuple(month_row))
            stale = rng.random() < 0.1
            last = today - timedelta(days=rng.randrange(31, 200) if stale else rng.randrange(0, 20))
            for k in range(rng.randrange(1, 4)):
                day = last - timedelta(days=k * rng.randrange(3, 15))
                posts.append((account_id, day.isoformat(), who, f"{day.isoformat()}T03:00:00"))
        conn.executemany(
            "INSERT OR REPLACE INTO follower_reports (account_id, day, count, reported_by, reported_at)"
            " VALUES (?, ?, ?, ?, ?)",
            reports,
        )
        conn.executemany(
            "INSERT OR REPLACE INTO follower_monthly (month, account_id, first_day, first_count, last_day, last_count,"
            " prev_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            sorted(monthly),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO post_reports (account_id, day, reported_by, reported_at) VALUES (?, ?, ?, ?)",
            posts,
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        return {
            "accounts_added": added,
            "accounts": len(chosen),
            "reports": len(reports),
            "monthly": len(monthly),
            "posts": len(posts),
        }
    finally:
        conn.close()


# ---------------------------------------------------------------- timing (not a test)


async def _time(args: argparse.Namespace) -> None:
    from bench.seed import seed
    from bot.app import App
    from bot.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"alliance_data_dir": tmp, "alliance_send_interval": 0})
        t0 = time.perf_counter()
        await seed(settings.db_path, units=args.units, history=0)
        t1 = time.perf_counter()
        rows = seed_followers(settings.db_path, args.units, args.accounts, args.weeks)
        t2 = time.perf_counter()
        print(f"seeded {args.units} units in {t1 - t0:.1f}s; {rows} in {t2 - t1:.1f}s")
        app = App(settings)
        await app.open()
        svc = app.followers
        try:
            unit = (await app.units.all())[200]
            cases = [
                ("排行 (本月)", lambda: svc.rankings.ranking()),
                ("排行 上月", lambda: svc.rankings.ranking(period=_period("上月"))),
                ("排行 抖音 本科高校", lambda: svc.rankings.ranking("抖音", "本科高校")),
                ("目标 (全部单位)", lambda: svc.rankings.overview()),
                ("目标 <单位>", lambda: svc.progress(unit)),
                ("latest_for_unit", lambda: svc.latest_for_unit(unit.id)),
                ("僵尸号", lambda: svc.watch.stale()),
            ]
            await svc.rankings.ranking()  # warm the unit index
            reporters = await _reporters(app, args.runs * len(cases) + args.runs)
            print(f"{'query':<22}{'cold':>10}{'warm':>10}{'after /粉丝':>12}   (ms, median of {args.runs})")
            for name, fn in cases:
                cold, warm, after = [], [], []
                for i in range(args.runs):
                    svc.rankings._cache.clear()
                    t = time.perf_counter()
                    await fn()
                    cold.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    await fn()
                    warm.append((time.perf_counter() - t) * 1000)
                    await svc.report(*reporters.pop(), str(123_456 + i), confirmed=True)
                    t = time.perf_counter()
                    await fn()
                    after.append((time.perf_counter() - t) * 1000)
                print(
                    f"{name:<22}{statistics.median(cold):>10.2f}{statistics.median(warm):>10.2f}"
                    f"{statistics.median(after):>12.2f}"
                )
            t = time.perf_counter()
            for i in range(args.runs):
                await svc.report(*reporters.pop(), str(200_000 + i), confirmed=True)
            print(f"{'/粉丝 report (write)':<22}{(time.perf_counter() - t) * 1000 / args.runs:>10.2f}")
        finally:
            await app.db.close()


async def _reporters(app, n: int) -> list[tuple[str, list[str]]]:
    """`n` (operator, [platform]) pairs, each for a different account, for reports that are not corrections."""
    async with app.db.read() as tx:
        rows = await tx.all(
            "SELECT o.user_id, a.platform FROM operators o JOIN accounts a ON a.unit_id=o.unit_id "
            "WHERE a.state='正常' ORDER BY a.id LIMIT ?",
            (n,),
        )
    return [(r[0], [r[1]]) for r in rows]


def _period(word: str):
    from bot.followers.periods import parse_period

    return parse_period(word, clock.now().date())


def main() -> None:
    parser = argparse.ArgumentParser(description="time the follower queries on a generated dataset")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(_time(parser.parse_args()))


if __name__ == "__main__":
    main()
