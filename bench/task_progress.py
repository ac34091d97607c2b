"""How long `/统发 进度` takes in the core: `Broadcasts.progress()` on one task owed by N units, half of them confirmed,
asked again with nothing new (its cache) and right after each new confirmation (what it reads again).

    .venv/bin/python -m bench.task_progress [--units 2000] [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bot import clock
from bot.app import App, set_app
from bot.broadcasts.records import Draft
from bot.config import Settings

GROUP = "100"


async def measure(units: int, runs: int) -> tuple[float, float]:
    """Median milliseconds of progress() asked again, and right after a new confirmation."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {
                "alliance_admins": ["1"],
                "alliance_groups": [GROUP],
                "alliance_data_dir": str(Path(tmp) / "data"),
                "alliance_quiet_hours": "",
                "alliance_pictures": False,
                "alliance_fetch_titles": False,
            }
        )
        app = App(settings)
        await app.open()
        set_app(app)
        try:
            now = clock.now_db()
            async with app.db.tx() as tx:
                await tx.many(
                    "INSERT INTO units (id, name, category, city, created_at) VALUES (?, ?, '高中', '郑州', ?)",
                    [(i, f"第{i}中学", now) for i in range(1, units + 1)],
                )
                await tx.many(
                    "INSERT INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES (?, ?, ?, ?, ?)",
                    [(str(50000 + i), i, f"联络员{i}", GROUP, now) for i in range(1, units + 1)],
                )
            app.units.invalidate()
            draft = Draft("学习", "https://mp.weixin.qq.com/s/a", clock.now() + timedelta(days=2), ("转发",), ())
            task = (await app.broadcasts.create(draft, actor="1")).task
            for i in range(1, units // 2 + 1):
                await app.broadcasts.confirm(50000 + i, f"联络员{i}")
            await app.broadcasts.progress(task.id)
            again, after = [], []
            for k in range(runs):
                started = time.perf_counter()
                await app.broadcasts.progress(task.id)
                again.append(time.perf_counter() - started)
                await app.broadcasts.confirm(50000 + units // 2 + 1 + k, "联络员")
                started = time.perf_counter()
                await app.broadcasts.progress(task.id)
                after.append(time.perf_counter() - started)
            return statistics.median(again) * 1000, statistics.median(after) * 1000
        finally:
            set_app(None)
            await app.db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    again, after = asyncio.run(measure(a.units, a.runs))
    print(
        f"/统发 进度 on {a.units} units, {a.units // 2} confirmed: asked again {again:.1f} ms, "
        f"after a new confirmation {after:.1f} ms (medians of {a.runs})"
    )


if __name__ == "__main__":
    main()
