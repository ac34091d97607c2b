"""The audit log (table `audit`): who did what, against which unit, when. Every service writes through `audit`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot import clock
from bot.db import Tx


async def audit(tx: Tx, actor: str | int, action: str, detail: str = "", unit_id: int | None = None) -> None:
    """Record who did what, against which unit, when (inside the caller's transaction)."""
    await tx.run(
        "INSERT INTO audit (at, actor, unit_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        (clock.now_db(), str(actor), unit_id, action, detail[:500]),
    )


async def audit_page(
    tx: Tx, limit: int, offset: int, only: tuple[Collection[int], Collection[str]] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The newest entries (at, actor, action, detail, unit: its name or None), and how many there are in all.
    `only` (unit ids, actors): the entries about those units or by those actors (a city admin's view)."""
    where, params = "", []
    if only is not None:
        ids, actors = sorted(only[0]), sorted(only[1])
        where = (
            f"WHERE a.unit_id IN ({','.join('?' * len(ids)) or 'NULL'}) "
            f"OR a.actor IN ({','.join('?' * len(actors)) or 'NULL'}) "
        )
        params = [*ids, *actors]
    total = await tx.value(f"SELECT COUNT(*) FROM audit a {where}", params)
    rows = await tx.all(
        "SELECT a.at, a.actor, a.action, a.detail, u.name AS unit FROM audit a "
        f"LEFT JOIN units u ON u.id=a.unit_id {where}ORDER BY a.id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [dict(r) for r in rows], int(total or 0)


async def details_by(tx: Tx, actors: Collection[str], actions: Collection[str]) -> list[str]:
    """The details of the entries some actors wrote with some actions (what files a person made), newest first."""
    actors, actions = sorted(actors), sorted(actions)
    if not actors or not actions:
        return []
    rows = await tx.all(
        f"SELECT detail FROM audit WHERE actor IN ({','.join('?' * len(actors))}) "
        f"AND action IN ({','.join('?' * len(actions))}) ORDER BY id DESC",
        (*actors, *actions),
    )
    return [str(r[0]) for r in rows]


async def prune_audit(tx: Tx, before: str) -> int:
    """Delete the entries older than `before` (database time); returns how many went (issue 25.4: retention)."""
    rows = await tx.all("DELETE FROM audit WHERE at < ? RETURNING id", (before,))
    return len(rows)
