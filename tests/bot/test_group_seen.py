"""The mark of the last message seen in a group, the key that tells a message read back from one seen live, and
`clock.at` (issue 22.5)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import clock
from bot.config import ConfigError, Settings
from bot.db import Database
from bot.history import GroupSeen, message_key


def text(t: str) -> list[dict]:
    return [{"type": "text", "data": {"text": t}}]


@pytest.mark.asyncio
async def test_the_mark_moves_forward_only_and_keeps_every_message_of_its_second(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    await db.open()
    try:
        seen = GroupSeen(db)
        assert await seen.last("1") is None
        a, b, old = (
            message_key(5, 100, text("/已转发")),
            message_key(6, 100, text("/已转发")),
            message_key(5, 90, text("x")),
        )
        await seen.saw("1", 100, a)
        await seen.saw("1", 100, b)
        await seen.saw("1", 90, old)  # an older one read back later does not move it back
        last = await seen.last("1")
        assert last is not None and last.at == 100 and last.keys == {a, b}
        assert (
            last.covers(100, a) and last.covers(99, "anything") and not last.covers(100, message_key(7, 100, text("y")))
        )
    finally:
        await db.close()


def test_a_message_has_the_same_key_live_and_read_back_whatever_ids_the_client_gives() -> None:
    live = [{"type": "reply", "data": {"id": "-123"}}, *text("已转发")]
    back = [{"type": "reply", "data": {"id": "77"}}, *text("已转发")]
    assert message_key(5, 100, live) == message_key("5", 100, back)
    assert message_key(5, 100, text("已转发")) != message_key(5, 101, text("已转发"))
    assert message_key(5, 100, text("/粉丝 抖音 3千")) != message_key(5, 100, text("/粉丝 抖音 4千"))


@pytest.mark.asyncio
async def test_clock_at_holds_for_the_block_and_the_tasks_it_starts() -> None:
    when = datetime(2026, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    async def inner() -> datetime:
        return clock.now()

    with clock.at(when):
        assert clock.now() == when
        assert await asyncio.create_task(inner()) == when
    assert clock.now() != when


def test_alliance_file_send_is_one_of_three() -> None:
    assert Settings.model_validate({"alliance_file_send": "BASE64"}).alliance_file_send == "base64"
    assert Settings().alliance_file_send == "auto"
    with pytest.raises((ConfigError, ValueError)):
        Settings.model_validate({"alliance_file_send": "ftp"})


@pytest.mark.asyncio
async def test_marks_noted_together_are_all_written_and_kept_across_a_restart(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    await db.open()
    try:
        seen = GroupSeen(db)
        burst = [message_key(1000 + i, 100, text("/已转发")) for i in range(200)]
        for key in burst:  # a busy second in one group, and another group meanwhile
            await seen.saw("1", 100, key)
        await seen.saw("2", 90, message_key(5, 90, text("x")))
        await seen.saw("2", 95, message_key(6, 95, text("y")))
        await seen.flush()  # what a stop does before the database closes
        again = GroupSeen(db)  # the next start reads what was written
        one, two = await again.last("1"), await again.last("2")
        assert one is not None and one.at == 100 and one.keys == set(burst)
        assert two is not None and two.at == 95 and two.keys == {message_key(6, 95, text("y"))}
        await seen.saw("1", 100, message_key(7, 100, text("z")))  # the same second again: added to it
        last = await seen.last("1")
        assert last is not None and len(last.keys) == 201
    finally:
        await db.close()
