"""Issue 13 items 3-6 and 12 through NoneBot's handlers: scopes, dates as dates, aliases, filings, number lists."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nonebug import App as NBApp

from bot import clock
from bot.accounts import duplicate_filings
from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg

OP, OP2 = 20001, 20002


async def seed(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    await core.units.add("河南工业职业技术学院", "高职高专", "南阳", actor="t")
    await core.units.add("郑州市第一中学", "高中", "郑州", actor="t")
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")
    await core.units.add("金水区教育局", "县区教育局", "郑州", actor="t")
    for user, unit in ((OP, "郑州大学"), (OP2, "河南大学")):
        a, _ = await core.units.registrations.apply(str(user), f"用户{user}", str(GROUP), unit)
        await core.units.registrations.approve([a.id], actor=str(ADMIN))


async def account(core: App, user: int = OP) -> dict:
    async with core.db.read() as tx:
        row = await tx.one("SELECT * FROM accounts WHERE id=(SELECT MAX(id) FROM accounts)")
    return dict(row)


async def filing_states(core: App) -> dict[int, tuple[str, str | None]]:
    async with core.db.read() as tx:
        return {r["id"]: (r["state"], r["reason"]) for r in await tx.all("SELECT id, state, reason FROM filings")}


# ---------------------------------------------------------------- item 3: 范围 高校


async def test_scope_gaoxiao_means_both_university_categories_and_says_so(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/统发 测试 https://a.cn/9 截止 明天18点 范围 高校", ADMIN))
    note = next(o for o in out if "【一键统发 #1】" in o["text"])
    assert "本科高校、高职高专（共 3 个单位）" in note["text"]
    out = await say(app, core, group_msg("/统发 测试二 https://a.cn/8 范围 中小学", ADMIN))
    assert any("高中、初中、小学（共 1 个单位）" in o["text"] for o in out)
    out = await say(app, core, group_msg("/统发 测试三 https://a.cn/7 范围 教育局", ADMIN))
    assert any("市教育局、县区教育局（共 2 个单位）" in o["text"] for o in out)


async def test_unit_category_gaoxiao_is_asked_about(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/单位 添加 新乡学院 高校 新乡", ADMIN))
    assert "本科高校、高职高专" in out[0]["text"] and "哪一个" in out[0]["text"]
    assert await core.units.find("新乡学院") is None


# ---------------------------------------------------------------- item 4: a date where an ID was expected


async def test_a_date_in_the_id_place_is_the_opening_date(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/账号 登记 视频号 河科大视频号 2023/9/1", OP))
    assert "已记录开设备案" in out[0]["text"]
    row = await account(core)
    assert (row["uid"], row["opened_on"]) == ("", "2023-09-01")
    await say(app, core, group_msg("/账号 登记 抖音 郑大抖音 2012年5月", OP))
    row = await account(core)
    assert (row["uid"], row["opened_on"]) == ("", "2012-05-01")
    await say(app, core, group_msg("/账号 登记 微博 郑大微博 2012-05 zzuweibo", OP))
    row = await account(core)
    assert (row["uid"], row["opened_on"]) == ("zzuweibo", "2012-05-01")


# ---------------------------------------------------------------- item 5: aliases never take over another unit


async def test_an_alias_that_finds_another_unit_is_refused(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/单位 别名 郑州大学 hndx", ADMIN))
    assert "河南大学" in out[0]["text"] and "不能" in out[0]["text"]
    assert (await core.units.resolve("hndx")).name == "河南大学"
    out = await say(app, core, group_msg("/单位 别名 郑州大学 zzdx", ADMIN))
    assert "已为“郑州大学”添加简称" in out[0]["text"]


async def test_unit_add_with_aliases_runs_the_same_takeover_check(app: NBApp, core: App) -> None:
    """`/单位 添加 … 别名 …` asks the name index like `/单位 别名`: nothing is added when an alias is refused."""
    await seed(core)
    out = await say(app, core, group_msg("/单位 添加 河南农业大学 本科高校 郑州 别名 河农 hndx", ADMIN))
    text = out[0]["text"]
    assert "“hndx”现在就指“河南大学”" in text and "河南农业大学”没有添加" in text and "再发一次" in text
    assert await core.units.find("河南农业大学") is None and await core.units.find("河农") is None
    out = await say(app, core, group_msg("/单位 添加 河南农业大学 本科高校 郑州 别名 郑大", ADMIN))
    assert "已属于“郑州大学”" in out[0]["text"] and await core.units.find("河南农业大学") is None
    out = await say(app, core, group_msg("/单位 添加 河南农业大学 本科高校 郑州 别名 郑州大学\u200b", ADMIN))
    assert "是另一个单位“郑州大学”的全称" in out[0]["text"]
    out = await say(app, core, group_msg("/单位 添加 河南农业大学 本科高校 郑州 别名 河农、hnnd", ADMIN))
    assert "已添加单位“河南农业大学”（本科高校，郑州）。简称：hnnd、河农" in out[0]["text"]
    assert (await core.units.resolve("河农")).name == "河南农业大学"
    out = await say(app, core, group_msg("/单位 添加 河南工业大学 本科高校 郑州 别名", ADMIN))
    assert "用法：/单位 添加" in out[0]["text"] and await core.units.find("河南工业大学") is None


# ---------------------------------------------------------------- item 6: filings that can no longer apply


async def test_approving_a_closure_closes_the_accounts_other_filings(app: NBApp, core: App) -> None:
    await seed(core)
    await say(app, core, group_msg("/账号 登记 微博 郑大", OP))  # 1
    await say(app, core, group_msg("/账号 变更 微博 郑大 账号ID=zzu", OP))  # 2
    await say(app, core, group_msg("/账号 变更 微博 郑大 开通日期=2015-05-04", OP))  # 3
    await say(app, core, group_msg("/账号 注销 微博 郑大", OP))  # 4
    out = await say(app, core, group_msg("/备案 通过 4 1 2 3", ADMIN))
    text = out[0]["text"]
    assert "已备案 #4" in text
    for n in (1, 2, 3):
        assert f"#{n} 已作废" in text and "已注销" in text
    states = await filing_states(core)
    assert states[4][0] == "已备案"
    assert all(states[n][0] == "已驳回" and "注销备案 #4" in (states[n][1] or "") for n in (1, 2, 3))
    out = await say(app, core, group_msg("/备案", ADMIN))
    assert "没有待审核的备案" in out[0]["text"]


async def test_a_change_left_pending_on_a_closed_account_is_voided_when_approved(app: NBApp, core: App) -> None:
    await seed(core)
    await say(app, core, group_msg("/账号 登记 微博 郑大", OP))  # 1
    await say(app, core, group_msg("/备案 通过 1", ADMIN))
    await say(app, core, group_msg("/账号 变更 微博 郑大 账号ID=zzu", OP))  # 2
    async with core.db.tx() as tx:  # closed some other way meanwhile
        await tx.run("UPDATE accounts SET state='已注销'")
    out = await say(app, core, group_msg("/备案 通过 2", ADMIN))
    assert "#2 已作废" in out[0]["text"]
    assert (await filing_states(core))[2][0] == "已驳回"


async def test_identical_pending_changes_are_flagged(app: NBApp, core: App) -> None:
    await seed(core)
    await say(app, core, group_msg("/账号 登记 微博 郑大", OP))
    await say(app, core, group_msg("/账号 变更 微博 郑大 账号ID=zzu", OP))
    out = await say(app, core, group_msg("/账号 变更 微博 郑大 账号ID=zzu", OP))
    assert "相同内容的变更备案 #2 已在审核中" in out[0]["text"]
    async with core.db.tx() as tx:  # two identical ones filed before this check existed
        await tx.run(
            "INSERT INTO filings (kind, account_id, unit_id, changes, filed_by, filed_at) "
            "SELECT kind, account_id, unit_id, changes, filed_by, filed_at FROM filings WHERE id=2"
        )
    out = await say(app, core, group_msg("/备案", ADMIN))
    assert "与 #2 内容相同" in out[0]["text"]
    assert duplicate_filings(await core.accounts.pending()) == {3: 2}
    out = await say(app, core, group_msg("/备案 通过 2", ADMIN))
    assert "#3 已作废" in out[0]["text"]


# ---------------------------------------------------------------- item 12: number lists and counts


@pytest.mark.parametrize("text", ["/审核 通过 1-3", "/审核 通过 1,2,3", "/审核 通过 1、2、3", "/审核 通过 全部"])
async def test_review_accepts_ranges_commas_and_all(app: NBApp, core: App, text: str) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    for user in (21001, 21002, 21003):
        await say(app, core, group_msg("/注册 郑州大学", user))
    assert [a.id for a in await core.units.registrations.pending()] == [1, 2, 3]
    out = await say(app, core, group_msg(text, ADMIN))
    assert all(f"已通过 #{n}" in "".join(o["text"] for o in out) for n in (1, 2, 3)), out
    assert await core.units.registrations.pending() == []


async def test_filing_approval_accepts_ranges(app: NBApp, core: App) -> None:
    await seed(core)
    for platform in ("微博", "抖音", "快手"):
        await say(app, core, group_msg(f"/账号 登记 {platform} 郑大", OP))
    out = await say(app, core, group_msg("/备案 通过 1-3", ADMIN))
    assert all(f"已备案 #{n}" in out[0]["text"] for n in (1, 2, 3))


async def test_all_over_twenty_asks_once_first(app: NBApp, core: App) -> None:
    await seed(core)
    for i in range(24):
        await core.units.registrations.apply(str(30000 + i), f"新人{i}", str(GROUP), "郑州市第一中学")
    out = await say(app, core, group_msg("/审核 通过 全部", ADMIN))
    assert "24 个" in out[0]["text"] and "/审核 通过 全部 确认" in out[0]["text"]
    assert len(await core.units.registrations.pending()) == 24
    await core.units.registrations.apply("39999", "后来的", str(GROUP), "郑州市第一中学")  # came in after the question
    out = await say(app, core, group_msg("/审核 通过 全部 确认", ADMIN))
    assert any("已通过" in o["text"] for o in out)
    assert [a.user_name for a in await core.units.registrations.pending()] == ["后来的"]


async def test_follower_counts_as_people_type_them(app: NBApp, core: App) -> None:
    await seed(core)
    await say(app, core, group_msg("/账号 登记 微信 郑大", OP))
    await say(app, core, group_msg("/备案 通过 1", ADMIN))
    for text, shown in (
        ("/粉丝 1.5万 微信", "15,000"),
        ("/粉丝 微信 1.5万人", "15,000"),
        ("/粉丝 微信 一万", "10,000"),
        ("/粉丝 微信 １．３万", "13,000"),
    ):
        out = await say(app, core, group_msg(text, OP))
        assert f"粉丝 {shown}" in out[0]["text"], (text, out)


# ---------------------------------------------------------------- items 1 and 2 through the handler


async def test_a_yearless_date_just_past_is_refused_not_moved_to_next_year(app: NBApp, core: App) -> None:
    await seed(core)
    clock.freeze(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    for text in ("/统发 测试 https://a.cn/9 截止 11-30 18:00", "/统发 测试 https://a.cn/9 截止 11月25日"):
        out = await say(app, core, group_msg(text, ADMIN))
        assert len(out) == 1 and "已经过去了" in out[0]["text"] and "2027" not in out[0]["text"], out
    out = await say(app, core, group_msg("/报送 新建 统计表 截止 11-30 18:00", ADMIN))
    assert "已经过去了" in out[0]["text"]
    async with core.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM broadcasts") == 0
        assert await tx.value("SELECT COUNT(*) FROM returns") == 0


async def test_options_before_the_link_through_the_handler(app: NBApp, core: App) -> None:
    await seed(core)
    clock.freeze(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    out = await say(app, core, group_msg("/统发 顺序 截止 明天18点 https://a.cn/o", ADMIN))
    note = next(o for o in out if "【一键统发 #1】" in o["text"])
    assert note["text"].startswith("【一键统发 #1】顺序\n") and "截止：12月2日 18:00" in note["text"], note["text"]


async def test_unit_list_gaoxiao_lists_both_categories(app: NBApp, core: App) -> None:
    await seed(core)
    out = await say(app, core, group_msg("/单位 列表 高校", OP))
    text = out[0]["text"]
    assert "郑州大学" in text and "河南工业职业技术学院" in text and "郑州市第一中学" not in text
