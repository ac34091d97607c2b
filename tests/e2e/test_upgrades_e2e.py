"""Issue 25.3 through the real bot process: a database made by every earlier schema version (with rows in every
table that version had, written the way that version wrote them) is upgraded by `python -m bot` at start, with its
data intact; the per-version fixtures live in tests/bot/test_db.py (which upgrades every version on the core)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bench.procs import bot_env
from bot.db import Database, latest_version, migrations
from sim.qqsim import BotProcess
from tests.bot.test_db import FILLS, READS, _fill_v1

ADMIN = 900001
GROUP = 100200300


async def _made_by(path: Path, version: int) -> None:
    """The file `version` of the bot left: every table it had, with rows."""
    old = Database(path)
    await old.open(upto=1)
    await _fill_v1(old)
    for v in range(2, version + 1):
        await old.migrate(upto=v)
        async with old.tx() as tx:
            for sql in FILLS[v]:
                await tx.run(sql)
    await old.close()


async def test_the_real_bot_upgrades_a_database_of_every_earlier_version(tmp_path: Path) -> None:
    # the oldest, one in the middle and the last before this one (every version is upgraded in tests/bot/test_db.py;
    # here the real start path does it: three bot starts keep the suite short)
    earlier = [v for v, _ in migrations() if v < latest_version()]
    versions = sorted({earlier[0], earlier[len(earlier) // 2], earlier[-1]})
    for version in versions:
        data = tmp_path / f"v{version}" / "data"
        db = data / "alliance.db"
        await _made_by(db, version)
        proc = BotProcess(tmp_path / f"v{version}", bot_env(data, GROUP, (ADMIN,), "INFO"))
        try:
            await proc.start(timeout=40)  # listening: the schema was brought up to date before NoneBot started
        finally:
            await proc.stop()
        with closing(sqlite3.connect(db)) as con:
            assert con.execute("PRAGMA user_version").fetchone()[0] == latest_version(), version
            assert con.execute("SELECT name, students FROM units WHERE id=1").fetchone() == ("郑州大学", 72000)
            for v in range(2, version + 1):
                for sql, expected in READS[v]:
                    assert tuple(con.execute(sql).fetchone() or ()) == expected, (version, v, sql)
            if version >= 3:  # its open 统发, made before the overdue lists existed, is owed one like today's (017)
                owed = "SELECT COUNT(*) FROM reminders WHERE kind='broadcast_up' AND task_id=1 AND label='overdue'"
                assert con.execute(owed).fetchone() == (1,), version
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", version
