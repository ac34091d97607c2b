"""Escalation up the tree (issue 24.3): an overdue task sends each city admin their area's overdue list privately,
once (also across a restart), in working hours only."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot import clock
from bot.app import App, set_app
from bot.broadcasts.records import Draft
from bot.escalation import working_moment
from bot.roster import import_file
from tests.conftest import ROSTER, make_settings, sent
from tests.fake import ADMIN

CITY, KAIFENG = "30001", "30002"
FRIDAY = date(2026, 11, 20)  # a working day; 11-21 and 11-22 are the weekend


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.tz())


async def _no_send(target_type: str, target_id: str, segments: list) -> str:
    return "1"


async def _world(core: App, deadline: datetime) -> int:
    await import_file(core.units, ROSTER)
    await core.roles.appoint(str(ADMIN), CITY, "郑州市教育局")
    await core.roles.appoint(str(ADMIN), KAIFENG, "开封市教育局")
    draft = Draft("学习大会精神", "https://mp.weixin.qq.com/s/a", deadline, ("转发",), ())
    task = (await core.broadcasts.create(draft, actor=str(ADMIN))).task
    await core.broadcasts.confirm_for(task.id, ["郑州市金水区教育局"], actor=str(ADMIN))
    core.outbox.attach(_no_send)
    await sent(core)
    return task.id


async def test_each_city_admin_gets_their_overdue_list_once(core: App, tmp_path: Path) -> None:
    clock.freeze(at(FRIDAY, 9))
    await _world(core, at(FRIDAY, 17))
    clock.freeze(at(FRIDAY, 16, 59))
    await core.reminders.tick()
    assert [m for m in await sent(core) if m["target"][1] in (CITY, KAIFENG)] == []  # not before the deadline
    clock.freeze(at(FRIDAY, 17, 1))
    await core.reminders.tick()
    out = {m["target"]: m["text"] for m in await sent(core)}
    zz = out[("private", CITY)]
    assert zz.startswith("【逾期名单 · 郑州市教育局及其下级单位】统发 #1「学习大会精神」已于 11月20日 17:00 截止")
    assert "还有 12 个没有完成" in zz and "【县区教育局】郑州市中原区教育局" in zz
    assert "郑州市金水区教育局" not in zz and "开封" not in zz and "郑州大学" not in zz
    assert "/统发 催办 1" in zz
    assert "开封市龙亭区教育局" in out[("private", KAIFENG)] and "郑州" not in out[("private", KAIFENG)]
    assert ("private", str(ADMIN)) not in out  # the province sees the roll-up, not a private list per city
    clock.freeze(at(FRIDAY, 18))
    await core.reminders.tick()
    assert await sent(core) == []

    # a restart of the reminder service (a new App on the same database): not sent again
    await core.db.close()
    again = App(make_settings(tmp_path))
    await again.open()
    set_app(again)
    try:
        again.outbox.attach(_no_send)
        again._test_seen = core._test_seen  # type: ignore[attr-defined]
        clock.freeze(at(FRIDAY + timedelta(days=3), 9))
        await again.reminders.tick()
        assert [m for m in await sent(again) if "逾期名单" in m["text"]] == []
    finally:
        await again.db.close()
        await core.db.open()  # the fixture closes it


async def test_not_on_a_day_off_nor_in_quiet_hours(core: App) -> None:
    saturday = FRIDAY + timedelta(days=1)
    clock.freeze(at(FRIDAY, 9))
    await _world(core, at(saturday, 10))
    for moment in (at(saturday, 10, 1), at(saturday, 20), at(saturday + timedelta(days=1), 12)):
        clock.freeze(moment)
        await core.reminders.tick()
        assert not [m for m in await sent(core) if "逾期名单" in m["text"]], moment
    monday = saturday + timedelta(days=2)
    clock.freeze(at(monday, 7))  # a working day, but quiet hours (22:00–07:30)
    await core.reminders.tick()
    assert not [m for m in await sent(core) if "逾期名单" in m["text"]]
    clock.freeze(at(monday, 7, 31))
    await core.reminders.tick()
    assert {m["target"][1] for m in await sent(core) if "逾期名单" in m["text"]} == {CITY, KAIFENG}


async def test_a_closed_task_escalates_nothing(core: App) -> None:
    clock.freeze(at(FRIDAY, 9))
    task_id = await _world(core, at(FRIDAY, 17))
    await core.broadcasts.close(task_id, actor=str(ADMIN))
    clock.freeze(at(FRIDAY, 17, 1))
    await core.reminders.tick()
    assert not [m for m in await sent(core) if "逾期名单" in m["text"]]


async def test_returns_escalate_the_same_way(core: App) -> None:
    clock.freeze(at(FRIDAY, 9))
    await _world(core, at(FRIDAY, 17))
    from bot.returns.parse import parse_new

    made = await core.returns.create(parse_new(["秋季统计", "截止", "今天17:30"], clock.now()), actor=str(ADMIN))
    clock.freeze(at(FRIDAY, 17, 31))
    await core.reminders.tick()
    texts = [m["text"] for m in await sent(core) if m["target"] == ("private", CITY)]
    assert any(f"报送 {made.ret.label}已于" in t and "还有 13 个没有报送" in t and "/报送 催办" in t for t in texts)


def test_working_moment_skips_quiet_hours_and_days_off() -> None:
    quiet = (time(22), time(7, 30))
    assert working_moment(at(FRIDAY, 17), quiet) == at(FRIDAY, 17)
    assert working_moment(at(FRIDAY, 23), quiet) == at(FRIDAY + timedelta(days=3), 7, 30)  # past the weekend
    assert working_moment(at(date(2026, 10, 1), 12), quiet) == at(date(2026, 10, 8), 7, 30)  # 国庆
    assert working_moment(at(FRIDAY, 3), quiet) == at(FRIDAY, 7, 30)


async def _made_before_the_tree(path: Path, deadline: datetime) -> None:
    """A file the bot left before tasks recorded an owner (schema 14, before migration 015): units of 郑州 and 开封,
    an open 统发 and an open 报送 with their reminders as that code owed them, and a 统发 already closed."""
    from bot.db import Database

    path.parent.mkdir(parents=True, exist_ok=True)
    old = Database(path)
    await old.open(upto=12)
    units = [
        (1, "郑州市教育局", "市教育局", "郑州"),
        (2, "郑州市金水区教育局", "县区教育局", "郑州"),
        (3, "郑州市第一中学", "高中", "郑州"),
        (4, "开封市教育局", "市教育局", "开封"),
        (5, "郑州大学", "本科高校", "郑州"),
    ]
    async with old.tx() as tx:
        for row in units:
            await tx.run(
                "INSERT INTO units (id, name, category, city, created_at) VALUES (?, ?, ?, ?, '2026-01-05T02:00:00')",
                row,
            )
    await old.migrate(upto=14)
    due = clock.to_db(deadline)
    async with old.tx() as tx:
        for task_id, state in ((1, "进行中"), (2, "已结束")):
            await tx.run(
                "INSERT INTO broadcasts (id, title, url, deadline, state, created_by, created_at) "
                "VALUES (?, '学习大会精神', 'https://mp.weixin.qq.com/s/a', ?, ?, ?, '2026-11-19T01:00:00')",
                (task_id, due, state, str(ADMIN)),
            )
            for unit_id, *_ in units:
                await tx.run("INSERT INTO broadcast_units (task_id, unit_id) VALUES (?, ?)", (task_id, unit_id))
            await tx.run(
                "INSERT INTO reminders (kind, task_id, label, due_at, state) VALUES ('broadcast', ?, 'overdue', ?, ?)",
                (task_id, due, "pending" if state == "进行中" else "cancelled"),
            )
        await tx.run(
            "INSERT INTO returns (id, title, deadline, created_by, created_at) "
            "VALUES (1, '秋季统计', ?, ?, '2026-11-19T01:00:00')",
            (due, str(ADMIN)),
        )
        for unit_id, *_ in units:
            await tx.run("INSERT INTO return_units (return_id, unit_id) VALUES (1, ?)", (unit_id,))
        await tx.run("INSERT INTO reminders (kind, task_id, label, due_at) VALUES ('return', 1, 'overdue', ?)", (due,))
    assert await old.version() == 14
    await old.close()


async def test_a_task_from_before_the_tree_escalates_as_the_provinces(tmp_path: Path) -> None:
    """A task with no recorded owner (made before migration 015) is the province's: once the database is upgraded,
    its overdue list goes to each city admin once, like a task made today; a closed one sends nothing."""
    clock.freeze(at(FRIDAY, 9))
    settings = make_settings(tmp_path)
    await _made_before_the_tree(settings.db_path, at(FRIDAY, 17))
    app = App(settings)
    await app.open()
    set_app(app)
    try:
        await app.roles.appoint(str(ADMIN), CITY, "郑州市教育局")
        await app.roles.appoint(str(ADMIN), KAIFENG, "开封市教育局")
        app.outbox.attach(_no_send)
        await sent(app)
        clock.freeze(at(FRIDAY, 17, 1))
        await app.reminders.tick()
        lists = [m for m in await sent(app) if "逾期名单" in m["text"]]
        zz = [m["text"] for m in lists if m["target"] == ("private", CITY)]
        assert len(zz) == 2, lists
        assert any(t.startswith("【逾期名单 · 郑州市教育局及其下级单位】统发 #1「学习大会精神」") for t in zz), zz
        assert any("报送 #1《秋季统计》" in t and "还有 3 个没有报送" in t for t in zz), zz
        assert all("郑州市金水区教育局" in t and "郑州大学" not in t and "开封" not in t for t in zz), zz
        assert not [m for m in lists if "#2" in m["text"]]  # the closed task
        kf = [m["text"] for m in lists if m["target"] == ("private", KAIFENG)]
        assert len(kf) == 2 and all("开封市教育局" in t and "郑州" not in t for t in kf), kf
        clock.freeze(at(FRIDAY, 18))
        await app.reminders.tick()
        assert not [m for m in await sent(app) if "逾期名单" in m["text"]]  # once
    finally:
        set_app(None)
        await app.db.close()
        clock.reset()
