"""Jobs for tests of bot/sandbox.py: module-level, so the sandbox's child can import them by name."""

from __future__ import annotations

import os
from pathlib import Path


def dies_once_before_running(flag: str) -> str:
    """Dies as a child whose launch failed (exit 1, no answer) the first time; the next time it runs."""
    path = Path(flag)
    if not path.exists():
        path.write_text("died once", encoding="utf-8")
        os._exit(1)
    return "ran"
