"""/报送 and /已报送 through NoneBot's handlers (nonebug)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from nonebug import App as NBApp

from bot import clock
from bot.app import App
from tests.conftest import say, sent, stopped_clock
from tests.fake import ADMIN, GROUP, group_msg, private_msg

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
ZZU, HENU, LY, STRANGER = 20001, 20002, 20003, 29999


frozen = stopped_clock(NOW)


async def roster(core: App) -> None:
    for name, cat, city, alias in (
        ("郑州大学", "本科高校", "郑州", ("郑大",)),
        ("河南大学", "本科高校", "开封", ("河大",)),
        ("洛阳市教育局", "市教育局", "洛阳", ()),
    ):
        await core.units.add(name, cat, city, actor="t", aliases=alias)
    for qq, unit, who in ((ZZU, "郑州大学", "张三"), (HENU, "河南大学", "李四"), (LY, "洛阳市教育局", "王五")):
        a, _ = await core.units.registrations.apply(qq, who, GROUP, unit)
        await core.units.registrations.approve([a.id], actor="t")
    await sent(core)


async def create(app: NBApp, core: App, text: str = "/报送 新建 秋季统计表 截止 2026-11-25 18:00 请按附件填写") -> None:
    out = await say(app, core, group_msg(text, ADMIN))
    assert any(o["text"].startswith("【报送】") for o in out), out


async def test_admin_creates_a_return_and_it_is_announced(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/报送 新建 秋季统计表 截止 2026-11-25 18:00 请按附件填写", ADMIN))
    announce = next(o for o in out if o["text"].startswith("【报送】"))
    assert announce["target"] == ("group", str(GROUP)) and announce["ats"] == []
    assert "#1《秋季统计表》" in announce["text"] and "截止：11月25日 18:00" in announce["text"]
    assert "说明：请按附件填写" in announce["text"] and "/已报送 1" in announce["text"]
    reply = next(o for o in out if o["ats"] == [str(ADMIN)])
    assert "已记录" in reply["text"] and "共 3 个单位" in reply["text"]
    assert "截止前 3 天、1 天、2 小时和逾期时" in reply["text"]


async def test_create_with_scope_and_one_word_time(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/报送 新建 高校自查表 截止 周五17:30 范围 本科高校", ADMIN))
    reply = next(o for o in out if o["ats"] == [str(ADMIN)])
    assert "范围：本科高校，共 2 个单位" in reply["text"]


async def test_only_admins_create_register_nudge_and_close(app: NBApp, core: App) -> None:
    await roster(core)
    for text in (
        "/报送 新建 表 截止 明天18点",
        "/报送 登记 1 河南大学",
        "/报送 催办 1",
        "/报送 结束 1",
    ):
        out = await say(app, core, group_msg(text, ZZU))
        assert len(out) == 1 and "只有管理员" in out[0]["text"], text
    assert await core.returns.listing(include_closed=True) == []


async def test_bad_time_shows_the_accepted_forms(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/报送 新建 表 截止 下下下周", ADMIN))
    assert "看不懂时间" in out[0]["text"] and "2026-11-25 18:00" in out[0]["text"]
    out = await say(app, core, group_msg("/报送 新建 表 截止 2026-11-01 18:00", ADMIN))
    assert "已经过去" in out[0]["text"]
    out = await say(app, core, group_msg("/报送 新建 表", ADMIN))
    assert "截止" in out[0]["text"] and "/报送 新建" in out[0]["text"]


async def test_operator_submits_and_a_second_confirmation_is_not_counted(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    out = await say(app, core, group_msg("/已报送 1 已发邮箱", ZZU))
    assert out[0]["ats"] == [str(ZZU)]
    assert "已记录：“郑州大学”已报送 #1《秋季统计表》。进度：1/3" in out[0]["text"]
    out = await say(app, core, group_msg("/已报送 1", ZZU))
    assert "不重复计" in out[0]["text"] and "1/3" in out[0]["text"]


async def test_number_may_be_left_out_and_late_is_marked(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    clock.freeze(datetime(2026, 11, 26, 9, 0, tzinfo=TZ))
    out = await say(app, core, group_msg("/已报送", HENU))
    assert "“河南大学”已报送 #1" in out[0]["text"] and "逾期" in out[0]["text"]


async def test_unbound_user_is_told_how_to_register(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    out = await say(app, core, group_msg("/已报送 1", STRANGER))
    assert "/注册" in out[0]["text"]
    out = await say(app, core, group_msg("/已报送 1", ADMIN))
    assert "/报送 登记" in out[0]["text"]
    assert (await core.returns.progress(1)).done == []


async def test_admin_registers_units_by_short_name(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    out = await say(app, core, group_msg("/报送 登记 1 河大 郑大", ADMIN))
    text = out[0]["text"]
    assert "“河南大学”已报送" in text and "“郑州大学”已报送" in text and "进度：2/3" in text
    # acting on behalf never guesses: a loose match is asked about, and nothing is recorded for it
    out = await say(app, core, group_msg("/报送 登记 1 洛阳 火星大学", ADMIN))
    assert "你是指“洛阳市教育局”吗" in out[0]["text"] and "“火星大学”没有登记" in out[0]["text"]
    assert len((await core.returns.progress(1)).done) == 2
    out = await say(app, core, group_msg("/报送 登记 1 洛阳市教育局", ADMIN))
    assert "“洛阳市教育局”已报送" in out[0]["text"]


async def test_progress_lists_units_not_done_by_category(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    await say(app, core, group_msg("/已报送 1", ZZU))
    out = await say(app, core, group_msg("/报送 进度 1", LY))
    text = out[0]["text"]
    assert "已报送 1/3（33.3%）" in text
    assert "【市教育局】洛阳市教育局" in text and "【本科高校】河南大学" in text
    assert text.index("【市教育局】") < text.index("【本科高校】")  # categories in their usual order
    assert (await say(app, core, group_msg("/报送 进度", LY)))[0]["text"] == text  # the only open one


async def test_nudge_mentions_operators_of_units_not_done(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    await say(app, core, group_msg("/已报送 1", ZZU))
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    nudge = next(o for o in out if o["text"].startswith("【报送催办】"))
    assert sorted(nudge["ats"]) == sorted([str(HENU), str(LY)])
    reply = next(o for o in out if o["ats"] == [str(ADMIN)])
    assert "未报送 2 个单位" in reply["text"]


async def test_list_shows_my_units_state(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    await create(app, core, "/报送 新建 市局材料 截止 12-01 范围 市教育局")
    await say(app, core, group_msg("/已报送 1", LY))
    out = await say(app, core, group_msg("/报送 列表", LY))
    assert "只有管理员" in out[0]["text"] and "/报送" in out[0]["text"]  # the admins' list, as for 统发
    out = await say(app, core, group_msg("/报送", LY))
    text = out[0]["text"]
    assert "进行中的报送（2）" in text
    assert "#1《秋季统计表》" in text and "本单位已报送" in text and "本单位未报送" in text
    out = await say(app, core, group_msg("/报送", ZZU))
    assert "#1《秋季统计表》" in out[0]["text"]


async def test_close_ends_reminders_and_refuses_late_operators(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    out = await say(app, core, group_msg("/报送 结束 1", ADMIN))
    assert "已结束报送 #1" in out[0]["text"] and "最终：已报送 0/3" in out[0]["text"]
    out = await say(app, core, group_msg("/已报送 1", ZZU))
    assert "已结束" in out[0]["text"] and "管理员" in out[0]["text"]
    out = await say(app, core, group_msg("/报送", ZZU))
    assert "没有进行中的报送" in out[0]["text"]


async def test_private_chat_works_for_operators(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    out = await say(app, core, private_msg("/已报送 1", HENU))
    assert out[0]["target"] == ("private", str(HENU)) and "已记录" in out[0]["text"]


async def test_cq_code_in_title_and_note_stays_text(app: NBApp, core: App) -> None:
    await roster(core)
    out = await say(app, core, group_msg("/报送 新建 [CQ:at,qq=all] 截止 明天18点 [CQ:face,id=1]", ADMIN))
    for o in out:
        assert "all" not in o["ats"]
        assert all(s["type"] in ("text", "at") for s in o["segments"])
    assert any("[CQ:at,qq=all]" in o["text"] for o in out)


async def test_reminders_through_the_engine_reach_only_units_not_done(app: NBApp, core: App) -> None:
    await roster(core)
    await create(app, core)
    await say(app, core, group_msg("/已报送 1", ZZU))
    await say(app, core, group_msg("/报送 登记 1 河南大学", ADMIN))

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    core.outbox.attach(sender)
    clock.freeze(datetime(2026, 11, 25, 16, 0, tzinfo=TZ))  # 2h before
    assert await core.reminders.tick() == 1
    out = await sent(core)
    assert len(out) == 1 and out[0]["ats"] == [str(LY)] and out[0]["text"].startswith("【报送提醒】")
    clock.freeze(datetime(2026, 11, 25, 18, 1, tzinfo=TZ))
    assert await core.reminders.tick() == 1
    out = await sent(core)
    assert len(out) == 1 and out[0]["ats"] == [str(LY)] and out[0]["text"].startswith("【报送逾期】")
    assert await core.reminders.tick() == 0


async def test_unknown_sub_command_says_what_is_available(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/报送 删除 1", ADMIN))
    assert "不认识“删除”" in out[0]["text"] and "/帮助 报送" in out[0]["text"]


async def test_help_explains_returns(app: NBApp, core: App) -> None:
    out = await say(app, core, group_msg("/帮助 报送", ADMIN))
    assert "/报送 新建" in out[0]["text"]
    out = await say(app, core, group_msg("/帮助 报送", ZZU))  # an operator reads only what they may use
    assert "/报送 进度" in out[0]["text"] and "/报送 新建" not in out[0]["text"]
    out = await say(app, core, group_msg("/帮助 已报送", ZZU))
    assert "/已报送 <编号> [备注]" in out[0]["text"]
