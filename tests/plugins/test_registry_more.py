"""Every command of units and registration through NoneBot's handlers (nonebug), real-client payloads, /未绑定, leaving, help."""

from __future__ import annotations

from typing import Any

import pytest
from nonebot.adapters.onebot.v11 import Adapter, Bot, Event
from nonebot.adapters.onebot.v11.exception import ActionFailed
from nonebug import App as NBApp

from bot.app import App
from bot.roster import import_file
from tests.conftest import ROSTER, say, sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg
from tests.fixtures import load

OP = 20001
OP2 = 20002
OTHER = 20003
SELF = 10000


def event_of(name: str, **over: Any) -> Event:
    """A fixture payload parsed the way the adapter parses what the client sends."""
    event = Adapter.json_to_event(load(name, **over))
    assert event is not None, name
    return event


async def say_api(nb: NBApp, app: App, event: object, calls: list[tuple[str, dict, Any, Exception | None]]) -> list:
    """Like `say`, answering the API calls the handler is expected to make, in order."""
    async with nb.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=str(SELF))
        for api, data, result, exc in calls:
            ctx.should_call_api(api, data, result, exception=exc)
        await bot.handle_event(event)  # type: ignore[arg-type]
    return await sent(app)


async def bind(core: App, user: int, unit: str, group: int | None = GROUP, name: str = "") -> None:
    a, _ = await core.units.registrations.apply(str(user), name or f"用户{user}", str(group) if group else None, unit)
    [d] = await core.units.registrations.approve([a.id], actor=str(ADMIN))
    assert d.ok


@pytest.fixture
async def zzu(core: App) -> App:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    return core


# ---------------------------------------------------------------- /注册


async def test_register_by_full_width_slash_and_alias(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("／注册 郑大", OP, card="郑大-张三"))
    assert out[0]["ats"] == [str(OP)] and "#1" in out[0]["text"] and "郑州大学" in out[0]["text"]
    [pending] = await zzu.units.registrations.pending()
    assert (pending.user_name, pending.group_id) == ("郑大-张三", str(GROUP))


async def test_register_twice_says_it_is_pending(app: NBApp, zzu: App) -> None:
    await say(app, zzu, group_msg("/注册 郑大", OP))
    out = await say(app, zzu, group_msg("/注册 郑州大学", OP))
    assert "已在审核中" in out[0]["text"] and "#1" in out[0]["text"]
    assert len(await zzu.units.registrations.pending()) == 1


async def test_register_a_new_unit_with_a_quoted_name(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/注册 “郑州 第一百中学” 高中 郑州", OP))
    assert "新单位“郑州 第一百中学”（高中，郑州）" in out[0]["text"]
    out = await say(app, zzu, group_msg("/审核", ADMIN))
    assert "【新单位：高中，郑州】" in out[-1]["text"] and out[-1]["target"] == ("private", str(ADMIN))
    out = await say(app, zzu, group_msg("/审核 通过 1", ADMIN))
    assert any("已通过 #1" in o["text"] for o in out)
    assert (await zzu.units.resolve("郑州 第一百中学")).category == "高中"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/注册", "请写出单位名称"),
        ("/注册 某某新学校", "请同时写出类别和地市"),
        ("/注册 某某新学校 培训机构 郑州", "不认识单位类别"),
        ("/注册 a b c d", "参数太多"),
        ("/注册 “郑州 第一百中学 高中", "引号"),
        ("/注册 火星", "请同时写出类别和地市"),
    ],
)
async def test_register_errors(app: NBApp, zzu: App, text: str, expected: str) -> None:
    out = await say(app, zzu, group_msg(text, OP))
    assert len(out) == 1 and expected in out[0]["text"]
    assert await zzu.units.registrations.pending() == []


async def test_register_when_already_bound(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    out = await say(app, zzu, group_msg("/注册 河南大学", OP))
    assert "已是“郑州大学”的联络员" in out[0]["text"] and "/解绑" in out[0]["text"]


async def test_register_ambiguous_in_the_roster(app: NBApp, core: App) -> None:
    await import_file(core.units, ROSTER)
    out = await say(app, core, group_msg("/注册 河南科技", OP))
    assert "河南科技大学" in out[0]["text"] and "河南科技学院" in out[0]["text"]
    assert await core.units.registrations.pending() == []
    out = await say(app, core, group_msg("/注册 hndx", OP))
    assert "河南大学" in out[0]["text"] and "#1" in out[0]["text"]


# ---------------------------------------------------------------- /审核


async def test_review_lists_and_approves_several(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/审核", ADMIN))
    assert "没有待审核的注册申请" in out[0]["text"]
    await say(app, zzu, group_msg("/注册 郑大", OP, card="张三"))
    await say(app, zzu, private_msg("/注册 河南大学", OP2, nickname="李四"))  # unknown in private: ignored
    assert len(await zzu.units.registrations.pending()) == 1
    await say(app, zzu, group_msg("/注册 河南大学", OP2, card="李四"))
    out = await say(app, zzu, group_msg("/审核", ADMIN))  # issue 21.8: the list (with QQ ids) goes privately
    group, private = out
    assert group["target"] == ("group", str(GROUP)) and group["ats"] == [str(ADMIN)]
    assert group["text"].endswith("待审核的注册申请 2 个，名单已私聊发给你。") and "20001" not in group["text"]
    assert private["target"] == ("private", str(ADMIN)) and "待审核的注册申请 2 个" in private["text"]
    assert "#1 张三（20001）申请 郑州大学" in private["text"] and "#2 李四（20002）申请 河南大学" in private["text"]
    out = await say(app, zzu, group_msg("/审核 通过 1 2", ADMIN))
    (reply,) = out  # one message for the admin and both applicants
    assert reply["ats"] == [str(ADMIN), str(OP), str(OP2)] and reply["target"] == ("group", str(GROUP))
    assert "已通过 #1" in reply["text"] and "已通过 #2" in reply["text"]
    assert (await zzu.units.registrations.operator(OP2))[1].name == "河南大学"  # type: ignore[index]


async def test_reject_with_reason_tells_the_applicant(app: NBApp, zzu: App) -> None:
    await say(app, zzu, group_msg("/注册 郑大", OP))
    out = await say(app, zzu, group_msg("/审核 驳回 1 不是本单位人员", ADMIN))
    notice = next(o for o in out if o["ats"] == [str(OP)])
    assert "未通过" in notice["text"] and "不是本单位人员" in notice["text"]
    reply = next(o for o in out if o["ats"] == [str(ADMIN)])
    assert "已驳回 #1" in reply["text"]
    assert await zzu.units.registrations.operator(OP) is None
    out = await say(app, zzu, group_msg("/审核 通过 1", ADMIN))
    assert "#1 未通过" in out[0]["text"]


async def test_applicant_from_a_private_chat_is_told_privately(app: NBApp, zzu: App) -> None:
    await zzu.units.registrations.apply(str(OP), "张三", None, "郑州大学")
    out = await say(app, zzu, private_msg("/审核 通过 1", ADMIN))
    targets = {o["target"] for o in out}
    assert targets == {("private", str(ADMIN)), ("private", str(OP))}
    assert all(o["ats"] == [] for o in out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/审核 通过", "请写出要通过的申请编号"),
        ("/审核 通过 abc", "申请编号应是数字"),
        ("/审核 通过 1 abc", "申请编号应是数字"),
        ("/审核 通过 99999999999", "申请编号应是数字"),
        ("/审核 驳回", "请写出要驳回的申请编号"),
        ("/审核 驳回 x 理由", "申请编号应是数字"),
        ("/审核 驳回 7", "没有编号为 7 的注册申请"),
        ("/审核 随便", "用法：/审核"),
    ],
)
async def test_review_errors(app: NBApp, zzu: App, text: str, expected: str) -> None:
    await say(app, zzu, group_msg("/注册 郑大", OP))
    out = await say(app, zzu, group_msg(text, ADMIN))
    assert len(out) == 1 and expected in out[0]["text"]
    assert await zzu.units.registrations.operator(OP) is None
    assert len(await zzu.units.registrations.pending()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "/审核",
        "/审核 驳回 1",
        "/单位 添加 新学校 高中 郑州",
        "/单位 别名 郑州大学 zzu",
        "/单位 改名 郑州大学 郑州大学2",
        "/单位 删除 郑州大学",
        "/未绑定",
    ],
)
async def test_admin_commands_are_refused_to_others(app: NBApp, zzu: App, text: str) -> None:
    await say(app, zzu, group_msg("/注册 郑大", OP))
    out = await say(app, zzu, group_msg(text, OTHER))
    assert len(out) == 1 and "只有管理员" in out[0]["text"]
    assert len(await zzu.units.all()) == 2
    assert (await zzu.units.resolve("郑州大学")).aliases == ("郑大",)
    assert len(await zzu.units.registrations.pending()) == 1


# ---------------------------------------------------------------- /我的单位 and /解绑


async def test_my_unit(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/我的单位", OP))
    assert "还没有绑定单位" in out[0]["text"] and "/注册" in out[0]["text"]
    await bind(zzu, OP, "郑州大学", name="张三")
    await bind(zzu, OP2, "郑州大学", name="李四")
    await zzu.accounts.file_opening(str(OP), "张三", "微信", "郑州大学")
    out = await say(app, zzu, group_msg("/我的单位", OP))
    text = out[0]["text"]
    assert "你是“郑州大学”的联络员" in text
    assert "本科高校" in text and "郑州" in text and "郑大" in text
    assert "联络员（2）：张三、李四" in text
    assert "微信公众号“郑州大学”（备案审核中）" in text
    assert "待审核备案：#1 开设" in text


async def test_unbind_and_the_admins_are_told_about_the_last_operator(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    await bind(zzu, OP2, "郑州大学")
    # issue 21.15: /解绑 acted without asking; it now says what it means and waits for /解绑 确认
    out = await say(app, zzu, group_msg("/解绑", OP))
    assert "确定解绑请发 /解绑 确认" in out[0]["text"] and "“郑州大学”" in out[0]["text"]
    assert await zzu.units.registrations.operator(OP) is not None
    out = await say(app, zzu, group_msg("/解绑 确认", OP))
    assert [o["target"] for o in out] == [("group", str(GROUP))]
    assert "不再是“郑州大学”的联络员" in out[0]["text"]
    out = await say(app, zzu, group_msg("/解绑 确认", OP2, card="李四"))
    admin_note = [o for o in out if o["target"] == ("private", str(ADMIN))]
    assert len(admin_note) == 1 and "最后一位联络员" in admin_note[0]["text"] and "郑州大学" in admin_note[0]["text"]
    out = await say(app, zzu, group_msg("/解绑", OP2))
    assert "还没有绑定任何单位" in out[0]["text"]
    out = await say(app, zzu, group_msg("/解绑 郑州大学", OP2))
    assert "发 /解绑 确认" in out[0]["text"]


# ---------------------------------------------------------------- /单位


async def test_unit_add_alias_rename_delete(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/单位 添加 “郑州市 第九中学” 高中 郑州", ADMIN))
    assert "已添加单位“郑州市 第九中学”（高中，郑州）" in out[0]["text"]
    out = await say(app, zzu, group_msg("/单位 添加 郑州大学 本科高校", ADMIN))
    assert "已经存在" in out[0]["text"]
    out = await say(app, zzu, group_msg("/单位 别名 郑州大学 zzu 郑大", ADMIN))
    assert "已为“郑州大学”添加简称：zzu" in out[0]["text"]
    out = await say(app, zzu, group_msg("/单位 别名 郑州大学 郑大", ADMIN))
    assert "没有变化" in out[0]["text"]
    out = await say(app, zzu, group_msg("/单位 别名 河南大学 郑大", ADMIN))
    assert "已属于“郑州大学”" in out[0]["text"]
    out = await say(app, zzu, group_msg("/单位 改名 河南大学 河南大学（本部）", ADMIN))
    assert "已把“河南大学”改名为“河南大学（本部）”" in out[0]["text"]
    assert (await zzu.units.resolve("河南大学")).name == "河南大学（本部）"
    await bind(zzu, OP, "郑州大学")
    out = await say(app, zzu, group_msg("/单位 删除 郑大", ADMIN))
    assert "已删除单位“郑州大学”，1 位联络员已解绑" in out[0]["text"]
    assert await zzu.units.registrations.operator(OP) is None
    out = await say(app, zzu, group_msg("/单位 郑州大学", OP))
    assert "没有找到单位" in out[0]["text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/单位 添加", "用法：/单位 添加"),
        ("/单位 添加 新学校", "用法：/单位 添加"),
        ("/单位 添加 新学校 高中 郑州 多余", "用法：/单位 添加"),
        ("/单位 添加 新学校 培训机构", "不认识单位类别"),
        ("/单位 别名 郑州大学", "用法：/单位 别名"),
        ("/单位 别名 火星大学 hx", "没有找到单位"),
        ("/单位 改名 郑州大学", "用法：/单位 改名"),
        ("/单位 改名 郑州大学 河南大学", "已经存在"),
        ("/单位 删除", "用法：/单位 删除"),
        ("/单位 删除 火星大学", "没有找到单位"),
    ],
)
async def test_unit_admin_errors(app: NBApp, zzu: App, text: str, expected: str) -> None:
    out = await say(app, zzu, group_msg(text, ADMIN))
    assert len(out) == 1 and expected in out[0]["text"]
    assert [u.name for u in await zzu.units.all()] == ["郑州大学", "河南大学"]


async def test_unit_list_filters_and_is_cut_in_the_group(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/单位 列表", OP))
    assert "名册里还没有单位" in out[0]["text"]
    await import_file(core.units, ROSTER)
    n = len(await core.units.all())
    out = await say(app, core, group_msg("/单位 列表", OP))  # folded whole, or cut where forwards are unknown
    assert f"全部单位共 {n} 个" in out[0]["fallback"] and f"另有 {n - 30} 条未列出" in out[0]["fallback"]
    folded = "\n".join(out[0]["nodes"])
    assert folded.lstrip().startswith(f"全部单位共 {n} 个") and all(
        f"{u.name}（" in folded for u in await core.units.all()
    )
    out = await say(app, core, group_msg("/单位", OP))
    assert f"全部单位共 {n} 个" in out[0]["fallback"]
    out = await say(app, core, private_msg("/单位 列表", ADMIN))  # whole in private (maybe in several messages)
    whole = "".join(o["text"] for o in out)
    assert all(o["target"] == ("private", str(ADMIN)) for o in out)
    assert "另有" not in whole and all(f"{u.name}（" in whole for u in await core.units.all())
    out = await say(app, core, group_msg("/单位 列表 本科高校", OP))
    assert out[0]["fallback"].startswith(" 本科高校共") and "郑州大学（本科高校，郑州）" in out[0]["fallback"]
    out = await say(app, core, group_msg("/单位 列表 郑州市", OP))
    shown = out[0]["fallback"] or out[0]["text"]
    assert "郑州市共" in shown and "开封" not in shown
    out = await say(app, core, group_msg("/单位 列表 火星", OP))
    assert "没有类别或地市“火星”" in out[0]["text"]


async def test_unit_card_and_ambiguity(app: NBApp, core: App) -> None:
    await import_file(core.units, ROSTER)
    await bind(core, OP, "郑州大学", name="张三")
    out = await say(app, core, group_msg("/单位 郑大", OTHER))
    assert "“郑州大学”" in out[0]["text"] and "联络员（1）：张三" in out[0]["text"]
    out = await say(app, core, group_msg("/单位 河南科技", OTHER))
    assert "河南科技大学" in out[0]["text"] and "河南科技学院" in out[0]["text"] and "完整名称" in out[0]["text"]


async def test_cq_code_in_a_name_never_becomes_an_at_all(app: NBApp, zzu: App) -> None:
    await say(app, zzu, group_msg("/注册 [CQ:at,qq=all] 高中 郑州", OP))
    out = await say(app, zzu, group_msg("/审核 通过 1", ADMIN))
    for o in out:
        assert "all" not in o["ats"]
        assert all(s["type"] in ("text", "at") for s in o["segments"])
    assert any("[CQ:at,qq=all]" in o["text"] for o in out)
    out = await say(app, zzu, group_msg("/我的单位", OP))
    assert "all" not in out[0]["ats"] and "[CQ:at,qq=all]" in out[0]["text"]


# ---------------------------------------------------------------- /未绑定


MEMBERS = [
    {"group_id": GROUP, "user_id": SELF, "nickname": "联盟助手", "card": "", "role": "admin"},
    {"group_id": GROUP, "user_id": ADMIN, "nickname": "新闻办", "card": "新闻办-王", "role": "owner"},
    {"group_id": GROUP, "user_id": OP, "nickname": "张三", "card": "郑大-张三", "role": "member"},
    {"group_id": GROUP, "user_id": OTHER, "nickname": "王五", "card": "", "role": "member", "title": ""},
]


async def test_unbound_lists_members_and_units_without_operators(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    await bind(zzu, OP2, "河南大学")  # bound, but not in the group
    out = await say_api(
        app, zzu, group_msg("/未绑定", ADMIN), [("get_group_member_list", {"group_id": GROUP}, MEMBERS, None)]
    )
    group, private = out  # issue 21.8: members with QQ ids go to the admin privately, one line in the group
    assert group["target"] == ("group", str(GROUP)) and "已私聊发给你" in group["text"]
    assert "20003" not in group["text"] and "王五" not in group["text"] and "河南大学" not in group["text"]
    assert private["target"] == ("private", str(ADMIN))
    text = private["text"]
    assert "群成员 3 人，未绑定单位 1 人" in text and "王五（20003）" in text
    assert "郑大-张三" not in text and "新闻办" not in text and "联盟助手" not in text
    assert "群里没有联络员的单位 1 个" in text and "河南大学" in text


async def test_unbound_in_a_private_chat_asks_every_alliance_group(app: NBApp, zzu: App) -> None:
    out = await say_api(
        app, zzu, private_msg("/未绑定", ADMIN), [("get_group_member_list", {"group_id": GROUP}, MEMBERS, None)]
    )
    assert out[0]["target"] == ("private", str(ADMIN))
    assert "未绑定单位 2 人" in out[0]["text"] and "没有联络员的单位 2 个" in out[0]["text"]


async def test_unbound_when_the_client_fails(app: NBApp, zzu: App) -> None:
    failure = ActionFailed(status="failed", retcode=1200, message="timeout", data=None)
    out = await say_api(
        app, zzu, group_msg("/未绑定", ADMIN), [("get_group_member_list", {"group_id": GROUP}, None, failure)]
    )
    assert "暂时取不到群成员列表" in out[0]["text"]


# ---------------------------------------------------------------- leaving the group


async def test_leaving_the_group_unbinds_and_tells_admins_about_the_last_operator(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    await bind(zzu, OP2, "郑州大学")
    out = await say(app, zzu, event_of("group_decrease", user_id=OP2))
    assert out == []
    assert await zzu.units.registrations.operator(OP2) is None
    out = await say(app, zzu, event_of("group_decrease", user_id=OP, sub_type="kick", operator_id=ADMIN))
    assert await zzu.units.registrations.operator(OP) is None
    assert [o["target"] for o in out] == [("private", str(ADMIN))]
    assert "郑州大学" in out[0]["text"] and "没有联络员" in out[0]["text"]
    # someone bound to nothing leaving changes nothing and says nothing
    assert await say(app, zzu, event_of("group_decrease", user_id=OTHER)) == []


async def test_leaving_another_group_keeps_the_binding(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    assert await say(app, zzu, event_of("group_decrease", user_id=OP, group_id=555)) == []
    assert await zzu.units.registrations.operator(OP) is not None


# ---------------------------------------------------------------- real-client payloads


async def test_array_message_with_a_negative_id_past_int32_and_an_empty_card(app: NBApp, zzu: App) -> None:
    event = event_of("group_message_array")
    assert event.message_id < -(2**31)  # type: ignore[attr-defined]
    out = await say(app, zzu, event)
    assert out and out[0]["target"] == ("group", str(GROUP)) and "/注册" in out[0]["text"]
    event = event_of("group_message_array", message=[{"type": "text", "data": {"text": "/注册 郑大"}}])
    await say(app, zzu, event)
    [pending] = await zzu.units.registrations.pending()
    assert pending.user_name == "张三"  # the empty card falls back to the nickname


async def test_string_message_with_escaped_cq_code_stays_text(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, event_of("group_message_string"))
    assert "已添加单位“[CQ:at,qq=all]”" in out[0]["text"]
    assert out[0]["ats"] == [str(ADMIN)]
    assert await zzu.units.find("[CQ:at,qq=all]") is not None


async def test_reply_and_at_bot_before_a_command(app: NBApp, zzu: App) -> None:
    quoted = {
        "time": 1763452900,
        "message_type": "group",
        "message_id": -2147489321,
        "real_id": 88239,
        "sender": {"user_id": SELF, "nickname": "联盟助手", "card": ""},
        "message": [{"type": "text", "data": {"text": "已添加单位"}}],
    }
    event = event_of("group_message_reply_at")
    out = await say_api(app, zzu, event, [("get_msg", {"message_id": -2147489321}, quoted, None)])
    assert out and "郑州大学" in out[0]["text"] and "#1" in out[0]["text"]
    [pending] = await zzu.units.registrations.pending()
    assert pending.user_name == "郑大-张三"


async def test_private_message_from_an_admin(app: NBApp, zzu: App) -> None:
    event = event_of("private_message")
    assert event.message_id < -(2**31)  # type: ignore[attr-defined]
    out = await say(app, zzu, event)
    assert out[0]["target"] == ("private", str(ADMIN)) and "没有待审核的注册申请" in out[0]["text"]


async def test_private_message_from_a_stranger_is_ignored(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, event_of("private_message", user_id=OTHER, sender={"user_id": OTHER, "nickname": "x"}))
    assert out == []


# ---------------------------------------------------------------- /帮助


async def test_help_for_a_plain_member(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/帮助", OTHER))
    text = out[0]["text"]
    assert out[0]["ats"] == []
    assert "群成员（还没绑定单位）" in text
    for cmd in ("/帮助", "/注册", "/单位", "/账号"):
        assert cmd in text
    for cmd in ("/审核", "/备案", "/未绑定", "/我的单位", "/解绑", "/发送记录"):
        assert cmd + " " not in text
    assert "/注册 <单位名称>" in text


async def test_help_for_an_operator(app: NBApp, zzu: App) -> None:
    await bind(zzu, OP, "郑州大学")
    text = (await say(app, zzu, group_msg("/帮助", OP)))[0]["text"]
    assert "“郑州大学”的联络员" in text
    assert "/我的单位" in text and "/解绑" in text
    assert "/审核 " not in text and "/未绑定" not in text


async def test_help_for_an_admin(app: NBApp, zzu: App) -> None:
    text = (await say(app, zzu, group_msg("/帮助", ADMIN)))[0]["text"]
    assert "你是省级管理员" in text
    for cmd in ("/注册", "/审核", "/备案", "/未绑定", "/单位", "/账号", "/发送记录"):
        assert cmd in text


async def test_help_on_one_command_and_an_unknown_one(app: NBApp, zzu: App) -> None:
    text = (await say(app, zzu, group_msg("/帮助 注册", OTHER)))[0]["text"]
    assert "【/注册】" in text and "例：" in text
    text = (await say(app, zzu, group_msg("/帮助 /审核", ADMIN)))[0]["text"]
    assert "【/审核】" in text
    text = (await say(app, zzu, group_msg("/帮助 /审核", OTHER)))[0]["text"]  # an admin's command, not explained
    assert "是市级管理员的命令" in text and "/审核 通过" not in text
    text = (await say(app, zzu, group_msg("/帮助 飞行", OTHER)))[0]["text"]
    assert "没有命令“飞行”" in text and "/帮助" in text


# ---------------------------------------------------------------- the outbox's way out (plugins/system)


async def test_sender_maps_the_clients_answers(app: NBApp, zzu: App) -> None:
    from nonebot.adapters.onebot.v11.exception import ApiNotAvailable, NetworkError

    from bot.outbox.records import NotSent, SendFailed, SendUnknown
    from plugins.system import make_sender

    segs = [{"type": "text", "data": {"text": "你好"}}]
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id=str(SELF))
        send = make_sender(bot)
        ctx.should_call_api("send_group_msg", {"group_id": GROUP, "message": segs}, {"message_id": -3_000_000_001})
        assert await send("group", str(GROUP), segs) == "-3000000001"
        ctx.should_call_api("send_private_msg", {"user_id": OP, "message": segs}, {"message_id": 5})
        assert await send("private", str(OP), segs) == "5"
        failure = ActionFailed(status="failed", retcode=100, message="发送失败", data=None)
        ctx.should_call_api("send_group_msg", {"group_id": GROUP, "message": segs}, exception=failure)
        with pytest.raises(SendFailed):
            await send("group", str(GROUP), segs)
        ctx.should_call_api(
            "send_group_msg", {"group_id": GROUP, "message": segs}, exception=NetworkError("call api timeout")
        )
        with pytest.raises(SendUnknown):
            await send("group", str(GROUP), segs)
        ctx.should_call_api("send_group_msg", {"group_id": GROUP, "message": segs}, exception=ApiNotAvailable())
        with pytest.raises(NotSent):
            await send("group", str(GROUP), segs)


async def test_send_problems_are_shown_to_admins_only(app: NBApp, zzu: App) -> None:
    out = await say(app, zzu, group_msg("/发送记录", ADMIN))
    assert "最近没有发送失败" in out[0]["text"]
    async with zzu.db.tx() as tx:
        await tx.run(
            "INSERT INTO outbox (target_type, target_id, message, state, error, created_at) VALUES "
            '(\'group\', ?, \'[{"type": "text", "data": {"text": "统发通知"}}]\', \'unknown\', \'timeout\', '
            "'2026-11-18T02:00:00')",
            (str(GROUP),),
        )
    assert [o["text"] for o in await sent(zzu)] == ["统发通知"]  # (read past the row just written)
    out = await say(app, zzu, group_msg("/发送记录", ADMIN))
    assert "不确定是否送达" in out[0]["text"] and "统发通知" in out[0]["text"]
    out = await say(app, zzu, group_msg("/发送记录", OTHER))
    assert "只有管理员" in out[0]["text"]


async def test_approving_24_applicants_is_one_message_per_batch_of_mentions(app: NBApp, zzu: App) -> None:
    """Issue 13 item 21: `/审核 通过` of 24 applicants posted 25 group messages."""
    await import_file(zzu.units, ROSTER)
    names = [u.name for u in await zzu.units.all()][:24]
    for i, name in enumerate(names):
        await say(app, zzu, group_msg(f"/注册 {name}", 30000 + i, card=f"联络员{i}"))
    out = await say(app, zzu, group_msg("/审核 通过 " + " ".join(str(i) for i in range(1, 25)), ADMIN))
    assert all(o["target"] == ("group", str(GROUP)) for o in out)
    assert len(out) == 2  # 24 people and the admin, at most 20 @ per message
    assert all(len(o["ats"]) <= zzu.settings.alliance_at_batch for o in out)
    assert [qq for o in out for qq in o["ats"]] == [str(ADMIN)] + [str(30000 + i) for i in range(24)]
    assert "已通过 24 个注册申请（1/2）" in out[0]["text"] and "（2/2）" in out[1]["text"]


async def test_a_one_character_typo_is_answered_with_the_near_unit(app: NBApp, zzu: App) -> None:
    """Issue 21.11: `/注册 黄河水力职业技术学院` found nothing and advised a new-unit application."""
    await zzu.units.add("黄河水利职业技术学院", "高职高专", "开封", actor="t")
    out = await say(app, zzu, group_msg("/注册 黄河水力职业技术学院", OP))
    assert "你是不是要注册“黄河水利职业技术学院”" in out[0]["text"] and "/注册 黄河水利职业技术学院" in out[0]["text"]
    assert "高中 郑州" not in out[0]["text"]  # no advice to apply for a new unit
    assert await zzu.units.registrations.pending() == []
    # other commands name the near unit too
    out = await say(app, zzu, group_msg("/查询 黄河水力职业技术学院", OP))
    assert "“黄河水利职业技术学院”" in out[0]["text"]
    # two typos in a long name, another character slipped
    for typed in ("黄河水力职业技木学院", "黄河水利职亚技术学院"):
        out = await say(app, zzu, group_msg(f"/注册 {typed}", OP))
        assert "你是不是要注册“黄河水利职业技术学院”" in out[0]["text"], typed


async def test_a_new_unit_that_looks_like_one_in_the_roster_is_flagged_to_the_admin(app: NBApp, zzu: App) -> None:
    """Issue 21.11: following the advice applied for a new unit next to 黄河水利职业技术学院."""
    await zzu.units.add("黄河水利职业技术学院", "高职高专", "开封", actor="t")
    out = await say(app, zzu, group_msg("/注册 黄河水力职业技术学院 高职高专 开封", OP))
    assert "申请编号 #1" in out[0]["text"] and "名册里有相近的“黄河水利职业技术学院”" in out[0]["text"]
    out = await say(app, zzu, private_msg("/审核", ADMIN))
    assert "⚠与名册里的“黄河水利职业技术学院”只差一两个字" in out[0]["text"]
    # a new unit with no look-alike is not flagged
    await say(app, zzu, group_msg("/注册 郑州市第九中学 高中 郑州", OP2))
    out = await say(app, zzu, private_msg("/审核", ADMIN))
    assert out[0]["text"].count("⚠") == 1
