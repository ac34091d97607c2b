"""/统发, /已转发 and reply confirmations through NoneBot's handlers (nonebug)."""

from __future__ import annotations

import itertools

from nonebot.adapters.onebot.v11 import Bot, MessageSegment
from nonebot.adapters.onebot.v11.exception import ActionFailed
from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say, sent
from tests.fake import ADMIN, GROUP, group_msg, private_msg

OP1, OP2, OP3, OP4 = 20001, 20002, 20003, 20004
STRANGER = 29999
LINK = "https://mp.weixin.qq.com/s/abc"


async def seed(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    await core.units.add("开封市教育局", "市教育局", "开封", actor="t")
    for uid, unit in ((OP1, "郑州大学"), (OP2, "郑州大学"), (OP3, "河南大学"), (OP4, "郑州市教育局")):
        a, _ = await core.units.registrations.apply(uid, f"联络员{uid}", str(GROUP), unit)
        await core.units.registrations.approve([a.id], actor=str(ADMIN))


_given = itertools.count()


async def deliver(core: App) -> list[str]:
    """Send what is queued to a fake client (negative ids past int32, never the same one twice, as real clients),
    as the outbox worker does."""
    ids: list[str] = []

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        ids.append(str(-2_147_483_649 - 7919 * next(_given)))
        return ids[-1]

    core.outbox.attach(sender)
    await core.outbox.start()
    await core.outbox.wait_idle(10)
    await core.outbox.stop()
    core.outbox.detach()
    return ids


async def say_reply(
    app: NBApp, core: App, event: object, mid: str, *, resolved: bool, quoted_text: str = "【一键统发】"
) -> list[dict]:
    """Like `say`, with the adapter's `get_msg` for the quoted message failing (as real clients do) or answering."""
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        if resolved:
            quoted = {
                "time": 0,
                "message_type": "group",
                "message_id": int(mid),
                "real_id": 1,
                "sender": {"user_id": 10000, "nickname": "联盟助手"},
                "message": [{"type": "text", "data": {"text": quoted_text}}],
            }
            ctx.should_call_api("get_msg", {"message_id": int(mid)}, result=quoted)
        else:
            failure = ActionFailed(status="failed", retcode=1200, msg="leveldb: not found")
            ctx.should_call_api("get_msg", {"message_id": int(mid)}, exception=failure)
        await bot.handle_event(event)  # type: ignore[arg-type]
    return await sent(core)


async def announce(app: NBApp, core: App, title: str = "学习全国教育大会精神", extra: str = "") -> list[str]:
    """Create a task as the admin; returns the message ids of its announcement(s)."""
    out = await say(app, core, group_msg(f"/统发 {title} {LINK} 截止 3天后 {extra}".strip(), ADMIN))
    assert any("已发布统发" in o["text"] for o in out), out
    await deliver(core)
    (latest,) = await core.broadcasts.listing(include_closed=True, limit=1)
    return await core.broadcasts.posts.announcement_ids(latest.task.id)


async def test_admin_creates_and_the_group_gets_the_announcement(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(
        app, core, group_msg(f"/统发 “学习 大会精神” {LINK} 截止 3天后 要求 转发,点赞 范围 本科高校", ADMIN)
    )
    note = next(o for o in out if "【一键统发 #1】" in o["text"])
    assert note["target"] == ("group", str(GROUP)) and note["ats"] == []
    assert "学习 大会精神" in note["text"] and LINK in note["text"] and "转发、点赞" in note["text"]
    assert "本科高校（共 2 个单位）" in note["text"] and "/已转发 1" in note["text"]
    reply = next(o for o in out if "已发布统发 #1" in o["text"])
    assert reply["ats"] == [str(ADMIN)] and "2 个单位" in reply["text"]


async def test_only_admins_create_and_nothing_is_created_otherwise(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg(f"/统发 标题 {LINK}", OP1))
    assert len(out) == 1 and "只有管理员" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 列表", ADMIN))
    assert "没有进行中的统发" in out[0]["text"]


async def test_bad_deadline_or_link_is_refused_with_what_to_type(app: NBApp, core: App) -> None:
    await seed(core)
    for text, expect in (
        (f"/统发 标题 {LINK} 截止 昨天", "明天18点"),
        (f"/统发 标题 {LINK} 截止 2020-01-01 18:00", "已经过去"),
        ("/统发 标题 ftp://example.com/x", "http"),
        ("/统发 标题 mp.weixin.qq.com/s/abc", "https://"),
    ):
        out = await say(app, core, group_msg(text, ADMIN))
        assert len(out) == 1 and expect in out[0]["text"], (text, out)
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcasts") == 0


async def test_confirm_by_command_counts_once_per_unit(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    out = await say(app, core, group_msg("/已转发", OP1))
    assert out[0]["ats"] == [str(OP1)] and "已记录：郑州大学 完成统发 #1" in out[0]["text"]
    out = await say(app, core, group_msg("/已转发 1 https://weibo.com/p/1", OP2))
    assert "已由 用户20001" in out[0]["text"] and "只计一次" in out[0]["text"] and "证明已保存" in out[0]["text"]
    assert "已记录" not in out[0]["text"]
    out = await say(app, core, group_msg("/统发 进度", OP3))
    assert "已完成 1/4（25.0%）" in out[0]["text"]


async def test_unbound_user_is_told_how_to_register(app: NBApp, core: App) -> None:
    await seed(core)
    ids = await announce(app, core)
    out = await say(app, core, group_msg("/已转发", STRANGER))
    assert "/注册" in out[0]["text"] and "没有计数" in out[0]["text"]
    out = await say_reply(app, core, group_msg("已转发", STRANGER, reply_to=int(ids[0])), ids[0], resolved=False)
    assert "/注册" in out[0]["text"]
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcast_confirmations") == 0


async def test_reply_with_at_bot_confirms_even_when_the_client_cannot_resolve_it(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    # what a real client sends: reply, @bot, text; get_msg fails, so the reply segment stays in the message
    msg = MessageSegment.reply(int(mid)) + MessageSegment.at(10000) + MessageSegment.text(" 已转发")
    out = await say_reply(app, core, group_msg(msg, OP1), mid, resolved=False)
    assert len(out) == 1 and "已记录：郑州大学 完成统发 #1" in out[0]["text"]
    # the string form of the id, another confirmation word, an image kept as proof
    img = MessageSegment.image("http://img.example/1.jpg")
    msg = MessageSegment.reply(mid) + MessageSegment.text("已完成！") + img
    out = await say_reply(app, core, group_msg(msg, OP3), mid, resolved=False)
    assert "河南大学" in out[0]["text"] and "证明已保存" in out[0]["text"]
    async with core.db.read() as tx:
        rows = await tx.all("SELECT unit_id, via, proof_image FROM broadcast_confirmations ORDER BY id")
    assert [r["via"] for r in rows] == ["reply", "reply"] and rows[1]["proof_image"]


async def test_reply_resolved_by_the_adapter_confirms_too(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    msg = MessageSegment.reply(int(mid)) + MessageSegment.at(10000) + MessageSegment.text(" 收到")
    assert await say_reply(app, core, group_msg(msg, OP4), mid, resolved=True) == []  # 收到: got the notice
    msg = MessageSegment.reply(int(mid)) + MessageSegment.at(10000) + MessageSegment.text(" 收到，已转发")
    out = await say_reply(app, core, group_msg(msg, OP4), mid, resolved=True)
    assert len(out) == 1 and "已记录：郑州市教育局" in out[0]["text"]
    # a command typed as a reply: the command matcher runs and takes the quoted task
    msg = MessageSegment.reply(int(mid)) + MessageSegment.at(10000) + MessageSegment.text(" /已转发")
    out = await say_reply(app, core, group_msg(msg, OP3), mid, resolved=True)
    assert len(out) == 1 and "已记录：河南大学" in out[0]["text"]
    # and when get_msg fails, the reply matcher takes the command text as a confirmation
    msg = MessageSegment.reply(int(mid)) + MessageSegment.at(10000) + MessageSegment.text(" /已转发")
    out = await say_reply(app, core, group_msg(msg, OP2), mid, resolved=False)
    assert len(out) == 1 and "已记录：郑州大学" in out[0]["text"]
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcast_confirmations WHERE counted=1") == 3


async def test_replies_that_are_not_confirmations_are_left_alone(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    assert await say_reply(app, core, group_msg("好的，收到马上转", OP1, reply_to=int(mid)), mid, resolved=False) == []
    assert await say_reply(app, core, group_msg("已转发", OP1, reply_to=-12345), "-12345", resolved=False) == []
    assert await say_reply(app, core, group_msg("收到", OP1, reply_to=int(mid)), mid, resolved=False) == []
    assert await say(app, core, group_msg("已转发", STRANGER)) == []  # typed without quoting by someone unbound
    assert await say(app, core, group_msg("已转发给领导看看了", OP1)) == []
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcast_confirmations") == 0


async def test_several_open_tasks_ask_which(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core, "甲")
    await announce(app, core, "乙")
    out = await say(app, core, group_msg("/已转发", OP1))
    assert "2 个进行中的统发" in out[0]["text"] and "/已转发 2" in out[0]["text"]
    out = await say(app, core, group_msg("/已转发 2", OP1))
    assert "已记录" in out[0]["text"] and "#2" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 进度", OP1))
    assert "#1「甲」" in out[0]["text"] and "#2「乙」" in out[0]["text"] and "1/4" in out[0]["text"]


async def test_progress_is_cut_in_the_group_and_whole_in_private(app: NBApp, core: App) -> None:
    await seed(core)
    for i in range(40):
        await core.units.add(f"第{i:02d}中学", "高中", "郑州", actor="t")
    await announce(app, core)
    out = await say(app, core, group_msg("/统发 进度 1 全部", OP1))  # the whole list (44 units: else by city)
    text = out[0]["fallback"]  # a client without merged-forward messages gets the cut list
    assert "已完成 0/44（0.0%）" in text and "【高中】40 个" in text
    assert "另有 14 个单位未列出" in text and "第39中学" not in text
    folded = "\n".join(out[0]["nodes"])  # the others the whole list, folded into one message
    assert "已完成 0/44（0.0%）" in folded and "第39中学" in folded and "未列出" not in folded
    out = await say(app, core, private_msg("/统发 进度 1 全部", ADMIN))
    assert out[0]["target"] == ("private", str(ADMIN))
    assert "第39中学" in out[0]["text"] and "未列出" not in out[0]["text"]


async def test_nudge_is_for_admins_and_mentions_only_laggards(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    await say(app, core, group_msg("/已转发", OP1))
    out = await say(app, core, group_msg("/统发 催办", OP3))
    assert len(out) == 1 and "只有管理员" in out[0]["text"] and out[0]["ats"] == [str(OP3)]
    out = await say(app, core, group_msg("/统发 催办 1", ADMIN))
    nudges = [o for o in out if "【统发催办 #1】" in o["text"]]
    assert {qq for o in nudges for qq in o["ats"]} == {str(OP3), str(OP4)}
    summary = next(o for o in out if "已催办" in o["text"])
    assert "3 个单位未完成" in summary["text"] and "名单已私聊发给你" in summary["text"]
    assert "开封市教育局" not in summary["text"]  # the admin's list of units without an operator goes privately
    (private,) = [o for o in out if o["target"] == ("private", str(ADMIN))]
    assert "开封市教育局" in private["text"]


async def test_admin_confirms_on_behalf_lists_closes_and_reads_statistics(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    out = await say(app, core, group_msg("/统发 代确认 1 郑大 河南大学", OP1))
    assert "只有管理员" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 代确认 1 郑大 河南大学", ADMIN))
    assert "已代“郑州大学”确认" in out[0]["text"] and "已代“河南大学”确认" in out[0]["text"]
    out = await say(app, core, group_msg("/已转发 1", ADMIN))
    assert "/统发 代确认" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 列表", ADMIN))
    assert "#1「学习全国教育大会精神」" in out[0]["text"] and "2/4" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 结束 1", OP1))
    assert "只有管理员" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 结束 1", ADMIN))
    assert "最终完成 2/4（50.0%）" in out[0]["text"]
    out = await say(app, core, group_msg("/已转发 1", OP4))
    assert "已结束" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 统计", OP4))
    assert "统发 1 次" in out[0]["text"] and "1. 河南大学 1/1（100.0%）" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 统计 去年", OP4))
    assert "看不懂月份" in out[0]["text"]


async def test_withdraw_recalls_what_it_can_and_tells_the_group(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    out = await say(app, core, group_msg("/统发 撤回 1", OP1))
    assert "只有管理员" in out[0]["text"]
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        ctx.should_call_api("delete_msg", {"message_id": int(mid)}, exception=ActionFailed(retcode=100))
        await bot.handle_event(group_msg("/统发 撤回 1", ADMIN))
    out = await sent(core)
    assert any("【统发撤回】#1" in o["text"] and o["target"] == ("group", str(GROUP)) for o in out)
    # issue 13 item 22: not "原通知撤回了 0/1 条", but what to do next
    (done,) = [o for o in out if "已撤回统发 #1" in o["text"]]
    assert "0/1" not in done["text"] and "1 条没能撤回" in done["text"] and "下一步" in done["text"]
    assert "群管理员" in done["text"] and "撤回" in done["text"]
    out = await say_reply(app, core, group_msg("已转发", OP1, reply_to=int(mid)), mid, resolved=False)
    assert "已撤回" in out[0]["text"]
    out = await say(app, core, group_msg("/统发 统计", OP1))
    assert "没有统发任务" in out[0]["text"]


async def test_help_explains_both_commands(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/帮助 统发", ADMIN))
    assert "/统发 催办" in out[0]["text"] and "明天18点" in out[0]["text"]
    out = await say(app, core, group_msg("/帮助 已转发", ADMIN))
    assert "回复" in out[0]["text"]


async def test_cq_code_in_a_title_stays_plain_text(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg(f"/统发 [CQ:at,qq=all]通知 {LINK} 截止 3天后", ADMIN))
    note = next(o for o in out if "【一键统发 #1】" in o["text"])
    assert "[CQ:at,qq=all]通知" in note["text"] and note["ats"] == []
    assert all(s["type"] == "text" for s in note["segments"])


async def test_reply_to_an_announcement_whose_id_never_came_back_reads_the_task_from_the_quote(
    app: NBApp, core: App
) -> None:
    """A send that timed out was delivered but its id is unknown: the quoted text still names the task."""
    await seed(core)
    await announce(app, core)
    unknown = "-2000012345"
    msg = MessageSegment.reply(int(unknown)) + MessageSegment.at(10000) + MessageSegment.text(" 已转发")
    quoted = "【一键统发 #1】学习全国教育大会精神……完成后回复本消息“已转发”，或发 /已转发 1"
    out = await say_reply(app, core, group_msg(msg, OP1), unknown, resolved=True, quoted_text=quoted)
    assert len(out) == 1 and "已记录：郑州大学 完成统发 #1" in out[0]["text"]
    # a reply 收到 to some other message of the bot is not a confirmation
    msg = MessageSegment.reply(int(unknown)) + MessageSegment.text("收到")
    out = await say_reply(app, core, group_msg(msg, OP3), unknown, resolved=True, quoted_text="已通过 #1")
    assert out == []
