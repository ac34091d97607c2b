"""Noise in the group (issue 21 items 5, 6, 7): units nobody represents are counted, not listed, in reminders (the
admin gets them privately, once a day); closing a task answers in a few lines; a reminder overtaken while the bot
was stopped is replaced by the next one, and a 催办 right after an automatic reminder does not repeat it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from nonebug import App as NBApp

from bot import clock
from bot.app import App
from bot.returns.records import NewReturn
from bot.roster import import_file
from tests.conftest import ROSTER, say, sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

TZ = ZoneInfo("Asia/Shanghai")
ZZU, HENU = 20001, 20002
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # a Tuesday


async def _sender(target_type: str, target_id: str, segments: list) -> str:
    return "1"


async def world(core: App) -> int:
    """166 units (the roster and three more), two of them with an operator in the group."""
    clock.freeze(NOW)
    await import_file(core.units, ROSTER)
    for name in ("测试一中", "测试二中", "测试三中"):
        await core.units.add(name, "高中", "郑州", actor="t")
    for uid, unit in ((ZZU, "郑州大学"), (HENU, "河南大学")):
        a, _ = await core.units.registrations.apply(uid, f"联络员{uid}", str(GROUP), unit)
        await core.units.registrations.approve([a.id], actor=str(ADMIN))
    total = len(await core.units.all())
    assert total == 166
    return total


def _group(out: list[dict]) -> list[dict]:
    return [o for o in out if o["target"] == ("group", str(GROUP))]


def _private(out: list[dict]) -> list[dict]:
    return [o for o in out if o["target"] == ("private", str(ADMIN))]


# ---------------------------------------------------------------- item 5


async def test_reminders_count_units_without_operators_and_the_admin_gets_them_privately_once_a_day(
    app: NBApp, core: App
) -> None:
    total = await world(core)
    await say(app, core, group_msg("/报送 新建 新媒体统计表 截止 3天后", ADMIN))
    await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 3天后", ADMIN))
    await say(app, core, group_msg("/报送 新建 自查表 截止 3天后", ADMIN))
    core.outbox.attach(_sender)
    await sent(core)
    clock.freeze(NOW + timedelta(days=2, minutes=1))  # the 1-day reminders of all three, at once
    assert await core.reminders.tick() == 3
    out = await sent(core)
    group, private = _group(out), _private(out)
    assert len(group) == 3
    for o in group:
        assert f"另 {total - 2} 个单位没有联络员" in o["text"]
        assert "没有联络员的" not in o["text"] and "河南农业大学" not in o["text"] and "测试三中" not in o["text"]
        assert len(o["text"]) < 300
    (digest,) = private  # one list a day, whatever the number of reminders
    assert "河南农业大学" in digest["text"] and "测试三中" in digest["text"] and f"{total - 2} 个单位" in digest["text"]

    clock.freeze(NOW + timedelta(days=2, hours=22, minutes=31))  # the 2-hour reminders, the next morning at 07:31
    assert await core.reminders.tick() == 3
    out = await sent(core)
    assert len(_private(out)) == 1 and all("河南农业大学" not in o["text"] for o in _group(out))
    core.outbox.detach()


async def test_a_return_nobody_can_be_mentioned_for_is_counted_not_listed(app: NBApp, core: App) -> None:
    clock.freeze(NOW)
    await import_file(core.units, ROSTER)
    await say(app, core, group_msg("/报送 新建 新媒体统计表 截止 3天后", ADMIN))
    core.outbox.attach(_sender)
    await sent(core)
    clock.freeze(NOW + timedelta(days=2, minutes=1))
    assert await core.reminders.tick() == 1
    out = await sent(core)
    (group,) = _group(out)
    assert "它们都还没有绑定联络员" in group["text"] and "河南农业大学" not in group["text"]
    assert "河南农业大学" in _private(out)[0]["text"]
    core.outbox.detach()


async def test_an_admins_nudge_does_not_list_units_without_operators_in_the_group(app: NBApp, core: App) -> None:
    total = await world(core)
    await say(app, core, group_msg("/报送 新建 新媒体统计表 截止 3天后", ADMIN))
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    for o in _group(out):
        assert "河南农业大学" not in o["text"] and "没有联络员的" not in o["text"]
    assert f"另 {total - 2} 个单位没有联络员" in _group(out)[0]["text"]
    assert any("河南农业大学" in o["text"] for o in _private(out))  # asked for: the admin gets the list


# ---------------------------------------------------------------- item 6


async def test_closing_a_166_unit_return_answers_in_a_few_lines_and_the_full_list_goes_privately(
    app: NBApp, core: App
) -> None:
    total = await world(core)
    for i in range(4):
        await say(app, core, group_msg(f"/报送 新建 测试{i} 截止 3天后", ADMIN))
    await say(app, core, group_msg("/报送 新建 测试任务 截止 3天后", ADMIN))
    await core.returns.submit(str(ZZU), "联络员", 5)
    out = await say(app, core, group_msg("/报送 结束 5", ADMIN))
    (answer,) = _group(out)
    assert len(answer["text"]) < 300, answer["text"]
    assert "已结束报送 #5" in answer["text"] and f"已报送 1/{total}" in answer["text"]
    assert f"未报送 {total - 1} 个：" in answer["text"] and "私聊" in answer["text"]
    (full,) = _private(out)
    assert "河南农业大学" in full["text"] and "测试三中" in full["text"] and "郑州大学、" not in full["text"]

    await say(app, core, group_msg("/报送 新建 私聊测试 截止 3天后", ADMIN))
    (whole,) = await say(app, core, private_msg("/报送 结束 6", ADMIN))  # in private: all of it, in one answer
    assert "测试三中" in whole["text"] and "河南农业大学" in whole["text"]


async def test_closing_a_166_unit_broadcast_answers_in_a_few_lines(app: NBApp, core: App) -> None:
    total = await world(core)
    await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 3天后", ADMIN))
    out = await say(app, core, group_msg("/统发 结束 1", ADMIN))
    (answer,) = _group(out)
    assert len(answer["text"]) < 300 and f"0/{total}" in answer["text"] and f"未完成 {total} 个：" in answer["text"]
    assert "测试三中" in _private(out)[0]["text"]


# ---------------------------------------------------------------- item 7


async def test_a_bot_stopped_overnight_sends_one_reminder_per_task_never_one_minute_before_overdue(
    app: NBApp, core: App
) -> None:
    await world(core)
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=TZ)
    clock.freeze(sunday)
    a = await core.returns.create(NewReturn("甲表", datetime(2026, 12, 8, 8, 31, tzinfo=TZ)), actor=str(ADMIN))
    b = await core.returns.create(NewReturn("乙表", datetime(2026, 12, 8, 10, 20, tzinfo=TZ)), actor=str(ADMIN))
    core.outbox.attach(_sender)
    await sent(core)
    core.outbox.detach()  # stopped on Sunday evening: Monday's 1-day and Tuesday's 2-hour reminders pass unsent
    clock.freeze(datetime(2026, 12, 8, 8, 30, tzinfo=TZ))  # back on Tuesday, a minute before 甲's deadline
    core.outbox.attach(_sender)
    assert await core.reminders.tick() == 1
    group = _group(await sent(core))
    assert all("还剩 1 分钟" not in o["text"] for o in group)
    assert group and all(o["text"].startswith(f"【报送提醒】{b.ret.label}") for o in group)
    assert "还剩约 2 小时" in group[0]["text"]
    clock.freeze(datetime(2026, 12, 8, 8, 31, 30, tzinfo=TZ))
    assert await core.reminders.tick() == 1
    group = _group(await sent(core))
    assert group and all(o["text"].startswith(f"【报送逾期】{a.ret.label}") for o in group)
    async with core.db.read() as tx:
        states = dict(await tx.all("SELECT label, state FROM reminders WHERE kind='return' AND task_id=?", (a.ret.id,)))
    assert states == {"1d": "skipped", "2h": "skipped", "overdue": "sent"}

    # the admin's 催办 a few minutes later does not repeat the automatic one word for word
    clock.freeze(datetime(2026, 12, 8, 8, 41, 30, tzinfo=TZ))
    out = await say(app, core, group_msg(f"/报送 催办 {a.ret.id}", ADMIN))
    assert len(out) == 1 and all("【报送" not in o["text"] for o in out)
    assert f"10 分钟前已自动提醒过，不再重复；如需再次提醒请发 /报送 催办 {a.ret.id} 强制" in out[0]["text"]
    out = await say(app, core, group_msg(f"/报送 催办 {a.ret.id} 强制", ADMIN))
    assert any(o["text"].startswith(f"【报送逾期】{a.ret.label}") and o["ats"] for o in _group(out))
    clock.freeze(datetime(2026, 12, 8, 9, 20, tzinfo=TZ))  # half an hour on, a 催办 goes out as usual
    out = await say(app, core, group_msg(f"/报送 催办 {b.ret.id}", ADMIN))
    assert any(o["text"].startswith(f"【报送催办】{b.ret.label}") for o in _group(out))
    core.outbox.detach()


async def test_a_broadcast_nudge_right_after_its_reminder_says_so(app: NBApp, core: App) -> None:
    await world(core)
    await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 3天后", ADMIN))
    core.outbox.attach(_sender)
    clock.freeze(NOW + timedelta(days=2, minutes=1))
    assert await core.reminders.tick() == 1
    await sent(core)
    clock.freeze(NOW + timedelta(days=2, minutes=1, seconds=20))
    out = await say(app, core, group_msg("/统发 催办 1", ADMIN))
    assert len(out) == 1 and "刚刚已自动提醒过，不再重复；如需再次提醒请发 /统发 催办 1 强制" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 催办 强制", ADMIN))
    assert any(o["text"].startswith("【统发催办 #1】") for o in _group(out))
    core.outbox.detach()
