"""The SQLite file: PRAGMAs, migrations, upgrades of an existing file, and transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database, migrations

LATEST = migrations()[-1][0]


async def _schema(db: Database) -> dict[str, list[tuple[str, str]]]:
    """Table → [(column, declared type)], for comparing two databases' shapes."""
    async with db.read() as tx:
        tables = [
            r[0] for r in await tx.all("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        out = {}
        for t in sorted(tables):
            out[t] = [(c["name"], c["type"]) for c in await tx.all(f"PRAGMA table_info({t})")]
    return out


async def test_migrations_are_numbered_from_one_without_gaps() -> None:
    versions = [v for v, _ in migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_wal_and_foreign_keys_are_on(tmp_path: Path) -> None:
    db = Database(tmp_path / "sub" / "alliance.db")
    await db.open()
    try:
        async with db.read() as tx:
            assert str(await tx.value("PRAGMA journal_mode")).lower() == "wal"
            assert await tx.value("PRAGMA foreign_keys") == 1
        assert (tmp_path / "sub" / "alliance.db").is_file()
        with pytest.raises(Exception, match="FOREIGN KEY"):
            async with db.tx() as tx:
                await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES ('x', 999)")
    finally:
        await db.close()


async def test_fresh_database_has_every_migration(tmp_path: Path) -> None:
    db = Database(tmp_path / "alliance.db")
    await db.open()
    try:
        assert await db.version() == LATEST
        tables = set(await _schema(db))
        assert {
            "units",
            "unit_aliases",
            "applications",
            "operators",
            "accounts",
            "filings",
            "outbox",
            "audit",
        } <= tables
    finally:
        await db.close()


async def test_opening_twice_applies_nothing_new(tmp_path: Path) -> None:
    path = tmp_path / "alliance.db"
    for _ in range(2):
        db = Database(path)
        await db.open()
        assert await db.version() == LATEST
        await db.close()


async def _fill_v1(db: Database) -> None:
    """Rows in every table of schema version 1, the way the v1 code wrote them."""
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO units (id, name, category, city, students, created_at) "
            "VALUES (1, '郑州大学', '本科高校', '郑州', 72000, '2026-01-05T02:00:00')"
        )
        await tx.run(
            "INSERT INTO units (id, name, category, city, created_at, deleted_at) "
            "VALUES (2, '旧学校', '高中', '开封', '2026-01-05T02:00:00', '2026-02-01T02:00:00')"
        )
        await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES ('郑大', 1)")
        await tx.run(
            "INSERT INTO applications (id, user_id, user_name, group_id, unit_id, state, created_at) "
            "VALUES (1, '20001', '张三', '100200300', 1, '已通过', '2026-01-05T03:00:00')"
        )
        await tx.run(
            "INSERT INTO operators (user_id, unit_id, name, group_id, bound_at) "
            "VALUES ('20001', 1, '张三', '100200300', '2026-01-05T03:10:00')"
        )
        await tx.run(
            "INSERT INTO accounts (id, unit_id, platform, name, uid, opened_on, state, created_at) "
            "VALUES (1, 1, '微信公众号', '郑州大学', 'zzu1956', '2014-03-01', '正常', '2026-01-06T01:00:00')"
        )
        await tx.run(
            "INSERT INTO filings (id, kind, account_id, unit_id, state, filed_by, filed_at) "
            "VALUES (1, '开设', 1, 1, '已备案', '20001', '2026-01-06T01:00:00')"
        )
        await tx.run(
            "INSERT INTO outbox (id, target_type, target_id, message, state, created_at) "
            'VALUES (1, \'group\', \'100200300\', \'[{"type": "text", "data": {"text": "待发"}}]\', \'pending\', '
            "'2026-01-06T01:00:00')"
        )
        await tx.run(
            "INSERT INTO audit (at, actor, unit_id, action) VALUES ('2026-01-06T01:00:00', '20001', 1, '注册')"
        )


@pytest.mark.parametrize("start", [v for v, _ in migrations()])
async def test_upgrade_from_an_older_schema_keeps_the_data(tmp_path: Path, start: int) -> None:
    """A file made at schema `start` (filled with version-1 rows) is upgraded in place to the latest."""
    path = tmp_path / "alliance.db"
    old = Database(path)
    await old.open(upto=1)
    assert await old.version() == 1
    await _fill_v1(old)
    await old.migrate(upto=start)
    assert await old.version() == start
    await old.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.version() == LATEST
        async with db.read() as tx:
            unit = await tx.one("SELECT name, category, city, students, deleted_at FROM units WHERE id=1")
            assert tuple(unit) == ("郑州大学", "本科高校", "郑州", 72000, None)
            assert await tx.value("SELECT deleted_at FROM units WHERE id=2") == "2026-02-01T02:00:00"
            assert await tx.value("SELECT unit_id FROM unit_aliases WHERE alias='郑大'") == 1
            assert await tx.value("SELECT unit_id FROM operators WHERE user_id='20001'") == 1
            assert await tx.value("SELECT state FROM applications WHERE id=1") == "已通过"
            acc = await tx.one("SELECT platform, name, uid, opened_on, state FROM accounts WHERE id=1")
            assert tuple(acc) == ("微信公众号", "郑州大学", "zzu1956", "2014-03-01", "正常")
            assert await tx.value("SELECT state FROM filings WHERE id=1") == "已备案"
            assert await tx.value("SELECT state FROM outbox WHERE id=1") == "pending"
            assert await tx.value("SELECT COUNT(*) FROM audit") >= 1
        # the upgraded file has the same shape as a fresh one
        fresh = Database(tmp_path / "fresh.db")
        await fresh.open()
        try:
            assert await _schema(db) == await _schema(fresh)
        finally:
            await fresh.close()
    finally:
        await db.close()


async def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "alliance.db")
    await db.open()
    try:
        with pytest.raises(RuntimeError, match="boom"):
            async with db.tx() as tx:
                await tx.run(
                    "INSERT INTO units (name, category, created_at) VALUES ('半截单位', '高中', '2026-01-01T00:00:00')"
                )
                await tx.run("INSERT INTO audit (at, actor, action) VALUES ('2026-01-01T00:00:00', 't', 'x')")
                raise RuntimeError("boom")
        async with db.read() as tx:
            assert await tx.value("SELECT COUNT(*) FROM units") == 0
            assert await tx.value("SELECT COUNT(*) FROM audit") == 0
        # and the connection is usable afterwards
        async with db.tx() as tx:
            await tx.run(
                "INSERT INTO units (name, category, created_at) VALUES ('整单位', '高中', '2026-01-01T00:00:00')"
            )
        async with db.read() as tx:
            assert await tx.value("SELECT name FROM units") == "整单位"
    finally:
        await db.close()


async def test_a_failing_statement_rolls_back_the_whole_transaction(tmp_path: Path) -> None:
    db = Database(tmp_path / "alliance.db")
    await db.open()
    try:
        with pytest.raises(Exception, match="UNIQUE"):
            async with db.tx() as tx:
                await tx.run("INSERT INTO units (id, name, category, created_at) VALUES (1, 'A', '高中', 't')")
                await tx.run("INSERT INTO units (id, name, category, created_at) VALUES (1, 'B', '高中', 't')")
        async with db.read() as tx:
            assert await tx.value("SELECT COUNT(*) FROM units") == 0
    finally:
        await db.close()


async def test_committed_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "alliance.db"
    db = Database(path)
    await db.open()
    async with db.tx() as tx:
        await tx.run("INSERT INTO units (name, category, created_at) VALUES ('留下的单位', '高中', 't')")
    await db.close()
    db = Database(path)
    await db.open()
    try:
        async with db.read() as tx:
            assert await tx.value("SELECT name FROM units") == "留下的单位"
    finally:
        await db.close()


async def test_a_task_cancelled_while_it_begins_a_transaction_leaves_none_open(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    await db.open()
    try:
        for i in range(40):

            async def write() -> None:
                async with db.tx() as tx:
                    await tx.run("CREATE TABLE IF NOT EXISTS t (x INTEGER)")

            task = asyncio.create_task(write())
            for _ in range(i % 8):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            async with db.tx() as tx:  # "cannot start a transaction within a transaction" before the fix
                await tx.run("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    finally:
        await db.close()


@pytest.mark.parametrize("cancels", [1, 3])
async def test_a_commit_that_fails_while_its_task_is_cancelled_leaves_no_transaction_open(
    tmp_path: Path, cancels: int
) -> None:
    """SQLite keeps a transaction open when COMMIT fails (a full disk); a cancelled writer must not leave it so,
    also when it is cancelled again while it waits for the COMMIT (a stop that repeats its cancellation)."""
    db = Database(tmp_path / "c.db")
    await db.open()
    real = db.call
    reached, fail = asyncio.Event(), asyncio.Event()

    async def failing_commit() -> None:
        reached.set()
        await fail.wait()
        raise sqlite3.OperationalError("database or disk is full")

    def call(fn, *args: object):  # type: ignore[no-untyped-def]
        return asyncio.ensure_future(failing_commit()) if args == ("COMMIT",) else real(fn, *args)

    async def write() -> None:
        async with db.tx() as tx:
            await tx.run("CREATE TABLE t (x INTEGER)")

    try:
        db.call = call  # type: ignore[method-assign]
        task = asyncio.create_task(write())
        async with asyncio.timeout(10):
            await reached.wait()
        for _ in range(cancels):
            task.cancel()
            await asyncio.sleep(0)
        fail.set()
        await asyncio.gather(task, return_exceptions=True)
        db.call = real  # type: ignore[method-assign]
        async with db.tx() as tx:  # "cannot start a transaction within a transaction" before the fix
            await tx.run("CREATE TABLE IF NOT EXISTS u (x INTEGER)")
    finally:
        await db.close()


async def test_a_write_transaction_goes_to_the_database_thread_only_to_commit(tmp_path: Path) -> None:
    """Each trip to the database's thread costs more CPU than a small statement: a confirmation and its
    acknowledgement were nine trips. Inside BEGIN IMMEDIATE no statement waits for another process."""
    db = Database(tmp_path / "trips.db")
    await db.open()
    try:
        trips: list[str] = []
        real = db.call

        def counted(fn, *args):  # type: ignore[no-untyped-def]
            trips.append(str(args[0]) if args and isinstance(args[0], str) else getattr(fn, "__name__", "?"))
            return real(fn, *args)

        db.call = counted  # type: ignore[method-assign]
        async with db.tx() as tx:
            await tx.run("CREATE TABLE t (x INTEGER, y TEXT)")
            assert await tx.run("INSERT INTO t (x, y) VALUES (?, ?)", (1, "一")) == 1
            await tx.many("INSERT INTO t (x, y) VALUES (?, ?)", [(2, "二"), (3, "三")])
            assert (await tx.one("SELECT y FROM t WHERE x=?", (2,)))["y"] == "二"
            assert await tx.value("SELECT COUNT(*) FROM t") == 3
            assert [r["x"] for r in await tx.all("UPDATE t SET y='' WHERE x>1 RETURNING x")] in ([2, 3], [3, 2])
        assert trips == ["COMMIT"]
        async with db.read() as tx:  # reads outside a write stay in the thread (the big ones must not block)
            assert await tx.value("SELECT COUNT(*) FROM t WHERE y=''") == 2
        assert len(trips) == 2
        with pytest.raises(sqlite3.IntegrityError):
            async with db.tx() as tx:
                await tx.run("CREATE TABLE u (x INTEGER PRIMARY KEY)")
                await tx.run("INSERT INTO u VALUES (1)")
                await tx.run("INSERT INTO u VALUES (1)")
        async with db.read() as tx:  # rolled back whole
            assert await tx.value("SELECT COUNT(*) FROM sqlite_master WHERE name='u'") == 0
    finally:
        db.call = real  # type: ignore[method-assign]
        await db.close()


async def test_a_write_lock_held_by_another_process_is_waited_for_in_the_thread_not_the_event_loop(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "locked.db")
    await db.open()
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)  # e.g. `python -m bot import-units`
    try:
        async with db.tx() as tx:
            await tx.run("CREATE TABLE t (x INTEGER)")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")

        async def write() -> None:
            async with db.tx() as tx:
                await tx.run("INSERT INTO t VALUES (2)")

        task = asyncio.create_task(write())
        for _ in range(20):  # the loop keeps running while the writer waits for the lock
            await asyncio.sleep(0)
        assert not task.done()
        other.execute("COMMIT")
        await asyncio.wait_for(task, 10)
        async with db.read() as tx:
            assert [r[0] for r in await tx.all("SELECT x FROM t ORDER BY x")] == [1, 2]
            assert await tx.value("PRAGMA busy_timeout") == 5000
    finally:
        other.close()
        await db.close()


async def test_a_tiny_read_needs_no_trip_to_the_database_thread(tmp_path: Path) -> None:
    db = Database(tmp_path / "tiny.db")
    await db.open()
    trips: list[object] = []
    real = db.call

    def counted(fn, *args):  # type: ignore[no-untyped-def]
        trips.append(fn)
        return real(fn, *args)

    try:
        db.call = counted  # type: ignore[method-assign]
        async with db.read() as tx:
            assert isinstance(tx.tiny_value("PRAGMA data_version"), int)
            assert tx.tiny_value("SELECT 1 WHERE 0") is None
        assert trips == []
    finally:
        db.call = real  # type: ignore[method-assign]
        await db.close()


async def test_a_cancelled_read_holds_the_lock_until_its_statement_in_the_thread_is_over(tmp_path: Path) -> None:
    """The database's thread runs a statement even when its caller is cancelled. The next write transaction runs its
    statements on the event loop's thread: it must not start while the thread still uses the connection."""
    import threading

    db = Database(tmp_path / "r.db")
    await db.open()
    started, finish = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        finish.wait(5)
        return 1

    try:
        db.conn.create_function("slow", 0, slow)

        async def read() -> None:
            async with db.read() as tx:
                await tx.value("SELECT slow()")

        reader = asyncio.create_task(read())
        assert await asyncio.to_thread(started.wait, 5)
        reader.cancel()
        for _ in range(10):
            await asyncio.sleep(0)
        assert not reader.done() and db._lock.locked()  # the read waits for its statement, holding the lock
        finish.set()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert not db._lock.locked()
        async with db.tx() as tx:
            await tx.run("CREATE TABLE t (x INTEGER)")
    finally:
        finish.set()
        await db.close()
