"""The monthly list: last month's ranking per category, published once on the first working day, never in quiet
hours, also across restarts; the workbook holds every unit and each unit's 僵尸号."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot import clock
from bot.app import App
from bot.due import next_due
from bot.readouts.monthly import KIND
from tests.bot.test_followers import HENU, MONDAY, TZ, ZZU, World, at, report, world  # noqa: F401
from tests.conftest import NEEDS_FONT, make_settings, sent
from tests.fake import GROUP

APRIL_1 = date(2026, 4, 1)  # a Wednesday: the first working day of April 2026


async def _no_send(target_type: str, target_id: str, segments: list) -> str:
    return "1"


def test_the_first_working_day_or_a_fixed_day() -> None:
    clock.set_tz(TZ)
    ten = time(10, 0)
    assert next_due(datetime(2026, 2, 20, tzinfo=TZ), ten, day=None) == (202603, datetime(2026, 3, 2, 10, tzinfo=TZ))
    assert next_due(datetime(2026, 3, 2, 10, tzinfo=TZ), ten, day=None)[0] == 202604  # strictly after
    assert next_due(datetime(2026, 3, 2, 9, tzinfo=TZ), ten, day=5) == (202603, datetime(2026, 3, 5, 10, tzinfo=TZ))


async def test_published_once_to_every_group_with_the_workbook(world: World, tmp_path: Path) -> None:  # noqa: F811
    app = world.app
    await report(world, ZZU, "郑大青年", "12000")
    await report(world, HENU, "抖音", "3000")
    clock.freeze(at(date(2026, 3, 20)))
    await report(world, ZZU, "郑大青年", "12500")
    await app.monthly.start()
    async with app.db.read() as tx:
        row = await tx.one("SELECT task_id, due_at FROM reminders WHERE kind=? AND state='pending'", (KIND,))
    assert row["task_id"] == 202604 and clock.from_db(row["due_at"]) == at(APRIL_1, 10)

    app.outbox.attach(_no_send)
    await sent(app)
    clock.freeze(at(APRIL_1, 9))
    assert await app.reminders.tick() == 0
    clock.freeze(at(APRIL_1, 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 1
    out = await sent(app)
    assert [m["target"] for m in out] == [("group", str(GROUP))] * 2
    summary, upload = out
    assert (
        "【2026年3月粉丝排行月报】" in summary["text"]
        and "本科高校：郑州大学 1.25万、河南大学 3,000" in summary["text"]
    )
    assert (
        upload["segments"][0]["type"] == "upload" and upload["segments"][0]["data"]["name"] == "粉丝月报-2026-03.xlsx"
    )
    wb = load_workbook(upload["segments"][0]["data"]["file"])
    rows = [[c.value for c in r] for r in wb["按粉丝数"].iter_rows(min_row=3)]
    assert rows[0][:5] == ["本科高校", 1, "郑州大学", 12500, 500] and rows[1][:4] == ["本科高校", 2, "河南大学", 3000]
    assert "僵尸号" in wb.sheetnames and "郑州大学" in {r[0].value for r in wb["僵尸号"].iter_rows(min_row=3)}

    assert await app.reminders.tick() == 0  # once
    await app.monthly.start()  # a restart the same day: not again
    clock.freeze(at(APRIL_1, 11))
    assert await app.reminders.tick() == 0
    async with app.db.read() as tx:
        owed = await tx.all("SELECT task_id, state FROM reminders WHERE kind=? ORDER BY task_id", (KIND,))
    assert [tuple(r) for r in owed] == [(202604, "sent"), (202605, "pending")]


@NEEDS_FONT
async def test_never_in_quiet_hours_and_a_picture_when_a_font_is_there(tmp_path: Path) -> None:
    clock.freeze(MONDAY)
    app = App(make_settings(tmp_path, alliance_monthly_list_time="23:00", alliance_pictures=True))
    await app.open()
    try:
        await app.monthly.start()
        app.outbox.attach(_no_send)
        clock.freeze(datetime(2026, 4, 1, 23, 5, tzinfo=TZ))
        assert await app.reminders.tick() == 0  # 22:00–07:30 is quiet
        clock.freeze(datetime(2026, 4, 2, 7, 31, tzinfo=TZ))
        assert await app.reminders.tick() == 1
        picture, _upload = await sent(app)
        assert [s["type"] for s in picture["segments"]] == ["text", "image"]
        png = Path(picture["segments"][1]["data"]["file"].removeprefix("file://")).read_bytes()
        assert png.startswith(b"\x89PNG") and "前三名" in picture["fallback"]
    finally:
        await app.db.close()
        clock.reset()


async def test_a_full_disk_holds_the_list_tells_and_publishes_it_once_when_space_returns(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Simulated as tests/plugins/test_hardening.py does: every write transaction fails with "disk is full"."""
    app = world.app
    await report(world, ZZU, "郑大青年", "12000")
    clock.freeze(at(date(2026, 3, 20)))
    await app.monthly.start()
    app.outbox.attach(_no_send)
    await sent(app)
    told: list[str] = []

    async def tell(what: str) -> None:
        told.append(what)

    app.outbox.on_disk_full = tell
    real_tx = app.db.tx

    @asynccontextmanager
    async def full() -> AsyncIterator[None]:
        raise sqlite3.OperationalError("database or disk is full")
        yield  # pragma: no cover

    monkeypatch.setattr(app.db, "tx", full)
    clock.freeze(at(APRIL_1, 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 0
    assert await app.reminders.tick() == 0  # the next tick tries again (the admins are told at most every 10 min)
    assert len(told) == 2 and "月度粉丝榜单" in told[0] and "补发" in told[0]
    assert await sent(app) == []
    async with app.db.read() as tx:
        assert await tx.value("SELECT state FROM reminders WHERE kind=? AND task_id=202604", (KIND,)) == "pending"
    monkeypatch.setattr(app.db, "tx", real_tx)  # space returns
    clock.freeze(at(APRIL_1, 10) + timedelta(minutes=30))
    assert await app.reminders.tick() == 1
    out = await sent(app)
    assert len(out) == 2 and "【2026年3月粉丝排行月报】" in out[0]["text"]
    assert await app.reminders.tick() == 0 and await sent(app) == []  # once


async def test_no_space_for_the_workbook_is_told_and_the_list_stays_owed(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = world.app
    clock.freeze(at(date(2026, 3, 20)))
    await app.monthly.start()
    app.outbox.attach(_no_send)
    told: list[str] = []

    async def tell(what: str) -> None:
        told.append(what)

    async def no_space(*_: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    app.outbox.on_disk_full = tell
    monkeypatch.setattr(app.monthly, "workbook", no_space)
    clock.freeze(at(APRIL_1, 10) + timedelta(seconds=5))
    assert await app.reminders.tick() == 0
    assert len(told) == 1 and "月度粉丝榜单" in told[0]
    async with app.db.read() as tx:
        assert await tx.value("SELECT state FROM reminders WHERE kind=? AND task_id=202604", (KIND,)) == "pending"


async def test_the_months_list_counts_the_zombie_accounts_as_the_month_ended(world: World) -> None:  # noqa: F811
    """Issue 21.14: the 11月 list said `数据截至 11月30日` but counted today's 僵尸号. An account whose last post was
    3月25日 was fine on 3月31日 (6 days) and is a 僵尸号 on 4月10日 (16 days): March's list leaves it out; a post
    reported in April does not hide one that was a 僵尸号 at the end of March."""
    from bot.followers.periods import month_period

    app = world.app
    clock.freeze(at(date(2026, 3, 25)))
    await world.svc.watch.mark_post(ZZU, ["郑大青年"])  # 郑州大学's account: posted 3月25日
    clock.freeze(at(date(2026, 4, 10)))

    def zombies(stale: object) -> set[str]:
        return {i.account.name for _, items in stale.no_post for i in items}  # type: ignore[attr-defined]

    today = await world.svc.watch.stale()
    assert "郑大青年" in zombies(today)  # 16 days: a 僵尸号 today
    march = month_period(2026, 3, clock.now().date())
    report = await app.monthly.build(march)
    assert "郑大青年" not in zombies(report.stale)  # 6 days on 3月31日
    assert report.stale.cutoff == date(2026, 3, 31) - timedelta(days=report.stale.days)
    # the 僵尸号 sheet says the day it counts on
    wb = load_workbook(report.workbook)
    assert "截至 3月31日" in str(wb["僵尸号"]["A1"].value)
