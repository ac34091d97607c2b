"""The one way a message leaves: persisted first, sent one at a time with a gap, never blindly re-sent.

A row is `pending` until the worker takes it. The worker marks it `sending` (committed) before it
calls the client, then `sent` (with the client's message id), `failed` (the client said no), or
`unknown` (no answer: it may have been delivered, so it is not sent again). A row found `sending`
at start-up was cut off by a crash and becomes `unknown` for the same reason. Rows wait as
`pending` while no QQ client is connected and go out, in order, when one connects.

How it stays fair and quiet (issue 15):
- it chooses by `priority`: answers someone is waiting for, then announcements and notices, then
  acknowledgements, then nudges and reminders; within one priority, in order (a multi-part answer
  stays in order);
- an acknowledgement (`ack`) is a reaction on the person's message where the account's client
  supports it, in a lane of its own with its own small gap; otherwise acknowledgements to the same
  chat are merged into one message (at most `at_batch` of them, gathered over `ack_window`
  seconds): the first row carries the merged text, the others become `merged` into it;
- after a stall (start, reconnect) nothing is flushed as a burst: acknowledgements older than
  `ack_max_age` are `dropped` (the confirmation stays recorded), and several nudges owed for the
  same task become the latest one (the older ones `merged` into it); both show in `problems()`;
- several QQ accounts: each row has the `account` that sends it (the group's account, or the account
  the person talks to; NULL means the primary account), each connected account its own send budget.
  Only configured accounts (or, when none is configured, the first one that connected) may attach:
  another account never takes over the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot import clock
from bot.db import Database, Tx
from bot.refs import Ref, prefixes
from bot.render import Msg, Segment

log = logging.getLogger("alliance.outbox")

ANSWER, NOTICE, ACK, NUDGE = 0, 1, 2, 3
DEFAULT_ACCOUNT = "*"
REACT_BATCH = 16  # reactions claimed at once when there is no gap between them  # an attach without an account (tests, a single client that did not say)


@dataclass(frozen=True)
class SentRef:
    """A sent message about a task: its outbox row, what it was about, the client's id, the group it went to."""

    row_id: int
    ref: Ref
    message_id: str
    group_id: str | None


class SendFailed(Exception):
    """The client answered that the message was not sent."""


class SendUnknown(Exception):
    """No answer (timeout, connection lost): the message may or may not have been delivered."""


class NotSent(Exception):
    """The message never left (no connection): it stays pending."""


class ReactionUnsupported(Exception):
    """The client has no way to put a reaction on a message (unknown action)."""


Sender = Callable[[str, str, list[Segment]], Awaitable[str | None]]
# (group id, message id) → None; raises ReactionUnsupported / SendFailed / SendUnknown / NotSent
Reactor = Callable[[str, str], Awaitable[None]]


def default_priority(ref: Ref | str | None) -> int:
    """What a row is, from its ref: no ref is an answer; reminders and nudges come last; the rest are notices."""
    if ref is None:
        return ANSWER
    typed = ref if isinstance(ref, Ref) else Ref.parse(ref)
    return NUDGE if typed is not None and typed.nudges else NOTICE


def nudge_task(ref: str) -> str:
    """The task a nudge or reminder is about (`reminder:broadcast:3` and `broadcast:3:nudge` → `broadcast:3`)."""
    typed = Ref.parse(ref)
    return ref if typed is None else f"{typed.kind}:{typed.id}"


@dataclass
class _Conn:
    """One connected QQ account: its way out, and its own budget."""

    account: str
    sender: Sender
    owner: object | None
    react: Reactor | None
    next_msg: float = 0.0
    next_react: float = 0.0


class Outbox:
    """Persisted, rate-limited, prioritised delivery of outgoing messages, per QQ account."""

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
        self.react_interval = react_interval
        self.ack_window = ack_window
        self.ack_max_age = ack_max_age
        self.at_batch = at_batch
        self.accounts = [str(a) for a in accounts]  # configured accounts; empty: the first to connect
        self._sleep = sleep
        self._conns: dict[str, _Conn] = {}
        self.primary: str | None = self.accounts[0] if self.accounts else None
        self._configured_groups = {str(g): str(a) for g, a in (group_accounts or {}).items()}
        self.group_account: dict[str, str] = dict(self._configured_groups)
        self.user_account: dict[str, str] = {}
        self.reactions: dict[str, bool] = {}  # what was learned about each account's client
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._compact_due = True
        self._last_compact = 0.0
        # hints that save a query per step under load: False once a lane was found empty, until a row is queued
        self._react_owed = True
        self._msg_owed = True
        self._acks_waiting = True
        self._queued = 0  # rows queued (and wakes) so far: a step resets the hints only if none came meanwhile
        self._outcomes: list[tuple[int, str, str | None, str | None]] = []  # sends not yet written
        # a LIKE pattern of refs to hold back for now (automatic reminders in quiet hours), or None
        self.hold: Callable[[], str | None] = lambda: None
        self.on_sent: list[Callable[[int, str | None, str | None], Awaitable[None]]] = []

    # ------------------------------------------------------------ enqueue

    def route(self, target_type: str, target_id: str, account: str | None = None) -> str | None:
        """The account that sends to a chat: the one named, the group's, the one the person talks to, or None
        (the primary account)."""
        if account is not None:
            account = str(account)
            if target_type == "group" and target_id in self._configured_groups:
                return self._configured_groups[target_id]
            return account
        if target_type == "group":
            return self.group_account.get(target_id)
        return self.user_account.get(target_id)

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
    ) -> int:
        """Queue a message inside the caller's transaction (so it is owed exactly when the change commits)."""
        if target_type not in ("group", "private"):
            raise ValueError(target_type)
        if not msg:
            raise ValueError("empty message")
        tid = str(target_id)
        acc = self.route(target_type, tid, account)
        if react_to is not None and (target_type != "group" or self.reactions.get(acc or self.primary or "") is False):
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
        if react_to is not None:
            self._react_owed = True
        else:
            self._msg_owed = self._acks_waiting = True
        self._signal()
        return row_id

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
        self._signal()

    def _signal(self) -> None:
        self._queued += 1
        self._idle.clear()
        self._wake.set()

    # ------------------------------------------------------------ accounts and connections

    def may_attach(self, account: str) -> bool:
        """A configured account, or (none configured) the first one that connected, or any when none did yet."""
        if self.accounts:
            return account in self.accounts
        return self.primary is None or self.primary == account or account == DEFAULT_ACCOUNT

    def attach(
        self,
        sender: Sender,
        owner: object | None = None,
        *,
        account: str | int | None = None,
        react: Reactor | None = None,
    ) -> bool:
        """A QQ client connected: deliver what is owed through it. False (and nothing changes) for an account
        that may not serve (see `may_attach`).

        `owner` is the connection the sender belongs to (the adapter's bot object); only that connection's
        `detach` takes it away again, so a late disconnect of an old connection never cuts off a new one.
        """
        acc = DEFAULT_ACCOUNT if account is None else str(account)
        if not self.may_attach(acc):
            log.warning("QQ account %s may not send for this bot (configured: %s)", acc, self.accounts or self.primary)
            return False
        if self.primary is None and acc != DEFAULT_ACCOUNT:
            self.primary = acc
        old = self._conns.get(acc)
        conn = _Conn(acc, sender, owner, react)
        if old is not None:
            conn.next_msg, conn.next_react = old.next_msg, old.next_react
        self._conns[acc] = conn
        self._compact_due = True
        self._react_owed = self._msg_owed = self._acks_waiting = True
        self.wake()
        return True

    def detach(self, owner: object | None = None, *, account: str | int | None = None) -> None:
        """The QQ client went away: keep everything pending.

        With `owner`, detach only the account whose sender is that connection's (a disconnect hook that
        runs late, after another connection attached, leaves the newer sender alone). Without either, detach
        every account.
        """
        for acc, conn in list(self._conns.items()):
            if account is not None and acc != str(account):
                continue
            if owner is not None and conn.owner is not owner:
                continue
            del self._conns[acc]

    @property
    def connected(self) -> bool:
        return bool(self._conns)

    def is_connected(self, account: str | int) -> bool:
        return str(account) in self._conns

    def learned_reactions(self, account: str, supported: bool) -> None:
        """Remember (logged once per change) whether an account's client can put reactions on messages."""
        if self.reactions.get(account) is supported:
            return
        self.reactions[account] = supported
        what = "支持表情回应：确认用表情回应" if supported else "不支持表情回应：确认回执合并成一条消息发送"
        log.warning("QQ 客户端 %s %s", account, what)

    async def learn_groups(self, account: str, group_ids: Iterable[str]) -> list[str]:
        """The groups an account is in (from `get_group_list`): pending messages for them wait for that account.

        A group configured in settings keeps its account; a group already served by another account keeps it.
        Returns the groups now served by `account`.
        """
        account = str(account)
        mine = []
        async with self.db.tx() as tx:
            for g in (str(x) for x in group_ids):
                current = self.group_account.get(g)
                if current is not None and current != account:
                    continue
                self.group_account[g] = account
                mine.append(g)
                await tx.run(
                    "INSERT INTO group_accounts (group_id, account, seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(group_id) DO UPDATE SET account=excluded.account, seen_at=excluded.seen_at",
                    (g, account, clock.now_db()),
                )
                await tx.run(
                    "UPDATE outbox SET account=? WHERE state='pending' AND account IS NULL AND target_type='group' "
                    "AND target_id=?",
                    (account, g),
                )
        self.wake()
        return mine

    def note_private(self, user_id: str | int, account: str | int) -> None:
        """A person wrote to the bot through `account`: private messages to them go out through it."""
        self.user_account[str(user_id)] = str(account)

    async def load_groups(self) -> None:
        """The group → account map learned in earlier runs (settings override it)."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT group_id, account FROM group_accounts")
        for r in rows:
            if r["group_id"] not in self._configured_groups:
                self.group_account[r["group_id"]] = r["account"]

    # ------------------------------------------------------------ worker

    async def start(self) -> None:
        async with self.db.tx() as tx:
            await tx.run(
                "UPDATE outbox SET state='unknown', error='机器人在发送途中停止，可能已送达，未重发' WHERE state='sending'"
            )
        await self.load_groups()
        self._compact_due = True
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")
        self.wake()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self._flush()

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
            except Exception:
                log.exception("outbox worker error")
                await self._sleep(1.0)
            await self._flush()
            if idle and not self._wake.is_set():
                self._idle.set()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(pause, 1.0))
            except TimeoutError:
                self._react_owed = self._msg_owed = self._acks_waiting = True  # held rows, gathering windows
            self._wake.clear()

    def _conn_order(self) -> list[_Conn]:
        return sorted(self._conns.values(), key=lambda c: (c.account != self.primary, c.account))

    async def _step(self) -> float | None:
        """Send one message or reaction. Returns 0 after a send (or a wait for a gap), the seconds until an
        acknowledgement may go merged, or None when nothing is owed to a connected account."""
        if not self._conns:
            return None
        if self._compact_due or time.monotonic() - self._last_compact > 60:
            await self._compact()
        soonest: tuple[float, _Conn, str] | None = None
        queued = self._queued
        for conn in self._conn_order():
            for lane in ("react", "msg"):
                if lane == "react" and (conn.react is None or not self._react_owed):
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
        await self._flush()
        await self._sleep(wait)
        if lane == "react":  # the gap was waited: the lane is ready (a test's sleep may not move the clock)
            conn.next_react = 0.0
        else:
            conn.next_msg = 0.0
        return 0.0

    def _account_clause(self, conn: _Conn) -> tuple[str, tuple[Any, ...]]:
        """Rows this connection sends: its own, and those of no account when it is the primary one."""
        if conn.account == DEFAULT_ACCOUNT:
            return "1=1", ()
        if conn.account == self.primary or self.primary is None:
            return "(account=? OR account IS NULL)", (conn.account,)
        return "account=?", (conn.account,)

    async def _has_work(self, conn: _Conn, lane: str) -> bool:
        where, params = self._account_clause(conn)
        react = "react_to IS NOT NULL" if lane == "react" else "react_to IS NULL"
        async with self.db.read() as tx:
            return bool(
                await tx.value(f"SELECT 1 FROM outbox WHERE state='pending' AND {react} AND {where} LIMIT 1", params)
            )

    async def _ack_wait(self) -> float | None:
        """Seconds until the oldest acknowledgement waiting to be merged may go, or None when none waits."""
        if self.ack_window <= 0 or not self._acks_waiting:
            return None
        async with self.db.read() as tx:
            oldest = await tx.value(
                "SELECT MIN(created_at) FROM outbox WHERE state='pending' AND priority=? AND react_to IS NULL", (ACK,)
            )
        if oldest is None:
            self._acks_waiting = False
            return None
        left = (clock.from_db(oldest) + timedelta(seconds=self.ack_window) - clock.now()).total_seconds()
        return max(0.2, left + 0.05)

    def _gap(self, base: float) -> float:
        return base + (random.uniform(0, self.jitter) if base > 0 and self.jitter > 0 else 0)

    async def _send_next(self, conn: _Conn) -> bool:
        """Claim and send the best pending message of this account; False when there is none now.

        The outcome of a send is written in the same transaction that claims the next message (one commit
        per message under load), and on its own before the worker waits or stops.
        """
        held = self.hold()
        where, params = self._account_clause(conn)
        cutoff = clock.to_db(clock.now() - timedelta(seconds=self.ack_window))
        async with self.db.tx() as tx:
            await self._record(tx)
            row = await tx.one(
                "UPDATE outbox SET state='sending' WHERE id = "
                "(SELECT o.id FROM outbox o WHERE o.state='pending' AND o.react_to IS NULL AND "
                f"{where.replace('account', 'o.account')} "
                "AND (? IS NULL OR o.ref IS NULL OR o.ref NOT LIKE ?) "
                "AND (o.priority<>? OR o.created_at<=? OR (SELECT COUNT(*) FROM outbox p WHERE p.state='pending' "
                "AND p.priority=? AND p.react_to IS NULL AND p.target_type=o.target_type AND p.target_id=o.target_id)>=?) "
                "ORDER BY o.priority, o.id LIMIT 1) RETURNING id, target_type, target_id, message, ref, priority, fallback",
                (*params, held, held, ACK, cutoff, ACK, self.at_batch),
            )
            if row is None:
                return False
            message = json.loads(row["message"])
            if row["priority"] == ACK:
                message = await self._merge(tx, conn, row, message)
        state, message_id, error = "sent", None, None
        try:
            message_id = await self._deliver(conn.sender, row, message)
        except NotSent:
            state = "pending"
        except SendFailed as e:
            state, error = "failed", str(e)[:500] or "发送失败"
        except SendUnknown as e:
            state, error = "unknown", str(e)[:500] or "发送超时，可能已送达，未重发"
        except asyncio.CancelledError:
            self._outcomes.append((row["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发"))
            raise
        except Exception as e:
            log.exception("send raised")
            state, error = "unknown", f"{type(e).__name__}: {e}"[:500]
        conn.next_msg = time.monotonic() + self._gap(self.interval)
        self._outcomes.append((row["id"], state, message_id, error))
        if state == "pending":
            await self._flush()
            await self._sleep(0.5)
            return True
        if state == "sent":
            await self._hooks(row["id"], row["ref"], message_id)
        return True

    async def _deliver(self, sender: Sender, row: Any, message: list[Segment]) -> str | None:
        """Send a row's message; when the client refuses it and it has a text alternative, send that instead.

        A refusal is an answer (the picture or folded list was not delivered), so sending the alternative
        is no blind re-send; a timeout is no answer, and nothing more is sent.
        """
        try:
            return await sender(row["target_type"], row["target_id"], message)
        except SendFailed as e:
            if not row["fallback"]:
                raise
            log.info("message %s refused (%s): sending its text alternative", row["id"], e)
            return await sender(row["target_type"], row["target_id"], json.loads(row["fallback"]))

    async def _merge(self, tx: Tx, conn: _Conn, row: Any, message: list[Segment]) -> list[Segment]:
        """Fold the other acknowledgements waiting for the same chat into this row's message."""
        where, params = self._account_clause(conn)
        others = await tx.all(
            f"SELECT id, message FROM outbox WHERE state='pending' AND priority=? AND react_to IS NULL AND {where} "
            "AND target_type=? AND target_id=? ORDER BY id LIMIT ?",
            (ACK, *params, row["target_type"], row["target_id"], max(self.at_batch - 1, 0)),
        )
        if not others:
            return message
        merged = Msg(f"收到 {len(others) + 1} 条确认：")
        for segs in [message] + [json.loads(o["message"]) for o in others]:
            merged.line()
            for seg in segs:
                merged.add(seg["data"]["text"].strip() if seg["type"] == "text" else seg)
        await tx.many(
            "UPDATE outbox SET state='merged', merged_into=?, sent_at=?, error='与其他确认回执合并发送' WHERE id=?",
            [(row["id"], clock.now_db(), o["id"]) for o in others],
        )
        await tx.run(
            "UPDATE outbox SET message=? WHERE id=?", (json.dumps(merged.segments, ensure_ascii=False), row["id"])
        )
        return merged.segments

    async def _react_next(self, conn: _Conn) -> bool:
        """Put the oldest owed reaction(s) of this account; on a client without reactions, they become messages.

        With no reaction gap (`react_interval` 0) up to `REACT_BATCH` are claimed in one transaction and put
        concurrently: a reaction lost to a crash is only an acknowledgement, never a message posted twice.
        """
        assert conn.react is not None
        where, params = self._account_clause(conn)
        limit = REACT_BATCH if self.react_interval <= 0 else 1
        async with self.db.tx() as tx:
            await self._record(tx)
            rows = await tx.all(
                "UPDATE outbox SET state='sending' WHERE id IN (SELECT id FROM outbox WHERE state='pending' "
                f"AND react_to IS NOT NULL AND {where} ORDER BY id LIMIT ?) "
                "RETURNING id, target_type, target_id, react_to, ref",
                (*params, limit),
            )
        if not rows:
            return False
        conn.next_react = time.monotonic() + self.react_interval
        outcomes = await asyncio.gather(
            *(self._react_one(conn, r["target_id"], r["react_to"]) for r in rows), return_exceptions=True
        )
        back: list[int] = []  # the reaction did not land: the acknowledgement goes as a (merged) message instead
        for r, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                self._outcomes.append((r["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发"))
            elif isinstance(outcome, BaseException):
                log.error("reaction raised: %r", outcome)
                self._outcomes.append((r["id"], "unknown", None, f"{type(outcome).__name__}: {outcome}"[:500]))
            elif outcome == "fallback":
                back.append(r["id"])
            else:
                state, error = outcome
                self._outcomes.append((r["id"], state, None, error))
        if back:
            async with self.db.tx() as tx:
                await self._record(tx)
                await tx.many("UPDATE outbox SET state='pending', react_to=NULL WHERE id=?", [(i,) for i in back])
                if self.reactions.get(conn.account) is False:
                    await tx.run(
                        f"UPDATE outbox SET react_to=NULL WHERE state='pending' AND react_to IS NOT NULL AND {where}",
                        params,
                    )
            self._msg_owed = self._acks_waiting = True
        if any(o == ("pending", None) for o in outcomes):  # the client went away
            await self._flush()
            await self._sleep(0.5)
        return True

    async def _react_one(self, conn: _Conn, group_id: str, message_id: str) -> tuple[str, str | None] | str:
        """One reaction: (state, error) to record, or "fallback" when it must go as a message instead."""
        assert conn.react is not None
        try:
            await conn.react(group_id, message_id)
        except NotSent:
            return ("pending", None)
        except (ReactionUnsupported, SendFailed) as e:
            if isinstance(e, ReactionUnsupported) or not self.reactions.get(conn.account):
                self.learned_reactions(conn.account, False)
            return "fallback"
        except SendUnknown as e:
            return ("unknown", str(e)[:500] or "表情回应超时，可能已生效，未重发")
        self.learned_reactions(conn.account, True)
        return ("sent", None)

    async def _hooks(self, row_id: int, ref: str | None, message_id: str | None) -> None:
        for hook in self.on_sent:
            try:
                await hook(row_id, ref, message_id)
            except Exception:
                log.exception("on_sent hook failed")

    async def _record(self, tx: Tx) -> None:
        """Write the outcomes of the last sends, if they are not written yet."""
        pending, self._outcomes = self._outcomes, []
        for row_id, state, message_id, error in pending:
            await tx.run(
                "UPDATE outbox SET state=?, message_id=?, error=?, sent_at=? WHERE id=?",
                (state, message_id, error, clock.now_db() if state != "pending" else None, row_id),
            )

    async def _flush(self) -> None:
        if self._outcomes:
            async with self.db.tx() as tx:
                await self._record(tx)

    async def _compact(self) -> None:
        """After a stall: drop stale acknowledgements, and keep only the latest of several nudges for one task."""
        self._compact_due = False
        self._last_compact = time.monotonic()
        now = clock.now_db()
        stale = clock.to_db(clock.now() - timedelta(seconds=self.ack_max_age))
        minutes = max(1, round(self.ack_max_age / 60))
        async with self.db.tx() as tx:
            await tx.run(
                "UPDATE outbox SET state='dropped', sent_at=?, error=? WHERE state='pending' AND priority=? "
                "AND created_at<?",
                (now, f"确认回执积压超过 {minutes} 分钟，未再发送（确认已记录，进度里可见）", ACK, stale),
            )
            rows = await tx.all(
                "SELECT id, ref, created_at FROM outbox WHERE state='pending' AND priority=? AND ref IS NOT NULL "
                "ORDER BY id",
                (NUDGE,),
            )
            by_task: dict[str, list[Any]] = {}
            for r in rows:
                by_task.setdefault(nudge_task(r["ref"]), []).append(r)
            updates = []
            for task_rows in by_task.values():
                latest = max(r["created_at"] for r in task_rows)
                keep = [r for r in task_rows if r["created_at"] == latest]
                for r in task_rows:
                    if r["created_at"] != latest:
                        updates.append((keep[0]["id"], now, r["id"]))
            if updates:
                await tx.many(
                    "UPDATE outbox SET state='merged', merged_into=?, sent_at=?, "
                    "error='同一任务有更新的提醒，并入较新的一条发送' WHERE id=? AND state='pending'",
                    updates,
                )

    # ------------------------------------------------------------ reading

    async def problems(self, limit: int = 20) -> list[dict[str, Any]]:
        """Messages that failed, whose delivery is unknown, that were dropped, or nudges merged into a newer
        one, newest first (acknowledgements merged in normal operation are not problems)."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT id, target_type, target_id, message, state, error, created_at, merged_into FROM outbox "
                "WHERE state IN ('failed', 'unknown', 'dropped') OR (state='merged' AND priority<>?) "
                "ORDER BY id DESC LIMIT ?",
                (ACK, limit),
            )
        return [dict(r) for r in rows]

    async def merged_acks(self) -> int:
        """How many acknowledgements went out merged into another message."""
        async with self.db.read() as tx:
            return int(await tx.value("SELECT COUNT(*) FROM outbox WHERE state='merged' AND priority=?", (ACK,)))

    async def message_ids(self, ref: Ref | str) -> list[str]:
        """The client's ids of the sent messages queued with `ref`."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT message_id FROM outbox WHERE ref=? AND message_id IS NOT NULL", (str(ref),))
        return [r[0] for r in rows]

    @staticmethod
    async def sent_about(tx: Tx, kind: str) -> list[SentRef]:
        """Every sent message about tasks of `kind` (announcements, nudges, reminders, …), oldest first."""
        ranges = prefixes(kind)
        rows = await tx.all(
            "SELECT id, ref, message_id, CASE WHEN target_type='group' THEN target_id END AS group_id FROM outbox "
            f"WHERE message_id IS NOT NULL AND ({' OR '.join(['(ref >= ? AND ref < ?)'] * len(ranges))}) ORDER BY id",
            [bound for r in ranges for bound in r],
        )
        out = []
        for r in rows:
            ref = Ref.parse(r["ref"])
            if ref is not None and ref.kind == kind:
                out.append(SentRef(r["id"], ref, r["message_id"], r["group_id"]))
        return out

    @staticmethod
    async def group_of(tx: Tx, row_id: int) -> str | None:
        """The group a queued message went to (None: a private chat)."""
        return await tx.value(
            "SELECT CASE WHEN target_type='group' THEN target_id END FROM outbox WHERE id=?", (row_id,)
        )

    async def refs_of_message(self, message_id: str | int) -> list[Ref]:
        """What the bot's message with this client id was about (newest row first; usually one)."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT ref FROM outbox WHERE message_id=? AND ref IS NOT NULL ORDER BY id DESC", (str(message_id),)
            )
        return [ref for r in rows if (ref := Ref.parse(r["ref"])) is not None]
