"""Checkpoints (a part of Database): the write-ahead log folded into the database file by a connection and a thread
of their own, so that no COMMIT on the event loop's thread ever does it.

SQLite's own rule (`wal_autocheckpoint`, 1,000 pages) makes the COMMIT that passes the mark copy the log into the
file and sync it: milliseconds, on whichever thread committed. The bot's connection has that rule off and commits
right on the event loop's thread (a small COMMIT in WAL mode with `synchronous=NORMAL` writes a few pages to the
log and syncs nothing: about 10 µs, bench/README.md "Timings behind the code"); every CHECK_EVERY commits this part
asks its own connection, in its own thread, for a PASSIVE checkpoint, which waits for no reader or writer and is
never waited for. So the log stays about as long as SQLite would keep it, and the database file holds what was
committed as before (a crash of the process loses nothing committed; the log is read back at the next open).
"""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("alliance.db")

CHECK_EVERY = 200  # commits between checkpoints (a small transaction writes a few pages; SQLite's mark is 1,000)


class Checkpoints:
    """Checkpoints (a part of Database): the log folded into the file off the event loop's thread."""

    def __init__(self, path: Path, every: int = CHECK_EVERY) -> None:
        self.path = path
        self.every = every
        self.commits = 0  # since the last checkpoint was asked for
        self.done = 0  # checkpoints finished (for tests and the log)
        self._worker: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._running: Future[None] | None = None

    def committed(self) -> None:
        """A COMMIT was made on the bot's connection: every `every` of them, fold the log in (one at a time)."""
        self.commits += 1
        if (
            self.commits < self.every
            or str(self.path) == ":memory:"
            or (self._running is not None and not self._running.done())
        ):
            return
        self.commits = 0
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._running = self._worker.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        """In the checkpoint thread: a PASSIVE checkpoint on this part's own connection (a failure is logged; the
        log is folded at the next one, or by SQLite when the last connection closes)."""
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.done += 1
        except Exception as e:
            log.warning("checkpoint of %s failed: %r", self.path, e)

    def wait(self) -> None:
        """Block until the checkpoint under way (if any) is over (tests; `close`)."""
        if self._running is not None:
            self._running.result()

    def close(self) -> None:
        """Wait for the checkpoint under way and close this part's connection (before the bot's own is closed, so
        that SQLite folds the rest of the log in then and removes it)."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        self.wait()

        def close_conn() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        worker.submit(close_conn).result()
        worker.shutdown(wait=True)
