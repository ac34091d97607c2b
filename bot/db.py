"""The one SQLite file: connection, PRAGMAs, migrations by `PRAGMA user_version`, transactions."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger("alliance.db")


def migrations() -> list[tuple[int, str]]:
    """The shipped migrations, `(version, sql)`, in order."""
    out = []
    for entry in resources.files("bot.migrations").iterdir():
        m = re.match(r"^(\d{3})_.*\.sql$", entry.name)
        if m:
            out.append((int(m.group(1)), entry.read_text(encoding="utf-8")))
    out.sort()
    return out


def is_disk_full(e: BaseException) -> bool:
    """Nothing could be written: SQLite's "database or disk is full", or a file write that found no space."""
    if isinstance(e, sqlite3.OperationalError):
        return "full" in str(e).lower()
    return isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)


def is_busy(e: BaseException) -> bool:
    """SQLite waited for another process's write lock longer than its busy timeout."""
    return isinstance(e, sqlite3.OperationalError) and "locked" in str(e).lower()


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
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
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
            for version, sql in migrations():
                if version <= current or (upto is not None and version > upto):
                    continue
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in _statements(sql):
                        await self.conn.execute(stmt)
                    await self.conn.execute(f"PRAGMA user_version={version}")
                    await self.conn.execute("COMMIT")
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise

    async def _settle(self, statement: asyncio.Future, name: str) -> None:
        """After a cancellation: let a BEGIN or COMMIT already sent to aiosqlite's thread finish, then roll back
        whatever it left open (a BEGIN that ran, a COMMIT that failed: SQLite keeps that transaction open)."""
        try:
            await statement
        except Exception as e:
            log.warning("%s failed while its task was cancelled: %r", name, e)
        if self.conn.in_transaction:
            try:
                await self.conn.execute("ROLLBACK")
            except Exception as e:
                log.warning("ROLLBACK after a cancelled %s failed: %r", name, e)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._lock:
            # A task cancelled while BEGIN runs in aiosqlite's thread would leave the transaction open (the
            # statement still runs): wait for it, roll back, then let the cancellation through.
            begin = asyncio.ensure_future(self.conn.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                await self._settle(begin, "BEGIN")
                raise
            try:
                yield Tx(self.conn)
            except BaseException:
                # SQLite may have rolled back already (a full disk does that); the original error is what counts
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
            # the same for COMMIT: once sent to aiosqlite's thread it runs, so a cancellation waits for it
            commit = asyncio.ensure_future(self.conn.execute("COMMIT"))
            try:
                await asyncio.shield(commit)
            except asyncio.CancelledError:
                await self._settle(commit, "COMMIT")
                raise
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads under the lock: no write of this process can come between them (no BEGIN needed for that)."""
        async with self._lock:
            yield Tx(self.conn)


class Tx:
    """Helpers over the connection inside a transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Execute a write; returns the rowid of the last insert (meaningful after an INSERT)."""
        row = await self.conn.execute_insert(sql, tuple(params))
        return int(row[0]) if row else 0

    async def many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self.conn.executemany(sql, [tuple(r) for r in rows])


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' inside literals or triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
