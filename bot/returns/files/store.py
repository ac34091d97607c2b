"""The handed-in files: their records (return_files, return_rows) and their bytes under ALLIANCE_DATA_DIR/return_files.

A file's bytes are written first (to a temporary name, then renamed to a generated one, `<hex>.<ext>`) and
its record in the caller's transaction; if that transaction fails the bytes are removed, so nothing is
stored half-way. The original name is kept as data only, never used as a path.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from bot import clock
from bot.db import Tx
from bot.returns.files.records import Upload

FORM, SCAN, TEMPLATE = "表格", "扫描件", "模板"
PENDING, PASSED, NEEDS_FIX, ACCEPTED, REPLACED, KEPT = "待确认", "通过", "需修改", "已接受", "已替换", "已保存"
GOOD = (PASSED, ACCEPTED)
T = TypeVar("T")
IO_TASK = "return-file-io"


@dataclass(frozen=True)
class FileRecord:
    id: int
    return_id: int | None
    unit_id: int | None
    kind: str
    state: str
    original_name: str
    stored_name: str
    size: int
    uploaded_by: str
    uploaded_by_name: str
    chat: str
    uploaded_at: datetime
    rows: int
    problems: list[list]
    headers: list[str]
    unit_name: str = ""
    form: str = ""
    """The form of the return this file was matched to (a 表格 only)."""


def record(r) -> FileRecord:
    keys = r.keys()
    return FileRecord(
        r["id"],
        r["return_id"],
        r["unit_id"],
        r["kind"],
        r["state"],
        r["original_name"],
        r["stored_name"],
        r["size"],
        r["uploaded_by"],
        r["uploaded_by_name"],
        r["chat"],
        clock.from_db(r["uploaded_at"]),
        r["rows"],
        json.loads(r["problems"]),
        json.loads(r["headers"]),
        r["unit_name"] if "unit_name" in keys and r["unit_name"] else "",
        r["form"] if "form" in keys else "",
    )


class FileStore:
    """Bytes on disk under one folder, by generated names."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, stored_name: str) -> Path:
        p = (self.folder / stored_name).resolve()
        if p.parent != self.folder.resolve():
            raise ValueError(f"not a stored file name: {stored_name!r}")
        return p

    def write(self, data: bytes, ext: str) -> str:
        """Store the bytes atomically under a new generated name; returns that name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        safe_ext = ext if ext in (".xlsx", ".xlsm", ".xls", ".csv", ".pdf", ".jpg", ".jpeg", ".png") else ".bin"
        name = f"{clock.now().strftime('%Y%m%d')}-{secrets.token_hex(8)}{safe_ext}"
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def remove(self, stored_name: str) -> None:
        self.path(stored_name).unlink(missing_ok=True)


async def in_thread(files: FileStore, work: Callable[[], tuple[T, str | None]]) -> tuple[T, str | None]:
    """Run `work` (which may store bytes in `files` and return their name) in a worker thread. Should the caller
    be cancelled meanwhile, the thread still finishes, and the bytes it stored are removed: no file is left
    without its record."""
    job = asyncio.get_running_loop().create_task(asyncio.to_thread(work), name=IO_TASK)
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:

        def forget(done: asyncio.Future[tuple[T, str | None]]) -> None:
            if not done.cancelled() and done.exception() is None and (name := done.result()[1]):
                files.remove(name)

        job.add_done_callback(forget)
        raise


def bounded_name(name: str, limit: int = 200) -> str:
    """An original name as stored: at most `limit` characters, the extension kept (the kind is read from it)."""
    if len(name) <= limit:
        return name
    stem, ext = os.path.splitext(name)
    return stem[: limit - len(ext)] + ext if 0 < len(ext) <= 8 else name[:limit]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SELECT = "SELECT f.*, u.name AS unit_name FROM return_files f LEFT JOIN units u ON u.id=f.unit_id "


async def insert(
    tx: Tx,
    up: Upload,
    stored_name: str,
    data: bytes,
    *,
    return_id: int | None,
    unit_id: int | None,
    kind: str,
    state: str,
    rows: list[tuple[int, list[str]]] = (),  # type: ignore[assignment]
    problems: list[list] = (),  # type: ignore[assignment]
    headers: list[str] = (),  # type: ignore[assignment]
) -> int:
    fid = await tx.run(
        "INSERT INTO return_files (return_id, unit_id, kind, state, original_name, stored_name, size, sha256, "
        "source_id, uploaded_by, uploaded_by_name, chat, uploaded_at, rows, problems, headers) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            return_id,
            unit_id,
            kind,
            state,
            bounded_name(up.name),
            stored_name,
            len(data),
            sha256(data),
            up.file_id,
            up.user_id,
            up.user_name,
            up.chat,
            clock.now_db(),
            len(rows),
            json.dumps(list(problems), ensure_ascii=False),
            json.dumps(list(headers), ensure_ascii=False),
        ),
    )
    if rows:
        await put_rows(tx, fid, rows, fresh=True)
    return fid


async def put_rows(tx: Tx, file_id: int, rows: list[tuple[int, list[str]]], *, fresh: bool = False) -> None:
    """Store a file's checked rows, replacing any it had (`fresh`: a file inserted in this transaction has none)."""
    if not fresh:
        await tx.run("DELETE FROM return_rows WHERE file_id=?", (file_id,))
    await tx.many(
        "INSERT INTO return_rows (file_id, row_no, cells) VALUES (?, ?, ?)",
        [(file_id, n, json.dumps(cells, ensure_ascii=False)) for n, cells in rows],
    )


async def get(tx: Tx, file_id: int) -> FileRecord | None:
    r = await tx.one(_SELECT + "WHERE f.id=?", (file_id,))
    return record(r) if r else None


async def has_source(tx: Tx, source_id: str) -> bool:
    return bool(source_id) and await tx.one("SELECT 1 FROM return_files WHERE source_id=?", (source_id,)) is not None


async def latest_pending(tx: Tx, user_id: str, kinds: tuple[str, ...] = (FORM, SCAN)) -> FileRecord | None:
    """The newest file this person handed in that still waits to be told which unit or return it is for."""
    marks = ",".join("?" * len(kinds))
    r = await tx.one(
        _SELECT + f"WHERE f.uploaded_by=? AND f.state=? AND f.kind IN ({marks}) ORDER BY f.id DESC LIMIT 1",
        (user_id, PENDING, *kinds),
    )
    return record(r) if r else None


async def pending(tx: Tx) -> list[FileRecord]:
    """Every form or scan still 待确认 (waiting to be told its unit or return, or for an admin), oldest first."""
    rows = await tx.all(_SELECT + "WHERE f.state=? AND f.kind IN (?, ?) ORDER BY f.id", (PENDING, FORM, SCAN))
    return [record(r) for r in rows]


async def delete(tx: Tx, file_id: int) -> None:
    """Remove a file's record and its rows (the caller removes the bytes after the commit)."""
    await tx.run("DELETE FROM return_rows WHERE file_id=?", (file_id,))
    await tx.run("DELETE FROM return_files WHERE id=?", (file_id,))


async def latest_of(
    tx: Tx, return_id: int, unit_id: int, kind: str, states: tuple[str, ...], *, form: str | None = None
) -> FileRecord | None:
    marks = ",".join("?" * len(states))
    only = " AND f.form=?" if form is not None else ""
    r = await tx.one(
        _SELECT + f"WHERE f.return_id=? AND f.unit_id=? AND f.kind=? AND f.state IN ({marks}){only} ORDER BY f.id DESC",
        (return_id, unit_id, kind, *states, *((form,) if form is not None else ())),
    )
    return record(r) if r else None


async def of_return(tx: Tx, return_id: int) -> list[FileRecord]:
    """Every file handed in for a return, unit by unit, newest first within a unit."""
    rows = await tx.all(_SELECT + "WHERE f.return_id=? ORDER BY f.unit_id, f.id DESC", (return_id,))
    return [record(r) for r in rows]


async def forms_in(tx: Tx, return_id: int, unit_id: int | None = None) -> dict[int, set[str]]:
    """unit id → the forms of a return it has a good file for (passed or accepted); one unit's when `unit_id` is given."""
    where, args = ("AND unit_id=? ", (unit_id,)) if unit_id is not None else ("", ())
    out: dict[int, set[str]] = {}
    for r in await tx.all(
        "SELECT DISTINCT unit_id, form FROM return_files WHERE return_id=? AND kind=? AND state IN (?, ?) "
        f"AND unit_id IS NOT NULL AND form<>'' {where}",
        (return_id, FORM, *GOOD, *args),
    ):
        out.setdefault(r["unit_id"], set()).add(r["form"])
    return out


async def needing_fix(tx: Tx, return_id: int) -> dict[int, sqlite3.Row]:
    """unit id → its form file sent back to fix (unit_id, original_name, problems), the newest when it has several."""
    return {
        r["unit_id"]: r
        for r in await tx.all(
            "SELECT f.unit_id, f.original_name, f.problems FROM return_files f WHERE f.return_id=? AND f.kind=? "
            "AND f.state=? ORDER BY f.id",
            (return_id, FORM, NEEDS_FIX),
        )
    }


async def scans_in(tx: Tx, return_id: int, unit_id: int | None = None) -> set[int]:
    """The units that handed in a scan for a return (only `unit_id`, when given)."""
    where, args = ("AND unit_id=? ", (unit_id,)) if unit_id is not None else ("", ())
    rows = await tx.all(
        f"SELECT DISTINCT unit_id FROM return_files WHERE return_id=? AND kind=? AND state=? {where}",
        (return_id, SCAN, KEPT, *args),
    )
    return {r["unit_id"] for r in rows}


async def merged_rows(tx: Tx, return_id: int, form: str | None = None) -> list[tuple[FileRecord, Iterator[list[str]]]]:
    """Each unit's latest good form (of `form`, when given) with its rows (parsed when it arrived), in unit order;
    the rows are decoded as the caller walks them, so a merge of 2,000 units never holds them all decoded."""
    only = "AND f.form=? " if form is not None else ""
    files = [
        record(r)
        for r in await tx.all(
            _SELECT + "WHERE f.return_id=? AND f.kind=? AND f.state IN (?, ?) AND f.id = ("
            "SELECT MAX(g.id) FROM return_files g WHERE g.return_id=f.return_id AND g.unit_id=f.unit_id "
            f"AND g.kind=f.kind AND g.form=f.form AND g.state IN (?, ?)) {only}ORDER BY f.unit_id",
            (return_id, FORM, *GOOD, *GOOD, *((form,) if form is not None else ())),
        )
    ]
    by_file: dict[int, list[str]] = {f.id: [] for f in files}
    if files:
        for r in await tx.all(
            "SELECT r.file_id, r.cells FROM return_rows r JOIN return_files f ON f.id=r.file_id "
            "WHERE f.return_id=? AND f.kind=? AND f.state IN (?, ?) ORDER BY r.file_id, r.row_no",
            (return_id, FORM, *GOOD),
        ):
            if r["file_id"] in by_file:
                by_file[r["file_id"]].append(r["cells"])
    return [(f, (json.loads(c) for c in by_file[f.id])) for f in files]


async def rows_of_files(
    tx: Tx, file_ids: Collection[int], form: str | None = None
) -> list[tuple[FileRecord, Iterator[list[str]]]]:
    """These forms (of `form`, when given) with their stored rows, in unit order: what a city signed off when it
    handed a return up (bot/returns/levels.py), whatever was handed in since."""
    if not file_ids:
        return []
    ids = sorted(set(file_ids))
    marks = ",".join("?" * len(ids))
    only = "AND f.form=? " if form is not None else ""
    files = [
        record(r)
        for r in await tx.all(
            _SELECT + f"WHERE f.id IN ({marks}) AND f.kind=? {only}ORDER BY f.unit_id, f.id",
            (*ids, FORM, *((form,) if form is not None else ())),
        )
    ]
    by_file: dict[int, list[str]] = {f.id: [] for f in files}
    if files:
        fmarks = ",".join("?" * len(files))
        for r in await tx.all(
            f"SELECT file_id, cells FROM return_rows WHERE file_id IN ({fmarks}) ORDER BY file_id, row_no",
            [f.id for f in files],
        ):
            by_file[r["file_id"]].append(r["cells"])
    return [(f, (json.loads(c) for c in by_file[f.id])) for f in files]
