"""Issue 25.1 and 25.4 in the core: the archive, restore and its refusals, the daily backup, pruning."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import clock
from bot.app import App
from bot.backup import BackupError, BotRunning, RunLock, backups, make_backup, prune_backups, restore
from bot.db import latest_version
from tests.conftest import ADMIN, make_settings, sent

NOW = datetime(2026, 11, 20, 3, 30, tzinfo=clock.tz())


async def _return_with_file(app: App, rid: int, state: str, closed_at: str | None, name: str, data: bytes) -> None:
    """A return (open or closed at `closed_at`) with one stored file handed in by unit 1."""
    folder = app.settings.data_dir / "return_files"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    async with app.db.tx() as tx:
        await tx.run(
            "INSERT OR IGNORE INTO units (id, name, category, created_at) VALUES (1, '郑州大学', '本科高校', 't')"
        )
        await tx.run(
            "INSERT INTO returns (id, title, deadline, state, created_by, created_at, closed_at) "
            "VALUES (?, ?, '2024-01-01T00:00:00', ?, '1', '2023-12-01T00:00:00', ?)",
            (rid, f"报送{rid}", state, closed_at),
        )
        await tx.run(
            "INSERT INTO return_files (return_id, unit_id, kind, state, original_name, stored_name, size, sha256, "
            "uploaded_by, uploaded_at) VALUES (?, 1, '表格', '通过', '统计表.xlsx', ?, ?, 'x', '2', 't')",
            (rid, name, len(data)),
        )


def _rows(db: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db)) as con:
        return con.execute(sql).fetchall()


async def test_a_backup_holds_the_database_and_the_files_it_refers_to_and_restores_them(
    core: App, tmp_path: Path
) -> None:
    await _return_with_file(core, 1, "进行中", None, "20261101-aaaa.xlsx", b"PK form one")
    (core.settings.data_dir / "return_files" / "20261101-stray.xlsx").write_bytes(b"named by no row")
    path = make_backup(core.settings.data_dir, tmp_path / "out", NOW)
    assert path.name == "alliance-20261120-033000.zip"
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["alliance.db", "manifest.json", "return_files/20261101-aaaa.xlsx"]
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["schema_version"] == latest_version() and manifest["return_files"] == 1

    # the data changes after the backup; the bot is stopped; restore brings back what the backup held
    async with core.db.tx() as tx:
        await tx.run("DELETE FROM return_files")
        await tx.run("UPDATE returns SET title='改过了'")
    await core.db.close()
    (core.settings.data_dir / "return_files" / "20261101-aaaa.xlsx").unlink()
    done = restore(path, core.settings.data_dir, NOW + timedelta(hours=1))
    db = core.settings.db_path
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "SELECT title FROM returns") == [("报送1",)]
    assert _rows(db, "SELECT stored_name FROM return_files") == [("20261101-aaaa.xlsx",)]
    assert (core.settings.data_dir / "return_files" / "20261101-aaaa.xlsx").read_bytes() == b"PK form one"
    assert done.kept_as is not None and _rows(done.kept_as, "SELECT title FROM returns") == [("改过了",)]
    assert "已恢复" in done.summary() and "完整性检查通过" in done.summary()
    await core.db.open()  # the bot opens the restored file as usual


async def test_restore_is_refused_while_the_bot_holds_the_data_folder(core: App, tmp_path: Path) -> None:
    path = make_backup(core.settings.data_dir, tmp_path / "out", NOW)
    running = RunLock(core.settings.data_dir)
    running.acquire()
    try:
        with pytest.raises(BotRunning, match=f"进程 {os.getpid()}"):
            restore(path, core.settings.data_dir, NOW)
        assert not list(core.settings.data_dir.glob("alliance.db.before-restore-*"))
    finally:
        running.release()
    restore(path, core.settings.data_dir, NOW)  # once the bot has stopped


@pytest.mark.parametrize("damage", ["not a zip", "no database", "corrupt database", "newer schema"])
async def test_a_bad_archive_is_refused_and_the_current_database_is_left_alone(
    core: App, tmp_path: Path, damage: str
) -> None:
    good = make_backup(core.settings.data_dir, tmp_path / "out", NOW)
    bad = tmp_path / "bad.zip"
    if damage == "not a zip":
        bad.write_bytes(b"hello")
    else:
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as out:
            out.writestr("manifest.json", src.read("manifest.json"))
            db = src.read("alliance.db")
            if damage == "corrupt database":
                db = db[:4096] + b"\xff" * (len(db) - 4096)
            elif damage == "newer schema":
                copy = tmp_path / "newer.db"
                copy.write_bytes(db)
                with closing(sqlite3.connect(copy)) as con:
                    con.execute(f"PRAGMA user_version={latest_version() + 1}")
                db = copy.read_bytes()
            if damage != "no database":
                out.writestr("alliance.db", db)
    await core.db.close()
    before = core.settings.db_path.read_bytes()
    with pytest.raises(BackupError) as e:
        restore(bad, core.settings.data_dir, NOW)
    assert "bad.zip" in str(e.value)
    if damage == "newer schema":
        assert "更新版本" in str(e.value)
    assert core.settings.db_path.read_bytes() == before
    assert not list(core.settings.data_dir.glob("alliance.db.before-restore-*"))
    await core.db.open()


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    for day in range(1, 18):
        (tmp_path / f"alliance-202611{day:02d}-033000.zip").write_bytes(b"x")
    (tmp_path / "alliance-20261117-033000-2.zip").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    removed = prune_backups(tmp_path, 14)
    assert [p.name for p in removed] == [f"alliance-202611{d:02d}-033000.zip" for d in range(1, 5)]
    assert len(backups(tmp_path)) == 14 and (tmp_path / "notes.txt").exists()
    assert backups(tmp_path)[-1].name == "alliance-20261117-033000-2.zip"


async def test_a_failed_daily_backup_tells_the_admins_privately_once(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the backup folder should be")
    app = App(make_settings(tmp_path, alliance_backup_dir=str(blocked / "backups")))
    await app.open()
    try:
        assert await app.upkeep.backup() is None
        told = await sent(app)
        assert [m["target"] for m in told] == [("private", str(ADMIN))]
        assert "自动备份失败" in told[0]["text"] and "python -m bot backup" in told[0]["text"]
        assert await app.upkeep.backup() is None
        assert await sent(app) == []  # once
        blocked.unlink()
        assert (await app.upkeep.backup()) is not None
        (blocked / "backups").rename(tmp_path / "moved")
        (blocked / "backups").write_text("in the way again")
        assert await app.upkeep.backup() is None
        assert len(await sent(app)) == 1  # a new failure after a backup that worked is told again
    finally:
        await app.db.close()


async def test_the_daily_backup_runs_at_its_time_once_and_keeps_the_number_set(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, alliance_backup_time="03:30", alliance_backup_keep=2))
    await app.open()
    clock.freeze(datetime(2026, 11, 20, 3, 29, tzinfo=clock.tz()))
    try:
        await app.upkeep.start()
        for day in range(3):
            clock.freeze(datetime(2026, 11, 20 + day, 3, 29, 50, tzinfo=clock.tz()))
            app.upkeep.kick()
            await _settle()
            clock.freeze(datetime(2026, 11, 20 + day, 3, 30, 5, tzinfo=clock.tz()))
            app.upkeep.kick()
            await _until(lambda d=day: len(backups(app.settings.backup_dir)) == min(d + 1, 2) and _newest(app, d))
            app.upkeep.kick()  # the same day again: nothing more
            await _settle()
        assert [p.name for p in backups(app.settings.backup_dir)] == [
            "alliance-20261121-033005.zip",
            "alliance-20261122-033005.zip",
        ]
    finally:
        await app.upkeep.stop()
        await app.db.close()


async def test_a_backup_missed_while_the_bot_was_down_is_made_when_it_starts(tmp_path: Path) -> None:
    """The bot was down at 03:30 (yesterday's archive is the newest): started at 09:00 it backs up at once; a new
    installation with no archive waits for the time, as does a bot that made today's already."""
    app = App(make_settings(tmp_path, alliance_backup_time="03:30"))
    await app.open()
    folder = app.settings.backup_dir
    try:
        clock.freeze(datetime(2026, 11, 20, 9, 0, tzinfo=clock.tz()))
        assert not app.upkeep.missed(clock.now())  # nothing yet: a new installation
        folder.mkdir(parents=True)
        (folder / "alliance-20261119-033000.zip").write_bytes(b"yesterday's")
        assert app.upkeep.missed(clock.now())
        await app.upkeep.start()
        await _until(lambda: _has(app, "alliance-20261120-090000.zip"))
        assert not app.upkeep.missed(clock.now())  # today's is there now
    finally:
        await app.upkeep.stop()
        await app.db.close()


def _has(app: App, name: str) -> bool:
    return name in [p.name for p in backups(app.settings.backup_dir)]


def _newest(app: App, day: int) -> bool:
    found = backups(app.settings.backup_dir)
    return bool(found) and found[-1].name == f"alliance-202611{20 + day}-033005.zip"


async def _settle() -> None:
    import asyncio

    for _ in range(20):
        await asyncio.sleep(0.01)


async def _until(check) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.02)


async def test_pruning_removes_only_files_of_returns_closed_long_ago_and_says_so_in_the_audit_log(core: App) -> None:
    clock.freeze(datetime(2026, 11, 20, 3, 30, tzinfo=clock.tz()))
    await _return_with_file(core, 1, "已结束", "2024-11-01T00:00:00", "20231101-old.xlsx", b"old")
    await _return_with_file(core, 2, "已结束", "2025-12-01T00:00:00", "20251101-recent.xlsx", b"recent")
    await _return_with_file(core, 3, "进行中", None, "20231102-open.xlsx", b"open, however old")
    pending = core.settings.data_dir / "return_files" / "20231103-pending.xlsx"
    pending.write_bytes(b"an upload waiting for an admin, of no return")
    async with core.db.tx() as tx:
        await tx.run(
            "INSERT INTO return_files (return_id, unit_id, kind, state, original_name, stored_name, size, sha256, "
            "uploaded_by, uploaded_at) VALUES (NULL, NULL, '表格', '待确认', 'x.xlsx', '20231103-pending.xlsx', 1, 'x', "
            "'2', '2023-11-03T00:00:00')"
        )
        await tx.run("INSERT INTO audit (at, actor, action) VALUES ('2021-01-01T00:00:00', '1', '很久以前')")
        await tx.run("INSERT INTO audit (at, actor, action) VALUES ('2022-01-01T00:00:00', '1', '四年前')")
    pictures = core.settings.data_dir / "pictures"
    pictures.mkdir(parents=True)
    old_time = (clock.now() - timedelta(days=3)).timestamp()
    for i in range(4):  # 4 × 1 MB old pictures and one made just now, under a 2 MB cap
        p = pictures / f"old{i}.png"
        p.write_bytes(b"\0" * (1 << 20))
        os.utime(p, (old_time + i, old_time + i))
    fresh = pictures / "fresh.png"
    fresh.write_bytes(b"\0" * (1 << 20))
    os.utime(fresh, (clock.now().timestamp(), clock.now().timestamp()))

    app = App(make_settings(core.settings.data_dir.parent, alliance_pictures_max_mb=2))
    app.db = core.db
    app.upkeep.db = core.db
    pruned = await app.upkeep.prune()

    files = core.settings.data_dir / "return_files"
    assert pruned.return_files == ["20231101-old.xlsx"]
    assert not (files / "20231101-old.xlsx").exists()
    assert {p.name for p in files.iterdir()} == {"20251101-recent.xlsx", "20231102-open.xlsx", "20231103-pending.xlsx"}
    assert sorted(p.name for p in pictures.iterdir()) == ["fresh.png", "old3.png"]
    async with core.db.read() as tx:
        rows = [tuple(r) for r in await tx.all("SELECT actor, action, detail FROM audit ORDER BY id")]
    actions = [r[1] for r in rows]
    assert "很久以前" not in actions and "四年前" in actions  # 5 years kept
    assert ("系统", "清理报送文件") in [(r[0], r[1]) for r in rows]
    assert any(r[1] == "清理报送文件" and "20231101-old.xlsx" in r[2] for r in rows)
    assert any(r[1] == "清理图片缓存" and "3 张" in r[2] for r in rows)
    assert any(r[1] == "清理审计日志" and "1 条" in r[2] for r in rows)
    # a second pruning the same day finds nothing more and writes nothing more
    again = await app.upkeep.prune()
    assert again.return_files == [] and again.pictures == 0 and again.audit_rows == 0
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM audit") == len(rows)


async def test_a_pack_of_a_return_whose_files_were_pruned_says_so_instead_of_failing(core: App) -> None:
    import zipfile as zipmod

    from sim import samples
    from tests.bot.test_returnfiles import NOW as FILES_NOW
    from tests.bot.test_returnfiles import ZZU, file_return, hand, roster

    clock.freeze(FILES_NOW)
    await roster(core)
    rid = await file_return(core, scan=True)
    await hand(core, ZZU, "统计.xlsx", samples.xlsx(samples.stats_rows("郑州大学", 1)))
    await hand(core, ZZU, "盖章.pdf", b"%PDF-1.4")
    async with core.db.tx() as tx:
        await tx.run("UPDATE returns SET state='已结束', closed_at='2020-01-01T00:00:00' WHERE id=?", (rid,))
    pruned = await core.upkeep.prune()
    assert len(pruned.return_files) == 2
    made = await core.workbooks.pack(await core.returns.get(rid))
    with zipmod.ZipFile(made.path) as zf:
        assert zf.namelist() == ["已删除的原件.txt"]
        assert "郑州大学_盖章.pdf" in zf.read("已删除的原件.txt").decode()
