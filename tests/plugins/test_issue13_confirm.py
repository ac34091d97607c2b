"""Issue 13 items 7, 9, 10 and issue 12 item 2: only done-words confirm, only on the task's own messages;
已转发 typed without quoting; a unit that owes only one of the open tasks."""

from __future__ import annotations

from datetime import timedelta

from nonebot.adapters.onebot.v11 import MessageSegment
from nonebug import App as NBApp

from bot import clock
from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, group_msg
from tests.plugins.test_broadcast_cmds import OP1, OP2, OP3, OP4, STRANGER, announce, deliver, say_reply, seed


async def counted(core: App) -> list[tuple[int, int]]:
    async with core.db.read() as tx:
        rows = await tx.all("SELECT task_id, unit_id FROM broadcast_confirmations WHERE counted=1 ORDER BY id")
    return [(r[0], r[1]) for r in rows]


# ---------------------------------------------------------------- item 7: 收到 is not 已转发


async def test_a_reply_shoudao_to_the_announcement_records_nothing(app: NBApp, core: App) -> None:
    await seed(core)
    (mid,) = await announce(app, core)
    for text in ("收到", "收到！", "收到了", "好的收到", "已收到"):
        out = await say_reply(app, core, group_msg(text, OP1, reply_to=int(mid)), mid, resolved=True)
        assert out == [], text
    assert await counted(core) == []
    for text in ("转发了", "已转发了", "完成了", "收到，已转发"):
        out = await say_reply(app, core, group_msg(text, OP3, reply_to=int(mid)), mid, resolved=False)
        assert out and "河南大学" in out[0]["text"], text
    assert len(await counted(core)) == 1


# ---------------------------------------------------------------- issue 12 item 2: only the task's own messages


async def test_a_reply_to_my_unit_or_help_text_confirms_nothing(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core, "甲")
    await announce(app, core, "乙")
    await announce(app, core, "丙")  # task #3: what the /帮助 example "/已转发 3" names
    mine = await say(app, core, group_msg("/我的单位", OP1))
    helped = await say(app, core, group_msg("/帮助 已转发", OP1))
    assert any("/已转发 3" in o["text"] for o in helped)
    ids = await deliver(core)
    assert len(ids) >= 2
    for text in ("收到", "已转发"):
        for quoted in (mine, helped):
            quoted_text = "\n".join(o["text"] for o in quoted)
            out = await say_reply(
                app, core, group_msg(text, OP1, reply_to=int(ids[-1])), ids[-1], resolved=True, quoted_text=quoted_text
            )
            assert out == [], (text, quoted_text)
            out = await say_reply(app, core, group_msg(text, OP1, reply_to=int(ids[-1])), ids[-1], resolved=False)
            assert out == [], text
    assert await counted(core) == []


async def test_the_private_reminder_text_is_a_tasks_own_message(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    unknown = "-2000054321"
    quoted = "统发 #1「学习全国教育大会精神」你的单位还没有确认，截止 …\n完成后发 /已转发 1"
    out = await say_reply(
        app, core, group_msg("已转发", OP3, reply_to=int(unknown)), unknown, resolved=True, quoted_text=quoted
    )
    assert out and "已记录：河南大学 完成统发 #1" in out[0]["text"]


# ---------------------------------------------------------------- item 9: 已转发 typed without quoting


async def test_bare_yizhuanfa_confirms_the_one_task_the_unit_owes(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    out = await say(app, core, group_msg("已转发", OP1))
    assert len(out) == 1 and "已记录：郑州大学 完成统发 #1" in out[0]["text"]
    out = await say(app, core, group_msg("河南大学已转发", OP3))
    assert "已记录：河南大学 完成统发 #1" in out[0]["text"]
    msg = MessageSegment.at(10000) + MessageSegment.text(" 郑州市教育局已转发了！")
    out = await say(app, core, group_msg(msg, OP4))
    assert "已记录：郑州市教育局" in out[0]["text"]
    assert len(await counted(core)) == 3


async def test_bare_yizhuanfa_from_anyone_else_or_as_chat_is_left_alone(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core)
    assert await say(app, core, group_msg("已转发", STRANGER)) == []
    assert await say(app, core, group_msg("已转发", ADMIN)) == []
    assert await say(app, core, group_msg("河南大学已转发", OP1)) == []  # another unit's name: not for OP1 to say
    assert await say(app, core, group_msg(MessageSegment.at(OP3) + MessageSegment.text(" 已转发"), OP1)) == []
    for chat in ("已转发给领导看看", "我看到有人已转发了吗", "今天天气不错", "收到", "已完成"):
        assert await say(app, core, group_msg(chat, OP1)) == [], chat
    assert await counted(core) == []
    await say(app, core, group_msg("已转发", OP1))
    assert await say(app, core, group_msg("已转发", OP2)) == []  # the unit owes nothing any more: chat
    assert len(await counted(core)) == 1


async def test_bare_yizhuanfa_with_several_owed_asks_which_briefly(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core, "甲")
    await announce(app, core, "乙")
    out = await say(app, core, group_msg("已转发", OP1))
    assert len(out) == 1 and "2 个统发还没确认" in out[0]["text"] and "/已转发 2" in out[0]["text"]
    assert await counted(core) == []
    core.settings = core.settings.model_copy(update={"alliance_private_reminders": True})  # ask privately
    out = await say(app, core, group_msg("郑州大学已转发", OP1))
    assert len(out) == 1 and out[0]["target"] == ("private", str(OP1))


# ---------------------------------------------------------------- item 10: a past-deadline task still open


async def test_bare_command_takes_the_only_task_the_unit_still_owes(app: NBApp, core: App) -> None:
    await seed(core)
    await announce(app, core, "甲")
    await say(app, core, group_msg("/已转发 1", OP1))
    await announce(app, core, "乙")
    clock.advance(timedelta(days=4))  # #1 and #2 past their deadline, not closed
    out = await say(app, core, group_msg("/已转发", OP1))
    assert "已记录：郑州大学 完成统发 #2" in out[0]["text"] and "逾期" in out[0]["text"]
    out = await say(app, core, group_msg("/已转发", OP3))  # owes both: asked which
    assert "2 个进行中的统发" in out[0]["text"]


# ---------------------------------------------------------------- item 8: a reply to a 报送 notice


async def test_a_reply_yibaosong_to_a_return_notice_submits_it(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/报送 新建 秋季统计表 截止 3天后", ADMIN))
    assert any(o["text"].startswith("【报送】#1") for o in out)
    out = await say(app, core, group_msg("/报送 新建 年度材料 截止 5天后", ADMIN))
    await deliver(core)  # the announcement of each (and the answers, which go first)
    (first,) = await core.outbox.reading.message_ids("return:1")
    (second,) = await core.outbox.reading.message_ids("return:2")
    for user, text, unit in ((OP1, "已报送", "郑州大学"), (OP3, "已完成", "河南大学"), (OP4, "报送了", "郑州市教育局")):
        out = await say_reply(app, core, group_msg(text, user, reply_to=int(first)), first, resolved=False)
        assert len(out) == 1 and f"已记录：“{unit}”已报送 #1《秋季统计表》" in out[0]["text"], (text, out)
    # the quoted text is enough when the id is not on file; 收到 never counts; the other return is untouched
    quoted = "【报送】#2《年度材料》\n截止：…"
    out = await say_reply(app, core, group_msg("收到", OP1, reply_to=-5), "-5", resolved=True, quoted_text=quoted)
    assert out == []
    out = await say_reply(app, core, group_msg("已提交", OP1, reply_to=-5), "-5", resolved=True, quoted_text=quoted)
    assert "已记录：“郑州大学”已报送 #2《年度材料》" in out[0]["text"]
    out = await say_reply(app, core, group_msg("/已报送", OP3, reply_to=int(second)), second, resolved=False)
    assert "已记录：“河南大学”已报送 #2" in out[0]["text"]
    p = await core.returns.progress(1)
    assert len(p.done) == 3
