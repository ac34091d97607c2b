"""Telling the admins (issue 25 §2): an account away over 10 minutes in working hours, a stuck outbox; once, then
at most daily while it lasts; again when it comes back after being over. And the report's reasons."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from bot import clock
from bot.app import App
from tests.conftest import make_settings

WEDNESDAY = datetime(2026, 3, 4, 10, 0, tzinfo=clock.tz())  # a working day, outside the quiet hours
ADMINS = ["900001", "900002"]


async def open_app(tmp_path: Path, **over: object) -> tuple[App, list[tuple[str, str]]]:
    clock.freeze(WEDNESDAY)
    settings = {"alliance_admins": ADMINS, "alliance_accounts": ["10000", "10001"], "alliance_reminder_tick": 3600}
    app = App(make_settings(tmp_path, **{**settings, **over}))
    await app.open()
    told: list[tuple[str, str]] = []

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        told.append((target_id, "".join(s["data"].get("text", "") for s in segments)))
        return "1"

    app.outbox.attach(sender, account="10000")
    return app, told


async def test_an_account_away_over_ten_minutes_is_told_once_then_daily(tmp_path: Path) -> None:
    app, told = await open_app(tmp_path)
    try:
        assert await app.health.watch_once() == 0  # 10001 just now not there: not yet
        clock.advance(timedelta(minutes=10))
        assert await app.health.watch_once() == 0  # exactly 10 minutes is not "more than"
        clock.advance(timedelta(minutes=1))
        assert await app.health.watch_once() == 1
        assert [who for who, _ in told] == ADMINS
        assert "QQ 账号 10001 已断开 11 分钟" in told[0][1] and "10:00" in told[0][1]
        clock.advance(timedelta(hours=5))
        assert await app.health.watch_once() == 0  # still away: not again the same day
        clock.advance(timedelta(hours=19))
        assert await app.health.watch_once() == 1  # a day later: reminded
        assert len(told) == 4 and "已断开 1 天" in told[-1][1]
    finally:
        await app.db.close()


async def test_no_account_alert_outside_working_hours(tmp_path: Path) -> None:
    app, told = await open_app(tmp_path)
    try:
        clock.freeze(WEDNESDAY.replace(hour=23))  # quiet hours (22:00-07:30)
        assert await app.health.watch_once() == 0
        clock.freeze(datetime(2026, 3, 7, 10, 0, tzinfo=clock.tz()))  # a Saturday
        assert await app.health.watch_once() == 0
        clock.freeze(datetime(2026, 3, 9, 8, 0, tzinfo=clock.tz()))  # Monday morning: told then
        assert await app.health.watch_once() == 1 and len(told) == 2
    finally:
        await app.db.close()


async def test_a_problem_that_ends_and_comes_back_is_told_again(tmp_path: Path) -> None:
    app, told = await open_app(tmp_path)
    try:
        clock.advance(timedelta(minutes=11))
        assert await app.health.watch_once() == 1

        async def other(target_type: str, target_id: str, segments: list) -> str:
            return "2"

        app.outbox.attach(other, owner="b", account="10001")
        assert (await app.health.report()).ok
        assert await app.health.watch_once() == 0
        app.outbox.detach(owner="b")
        clock.advance(timedelta(minutes=11))
        assert await app.health.watch_once() == 1 and len(told) == 4
        assert "已断开 11 分钟" in told[-1][1]
    finally:
        await app.db.close()


async def test_a_stuck_outbox_is_told_and_named_in_the_report(tmp_path: Path) -> None:
    app, told = await open_app(tmp_path, alliance_accounts=["10000"])
    try:
        async with app.db.tx() as tx:  # owed to a chat of an account that never came: it waits
            await tx.run(
                "INSERT INTO outbox (target_type, target_id, message, created_at, priority, account) "
                "VALUES ('group', '123', '[]', ?, 0, '10002')",
                (clock.now_db(),),
            )
        r = await app.health.report()
        assert r.ok and r.backlog == 1
        clock.advance(timedelta(minutes=10, seconds=30))
        r = await app.health.report()
        assert not r.ok and r.problems == ["发送队列积压 1 条，最早的一条已等 10 分钟"]
        assert await app.health.watch_once() == 1
        assert "发送队列积压 1 条" in told[0][1] and "不会丢" in told[0][1]
        assert await app.health.watch_once() == 0
    finally:
        await app.db.close()


async def test_a_quiet_reminder_loop_with_nothing_due_is_not_late(tmp_path: Path) -> None:
    """The loop sleeps until the ledger's next due time (the scheduler wakes it): hours with nothing due are fine."""
    app, _ = await open_app(tmp_path, alliance_accounts=["10000"], alliance_reminder_tick=30)
    try:
        clock.advance(timedelta(hours=5))
        r = await app.health.report()
        assert not any("提醒检查" in p for p in r.problems), r.problems
    finally:
        await app.db.close()


async def test_the_report_names_a_late_reminder_loop_low_disk_and_an_old_backup(tmp_path: Path) -> None:
    app, _ = await open_app(tmp_path, alliance_accounts=["10000"], alliance_reminder_tick=30)
    try:
        backups = tmp_path / "data" / "backups"
        backups.mkdir(parents=True)
        old = backups / "alliance-2026-03-01.tar.gz"
        old.write_bytes(b"x")
        stamp = (WEDNESDAY - timedelta(days=3)).timestamp()
        os.utime(old, (stamp, stamp))
        app.reminders._armed = clock.now()  # the loop asked to be woken now (a reminder came due) and never woke
        clock.advance(timedelta(minutes=3))
        r = await app.health.report()
        assert r.backup is not None and r.backup.path == old
        assert any("提醒检查已 3 分钟没有运行" in p for p in r.problems), r.problems
        assert any("最近一次备份在 3 天" in p and old.name in p for p in r.problems), r.problems
        assert r.as_json()["last_backup"]["file"] == old.name
        status = (await app.health.status()).plain()
        assert "最近备份：" in status and old.name in status and "QQ 账号 10000：已连接" in status
    finally:
        await app.db.close()


def test_log_settings_name_the_key_when_wrong_and_default_to_the_data_folder(tmp_path: Path) -> None:
    import pytest

    from bot.config import ConfigError, load_settings

    s = load_settings(None, {"ALLIANCE_DATA_DIR": str(tmp_path)})
    assert s.log_path == tmp_path / "logs" / "bot.log" and s.alliance_log_keep == 14
    assert load_settings(None, {"ALLIANCE_LOG_FILE": "off"}).log_path is None
    assert load_settings(None, {"ALLIANCE_LOG_ROTATION": "50 MB"}).alliance_log_rotation == "50 MB"
    with pytest.raises(ConfigError, match="ALLIANCE_LOG_ROTATION"):
        load_settings(None, {"ALLIANCE_LOG_ROTATION": "每天"})
    with pytest.raises(ConfigError, match="ALLIANCE_LOG_KEEP"):
        load_settings(None, {"ALLIANCE_LOG_KEEP": "0"})
