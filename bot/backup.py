"""Backups that restore (issue 25.1): one dated zip of a consistent copy of the database and its return files.

How the promises hold:
- consistent while the bot runs: the copy is made by SQLite's online backup API (`sqlite3.Connection.backup`) in
  one step from a connection of its own, which reads one snapshot; in WAL mode the bot's writers go on meanwhile.
  Whatever was committed before the backup began (every "已记录" said) is in it.
- the files it refers to: the return files named in that copy (not those of the live database) go in with it.
- nothing half-written: the archive is written under a temporary name and renamed when complete; the copy is
  checked with `PRAGMA integrity_check` before and after.
- restore never under a running bot: the bot holds an exclusive lock on `<data>/alliance.lock` as long as it runs
  (the kernel drops it when the process ends, even by kill -9); restore takes the same lock or refuses. The
  database it replaces is kept beside it, renamed, never deleted.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from bot.db import latest_version
from bot.returns.files.retention import FILES_DIR, referenced_files

DB_NAME = "alliance.db"
LOCK_NAME = "alliance.lock"
ARCHIVE = re.compile(r"^alliance-(\d{8}-\d{6})(?:-(\d+))?\.zip$")
FORMAT = 1  # the archive's layout: alliance.db, return_files/<stored name>, manifest.json
_STORED = (".xlsx", ".xlsm", ".zip", ".pdf", ".jpg", ".jpeg", ".png")  # compressed already: stored as they are
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, restore trusts the operator to have stopped the bot
    fcntl = None  # type: ignore[assignment]


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do, in Chinese."""


class BotRunning(BackupError):
    """The bot holds the data folder's lock."""


class RunLock:
    """The data folder's lock: held by the running bot (and by a restore while it works)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, what: str = "机器人") -> None:
        """Take the lock or raise `BotRunning` naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 100).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise BotRunning(f"{what}正在使用数据目录 {self.path.parent}（进程 {holder}）") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing drops the lock


def _stamp_name(dest: Path, now: datetime) -> Path:
    base = f"alliance-{now.strftime('%Y%m%d-%H%M%S')}"
    path, n = dest / f"{base}.zip", 1
    while path.exists():
        n += 1
        path = dest / f"{base}-{n}.zip"
    return path


def _check(conn: sqlite3.Connection, what: str) -> None:
    result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        raise BackupError(f"{what}没有通过完整性检查（PRAGMA integrity_check：{'；'.join(map(str, result[:3]))}）")


def make_backup(data_dir: Path, dest: Path, now: datetime) -> Path:
    """Write `alliance-YYYYMMDD-HHMMSS.zip` into `dest` and return its path. Blocking: run it in a thread.

    Raises:
        BackupError: no database, or the copy failed its integrity check.
        OSError, sqlite3.Error: the disk is full, a folder cannot be written.
    """
    data_dir, dest = Path(data_dir), Path(dest)
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        raise BackupError(f"没有找到数据库 {db_path}：请在机器人的工作目录里运行，或检查 ALLIANCE_DATA_DIR")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".backup-") as tmp:
        copy = Path(tmp) / DB_NAME
        src = sqlite3.connect(db_path, timeout=30)
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # one step: one read snapshot, the bot's writes go on in the WAL meanwhile
            _check(dst, "备份的数据库")
            version = int(dst.execute("PRAGMA user_version").fetchone()[0])
            names = referenced_files(dst)
        finally:
            dst.close()
            src.close()
        files_dir = data_dir / FILES_DIR
        present = [n for n in names if _SAFE_NAME.match(n) and (files_dir / n).is_file()]
        missing = sorted(set(names) - set(present))
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(timespec="seconds"),
            "schema_version": version,
            "return_files": len(present),
            "missing_files": missing[:100],
        }
        final = _stamp_name(dest, now)
        part = Path(tmp) / "archive.zip"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(copy, DB_NAME)
            for name in present:
                kind = zipfile.ZIP_STORED if name.lower().endswith(_STORED) else zipfile.ZIP_DEFLATED
                try:
                    zf.write(files_dir / name, f"{FILES_DIR}/{name}", compress_type=kind)
                except FileNotFoundError:  # removed since the copy was made (a pending upload thrown away)
                    manifest["return_files"] -= 1
            zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(part, final)
    return final


def backups(dest: Path) -> list[Path]:
    """The archives in `dest` made by `make_backup`, oldest first."""
    if not Path(dest).is_dir():
        return []
    found = [(m, p) for p in Path(dest).iterdir() if (m := ARCHIVE.match(p.name))]
    return [p for m, p in sorted(found, key=lambda mp: (mp[0][1], int(mp[0][2] or 1)))]


def latest_backup(dest: Path) -> Path | None:
    """The newest archive in `dest` (for /状态 and /healthz), or None."""
    found = backups(dest)
    return found[-1] if found else None


def prune_backups(dest: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` archives; returns the removed ones."""
    old = backups(dest)[:-keep] if keep > 0 else []
    for p in old:
        p.unlink(missing_ok=True)
    return old


@dataclass(frozen=True)
class Restored:
    archive: Path
    created_at: str
    schema_version: int
    return_files: int
    kept_as: Path | None  # the database it replaced, renamed

    def summary(self) -> str:
        kept = f"原来的数据库已改名保留为 {self.kept_as.name}。" if self.kept_as else ""
        return (
            f"已恢复 {self.created_at.replace('T', ' ')[:16]} 的备份（数据库版本 {self.schema_version}，{self.return_files} 个报送文件），"
            f"完整性检查通过。{kept}现在可以启动机器人了。"
        )


def restore(archive: Path, data_dir: Path, now: datetime) -> Restored:
    """Put the archive's database and files in place in `data_dir`, the bot being stopped. Blocking.

    Raises:
        BotRunning: the bot runs on this data folder.
        BackupError: the archive is no backup, is damaged, or comes from a newer version of the bot.
    """
    archive, data_dir = Path(archive), Path(data_dir)
    if not archive.is_file():
        raise BackupError(
            f"没有找到备份文件 {archive}：请写备份文件的路径，如 data/backups/alliance-20260301-033000.zip"
        )
    lock = RunLock(data_dir)
    lock.acquire()
    try:
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise BackupError(f"{archive.name} 不是联盟助手的备份文件，或已损坏（{e}）") from None
        with zf, tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as tmp:
            names = set(zf.namelist())
            if DB_NAME not in names or "manifest.json" not in names:
                raise BackupError(f"{archive.name} 不是联盟助手的备份文件：里面没有 {DB_NAME} 和 manifest.json")
            manifest = json.loads(zf.read("manifest.json"))
            copy = Path(tmp) / DB_NAME
            try:
                with zf.open(DB_NAME) as src, open(copy, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError) as e:  # a CRC error: the archive was damaged after it was written
                raise BackupError(f"{archive.name} 已损坏，读不出数据库（{e}）；请换一个备份") from None
            conn = sqlite3.connect(copy)
            try:
                try:
                    _check(conn, f"{archive.name} 里的数据库")
                except sqlite3.DatabaseError as e:
                    raise BackupError(f"{archive.name} 里的数据库已损坏（{e}）；请换一个备份") from None
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            finally:
                conn.close()
            if version > latest_version():
                raise BackupError(
                    f"{archive.name} 来自更新版本的联盟助手（数据库版本 {version}，这个程序最高认识 {latest_version()}）："
                    "请先升级程序再恢复"
                )
            files = _restore_files(zf, data_dir / FILES_DIR)
            kept = _set_aside(data_dir / DB_NAME, now)
            os.replace(copy, data_dir / DB_NAME)
        return Restored(archive, str(manifest.get("created_at", "?")), version, files, kept)
    finally:
        lock.release()


def _restore_files(zf: zipfile.ZipFile, folder: Path) -> int:
    """Write the archive's return files into `folder` (only plain generated names: nothing can land elsewhere)."""
    count = 0
    for info in zf.infolist():
        path = PurePosixPath(info.filename)
        if info.is_dir() or path.parent != PurePosixPath(FILES_DIR) or not _SAFE_NAME.match(path.name):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp, folder / path.name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        count += 1
    return count


def _set_aside(db_path: Path, now: datetime) -> Path | None:
    """Rename the current database (its WAL folded in first, so the copy kept is whole) out of the way."""
    if not db_path.is_file():
        return None
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    kept = db_path.with_name(f"{db_path.name}.before-restore-{now.strftime('%Y%m%d-%H%M%S')}")
    os.replace(db_path, kept)
    for suffix in ("-wal", "-shm"):  # never let a stale WAL be read into the restored file
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    return kept
