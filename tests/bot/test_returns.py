"""Returns (报送) as a service: creating, submitting, registering, progress, nudges and its reminders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import clock
from bot.app import App
from bot.db import Database, migrations
from bot.errors import Ambiguous, NotFound, UserError
from bot.reminders import OVERDUE
from bot.returns.parse import parse_new, read_deadline
from bot.returns.records import KIND, NewReturn
from bot.tasks import Progress, TaskClosed
from tests.conftest import make_settings, sent, stopped_clock
from tests.fake import GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
DEADLINE = datetime(2026, 11, 25, 18, 0, tzinfo=TZ)
ZZU, HENU, LY = 20001, 20002, 20003  # operators of 郑州大学, 河南大学, 洛阳市教育局
ZZU2 = 20011


frozen = stopped_clock(NOW)


async def bind(app: App, qq: int, unit: str, name: str) -> None:
    a, _ = await app.units.registrations.apply(qq, name, GROUP, unit)
    await app.units.registrations.approve([a.id], actor="t")


async def roster(app: App) -> None:
    await app.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await app.units.add("河南大学", "本科高校", "开封", actor="t", aliases=("河大",))
    await app.units.add("洛阳市教育局", "市教育局", "洛阳", actor="t")
    await app.units.add("郑州市第九中学", "高中", "郑州", actor="t")
    await bind(app, ZZU, "郑州大学", "张三")
    await bind(app, ZZU2, "郑州大学", "张四")
    await bind(app, HENU, "河南大学", "李四")
    await bind(app, LY, "洛阳市教育局", "王五")
    await sent(app)  # forget what setting up queued


async def make(app: App, title: str = "秋季统计表", scope: str = "", deadline: datetime = DEADLINE) -> int:
    made = await app.returns.create(NewReturn(title, deadline, scope, "按附件填写"), actor="900001")
    return made.ret.id


async def connect(app: App) -> None:
    async def sender(target_type: str, target_id: str, segments: list) -> str:
        return "1"

    app.outbox.attach(sender)


# ---------------------------------------------------------------- reading /报送 新建


def test_two_word_time_is_tried_first() -> None:
    new = parse_new(["秋季统计表", "截止", "2026-11-25", "18:00", "请按附件填写"], NOW)
    assert (new.title, new.deadline, new.note) == ("秋季统计表", DEADLINE, "请按附件填写")


def test_one_word_time_then_the_note() -> None:
    new = parse_new(["统计表", "截止", "11月25日", "请按附件", "填写"], NOW)
    assert new.deadline == datetime(2026, 11, 25, 23, 59, tzinfo=TZ)
    assert new.note == "请按附件 填写"
    new = parse_new(["统计表", "截至", "周五17:30"], NOW)
    assert new.deadline == datetime(2026, 11, 20, 17, 30, tzinfo=TZ) and new.note == ""


def test_title_of_several_words_and_glued_deadline() -> None:
    new = parse_new(["2026年", "秋季", "统计表", "截止11-25", "18:00"], NOW)
    assert new.title == "2026年 秋季 统计表" and new.deadline == DEADLINE


def test_scope_is_read_anywhere_after_the_time() -> None:
    new = parse_new(["自查表", "截止", "明天18点", "范围", "本科高校,郑州", "尽快"], NOW)
    assert (new.scope, new.note) == ("本科高校,郑州", "尽快")
    assert new.deadline == datetime(2026, 11, 21, 18, 0, tzinfo=TZ)


def test_a_past_two_word_time_is_an_error_not_a_shorter_guess() -> None:
    with pytest.raises(UserError, match="已经过去"):
        read_deadline(["今天", "8点", "说明"], NOW)  # not "今天" (23:59) with the note "8点"


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["统计表", "11-25"], "截止"),
        (["截止", "11-25"], "标题"),
        (["统计表", "截止"], "后面请写时间"),
        (["统计表", "截止", "下下下周"], "2026-11-25 18:00"),
        (["统计表", "截止", "11-25", "范围"], "范围"),
    ],
)
def test_bad_create_arguments_say_how_to_type_it(args: list[str], hint: str) -> None:
    with pytest.raises(UserError, match=hint):
        parse_new(args, NOW)


# ---------------------------------------------------------------- creating


async def test_create_fixes_the_owing_units_announces_and_owes_reminders(core: App) -> None:
    await roster(core)
    made = await core.returns.create(NewReturn("秋季统计表", DEADLINE, "", "按附件填写"), actor="900001")
    assert made.units == 4 and made.groups == [str(GROUP)]
    assert made.reminders == ["3d", "1d", "2h", OVERDUE]
    out = await sent(core)
    assert len(out) == 1 and out[0]["target"] == ("group", str(GROUP))
    assert "#1《秋季统计表》" in out[0]["text"] and "11月25日 18:00" in out[0]["text"]
    assert "/已报送 1" in out[0]["text"] and out[0]["ats"] == []
    # a unit added later does not owe it
    await core.units.add("新乡学院", "本科高校", "新乡", actor="t")
    assert (await core.returns.progress(made.ret.id)).total == 4


async def test_scope_by_category_and_city(core: App) -> None:
    await roster(core)
    units, what = await core.returns.scope_units("本科高校，郑州")  # the same rule as 统发: kinds AND-ed
    assert [u.name for u in units] == ["郑州大学"] and what == "本科高校、郑州市"
    units, what = await core.returns.scope_units("郑州市")
    assert {u.name for u in units} == {"郑州大学", "郑州市第九中学"}
    units, what = await core.returns.scope_units("全部")
    assert len(units) == len(await core.units.all()) and what == "全部单位"
    with pytest.raises(UserError, match="既不是单位类别"):
        await core.returns.scope_units("火星")
    with pytest.raises(UserError, match="内没有单位"):
        await core.returns.scope_units("幼儿园")


async def test_create_refuses_a_past_deadline_and_an_empty_roster(core: App) -> None:
    with pytest.raises(UserError, match="名册里还没有单位"):
        await make(core)
    await roster(core)
    with pytest.raises(UserError, match="已经过去"):
        await make(core, deadline=NOW - timedelta(minutes=1))


# ---------------------------------------------------------------- submitting


async def test_operator_submits_for_own_unit_once(core: App) -> None:
    await roster(core)
    rid = await make(core)
    s = await core.returns.submit(str(ZZU), "张三", rid, "已发邮箱")
    assert s.new and s.unit.name == "郑州大学" and (s.done, s.total) == (1, 4) and not s.submission.late
    again = await core.returns.submit(str(ZZU2), "张四", rid)
    assert not again.new and again.submission.by_name == "张三" and again.done == 1
    p = await core.returns.progress(rid)
    assert [x.unit.name for x in p.done] == ["郑州大学"] and p.done[0].note == "已发邮箱"
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM audit WHERE action='已报送'") == 1


async def test_unbound_user_is_told_how_to_register_and_nothing_counts(core: App) -> None:
    await roster(core)
    rid = await make(core)
    with pytest.raises(UserError, match="/注册"):
        await core.returns.submit("777", "路人", rid)
    assert (await core.returns.progress(rid)).done == []


async def test_after_the_deadline_it_is_kept_and_marked_late(core: App) -> None:
    await roster(core)
    rid = await make(core)
    clock.freeze(DEADLINE + timedelta(minutes=5))
    s = await core.returns.submit(str(HENU), "李四", rid)
    assert s.new and s.submission.late
    assert (await core.returns.progress(rid)).late == 1


async def test_a_unit_outside_the_scope_need_not_submit(core: App) -> None:
    await roster(core)
    rid = await make(core, scope="本科高校")
    with pytest.raises(UserError, match="不在报送"):
        await core.returns.submit(str(LY), "王五", rid)


async def test_number_may_be_left_out_when_one_is_owed(core: App) -> None:
    await roster(core)
    first = await make(core, "表一")
    s = await core.returns.submit(str(ZZU), "张三", None)
    assert s.ret.id == first
    with pytest.raises(UserError, match="没有待报送"):
        await core.returns.submit(str(ZZU), "张三", None)
    await make(core, "表二")
    await make(core, "表三")
    with pytest.raises(UserError, match="3 个报送待完成"):
        await core.returns.submit(str(HENU), "李四", None)


async def test_quoting_the_announcement_picks_its_return(core: App) -> None:
    await roster(core)
    await make(core, "表一")
    second = await make(core, "表二")
    async with core.db.tx() as tx:
        await tx.run("UPDATE outbox SET state='sent', message_id='-2000012345' WHERE ref=?", (f"return:{second}",))
    s = await core.returns.submit(str(HENU), "李四", None, reply_to="-2000012345")
    assert s.ret.id == second


async def test_no_such_return(core: App) -> None:
    await roster(core)
    with pytest.raises(NotFound, match="没有编号为 9"):
        await core.returns.submit(str(ZZU), "张三", 9)


async def test_admin_registers_a_unit_by_short_name_even_after_the_end(core: App) -> None:
    await roster(core)
    rid = await make(core)
    s = await core.returns.register(rid, "河大", actor="900001", actor_name="新闻办")
    assert s.new and s.unit.name == "河南大学" and s.submission.via == "管理员登记"
    await core.returns.close(rid, actor="900001")
    with pytest.raises(UserError, match="已结束"):
        await core.returns.submit(str(ZZU), "张三", rid)
    late = await core.returns.register(rid, "郑州大学", actor="900001")
    assert late.new and late.submission.late is False and late.done == 2


async def test_admin_register_with_an_ambiguous_name_guesses_nothing(core: App) -> None:
    await roster(core)
    rid = await make(core)
    with pytest.raises(Ambiguous) as info:
        await core.returns.register(rid, "郑州", actor="900001")
    assert "郑州大学" in str(info.value) and "郑州市第九中学" in str(info.value)
    assert (await core.returns.progress(rid)).done == []


async def test_progress_lists_who_has_not_and_leaves_out_deleted_units(core: App) -> None:
    await roster(core)
    rid = await make(core)
    await core.returns.submit(str(ZZU), "张三", rid)
    await core.units.delete("郑州市第九中学", actor="t")
    p = await core.returns.progress(rid)
    assert [u.name for u in p.pending] == ["河南大学", "洛阳市教育局"]
    assert (len(p.done), p.total) == (1, 3)
    listing = await core.returns.listing()
    assert [(r.id, d, t) for r, d, t in listing] == [(rid, 1, 3)]


async def test_close_cancels_reminders_and_stops_listing(core: App) -> None:
    await roster(core)
    rid = await make(core)
    await core.returns.close(rid, actor="900001")
    async with core.db.read() as tx:
        states = {r[0] for r in await tx.all("SELECT state FROM reminders WHERE kind=?", (KIND,))}
    assert states == {"cancelled"}
    assert await core.returns.listing() == []
    assert [r.id for r, _, _ in await core.returns.listing(include_closed=True)] == [rid]
    with pytest.raises(UserError, match="已经结束"):
        await core.returns.close(rid, actor="900001")


async def test_progress_and_close_give_the_task_engines_progress(core: App) -> None:
    await roster(core)
    rid = await make(core)
    await core.returns.submit(str(ZZU), "张三", rid)
    p = await core.returns.progress(rid)
    assert isinstance(p, Progress) and p.task.id == rid and (len(p.done), p.total, p.percent) == (1, 4, "25.0%")
    closed = await core.returns.close(rid, actor="900001")
    assert isinstance(closed, Progress) and closed.task.state == "已结束" and closed.done == p.done
    with pytest.raises(TaskClosed):
        await core.returns.close(rid, actor="900001")


async def test_open_for_unit(core: App) -> None:
    await roster(core)
    a = await make(core, "表一")
    b = await make(core, "表二", scope="市教育局")
    await core.returns.submit(str(ZZU), "张三", a)
    rows = await core.returns.open_for_unit((await core.units.resolve("郑州大学")).id)
    assert [(r.id, s is not None) for r, s in rows] == [(a, True)]
    rows = await core.returns.open_for_unit((await core.units.resolve("洛阳市教育局")).id)
    assert [(r.id, s is not None) for r, s in rows] == [(a, False), (b, False)]


# ---------------------------------------------------------------- nudges and reminders


async def test_nudge_mentions_operators_of_units_not_done_in_batches(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, alliance_at_batch=2))
    await app.open()
    try:
        await roster(app)
        rid = await make(app)
        await sent(app)
        await app.returns.submit(str(HENU), "李四", rid)
        n = await app.returns.nudge(rid, actor="900001")
        assert len(n.units) == 3 and n.operators == 3 and [u.name for u in n.orphans] == ["郑州市第九中学"]
        out = await sent(app)
        ats = [a for o in out for a in o["ats"]]
        assert sorted(ats) == sorted([str(ZZU), str(ZZU2), str(LY)]) and str(HENU) not in ats
        assert len(out) == 2 and all(len(o["ats"]) <= 2 for o in out)
        assert "（1/2）" in out[0]["text"] and "/已报送 1" in out[0]["text"]
    finally:
        await app.db.close()


async def test_reminder_goes_to_units_not_done_when_it_is_sent(core: App) -> None:
    await roster(core)
    rid = await make(core)
    await sent(core)
    await connect(core)
    await core.returns.submit(str(ZZU), "张三", rid)
    clock.freeze(DEADLINE - timedelta(days=3))
    assert await core.reminders.tick() == 1
    out = await sent(core)
    # the units with nobody to @ are named to the admin privately (once a day), not in the group
    assert [o["target"] for o in out] == [("group", str(GROUP)), ("private", "900001")]
    assert out[0]["text"].startswith("【报送提醒】#1《秋季统计表》将于 11月25日 18:00 截止（还剩约 3 天）")
    assert sorted(out[0]["ats"]) == sorted([str(HENU), str(LY)])
    # 河南大学 submits before the next one: it is not nudged again
    await core.returns.submit(str(HENU), "李四", rid)
    clock.freeze(DEADLINE - timedelta(days=1))
    assert await core.reminders.tick() == 1
    assert [o["ats"] for o in await sent(core) if o["target"][0] == "group"] == [[str(LY)]]


async def test_overdue_reminder_after_downtime_replaces_the_earlier_ones(core: App) -> None:
    await roster(core)
    rid = await make(core)
    await sent(core)
    await connect(core)
    clock.freeze(DEADLINE + timedelta(minutes=1))
    assert await core.reminders.tick() == 1
    out = [o for o in await sent(core) if o["target"][0] == "group"]
    assert len(out) == 1 and out[0]["text"].startswith("【报送逾期】#1《秋季统计表》已于 11月25日 18:00 截止")
    async with core.db.read() as tx:
        states = dict(  # the return's own reminders (its escalation to city admins is kind return_up)
            await tx.all("SELECT label, state FROM reminders WHERE kind='return' AND task_id=? ORDER BY due_at", (rid,))
        )
    assert states == {"3d": "skipped", "1d": "skipped", "2h": "skipped", OVERDUE: "sent"}


async def test_reminder_when_everyone_has_submitted_sends_nothing(core: App) -> None:
    await roster(core)
    rid = await make(core, scope="本科高校")
    await connect(core)
    await core.returns.submit(str(ZZU), "张三", rid)
    await core.returns.register(rid, "河南大学", actor="900001")
    await sent(core)
    clock.freeze(DEADLINE - timedelta(days=1))
    assert await core.reminders.tick() == 0
    assert await sent(core) == []


async def test_units_without_operators_are_counted_in_the_group_and_named_to_the_admin(core: App) -> None:
    await core.units.add("郑州市第九中学", "高中", "郑州", actor="t")
    await make(core)
    await sent(core)
    await connect(core)
    clock.freeze(DEADLINE - timedelta(hours=2))
    assert await core.reminders.tick() == 1
    group, private = await sent(core)
    assert group["target"] == ("group", str(GROUP)) and group["ats"] == []
    assert "还有 1 个单位没有报送" in group["text"] and "郑州市第九中学" not in group["text"]
    assert private["target"] == ("private", "900001") and "郑州市第九中学" in private["text"]


async def test_private_reminders_when_configured(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, alliance_private_reminders=True))
    await app.open()
    try:
        await roster(app)
        rid = await make(app, scope="市教育局")
        await sent(app)
        await connect(app)
        clock.freeze(DEADLINE - timedelta(days=1))
        assert await app.reminders.tick() == 1
        out = await sent(app)
        assert [o["target"] for o in out] == [("group", str(GROUP)), ("private", str(LY))]
        assert f"/已报送 {rid}" in out[1]["text"]
    finally:
        await app.db.close()


async def test_cq_code_in_a_title_stays_text(core: App) -> None:
    await roster(core)
    await make(core, "[CQ:at,qq=all] 统计")
    out = await sent(core)
    assert "[CQ:at,qq=all]" in out[0]["text"]
    assert all(s["type"] == "text" for s in out[0]["segments"])


# ---------------------------------------------------------------- schema


async def test_upgrading_a_database_made_before_returns(tmp_path: Path) -> None:
    before = max(v for v, _ in migrations() if v < 4)
    db = Database(tmp_path / "old.db")
    await db.open(upto=before)
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO units (name, category, city, created_at) VALUES ('郑州大学', '本科高校', '郑州', ?)",
            (clock.now_db(),),
        )
    await db.close()
    await db.open()
    try:
        assert await db.version() >= 4
        async with db.read() as tx:
            assert await tx.value("SELECT name FROM units") == "郑州大学"
            assert await tx.value("SELECT COUNT(*) FROM returns") == 0
            cols = [r[1] for r in await tx.all("PRAGMA table_info(return_units)")]
        assert {"return_id", "unit_id", "submitted_at", "late", "via"} <= set(cols)
    finally:
        await db.close()


def test_announcement_message_is_json_segments() -> None:
    # the outbox stores segment lists; a Msg built by the service is plain text and @ only
    from bot.returns.records import Return
    from bot.returns.text import announcement

    ret = Return(1, "表", "", DEADLINE, "全部单位", "进行中", "1", NOW)
    assert json.loads(json.dumps(announcement(ret, 3).segments))[0]["type"] == "text"


# ---------------------------------------------------------------- how a unit is told to hand in (issue 21 item 9)


async def test_reminders_of_a_file_return_say_which_files_to_upload_never_to_send_submitted(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, alliance_private_reminders=True))
    await app.open()
    try:
        await roster(app)
        new = NewReturn("新媒体（网站）基本情况统计", DEADLINE, "市教育局", "", "统计表,汇总表", True)
        rid = (await app.returns.create(new, actor="900001")).ret.id
        await sent(app)
        await connect(app)
        clock.freeze(DEADLINE - timedelta(days=1))
        assert await app.reminders.tick() == 1
        group, private = await sent(app)
        for o in (group, private):
            assert "/已报送" not in o["text"] and "👍" not in o["text"], o
            assert (
                f"请把统计表、汇总表和盖章扫描件上传到群文件或私聊发给机器人（交齐才算已报送）；发 /报送 表格 {rid} "
                "领取本单位的表格。" in o["text"]
            ), o
    finally:
        await app.db.close()


async def test_a_scan_only_return_never_offers_a_form(core: App) -> None:
    await roster(core)
    rid = (await core.returns.create(NewReturn("承诺书", DEADLINE, "", "", "", True), actor="900001")).ret.id
    await sent(core)
    await core.returns.nudge(rid, actor="900001")
    out = await sent(core)
    assert all("请把盖章扫描件上传到群文件或私聊发给机器人。" in o["text"] for o in out), out
    assert not any("/报送 表格" in o["text"] for o in out)
    with pytest.raises(UserError) as e:
        await core.returns.submit(str(ZZU), "张三", rid)
    assert str(e.value) == (
        f"报送 #{rid}《承诺书》 要交文件：请把填好的盖章扫描件上传到群文件或私聊发给机器人，机器人检查后自动记为已报送。"
    )


async def test_submitted_without_a_number_picks_the_one_return_that_needs_no_file(core: App) -> None:
    await roster(core)
    await core.returns.create(NewReturn("统计", DEADLINE, "", "", "统计表"), actor="900001")
    plain = await make(core, "自查表")
    s = await core.returns.submit(str(ZZU), "张三")
    assert s.ret.id == plain and s.new
