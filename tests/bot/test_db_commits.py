"""Commits on the event loop's thread and checkpoints in a thread of their own (bot/db.py, bot/wal.py): a writer is
told done only once its work is committed, a crash right after keeps it, a writer waits for a read under way, and
the log is folded into the file by `Checkpoints`, never by a COMMIT of the bot's connection."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    d = Database(tmp_path / "g.db")
    await d.open()
    async with d.tx() as tx:
        await tx.run("CREATE TABLE t (x INTEGER PRIMARY KEY, who TEXT)")
    try:
        yield d
    finally:
        await d.close()


async def _write(db: Database, x: int, who: str, fail: bool = False) -> str:
    async with db.tx() as tx:
        await tx.run("INSERT INTO t (x, who) VALUES (?, ?)", (x, who))
        if fail:
            raise RuntimeError(f"{who} failed")
    return who


async def _rows(db: Database) -> list[tuple[int, str]]:
    async with db.read() as tx:
        return [(r["x"], r["who"]) for r in await tx.all("SELECT x, who FROM t ORDER BY x")]


class HeldRead:
    """A read running in the database's worker thread, held there (it holds the database's lock) until `release`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.started = threading.Event()
        self.go = threading.Event()
        db.conn.create_function("held", 0, self._held)
        self.task = asyncio.create_task(self._read())

    def _held(self) -> int:
        self.started.set()
        self.go.wait(10)
        return 1

    async def _read(self) -> int:
        async with self.db.read() as tx:
            return int(await tx.value("SELECT held()"))

    async def running(self) -> None:
        async with asyncio.timeout(10):
            while not self.started.is_set():
                await asyncio.sleep(0.01)

    async def release(self) -> None:
        self.go.set()
        async with asyncio.timeout(10):
            assert await self.task == 1


def _copy_as_after_a_crash(db: Database, to: Path) -> sqlite3.Connection:
    """The database file and its log copied as they are now (a process killed here), opened on their own."""
    to.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{db.path}{suffix}").exists():
            shutil.copy(f"{db.path}{suffix}", to / f"g.db{suffix}")
    return sqlite3.connect(to / "g.db")


async def test_what_a_writer_was_told_committed_is_in_the_file(db: Database, tmp_path: Path) -> None:
    assert await _write(db, 1, "甲") == "甲"
    other = _copy_as_after_a_crash(db, tmp_path / "crashed")
    try:
        assert other.execute("SELECT x, who FROM t").fetchall() == [(1, "甲")]
    finally:
        other.close()


async def test_writers_asked_while_a_read_runs_wait_for_it_then_each_keeps_only_its_own(db: Database) -> None:
    held = HeldRead(db)
    await held.running()
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙", fail=True))
    c = asyncio.create_task(_write(db, 4, "丙"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not (a.done() or b.done() or c.done())  # no write comes between the statements of a read
    await held.release()
    async with asyncio.timeout(10):
        results = await asyncio.gather(a, b, c, return_exceptions=True)
    assert results[0] == "甲" and results[2] == "丙"
    assert isinstance(results[1], RuntimeError)
    assert await _rows(db) == [(2, "甲"), (4, "丙")]


async def test_a_writer_cancelled_while_it_waits_for_its_turn_leaves_nothing_and_the_others_go_on(
    db: Database,
) -> None:
    held = HeldRead(db)
    await held.running()
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙"))
    c = asyncio.create_task(_write(db, 4, "丙"))
    for _ in range(20):
        await asyncio.sleep(0)
    b.cancel()
    await held.release()
    async with asyncio.timeout(10):
        assert await asyncio.gather(a, c) == ["甲", "丙"]
    assert b.cancelled()
    assert await _rows(db) == [(2, "甲"), (4, "丙")]
    assert not db.conn.in_transaction


async def test_when_sqlite_drops_the_transaction_on_its_own_the_writer_is_told_and_the_next_one_runs(
    db: Database,
) -> None:
    """A full disk can make SQLite roll the transaction back itself: the original error is what the writer gets."""

    async def dropping() -> None:
        async with db.tx() as tx:
            await tx.run("INSERT INTO t (x, who) VALUES (3, '乙')")
            db.conn.execute("ROLLBACK")  # what SQLite does on its own after some errors
            raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(sqlite3.OperationalError, match="full"):
        await dropping()
    assert await _write(db, 4, "丙") == "丙"
    assert await _rows(db) == [(4, "丙")]


async def test_the_log_is_folded_in_by_the_checkpoint_thread_never_by_a_commit(db: Database) -> None:
    """SQLite's own rule would make every thousandth page's COMMIT copy the log into the file and sync it, on the
    event loop's thread. Here the bot's connection never checkpoints; `Checkpoints` does it every `every` commits,
    on its own connection, and the log restarts from its beginning after each, so it does not grow."""
    db.checkpoints.every, db.checkpoints.commits = 50, 0  # the 50th write of each round asks for a checkpoint
    wal = Path(f"{db.path}-wal")
    async with db.read() as tx:
        assert await tx.value("PRAGMA wal_autocheckpoint") == 0
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    sizes = []
    for r in range(6):
        for i in range(50):
            await _write(db, r * 1000 + i, "一" * 2000)
        await asyncio.to_thread(db.checkpoints.wait)
        sizes.append(wal.stat().st_size)
    assert db.checkpoints.done == 6
    assert not [s for s in statements if "checkpoint" in s.lower()]
    assert max(sizes[2:]) <= max(sizes[:2])  # without the checkpoints: six times the first round's pages
    async with db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM t") == 300
