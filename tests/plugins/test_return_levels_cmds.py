"""/报送 新建 … 逐级汇总, /报送 进度|接受|退回|上报|汇总 through NoneBot's handlers with the sample roster and a 郑州
city admin (issue 24.3)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from nonebot.adapters.onebot.v11 import Bot
from nonebug import App as NBApp

from bot.app import App
from tests.bot.test_return_levels import ERQI, JINSHUI, OPS, ZZU, hand
from tests.conftest import ROSTER, say, sent, stopped_clock
from tests.fake import ADMIN, GROUP, group_msg, private_msg

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=TZ)
CITY = 30001


frozen = stopped_clock(NOW)


class _Upload(dict):
    """Matches upload_private_file's parameters for one user and a file name part, whatever the generated path."""

    def __init__(self, user: str, part: str) -> None:
        super().__init__()
        self.user, self.part = user, part

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, dict) and str(other.get("user_id")) == self.user and self.part in str(other.get("name"))
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


async def setup(app: NBApp, core: App) -> None:
    from bot.roster import import_file

    await import_file(core.units, ROSTER)
    for qq, unit in OPS.items():
        a, _ = await core.units.registrations.apply(qq, f"联络员{qq}", GROUP, unit)
        await core.units.registrations.approve([a.id], actor="t")
    await core.roles.appoint(str(ADMIN), str(CITY), "郑州市教育局")
    await sent(core)
    out = await say(
        app, core, group_msg("/报送 新建 新媒体统计 逐级汇总 截止 10-31 17:30 表格 统计表 范围 郑州,开封", ADMIN)
    )
    assert any("已记录：报送 #1《新媒体统计》" in m["text"] for m in out), out
    notice = next(m["text"] for m in out if m["target"] == ("group", str(GROUP)) and "【报送】" in m["text"])
    assert "本报送逐级汇总：各市所属单位交的文件由本市教育局审核" in notice


async def test_units_to_zhengzhou_one_sent_back_then_accepted_then_handed_up(app: NBApp, core: App) -> None:
    await setup(app, core)
    await hand(core, JINSHUI, 4)
    await hand(core, ERQI, 3, {0: "date"})
    await hand(core, ZZU, 5)
    await sent(core)

    out = await say(app, core, private_msg("/报送 进度 1", CITY))
    text = out[0]["text"]
    assert "郑州市教育局及其下级单位：已交 1/13，需修改 1，未交 11" in text, text
    assert "需修改（1）：郑州市二七区教育局" in text and "已交（1）：郑州市金水区教育局" in text
    assert "郑州大学" not in text  # a university hands in to the province, not to 郑州

    # outside the city's scope: refused, naming the scope
    out = await say(app, core, private_msg("/报送 接受 1 郑州大学", CITY))
    assert "“郑州大学”不在你的管理范围（郑州市教育局及其下级单位）内" in out[0]["text"]
    out = await say(app, core, private_msg("/报送 退回 1 郑州大学", CITY))
    assert "不在你的管理范围" in out[0]["text"]
    # an operator may do neither
    out = await say(app, core, group_msg("/报送 上报 1", JINSHUI))
    assert "只有管理员可以上报本市汇总的报送" in out[0]["text"]

    out = await say(app, core, private_msg("/报送 上报 1 确认", CITY))
    assert "还有 1 个单位的文件需修改：郑州市二七区教育局" in out[0]["text"]
    out = await say(app, core, private_msg("/报送 退回 1 郑州市金水区教育局 粉丝数填错了", CITY))
    assert [m["target"] for m in out] == [("private", str(JINSHUI)), ("private", str(CITY))], out
    assert "原因：粉丝数填错了" in out[0]["text"]
    assert out[1]["text"].startswith(
        "已退回“郑州市金水区教育局”的“郑州市金水区教育局统计表.xlsx”（需修改：粉丝数填错了）"
    )
    out = await say(app, core, private_msg("/报送 接受 1 郑州市二七区教育局", CITY))
    assert out[0]["text"].startswith("已接受“郑州市二七区教育局”")
    assert "已记为已报送" in await hand(core, JINSHUI, 4, tag="改")
    await sent(core)

    out = await say(app, core, private_msg("/报送 上报 1", CITY))
    assert "还有 11 个单位没交" in out[0]["text"] and "请发 /报送 上报 1 确认" in out[0]["text"]
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        ctx.should_call_api("upload_private_file", _Upload(str(CITY), "郑州市教育局汇总"), None)
        await bot.handle_event(private_msg("/报送 上报 1 确认", CITY))
    out = await sent(core)
    assert out[0]["target"] == ("private", str(ADMIN)) and "郑州市教育局 联络员" not in out[0]["text"]
    mine = out[-1]["text"]
    assert mine.startswith("已上报：郑州市教育局汇总的报送 #1《新媒体统计》（2/13 个单位，7 行"), mine
    assert "上报的汇总表，已上传到私聊" in mine

    # the province: 郑州 已上报 with who signed it off, 开封 未开始; a drill-down into 郑州
    out = await say(app, core, group_msg("/报送 进度 1", ADMIN))
    text = out[0]["text"]
    assert "郑州市教育局：已上报（" in text and "10月20日 09:00 签收，2/13 个单位）" in text, text
    assert "开封市教育局：未开始（0/10 个单位已交，其中 10 个单位无联络员）" in text
    assert "直接报省的单位：已报送 1/" in text
    out = await say(app, core, group_msg("/报送 进度 1 郑州", ADMIN))
    assert "郑州市教育局：已交 2/13" in out[0]["text"], out
    # a city admin may not drill into another city
    out = await say(app, core, private_msg("/报送 进度 1 开封", CITY))
    assert "“开封市教育局”不在你的管理范围" in out[0]["text"]

    # the province's merged workbook: 郑州's rows with the city's sign-off
    async with app.test_api() as ctx:
        bot = ctx.create_bot(base=Bot, self_id="10000")
        ctx.should_call_api("upload_group_file", _Group(str(GROUP)), None)
        await bot.handle_event(group_msg("/报送 汇总 1", ADMIN))
    out = await sent(core)
    assert "已汇总 #1《新媒体统计》：12 行" in out[0]["text"], out
    made = sorted((core.settings.data_dir / "exports").glob("报送1汇总-*.xlsx"))[-1]
    from openpyxl import load_workbook

    rows = list(load_workbook(made, read_only=True).worksheets[0].iter_rows(values_only=True))
    signed = {r[-3]: r[-1] for r in rows[4:]}
    assert signed["郑州市金水区教育局"].startswith("郑州市教育局 ") and signed["郑州大学"] == "直接报省"


class _Group(dict):
    def __init__(self, group: str) -> None:
        super().__init__()
        self.group = group

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and str(other.get("group_id")) == self.group

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


async def test_units_without_an_operator_are_counted_per_city_and_named_in_its_list(app: NBApp, core: App) -> None:
    """逐级汇总: the province's line of each city counts its units nobody can hand in for (no operator); the city's
    own list (the city admin's, and the province's drill-down) names them with a *."""
    await setup(app, core)
    await hand(core, JINSHUI, 4)
    await sent(core)
    out = await say(app, core, private_msg("/报送 进度 1", ADMIN))
    text = out[0]["text"]
    assert "郑州市教育局：汇总中（1/13 个单位已交，其中 11 个单位无联络员）" in text, text  # 二七 has an operator
    assert "开封市教育局：未开始（0/10 个单位已交，其中 10 个单位无联络员）" in text, text
    for asked, who in (("/报送 进度 1", CITY), ("/报送 进度 1 郑州", ADMIN)):
        out = await say(app, core, private_msg(asked, who))
        text = out[0]["text"]
        assert "郑州市中原区教育局*" in text and "郑州市二七区教育局*" not in text, (asked, text)
        assert "郑州市二七区教育局" in text and "带 * 的 11 个单位没有联络员" in text, (asked, text)
