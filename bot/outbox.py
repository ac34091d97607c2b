"""The one way a message leaves: persisted first, sent one at a time with a gap, never blindly re-sent.

A row is `pending` until the worker takes it. The worker marks it `sending` (committed) before it
calls the client, then `sent` (with the client's message id), `failed` (the client said no), or
`unknown` (no answer: it may have been delivered, so it is not sent again). A row found `sending`
at start-up was cut off by a crash and becomes `unknown` for the same reason. Rows wait as
`pending` while no QQ client is connected and go out, in order, when one connects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot import clock
from bot.db import Database, Tx
from bot.render import Msg, Segment

log = logging.getLogger("alliance.outbox")


class SendFailed(Exception):
    """The client answered that the message was not sent."""


class SendUnknown(Exception):
    """No answer (timeout, connection lost): the message may or may not have been delivered."""


class NotSent(Exception):
    """The message never left (no connection): it stays pending."""


Sender = Callable[[str, str, list[Segment]], Awaitable[str | None]]


class Outbox:
    """Persisted, rate-limited, ordered delivery of outgoing messages."""

    def __init__(
        self,
        db: Database,
        interval: float = 1.5,
        jitter: float = 0.3,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.interval = interval
        self.jitter = jitter
        self._sleep = sleep
        self._sender: Sender | None = None
        self._owner: object | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sent = 0.0
        self._outcome: tuple[int, str, str | None, str | None] | None = None
        # a LIKE pattern of refs to hold back for now (automatic reminders in quiet hours), or None
        self.hold: Callable[[], str | None] = lambda: None
        self.on_sent: list[Callable[[int, str | None, str | None], Awaitable[None]]] = []

    # ------------------------------------------------------------ enqueue

    async def put(self, tx: Tx, target_type: str, target_id: str | int, msg: Msg, ref: str | None = None) -> int:
        """Queue a message inside the caller's transaction (so it is owed exactly when the change commits)."""
        if target_type not in ("group", "private"):
            raise ValueError(target_type)
        if not msg:
            raise ValueError("empty message")
        fallback = json.dumps(msg.fallback.segments, ensure_ascii=False) if msg.fallback else None
        row_id = await tx.run(
            "INSERT INTO outbox (target_type, target_id, message, ref, created_at, fallback) VALUES (?, ?, ?, ?, ?, ?)",
            (target_type, str(target_id), json.dumps(msg.segments, ensure_ascii=False), ref, clock.now_db(), fallback),
        )
        self.wake()
        return row_id

    async def send(self, target_type: str, target_id: str | int, msg: Msg, ref: str | None = None) -> int:
        """Queue a message in a transaction of its own."""
        async with self.db.tx() as tx:
            return await self.put(tx, target_type, target_id, msg, ref)

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    # ------------------------------------------------------------ connection

    def attach(self, sender: Sender, owner: object | None = None) -> None:
        """A QQ client connected: deliver what is owed.

        `owner` is the connection the sender belongs to (the adapter's bot object); only that connection's
        `detach` takes it away again, so a late disconnect of an old connection never cuts off a new one.
        """
        self._sender = sender
        self._owner = owner
        self.wake()

    def detach(self, owner: object | None = None) -> None:
        """The QQ client went away: keep everything pending.

        With `owner`, detach only if the attached sender is that connection's (a disconnect hook that
        runs late, after another connection attached, leaves the newer sender alone).
        """
        if owner is not None and owner is not self._owner:
            return
        self._sender = None
        self._owner = None

    @property
    def connected(self) -> bool:
        return self._sender is not None

    # ------------------------------------------------------------ worker

    async def start(self) -> None:
        async with self.db.tx() as tx:
            await tx.run(
                "UPDATE outbox SET state='unknown', error='机器人在发送途中停止，可能已送达，未重发' WHERE state='sending'"
            )
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
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while self._sender is not None and await self._send_next():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker error")
                await self._sleep(1.0)
            await self._flush()
            if not self._wake.is_set():
                self._idle.set()

    async def _send_next(self) -> bool:
        """Send the oldest pending message; False when there is none.

        The outcome of a send is written in the same transaction that claims the next message (one commit
        per message under load), and on its own before the worker waits or stops.
        """
        gap = self.interval + (random.uniform(0, self.jitter) if self.interval > 0 and self.jitter > 0 else 0)
        wait = self._last_sent + gap - time.monotonic()
        if wait > 0:
            await self._flush()
            await self._sleep(wait)
        sender = self._sender
        if sender is None:
            await self._flush()
            return False
        held = self.hold()
        async with self.db.tx() as tx:
            await self._record(tx)
            row = await tx.one(
                "UPDATE outbox SET state='sending' WHERE id = "
                "(SELECT id FROM outbox WHERE state='pending' AND (?1 IS NULL OR ref IS NULL OR ref NOT LIKE ?1) "
                "ORDER BY id LIMIT 1) RETURNING id, target_type, target_id, message, ref, fallback",
                (held,),
            )
        if row is None:
            return False
        state, message_id, error = "sent", None, None
        try:
            message_id = await self._deliver(sender, row)
        except NotSent:
            state = "pending"
        except SendFailed as e:
            state, error = "failed", str(e)[:500] or "发送失败"
        except SendUnknown as e:
            state, error = "unknown", str(e)[:500] or "发送超时，可能已送达，未重发"
        except asyncio.CancelledError:
            self._outcome = (row["id"], "unknown", None, "机器人在发送途中停止，可能已送达，未重发")
            raise
        except Exception as e:
            log.exception("send raised")
            state, error = "unknown", f"{type(e).__name__}: {e}"[:500]
        self._last_sent = time.monotonic()
        self._outcome = (row["id"], state, message_id, error)
        if state == "pending":
            await self._flush()
            await self._sleep(0.5)
            return self._sender is not None
        if state == "sent":
            for hook in self.on_sent:
                try:
                    await hook(row["id"], row["ref"], message_id)
                except Exception:
                    log.exception("on_sent hook failed")
        return True

    async def _deliver(self, sender: Sender, row: Any) -> str | None:
        """Send a row's message; when the client refuses it and it has a text alternative, send that instead.

        A refusal is an answer (the picture or folded list was not delivered), so sending the alternative
        is no blind re-send; a timeout is no answer, and nothing more is sent.
        """
        try:
            return await sender(row["target_type"], row["target_id"], json.loads(row["message"]))
        except SendFailed as e:
            if not row["fallback"]:
                raise
            log.info("message %s refused (%s): sending its text alternative", row["id"], e)
            return await sender(row["target_type"], row["target_id"], json.loads(row["fallback"]))

    async def _record(self, tx: Tx) -> None:
        """Write the outcome of the last send, if it is not written yet."""
        if self._outcome is None:
            return
        row_id, state, message_id, error = self._outcome
        await tx.run(
            "UPDATE outbox SET state=?, message_id=?, error=?, sent_at=? WHERE id=?",
            (state, message_id, error, clock.now_db() if state != "pending" else None, row_id),
        )
        self._outcome = None

    async def _flush(self) -> None:
        if self._outcome is not None:
            async with self.db.tx() as tx:
                await self._record(tx)

    # ------------------------------------------------------------ reading

    async def problems(self, limit: int = 20) -> list[dict[str, Any]]:
        """Messages that failed or whose delivery is unknown, newest first."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT id, target_type, target_id, message, state, error, created_at FROM outbox "
                "WHERE state IN ('failed', 'unknown') ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        return [dict(r) for r in rows]

    async def message_ids(self, ref: str) -> list[str]:
        """The client's ids of the sent messages queued with `ref`."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT message_id FROM outbox WHERE ref=? AND message_id IS NOT NULL", (ref,))
        return [r[0] for r in rows]
