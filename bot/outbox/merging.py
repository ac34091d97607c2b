"""Merging (a part of Outbox): acknowledgements waiting for one chat go as one message; after a stall, stale
acknowledgements are dropped and several nudges for one task go as the latest."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from bot import clock
from bot.db import Database, Tx
from bot.outbox.records import ACK, NUDGE, REPEAT, nudge_task
from bot.render import Msg, Segment


class OutboxMerging:
    """Merging (a part of Outbox): acknowledgements folded into one message, stale ones dropped, nudges kept latest."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.due = True  # a stall may have happened (start, a client connected): compact before the next send
        self._last = 0.0

    async def compact_if_due(self, ack_max_age: float) -> None:
        """Compact when due, and at least every minute."""
        if self.due or time.monotonic() - self._last > 60:
            self.due = False
            self._last = time.monotonic()
            await self.compact(ack_max_age)

    async def merge(
        self, tx: Tx, clause: tuple[str, tuple[Any, ...]], row: Any, message: list[Segment], at_batch: int
    ) -> list[Segment]:
        """Fold the other acknowledgements waiting for the same chat (of the account `clause` selects) into this
        row's message, at most `at_batch` in all."""
        where, params = clause
        others = await tx.all(
            "SELECT id, message FROM outbox INDEXED BY outbox_pending "
            f"WHERE state='pending' AND priority=? AND react_to IS NULL AND {where} "
            "AND target_type=? AND target_id=? ORDER BY id LIMIT ?",
            (ACK, *params, row["target_type"], row["target_id"], max(at_batch - 1, 0)),
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

    async def compact(self, ack_max_age: float) -> None:
        """After a stall: drop acknowledgements older than `ack_max_age` seconds, and keep only the latest of several
        nudges for one task."""
        now = clock.now_db()
        stale = clock.to_db(clock.now() - timedelta(seconds=ack_max_age))
        minutes = max(1, round(ack_max_age / 60))
        async with self.db.tx() as tx:
            # a reaction on a repeated command that is stale is no acknowledgement owed: gone, not a problem to show
            repeats = "DELETE FROM outbox INDEXED BY outbox_pending WHERE state='pending' AND ref=? AND created_at<?"
            await tx.run(repeats, (REPEAT, stale))
            await tx.run(
                "UPDATE outbox INDEXED BY outbox_pending SET state='dropped', sent_at=?, error=? "
                "WHERE state='pending' AND priority=? AND created_at<?",
                (now, f"确认回执积压超过 {minutes} 分钟，未再发送（确认已记录，进度里可见）", ACK, stale),
            )
            rows = await tx.all(
                "SELECT id, ref, created_at FROM outbox INDEXED BY outbox_pending "
                "WHERE state='pending' AND priority=? AND ref IS NOT NULL ORDER BY id",
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
