"""Reminders and 催办 say how many units owe and how many can be @-mentioned (items 16, 17)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from nonebug import App as NBApp

from bot import clock
from bot.app import App
from bot.roster import import_file
from tests.conftest import ROSTER, say, sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

ZZU, HENU = 20001, 20002
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def world(core: App) -> int:
    clock.freeze(NOW)
    await import_file(core.units, ROSTER)
    for uid, unit in ((ZZU, "郑州大学"), (HENU, "河南大学")):
        a, _ = await core.units.registrations.apply(uid, f"联络员{uid}", str(GROUP), unit)
        await core.units.registrations.approve([a.id], actor=str(ADMIN))
    return len(await core.units.all())


async def test_a_return_reminder_counts_owing_and_mentionable_units(app: NBApp, core: App) -> None:
    total = await world(core)
    await say(app, core, group_msg("/报送 新建 统计表 截止 3天后", ADMIN))

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    core.outbox.attach(sender)  # connected, not started: what the reminder queues stays readable
    clock.freeze(NOW + timedelta(days=2, hours=1))  # the 1-day reminder
    assert await core.reminders.tick() == 1
    out = [o for o in await sent(core) if "【报送提醒】" in o["text"]]
    core.outbox.detach()
    text = "".join(o["text"] for o in out)
    assert f"以下单位（{total} 个）" not in text
    assert f"还有 {total} 个单位没有报送" in text
    assert "其中 2 个单位有联络员" in text and f"另 {total - 2} 个单位没有联络员" in text
    assert {qq for o in out for qq in o["ats"]} == {str(ZZU), str(HENU)}
    assert "河南农业大学" not in text  # units with nobody to @ are counted, not named (issue 21 item 5)


async def test_broadcast_nudge_sends_the_list_of_units_without_an_operator_to_the_admin_privately(
    app: NBApp, core: App
) -> None:
    total = await world(core)
    await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 3天后", ADMIN))
    out = await say(app, core, group_msg("/统发 催办", ADMIN))
    group = [o for o in out if o["target"] == ("group", str(GROUP))]
    private = [o for o in out if o["target"] == ("private", str(ADMIN))]
    summary = next(o for o in group if "已催办" in o["text"])
    assert f"另有 {total - 2} 个单位没有联络员" in summary["text"] and "私聊" in summary["text"]
    assert "河南农业大学" not in summary["text"]
    assert private and "河南农业大学" in "".join(o["text"] for o in private)
    nudges = [o for o in group if "【统发催办" in o["text"]]
    assert f"还有 {total} 个单位未确认" in nudges[0]["text"] and "其中 2 个单位有联络员" in nudges[0]["text"]


async def test_broadcast_progress_marks_units_without_an_operator(app: NBApp, core: App) -> None:
    total = await world(core)
    await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 3天后", ADMIN))
    (out,) = await say(app, core, private_msg("/统发 进度 全部", ZZU))  # the whole text (in the group: a picture)
    assert "郑州大学*" not in out["text"] and "河南大学*" not in out["text"]
    assert f"带 * 的 {total - 2} 个单位没有联络员" in out["text"]
    assert "*" in out["text"].split("\n")[3]
