"""The SQLite file: PRAGMAs, migrations, upgrades of an existing file, and transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database, MigrationFailed, SchemaTooNew, migrations

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


async def test_fresh_database_has_every_migration(db: Database) -> None:
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


async def test_a_transaction_that_raises_leaves_nothing_behind(db: Database) -> None:
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
        await tx.run("INSERT INTO units (name, category, created_at) VALUES ('整单位', '高中', '2026-01-01T00:00:00')")
    async with db.read() as tx:
        assert await tx.value("SELECT name FROM units") == "整单位"


async def test_a_failing_statement_rolls_back_the_whole_transaction(db: Database) -> None:
    with pytest.raises(Exception, match="UNIQUE"):
        async with db.tx() as tx:
            await tx.run("INSERT INTO units (id, name, category, created_at) VALUES (1, 'A', '高中', 't')")
            await tx.run("INSERT INTO units (id, name, category, created_at) VALUES (1, 'B', '高中', 't')")
    async with db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM units") == 0


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


async def test_a_task_cancelled_while_it_begins_a_transaction_leaves_none_open(db: Database) -> None:
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


async def test_a_commit_that_fails_raises_keeps_nothing_and_leaves_no_transaction_open(tmp_path: Path) -> None:
    """SQLite keeps a transaction open when COMMIT fails (a full disk; here a deferred foreign key, checked only at
    COMMIT): the writer is told, nothing of it is kept, and the next transaction can begin."""
    db = Database(tmp_path / "c.db")
    await db.open()
    try:
        async with db.tx() as tx:
            await tx.run("CREATE TABLE p (id INTEGER PRIMARY KEY)")
            await tx.run("CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.tx() as tx:
                await tx.run("INSERT INTO c VALUES (7)")  # no parent 7: refused only by the COMMIT
        assert not db.conn.in_transaction
        async with db.tx() as tx:  # "cannot start a transaction within a transaction" if it were left open
            await tx.run("INSERT INTO p VALUES (7)")
            await tx.run("INSERT INTO c VALUES (7)")
        async with db.read() as tx:
            assert await tx.value("SELECT COUNT(*) FROM c") == 1
    finally:
        await db.close()


async def test_a_write_transaction_never_goes_to_the_database_thread(tmp_path: Path) -> None:
    """Each trip to the database's thread costs more CPU than a small statement: a confirmation and its
    acknowledgement were nine trips, and the COMMIT's trip made the outbox wait a turn of the loop for every
    message. Inside BEGIN IMMEDIATE no statement waits for another process, and COMMIT never checkpoints."""
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
        assert trips == []
        async with db.read() as tx:  # reads outside a write stay in the thread (the big ones must not block)
            assert await tx.value("SELECT COUNT(*) FROM t WHERE y=''") == 2
        assert len(trips) == 1
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


# ---------------------------------------------------------------- issue 25.3: every earlier version, with its data

# The rows each version's code wrote into the tables that version brought (written against that version's schema),
# and what must read back from them after the upgrade to the latest.
FILLS: dict[int, list[str]] = {
    2: [
        "INSERT INTO reminders (id, kind, task_id, label, due_at) VALUES (1, 'return', 1, '1d', '2026-03-01T01:00:00')"
    ],
    3: [
        "INSERT INTO broadcasts (id, title, url, deadline, created_by, created_at) "
        "VALUES (1, '统发', 'https://example.com/a', '2026-03-02T10:00:00', '10001', '2026-03-01T00:00:00')",
        "INSERT INTO broadcast_units (task_id, unit_id) VALUES (1, 1)",
        "INSERT INTO broadcast_posts (message_id, task_id, group_id) VALUES ('-2147483999', 1, '100200300')",
        "INSERT INTO broadcast_confirmations (id, task_id, unit_id, user_id, at) "
        "VALUES (1, 1, 1, '20001', '2026-03-01T02:00:00')",
    ],
    4: [
        "INSERT INTO returns (id, title, deadline, created_by, created_at) "
        "VALUES (1, '年报', '2026-03-05T09:30:00', '10001', '2026-03-01T00:00:00')",
        "INSERT INTO return_units (return_id, unit_id, submitted_at, submitted_by) "
        "VALUES (1, 1, '2026-03-02T00:00:00', '20001')",
    ],
    5: [
        "INSERT INTO follower_reports (account_id, day, count, reported_by, reported_at) "
        "VALUES (1, '2026-03-01', 120000, '20001', '2026-03-01T03:00:00')",
        "INSERT INTO follower_monthly (month, account_id, first_day, first_count, last_day, last_count) "
        "VALUES ('2026-03', 1, '2026-03-01', 120000, '2026-03-01', 120000)",
        "INSERT INTO post_reports (account_id, day, reported_by, reported_at) "
        "VALUES (1, '2026-03-01', '20001', '2026-03-01T03:00:00')",
    ],
    6: [
        "UPDATE broadcasts SET article_title='文章标题' WHERE id=1",
        "INSERT INTO stale_warnings (account_id, since, warned_at) VALUES (1, '2026-02-01', '2026-02-11T01:00:00')",
        "INSERT INTO outbox (id, target_type, target_id, message, state, created_at, fallback) VALUES "
        "(2, 'group', '100200300', '[]', 'pending', '2026-03-01T00:00:00', '[{\"type\": \"text\", \"data\": {}}]')",
    ],
    7: [
        "UPDATE returns SET form='统计表' WHERE id=1",
        "INSERT INTO return_files (id, return_id, unit_id, kind, state, original_name, stored_name, size, sha256, "
        "uploaded_by, uploaded_at) VALUES (1, 1, 1, '表格', '通过', '附件1.xlsx', '20260301-ab.xlsx', 10, 'x', "
        "'20001', '2026-03-01T04:00:00')",
        'INSERT INTO return_rows (file_id, row_no, cells) VALUES (1, 1, \'["郑州大学", "12"]\')',
    ],
    8: [
        "INSERT INTO group_accounts (group_id, account, seen_at) VALUES ('100200300', '10000', '2026-03-01T00:00:00')",
        "UPDATE outbox SET account='10000', priority=3 WHERE id=2",
    ],
    9: ["INSERT INTO group_seen (group_id, at, keys) VALUES ('100200300', 1772300000, '[\"k\"]')"],
    10: [
        "INSERT INTO returns (id, title, deadline, created_by, created_at, forms) VALUES "
        "(2, '两表', '2026-03-06T09:30:00', '10001', '2026-03-01T00:00:00', '[\"统计表\", \"汇总表\"]')"
    ],
    11: ["UPDATE outbox SET message_seq='4321' WHERE id=2"],
    13: ["UPDATE units SET county='金水' WHERE id=1"],
    15: [
        "UPDATE broadcasts SET owner_unit_id=1 WHERE id=1",
        "INSERT INTO city_groups (group_id, unit_id, set_by, set_at) VALUES ('100200301', 1, '10001', '2026-03-01')",
    ],
    16: ["INSERT INTO outbox_aliases (message_id, outbox_id) VALUES ('-777', 2)"],
    # 017 owes the overdue lists of the open tasks made before them; the 017 code sends one
    17: ["UPDATE reminders SET state='sent', done_at='2026-03-05T10:00:00' WHERE kind='return_up' AND task_id=1"],
    12: [
        "INSERT INTO appointed_admins (user_id, unit_id, appointed_by, appointed_at) "
        "VALUES ('30001', 1, '10001', '2026-03-01T05:00:00')"
    ],
    14: [
        "UPDATE returns SET by_level=1 WHERE id=1",
        "INSERT INTO return_handups (return_id, city_id, signed_by, signed_at, units_in, units_total, file_ids) "
        "VALUES (1, 1, '30001', '2026-03-01T05:00:00', 2, 3, '[1]')",
    ],
}
READS: dict[int, list[tuple[str, tuple]]] = {
    2: [
        (
            "SELECT kind, label, due_at, state FROM reminders WHERE id=1",
            ("return", "1d", "2026-03-01T01:00:00", "pending"),
        )
    ],
    3: [
        ("SELECT title, url, state FROM broadcasts WHERE id=1", ("统发", "https://example.com/a", "进行中")),
        ("SELECT unit_id FROM broadcast_units WHERE task_id=1", (1,)),
        ("SELECT task_id FROM broadcast_posts WHERE message_id='-2147483999'", (1,)),
        ("SELECT user_id, counted FROM broadcast_confirmations WHERE id=1", ("20001", 1)),
    ],
    4: [
        ("SELECT title, deadline FROM returns WHERE id=1", ("年报", "2026-03-05T09:30:00")),
        ("SELECT submitted_by FROM return_units WHERE return_id=1 AND unit_id=1", ("20001",)),
    ],
    5: [
        ("SELECT count FROM follower_reports WHERE account_id=1 AND day='2026-03-01'", (120000,)),
        ("SELECT last_count FROM follower_monthly WHERE month='2026-03'", (120000,)),
        ("SELECT reported_by FROM post_reports WHERE account_id=1", ("20001",)),
    ],
    6: [
        ("SELECT article_title FROM broadcasts WHERE id=1", ("文章标题",)),
        ("SELECT since FROM stale_warnings WHERE account_id=1", ("2026-02-01",)),
        ("SELECT state, fallback IS NOT NULL FROM outbox WHERE id=2", ("pending", 1)),
    ],
    7: [
        ("SELECT forms FROM returns WHERE id=1", ('["统计表"]',)),  # one form became a list of one (010)
        ("SELECT form FROM return_files WHERE id=1", ("统计表",)),
        ("SELECT stored_name, state FROM return_files WHERE id=1", ("20260301-ab.xlsx", "通过")),
        ("SELECT cells FROM return_rows WHERE file_id=1", ('["郑州大学", "12"]',)),
    ],
    8: [
        ("SELECT account FROM group_accounts WHERE group_id='100200300'", ("10000",)),
        ("SELECT account, priority FROM outbox WHERE id=2", ("10000", 3)),
    ],
    9: [("SELECT at, keys FROM group_seen WHERE group_id='100200300'", (1772300000, '["k"]'))],
    10: [("SELECT forms FROM returns WHERE id=2", ('["统计表", "汇总表"]',))],
    11: [("SELECT message_seq FROM outbox WHERE id=2", ("4321",))],
    12: [("SELECT appointed_by FROM appointed_admins WHERE user_id='30001'", ("10001",))],
    13: [("SELECT county, parent_id FROM units WHERE id=1", ("金水", None))],
    14: [
        ("SELECT by_level FROM returns WHERE id=1", (1,)),
        ("SELECT signed_by, units_in, file_ids FROM return_handups WHERE return_id=1", ("30001", 2, "[1]")),
    ],
    15: [
        ("SELECT owner_unit_id FROM broadcasts WHERE id=1", (1,)),
        ("SELECT owner_unit_id FROM returns WHERE id=1", (None,)),
        ("SELECT unit_id FROM city_groups WHERE group_id='100200301'", (1,)),
    ],
    16: [("SELECT outbox_id FROM outbox_aliases WHERE message_id='-777'", (2,))],
    17: [
        (
            "SELECT due_at, state FROM reminders WHERE kind='broadcast_up' AND task_id=1",
            ("2026-03-02T10:00:00", "pending"),
        ),
        ("SELECT state FROM reminders WHERE kind='return_up' AND task_id=1", ("sent",)),
        (
            "SELECT due_at, state FROM reminders WHERE kind='return_up' AND task_id=2",
            ("2026-03-06T09:30:00", "pending"),
        ),
    ],
}


def test_every_version_has_its_fixture() -> None:
    """A new migration brings its rows here, so the next one is tested against data made by it."""
    assert set(FILLS) == set(READS) == set(range(2, LATEST + 1))


@pytest.mark.parametrize("made_by", [v for v, _ in migrations()])
async def test_a_database_made_by_each_earlier_version_upgrades_with_all_its_data(tmp_path: Path, made_by: int) -> None:
    """The file a version made, with rows in every table it had (each written by the version that brought the
    table), opens with the current code, and every row reads back."""
    path = tmp_path / "alliance.db"
    old = Database(path)
    await old.open(upto=1)
    await _fill_v1(old)
    for version in range(2, made_by + 1):
        await old.migrate(upto=version)
        async with old.tx() as tx:
            for sql in FILLS[version]:
                await tx.run(sql)
    assert await old.version() == made_by
    await old.close()

    db = Database(path)
    await db.open()
    try:
        assert await db.version() == LATEST
        async with db.read() as tx:
            assert tuple(await tx.one("SELECT name, students FROM units WHERE id=1")) == ("郑州大学", 72000)
            for version in range(2, made_by + 1):
                for sql, expected in READS[version]:
                    assert tuple(await tx.one(sql) or ()) == expected, (version, sql)
            assert await tx.value("PRAGMA integrity_check") == "ok"
            assert await tx.all("PRAGMA foreign_key_check") == []
    finally:
        await db.close()


async def test_a_database_newer_than_the_code_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "alliance.db"
    db = Database(path)
    await db.open()
    await db.close()
    with sqlite3.connect(path) as conn:  # as a newer version of the bot would leave it
        conn.execute(f"PRAGMA user_version={LATEST + 1}")
    before = path.read_bytes()
    newer = Database(path)
    with pytest.raises(SchemaTooNew, match=f"版本是 {LATEST + 1}.*更新版本的联盟助手"):
        await newer.open()
    await newer.close()
    assert path.read_bytes() == before


async def test_a_failed_migration_leaves_the_database_as_it_was_and_names_the_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.db

    path = tmp_path / "alliance.db"
    db = Database(path)
    await db.open(upto=LATEST - 1)
    await _fill_v1(db)
    await db.close()
    shipped = bot.db.migration_files()
    version, name, sql = shipped[-1]
    broken = sql + ";\nCREATE TABLE units (x INTEGER)"  # fails after the migration's own statements ran
    monkeypatch.setattr(bot.db, "migration_files", lambda: [*shipped[:-1], (version, name, broken)])
    db = Database(path)
    with pytest.raises(MigrationFailed, match=f"迁移 {name} 出错.*已整体撤销，数据库仍是版本 {LATEST - 1}"):
        await db.open()
    try:
        assert await db.version() == LATEST - 1
        async with db.read() as tx:
            names = {r[0] for r in await tx.all("SELECT name FROM sqlite_master WHERE type='table'")}
            assert tuple(await tx.one("SELECT name FROM units WHERE id=1")) == ("郑州大学",)
    finally:
        await db.close()
    fresh = Database(tmp_path / "previous.db")
    await fresh.open(upto=LATEST - 1)
    try:
        assert names == set(await _schema(fresh)) | {"sqlite_sequence"} & names
    finally:
        await fresh.close()
