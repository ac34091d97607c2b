"""Group commit: write transactions that wait while another commits run together and share one COMMIT, each one
still all-or-nothing for its caller, each caller told done only after the COMMIT that holds its work."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database


class HeldCommits:
    """The database's COMMITs counted, each held in the worker thread's place until `release` (or failed)."""

    def __init__(self, db: Database) -> None:
        self.db, self.real = db, db.call
        self.commits = 0
        self.reached = asyncio.Event()
        self.go = asyncio.Event()
        self.fail: BaseException | None = None
        self.running: asyncio.Future[None] | None = None
        db.call = self.call  # type: ignore[method-assign]

    def call(self, fn: Any, *args: Any) -> asyncio.Future[Any]:
        if args != ("COMMIT",):
            return self.real(fn, *args)
        self.commits += 1
        self.running = asyncio.ensure_future(self._commit(fn))
        return self.running

    async def _commit(self, fn: Any) -> None:
        self.reached.set()
        await self.go.wait()
        self.go.clear()
        self.reached.clear()
        if self.fail is not None:
            raise self.fail
        await self.real(fn, "COMMIT")

    async def release(self) -> None:
        """Let the COMMIT waiting now go; wait until the next one (if any) is reached or nothing is left."""
        self.go.set()
        assert self.running is not None
        await asyncio.wait({self.running}, timeout=10)
        for _ in range(50):
            await asyncio.sleep(0)


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


async def _first_commit_held(db: Database, held: HeldCommits, x: int = 1) -> asyncio.Task[str]:
    """A first writer whose COMMIT is held in the thread: the writers started now wait, and form one batch."""
    first = asyncio.create_task(_write(db, x, "first"))
    async with asyncio.timeout(10):
        await held.reached.wait()
    return first


async def test_two_writers_in_one_batch_one_fails_the_others_row_is_stored_with_one_commit(db: Database) -> None:
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙", fail=True))
    c = asyncio.create_task(_write(db, 4, "丙"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert held.commits == 1
    await held.release()  # the first COMMIT; the three waiting run in one transaction, one COMMIT held
    assert first.done() and first.result() == "first"
    assert b.done()  # the failing one is told at once: nothing of it waits for a commit
    with pytest.raises(RuntimeError, match="乙 failed"):
        b.result()
    assert held.commits == 2
    assert not a.done() and not c.done()  # told done only after the COMMIT that holds their work
    await held.release()
    async with asyncio.timeout(10):
        assert await asyncio.gather(a, c) == ["甲", "丙"]
    assert held.commits == 2
    assert await _rows(db) == [(1, "first"), (2, "甲"), (4, "丙")]


async def test_what_a_batch_committed_is_in_the_file_when_its_writers_are_told(db: Database, tmp_path: Path) -> None:
    """A crash right after the writers are told done (the file copied as it is then) keeps both rows."""
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙"))
    for _ in range(20):
        await asyncio.sleep(0)
    held.go.set()
    held.reached.clear()
    async with asyncio.timeout(10):
        await held.reached.wait()  # the batch's COMMIT
        held.go.set()
        await asyncio.gather(first, a, b)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{db.path}{suffix}").exists():
            shutil.copy(f"{db.path}{suffix}", crashed / f"g.db{suffix}")
    other = sqlite3.connect(crashed / "g.db")
    try:
        assert other.execute("SELECT x, who FROM t ORDER BY x").fetchall() == [(1, "first"), (2, "甲"), (3, "乙")]
    finally:
        other.close()


async def test_a_batch_whose_commit_fails_tells_every_writer_and_keeps_nothing(db: Database) -> None:
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙"))
    for _ in range(20):
        await asyncio.sleep(0)
    await held.release()
    assert first.result() == "first"
    held.fail = sqlite3.OperationalError("database or disk is full")
    await held.release()
    for t in (a, b):
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await t
    held.fail = None
    held.go.set()  # later COMMITs go through at once
    assert await _rows(db) == [(1, "first")]
    assert await _write(db, 5, "后来") == "后来"  # no transaction was left open
    assert await _rows(db) == [(1, "first"), (5, "后来")]


async def test_a_writer_cancelled_while_it_waits_for_its_turn_leaves_nothing_and_the_others_go_on(
    db: Database,
) -> None:
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙"))
    c = asyncio.create_task(_write(db, 4, "丙"))
    for _ in range(20):
        await asyncio.sleep(0)
    b.cancel()
    held.go.set()
    async with asyncio.timeout(10):
        while not held.reached.is_set() or held.commits < 2:
            await asyncio.sleep(0)
        held.go.set()
        assert await asyncio.gather(first, a, c) == ["first", "甲", "丙"]
    assert b.cancelled()
    assert await _rows(db) == [(1, "first"), (2, "甲"), (4, "丙")]


async def test_a_writer_whose_turn_comes_as_it_is_cancelled_hands_it_on(db: Database) -> None:
    """The turn is given (the future done) and the task cancelled before it runs: the next writer still runs."""
    for i in range(12):
        held = HeldCommits(db)
        first = await _first_commit_held(db, held, 1000 + i)
        a = asyncio.create_task(_write(db, 100 + 3 * i, "甲"))
        b = asyncio.create_task(_write(db, 101 + 3 * i, "乙"))
        for _ in range(20):
            await asyncio.sleep(0)
        held.go.set()
        for _ in range(i % 6):
            await asyncio.sleep(0)
        a.cancel()
        async with asyncio.timeout(10):
            while not b.done():
                held.go.set()
                await asyncio.sleep(0)
            await asyncio.gather(first, a, return_exceptions=True)
        assert b.result() == "乙"
        db.call = held.real  # type: ignore[method-assign]
        rows = dict(await _rows(db))
        assert rows[101 + 3 * i] == "乙"
        assert (100 + 3 * i in rows) == (not a.cancelled())
        assert await _write(db, 102 + 3 * i, "后来") == "后来"


async def test_a_read_asked_while_a_batch_commits_sees_it_only_once_committed(db: Database) -> None:
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)
    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(_write(db, 3, "乙"))
    for _ in range(20):
        await asyncio.sleep(0)
    await held.release()  # the first COMMIT; 甲 and 乙 are in the next, held
    assert held.commits == 2 and not a.done()
    reader = asyncio.create_task(_rows(db))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not reader.done()  # no read runs inside a batch not committed yet
    await held.release()
    async with asyncio.timeout(10):
        assert await reader == [(1, "first"), (2, "甲"), (3, "乙")]
        assert await asyncio.gather(first, a, b) == ["first", "甲", "乙"]


async def test_when_sqlite_drops_the_whole_transaction_the_earlier_writers_of_the_batch_are_told(
    db: Database,
) -> None:
    """A full disk can make SQLite roll back the whole transaction, with the work of the batch's earlier writers."""
    held = HeldCommits(db)
    first = await _first_commit_held(db, held)

    async def dropping() -> None:
        async with db.tx() as tx:
            await tx.run("INSERT INTO t (x, who) VALUES (3, '乙')")
            db.conn.execute("ROLLBACK")  # what SQLite does on its own after some errors
            raise sqlite3.OperationalError("database or disk is full")

    a = asyncio.create_task(_write(db, 2, "甲"))
    b = asyncio.create_task(dropping())
    c = asyncio.create_task(_write(db, 4, "丙"))
    for _ in range(20):
        await asyncio.sleep(0)
    async with asyncio.timeout(10):
        while not c.done():
            held.go.set()
            await asyncio.sleep(0)
    results = await asyncio.gather(first, a, b, c, return_exceptions=True)
    assert results[0] == "first"
    assert isinstance(results[1], sqlite3.OperationalError)  # 甲 was in the dropped transaction: told so
    assert isinstance(results[2], sqlite3.OperationalError)
    assert results[3] == "丙"  # 丙 ran in the next batch
    assert held.commits == 2  # the dropped batch was not committed
    assert await _rows(db) == [(1, "first"), (4, "丙")]
