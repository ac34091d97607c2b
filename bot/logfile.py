"""The log file beside the console (issue 25 §5): loguru's own rotation and retention, and the core's logging in it.

NoneBot logs through loguru; the core logs through the standard `logging` module (`alliance.*`, no NoneBot in the
core). Both go to the console and to one file, rotated daily at ALLIANCE_LOG_ROTATION (or by size) with the newest
ALLIANCE_LOG_KEEP kept (loguru deletes the older ones); the rotated files are compressed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from bot.config import Settings

FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} [{level}] {name} | {message}"
# NoneBot's bookkeeping around every event: with one router matcher these say nothing the line of the event itself
# ("[message.group.normal]: Message … from …") does not, and they were two of every three lines of a busy log
BOOKKEEPING = ("Event will be handled by ", " running complete")


def without_bookkeeping(level: str | int) -> Callable[[Any], bool]:
    """A loguru filter that drops NoneBot's two bookkeeping lines of each event (kept at LOG_LEVEL=DEBUG or below,
    where one looks for them)."""
    number = logger.level(level.upper()).no if isinstance(level, str) else int(level)
    if number <= logger.level("DEBUG").no:
        return lambda record: True

    def keep(record: Any) -> bool:
        if record["name"] != "nonebot" or record["level"].name != "INFO":
            return True
        message = record["message"]
        return not (message.startswith(BOOKKEEPING[0]) or message.endswith(BOOKKEEPING[1]))

    return keep


class ToLoguru(logging.Handler):
    """The core's `logging` records, written by loguru (console and file) under their own logger name."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.patch(lambda r: r.update(name=record.name)).opt(exception=record.exc_info).log(
            level, record.getMessage()
        )


def log_to_file(settings: Settings, level: str | int = "INFO") -> Path | None:
    """Add the rotated log file (None when ALLIANCE_LOG_FILE=off) and route the core's logging through loguru."""
    core = logging.getLogger("alliance")
    if not any(isinstance(h, ToLoguru) for h in core.handlers):
        core.addHandler(ToLoguru())
        core.setLevel(logging.INFO)
    path = settings.log_path
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    logger.add(
        path,
        level=level,
        format=FORMAT,
        rotation=settings.alliance_log_rotation,
        retention=settings.alliance_log_keep,
        compression="gz",
        encoding="utf-8",
        diagnose=False,
        filter=without_bookkeeping(level),
    )
    return path
