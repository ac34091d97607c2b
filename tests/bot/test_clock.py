"""Times as the database stores them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_stored_time_is_utc_text_that_reads_back_the_same() -> None:
    at = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=SHANGHAI)
    assert clock.to_db(at) == "2026-04-01T01:30:15"
    back = clock.from_db("2026-04-01T01:30:15")
    assert back == at.replace(microsecond=0) and back.utcoffset() == at.utcoffset()
    assert clock.from_db(clock.to_db(datetime(2026, 12, 31, 23, 59, 59, tzinfo=SHANGHAI))).day == 31


@pytest.mark.parametrize(
    "text", ["2026-04-01 01:30:15", "2026-04-01T01:30:15+08:00", "2026-04-01T01:30", "2026-04-01", "", "明天"]
)
def test_any_other_text_is_no_stored_time(text: str) -> None:
    with pytest.raises(ValueError):
        clock.from_db(text)
