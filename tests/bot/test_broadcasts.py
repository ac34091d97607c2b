"""The 统发 service: parsing, announcing, confirming once per unit, progress, nudges and statistics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot import clock
from bot.app import App, set_app
from bot.broadcasts.parse import confirmation_rest, parse_draft, parse_month
from bot.broadcasts.records import Completion, Draft, NotBound, WhichTask, norm_id
from bot.broadcasts.service import Broadcasts
from bot.broadcasts.text import progress_message
from bot.db import Database
from bot.errors import UserError
from bot.parse import TIME_FORMS
from bot.tasks import TaskClosed
from tests.conftest import make_settings, sent
from tests.fake import ADMIN, GROUP

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # a Wednesday
G2 = "100200999"
LINK = "https://mp.weixin.qq.com/s/abc"


@pytest.fixture
async def bc(tmp_path: Path) -> AsyncIterator[App]:
    """An app with two alliance groups, no quiet hours, the clock frozen at NOW."""
    async with open_app(tmp_path) as app:
        yield app


class open_app:
    def __init__(self, tmp_path: Path, **over: object) -> None:
        base: dict[str, object] = {"alliance_groups": [str(GROUP), G2], "alliance_quiet_hours": ""}
        base.update(over)
        self.app = App(make_settings(tmp_path, **base))

    async def __aenter__(self) -> App:
        clock.freeze(NOW)
        await self.app.open()
        set_app(self.app)
        return self.app

    async def __aexit__(self, *exc: object) -> None:
        set_app(None)
        await self.app.db.close()
        clock.reset()


async def seed(app: App) -> None:
    """Four units in two categories and two cities, operators 1 and 2 of 郑州大学, 3 of 河南大学, 4 of 郑州市教育局."""
    await app.units.add("郑州大学", "本科高校", "郑州", actor="t")
    await app.units.add("河南大学", "本科高校", "开封", actor="t")
    await app.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    await app.units.add("开封市教育局", "市教育局", "开封", actor="t")
    for uid, unit in ((1001, "郑州大学"), (1002, "郑州大学"), (1003, "河南大学"), (1004, "郑州市教育局")):
        await bind(app, uid, unit)


async def bind(app: App, user_id: int, unit: str, group: str | None = None) -> None:
    a, _ = await app.units.registrations.apply(user_id, f"联络员{user_id}", group or str(GROUP), unit)
    (d,) = await app.units.registrations.approve([a.id], actor=str(ADMIN))
    assert d.ok, d.message


def draft(title: str = "学习全国教育大会精神", deadline: datetime | None = None, scope: tuple[str, ...] = ()) -> Draft:
    return Draft(title, LINK, deadline or NOW + timedelta(days=2), ("转发", "点赞"), scope)


async def deliver(app: App, first_id: int = -2_147_483_000) -> list[str]:
    """Let the outbox send what is queued to a fake client; returns the message ids it gave, in order."""
    ids: list[str] = []

    async def sender(target_type: str, target_id: str, segments: list) -> str:
        ids.append(str(first_id - len(ids) * 1000))
        return ids[-1]

    app.outbox.attach(sender)
    await app.outbox.start()
    await app.outbox.wait_idle(10)
    await app.outbox.stop()
    app.outbox.detach()
    return ids


async def noop_sender(target_type: str, target_id: str, segments: list) -> str:
    return "1"


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25 18:00", datetime(2026, 11, 25, 18, 0)),
        ("11-25 18:00", datetime(2026, 11, 25, 18, 0)),
        ("11月25日18:00", datetime(2026, 11, 25, 18, 0)),
        ("11月25日18时", datetime(2026, 11, 25, 18, 0)),
        ("11月25日", datetime(2026, 11, 25, 23, 59)),
        ("明天18点", datetime(2026, 11, 19, 18, 0)),
        ("今晚8点", datetime(2026, 11, 18, 20, 0)),
        ("后天", datetime(2026, 11, 20, 23, 59)),
        ("30分钟后", datetime(2026, 11, 18, 10, 30)),
        ("3小时后", datetime(2026, 11, 18, 13, 0)),
        ("3天后", datetime(2026, 11, 21, 10, 0)),
        ("周五17:30", datetime(2026, 11, 20, 17, 30)),
    ],
)
def test_deadline_reads_every_form_of_spec(text: str, expected: datetime) -> None:
    d = parse_draft(["标题", LINK, "截止", *text.split()], NOW, timedelta(hours=24))
    assert d.deadline == expected.replace(tzinfo=TZ)
    # the keyword may be glued to the time, and other parts may follow
    d = parse_draft(["标题", LINK, "要求", "转发", f"截止{text.split()[0]}", *text.split()[1:]], NOW, timedelta(1))
    assert d.deadline == expected.replace(tzinfo=TZ)


@pytest.mark.parametrize("text", ["昨天", "2020-01-01 18:00", "11月18日9点", "下辈子", "25:99"])
def test_past_or_unreadable_deadline_is_refused_with_the_forms(text: str) -> None:
    with pytest.raises(UserError) as e:
        parse_draft(["标题", LINK, "截止", *text.split()], NOW, timedelta(hours=24))
    assert "明天18点" in str(e.value) and text.split()[0] in str(e.value)


def test_empty_deadline_shows_the_forms() -> None:
    with pytest.raises(UserError, match="截止") as e:
        parse_draft(["标题", LINK, "截止", "要求", "转发"], NOW, timedelta(hours=24))
    assert TIME_FORMS in str(e.value)


@pytest.mark.parametrize(
    "link", ["ftp://x.cn/a", "mp.weixin.qq.com/s/abc", "www.example.com", "https://", "http://nohost/x", "HTTPS://a b"]
)
def test_link_must_be_http_or_https(link: str) -> None:
    with pytest.raises(UserError) as e:
        parse_draft(["标题", *link.split()], NOW, timedelta(hours=24))
    assert "http" in str(e.value)


def test_title_may_hold_spaces_and_parts_come_in_any_order() -> None:
    d = parse_draft(
        [
            "学习",
            "全国教育大会",
            "精神",
            "HTTPS://Example.com/a?b=1",
            "范围",
            "本科高校,高职高专",
            "要求",
            "转发、点赞",
        ],
        NOW,
        timedelta(hours=24),
    )
    assert d.title == "学习 全国教育大会 精神"
    assert d.url == "HTTPS://Example.com/a?b=1"
    assert d.deadline == NOW + timedelta(hours=24)
    assert d.requirements == ("转发", "点赞")
    assert d.scope == ("本科高校", "高职高专")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([LINK], "标题"),
        (["标题"], "链接"),
        (["标题", LINK, "明天"], "截止"),
        (["标题", LINK, "截止", "明天", "截止", "后天"], "两次"),
        (["标题", LINK, "范围"], "范围"),
        ([], "/统发"),
    ],
)
def test_malformed_create_says_what_to_type(args: list[str], fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        parse_draft(args, NOW, timedelta(hours=24))


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("已转发", ""),
        (" 已完成！", ""),
        ("已发", ""),
        ("收到", None),  # issue 13 item 7: 收到 means "I got the notice", not "done"
        ("收到了", None),
        ("收到，已转发", ""),
        ("转发了", ""),
        ("已转发了", ""),
        ("完成了", ""),
        ("已转发了~", ""),
        ("/已转发 3", "3"),
        ("已转发 https://weibo.com/1", "https://weibo.com/1"),
        ("好的", None),
        ("收到马上转", None),
        ("已发布了吗", None),
        ("", None),
    ],
)
def test_confirmation_words(text: str, rest: str | None) -> None:
    assert confirmation_rest(text) == rest


def test_parse_month() -> None:
    today = date(2026, 3, 5)
    assert parse_month("", today)[2] == "2026年3月"
    assert parse_month("上月", today)[:2] == (date(2026, 2, 1), date(2026, 3, 1))
    assert parse_month("11月", today)[:2] == (date(2025, 11, 1), date(2025, 12, 1))
    assert parse_month("2025-12", today)[:2] == (date(2025, 12, 1), date(2026, 1, 1))
    assert parse_month("2026年1月", today)[2] == "2026年1月"
    with pytest.raises(UserError, match="11月"):
        parse_month("去年", today)
    with pytest.raises(UserError):
        parse_month("13月", today)


def test_message_ids_compare_as_text() -> None:
    assert norm_id(-2147483649) == norm_id("-2147483649") == norm_id(" -2147483649 ") == "-2147483649"


# ---------------------------------------------------------------- creating


async def test_create_announces_in_every_group_with_everything_needed(bc: App) -> None:
    await seed(bc)
    c = await bc.broadcasts.create(draft(), actor=str(ADMIN))
    assert (c.units, c.groups) == (4, 2)
    out = await sent(bc)
    assert sorted(o["target"] for o in out) == [("group", str(GROUP)), ("group", G2)]
    for o in out:
        text = o["text"]
        assert f"#{c.task.id}" in text and LINK in text and "转发、点赞" in text
        assert "11月20日 10:00" in text and "已转发" in text and f"/已转发 {c.task.id}" in text
        assert o["ats"] == []
    async with bc.db.read() as tx:
        refs = [r[0] for r in await tx.all("SELECT ref FROM outbox")]
        due = [r[0] for r in await tx.all("SELECT label FROM reminders WHERE kind='broadcast' ORDER BY due_at")]
    assert refs == [f"broadcast:{c.task.id}"] * 2
    assert due == ["1d", "2h"]  # 3d is already past; no overdue nudge for a broadcast


async def test_refused_create_stores_nothing(bc: App) -> None:
    await seed(bc)
    with pytest.raises(UserError, match="既不是单位类别"):
        await bc.broadcasts.create(draft(scope=("火星",)), actor=str(ADMIN))
    with pytest.raises(UserError, match="过去"):
        await bc.broadcasts.create(draft(deadline=NOW - timedelta(minutes=1)), actor=str(ADMIN))
    async with bc.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcasts") == 0
        assert await tx.value("SELECT COUNT(*) FROM reminders") == 0
    assert await sent(bc) == []


async def test_scope_ors_categories_and_cities_and_ands_the_two(bc: App) -> None:
    await seed(bc)
    ids, desc = await bc.broadcasts.resolve_scope(("本科高校",))
    assert len(ids) == 2 and desc == "本科高校"
    ids, _ = await bc.broadcasts.resolve_scope(("开封市", "郑州"))
    assert len(ids) == 4
    ids, desc = await bc.broadcasts.resolve_scope(("本科", "郑州"))
    assert [u.name for u in [await bc.units.get(i) for i in ids]] == ["郑州大学"] and desc == "本科高校、郑州市"
    with pytest.raises(UserError, match="没有单位"):
        await bc.broadcasts.resolve_scope(("幼儿园",))


async def test_units_owing_a_task_are_fixed_when_it_is_created(bc: App) -> None:
    await seed(bc)
    c = await bc.broadcasts.create(draft(scope=("本科高校",)), actor=str(ADMIN))
    await bc.units.add("河南师范大学", "本科高校", "新乡", actor="t")
    p = await bc.broadcasts.progress(c.task.id)
    assert p.total == 2 and {u.name for u in p.pending} == {"郑州大学", "河南大学"}
    # a unit deleted since drops out (nobody is left to do it), unless it had confirmed
    await bc.units.delete("河南大学", actor="t")
    p = await bc.broadcasts.progress(c.task.id)
    assert p.total == 1


# ---------------------------------------------------------------- confirming


async def test_same_unit_counts_once_and_second_operator_is_acknowledged(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    first = await bc.broadcasts.confirm(1001, "张三")
    assert first.counted and not first.late and first.unit.name == "郑州大学" and first.task.id == t.id
    second = await bc.broadcasts.confirm(1002, "李四", t.id, proof_url="https://weibo.com/x")
    assert not second.counted and second.first_user == "1001" and second.first_name == "张三" and second.proof
    again = await bc.broadcasts.confirm(1001, "张三")
    assert not again.counted and again.first_user == "1001"
    p = await bc.broadcasts.progress(t.id)
    assert (len(p.done), p.total) == (1, 4)
    async with bc.db.read() as tx:
        rows = await tx.all("SELECT user_id, counted, proof_url FROM broadcast_confirmations ORDER BY id")
    assert [tuple(r) for r in rows] == [("1001", 1, None), ("1002", 0, "https://weibo.com/x"), ("1001", 0, None)]


async def test_progress_lists_each_counted_confirmation_in_the_order_they_came(bc: App) -> None:
    """Progress keeps what it read and reads only the confirmations since: the list stays what a full read gives,
    across new confirmations, a clock moved back, a unit renamed and a write by another connection."""
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task

    async def done() -> list[tuple[str, str]]:
        p = await bc.broadcasts.progress(t.id)
        full = await bc.broadcasts.done_records(t.id)
        assert p.done == full and p.total == 4
        return [(d.unit.name, d.user_id) for d in p.done]

    assert await done() == []
    await bc.broadcasts.confirm(1003, "王五")
    assert await done() == [("河南大学", "1003")]
    await bc.broadcasts.confirm(1002, "李四", t.id)  # a second operator of 郑州大学 later: not counted twice
    await bc.broadcasts.confirm(1001, "张三", t.id)
    assert await done() == [("河南大学", "1003"), ("郑州大学", "1002")]
    clock.advance(-timedelta(hours=1))  # stamped before the ones already read
    await bc.broadcasts.confirm(1004, "赵六", t.id)
    assert await done() == [("郑州市教育局", "1004"), ("河南大学", "1003"), ("郑州大学", "1002")]
    await bc.units.rename("河南大学", "河南大学（本部）", actor=str(ADMIN))
    assert [n for n, _ in await done()] == ["郑州市教育局", "河南大学（本部）", "郑州大学"]
    other = await aiosqlite.connect(bc.db.path)
    await other.execute("UPDATE units SET name='郑州市教育局（新）' WHERE name='郑州市教育局'")
    await other.commit()
    await other.close()
    assert [n for n, _ in await done()] == ["郑州市教育局（新）", "河南大学（本部）", "郑州大学"]


async def test_progress_counts_units_per_category_as_the_task_counts_them(bc: App) -> None:
    """The picture's bar per category (the units a task counts: done, or owing and not deleted)."""
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1001, "张三")
    await bc.units.delete("郑州大学", actor="t")  # confirmed before: still counted
    await bc.units.delete("开封市教育局", actor="t")  # owed and gone: drops out
    p = await bc.broadcasts.progress(t.id)
    assert p.per_category() == {"本科高校": 2, "市教育局": 1} and sum(p.per_category().values()) == p.total


async def test_late_confirmation_is_kept_and_marked(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(deadline=NOW + timedelta(hours=1)), actor=str(ADMIN))).task
    clock.advance(timedelta(hours=2))
    c = await bc.broadcasts.confirm(1003, "王五", images=["http://img/1.jpg"])
    assert c.counted and c.late and c.proof
    p = await bc.broadcasts.progress(t.id)
    assert (len(p.done), p.late) == (1, 1)
    assert "其中逾期 1 个" in progress_message(p, None).plain()
    async with bc.db.read() as tx:
        assert await tx.value("SELECT proof_image FROM broadcast_confirmations") == "http://img/1.jpg"


async def test_unbound_user_is_told_to_register_and_nothing_is_counted(bc: App) -> None:
    await seed(bc)
    await bc.broadcasts.create(draft(), actor=str(ADMIN))
    with pytest.raises(NotBound, match="/注册"):
        await bc.broadcasts.confirm(5555, "路人")
    async with bc.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcast_confirmations") == 0


async def test_several_open_tasks_ask_which_unless_numbered_or_replied(bc: App) -> None:
    await seed(bc)
    t1 = (await bc.broadcasts.create(draft("甲"), actor=str(ADMIN))).task
    t2 = (await bc.broadcasts.create(draft("乙"), actor=str(ADMIN))).task
    with pytest.raises(WhichTask) as e:
        await bc.broadcasts.confirm(1001, "张三")
    assert e.value.task_ids == [t1.id, t2.id] and "/已转发" in str(e.value) and "「乙」" in str(e.value)
    assert (await bc.broadcasts.confirm(1001, "张三", t2.id)).task.id == t2.id
    ids = await deliver(bc)  # announcements of t1 (2 groups), then of t2
    c = await bc.broadcasts.confirm(1003, "王五", reply_to=ids[0])
    assert c.task.id == t1.id and c.counted


async def test_closed_and_withdrawn_tasks_take_no_confirmation_but_admin_may_record_late(bc: App) -> None:
    await seed(bc)
    t1 = (await bc.broadcasts.create(draft("甲"), actor=str(ADMIN))).task
    t2 = (await bc.broadcasts.create(draft("乙"), actor=str(ADMIN))).task
    await bc.broadcasts.close(t1.id, actor=str(ADMIN))
    await bc.broadcasts.withdraw(t2.id, actor=str(ADMIN))
    with pytest.raises(TaskClosed, match="已结束"):
        await bc.broadcasts.confirm(1001, "张三", t1.id)
    with pytest.raises(TaskClosed, match="已撤回"):
        await bc.broadcasts.confirm(1001, "张三", t2.id)
    with pytest.raises(UserError, match="没有需要"):
        await bc.broadcasts.confirm(1001, "张三")
    (c,) = await bc.broadcasts.confirm_for(t1.id, ["郑州大学"], actor=str(ADMIN), actor_name="管理员")
    assert c.counted and c.unit.name == "郑州大学"
    with pytest.raises(TaskClosed):
        await bc.broadcasts.confirm_for(t2.id, ["郑州大学"], actor=str(ADMIN))
    with pytest.raises(TaskClosed):
        await bc.broadcasts.close(t1.id, actor=str(ADMIN))


async def test_unit_outside_the_scope_does_not_confirm(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(scope=("市教育局",)), actor=str(ADMIN))).task
    with pytest.raises(UserError, match="不在统发"):
        await bc.broadcasts.confirm(1001, "张三", t.id)
    with pytest.raises(UserError, match="没有需要"):
        await bc.broadcasts.confirm(1001, "张三")
    with pytest.raises(UserError, match="不在统发"):
        await bc.broadcasts.confirm_for(t.id, ["郑州大学"], actor=str(ADMIN))
    assert (await bc.broadcasts.confirm(1004, "赵六")).counted


async def test_confirm_for_counts_once_too(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1001, "张三")
    a, b = await bc.broadcasts.confirm_for(t.id, ["郑州大学", "开封市教育局"], actor=str(ADMIN))
    assert not a.counted and a.first_user == "1001" and b.counted
    assert len((await bc.broadcasts.progress(t.id)).done) == 2
    records = await bc.broadcasts.done_records(t.id)
    assert [(r.unit.name, r.via) for r in records] == [("郑州大学", "command"), ("开封市教育局", "admin")]


# ---------------------------------------------------------------- replies to the announcement


async def test_reply_lookup_by_sent_ids_survives_a_restart(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    assert await bc.broadcasts.posts.task_of_message("-1") is None  # loads the (empty) map
    ids = await deliver(bc, first_id=-2_147_483_649)
    assert ids[0] == "-2147483649"
    assert await bc.broadcasts.posts.task_of_message(-2147483649) == t.id  # kept in memory by the on_sent hook
    assert await bc.broadcasts.posts.announcement_ids(t.id) == ids
    # a restart: a new service reads the posts back from the database
    fresh = Broadcasts(bc.db, bc.units, bc.outbox, bc.reminders, bc.settings)
    assert await fresh.posts.task_of_message(ids[1]) == t.id
    # crash between the outbox marking a row sent and the hook: the ids are found in the outbox
    async with bc.db.tx() as tx:
        await tx.run("DELETE FROM broadcast_posts")
    fresh = Broadcasts(bc.db, bc.units, bc.outbox, bc.reminders, bc.settings)
    assert await fresh.posts.task_of_message(ids[0]) == t.id and await fresh.posts.task_of_message("12345") is None


async def test_a_message_id_the_client_reuses_belongs_to_the_newest_message(bc: App) -> None:
    """Issue 21.16: a client whose ids restart (the demo with --dir, a client reinstalled) gave the new 统发 #2's
    announcement the id of #1's; `:reply 1 已转发` to #2 was stored for #1, also after a restart of the bot."""
    await seed(bc)
    t1 = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    first = await deliver(bc, first_id=1)
    t2 = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    second = await deliver(bc, first_id=1)
    assert first[0] == second[0] == "1"
    assert await bc.broadcasts.posts.task_of_message("1") == t2.id
    fresh = Broadcasts(bc.db, bc.units, bc.outbox, bc.reminders, bc.settings)
    assert await fresh.posts.task_of_message("1") == t2.id
    assert "1" not in await fresh.posts.announcement_ids(t1.id)
    async with bc.db.tx() as tx:  # and when the posts are rebuilt from the outbox
        await tx.run("DELETE FROM broadcast_posts")
    fresh = Broadcasts(bc.db, bc.units, bc.outbox, bc.reminders, bc.settings)
    assert await fresh.posts.task_of_message("1") == t2.id


async def test_nudge_and_reminder_messages_also_take_replies(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    await deliver(bc)
    await bc.broadcasts.nudge(t.id, actor=str(ADMIN))
    ids = await deliver(bc, first_id=-900)
    assert ids and all([await bc.broadcasts.posts.task_of_message(i) == t.id for i in ids])
    async with bc.db.read() as tx:
        kinds = {r[0] for r in await tx.all("SELECT kind FROM broadcast_posts")}
    assert kinds == {"announce", "nudge"}


# ---------------------------------------------------------------- progress


async def test_progress_lists_units_not_done_by_category_cut_with_a_count(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1001, "张三")
    p = await bc.broadcasts.progress()
    assert (len(p.done), p.total, p.percent) == (1, 4, "25.0%")
    whole = progress_message(p, None).plain()
    assert "已完成 1/4（25.0%）" in whole
    assert whole.index("【市教育局】2 个：郑州市教育局、开封市教育局") < whole.index("【本科高校】1 个：河南大学")
    cut = progress_message(p, 2).plain()
    assert "河南大学" not in cut and "另有 1 个单位未列出" in cut and f"/统发 进度 {t.id}" in cut


async def test_progress_without_number_with_several_open_asks_which(bc: App) -> None:
    await seed(bc)
    await bc.broadcasts.create(draft("甲"), actor=str(ADMIN))
    await bc.broadcasts.create(draft("乙"), actor=str(ADMIN))
    with pytest.raises(WhichTask):
        await bc.broadcasts.progress()
    assert [s.total for s in await bc.broadcasts.listing()] == [4, 4]


# ---------------------------------------------------------------- nudges


async def test_nudge_mentions_only_operators_of_units_not_done_in_batches(tmp_path: Path) -> None:
    async with open_app(tmp_path, alliance_at_batch=2) as app:
        await seed(app)
        await bind(app, 1005, "河南大学", G2)
        await bind(app, 1006, "河南大学")
        t = (await app.broadcasts.create(draft(), actor=str(ADMIN))).task
        await sent(app)
        await app.broadcasts.confirm(1002, "李四")  # 郑州大学 done: 1001 and 1002 are never mentioned
        r = await app.broadcasts.nudge(t.id, actor=str(ADMIN))
        assert (r.pending_units, r.operators, r.orphans) == (3, 4, ["开封市教育局"])
        out = await sent(app)
        assert len(out) == r.messages == 3
        assert all(len(o["ats"]) <= 2 for o in out)
        by_group = {(o["target"][1], qq) for o in out for qq in o["ats"]}
        assert by_group == {(str(GROUP), "1003"), (str(GROUP), "1004"), (str(GROUP), "1006"), (G2, "1005")}
        assert all(f"/已转发 {t.id}" in o["text"] and "还有 3 个单位未确认" in o["text"] for o in out)
        for u in ("河南大学", "开封市教育局", "郑州市教育局"):
            await app.broadcasts.confirm_for(t.id, [u], actor=str(ADMIN))
        r = await app.broadcasts.nudge(None, actor=str(ADMIN))
        assert r.pending_units == 0 and await sent(app) == []


async def test_automatic_nudges_at_offsets_outside_quiet_hours_each_once(tmp_path: Path) -> None:
    async with open_app(tmp_path, alliance_remind_offsets=["1d", "2h"], alliance_quiet_hours="22:00-07:30") as app:
        await seed(app)
        deadline = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
        t = (await app.broadcasts.create(draft(deadline=deadline), actor=str(ADMIN))).task
        await sent(app)
        app.outbox.attach(noop_sender)  # ticks only while a client is connected; the worker is not started
        assert await app.reminders.tick() == 0
        clock.freeze(datetime(2026, 11, 19, 18, 1, tzinfo=TZ))  # 1d before
        assert await app.reminders.tick() == 1
        out = [o for o in await sent(app) if o["target"][0] == "group"]  # (units with nobody to @: admin, privately)
        assert {qq for o in out for qq in o["ats"]} == {"1001", "1002", "1003", "1004"}
        assert all("【统发提醒" in o["text"] and "还剩约 24 小时" in o["text"] for o in out)
        assert await app.reminders.tick() == 0 and await sent(app) == []  # once, never twice
        await app.broadcasts.confirm(1003, "王五")
        clock.freeze(datetime(2026, 11, 20, 16, 1, tzinfo=TZ))  # 2h before
        assert await app.reminders.tick() == 1
        assert {qq for o in await sent(app) for qq in o["ats"]} == {"1001", "1002", "1004"}

        # quiet hours: a nudge due at 23:00 waits for the morning
        late = (
            await app.broadcasts.create(draft("夜间", deadline=datetime(2026, 11, 22, 1, 0, tzinfo=TZ)), actor="t")
        ).task
        await sent(app)
        clock.freeze(datetime(2026, 11, 21, 23, 1, tzinfo=TZ))
        assert await app.reminders.tick() == 0 and await sent(app) == []
        clock.freeze(datetime(2026, 11, 22, 7, 31, tzinfo=TZ))
        assert await app.reminders.tick() == 1
        out = await sent(app)
        assert out and all(f"#{late.id}" in o["text"] for o in out)
        assert t.id != late.id


async def test_closing_or_withdrawing_cancels_the_automatic_nudges(bc: App) -> None:
    await seed(bc)
    t1 = (await bc.broadcasts.create(draft("甲"), actor=str(ADMIN))).task
    t2 = (await bc.broadcasts.create(draft("乙"), actor=str(ADMIN))).task
    await bc.broadcasts.close(t1.id, actor=str(ADMIN))
    await bc.broadcasts.withdraw(t2.id, actor=str(ADMIN))
    out = await sent(bc)
    assert [o["target"][1] for o in out if "【统发撤回】" in o["text"]] == sorted([str(GROUP), G2])
    bc.outbox.attach(noop_sender)
    clock.advance(timedelta(days=3))
    assert await bc.reminders.tick() == 0 and await sent(bc) == []


async def test_reminder_for_a_task_all_done_sends_nothing(bc: App) -> None:
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    for u in ("郑州大学", "河南大学", "郑州市教育局", "开封市教育局"):
        await bc.broadcasts.confirm_for(t.id, [u], actor=str(ADMIN))
    await sent(bc)
    bc.outbox.attach(noop_sender)
    clock.advance(timedelta(days=1, hours=1))
    assert await bc.reminders.tick() == 0 and await sent(bc) == []


# ---------------------------------------------------------------- statistics and per-unit views


async def test_statistics_rank_units_over_a_month_without_withdrawn_tasks(bc: App) -> None:
    await seed(bc)
    t1 = (await bc.broadcasts.create(draft("甲"), actor=str(ADMIN))).task
    t2 = (await bc.broadcasts.create(draft("乙"), actor=str(ADMIN))).task
    t3 = (await bc.broadcasts.create(draft("丙"), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1001, "张三", t1.id)
    await bc.broadcasts.confirm(1001, "张三", t2.id)
    await bc.broadcasts.confirm(1003, "王五", t1.id)
    await bc.broadcasts.confirm(1004, "赵六", t3.id)
    await bc.broadcasts.withdraw(t3.id, actor=str(ADMIN))
    s = await bc.broadcasts.stats.statistics(
        "11月"
    )  # before the deadline: what is done counts, what is not yet does not
    assert (s.label, s.tasks, s.running, s.done, s.owed) == ("2026年11月", 2, 2, 3, 3)
    assert [(r.name, r.done, r.owed) for r in s.rows] == [("郑州大学", 2, 2), ("河南大学", 1, 1)]
    clock.advance(timedelta(days=3))
    s = await bc.broadcasts.stats.statistics("11月")
    assert (s.label, s.tasks, s.running, s.done, s.owed) == ("2026年11月", 2, 0, 3, 8)
    assert [(r.name, r.done, r.owed) for r in s.rows] == [
        ("郑州大学", 2, 2),
        ("河南大学", 1, 2),
        ("开封市教育局", 0, 2),
        ("郑州市教育局", 0, 2),
    ]
    assert (await bc.broadcasts.stats.statistics("10月")).tasks == 0


async def test_unit_completion_and_open_tasks_for_the_query_command(bc: App) -> None:
    await seed(bc)
    unit = await bc.units.resolve("郑州大学")
    old = (await bc.broadcasts.create(draft("旧"), actor=str(ADMIN))).task
    await bc.broadcasts.confirm(1001, "张三", old.id)
    await bc.broadcasts.close(old.id, actor=str(ADMIN))
    clock.advance(timedelta(days=40))
    t1 = (await bc.broadcasts.create(draft("甲", deadline=clock.now() + timedelta(days=1)), actor="a")).task
    t2 = (await bc.broadcasts.create(draft("乙", deadline=clock.now() + timedelta(days=1)), actor="a")).task
    t3 = (await bc.broadcasts.create(draft("丙", deadline=clock.now() + timedelta(days=1)), actor="a")).task
    await bc.broadcasts.confirm(1001, "张三", t1.id)
    await bc.broadcasts.withdraw(t3.id, actor="a")
    # t2 is open and not yet due: not a miss, counted apart
    assert await bc.broadcasts.stats.unit_completion(unit.id) == Completion(1, 1, 1)
    assert await bc.broadcasts.stats.unit_completion(unit.id, days=60) == Completion(2, 2, 1)
    open_ = await bc.broadcasts.stats.open_for_unit(unit.id)
    assert [(u.id, u.title, u.done) for u in open_] == [(t1.id, "甲", True), (t2.id, "乙", False)]


async def test_query_completion_counts_only_tasks_over_or_done(bc: App) -> None:
    """/查询 郑州大学's 近30天统发: a task still open and not yet due is no miss (issue: it counted against the unit)."""
    await seed(bc)
    unit = await bc.units.resolve("郑州大学")
    soon = NOW + timedelta(hours=2)
    missed = (await bc.broadcasts.create(draft("过期未转", deadline=soon), actor="a")).task
    late = (await bc.broadcasts.create(draft("逾期转了", deadline=soon), actor="a")).task
    closed = (await bc.broadcasts.create(draft("提前结束", deadline=NOW + timedelta(days=5)), actor="a")).task
    done_open = (await bc.broadcasts.create(draft("已转未截止"), actor="a")).task
    await bc.broadcasts.create(draft("未转未截止"), actor="a")
    await bc.broadcasts.create(draft("未转未截止2"), actor="a")
    await bc.broadcasts.confirm(1001, "张三", done_open.id)
    await bc.broadcasts.close(closed.id, actor="a")
    clock.advance(timedelta(hours=3))
    await bc.broadcasts.confirm(1001, "张三", late.id)
    assert missed.id == 1
    # over or done: 过期未转 (miss), 逾期转了 (done), 提前结束 (miss), 已转未截止 (done); two open ones not due
    assert await bc.broadcasts.stats.unit_completion(unit.id) == Completion(done=2, owed=4, running=2)


# ---------------------------------------------------------------- schema and speed


async def test_migration_upgrades_a_database_of_the_previous_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    await db.open(upto=2)
    async with db.tx() as tx:
        await tx.run(
            "INSERT INTO units (name, category, created_at) VALUES ('郑州大学', '本科高校', '2026-01-01T00:00:00')"
        )
    await db.close()
    await db.open()
    assert await db.version() >= 3
    async with db.read() as tx:
        assert await tx.value("SELECT name FROM units") == "郑州大学"
        assert await tx.value("SELECT COUNT(*) FROM broadcast_confirmations") == 0
    await db.close()


async def test_burst_of_1000_confirmations_is_fast_complete_and_uses_indexes(bc: App) -> None:
    now = clock.now_db()
    async with bc.db.tx() as tx:
        await tx.many(
            "INSERT INTO units (id, name, category, city, created_at) VALUES (?, ?, '高中', '郑州', ?)",
            [(i, f"第{i}中学", now) for i in range(1, 1001)],
        )
        await tx.many(
            "INSERT INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES (?, ?, ?, ?, ?)",
            [(str(50000 + i), i, f"联络员{i}", str(GROUP), now) for i in range(1, 1001)],
        )
    bc.units.invalidate()
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task

    statements: list[str] = []
    bc.db.conn.set_trace_callback(statements.append)
    await bc.broadcasts.confirm(50001, "联络员1")
    bc.db.conn.set_trace_callback(None)
    async with bc.db.read() as tx:
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                plan = " | ".join(r[3] for r in await tx.all("EXPLAIN QUERY PLAN " + sql))
                assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), (sql, plan)

    started = time.perf_counter()
    results = await asyncio.gather(*(bc.broadcasts.confirm(50000 + i, f"联络员{i}") for i in range(1, 1001)))
    elapsed = time.perf_counter() - started
    assert sum(r.counted for r in results) == 999  # unit 1 had already confirmed
    p = await bc.broadcasts.progress(t.id)
    assert (len(p.done), p.total) == (1000, 1000)
    assert elapsed < 30, elapsed  # typically well under 2 s; generous for a busy shared machine


# ---------------------------------------------------------------- reactions (issue 15)


async def test_reactions_given_while_away_are_caught_up_before_an_automatic_nudge(tmp_path: Path) -> None:
    async with open_app(tmp_path, alliance_remind_offsets=["1d"], alliance_quiet_hours="") as app:
        await seed(app)
        deadline = datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
        t = (await app.broadcasts.create(draft(deadline=deadline), actor=str(ADMIN))).task
        ids = await deliver(app)
        asked: list[tuple[str | None, str, str]] = []

        async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
            asked.append((group_id, message_id, emoji))
            # 1003 (河南大学) gave a thumbs-up while the bot was away; 9999 is bound to no unit
            return ["1003", "9999"] if (message_id, emoji) == (ids[0], "76") else []

        app.broadcasts.reactions.away.lister = lister
        app.outbox.attach(noop_sender)
        clock.freeze(datetime(2026, 11, 19, 18, 1, tzinfo=TZ))
        assert await app.reminders.tick() == 1
        nudged = {qq for o in await sent(app) for qq in o["ats"]}
        assert nudged == {"1001", "1002", "1004"}  # 河南大学 counted before the nudge was built
        async with app.db.read() as tx:
            rows = await tx.all("SELECT user_id, via FROM broadcast_confirmations WHERE task_id=?", (t.id,))
        assert [(r[0], r[1]) for r in rows] == [("1003", "reaction")]
        assert {e for _, _, e in asked} == set(app.settings.alliance_confirm_emojis)
        # a second catch-up counts nobody twice
        assert await app.broadcasts.reactions.away.catch_up(t.id) == 0


async def test_a_client_that_cannot_list_reactions_is_asked_no_further(bc: App) -> None:
    await seed(bc)
    await bc.broadcasts.create(draft(), actor=str(ADMIN))
    await deliver(bc)
    calls = 0

    async def lister(group_id: str | None, message_id: str, emoji: str) -> list[str] | None:
        nonlocal calls
        calls += 1
        return None

    bc.broadcasts.reactions.away.lister = lister
    assert await bc.broadcasts.reactions.away.catch_up() == 0 and calls == 1


@pytest.mark.parametrize(
    ("args", "title", "scope"),
    [
        (
            ["范围", "郑州", "截止", "今晚8点", "郑州教育系统冬季校园安全提示", LINK],
            "郑州教育系统冬季校园安全提示",
            ("郑州",),
        ),
        (["截止", "今晚8点", "范围", "郑州,开封", "冬季 安全提示", LINK], "冬季 安全提示", ("郑州", "开封")),
        (["截止今晚8点", "冬季安全提示", LINK, "范围", "郑州"], "冬季安全提示", ("郑州",)),
        (["截止", "12-11", "18:00", "要求", "转发,点赞", "冬季安全提示", LINK], "冬季安全提示", ()),
    ],
)
def test_options_before_the_title_are_read(args: list[str], title: str, scope: tuple[str, ...]) -> None:
    """Issue 21.10: `/统发 范围 郑州 截止 今晚8点 <标题> <链接>` was refused with 请写上标题."""
    d = parse_draft(args, NOW, timedelta(hours=24))
    assert d.title == title
    assert d.scope == scope


async def test_toggling_a_reaction_300_times_stores_one_confirmation_for_the_unit(bc: App) -> None:
    """Issue 20 item 9: 👍 on, off, on… 300 times (and a second operator of the unit joining in) is one row."""
    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    ids = await deliver(bc)
    counted = [await bc.broadcasts.reactions.confirm_by_reaction(1001, ids[0]) for _ in range(300)]
    counted.append(await bc.broadcasts.reactions.confirm_by_reaction(1002, ids[0]))
    assert [c.counted for c in counted if c is not None] == [True]
    async with bc.db.read() as tx:
        rows = await tx.all("SELECT unit_id, user_id, counted FROM broadcast_confirmations WHERE task_id=?", (t.id,))
    assert [tuple(r) for r in rows] == [(1, "1001", 1)]
    assert (await bc.broadcasts.progress(t.id)).done[0].unit.name == "郑州大学"


async def test_an_announcement_sent_while_the_reply_index_loads_is_still_known(bc: App) -> None:
    """A reaction on a fresh announcement was not counted now and then (tests/e2e/test_confirm_profiles_e2e.py):
    the outbox's hook for the sent announcement ran while the reply index was first loading (its rows read before
    the outbox wrote its outcomes), found no index to update, and the load then set an index without the id."""
    import asyncio

    from bot.broadcasts.records import KIND
    from bot.refs import ANNOUNCE, Ref

    await seed(bc)
    t = (await bc.broadcasts.create(draft(), actor=str(ADMIN))).task
    entered, gate = asyncio.Event(), asyncio.Event()
    read = bc.outbox.reading.sent_about

    async def slow(tx, kind):  # type: ignore[no-untyped-def]
        rows = await read(tx, kind)
        entered.set()
        await gate.wait()
        return rows

    bc.outbox.reading.sent_about = slow  # type: ignore[method-assign]
    loading = asyncio.create_task(bc.broadcasts.posts.task_of_message("-1"))
    await entered.wait()
    hook = asyncio.create_task(bc.broadcasts.posts.on_sent(1, str(Ref(KIND, t.id, ANNOUNCE)), "-4147532846"))
    await asyncio.sleep(0)  # the hook's first step runs while the index is still loading
    gate.set()
    await loading
    await hook
    assert await bc.broadcasts.posts.task_of_message("-4147532846") == t.id
