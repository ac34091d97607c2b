"""NoneBot's console handler: records below LOG_LEVEL are dropped before they are built."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from nonebot import log as nonebot_log
from nonebot import logger

from alliance.main import skip_unlogged_levels


@pytest.fixture
def restore_handler() -> Iterator[None]:
    yield
    logger.remove(nonebot_log.logger_id)
    nonebot_log.logger_id = logger.add(
        sys.stdout, level=0, diagnose=False, filter=nonebot_log.default_filter, format=nonebot_log.default_format
    )


def test_records_below_the_level_are_never_built_and_the_rest_still_written(restore_handler: None) -> None:
    written: list[str] = []
    built: list[str] = []
    skip_unlogged_levels("INFO", written.append)
    log = logger.bind(nonebot_log_level="INFO").patch(lambda record: built.append(record["level"].name))
    log.trace("不该构建")
    log.debug("也不该构建")
    log.info("要写出的信息")
    log.success("事件")
    assert built == ["INFO", "SUCCESS"]
    assert ["要写出的信息" in w for w in written] == [True, False]
    assert "[SUCCESS]" in written[1] and "事件" in written[1]


def test_replacing_twice_keeps_one_console_handler(restore_handler: None) -> None:
    skip_unlogged_levels("WARNING", [].append)
    first = nonebot_log.logger_id
    skip_unlogged_levels("WARNING", [].append)
    assert nonebot_log.logger_id != first
    assert first not in logger._core.handlers  # type: ignore[attr-defined]


def test_nonebots_two_bookkeeping_lines_of_each_event_are_left_out_below_debug(restore_handler: None) -> None:
    """Of the three lines NoneBot wrote for every message, the one naming the event is kept (nonebot/message.py,
    internal/matcher/matcher.py write the other two); at DEBUG all three are."""
    for level, kept in (("INFO", 1), ("DEBUG", 3)):
        written: list[str] = []
        skip_unlogged_levels(level, written.append)
        log = logger.bind(nonebot_log_level=level).patch(lambda r: r.update(name="nonebot"))  # as NoneBot's own
        log.success("OneBot V11 10000 | [message.group.normal]: Message 1 from 2@[群:3] '/粉丝 排行'")
        log.info("Event will be handled by Matcher(type='message', module=plugins.system, lineno=409)")
        log.info("Matcher(type='message', module=plugins.system, lineno=409) running complete")
        logger.bind(nonebot_log_level=level).info("Matcher(type='message') running complete")  # a plugin's: kept
        assert len(written) == kept + 1, written
        assert "[message.group.normal]" in written[0]
