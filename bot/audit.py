"""The audit log (table `audit`): who did what, against which unit, when. Every service writes through `audit`."""

from __future__ import annotations

from typing import Any

from bot import clock
from bot.db import Tx


async def audit(tx: Tx, actor: str | int, action: str, detail: str = "", unit_id: int | None = None) -> None:
    """Record who did what, against which unit, when (inside the caller's transaction)."""
    await tx.run(
        "INSERT INTO audit (at, actor, unit_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        (clock.now_db(), str(actor), unit_id, action, detail[:500]),
    )


async def audit_page(tx: Tx, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The newest entries (at, actor, action, detail, unit: its name or None), and how many there are in all."""
    total = await tx.value("SELECT COUNT(*) FROM audit")
    rows = await tx.all(
        "SELECT a.at, a.actor, a.action, a.detail, u.name AS unit FROM audit a "
        "LEFT JOIN units u ON u.id=a.unit_id ORDER BY a.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [dict(r) for r in rows], int(total or 0)


async def prune_audit(tx: Tx, before: str) -> int:
    """Delete the entries older than `before` (database time); returns how many went (issue 25.4: retention)."""
    rows = await tx.all("DELETE FROM audit WHERE at < ? RETURNING id", (before,))
    return len(rows)
