"""/报送 表格|文件|模板|接受|汇总|打包 and uploads through NoneBot's handlers (nonebug): who may, and what to type."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment
from nonebug import App as NBApp

from bot.app import App
from tests.conftest import say, sent, stopped_clock
from tests.fake import ADMIN, GROUP, group_msg

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
ZZU = 20001


frozen = stopped_clock(NOW)


async def setup(core: App) -> None:
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t", aliases=("郑大",))
    a, _ = await core.units.registrations.apply(ZZU, "张三", GROUP, "郑州大学")
    await core.units.registrations.approve([a.id], actor="t")
    await sent(core)


async def test_admin_creates_a_file_return_and_the_notice_says_to_upload(app: NBApp, core: App) -> None:
    await setup(core)
    out = await say(app, core, group_msg("/报送 新建 新媒体统计 截止 10-31 17:30 表格 统计表,扫描件", ADMIN))
    notice = next(o for o in out if o["text"].startswith("【报送】"))
    assert (
        "请联络员把统计表（.xlsx 或 .xls，按官方格式）和首页加盖单位公章的扫描件（PDF 或图片）直接上传到本群文件"
        in notice["text"]
    )
    assert "/已报送" not in notice["text"]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("/报送 汇总 1", "只有管理员可以汇总报送"),
        ("/报送 打包 1", "只有管理员可以打包报送文件"),
        ("/报送 模板 1", "只有管理员可以设置报送模板"),
        ("/报送 接受 1 郑州大学", "只有管理员可以接受需修改的文件"),
        ("/报送 文件", "用法：/报送 文件 <编号> [单位]"),
        ("/报送 文件 1", "你没有等待说明的文件"),
        ("/报送 表格 1 河南大学", "联络员只能领取本单位的表格：/报送 表格 1"),
    ],
)
async def test_what_operators_may_not_do_says_what_to_type(app: NBApp, core: App, text: str, expect: str) -> None:
    await setup(core)
    await say(app, core, group_msg("/报送 新建 新媒体统计 截止 10-31 17:30 表格 统计表", ADMIN))
    out = await say(app, core, group_msg(text, ZZU))
    assert expect in out[0]["text"], out


async def test_operator_gets_the_prefilled_form_privately(app: NBApp, core: App) -> None:
    await setup(core)
    await say(app, core, group_msg("/报送 新建 新媒体统计 截止 10-31 17:30 表格 统计表", ADMIN))
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        ctx.should_call_api("upload_private_file", _AnyUpload(str(ZZU)), None)
        await bot.handle_event(group_msg("/报送 表格", ZZU))
    out = await sent(core)
    assert out[0]["text"].endswith("报送 #1《新媒体统计》的表格：已私聊发给 1 个单位的联络员（郑州大学）。"), out


async def test_a_file_message_with_no_file_return_open_is_left_alone(app: NBApp, core: App) -> None:
    await setup(core)
    seg = MessageSegment("file", {"file": "郑大.xlsx", "file_id": "/abc", "file_size": "100"})
    out = await say(app, core, group_msg(Message(seg), ZZU))
    assert out == []


class _AnyUpload(dict):
    """Matches upload_private_file's parameters for one user, whatever the generated path."""

    def __init__(self, user: str) -> None:
        super().__init__()
        self.user = user

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, dict)
            and str(other.get("user_id")) == self.user
            and str(other.get("name", "")).endswith(".xlsx")
            and "郑州大学统计表" in str(other.get("name"))
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


async def test_nudge_names_the_units_whose_file_needs_changes(app: NBApp, core: App) -> None:
    from bot.returns.files.records import Upload
    from sim import samples

    await setup(core)
    await say(app, core, group_msg("/报送 新建 新媒体统计 截止 10-31 17:30 表格 统计表", ADMIN))
    data = samples.xlsx(samples.stats_rows("郑州大学", 3, {0: "date"}))

    async def give(cap: int) -> bytes:
        return data

    await core.return_files.receive(
        Upload(str(ZZU), "张三", str(GROUP), "郑大.xlsx", len(data), "f"), give, is_admin=False
    )
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    reply = next(o for o in out if o["ats"] == [str(ADMIN)])
    assert "其中需修改（1，已交文件但有问题）：郑州大学" in reply["text"]


# ---------------------------------------------------------------- issue 21: two forms in one return, and how to hand in

ISSUE21 = "/报送 新建 新媒体（网站）基本情况统计 截止 12月11日17:30 表格 统计表,汇总表,扫描件"


async def test_a_return_asking_for_two_forms_asks_for_both(app: NBApp, core: App) -> None:
    await setup(core)
    out = await say(app, core, group_msg(ISSUE21, ADMIN))
    notice = next(o for o in out if o["text"].startswith("【报送】"))["text"]
    assert "统计表、汇总表（.xlsx 或 .xls，按官方格式，每张表一个文件）和首页加盖单位公章的扫描件" in notice
    assert "/已报送" not in notice


class _UploadOf(dict):
    """Matches upload_private_file's parameters for one user and one form, whatever the generated path."""

    def __init__(self, user: str, form: str) -> None:
        super().__init__()
        self.user, self.form = user, form

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, dict)
            and str(other.get("user_id")) == self.user
            and str(other.get("name", "")).endswith(".xlsx")
            and f"郑州大学{self.form}" in str(other.get("name"))
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


async def test_the_form_command_hands_out_every_form(app: NBApp, core: App) -> None:
    await setup(core)
    await say(app, core, group_msg(ISSUE21, ADMIN))
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        ctx.should_call_api("upload_private_file", _UploadOf(str(ZZU), "统计表"), None)
        ctx.should_call_api("upload_private_file", _UploadOf(str(ZZU), "汇总表"), None)
        await bot.handle_event(group_msg("/报送 表格 1", ZZU))
    out = await sent(core)
    assert out[0]["text"].endswith(
        "报送 #1《新媒体（网站）基本情况统计》的表格（统计表、汇总表各一份）：已私聊发给 1 个单位的联络员（郑州大学）。"
    ), out


async def test_my_unit_privately_says_to_upload_the_forms_not_to_send_submitted(app: NBApp, core: App) -> None:
    from tests.fake import private_msg

    await setup(core)
    await say(app, core, group_msg(ISSUE21, ADMIN))
    out = await say(app, core, private_msg("/我的单位", ZZU))
    text = out[0]["text"]
    assert "/已报送" not in text, text
    assert (
        "报送 #1《新媒体（网站）基本情况统计》 截止 12月11日 17:30：未报送，请把统计表、汇总表和盖章扫描件上传到群文件"
        "或私聊发给机器人（发 /报送 表格 1 领取本单位的表格）" in text
    ), text


async def test_every_place_that_says_how_to_hand_in_names_the_files(app: NBApp, core: App) -> None:
    from bot.returns.files.records import Upload
    from sim import samples

    await setup(core)
    await say(app, core, group_msg(ISSUE21, ADMIN))
    data = samples.xlsx(samples.stats_rows("郑州大学", 2))

    async def give(cap: int) -> bytes:
        return data

    await core.return_files.receive(
        Upload(str(ZZU), "张三", str(GROUP), "郑大.xlsx", len(data), "f"), give, is_admin=False
    )
    await sent(core)
    out = await say(app, core, group_msg("/已报送 1", ZZU))
    assert (
        "报送 #1《新媒体（网站）基本情况统计》 要交文件：请把填好的汇总表和盖章扫描件上传到群文件或私聊发给机器人"
        in out[0]["text"]
    )
    out = await say(app, core, group_msg("/查询", ZZU))
    assert "未交齐（已交统计表，还差汇总表和盖章扫描件：上传到群文件或私聊发给机器人）" in out[0]["text"], out
    out = await say(app, core, group_msg("/报送", ZZU))
    text = out[0]["text"]
    assert "本单位未交齐" in text and "/已报送" not in text, text
    assert "要交文件的报送：把要交的文件上传到群文件或私聊发给机器人" in text
    out = await say(app, core, private_msg_("/我的单位"))
    assert "未交齐（已交统计表），请把汇总表和盖章扫描件上传到群文件或私聊发给机器人" in out[0]["text"], out
    out = await say(app, core, group_msg("/报送 进度 1", ADMIN))
    assert "其中已交一部分（1）：郑州大学（还差汇总表）" in out[0]["text"], out
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    nudge = next(o for o in out if str(ZZU) in o["ats"])["text"]
    assert "请把统计表、汇总表和盖章扫描件上传到群文件或私聊发给机器人（交齐才算已报送）" in nudge, nudge
    assert "/已报送" not in nudge


def private_msg_(text: str):
    from tests.fake import private_msg

    return private_msg(text, ZZU)


async def test_a_scan_only_return_never_offers_a_form_to_fetch(app: NBApp, core: App) -> None:
    await setup(core)
    out = await say(app, core, group_msg("/报送 新建 盖章承诺书 截止 10-31 17:30 扫描件", ADMIN))
    notice = next(o for o in out if o["text"].startswith("【报送】"))["text"]
    assert "/报送 表格" not in notice and "首页加盖单位公章的扫描件（PDF 或图片）" in notice
    out = await say(app, core, group_msg("/报送 催办 1", ADMIN))
    nudge = next(o for o in out if str(ZZU) in o["ats"])["text"]
    assert "请把盖章扫描件上传到群文件或私聊发给机器人" in nudge and "/报送 表格" not in nudge, nudge
    out = await say(app, core, private_msg_("/我的单位"))
    assert "未报送，请把盖章扫描件上传到群文件或私聊发给机器人" in out[0]["text"], out
