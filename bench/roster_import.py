"""Time a roster import whose every row has an alias (each checked by the units' name index for takeovers).

    python -m bench.roster_import [N ...]     (default: 500 2000)

Prints, for N synthetic units, the first import and the same file again (nothing changes the second time).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.app import App
from bot.config import Settings
from bot.roster import import_roster


async def measure(n: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        app = App(Settings.model_validate({"alliance_data_dir": str(Path(folder) / "data")}))
        await app.open()
        try:
            rows = "".join(f"测试{i}号学校,高中,郑州,测{i}校\n" for i in range(n))
            data = ("名称,类别,地市,别名\n" + rows).encode()
            t = time.perf_counter()
            first = await import_roster(app.units, data, "bench.csv", actor="bench")
            took = time.perf_counter() - t
            t = time.perf_counter()
            again = await import_roster(app.units, data, "bench.csv", actor="bench")
            took_again = time.perf_counter() - t
        finally:
            await app.db.close()
    return (
        f"{n} units with an alias each: first import {took:.2f} s ({len(first.added)} added, "
        f"{len(first.refused_aliases)} aliases refused), again {took_again:.2f} s ({again.unchanged} unchanged)"
    )


def main(argv: list[str]) -> int:
    for n in [int(a) for a in argv] or [500, 2000]:
        print(asyncio.run(measure(n)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
