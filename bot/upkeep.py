"""The daily upkeep (issue 25.1 and 25.4): a backup at the configured time, then pruning what is past its keeping.

How the promises hold:
- never stalls answers: the backup (SQLite's backup API and the zip) and the picture folder's scan run in a worker
  thread; the pruning's own statements are a few short transactions.
- once a day: the day of the last run is remembered; a bot started after today's time waits for tomorrow's.
- a failed backup tells the admins privately once (through the outbox, so it reaches them when the QQ client is
  back); the next failure after a backup that worked tells them again.
- pruning never deletes a file of an open return (bot/returns/files/retention.py), nor a picture made in the last
  day (a message owed may still carry it); each pruning that removed something is a line in the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot import clock
from bot.audit import audit, prune_audit
from bot.backup import ARCHIVE, latest_backup, make_backup, prune_backups
from bot.config import Settings
from bot.db import Database
from bot.followers.targets import parse_reminder_time
from bot.loops import stop_loop, wait_event
from bot.outbox.service import Outbox
from bot.render import Msg
from bot.returns.files.retention import FILES_DIR, prune_closed

log = logging.getLogger("alliance.upkeep")
ACTOR = "系统"
PICTURE_MIN_AGE = timedelta(days=1)  # younger pictures stay: a message waiting in the outbox may carry one
_RECHECK_S = 600  # the loop looks at the clock at least this often (a moved clock, a suspended machine)


@dataclass
class Pruned:
    """What one pruning removed."""

    return_files: list[str] = field(default_factory=list)
    pictures: int = 0
    picture_bytes: int = 0
    audit_rows: int = 0


class Upkeep:
    """The daily backup and pruning, in the background."""

    def __init__(self, settings: Settings, db: Database, outbox: Outbox) -> None:
        self.settings = settings
        self.db = db
        self.outbox = outbox
        self.last_backup: Path | None = None
        self.last_error: str | None = None
        self._told = False
        self._done: date | None = None
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def backup_dir(self) -> Path:
        return self.settings.backup_dir

    def due_today(self, now: datetime) -> datetime:
        at = parse_reminder_time(self.settings.alliance_backup_time) or time(3, 30)
        return now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)

    async def start(self) -> None:
        now = clock.now()
        if now >= self.due_today(now) and not self.missed(now):  # today's time has passed: the first is tomorrow's
            self._done = now.date()
        self._task = asyncio.create_task(self._run(), name="upkeep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await stop_loop(task)

    async def _run(self) -> None:
        while True:
            now = clock.now()
            due = self.due_today(now)
            if now >= due and self._done != now.date():
                self._done = now.date()
                try:
                    await self.daily()
                except Exception:
                    log.exception("daily upkeep failed")
                continue
            wait = (due if now < due else due + timedelta(days=1)) - now
            await wait_event(self._kick, min(wait.total_seconds(), _RECHECK_S))
            self._kick.clear()

    def missed(self, now: datetime) -> bool:
        """Whether a day's backup was missed (the bot was down at its time): the newest archive is from before
        today. A new installation (no archive yet) waits for the time."""
        if not self.settings.alliance_backup:
            return False
        newest = latest_backup(self.backup_dir)
        m = ARCHIVE.match(newest.name) if newest is not None else None
        return m is not None and m[1][:8] < now.strftime("%Y%m%d")

    def kick(self) -> None:
        """Look at the clock now (it was moved)."""
        self._kick.set()

    async def daily(self) -> None:
        if self.settings.alliance_backup:
            await self.backup()
        await self.prune()

    async def backup(self) -> Path | None:
        """Make today's archive and drop the oldest past the number kept; a failure is told to the admins once."""
        try:
            path = await asyncio.to_thread(make_backup, self.settings.data_dir, self.backup_dir, clock.now())
            await asyncio.to_thread(prune_backups, self.backup_dir, self.settings.alliance_backup_keep)
        except Exception as e:
            self.last_error = f"{type(e).__name__}: {e}"
            log.error("automatic backup failed: %s", self.last_error)
            if not self._told:
                self._told = True
                await self._tell_admins(
                    f"自动备份失败：{e}。已有的数据没有受影响，但这次没有做成备份。"
                    f"请检查磁盘空间和备份目录 {self.backup_dir} 能否写入；修好后可在服务器上运行 "
                    "python -m bot backup 立即备份。下次备份成功前不再重复提醒。"
                )
            return None
        self.last_backup, self.last_error, self._told = path, None, False
        log.info("automatic backup written: %s", path)
        return path

    async def _tell_admins(self, text: str) -> None:
        for admin in sorted(self.settings.admins):
            try:
                await self.outbox.send("private", admin, Msg(text))
            except Exception as e:  # the disk is full too: the log has it
                log.error("could not tell admin %s about the failed backup: %r", admin, e)

    async def prune(self) -> Pruned:
        """Remove what is past its keeping (settings ALLIANCE_KEEP_*), each kind listed in the audit log."""
        s, now, out = self.settings, clock.now(), Pruned()
        if s.alliance_keep_return_files_days:
            before = clock.to_db(now - timedelta(days=s.alliance_keep_return_files_days))
            folder = (s.data_dir / FILES_DIR).resolve()
            async with self.db.tx() as tx:
                out.return_files = await prune_closed(tx, folder, before)
                if out.return_files:
                    shown = "、".join(out.return_files[:20]) + ("等" if len(out.return_files) > 20 else "")
                    detail = f"删除 {len(out.return_files)} 个结束超过 {s.alliance_keep_return_files_days} 天的报送的文件：{shown}"
                    await audit(tx, ACTOR, "清理报送文件", detail)
        if s.alliance_pictures_max_mb:
            out.pictures, out.picture_bytes = await asyncio.to_thread(
                prune_pictures, s.data_dir / "pictures", int(s.alliance_pictures_max_mb * 1024 * 1024), now
            )
            if out.pictures:
                async with self.db.tx() as tx:
                    mb = out.picture_bytes / 1024 / 1024
                    detail = (
                        f"图片缓存超过 {s.alliance_pictures_max_mb:g} MB：删除最旧的 {out.pictures} 张，{mb:.1f} MB"
                    )
                    await audit(tx, ACTOR, "清理图片缓存", detail)
        if s.alliance_keep_audit_days:
            before = clock.to_db(now - timedelta(days=s.alliance_keep_audit_days))
            async with self.db.tx() as tx:
                out.audit_rows = await prune_audit(tx, before)
                if out.audit_rows:
                    detail = f"删除 {out.audit_rows} 条超过 {s.alliance_keep_audit_days} 天的审计记录"
                    await audit(tx, ACTOR, "清理审计日志", detail)
        return out


def prune_pictures(folder: Path, max_bytes: int, now: datetime) -> tuple[int, int]:
    """Delete the oldest pictures until the folder holds at most `max_bytes`, never one younger than a day.
    Returns (pictures deleted, bytes freed). Blocking: run it in a thread."""
    if not folder.is_dir():
        return 0, 0
    found = []
    for p in folder.glob("*.png"):
        try:
            st = p.stat()
        except OSError:
            continue
        found.append((st.st_mtime, st.st_size, p))
    found.sort()
    total = sum(size for _, size, _ in found)
    young = (now - PICTURE_MIN_AGE).timestamp()
    count = freed = 0
    for mtime, size, p in found:
        if total <= max_bytes or mtime >= young:
            break
        try:
            p.unlink()
        except OSError:
            continue
        total -= size
        count += 1
        freed += size
    return count, freed
