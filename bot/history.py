"""The last message the bot saw in each alliance group (issue 22.5): owns the table `group_seen`.

Neither NapCat nor LLOneBot replays events to a reverse WebSocket that was down; at the next connect the bot reads the
group's history back to this point (plugins/_replay.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.db import Database


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
    def __init__(self, db: Database) -> None:
        self.db = db

    async def last(self, group_id: str) -> Seen | None:
        async with self.db.read() as tx:
            row = await tx.one("SELECT at, keys FROM group_seen WHERE group_id=?", (str(group_id),))
        return None if row is None else Seen(int(row["at"]), frozenset(json.loads(row["keys"])))

    async def saw(self, group_id: str, at: int, key: str) -> None:
        """A message seen (live or read back): the newest one moves the mark."""
        async with self.db.tx() as tx:  # one statement: this runs for every group message
            await tx.run(
                "INSERT INTO group_seen (group_id, at, keys) VALUES (?, ?, json_array(?)) "
                "ON CONFLICT(group_id) DO UPDATE SET "
                "keys = CASE WHEN excluded.at > group_seen.at THEN excluded.keys "
                "WHEN excluded.at = group_seen.at AND NOT EXISTS (SELECT 1 FROM json_each(group_seen.keys) "
                "WHERE value = ?) THEN json_insert(group_seen.keys, '$[#]', ?) ELSE group_seen.keys END, "
                "at = MAX(group_seen.at, excluded.at)",
                (str(group_id), int(at), key, key, key),
            )
