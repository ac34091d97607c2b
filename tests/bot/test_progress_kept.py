"""`/统发 进度` asked by many while nothing changes is made once and shared (bench's `progress` and `rollup`
scenarios, issue 23/24): the progress, the roll-up and the picture sent. Whatever changes in between (a confirmation,
an operator bound or unbound, a unit renamed, the task closed) shows in the next answer."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import bot.rollup
from bot import clock
from bot.app import App
from bot.pictures.store import inline
from bot.rollup import task_rollup
from bot.roster import import_file
from tests.bot.test_broadcasts import bind, draft, seed
from tests.conftest import ROSTER
from tests.fake import ADMIN

pytest_plugins = ["tests.bot.test_broadcasts"]


async def test_a_confirmation_between_two_asks_changes_the_second_answer(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    first = await bc.broadcasts.progress(t.id)
    assert (len(first.done), first.total) == (0, 4) and await bc.broadcasts.progress(t.id) is first  # shared
    await bc.broadcasts.confirm(1003, "王五")
    second = await bc.broadcasts.progress(t.id)
    assert [d.unit.name for d in second.done] == ["河南大学"] and "河南大学" not in {u.name for u in second.pending}
    assert [d.unit.name for d in first.done] == []  # what the first asker was given did not change under them


async def test_binding_renaming_and_closing_show_in_the_next_answer(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    p = await bc.broadcasts.progress(t.id)
    kaifeng = next(u.id for u in p.pending if u.name == "开封市教育局")
    assert kaifeng in p.unstaffed
    await bind(bc, 1005, "开封市教育局")  # an operator now: no longer marked as having none
    p = await bc.broadcasts.progress(t.id)
    assert kaifeng not in p.unstaffed
    await bc.units.registrations.unbind(1005, actor="t")
    assert kaifeng in (await bc.broadcasts.progress(t.id)).unstaffed
    await bc.units.rename("河南大学", "河南大学（本部）", actor="t")
    assert "河南大学（本部）" in {u.name for u in (await bc.broadcasts.progress(t.id)).pending}
    await bc.broadcasts.close(t.id, actor=str(ADMIN))
    assert not (await bc.broadcasts.progress(t.id)).task.is_open


async def test_concurrent_askers_make_the_roll_up_once(bc: App, monkeypatch) -> None:
    await import_file(bc.units, ROSTER)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    made: list[int] = []
    real = bot.rollup.roll_up

    def counting(*args, **kw):
        made.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(bot.rollup, "roll_up", counting)
    p = await bc.broadcasts.progress(t.id)
    rollups = await asyncio.gather(*(task_rollup(bc.units, p) for _ in range(20)))
    assert len(made) == 1 and all(r is rollups[0] for r in rollups) and rollups[0].total == 163
    await bind(bc, 1001, "郑州大学")
    await bc.broadcasts.confirm(1001, "张三")
    after = await task_rollup(bc.units, await bc.broadcasts.progress(t.id))
    assert len(made) == 2 and after.done == 1


def test_a_picture_sent_again_is_encoded_once_and_a_rewritten_one_again(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG first")
    assert inline(png) == "base64://iVBORyBmaXJzdA=="
    assert inline(png) is inline(png)  # kept
    png.write_bytes(b"\x89PNG second, longer")
    assert inline(png) == "base64://iVBORyBzZWNvbmQsIGxvbmdlcg=="
    png.unlink()
    with pytest.raises(OSError):  # a picture whose file is gone is not sent from memory
        inline(png)


async def test_a_confirmation_written_by_another_connection_shows_too(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    assert len((await bc.broadcasts.progress(t.id)).done) == 0
    unit = await bc.units.resolve("开封市教育局")
    other = sqlite3.connect(bc.db.path)  # the import-units command line, a second process
    with other:
        other.execute(
            "INSERT INTO broadcast_confirmations (task_id, unit_id, user_id, user_name, at, late, counted, via) "
            "VALUES (?, ?, '9', '别处', ?, 0, 1, 'admin')",
            (t.id, unit.id, clock.now_db()),
        )
    other.close()
    assert [d.unit.name for d in (await bc.broadcasts.progress(t.id)).done] == ["开封市教育局"]


async def test_concurrent_askers_are_given_one_progress(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1003, "王五")
    answers = await asyncio.gather(*(bc.broadcasts.progress(t.id) for _ in range(20)))
    assert all(p is answers[0] for p in answers) and [d.unit.name for d in answers[0].done] == ["河南大学"]
