"""The return files' side of backups and retention (issue 25): which stored files a database names, and removing
the files of returns closed long ago. A file of an open return, or of no return yet (待确认), is never removed; the
rows parsed from a removed file stay, so merged workbooks and statistics still hold its numbers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.db import Tx

FILES_DIR = "return_files"  # under the data folder (see ReturnFiles)


def referenced_files(conn: sqlite3.Connection) -> list[str]:
    """Every stored file name the database (a plain sqlite3 connection: a backup's copy) refers to."""
    return [r[0] for r in conn.execute("SELECT DISTINCT stored_name FROM return_files WHERE stored_name <> ''")]


async def prune_closed(tx: Tx, folder: Path, closed_before: str) -> list[str]:
    """Remove from `folder` the files of returns closed before `closed_before` (database time); returns the names
    removed (those still on disk). Only files of a closed return: an open one's are kept whatever their age."""
    rows = await tx.all(
        "SELECT f.stored_name FROM return_files f JOIN returns r ON r.id=f.return_id "
        "WHERE r.state='已结束' AND r.closed_at IS NOT NULL AND r.closed_at < ? AND f.stored_name <> ''",
        (closed_before,),
    )
    names = sorted({r[0] for r in rows})
    if names:  # a file shared with an open return (the same stored name) stays
        open_rows = await tx.all(
            "SELECT f.stored_name FROM return_files f LEFT JOIN returns r ON r.id=f.return_id "
            "WHERE r.id IS NULL OR r.state<>'已结束' OR r.closed_at IS NULL OR r.closed_at >= ?",
            (closed_before,),
        )
        names = sorted(set(names) - {r[0] for r in open_rows})
    removed = []
    for name in names:
        path = (folder / name).resolve()
        if path.parent != folder.resolve() or not path.is_file():
            continue
        path.unlink(missing_ok=True)
        removed.append(name)
    return removed
