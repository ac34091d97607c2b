"""Issue 12 through NoneBot's handlers: look-alike names, malformed ids, private chat scope, a full disk."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from nonebot.adapters.onebot.v11 import Bot
from nonebug import App as NBApp

from bot import clock
from bot.app import App
from bot.render import Msg
from plugins import _diskfull
from tests.conftest import say, sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

OP, OP2 = 20001, 20002


async def test_an_invisible_character_does_not_register_a_second_unit(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    out = await say(app, core, group_msg("/注册 郑州大学\u200b 本科高校 郑州", OP))
    assert "“郑州大学”" in out[0]["text"] and "新单位" not in out[0]["text"]
    out = await say(app, core, group_msg("/单位 添加 \u202e郑州大学 本科高校 郑州", ADMIN))
    assert "已经存在" in out[0]["text"]
    assert [u.name for u in await core.units.all()] == ["郑州大学"]


async def test_a_malformed_user_id_is_told_and_nothing_is_stored(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    out = await say(app, core, group_msg("/注册 郑州大学", -5))
    assert "没有保存" in out[0]["text"] and out[0]["ats"] == []
    assert await core.units.registrations.pending() == []


async def test_one_bad_recipient_never_blocks_a_nudge(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    a, _ = await core.units.registrations.apply(str(OP), "张三", str(GROUP), "河南大学")
    await core.units.registrations.approve([a.id], actor="t")
    async with core.db.tx() as tx:  # stored by an older version, before ids were checked
        await tx.run(
            "INSERT INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES ('-5', 1, '坏', ?, '2026-01-01')",
            (str(GROUP),),
        )
    await say(app, core, group_msg("/统发 学习 https://mp.weixin.qq.com/s/x", ADMIN))
    out = await say(app, core, group_msg("/统发 催办 1", ADMIN))
    nudges = [o for o in out if "催办" in o["text"] and o["ats"]]
    assert {qq for o in nudges for qq in o["ats"]} >= {str(OP)}
    assert all("-5" not in o["ats"] for o in out)
    assert any("已催办" in o["text"] for o in out)


async def test_private_chat_only_for_bound_or_waiting_people(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await say(app, core, group_msg("/注册 郑州大学", OP))
    assert await say(app, core, private_msg("/帮助", OP))  # waiting: served
    await say(app, core, group_msg("/审核 驳回 1 不是本单位", ADMIN))
    assert await say(app, core, private_msg("/帮助", OP)) == []  # rejected: ignored
    await say(app, core, group_msg("/注册 郑州大学", OP2))
    await say(app, core, group_msg("/审核 通过 2", ADMIN))
    assert await say(app, core, private_msg("/我的单位", OP2))  # bound: served
    await core.units.registrations.unbind(OP2, actor="system", why="退群")
    assert await say(app, core, private_msg("/我的单位", OP2)) == []  # left the group: ignored


async def test_a_full_disk_gets_a_clear_answer_and_the_admin_is_told(
    app: NBApp, core: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    real_tx = core.db.tx

    @asynccontextmanager
    async def full() -> AsyncIterator[None]:
        raise sqlite3.OperationalError("database or disk is full")
        yield  # pragma: no cover

    monkeypatch.setattr(core.db, "tx", full)
    monkeypatch.setattr(_diskfull, "_admins_told_at", 0.0)
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        answer = [
            {"type": "at", "data": {"qq": str(OP)}},
            {"type": "text", "data": {"text": " " + _diskfull.DISK_FULL}},
        ]
        ctx.should_call_api("send_group_msg", {"group_id": GROUP, "message": answer}, {"message_id": 1})
        told = Msg(
            f"【联盟助手】服务器磁盘已满（{core.settings.db_path}），命令无法保存，用户收到了“请稍后再发”的答复。"
            "请尽快腾出磁盘空间；腾出后无需重启，已保存的数据都在。"
        ).segments
        ctx.should_call_api("send_private_msg", {"user_id": ADMIN, "message": told}, {"message_id": 2})
        await bot.handle_event(group_msg("/注册 郑州大学", OP))
    assert await core.units.registrations.pending() == []
    # space returns: the same command works, nothing was half-saved
    monkeypatch.setattr(core.db, "tx", real_tx)
    out = await say(app, core, group_msg("/注册 郑州大学", OP))
    assert "#1" in out[0]["text"] and len(await core.units.registrations.pending()) == 1


async def test_a_worker_on_a_full_disk_tells_the_admins_like_a_command_once_per_10_minutes(
    app: NBApp, core: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reminder worker hits the full disk (simulated as above): the admins are told through the connected QQ
    client with the command path's message and its 10-minute limit (shared: a command right after tells nobody
    again), the worker keeps ticking, and the reminder goes out once when space returns."""
    clock.freeze(datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    a, _ = await core.units.registrations.apply(str(OP), "张三", str(GROUP), "郑州大学")
    await core.units.registrations.approve([a.id], actor="t")
    await say(app, core, group_msg("/报送 新建 三月统计表 截止 2026-03-20 18:00", ADMIN))
    calls: list[tuple[str, str, str]] = []

    async def client(target_type: str, target_id: str, segments: list) -> str:
        calls.append((target_type, target_id, "".join(s["data"].get("text", "") for s in segments)))
        return "1"

    core.outbox.attach(client, account="10000")
    _diskfull.watch_disk(core)
    monkeypatch.setattr(_diskfull, "_admins_told_at", 0.0)
    real_tx = core.db.tx

    @asynccontextmanager
    async def full() -> AsyncIterator[None]:
        raise sqlite3.OperationalError("database or disk is full")
        yield  # pragma: no cover

    monkeypatch.setattr(core.db, "tx", full)
    clock.advance(timedelta(days=1, hours=8, seconds=5))  # 3月17日 18:00: the reminder 3 days before is due
    assert await core.reminders.tick() == 0
    told = (
        f"【联盟助手】服务器磁盘已满（{core.settings.db_path}），到期的自动提醒写不进数据库，暂时发不出；"
        "腾出空间后会自动补发（只发一次）。请尽快腾出磁盘空间；腾出后无需重启，已保存的数据都在。"
    )
    assert calls == [("private", str(ADMIN), told)]
    assert await core.reminders.tick() == 0  # 30 seconds later: still full, nobody told twice
    assert len(calls) == 1
    async with app.test_api() as ctx:  # a command in the same 10 minutes: the user is answered, no second alarm
        bot = ctx.create_bot(base=Bot, self_id="10000")
        answer = [
            {"type": "at", "data": {"qq": str(OP)}},
            {"type": "text", "data": {"text": " " + _diskfull.DISK_FULL}},
        ]
        ctx.should_call_api("send_group_msg", {"group_id": GROUP, "message": answer}, {"message_id": 1})
        await bot.handle_event(group_msg("/已报送 1", OP))
    monkeypatch.setattr(_diskfull, "_admins_told_at", _diskfull._admins_told_at - 601)  # 10 minutes on
    assert await core.reminders.tick() == 0
    assert len(calls) == 2 and calls[1] == calls[0]
    monkeypatch.setattr(core.db, "tx", real_tx)  # space returns
    assert await core.reminders.tick() == 1
    out = await sent(core)
    assert len([o for o in out if o["text"].startswith("【报送提醒】#1《三月统计表》")]) == 1, out
    assert await core.reminders.tick() == 0
