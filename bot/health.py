"""Is the bot well (issue 25 §2): the report behind /healthz, /metrics and /状态, and telling the admins when not.

How the promises hold:
- each check reads the thing itself, not a flag: the database by a real write (its user_version written back
  unchanged), the QQ accounts from the outbox's connections, the backlog from the outbox's pending rows (the
  automatic reminders held back for quiet hours are not backlog), the reminder loop by when it last went round,
  the disk by its free space, the last backup by the newest file in `data/backups/`;
- a report that is not ok says why, one Chinese sentence per problem, so /healthz's 503 names the reason;
- the admins are told privately once per problem (an account away over 10 minutes in working hours, the oldest
  message waiting over 10 minutes), reminded at most once a day while it lasts, and told again only when it comes
  back after being over. The message goes straight through any connected account (`Outbox.send_direct`), not
  behind the stuck queue it may be about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

from prometheus_client import generate_latest

from bot import clock, metrics
from bot.config import Settings
from bot.db import Database
from bot.loops import stop_loop
from bot.outbox.records import NotSent
from bot.outbox.service import Outbox
from bot.reminders import Reminders, in_quiet
from bot.render import Msg
from bot.workdays import is_working_day

log = logging.getLogger("alliance.health")

AWAY_ALERT = timedelta(minutes=10)  # an account away this long (in working hours) is told to the admins
STUCK = timedelta(minutes=10)  # the oldest waiting message this old: the outbox is stuck
REMIND_EVERY = timedelta(days=1)  # a problem that lasts is told again at most this often
DISK_LOW = 200 * 1024 * 1024  # less free space than this on the data folder's disk is a problem
BACKUP_OLD = timedelta(hours=49)  # the daily backup missed twice
DB_TIMEOUT = 5.0  # a write that takes longer than this: the database is not writable (locked, stalled)
WATCH_EVERY = 60.0  # seconds between two checks for what to tell the admins
BACKUPS = "backups"


def version() -> str:
    try:
        return metadata.version("alliance-bot")
    except metadata.PackageNotFoundError:
        return "未知"


@dataclass(frozen=True)
class Link:
    """One QQ account the bot serves with: connected or not, and since when."""

    account: str
    connected: bool
    since: datetime

    def away_seconds(self, now: datetime) -> float:
        return 0.0 if self.connected else max(0.0, (now - self.since).total_seconds())


@dataclass(frozen=True)
class Backup:
    path: Path
    at: datetime
    size: int


@dataclass
class Report:
    at: datetime
    uptime: float
    db_ok: bool
    db_error: str
    accounts: list[Link]
    backlog: int
    oldest_seconds: float | None
    last_tick: datetime | None
    tick_age: float | None
    tick_late: bool
    disk_free: int
    db_bytes: int
    backup: Backup | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict:
        """What /healthz answers (the same facts /状态 shows, for a monitor to read)."""
        return {
            "status": "ok" if self.ok else "fail",
            "problems": self.problems,
            "time": self.at.isoformat(timespec="seconds"),
            "version": version(),
            "uptime_seconds": round(self.uptime),
            "database": {"writable": self.db_ok, "error": self.db_error or None, "bytes": self.db_bytes},
            "accounts": [
                {
                    "account": a.account,
                    "connected": a.connected,
                    "since": a.since.isoformat(timespec="seconds"),
                    "disconnected_seconds": round(a.away_seconds(self.at)),
                }
                for a in self.accounts
            ],
            "outbox": {"backlog": self.backlog, "oldest_seconds": _round(self.oldest_seconds)},
            "reminders": {
                "last_tick": self.last_tick.isoformat(timespec="seconds") if self.last_tick else None,
                "tick_age_seconds": _round(self.tick_age),
            },
            "disk": {"free_bytes": self.disk_free},
            "last_backup": None
            if self.backup is None
            else {
                "file": self.backup.path.name,
                "time": self.backup.at.isoformat(timespec="seconds"),
                "bytes": self.backup.size,
            },
        }


def metrics_text(report: Report) -> bytes:
    """The text `/metrics` answers: the counters as counted (bot/metrics.py), the gauges from `report`."""
    m = metrics
    m.HEALTHY.set(int(report.ok))
    m.DB_WRITABLE.set(int(report.db_ok))
    known = {a.account for a in report.accounts}
    for labels in list(m.CONNECTED._metrics):  # an account no longer configured is not reported as down
        if labels[0] not in known:
            m.CONNECTED.remove(*labels)
            m.AWAY_SECONDS.remove(*labels)
    for a in report.accounts:
        m.CONNECTED.labels(a.account).set(int(a.connected))
        m.AWAY_SECONDS.labels(a.account).set(0 if a.connected else a.away_seconds(report.at))
    m.BACKLOG.set(report.backlog)
    m.OLDEST.set(report.oldest_seconds or 0)
    m.TICK_AGE.set(report.tick_age or 0)
    m.DISK_FREE.set(report.disk_free)
    m.DB_BYTES.set(report.db_bytes)
    m.BACKUP_TIME.set(report.backup.at.timestamp() if report.backup else 0)
    m.UPTIME.set(report.uptime)
    return generate_latest(m.REGISTRY)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _minutes(seconds: float) -> str:
    mins = int(seconds // 60)
    if mins < 60:
        return f"{mins} 分钟"
    if mins < 1440:
        return f"{mins // 60} 小时 {mins % 60} 分钟"
    return f"{mins // 1440} 天 {mins % 1440 // 60} 小时"


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def newest_backup(folder: Path) -> Backup | None:
    """The newest file in the backups folder (whatever `python -m bot backup` writes there), or None."""
    best: Backup | None = None
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                if entry.is_file() and not entry.name.startswith("."):
                    st = entry.stat()
                    if best is None or st.st_mtime > best.at.timestamp():
                        best = Backup(Path(entry.path), datetime.fromtimestamp(st.st_mtime, clock.tz()), st.st_size)
    return best


def _sizes(root: Path, skip: set[Path]) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p not in skip:
                with contextlib.suppress(OSError):
                    total += p.stat().st_size
    return total


class Health:
    """The report (`report`), and the watch that tells the admins (`start`/`stop`, one check: `watch_once`)."""

    def __init__(self, db: Database, outbox: Outbox, reminders: Reminders, settings: Settings) -> None:
        self.db = db
        self.outbox = outbox
        self.reminders = reminders
        self.settings = settings
        self.started_at = clock.now()
        self._started = time.monotonic()
        self.told: dict[str, datetime] = {}  # problem → when the admins were last told about it
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ the report

    def links(self) -> list[Link]:
        """The accounts watched: the configured ones, else the one serving (or, before any, the one awaited)."""
        box = self.outbox
        names = (
            list(box.accounts.configured)
            or ([box.accounts.primary] if box.accounts.primary else [])
            or box.accounts.connected_accounts()
            or ["QQ 客户端"]
        )
        return [
            Link(a, box.accounts.is_connected(a), box.accounts.links.get(a, self.started_at))
            for a in dict.fromkeys(names)
        ]

    async def _db_writable(self) -> str:
        """'' when a write went through, else why not."""
        try:
            async with asyncio.timeout(DB_TIMEOUT), self.db.tx() as tx:
                v = int(tx.tiny_value("PRAGMA user_version"))
                await tx.run(f"PRAGMA user_version={v}")
        except TimeoutError:
            return f"数据库 {DB_TIMEOUT:.0f} 秒内没能写入（被锁住或卡住）"
        except Exception as e:
            return f"数据库不能写入：{e}"
        return ""

    async def report(self) -> Report:
        now = clock.now()
        s = self.settings
        db_error = await self._db_writable()
        try:
            backlog, oldest = await self.outbox.reading.backlog()
        except Exception as e:
            backlog, oldest = 0, None
            db_error = db_error or f"数据库读不出来：{e}"
        oldest_s = None if oldest is None else max(0.0, (now - oldest).total_seconds())
        last_tick = self.reminders.last_tick
        tick_age = (now - (last_tick or self.started_at)).total_seconds()
        # the loop sleeps until the ledger's next due time (the scheduler wakes it): late is a wake long past with
        # no round since, not a quiet stretch with nothing due
        wake = self.reminders.next_wake_at
        tick_late = (
            wake is not None
            and (now - wake).total_seconds() > max(3 * s.alliance_reminder_tick, 120)
            and (last_tick is None or last_tick < wake)
        )
        try:
            free = shutil.disk_usage(s.data_dir).free
        except OSError:
            free = 0
        db_bytes = sum(p.stat().st_size for p in self.db_files() if p.exists())
        r = Report(
            now, time.monotonic() - self._started, not db_error, db_error, self.links(), backlog, oldest_s,
            last_tick, tick_age if last_tick else None, tick_late, free, db_bytes, newest_backup(s.data_dir / BACKUPS),
        )  # fmt: skip
        if db_error:
            r.problems.append(db_error)
        for a in r.accounts:
            if not a.connected:
                r.problems.append(
                    f"QQ 账号 {a.account} 未连接（自 {clock.show(a.since)} 起，已 {_minutes(a.away_seconds(now))}）"
                )
        if oldest_s is not None and oldest_s >= STUCK.total_seconds():
            r.problems.append(f"发送队列积压 {backlog} 条，最早的一条已等 {_minutes(oldest_s)}")
        if tick_late:
            r.problems.append(f"提醒检查已 {_minutes(tick_age)}没有运行")
        if free < DISK_LOW:
            r.problems.append(f"数据目录所在磁盘只剩 {mb(free)}")
        if r.backup is not None and now - r.backup.at > BACKUP_OLD:
            r.problems.append(
                f"最近一次备份在 {_minutes((now - r.backup.at).total_seconds())}前（{r.backup.path.name}）"
            )
        return r

    def db_files(self) -> list[Path]:
        p = self.settings.db_path
        return [p, p.with_name(p.name + "-wal")]

    async def status(self) -> Msg:
        """What /状态 tells an admin: version, uptime, clients, backlog, database and files size, last backup."""
        r = await self.report()
        data = self.settings.data_dir
        skip = set(self.db_files()) | {p.with_name(p.name + "-shm") for p in self.db_files()[:1]}
        files = await asyncio.to_thread(_sizes, data, skip)
        backups = await asyncio.to_thread(_sizes, data / BACKUPS, set())
        msg = Msg(f"联盟助手 {version()}：{'一切正常' if r.ok else '有问题'}")
        msg.line(f"已运行 {_minutes(r.uptime)}（自 {clock.show(self.started_at)} 起）")
        for a in r.accounts:
            state = "已连接" if a.connected else f"未连接，已 {_minutes(a.away_seconds(r.at))}"
            msg.line(f"QQ 账号 {a.account}：{state}（自 {clock.show(a.since)} 起）")
        wait = f"，最早的一条已等 {_minutes(r.oldest_seconds)}" if r.oldest_seconds else ""
        msg.line(f"待发消息：{r.backlog} 条{wait}")
        msg.line(f"数据库 {mb(r.db_bytes)}，文件 {mb(files - backups)}，备份 {mb(backups)}；磁盘剩余 {mb(r.disk_free)}")
        if r.backup is None:
            msg.line("最近备份：还没有（data/backups/ 里没有备份文件）")
        else:
            msg.line(f"最近备份：{clock.show(r.backup.at)} {r.backup.path.name}（{mb(r.backup.size)}）")
        for p in r.problems:
            msg.line(f"⚠ {p}")
        return msg

    # ------------------------------------------------------------ telling the admins

    def due(self, r: Report) -> Iterator[tuple[str, str]]:
        """(problem, what to tell) for each problem the admins should hear about now; forgets problems that are over."""
        now = r.at
        current: dict[str, tuple[bool, str]] = {}  # problem → (may be told now, text)
        working = is_working_day(now.date()) and not in_quiet(now, self.settings.quiet)
        for a in r.accounts:
            if not a.connected and a.away_seconds(now) > AWAY_ALERT.total_seconds():
                current[f"away:{a.account}"] = (
                    working,
                    f"【联盟助手】QQ 账号 {a.account} 已断开 {_minutes(a.away_seconds(now))}（自 {clock.show(a.since)} 起），"
                    "经它发出的消息都在排队。请检查运行 QQ 客户端（NapCat / LLOneBot）的电脑并重新登录。",
                )
        if r.oldest_seconds is not None and r.oldest_seconds > STUCK.total_seconds():
            current["stuck"] = (
                not in_quiet(now, self.settings.quiet),
                f"【联盟助手】发送队列积压 {r.backlog} 条，最早的一条已等 {_minutes(r.oldest_seconds)}。"
                "消息都还在，不会丢；请检查 QQ 客户端是否在线、是否被限制发言。",
            )
        for key in [k for k in self.told if k not in current]:
            del self.told[key]
        for key, (may, text) in current.items():
            last = self.told.get(key)
            if may and (last is None or now - last >= REMIND_EVERY):
                yield key, text

    async def watch_once(self) -> int:
        """Check once and tell the admins what is due; returns how many problems were told."""
        told = 0
        for key, text in list(self.due(await self.report())):
            reached = 0
            for admin in sorted(self.settings.admins):
                try:
                    async with asyncio.timeout(30):
                        await self.outbox.send_direct("private", admin, Msg(text))
                    reached += 1
                except NotSent:
                    break  # no client at all: told at the next check once one is back
                except Exception as e:
                    log.warning("telling admin %s about %s failed: %r", admin, key, e)
            if reached:
                self.told[key] = clock.now()
                told += 1
        return told

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="health-watch")

    async def stop(self) -> None:
        await stop_loop(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                await self.watch_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("health watch failed")
