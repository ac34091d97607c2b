"""The core's background loops (the outbox's sender, the reminder ledger's checks): stopping one."""

from __future__ import annotations

import asyncio


async def stop_loop(task: asyncio.Task | None) -> None:
    """Cancel a background loop and wait until it has stopped (its cancellation is how it ends, not an error)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
