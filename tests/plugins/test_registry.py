"""Registration, review and unit commands through NoneBot's handlers (nonebug)."""

from __future__ import annotations

from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

OP = 20001
OTHER = 20002


async def test_register_then_approve_binds_and_tells_applicant(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    out = await say(app, core, group_msg("/注册 郑大", OP, card="张三"))
    assert out[0]["ats"] == [str(OP)]
    assert "#1" in out[0]["text"] and "郑州大学" in out[0]["text"]
    out = await say(app, core, group_msg("/审核 通过 1", ADMIN))
    texts = {o["target"]: o for o in out}
    notice = texts[("group", str(GROUP))]
    (notice,) = out  # one message: the admin's answer names and @-mentions the applicant
    assert notice["ats"] == [str(ADMIN), str(OP)] and "已通过 #1" in notice["text"] and "郑州大学" in notice["text"]
    assert notice
    bound = await core.units.registrations.operator(OP)
    assert bound is not None and bound[1].name == "郑州大学" and bound[0].name == "张三"


async def test_ambiguous_name_lists_candidates_and_binds_nothing(app: NBApp, core: App) -> None:
    await core.units.add("河南科技大学", "本科高校", "洛阳", actor="t")
    await core.units.add("河南科技学院", "本科高校", "新乡", actor="t")
    out = await say(app, core, group_msg("/注册 河南科技", OP))
    assert "河南科技大学" in out[0]["text"] and "河南科技学院" in out[0]["text"]
    assert await core.units.registrations.pending() == []


async def test_non_admin_cannot_approve(app: NBApp, core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await say(app, core, group_msg("/注册 郑州大学", OP))
    out = await say(app, core, group_msg("/审核 通过 1", OTHER))
    assert "只有管理员" in out[0]["text"]
    assert await core.units.registrations.operator(OP) is None


async def test_foreign_group_is_ignored(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/帮助", OP, group_id=555))
    assert out == []


async def test_private_chat_from_stranger_is_ignored_but_admin_is_served(app: NBApp, core: App) -> None:
    assert await say(app, core, private_msg("/帮助", 777)) == []
    out = await say(app, core, private_msg("/帮助", ADMIN))
    assert out and out[0]["target"] == ("private", str(ADMIN)) and "/审核" in out[0]["text"]


async def test_cq_code_unit_name_stays_text(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/单位 添加 [CQ:at,qq=all] 高中 郑州", ADMIN))
    assert "[CQ:at,qq=all]" in out[0]["text"]
    assert all(s["type"] in ("text", "at") for s in out[0]["segments"])
    assert "all" not in out[0]["ats"]
    out = await say(app, core, group_msg("/单位 列表", OP))
    assert "all" not in out[0]["ats"] and "[CQ:at,qq=all]" in out[0]["text"]
