"""Stable keys of the bot's messages (a part of Outbox): the client's short message ids do not last, the group
and the message's sequence do (issue 22).

How the promise holds: when a group message about something (a ref) is sent, the client is asked for its
sequence at once, while the short id is fresh, and it is stored beside the id (`outbox.message_seq`). A reply or
a reaction later naming a short id the bot never stored is asked about the same way, and if it is the bot's
message with a stored sequence in that group, it is that message (`original_id`). Ids found not to be the bot's
are remembered (a bounded set), so a busy group costs one question per message at most; a question the
client did not answer (gone, failed, too slow) is asked again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.db import Database, Tx

log = logging.getLogger("alliance.outbox")

# a short id → (group id, sequence) of the bot's own group message, or None (not the bot's, or unknown)
KeyResolver = Callable[[str], Awaitable[tuple[str, str] | None]]

ASK_TIMEOUT = 5.0  # seconds to wait for the client's answer about one message
_NOT_OURS_KEPT = 5000


class MessageKeys:
    """Stable keys of the bot's messages (a part of Outbox); the Outbox calls `learn_key` after each send."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.resolver: KeyResolver | None = None  # set by the plugin while a client is connected
        self._not_ours: dict[str, None] = {}

    async def _ask(self, message_id: str) -> tuple[str, str] | bool | None:
        """The client's (group, sequence) for a short id; None: not the bot's group message; False: no answer
        (no client, it failed or was too slow)."""
        resolver = self.resolver
        if resolver is None or not message_id.lstrip("-").isdigit():
            return False
        try:
            return await asyncio.wait_for(resolver(message_id), ASK_TIMEOUT)
        except Exception:
            return False

    async def learn_key(self, row_id: int, ref: str | None, message_id: str | None) -> None:
        """A group message about something was sent: store its sequence while its short id is fresh."""
        if ref is None or message_id is None or self.resolver is None:
            return
        async with self.db.read() as tx:
            group = await tx.value("SELECT target_id FROM outbox WHERE id=? AND target_type='group'", (row_id,))
        if group is None:
            return
        key = await self._ask(str(message_id))
        if not key or key[0] != str(group):
            return
        async with self.db.tx() as tx:
            await tx.run("UPDATE outbox SET message_seq=? WHERE id=?", (key[1], row_id))

    async def learn_missing_keys(self, limit: int = 200) -> int:
        """At a connect: ask for the keys of the newest group messages about something sent without one (sent
        before this was kept, or while the client did not answer). Each is asked once: one the client no longer
        knows is marked '' (asked, unknown). Returns how many were learned."""
        if self.resolver is None:
            return 0
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT id, target_id, message_id FROM outbox WHERE target_type='group' AND ref IS NOT NULL "
                "AND message_id IS NOT NULL AND message_seq IS NULL ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        learned: list[tuple[str, int]] = []
        for r in rows:
            key = await self._ask(str(r["message_id"]))
            if key is False:
                break  # the client is gone or failing: the rest next time
            learned.append((key[1] if key and key[0] == str(r["target_id"]) else "", r["id"]))
        if learned:
            async with self.db.tx() as tx:
                await tx.many("UPDATE outbox SET message_seq=? WHERE id=?", learned)
        return sum(1 for seq, _ in learned if seq)

    async def original_id(self, message_id: object) -> str | None:
        """The id the bot stored for its message that the client now calls `message_id` (an id re-issued after
        the client forgot it), found by group and sequence; None when it is no message of the bot's."""
        mid = str(message_id).strip()
        if mid in self._not_ours:
            return None
        key = await self._ask(mid)
        if key is False:
            return None  # no answer: asked again next time
        row = None
        if key:
            async with self.db.read() as tx:
                row = await tx.one(
                    "SELECT id, message_id FROM outbox WHERE target_type='group' AND target_id=? AND message_seq=? "
                    "AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                    key,
                )
        if row is None or str(row["message_id"]) == mid:
            self._not_ours[mid] = None
            while len(self._not_ours) > _NOT_OURS_KEPT:
                del self._not_ours[next(iter(self._not_ours))]
            return None
        await self._keep_alias(mid, int(row["id"]))
        return str(row["message_id"])

    async def _keep_alias(self, message_id: str, row_id: int) -> None:
        """Remember the new id the client gave the bot's message `row_id` (the catch-up of reactions asks by it)."""
        try:
            async with self.db.tx() as tx:
                await tx.run(
                    "INSERT OR REPLACE INTO outbox_aliases (message_id, outbox_id) VALUES (?, ?)", (message_id, row_id)
                )
        except Exception as e:  # a full disk: the id still answers now, it is only not kept
            log.info("keeping the new id %s of message %s failed: %r", message_id, row_id, e)

    @staticmethod
    async def aliases(tx: Tx, row_ids: list[int]) -> dict[int, list[str]]:
        """The new ids the client gave these messages of the bot's (outbox ids), newest first."""
        out: dict[int, list[str]] = {}
        for i in range(0, len(row_ids), 500):
            chunk = row_ids[i : i + 500]
            rows = await tx.all(
                f"SELECT outbox_id, message_id FROM outbox_aliases WHERE outbox_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY rowid DESC",
                chunk,
            )
            for r in rows:
                out.setdefault(int(r["outbox_id"]), []).append(str(r["message_id"]))
        return out
