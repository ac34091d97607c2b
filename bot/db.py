"""The one SQLite file: connection and its worker thread, PRAGMAs, migrations by `PRAGMA user_version`, transactions."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from bot.wal import Checkpoints

log = logging.getLogger("alliance.db")


def migration_files() -> list[tuple[int, str, str]]:
    """The shipped migrations, `(version, file name, sql)`, in order."""
    out = []
    for entry in resources.files("bot.migrations").iterdir():
        m = re.match(r"^(\d{3})_.*\.sql$", entry.name)
        if m:
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    out.sort()
    return out


def migrations() -> list[tuple[int, str]]:
    """The shipped migrations, `(version, sql)`, in order."""
    return [(version, sql) for version, _, sql in migration_files()]


def latest_version() -> int:
    """The schema version this code makes and reads."""
    return max((version for version, _, _ in migration_files()), default=0)


class SchemaTooNew(RuntimeError):
    """The file was made by a newer version of the bot than this one (issue 25.3): it is not touched."""


class MigrationFailed(RuntimeError):
    """A migration failed; it was rolled back whole, so the file is as it was before it (issue 25.3)."""


def is_disk_full(e: BaseException) -> bool:
    """Nothing could be written: SQLite's "database or disk is full", or a file write that found no space."""
    if isinstance(e, sqlite3.OperationalError):
        return "full" in str(e).lower()
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def is_busy(e: BaseException) -> bool:
    """SQLite waited for another process's write lock longer than its busy timeout."""
    return isinstance(e, sqlite3.OperationalError) and "locked" in str(e).lower()


T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000  # how long a statement waits for another process's write lock


class Database:
    """One SQLite connection with its own worker thread; every statement runs under one lock so transactions
    never interleave.

    The connection is plain `sqlite3`, owned here outright: statements that may take long or wait (reads, a BEGIN
    that waits for another process) run in the one worker thread (`call`); the statements of a write transaction,
    its COMMIT included, run right on the event loop's thread (see `tx` and `Tx`); the log is folded into the file
    by `checkpoints`, on a connection and thread of their own. Only one of the loop and the worker uses the
    connection at a time: both happen under `_lock`, and a statement sent to the thread is waited out even when
    its caller is cancelled (`_in_thread`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self.checkpoints = Checkpoints(self.path)

    async def open(self, upto: int | None = None) -> None:
        """Open the file (creating its folder), set the PRAGMAs and apply pending migrations."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        # check_same_thread off: statements run in the worker thread or, inside a write transaction, on the loop's
        self._conn = await self.call(_connect, self.path)
        await self.migrate(upto)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            worker, self._worker = self._worker, None
            async with self._lock:
                await asyncio.to_thread(self.checkpoints.close)  # first: the last connection closed folds the log in
                await asyncio.wrap_future(worker.submit(conn.close))  # type: ignore[union-attr]
            worker.shutdown(wait=False)  # type: ignore[union-attr]

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection itself (for a test's trace callback or function); statements go through `tx`/`read`."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run `fn(*args)` in the database's worker thread; callers hold `_lock` and await it through
        `_in_thread`, so it is never abandoned half-way."""
        if self._worker is None:
            raise RuntimeError("database is not open")
        return asyncio.wrap_future(self._worker.submit(fn, *args))

    async def version(self) -> int:
        return int(await self.call(_value, self.conn, "PRAGMA user_version", ()))

    async def migrate(self, upto: int | None = None) -> None:
        """Apply each migration newer than the file's user_version, each in its own transaction."""
        async with self._lock:
            await _in_thread(self.call(_migrate, self.conn, upto, self.path), "the migrations")

    def _rollback_open(self, after: str) -> None:
        """ROLLBACK what is left open, right here on the event loop's thread: nothing can come between."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except Exception as e:
                log.warning("ROLLBACK after %s failed: %r", after, e)

    def _begin_now(self) -> bool:
        """BEGIN IMMEDIATE right here on the event loop's thread when no other process holds the write lock (the
        usual case: this process's writers queue on `_lock`), without waiting; False when it must be waited for.
        A trip to the worker thread costs more CPU than the statement."""
        raw = self.conn
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if is_busy(e):
                return False
            raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises; its caller leaves the
        block only once its work is committed (or rolled back and the error raised).

        Every statement of it, COMMIT included, runs right here on the event loop's thread: a trip to the worker
        thread and back costs more CPU than a small transaction itself, and the loop's turn the caller waits for
        on the way back cost the outbox more than the statements. A COMMIT never checkpoints here (`Checkpoints`
        does that in a thread of its own) and syncs nothing (`synchronous=NORMAL` in WAL mode), so it never waits
        for the disk; only a BEGIN that must wait for another process's write lock goes to the worker thread."""
        async with self._lock:
            if not self._begin_now():
                # Another process holds the write lock: wait for it in the worker thread, up to the busy timeout.
                # A BEGIN sent there runs even if this task is cancelled meanwhile: `_in_thread` waits it out, then
                # a BEGIN that ran is rolled back before the cancellation or the error goes on.
                try:
                    await _in_thread(self.call(self.conn.execute, "BEGIN IMMEDIATE"), "BEGIN")
                except BaseException:
                    self._rollback_open("a cancelled BEGIN")
                    raise
            try:
                yield Tx(self, inline=True)
            except BaseException:
                # SQLite may have rolled back already (a full disk does that); the original error is what counts
                self._rollback_open("an error in the transaction")
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                # SQLite keeps the transaction open when COMMIT fails (a full disk, a deferred constraint)
                self._rollback_open("a failed COMMIT")
                raise
            self.checkpoints.committed()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads under the lock: no write of this process can come between them (no BEGIN needed for that)."""
        async with self._lock:
            yield Tx(self)


class Tx:
    """Helpers over the connection inside a transaction.

    In a write transaction (`inline`) the statements run right on the event loop's thread, not in the worker:
    BEGIN IMMEDIATE already holds SQLite's write lock, so no statement in it waits for another process (a BEGIN
    that would wait goes to the worker thread; COMMIT never checkpoints or syncs, see `Database.tx`). A trip
    to a thread and back cost more CPU than the statements of a confirmation themselves (bench/README.md,
    "Timings behind the code"), and a confirmation and its acknowledgement were nine of them. Only one statement runs at a time still:
    every transaction and read holds the database's lock, and a read cancelled while its statement runs in
    the worker thread keeps holding it until that statement is over (`_in_thread`). Reads outside a transaction
    (`Database.read`, the big progress and ranking queries among them) keep running in the worker thread.
    """

    def __init__(self, db: Database, *, inline: bool = False) -> None:
        self.db = db
        self._raw = db.conn
        self._inline = inline

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        if self._inline:
            return self._raw.execute(sql, tuple(params)).fetchall()
        return await _in_thread(self.db.call(_fetchall, self._raw, sql, tuple(params)))

    async def tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """`all` as plain tuples, read by position: for thousands of rows, `sqlite3.Row` costs about as much as
        the statement (bench/README.md, "Timings behind the code")."""
        if self._inline:
            return _fetchtuples(self._raw, sql, tuple(params))
        return await _in_thread(self.db.call(_fetchtuples, self._raw, sql, tuple(params)))

    async def one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return next(iter(rows), None)

    async def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    def tiny_value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first value of a statement known to cost next to nothing (a PRAGMA, a lookup by primary key), run
        right here on the event loop's thread even in a read: cheaper than the trip to the worker thread."""
        return _value(self._raw, sql, tuple(params))

    def tiny_row(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of a statement known to cost next to nothing (a lookup by primary key), run right here on
        the event loop's thread, like `tiny_value`."""
        return self._raw.execute(sql, tuple(params)).fetchone()

    def tiny_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """The rows of a statement known to cost next to nothing (a few rows found by an index), run right here on
        the event loop's thread, like `tiny_value`."""
        return self._raw.execute(sql, tuple(params)).fetchall()

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Execute a write; returns the rowid of the last insert (meaningful after an INSERT)."""
        if self._inline:
            return _insert(self._raw, sql, tuple(params))
        return await _in_thread(self.db.call(_insert, self._raw, sql, tuple(params)))

    async def many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if self._inline:
            self._raw.executemany(sql, batch)
        else:
            await _in_thread(self.db.call(self._raw.executemany, sql, batch))


# ---------------------------------------------------------------- what the worker thread runs


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # no COMMIT checkpoints: `Checkpoints` does it in its own thread
    return conn


def _fetchall(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _fetchtuples(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = conn.cursor()
    cursor.row_factory = None  # type: ignore[assignment]
    return cursor.execute(sql, params).fetchall()


def _value(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _insert(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    cur = conn.execute(sql, params)
    rowid = cur.lastrowid if cur.lastrowid is not None else conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return int(rowid or 0)


def _migrate(conn: sqlite3.Connection, upto: int | None, path: object) -> None:
    """In the worker thread: refuse a database newer than the code; apply each newer migration in its own
    transaction, a failed one rolled back whole and named."""
    current = int(_value(conn, "PRAGMA user_version", ()))
    if current > latest_version():
        raise SchemaTooNew(
            f"数据库 {path} 的版本是 {current}，比这个程序认识的版本 {latest_version()} 新："
            "它是由更新版本的联盟助手建立或升级的。请换回那个版本的程序，或用 python -m bot restore "
            "恢复一个旧版本的备份；数据库没有被改动。"
        )
    for version, name, sql in migration_files():
        if version <= current or (upto is not None and version > upto):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _statements(sql):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={version}")
            conn.execute("COMMIT")
            current = version
        except Exception as e:
            conn.execute("ROLLBACK")
            raise MigrationFailed(
                f"数据库升级失败：迁移 {name} 出错（{e}）。这一步已整体撤销，数据库仍是版本 {current}；"
                "请把这段话和日志发给维护人员，修好前请继续用原来版本的程序。"
            ) from e
        except BaseException:
            conn.execute("ROLLBACK")
            raise


async def _in_thread(statement: Awaitable[T], name: str = "a read") -> T:
    """A statement sent to the worker thread, which runs it even if the caller is cancelled meanwhile: the
    cancellation waits until it is over, so the database lock is never released (and the next transaction's
    statements started on the event loop's thread) while the thread still uses the connection. A repeated
    cancellation (a stop cancels until its task is done) does not cut that wait short."""
    running = asyncio.ensure_future(statement)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await _wait_out(running)
        if not running.cancelled() and running.exception() is not None:
            log.warning("%s failed while its task was cancelled: %r", name, running.exception())
        raise


async def _wait_out(statement: asyncio.Future) -> None:
    """Wait until a statement sent to the worker thread is over, through any cancellation of the caller (who is
    being cancelled already and lets that through next); the statement itself is never cancelled."""
    while not statement.done():
        try:
            await asyncio.wait({statement})
        except asyncio.CancelledError:
            continue


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' inside literals or triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
