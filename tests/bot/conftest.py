"""Fixtures the core's tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A bare database on a fresh file, migrated, with no services on it (a file may define its own `db`)."""
    d = Database(tmp_path / "alliance.db")
    await d.open()
    try:
        yield d
    finally:
        await d.close()
