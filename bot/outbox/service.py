"""The outbox, the service: queueing in the caller's transaction, the worker that sends one message at a time per account with its gap, priorities and merging."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

from bot import clock, metrics
from bot.db import Database, Tx, is_disk_full
from bot.loops import stop_loop, wait_event
from bot.outbox.accounts import QQAccounts
from bot.outbox.askers import AnswerTurns
from bot.outbox.keys import MessageKeys
from bot.outbox.leaving import leaving
from bot.outbox.merging import OutboxMerging
from bot.outbox.outcomes import SendOutcomes
from bot.outbox.reactions import OutboxReactions
from bot.outbox.reading import OutboxReading
from bot.outbox.records import (
    ACK,
    ANSWER,
    REPEAT,
    Connection,
    NotSent,
    Reactor,
    Sender,
    SendFailed,
    SendUnknown,
    default_priority,
    log,
    unless_gone,
)
from bot.refs import Ref
from bot.render import Msg, Segment


class Outbox:
    """Persisted, rate-limited, prioritised delivery of outgoing messages, per QQ account.

    Its parts: `accounts` (which QQ account sends to a chat, their connections), `reactions` (the lane of
    acknowledgements put as reactions), `turns` (answers to different askers in turn), `outcomes` (what sends
    ended in, not yet written), `keys` (stable keys of the bot's messages), `merging` (acknowledgements merged,
    stale ones dropped) and `reading` (what was sent, what failed).
    """

    def __init__(
        self,
        db: Database,
        interval: float = 1.5,
        jitter: float = 0.3,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        *,
        react_interval: float = 0.3,
        ack_window: float = 0.0,
        ack_max_age: float = 300.0,
        at_batch: int = 20,
        accounts: Iterable[str] = (),
        group_accounts: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        self.interval = interval
        self.jitter = jitter
        self.ack_window = ack_window
        self.ack_max_age = ack_max_age
        self.at_batch = at_batch
        self._sleep = sleep
        self.accounts = QQAccounts(db, accounts, group_accounts, on_attach=self._attached, on_groups=self.wake)
        self.outcomes = SendOutcomes(db)
        self.reactions = OutboxReactions(db, self.accounts, self.outcomes, react_interval)
        self.turns = AnswerTurns(interval + jitter / 2)
        self.keys = MessageKeys(db)
        self.merging = OutboxMerging(db)
        # a LIKE pattern of refs to hold back for now (automatic reminders in quiet hours), or None
        self.hold: Callable[[], str | None] = lambda: None
        self.reading = OutboxReading(db, self.keys, lambda: self.hold())
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # hints that save a query per step under load: False once a lane was found empty, until a row is queued
        self._react_owed = True
        self._msg_owed = True
        self._acks_waiting = True
        # accounts whose lane of reactions was found empty: not claimed from again (an empty claim between two answers
        # was a second transaction per message) until a reaction is queued or a wake, which make a new set (a claim
        # that began with the old one then finds it replaced and marks nothing)
        self._react_empty: set[str] = set()
        self._queued = 0  # rows queued (and wakes) so far: a step resets the hints only if none came meanwhile
        self.on_sent: list[Callable[[int, str | None, str | None], Awaitable[None]]] = [self.keys.learn_key]
        # told what could not be done when nothing can be written (the disk is full); the plugins tell the admins
        self.on_disk_full: Callable[[str], Awaitable[None]] | None = None

    # ------------------------------------------------------------ the QQ clients (see QQAccounts)

    def attach(
        self,
        sender: Sender,
        owner: object | None = None,
        *,
        account: str | int | None = None,
        react: Reactor | None = None,
    ) -> bool:
        """A QQ client connected: deliver what is owed through it (see `QQAccounts.attach`)."""
        return self.accounts.attach(sender, owner, account=account, react=react)

    def detach(self, owner: object | None = None, *, account: str | int | None = None) -> None:
        """The QQ client went away: keep everything pending (see `QQAccounts.detach`)."""
        self.accounts.detach(owner, account=account)

    @property
    def connected(self) -> bool:
        return self.accounts.connected

    def _attached(self) -> None:
        self.merging.due = True
        self.wake()

    # ------------------------------------------------------------ enqueue

    async def put(
        self,
        tx: Tx,
        target_type: str,
        target_id: str | int,
        msg: Msg,
        ref: Ref | str | None = None,
        *,
        priority: int | None = None,
        account: str | None = None,
        react_to: str | None = None,
        asker: str | None = None,
    ) -> int:
        """Queue a message inside the caller's transaction (so it is owed exactly when the change commits).

        `asker` is the person whose command this answers: answers waiting for different askers go out in turn.
        """
        if target_type not in ("group", "private"):
            raise ValueError(target_type)
        if not msg:
            raise ValueError("empty message")
        tid = str(target_id)
        acc = self.accounts.route(target_type, tid, account)
        if react_to is not None and (target_type != "group" or self.accounts.said_no_reactions(acc)):
            react_to = None
        fallback = json.dumps(msg.fallback.segments, ensure_ascii=False) if msg.fallback else None
        row_id = await tx.run(
            "INSERT INTO outbox (target_type, target_id, message, ref, created_at, account, priority, react_to, "
            "fallback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                target_type,
                tid,
                json.dumps(msg.segments, ensure_ascii=False),
                None if ref is None else str(ref),
                clock.now_db(),
                acc,
                default_priority(ref) if priority is None else priority,
                react_to,
                fallback,
            ),
        )
        if react_to is None and (default_priority(ref) if priority is None else priority) == ANSWER:
            self.turns.note(row_id, asker)
        else:
            self.turns.forget(row_id)
        if react_to is not None:
            self._react_owed = True
            self._react_empty = set()
        else:
            self._msg_owed = self._acks_waiting = True
        self._signal()
        return row_id

    async def nod(self, tx: Tx, group_id: str | int, message_id: str, *, account: str | None = None) -> int | None:
        """Queue a reaction on a person's message in a group that says "seen, answered already" (a repeated
        command, issue 20); where the client cannot react, nothing at all (never a message). None when nothing was
        queued."""
        if self.accounts.said_no_reactions(self.accounts.route("group", str(group_id), account)):
            return None
        return await self.put(
            tx,
            "group",
            group_id,
            Msg("（重复的命令）"),
            REPEAT,
            priority=ACK,
            account=account,
            react_to=str(message_id),
        )

    async def ack(
        self,
        tx: Tx,
        target_type: str,
        target_id: str | int,
        msg: Msg,
        *,
        react_to: str | None = None,
        account: str | None = None,
        ref: Ref | str | None = None,
    ) -> int:
        """Queue an acknowledgement: a reaction on `react_to` where the client can, else merged with others."""
        return await self.put(tx, target_type, target_id, msg, ref, priority=ACK, account=account, react_to=react_to)

    async def send(self, target_type: str, target_id: str | int, msg: Msg, ref: Ref | str | None = None) -> int:
        """Queue a message in a transaction of its own."""
        async with self.db.tx() as tx:
            return await self.put(tx, target_type, target_id, msg, ref)

    def wake(self) -> None:
        """Look at everything owed again (the clock moved, a client connected, quiet hours ended)."""
        self._react_owed = self._msg_owed = self._acks_waiting = True
        self._react_empty = set()
        self._signal()

    def _signal(self) -> None:
        self._queued += 1
        self._idle.clear()
        self._wake.set()

    # ------------------------------------------------------------ a full disk

    async def disk_full(self, what: str) -> None:
        """The disk is full: tell whoever listens (the admins, directly, at most every 10 minutes); what is owed stays
        owed (the failed transaction left it as it was) and goes out once there is space again."""
        log.error("disk full: %s", what)
        if self.on_disk_full is None:
            return
        try:
            await self.on_disk_full(what)
        except Exception:
            log.exception("telling about the full disk failed")

    async def send_direct(self, target_type: str, target_id: str | int, msg: Msg) -> str | None:
        """Send one message now through the chat's account, without storing it: only for what must get out when
        nothing can be stored (the disk is full). Not kept, not retried, not in /发送记录. Raises NotSent: no client."""
        tid = str(target_id)
        acc = self.accounts.route(target_type, tid) or self.accounts.primary
        conn = self.accounts.conns.get(acc) if acc is not None else None
        if conn is None:
            conn = next(iter(self.accounts.in_order()), None)
        if conn is None:
            raise NotSent()
        wait = conn.next_msg - time.monotonic()
        if wait > 0:
            await self._sleep(wait)
        try:
            return await conn.sender(target_type, tid, await leaving(target_type, msg.segments))
        finally:
            conn.next_msg = time.monotonic() + self._gap(self.interval)

    # ------------------------------------------------------------ worker

    async def start(self) -> None:
        async with self.db.tx() as tx:
            await tx.run(
                "UPDATE outbox SET state='unknown', error='机器人在发送途中停止，可能已送达，未重发' WHERE state='sending'"
            )
        await self.accounts.load_groups()
        self.merging.due = True
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")
        self.wake()

    async def stop(self) -> None:
        await stop_loop(self._task)
        self._task = None
        await self.outcomes.flush()

    async def wait_idle(self, timeout: float = 10) -> None:
        """Wait until nothing is pending (or no client is connected to send it)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def _run(self) -> None:
        while True:
            idle, pause = False, 1.0
            try:
                while True:
                    step = await self._step()
                    if step is None:
                        idle = True
                        break
                    if step > 0:
                        pause = step
                        break
            except asyncio.CancelledError:
                raise
            except Exception as e:
                await self._worker_error(e)
            try:
                await self.outcomes.flush()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the outcomes stay in memory and are written with the next claim
                await self._worker_error(e)
            if idle and not self._wake.is_set():
                self._idle.set()
            if not await wait_event(self._wake, min(pause, 1.0)):
                self._react_owed = self._msg_owed = self._acks_waiting = True  # held rows, gathering windows
                self._react_empty = set()
            self._wake.clear()

    async def _worker_error(self, e: Exception) -> None:
        """The worker keeps running after any error; a full disk is told about (see `disk_full`)."""
        if is_disk_full(e):
            await self.disk_full("待发的消息暂时发不出（都还在发送队列里，一条不丢），腾出空间后会依次发出")
        else:
            log.exception("outbox worker error", exc_info=e)
        await self._sleep(1.0)

    async def _step(self) -> float | None:
        """Send one message or reaction. Returns 0 after a send (or a wait for a gap), the seconds until an
        acknowledgement may go merged, or None when nothing is owed to a connected account."""
        if not self.accounts.conns:
            return None
        await self.merging.compact_if_due(self.ack_max_age)
        soonest: tuple[float, Connection, str] | None = None
        queued = self._queued
        for conn in self.accounts.in_order():
            for lane in ("react", "msg"):
                if lane == "react" and (
                    conn.react is None or not self._react_owed or conn.account in self._react_empty
                ):
                    continue
                if lane == "msg" and not self._msg_owed:
                    continue
                wait = (conn.next_react if lane == "react" else conn.next_msg) - time.monotonic()
                if wait > 0:
                    if (soonest is None or wait < soonest[0]) and await self._has_work(conn, lane):
                        soonest = (wait, conn, lane)
                    continue
                if await (self._react_next(conn) if lane == "react" else self._send_next(conn)):
                    return 0.0
        if soonest is None:
            if queued == self._queued:
                self._react_owed = self._msg_owed = False  # every connected account's lanes were found empty
            return await self._ack_wait()
        wait, conn, lane = soonest
        await self.outcomes.flush()
        await self._sleep(wait)
        if lane == "react":  # the gap was waited: the lane is ready (a test's sleep may not move the clock)
            conn.next_react = 0.0
        else:
            conn.next_msg = 0.0
        return 0.0

    async def _react_next(self, conn: Connection) -> bool:
        """Put the oldest owed reaction(s) of this account (see `OutboxReactions`); False when none is owed."""
        empty = self._react_empty
        reacted = await self.reactions.react_next(conn)
        if reacted is None:
            if empty is self._react_empty:  # none was queued meanwhile: not looked for again until one is
                empty.add(conn.account)
            return False
        if reacted.fell_back:
            self._msg_owed = self._acks_waiting = True
        if reacted.client_gone:
            await self.outcomes.flush()
            await self._sleep(0.5)
        return True

    async def _has_work(self, conn: Connection, lane: str) -> bool:
        where, params = self.accounts.clause(conn)
        react = "react_to IS NOT NULL" if lane == "react" else "react_to IS NULL"
        sql = f"SELECT 1 FROM outbox INDEXED BY outbox_pending WHERE state='pending' AND {react} AND {where} LIMIT 1"
        async with self.db.read() as tx:
            return bool(await tx.value(sql, params))

    async def _ack_wait(self) -> float | None:
        """Seconds until the oldest acknowledgement waiting to be merged may go, or None when none waits."""
        if self.ack_window <= 0 or not self._acks_waiting:
            return None
        async with self.db.read() as tx:
            oldest = await tx.value(
                "SELECT MIN(created_at) FROM outbox INDEXED BY outbox_pending "
                "WHERE state='pending' AND priority=? AND react_to IS NULL",
                (ACK,),
            )
        if oldest is None:
            self._acks_waiting = False
            return None
        left = (clock.from_db(oldest) + timedelta(seconds=self.ack_window) - clock.now()).total_seconds()
        return max(0.2, left + 0.05)

    def _gap(self, base: float) -> float:
        return base + (random.uniform(0, self.jitter) if base > 0 and self.jitter > 0 else 0)

    async def _send_next(self, conn: Connection) -> bool:
        """Claim and send the best pending message of this account; False when there is none now.

        The outcome of a send is written in the same transaction that claims the next message (one commit
        per message under load), and on its own before the worker waits or stops.
        """
        held = self.hold()
        where, params = self.accounts.clause(conn)
        cutoff = clock.to_db(clock.now() - timedelta(seconds=self.ack_window))
        async with self.outcomes.keeping(), self.db.tx() as tx:
            await self.outcomes.record(tx)
            row = await self.turns.claim_answer(tx, where, params, held) or await tx.one(
                "UPDATE outbox SET state='sending' WHERE id = "
                "(SELECT o.id FROM outbox o INDEXED BY outbox_pending WHERE o.state='pending' AND o.react_to IS NULL "
                f"AND {where.replace('account', 'o.account')} "
                "AND (? IS NULL OR o.ref IS NULL OR o.ref NOT LIKE ?) "
                "AND (o.priority<>? OR o.created_at<=? OR (SELECT COUNT(*) FROM outbox p INDEXED BY outbox_pending "
                "WHERE p.state='pending' AND p.priority=? AND p.react_to IS NULL AND p.target_type=o.target_type "
                "AND p.target_id=o.target_id)>=?) "
                "ORDER BY o.priority, o.id LIMIT 1) RETURNING id, target_type, target_id, message, ref, priority, fallback",
                (*params, held, held, ACK, cutoff, ACK, self.at_batch),
            )
            if row is None:
                return False
            message = json.loads(row["message"])
            if row["priority"] == ACK:
                message = await self.merging.merge(tx, self.accounts.clause(conn), row, message, self.at_batch)
        state, message_id, error = "sent", None, None
        try:
            message_id = await self._deliver(conn, row, message)
        except NotSent:
            state = "pending"
        except SendFailed as e:
            state, error = "failed", str(e)[:500] or "发送失败"
        except SendUnknown as e:
            state, error = "unknown", str(e)[:500] or "发送超时，可能已送达，未重发"
        except asyncio.CancelledError:
            self.outcomes.add(row["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发")
            raise
        except Exception as e:
            log.exception("send raised")
            state, error = "unknown", f"{type(e).__name__}: {e}"[:500]
        conn.next_msg = time.monotonic() + self._gap(self.interval)
        self.outcomes.add(row["id"], state, message_id, error)
        metrics.sent(row["priority"], state)
        if state == "pending":
            await self.outcomes.flush()
            await self._sleep(0.5)
            return True
        if state == "sent":
            await self._hooks(row["id"], row["ref"], message_id)
        return True

    async def _deliver(self, conn: Connection, row: Any, message: list[Segment]) -> str | None:
        """Send a row's message; when the client refuses it and it has a text alternative, send that instead.

        A refusal is an answer (the picture or folded list was not delivered), so sending the alternative
        is no blind re-send; a timeout is no answer, and nothing more is sent.
        """
        try:
            return await unless_gone(
                conn, conn.sender(row["target_type"], row["target_id"], await leaving(row["target_type"], message))
            )
        except SendFailed as e:
            if not row["fallback"]:
                raise
            log.info("message %s refused (%s): sending its text alternative", row["id"], e)
            fallback = await leaving(row["target_type"], json.loads(row["fallback"]))
            return await unless_gone(conn, conn.sender(row["target_type"], row["target_id"], fallback))

    async def _hooks(self, row_id: int, ref: str | None, message_id: str | None) -> None:
        for hook in self.on_sent:
            try:
                await hook(row_id, ref, message_id)
            except Exception:
                log.exception("on_sent hook failed")
