"""/账号 and /备案 through NoneBot's handlers (nonebug)."""

from __future__ import annotations

import pytest
from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say
from tests.fake import ADMIN, GROUP, group_msg, private_msg

OP = 20001
OP_HENU = 20002
STRANGER = 20009


@pytest.fixture
async def bound(core: App) -> App:
    """郑州大学 with operator OP, 河南大学 with operator OP_HENU."""
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    await core.units.add("河南大学", "本科高校", "开封", actor="t")
    for user, name in ((OP, "郑大"), (OP_HENU, "河南大学")):
        app, _ = await core.units.registrations.apply(str(user), f"用户{user}", str(GROUP), name)
        await core.units.registrations.approve([app.id], actor=str(ADMIN))
    return core


async def account_rows(core: App) -> list[tuple]:
    async with core.db.read() as tx:
        return [tuple(r) for r in await tx.all("SELECT unit_id, platform, name, uid, state FROM accounts ORDER BY id")]


async def test_file_an_opening_and_the_admin_approves_it(app: NBApp, bound: App) -> None:
    out = await say(app, bound, group_msg("/账号 登记 微信 郑州大学 zzu1956 2014-03-01", OP, card="张三"))
    assert len(out) == 1 and out[0]["ats"] == [str(OP)]
    assert "已记录开设备案 #1" in out[0]["text"] and "微信公众号“郑州大学”" in out[0]["text"]

    out = await say(app, bound, group_msg("/备案", ADMIN))
    assert "待审核的备案 1 个" in out[0]["text"]
    assert "#1 开设 郑州大学 微信公众号“郑州大学”" in out[0]["text"] and "张三" in out[0]["text"]

    out = await say(app, bound, group_msg("/备案 通过 1", ADMIN))
    assert "已备案 #1" in out[0]["text"]
    assert (await account_rows(bound))[0][-1] == "正常"

    out = await say(app, bound, group_msg("/账号 列表 郑大", STRANGER))
    assert "“郑州大学”的账号 1 个" in out[0]["text"] and "ID zzu1956" in out[0]["text"]
    assert "备案审核中" not in out[0]["text"]
    out = await say(app, bound, group_msg("/备案", ADMIN))
    assert "没有待审核的备案" in out[0]["text"]


async def test_platform_aliases_through_the_command(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 哔哩哔哩 郑州大学", OP))
    await say(app, bound, group_msg("／账号 登记 公众号 郑大青年", OP))
    assert [r[1] for r in await account_rows(bound)] == ["B站", "微信公众号"]


async def test_quoted_account_name_with_spaces(app: NBApp, bound: App) -> None:
    out = await say(app, bound, group_msg("/账号 登记 抖音 “郑大 青年” zzuqn", OP))
    assert "抖音“郑大 青年”" in out[0]["text"]
    assert (await account_rows(bound))[0][2:4] == ("郑大 青年", "zzuqn")


async def test_duplicate_opening_is_refused(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑州大学", OP))
    out = await say(app, bound, group_msg("/账号 登记 新浪微博 郑州大学", OP))
    assert "不必重复登记" in out[0]["text"]
    assert len(await account_rows(bound)) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/账号 登记 脸书 郑州大学", "不认识平台"),
        ("/账号 登记 微博", "用法：/账号 登记"),
        ("/账号 登记", "用法：/账号 登记"),
        ("/账号 登记 微博 a b c d", "用法：/账号 登记"),
        ("/账号 登记 微博 郑州大学 zzu 去年", "看不懂日期"),
        ("/账号 登记 微博 “郑州大学", "引号"),
        ("/账号", "用法：/账号 登记|变更|注销|列表"),
        ("/账号 开户 微博 郑大", "用法：/账号 登记|变更|注销|列表"),
        ("/账号 变更 微博 郑大", "用法：/账号 变更"),
        ("/账号 变更 微博 郑大 粉丝=3", "字段=值"),
        ("/账号 变更 微博 不存在 名称=x", "没有找到微博账号"),
        ("/账号 注销 微博", "用法：/账号 注销"),
        ("/账号 注销 微博 不存在", "没有找到微博账号"),
        ("/账号 列表 火星大学", "没有找到单位"),
    ],
)
async def test_errors_say_what_to_type(app: NBApp, bound: App, text: str, expected: str) -> None:
    out = await say(app, bound, group_msg(text, OP))
    assert len(out) == 1
    assert expected in out[0]["text"]
    assert "Traceback" not in out[0]["text"] and "出了问题" not in out[0]["text"]
    assert await account_rows(bound) == []


async def test_unbound_user_is_told_to_register(app: NBApp, bound: App) -> None:
    out = await say(app, bound, group_msg("/账号 登记 微博 郑州大学", STRANGER))
    assert "/注册" in out[0]["text"]
    out = await say(app, bound, group_msg("/账号 列表", STRANGER))
    assert "请写出单位名称" in out[0]["text"]
    assert await account_rows(bound) == []


async def test_change_and_closure_through_review(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    await say(app, bound, group_msg("/备案 通过 1", ADMIN))
    out = await say(app, bound, group_msg("/账号 变更 微博 郑大 名称=郑州大学 账号ID＝zzu", OP))
    assert "已记录变更备案 #2" in out[0]["text"] and "名称→郑州大学" in out[0]["text"]
    approved = await say(app, bound, group_msg("/备案 通过 #2", ADMIN))
    assert (await account_rows(bound))[0][2:] == ("郑州大学", "zzu", "正常")
    # issue 21.15: an approved rename read 微博“郑州大学”：名称→郑州大学 (the account's new name as the old)
    texts = " ".join(o["text"] for o in approved)
    assert "微博“郑大”：名称→郑州大学" in texts and "“郑州大学”：名称→郑州大学" not in texts

    out = await say(app, bound, group_msg("/账号 注销 微博 郑州大学", OP))
    assert "已记录注销备案 #3" in out[0]["text"]
    out = await say(app, bound, group_msg("/账号 注销 微博 郑州大学", OP))
    assert "审核中" in out[0]["text"]
    await say(app, bound, group_msg("/备案 通过 3", ADMIN))
    assert (await account_rows(bound))[0][-1] == "已注销"
    out = await say(app, bound, group_msg("/账号 列表", OP))
    assert "还没有登记账号" in out[0]["text"]


async def test_operator_cannot_touch_another_units_account(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑州大学", OP))
    out = await say(app, bound, group_msg("/账号 注销 微博 郑州大学", OP_HENU))
    assert "没有找到微博账号" in out[0]["text"]
    out = await say(app, bound, group_msg("/账号 变更 微博 郑州大学 名称=河南大学", OP_HENU))
    assert "没有找到微博账号" in out[0]["text"]
    async with bound.db.read() as tx:
        assert await tx.value("SELECT COUNT(*) FROM filings") == 1


async def test_reject_tells_the_filer_privately(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    out = await say(app, bound, group_msg("/备案 驳回 1 名称不规范", ADMIN))
    by_target = {o["target"]: o["text"] for o in out}
    assert "已驳回 #1" in by_target[("group", str(GROUP))] and "名称不规范" in by_target[("group", str(GROUP))]
    assert "被驳回" in by_target[("private", str(OP))] and "名称不规范" in by_target[("private", str(OP))]
    assert (await account_rows(bound))[0][-1] == "已驳回"


async def test_approve_several_with_one_bad_number(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    await say(app, bound, group_msg("/账号 登记 抖音 郑大", OP))
    out = await say(app, bound, group_msg("/备案 通过 1 99 2", ADMIN))
    text = out[0]["text"]
    assert "已备案 #1" in text and "已备案 #2" in text and "#99 未通过" in text
    assert [r[-1] for r in await account_rows(bound)] == ["正常", "正常"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/备案 通过", "请写出要通过的备案编号"),
        ("/备案 通过 abc", "备案编号应是数字"),
        ("/备案 通过 1.5", "备案编号应是数字"),
        ("/备案 驳回", "请写出要驳回的备案编号"),
        ("/备案 驳回 abc 理由", "备案编号应是数字"),
        ("/备案 驳回 42", "没有编号为 42 的备案"),
        ("/备案 随便", "用法：/备案"),
    ],
)
async def test_filing_review_errors(app: NBApp, bound: App, text: str, expected: str) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    out = await say(app, bound, group_msg(text, ADMIN))
    assert expected in out[0]["text"]
    assert (await account_rows(bound))[0][-1] == "待审核"


@pytest.mark.parametrize("text", ["/备案", "/备案 通过 1", "/备案 驳回 1 不行"])
async def test_only_admins_review_filings(app: NBApp, bound: App, text: str) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    out = await say(app, bound, group_msg(text, OP))
    assert "只有管理员" in out[0]["text"]
    assert (await account_rows(bound))[0][-1] == "待审核"


async def test_admin_reviews_in_a_private_chat(app: NBApp, bound: App) -> None:
    await say(app, bound, group_msg("/账号 登记 微博 郑大", OP))
    out = await say(app, bound, private_msg("/备案 通过 1", ADMIN))
    assert out[0]["target"] == ("private", str(ADMIN)) and out[0]["ats"] == []
    assert "已备案 #1" in out[0]["text"]


async def test_account_list_in_the_group_is_cut(app: NBApp, core: App) -> None:
    core.settings = core.settings.model_copy(update={"alliance_group_list_limit": 3})
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")
    a, _ = await core.units.registrations.apply(str(OP), "张三", str(GROUP), "郑州大学")
    await core.units.registrations.approve([a.id], actor=str(ADMIN))
    for i in range(5):
        await core.accounts.file_opening(str(OP), "张三", "微博", f"郑大{i}")
    out = await say(app, core, group_msg("/账号 列表", OP))
    assert "账号 5 个" in out[0]["text"] and "另有 2 条未列出" in out[0]["text"]
    out = await say(app, core, private_msg("/账号 列表", OP))
    assert "另有" not in out[0]["text"] and "郑大4" in out[0]["text"]


async def test_approval_tells_the_filer_privately_once(app: NBApp, bound: App) -> None:
    """Issue 13 item 19: a filing's approval is told to the operator, as rejections are."""
    await say(app, bound, group_msg("/账号 登记 视频号 河科大视频号", OP))
    await say(app, bound, group_msg("/账号 登记 抖音 郑大", OP))
    out = await say(app, bound, group_msg("/备案 通过 1 2", ADMIN))
    assert out[0]["target"] == ("group", str(GROUP)) and "已备案 #1" in out[0]["text"]
    (told,) = [o for o in out if o["target"] == ("private", str(OP))]
    assert "已通过" in told["text"] and "河科大视频号" in told["text"] and "#2" in told["text"]
