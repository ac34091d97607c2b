"""The reply index of 统发: which of the bot's messages (announcements, nudges, reminders) a quoted reply is about, by the client's message id, kept in broadcast_posts and in memory."""

from __future__ import annotations

from bot.broadcasts.records import (
    KIND,
    norm_id,
)
from bot.db import Database, Tx
from bot.outbox.service import Outbox
from bot.refs import ANNOUNCE, NUDGE, REMINDER, Ref

# which sent messages a reply may quote to confirm, and the kind stored for each in broadcast_posts
_POST_KINDS = {ANNOUNCE: "announce", NUDGE: "nudge", REMINDER: "reminder"}


class ReplyIndex:
    """The reply index of 统发 (a part of Broadcasts): the client's message ids of announcements, nudges and reminders, stored in broadcast_posts when the outbox reports them sent and kept in memory."""

    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        self._posts: dict[str, int] | None = None
        self._sent_while_loading: dict[str, int] = {}  # ids sent while the index loads (merged by `load`)
        outbox.on_sent.append(self.on_sent)

    async def load(self) -> dict[str, int]:
        """Message id → task id of every message that announced or nudged a task (loaded once)."""
        if self._posts is not None:
            return self._posts
        async with self.db.tx() as tx:
            # A crash between the outbox marking a row sent and our hook leaves the id only in the outbox.
            for sent in await self.outbox.reading.sent_about(tx, KIND):
                await self.store(tx, sent.ref, sent.message_id, sent.group_id)
            posts = {r[0]: r[1] for r in await tx.all("SELECT message_id, task_id FROM broadcast_posts")}
            # sent while this was loading (the outbox writes its outcomes in batches, so the rows read above may not
            # hold them yet): kept aside by on_sent, merged with no await in between
            posts.update(self._sent_while_loading)
            self._sent_while_loading.clear()
            self._posts = posts
        return posts

    async def store(self, tx: Tx, ref: Ref, message_id: str, group_id: str | None) -> tuple[str, int] | None:
        kind = _POST_KINDS.get(ref.purpose)
        if ref.kind != KIND or kind is None:
            return None
        mid = norm_id(message_id)
        await tx.run(
            # REPLACE: a client that reuses an id (its ids restarted) gave it to the newest message, which owns it
            "INSERT OR REPLACE INTO broadcast_posts (message_id, task_id, kind, group_id) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM broadcasts WHERE id=?)",
            (mid, ref.id, kind, group_id, ref.id),
        )
        return mid, ref.id

    async def on_sent(self, row_id: int, ref_text: str | None, message_id: str | None) -> None:
        ref = Ref.parse(ref_text)
        if ref is None or message_id is None or ref.kind != KIND or ref.purpose not in _POST_KINDS:
            return
        # known at once, also when it cannot be stored (a full disk); while the index is loading, kept aside for it
        (self._posts if self._posts is not None else self._sent_while_loading)[norm_id(message_id)] = ref.id
        async with self.db.tx() as tx:
            await self.store(tx, ref, message_id, await self.outbox.reading.group_of(tx, row_id))

    async def task_of_message(self, message_id: object) -> int | None:
        """The task a message of the bot (announcement or nudge) was about, by the client's message id. An id
        the bot never stored may be a new one the client gave an old post (it forgot the first): found by the
        post's group and sequence, and kept as another id of the same post (so the catch-up asks by it too)."""
        posts = await self.load()
        mid = norm_id(message_id)
        if mid in posts:
            return posts[mid]
        first = await self.outbox.keys.original_id(mid)
        if first is None or norm_id(first) not in posts:
            return None
        posts[mid] = task_id = posts[norm_id(first)]
        async with self.db.tx() as tx:
            await tx.run(
                "INSERT OR REPLACE INTO broadcast_posts (message_id, task_id, kind, group_id) "
                "SELECT ?, task_id, kind, group_id FROM broadcast_posts WHERE message_id=?",
                (mid, norm_id(first)),
            )
        return task_id

    async def announcement_ids(self, task_id: int) -> list[str]:
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT message_id FROM broadcast_posts WHERE task_id=? AND kind='announce' ORDER BY rowid",
                (task_id,),
            )
        return [r[0] for r in rows]
