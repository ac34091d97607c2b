"""Send outcomes (a part of Outbox): what the last sends ended in, kept in memory until a transaction writes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import clock
from bot.db import Database, Tx

Outcome = tuple[int, str, str | None, str | None]  # (outbox id, state, the client's message id, error)


class SendOutcomes:
    """The outcomes of sends not written yet: written with the next claim (one commit per message under load), or on
    their own before the worker waits or stops."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[Outcome] = []

    def add(self, row_id: int, state: str, message_id: str | None = None, error: str | None = None) -> None:
        self.pending.append((row_id, state, message_id, error))

    async def record(self, tx: Tx) -> None:
        """Write the outcomes of the last sends, if they are not written yet."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        now = clock.now_db()
        await tx.many(  # one round trip to the database thread for a whole batch of reactions
            "UPDATE outbox SET state=?, message_id=?, error=?, sent_at=? WHERE id=?",
            [
                (state, message_id, error, now if state != "pending" else None, i)
                for i, state, message_id, error in pending
            ],
        )

    async def flush(self) -> None:
        if self.pending:
            async with self.keeping(), self.db.tx() as tx:
                await self.record(tx)

    @asynccontextmanager
    async def keeping(self) -> AsyncIterator[None]:
        """Outcomes taken by `record` in a transaction that then failed (a full disk) are put back, to be
        written by the next one: a message sent is never left `sending` for want of space."""
        taken = list(self.pending)
        try:
            yield
        except BaseException:
            self.pending = taken + [o for o in self.pending if o not in taken]
            raise
