"""Commands being run: timed for /metrics, and waited for at a stop so each one writes and queues its answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from bot import metrics

_count = 0
_idle = asyncio.Event()


@contextlib.asynccontextmanager
async def command() -> AsyncIterator[None]:
    """Around one command, from its arrival until its answer is queued."""
    global _count
    began = time.perf_counter()
    _count += 1
    _idle.clear()
    try:
        yield
    finally:
        _count -= 1
        if _count == 0:
            _idle.set()
        metrics.COMMAND_SECONDS.observe(time.perf_counter() - began)


def running() -> int:
    return _count


async def drain(timeout: float) -> int:
    """At a stop: wait (at most `timeout` seconds) until the commands being run are done; returns how many were
    still running when it gave up (their transactions roll back whole: nothing half-written, nothing acknowledged)."""
    if _count:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await _idle.wait()
    return _count
