"""The one SQLite file: connection, PRAGMAs, migrations by `PRAGMA user_version`, transactions."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

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
    """One aiosqlite connection; every statement runs under one lock so transactions never interleave."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self, upto: int | None = None) -> None:
        """Open the file (creating its folder), set the PRAGMAs and apply pending migrations."""
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: inside a write transaction statements run on the event loop's thread (see `Tx`)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await self.migrate(upto)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def migrate(self, upto: int | None = None) -> None:
        """Apply each migration newer than the file's user_version, each in its own transaction."""
        async with self._lock:
            current = await self.version()
            if current > latest_version():
                raise SchemaTooNew(
                    f"数据库 {self.path} 的版本是 {current}，比这个程序认识的版本 {latest_version()} 新："
                    "它是由更新版本的联盟助手建立或升级的。请换回那个版本的程序，或用 python -m bot restore "
                    "恢复一个旧版本的备份；数据库没有被改动。"
                )
            for version, name, sql in migration_files():
                if version <= current or (upto is not None and version > upto):
                    continue
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in _statements(sql):
                        await self.conn.execute(stmt)
                    await self.conn.execute(f"PRAGMA user_version={version}")
                    await self.conn.execute("COMMIT")
                    current = version
                except Exception as e:
                    await self.conn.execute("ROLLBACK")
                    raise MigrationFailed(
                        f"数据库升级失败：迁移 {name} 出错（{e}）。这一步已整体撤销，数据库仍是版本 {current}；"
                        "请把这段话和日志发给维护人员，修好前请继续用原来版本的程序。"
                    ) from e
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise

    def _rollback_open(self, after: str) -> None:
        """ROLLBACK what is left open, right here on the event loop's thread: nothing can come between."""
        if self.conn.in_transaction:
            try:
                self.conn._conn.execute("ROLLBACK")
            except Exception as e:
                log.warning("ROLLBACK after %s failed: %r", after, e)

    def _begin_now(self) -> bool:
        """BEGIN IMMEDIATE right here on the event loop's thread when no other process holds the write lock (the
        usual case: this process's writers queue on `_lock`), without waiting; False when it must be waited for.
        A trip to aiosqlite's thread costs more CPU than the statement."""
        raw = self.conn._conn
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
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            if not self._begin_now():
                # Another process holds the write lock: wait for it in aiosqlite's thread, up to the busy timeout.
                # A BEGIN (or COMMIT) sent there runs even if this task is cancelled meanwhile: `_in_thread` waits
                # it out, then what it left open (a BEGIN that ran, a COMMIT that failed: SQLite keeps that
                # transaction open) is rolled back before the cancellation or the error goes on.
                try:
                    await _in_thread(self.conn.execute("BEGIN IMMEDIATE"), "BEGIN")
                except BaseException:
                    self._rollback_open("a cancelled BEGIN")
                    raise
            try:
                yield Tx(self.conn, inline=True)
            except BaseException:
                # SQLite may have rolled back already (a full disk does that); the original error is what counts
                self._rollback_open("an error in the transaction")
                raise
            try:
                await _in_thread(self.conn.execute("COMMIT"), "COMMIT")
            except BaseException:
                self._rollback_open("a failed or cancelled COMMIT")
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads under the lock: no write of this process can come between them (no BEGIN needed for that)."""
        async with self._lock:
            yield Tx(self.conn)


class Tx:
    """Helpers over the connection inside a transaction.

    In a write transaction (`inline`) the statements run right on the event loop's thread, not in aiosqlite's:
    BEGIN IMMEDIATE already holds SQLite's write lock, so no statement in it waits for another process (a BEGIN
    that would wait goes to aiosqlite's thread, and COMMIT, which may checkpoint and sync, always does). A trip
    to that thread and back cost about 120 µs of CPU, more than the statements of a confirmation themselves,
    and a confirmation and its acknowledgement were nine of them. Only one statement runs at a time still:
    every transaction and read holds the database's lock, and a read cancelled while its statement runs in
    aiosqlite's thread keeps holding it until that statement is over (`_in_thread`). Reads outside a transaction
    (`Database.read`, the big progress and ranking queries among them) keep running in aiosqlite's thread.
    """

    def __init__(self, conn: aiosqlite.Connection, *, inline: bool = False) -> None:
        self.conn = conn
        self._raw: sqlite3.Connection | None = conn._conn if inline else None

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        if self._raw is not None:
            return self._raw.execute(sql, tuple(params)).fetchall()
        return list(await _in_thread(self.conn.execute_fetchall(sql, tuple(params))))

    async def one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.all(sql, params)
        return next(iter(rows), None)

    async def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    def tiny_value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first value of a statement known to cost next to nothing (a PRAGMA, a lookup by primary key), run
        right here on the event loop's thread even in a read: cheaper than the trip to aiosqlite's thread."""
        row = self.conn._conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Execute a write; returns the rowid of the last insert (meaningful after an INSERT)."""
        if self._raw is not None:
            self._raw.execute(sql, tuple(params))
            row = self._raw.execute("SELECT last_insert_rowid()").fetchone()
        else:
            row = await _in_thread(self.conn.execute_insert(sql, tuple(params)))
        return int(row[0]) if row else 0

    async def many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        if self._raw is not None:
            self._raw.executemany(sql, [tuple(r) for r in rows])
        else:
            await _in_thread(self.conn.executemany(sql, [tuple(r) for r in rows]))


async def _in_thread(statement: Awaitable[T], name: str = "a read") -> T:
    """A statement sent to aiosqlite's thread, which runs it even if the caller is cancelled meanwhile: the
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
    """Wait until a statement sent to aiosqlite's thread is over, through any cancellation of the caller (who is
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
