"""Working days follow China's public holidays and 调休 (issue 21 item 13): the monthly reminder and the monthly list
go out on the first working day, never on 元旦; the office adds days the library does not know yet."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot import clock, workdays
from bot.app import App
from bot.config import ConfigError, load_settings
from bot.due import next_due
from bot.followers.records import LABEL
from bot.readouts.monthly import KIND as LIST_KIND
from bot.workdays import first_working_day, is_working_day, parse_days
from tests.bot.test_followers import KIND, TZ, ZZU, World, at, report, world  # noqa: F401
from tests.conftest import make_settings, sent


@pytest.fixture(autouse=True)
def no_extra_days() -> Iterator[None]:
    workdays.configure()
    yield
    workdays.configure()


async def _no_send(target_type: str, target_id: str, segments: list) -> str:
    return "1"


def test_swapped_working_days_count_and_public_holidays_do_not() -> None:
    assert is_working_day(date(2026, 10, 10))  # a Saturday worked for 国庆节 (调休)
    assert is_working_day(date(2026, 2, 28))  # a Saturday worked for 春节
    assert not is_working_day(date(2026, 10, 5))  # a Monday of 国庆节
    assert not is_working_day(date(2026, 10, 17))  # an ordinary Saturday
    assert first_working_day(2026, 10) == date(2026, 10, 8)  # 1–7 October off
    assert first_working_day(2026, 1) == date(2026, 1, 4)  # 1–3 January off, Sunday the 4th worked (调休)
    assert first_working_day(2026, 2) == date(2026, 2, 2)
    assert first_working_day(2026, 3) == date(2026, 3, 2)


def test_a_year_the_library_does_not_know_falls_back_to_weekdays_and_fixed_holidays_warning_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert not workdays.known(2027)  # chinesecalendar 1.11 knows 2004–2026; 2027's schedule comes in autumn 2026
    with caplog.at_level(logging.WARNING, logger="alliance.workdays"):
        assert not is_working_day(date(2027, 1, 1))  # 元旦, a Friday
        assert first_working_day(2027, 1) == date(2027, 1, 4)
        assert not is_working_day(date(2027, 10, 1)) and is_working_day(date(2027, 10, 4))
        assert first_working_day(2027, 5) == date(2027, 5, 3)  # 1–2 May off, 3 May a Monday
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1


def test_the_office_adds_holidays_and_working_days() -> None:
    workdays.configure(parse_days("2027-01-04~2027-01-05"), parse_days(["2027-01-09"]))
    assert first_working_day(2027, 1) == date(2027, 1, 6)
    assert is_working_day(date(2027, 1, 9))  # a Saturday the office works
    workdays.configure(parse_days("2026-10-08"), [])  # the office's own day off wins over the library
    assert first_working_day(2026, 10) == date(2026, 10, 9)


def test_extra_days_settings_are_read_and_a_bad_one_names_the_key(tmp_path: Path) -> None:
    s = load_settings(
        None, {"ALLIANCE_EXTRA_HOLIDAYS": "2027-02-06~2027-02-08, 2027-10-04", "ALLIANCE_EXTRA_WORKDAYS": ""}
    )
    assert s.extra_holidays == [date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8), date(2027, 10, 4)]
    assert s.extra_workdays == []
    s = load_settings(None, {"ALLIANCE_EXTRA_WORKDAYS": '["2027-02-14"]'})
    assert s.extra_workdays == [date(2027, 2, 14)]
    for bad in ("2027-02-30", "明年春节", "2027-02-08~2027-02-06"):
        with pytest.raises(ConfigError, match="ALLIANCE_EXTRA_HOLIDAYS"):
            load_settings(None, {"ALLIANCE_EXTRA_HOLIDAYS": bad})
    app = App(make_settings(tmp_path, alliance_extra_holidays=["2027-01-04"]))
    assert app.settings.extra_holidays == [date(2027, 1, 4)]
    assert first_working_day(2027, 1) == date(2027, 1, 5)  # the App configures the one calendar


def test_next_monthly_dates_skip_new_years_day() -> None:
    clock.set_tz(TZ)
    assert next_due(at(date(2026, 12, 20)), time(9)) == (202701, at(date(2027, 1, 4), 9))
    assert next_due(datetime(2026, 12, 20, tzinfo=TZ), time(10), day=None) == (202701, at(date(2027, 1, 4), 10))
    assert next_due(datetime(2026, 9, 20, tzinfo=TZ), time(10), day=None) == (202610, at(date(2026, 10, 8), 10))


async def test_new_years_day_2027_gets_no_monthly_reminder_and_the_list_comes_on_january_4(world: World) -> None:  # noqa: F811
    app = world.app
    await report(world, ZZU, "郑大青年", "12000")
    clock.freeze(at(date(2026, 12, 20), 12))
    await app.followers.reminder.start()
    await app.monthly.start()
    app.outbox.attach(_no_send)
    await sent(app)
    for hour in (9, 10, 11):
        clock.freeze(at(date(2027, 1, 1), hour) + timedelta(seconds=5))
        assert await app.reminders.tick() == 0
    assert await sent(app) == []
    clock.freeze(at(date(2027, 1, 4), 9) + timedelta(seconds=5))
    assert await app.reminders.tick() == 1
    (reminder,) = await sent(app)
    assert "【粉丝数月报】1月" in reminder["text"]
    clock.freeze(at(date(2027, 1, 4), 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 1
    listing = await sent(app)
    assert "【2026年12月粉丝排行月报】" in listing[0]["text"]


async def test_a_reminder_owed_on_a_holiday_by_an_older_ledger_waits_for_the_next_working_day(world: World) -> None:  # noqa: F811
    """A database from before this fix owes the January reminder and list on 1 January: they move, still once."""
    app = world.app
    clock.freeze(at(date(2026, 12, 31), 20))
    async with app.db.tx() as tx:
        await app.reminders.schedule_at(tx, KIND, 202701, LABEL, at(date(2027, 1, 1), 9))
        await app.reminders.schedule_at(tx, LIST_KIND, 202701, "publish", at(date(2027, 1, 1), 10))
    app.outbox.attach(_no_send)
    clock.freeze(at(date(2027, 1, 1), 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 0
    assert await sent(app) == []
    async with app.db.read() as tx:
        rows = await tx.all("SELECT kind, due_at, state FROM reminders ORDER BY due_at")
    assert [(r["kind"], clock.from_db(r["due_at"]), r["state"]) for r in rows] == [
        (KIND, at(date(2027, 1, 4), 9), "pending"),
        (LIST_KIND, at(date(2027, 1, 4), 10), "pending"),
    ]
    clock.freeze(at(date(2027, 1, 4), 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 2
    assert await app.reminders.tick() == 0
