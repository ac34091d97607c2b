"""The core's background loops (the outbox's sender, the reminder ledger's checks): waiting in one, stopping one."""

from __future__ import annotations

import asyncio

# How long a stop waits for a cancelled loop before cancelling it again.
_RECANCEL_S = 0.05


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set (True) or `timeout` seconds have passed (False).

    Not `asyncio.wait_for`: on Python 3.11 it returns the inner result instead of raising when it is cancelled
    in the moment the event is set, so a loop parked in it runs on after `task.cancel()`.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop_loop(task: asyncio.Task | None) -> None:
    """Cancel a background loop and wait until it has stopped (its cancellation is how it ends, not an error).

    A cancellation the loop swallowed (or that arrived while it was finishing a step) is repeated until the
    task is done, so a stop always ends. The caller's own cancellation is not swallowed; a loop that failed
    with an error raises it here.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=_RECANCEL_S)
    if not task.cancelled():
        task.result()
