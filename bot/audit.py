"""The audit log (table `audit`): who did what, against which unit, when. Every service writes through `audit`."""

from __future__ import annotations

from bot import clock
from bot.db import Tx


async def audit(tx: Tx, actor: str | int, action: str, detail: str = "", unit_id: int | None = None) -> None:
    """Record who did what, against which unit, when (inside the caller's transaction)."""
    await tx.run(
        "INSERT INTO audit (at, actor, unit_id, action, detail) VALUES (?, ?, ?, ?, ?)",
        (clock.now_db(), str(actor), unit_id, action, detail[:500]),
    )
