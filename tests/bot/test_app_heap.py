"""A started bot takes what it loaded out of the garbage collector's sight once it has warmed up."""

from __future__ import annotations

import gc
from pathlib import Path

from bot.app import App
from tests.conftest import make_settings


async def test_start_freezes_the_heap_once_the_rankings_are_warm(tmp_path: Path) -> None:
    gc.unfreeze()
    app = App(make_settings(tmp_path))
    try:
        await app.start()
        assert app._warming is not None
        await app._warming
        assert gc.get_freeze_count() > 0
        # objects made after the start are the collector's again
        fresh: list[object] = []
        fresh.append(fresh)
        assert gc.is_tracked(fresh) and fresh in gc.get_objects(generation=0)
    finally:
        await app.stop()
        gc.unfreeze()
