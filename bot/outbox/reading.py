"""Reading the outbox (a part of Outbox): what failed or is unknown, merged acks, the client's ids of sent messages and what they were about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot import clock
from bot.db import Database, Tx
from bot.outbox.keys import MessageKeys
from bot.outbox.records import (
    ACK,
    SentRef,
)
from bot.refs import Ref, prefixes


class OutboxReading:
    """Reading the outbox (a part of Outbox): what failed or is unknown, merged acks, the client's ids of sent messages and what they were about."""

    def __init__(self, db: Database, keys: MessageKeys, held: Callable[[], str | None]) -> None:
        self.db = db
        self.keys = keys
        self.held = held  # the LIKE pattern of refs held back on purpose now (see Outbox.hold), or None

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

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait to be sent, and when the oldest of them was queued. The automatic reminders held
        back for quiet hours (`hold`) wait on purpose and are not counted."""
        held = self.held()
        async with self.db.read() as tx:
            row = await tx.one(
                "SELECT COUNT(*), MIN(created_at) FROM outbox INDEXED BY outbox_pending WHERE state='pending' "
                "AND (? IS NULL OR ref IS NULL OR ref NOT LIKE ?)",
                (held, held),
            )
        count, oldest = (row[0], row[1]) if row is not None else (0, None)
        return int(count or 0), None if oldest is None else clock.from_db(oldest)

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

    @staticmethod
    async def queued_to(tx: Tx, ref: Ref, target_type: str, target_id: str | int) -> bool:
        """Whether a message about `ref` was ever queued to this chat (for what is said to one person once)."""
        return bool(
            await tx.value(
                "SELECT 1 FROM outbox WHERE ref=? AND target_type=? AND target_id=? LIMIT 1",
                (str(ref), target_type, str(target_id)),
            )
        )

    async def refs_of_message(self, message_id: str | int) -> list[Ref]:
        """What the bot's message with this client id was about (newest row first; usually one). An id the bot
        never stored may be one the client re-issued to an old message of the bot's: asked by its stable key."""
        for attempt in range(2):
            async with self.db.read() as tx:
                rows = await tx.all(
                    "SELECT ref FROM outbox WHERE message_id=? AND ref IS NOT NULL ORDER BY id DESC",
                    (str(message_id),),
                )
            if rows or attempt:
                break
            first = await self.keys.original_id(message_id)
            if first is None:
                break
            message_id = first
        return [ref for r in rows if (ref := Ref.parse(r["ref"])) is not None]
