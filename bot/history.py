"""The last message the bot saw in each alliance group (issue 22.5): owns the table `group_seen`.

Neither NapCat nor LLOneBot replays events to a reverse WebSocket that was down; at the next connect the bot reads the
group's history back to this point (plugins/_replay.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.db import Database

log = logging.getLogger("alliance.history")
WRITE_BEHIND = 1.0  # seconds the group marks noted are kept before they are written together


def message_key(user_id: Any, at: int, segments: list[dict]) -> str:
    """One message, the same whether it came live or from the history: sender, second, and what it says (its text
    and file names; not the ids, which a client may issue anew)."""
    parts = []
    for seg in segments:
        data = seg.get("data") or {}
        if seg.get("type") == "text":
            parts.append(str(data.get("text", "")))
        elif seg.get("type") in ("file", "image", "at"):
            parts.append(f"[{seg.get('type')}:{data.get('name') or data.get('qq') or data.get('file') or ''}]")
    digest = hashlib.sha1("".join(parts).strip().encode()).hexdigest()[:16]
    return f"{user_id}:{int(at)}:{digest}"


@dataclass(frozen=True)
class Seen:
    at: int
    keys: frozenset[str]

    def covers(self, at: int, key: str) -> bool:
        """The message (time, key) is this one or older."""
        return at < self.at or (at == self.at and key in self.keys)


class GroupSeen:
    """The mark per group. Every group message moves it, so it is written behind the messages: `saw` notes the
    message in memory, and a writer task writes what was noted in the last WRITE_BEHIND seconds in one transaction
    (a busy group costs a write a second, not one per message, and no message waits for it; `last` and a stop write
    at once). A mark not yet written when the process dies means the messages of that last second are read back
    at the next connect and handled again: a confirmation counts once per unit, so it is only acknowledged again
    (before, the mark was written before the message was handled, and a message handled only in part was lost)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._noted: dict[str, tuple[int, dict[str, None]]] = {}  # group → the newest second noted, its messages
        self._writer: asyncio.Task[None] | None = None
        self._now = asyncio.Event()  # set: the writer writes at once (`flush`)

    async def last(self, group_id: str) -> Seen | None:
        """The group's mark, with every message noted so far."""
        await self.flush()
        async with self.db.read() as tx:
            row = await tx.one("SELECT at, keys FROM group_seen WHERE group_id=?", (str(group_id),))
        return None if row is None else Seen(int(row["at"]), frozenset(json.loads(row["keys"])))

    async def saw(self, group_id: str, at: int, key: str) -> None:
        """A message seen (live or read back): the newest one moves the mark (written soon, by the writer task)."""
        group, at = str(group_id), int(at)
        noted = self._noted.get(group)
        if noted is None or at > noted[0]:
            self._noted[group] = (at, {key: None})
        elif at == noted[0]:
            noted[1][key] = None
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_noted(), name="group-seen")

    async def flush(self) -> None:
        """Write every message noted so far, now."""
        while self._writer is not None and not self._writer.done():
            self._now.set()
            await asyncio.shield(self._writer)

    async def _write_noted(self) -> None:
        try:
            await asyncio.wait_for(self._now.wait(), WRITE_BEHIND)
        except TimeoutError:
            pass
        self._now.clear()
        while self._noted:
            noted, self._noted = self._noted, {}
            try:
                await self._write(noted)
            except Exception as e:  # never stop the messages for the mark
                log.info(f"noting the last message of {sorted(noted)} failed: {e!r}")
        self._now.clear()

    async def _write(self, noted: dict[str, tuple[int, dict[str, None]]]) -> None:
        async with self.db.tx() as tx:
            for group, (at, seen) in noted.items():
                keys = list(seen)
                row = await tx.one("SELECT at, keys FROM group_seen WHERE group_id=?", (group,))
                if row is not None and int(row["at"]) > at:
                    continue  # an older one read back later does not move it back
                if row is not None and int(row["at"]) == at:
                    had = json.loads(row["keys"])
                    known = set(had)
                    keys = [*had, *(k for k in keys if k not in known)]
                await tx.run(
                    "INSERT INTO group_seen (group_id, at, keys) VALUES (?, ?, ?) "
                    "ON CONFLICT(group_id) DO UPDATE SET at=excluded.at, keys=excluded.keys",
                    (group, at, json.dumps(keys)),
                )
