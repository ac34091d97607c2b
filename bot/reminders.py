"""The reminder engine: a ledger of reminders owed, each sent exactly once, woken by a scheduler at the next due time.

Promises and how they hold:
- once, never twice: a reminder row is marked `sent` in the same transaction that puts its
  messages into the outbox; the outbox never re-sends (see bot/outbox/).
- nothing lost across a restart: the ledger is in the database; on start the first tick sends
  whatever came due while the bot was down.
- nothing polls: after each tick the engine asks its clock (`Wake`: APScheduler's date job in the running bot,
  wired in plugins/system; an asyncio timer without one) to wake it at the ledger's next due time, rebuilt from
  the ledger at start and moved sooner whenever a sooner reminder is owed. A wake that finds nothing due only
  re-arms; what is due but could not go out (a full disk, a failing handler) is tried again after
  ALLIANCE_REMINDER_TICK seconds; in quiet hours the wake is at their end.
- nothing lost across a disconnection: the engine does not tick while no QQ client is connected,
  and ticks at once when one connects.
- quiet hours: no tick sends during them; what came due waits for the end of the window.
- a full disk: the transaction that would queue a reminder rolls back, so it stays owed and the next tick
  sends it once there is space; the admins are told (directly, at most every 10 minutes: `Outbox.disk_full`).
- several reminders of one task due at once (after downtime or quiet hours) go out as one: the
  latest is sent, the older ones are marked skipped, so nobody is nudged twice in a row.
- a unit that has done it is not nudged: the kind's handler computes who is still owed at
  send time, inside the same transaction.
- a reminder whose moment has passed (the bot was stopped, or quiet hours held it) and whose task has another one
  coming sooner than it is late is replaced by that one: nobody reads "还剩 1 分钟" a minute before "已逾期".
- kinds registered `workdays_only` (the monthly ones) never go out on a day off (bot/workdays.py): one that comes due
  on a holiday is moved to the next working day at the same time, still owed once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from bot import clock
from bot.db import Database, Tx, is_disk_full
from bot.loops import stop_loop
from bot.outbox.service import Outbox
from bot.refs import REMINDER, REMINDER_PREFIX, Ref, like
from bot.render import Msg
from bot.workdays import is_working_day, next_working_day

log = logging.getLogger("alliance.reminders")

OVERDUE = "overdue"
REF_PREFIX = REMINDER_PREFIX  # how the outbox ref of every automatic reminder starts (see bot/refs.py)


@dataclass(frozen=True)
class Reminder:
    id: int
    kind: str
    task_id: int
    label: str
    due_at: datetime
    prepared: Any = None  # what the kind's `prepare` made before the transaction (e.g. a picture and a file)

    @property
    def overdue(self) -> bool:
        return self.label == OVERDUE


Outgoing = tuple[str, str, Msg]  # (target_type, target_id, message)
Wake = Callable[[datetime | None], None]
"""The clock port: call `Reminders.kick` at this wall-clock time (None: no wake is needed); each call replaces the
one before."""
Handler = Callable[[Tx, Reminder], Awaitable[list[Outgoing]]]
Prepare = Callable[[Reminder], Awaitable[Any]]


def offset_label(offset: timedelta) -> str:
    """`3d`, `2h`, `30m` (or `45s`) for an offset: distinct offsets get distinct labels."""
    secs = int(offset.total_seconds())
    if secs % 86400 == 0:
        return f"{secs // 86400}d"
    if secs % 3600 == 0:
        return f"{secs // 3600}h"
    if secs % 60 == 0:
        return f"{secs // 60}m"
    return f"{secs}s"


def describe_left(deadline: datetime, now: datetime) -> str:
    """`还剩 2 小时` / `已逾期` for a deadline."""
    left = deadline - now
    if left <= timedelta(0):
        return "已逾期"
    mins = int(left.total_seconds() // 60)
    if mins >= 3 * 1440:
        return f"还剩约 {round(mins / 1440)} 天"
    if mins >= 1440 + 60:  # 39 hours is 1 天 15 小时, not 约 2 天
        days, hours = divmod(round(mins / 60), 24)
        return f"还剩 {days} 天" + (f" {hours} 小时" if hours else "")
    if mins >= 60:
        return f"还剩约 {round(mins / 60)} 小时"
    return f"还剩 {max(mins, 1)} 分钟"


def in_quiet(now: datetime, quiet: tuple[time, time] | None) -> bool:
    """Whether `now` (local) falls in the quiet window, which may cross midnight."""
    if quiet is None:
        return False
    start, end = quiet
    t = now.timetz().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


class Reminders:
    """Schedules reminders for tasks with deadlines and sends them when due."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        *,
        offsets: list[timedelta],
        quiet: tuple[time, time] | None,
        tick_seconds: float = 30,
        wake: Wake | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.offsets = offsets
        self.quiet = quiet
        self.tick_seconds = tick_seconds  # how soon something due that could not go out is tried again
        self._wake: Wake = wake or self._timer_wake
        self._timer: asyncio.TimerHandle | None = None
        self._armed: datetime | None = None  # the next wake asked for, on the bot's clock
        self._handlers: dict[str, Handler] = {}
        self._prepare: dict[str, Prepare] = {}
        self._titles: dict[str, str] = {}
        self._workdays_only: set[str] = set()
        # reminders queued just before the client went away must not go out in quiet hours when it comes back
        outbox.hold = lambda: like(REMINDER) if in_quiet(clock.now(), self.quiet) else None
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self.last_tick: datetime | None = None

    def register(
        self,
        kind: str,
        handler: Handler,
        prepare: Prepare | None = None,
        *,
        title: str = "",
        workdays_only: bool = False,
    ) -> None:
        """Say how to build the reminders of one kind of task (who is still owed, what to say).

        `title` names what this kind sends, for the admins when it cannot go out (the disk is full); by default
        "到期的自动提醒".

        `prepare`, when given, does the slow part (reading, drawing, writing files) before the transaction that
        queues the messages and marks the reminder sent; its result reaches the handler as `rem.prepared`.

        `workdays_only`: one that comes due on a day off waits for the next working day, at the same time of day.
        """
        self._handlers[kind] = handler
        if workdays_only:
            self._workdays_only.add(kind)
        if title:
            self._titles[kind] = title
        if prepare is not None:
            self._prepare[kind] = prepare

    # ------------------------------------------------------------ ledger

    async def schedule(
        self,
        tx: Tx,
        kind: str,
        task_id: int,
        deadline: datetime,
        *,
        offsets: list[timedelta] | None = None,
        overdue: bool = True,
    ) -> int:
        """Owe the reminders of a task: one per offset before the deadline still in the future, and one when overdue.

        Rescheduling (a new deadline) replaces the reminders not yet sent. Returns how many are pending.
        """
        now = clock.now()
        await tx.run("DELETE FROM reminders WHERE kind=? AND task_id=? AND state='pending'", (kind, task_id))
        rows = []
        for off in self.offsets if offsets is None else offsets:
            due = deadline - off
            if due > now:
                rows.append((kind, task_id, offset_label(off), clock.to_db(due)))
        if overdue:
            rows.append((kind, task_id, OVERDUE, clock.to_db(deadline)))
        await tx.many("INSERT OR IGNORE INTO reminders (kind, task_id, label, due_at) VALUES (?, ?, ?, ?)", rows)
        if rows:
            self._owed_at(min(clock.from_db(r[3]) for r in rows))
        return len(rows)

    async def schedule_at(self, tx: Tx, kind: str, task_id: int, label: str, due: datetime) -> None:
        """Owe one reminder at a given time (e.g. a monthly one); a label already owed or sent is kept."""
        await tx.run(
            "INSERT OR IGNORE INTO reminders (kind, task_id, label, due_at) VALUES (?, ?, ?, ?)",
            (kind, task_id, label, clock.to_db(due)),
        )
        self._owed_at(due)

    @staticmethod
    async def claim(tx: Tx, kind: str, task_id: int, label: str, note: str = "") -> bool:
        """Record, in the caller's transaction, that something owed at most once per (kind, task_id, label) is done
        now (e.g. the daily list for the admins); False when it already was. Claimed rows are never ticked."""
        if await tx.value("SELECT 1 FROM reminders WHERE kind=? AND task_id=? AND label=?", (kind, task_id, label)):
            return False
        now = clock.now_db()
        await tx.run(
            "INSERT INTO reminders (kind, task_id, label, due_at, state, done_at, note) VALUES (?, ?, ?, ?, 'sent', ?, ?)",
            (kind, task_id, label, now, now, note or None),
        )
        return True

    @staticmethod
    async def last_sent(tx: Tx, kind: str, task_id: int) -> datetime | None:
        """When the latest automatic reminder of a task went into the outbox (None: none yet)."""
        at = await tx.value(
            "SELECT MAX(done_at) FROM reminders WHERE kind=? AND task_id=? AND state='sent'", (kind, task_id)
        )
        return clock.from_db(at) if at else None

    async def cancel(self, tx: Tx, kind: str, task_id: int, why: str = "任务已结束") -> None:
        """The task closed or was withdrawn: no more reminders for it."""
        await tx.run(
            "UPDATE reminders SET state='cancelled', done_at=?, note=? WHERE kind=? AND task_id=? AND state='pending'",
            (clock.now_db(), why, kind, task_id),
        )

    async def cancel_kind(self, tx: Tx, kind: str, why: str) -> None:
        """No more reminders of a whole kind (a monthly reminder switched off)."""
        await tx.run(
            "UPDATE reminders SET state='cancelled', done_at=?, note=? WHERE kind=? AND state='pending'",
            (clock.now_db(), why, kind),
        )

    async def drop_future(self, tx: Tx, kind: str, after: datetime) -> None:
        """Forget the reminders of a kind owed after `after` (about to be re-dated); those already due stay owed."""
        await tx.run("DELETE FROM reminders WHERE kind=? AND state='pending' AND due_at>?", (kind, clock.to_db(after)))

    @staticmethod
    async def is_pending(tx: Tx, kind: str, task_id: int) -> bool:
        """Whether a reminder of this task is still owed."""
        return bool(
            await tx.value("SELECT 1 FROM reminders WHERE kind=? AND task_id=? AND state='pending'", (kind, task_id))
        )

    @staticmethod
    async def pending_labels(tx: Tx, kind: str, task_id: int) -> list[str]:
        """The labels of a task's reminders still owed, soonest first (`1d`, `2h`, `overdue`)."""
        rows = await tx.all(
            "SELECT label FROM reminders WHERE kind=? AND task_id=? AND state='pending' ORDER BY due_at",
            (kind, task_id),
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------ sending

    async def tick(self) -> int:
        """Send every reminder that is due; returns how many were sent."""
        if not self.outbox.connected:
            return 0
        now = clock.now()
        if in_quiet(now, self.quiet):
            return 0
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT id, kind, task_id, label, due_at FROM reminders WHERE state='pending' AND due_at<=? "
                "ORDER BY kind, task_id, due_at, id",
                (clock.to_db(now),),
            )
        latest: dict[tuple[str, int], list] = {}
        for r in rows:
            latest.setdefault((r["kind"], r["task_id"]), []).append(r)
        sent = 0
        for (kind, task_id), group in latest.items():
            handler = self._handlers.get(kind)
            if handler is None:
                continue
            if kind in self._workdays_only and not is_working_day(now.date()):
                await self._postpone(group, now)
                continue
            *older, last = group
            if await self._superseded(kind, task_id, clock.from_db(last["due_at"]), now):
                await self._retire([r["id"] for r in group], "已过时：由这个任务的下一次提醒代替")
                continue
            try:
                sent += await self._send(handler, last, [r["id"] for r in older])
            except Exception as e:
                if not is_disk_full(e):
                    log.exception("reminder %s failed", last["id"])
                    continue
                # the transaction rolled back: the reminder is still owed, and the next tick tries it again
                title = self._titles.get(kind, "到期的自动提醒")
                await self.outbox.disk_full(f"{title}写不进数据库，暂时发不出；腾出空间后会自动补发（只发一次）")
        return sent

    async def _superseded(self, kind: str, task_id: int, due: datetime, now: datetime) -> bool:
        """Whether the task's next reminder comes sooner than this one is late: then that one speaks for both."""
        async with self.db.read() as tx:
            nxt = await tx.value(
                "SELECT MIN(due_at) FROM reminders WHERE kind=? AND task_id=? AND state='pending' AND due_at>?",
                (kind, task_id, clock.to_db(now)),
            )
        return nxt is not None and clock.from_db(nxt) - now < now - due

    async def _retire(self, ids: list[int], note: str) -> None:
        async with self.db.tx() as tx:
            for rid in ids:
                await tx.run(
                    "UPDATE reminders SET state='skipped', done_at=?, note=? WHERE id=? AND state='pending'",
                    (clock.now_db(), note, rid),
                )

    async def _postpone(self, group: list, now: datetime) -> None:
        """A day off: the reminders of a workdays-only kind wait for the next working day, at their own time."""
        day = next_working_day(now.date())
        async with self.db.tx() as tx:
            for r in group:
                due = clock.from_db(r["due_at"])
                later = datetime.combine(day, due.timetz())
                await tx.run(
                    "UPDATE reminders SET due_at=? WHERE id=? AND state='pending'", (clock.to_db(later), r["id"])
                )
        log.info("%s reminders of %s moved to %s (a day off)", len(group), group[0]["kind"], day)

    async def _send(self, handler: Handler, row, older: list[int]) -> int:
        rem = Reminder(row["id"], row["kind"], row["task_id"], row["label"], clock.from_db(row["due_at"]))
        if (prepare := self._prepare.get(rem.kind)) is not None:
            rem = replace(rem, prepared=await prepare(rem))
        async with self.db.tx() as tx:
            state = await tx.value("SELECT state FROM reminders WHERE id=?", (rem.id,))
            if state != "pending":
                return 0
            for rid in older:
                await tx.run(
                    "UPDATE reminders SET state='skipped', done_at=?, note='并入后一次提醒' WHERE id=? AND state='pending'",
                    (clock.now_db(), rid),
                )
            messages = await handler(tx, rem)
            for target_type, target_id, msg in messages:
                await self.outbox.put(tx, target_type, target_id, msg, ref=Ref(rem.kind, rem.task_id, REMINDER))
            await tx.run(
                "UPDATE reminders SET state=?, done_at=?, note=? WHERE id=?",
                (
                    "sent" if messages else "skipped",
                    clock.now_db(),
                    None if messages else "无需提醒（都已完成或任务已结束）",
                    rem.id,
                ),
            )
        return 1 if messages else 0

    # ------------------------------------------------------------ the clock

    def use_scheduler(self, wake: Wake) -> None:
        """Let another clock wake the engine (APScheduler, from the plugin layer); told the next wake at once."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake = wake
        if self._task is not None:
            self._arm(self._armed)

    @property
    def next_wake_at(self) -> datetime | None:
        """When the loop has asked to be woken next (None: nothing is due); health checks that it did wake."""
        return self._armed

    async def next_wake(self) -> datetime | None:
        """When the engine must look again (the bot's clock): the next reminder owed, or sooner when one already due
        could not go out (in ALLIANCE_REMINDER_TICK seconds, at the end of quiet hours while they last)."""
        now = clock.now()
        kinds = sorted(self._handlers)
        async with self.db.read() as tx:
            later = await tx.value(
                "SELECT MIN(due_at) FROM reminders WHERE state='pending' AND due_at>?", (clock.to_db(now),)
            )
            stuck = bool(kinds) and await tx.value(
                f"SELECT 1 FROM reminders WHERE state='pending' AND due_at<=? AND kind IN ({','.join('?' * len(kinds))})"
                " LIMIT 1",
                (clock.to_db(now), *kinds),
            )
        when = clock.from_db(later) if later else None
        if stuck and self.outbox.connected:
            retry = quiet_end(now, self.quiet) if in_quiet(now, self.quiet) else None
            retry = retry or now + timedelta(seconds=self.tick_seconds)
            when = retry if when is None else min(when, retry)
        return when

    def _owed_at(self, due: datetime) -> None:
        """A reminder is owed at `due`: wake by then (a wake too early, e.g. for a transaction rolled back, only
        re-arms)."""
        if self._task is not None and (self._armed is None or due < self._armed):
            self._arm(due)

    def _arm(self, due: datetime | None) -> None:
        self._armed = due
        # the bot's clock may be moved (tests, ALLIANCE_TEST_NOW): the scheduler runs on the wall clock
        self._wake(None if due is None else datetime.now(clock.tz()) + (due - clock.now()))

    def _timer_wake(self, when: datetime | None) -> None:
        """The clock without a scheduler: one asyncio timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            delay = max(0.0, (when - datetime.now(clock.tz())).total_seconds())
            self._timer = asyncio.get_running_loop().call_later(delay, self.kick)

    # ------------------------------------------------------------ loop

    def kick(self) -> None:
        """Check now (e.g. the QQ client just connected, or the scheduler's wake came)."""
        self._kick.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reminders")

    async def stop(self) -> None:
        await stop_loop(self._task)
        self._task = None
        self._armed = None
        self._wake(None)

    async def _run(self) -> None:
        while True:
            self._kick.clear()
            try:
                await self.tick()
                self.last_tick = clock.now()  # the loop went round (bot/health.py watches it)
                self._arm(await self.next_wake())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if is_disk_full(e):
                    await self.outbox.disk_full("到期的自动提醒暂时发不出；腾出空间后会自动补发（只发一次）")
                else:
                    log.exception("reminder tick failed")
                self._arm(clock.now() + timedelta(seconds=self.tick_seconds))
            await self._kick.wait()


def quiet_end(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """When the quiet window `now` is in ends (None outside one)."""
    if quiet is None or not in_quiet(now, quiet):
        return None
    end = datetime.combine(now.date(), quiet[1], tzinfo=now.tzinfo)
    return end if end > now else end + timedelta(days=1)
