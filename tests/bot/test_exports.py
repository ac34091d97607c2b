"""Exports read back with openpyxl and checked cell by cell against the official layouts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot import clock
from bot.app import App
from bot.broadcasts.records import Draft
from bot.errors import UserError
from bot.readouts import exports
from bot.returns.records import NewReturn
from tests.bot.test_parse import SPEC_PLATFORMS as PLATFORMS
from tests.fake import ADMIN

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=clock.tz())

# The Guangdong 2020 notice, 附件1: one row per account (phone and WeChat left for the unit).
NOTICE_ATTACHMENT_1 = [
    "序号",
    "账号(网站)名称",
    "开设单位",
    "认证主体",
    "类型",
    "问题排查情况",
    "是否整改",
    "是否具有互动功能",
    "是否建立内容发布审核制度",
    "是否委托其他单位运营",
    "年度信息发布数量",
    "账号负责人姓名",
    "联系电话",
    "微信号",
    "备注",
]


def row(ws: Worksheet, r: int) -> list:
    return [c.value for c in ws[r]]


async def bind(app: App, qq: str, name: str, unit: str) -> None:
    application, _ = await app.units.registrations.apply(qq, name, None, unit)
    await app.units.registrations.approve([application.id], actor=str(ADMIN))


@pytest.fixture
async def world(core: App) -> App:
    """Three units, two operators, accounts in every state, filings of every kind."""
    clock.freeze(NOW)
    await core.units.add("郑州大学", "本科高校", "郑州", actor="t")  # id 1
    await core.units.add("河南大学", "本科高校", "开封", actor="t")  # id 2
    await core.units.add("郑州市教育局", "市教育局", "郑州", actor="t")  # id 3
    await bind(core, "20001", "张三", "郑州大学")
    await bind(core, "20002", "李四", "河南大学")
    acc = core.accounts
    f1 = await acc.file_opening("20001", "张三", "微信", "郑州大学", "zzu1956", "2014-03-01")  # 1 → 已备案
    await acc.file_opening("20001", "张三", "抖音", "郑大青年")  # 2 → 待审核
    f3 = await acc.file_opening("20002", "李四", "微博", '=HYPERLINK("http://evil","x")')  # 3 → 已备案
    f4 = await acc.file_opening("20002", "李四", "头条", "河大头条")  # 4 → 已备案, then closed
    await acc.approve([f1.id, f3.id, f4.id], actor=str(ADMIN))
    f5 = await acc.file_closure("20002", "李四", "头条", "河大头条")  # 5
    await acc.approve([f5.id], actor=str(ADMIN))
    f6 = await acc.file_change("20001", "张三", "微信", "郑州大学", ["账号ID=zzu_1956"])  # 6 → 已驳回
    await acc.reject(f6.id, "ID 写错了", actor=str(ADMIN))
    return core


async def test_account_sheet_follows_attachment_1(world: App) -> None:
    made = await world.exports.export("统计表", actor=str(ADMIN))
    assert made.path.parent == (world.settings.data_dir / "exports").resolve()
    assert made.path.name == "统计表-20260310-090000.xlsx" and made.rows == 3
    wb = load_workbook(made.path)
    assert wb.sheetnames == ["附件1 统计表", "账号明细"]
    ws = wb["附件1 统计表"]
    assert ws["A1"].value == "附件1"
    assert ws["A2"].value == "教育系统政务新媒体账号统计表"
    assert "A2:O2" in {str(m) for m in ws.merged_cells.ranges}
    assert "共 2 个单位、3 个账号" in ws["A3"].value
    assert row(ws, 4) == NOTICE_ATTACHMENT_1
    assert ws.freeze_panes == "A5"
    assert ws.auto_filter.ref == "A4:O7"
    # units in official order (category, city, roster), platforms in the spec's order
    assert row(ws, 5) == [
        1,
        "郑州大学",
        "郑州大学",
        "郑州大学",
        "微信公众号",
        None,
        None,
        None,
        None,
        None,
        None,
        "张三",
        None,
        None,
        "账号ID：zzu1956；开通日期：2014-03-01",
    ]
    assert row(ws, 6) == [
        2,
        "郑大青年",
        "郑州大学",
        "郑州大学",
        "抖音",
        *[None] * 6,
        "张三",
        None,
        None,
        "开设备案审核中",
    ]
    assert row(ws, 7)[:5] == [3, '=HYPERLINK("http://evil","x")', "河南大学", "河南大学", "微博"]
    assert ws["B7"].data_type == "s"  # user text never becomes a formula
    assert row(ws, 7)[11] == "李四"
    assert ws.max_row == 7  # the closed account is not listed
    # headers styled, columns wide enough, the unit's columns shaded
    assert ws["B4"].font.b and ws["M4"].fill.fgColor.rgb.endswith("FFF2CC")
    assert ws["A4"].fill.fgColor.rgb.endswith("D9E1F2")
    assert ws.column_dimensions["B"].width >= 16 and ws.column_dimensions["I"].width >= 14
    assert ws.column_dimensions["A"].width < ws.column_dimensions["B"].width


async def test_account_detail_sheet_has_follower_counts(world: App) -> None:
    await world.followers.report("20001", ["微信"], "12,345")
    await world.followers.watch.mark_post("20001", ["微信"], "")
    made = await world.exports.export("统计表", actor=str(ADMIN))
    ws = load_workbook(made.path)["账号明细"]
    assert row(ws, 4) == [
        "序号",
        "开设单位",
        "单位类别",
        "地市",
        "平台",
        "账号名称",
        "账号ID",
        "开通日期",
        "备案状态",
        "粉丝数",
        "粉丝数报告日期",
        "最近更新日期",
    ]
    assert row(ws, 5) == [
        1,
        "郑州大学",
        "本科高校",
        "郑州",
        "微信公众号",
        "郑州大学",
        "zzu1956",
        "2014-03-01",
        "已备案",
        12345,
        "2026-03-10",
        "2026-03-10",
    ]
    assert row(ws, 6)[8:10] == ["待审核", None]


async def test_stale_account_is_flagged_in_problem_column(world: App) -> None:
    await world.followers.watch.mark_post("20001", ["微信"], "2026-03-01")
    clock.advance(timedelta(days=40))
    made = await world.exports.export("统计表", actor=str(ADMIN))
    ws = load_workbook(made.path).active
    assert ws["B5"].value == "郑州大学"
    assert ws["F5"].value == "超过 14 天未更新（最近更新 2026-03-01）"
    assert ws["F6"].value == "超过 14 天未更新（未报告过更新）"


async def test_summary_sheet_counts_per_platform(world: App) -> None:
    made = await world.exports.export("汇总表", actor=str(ADMIN))
    wb = load_workbook(made.path)
    ws = wb["附件2 汇总表"]
    assert ws["A1"].value == "附件2" and ws["A2"].value == "教育系统政务新媒体账号汇总表"
    assert row(ws, 4) == ["序号", "单位名称", "单位类别", "地市", *PLATFORMS, "合计"]
    assert ws.freeze_panes == "A5"
    zero = [0] * len(PLATFORMS)
    assert row(ws, 5) == [1, "郑州市教育局", "市教育局", "郑州", *zero, 0]
    wechat = [1] + [0] * (len(PLATFORMS) - 1)
    weibo = [0, 1] + [0] * (len(PLATFORMS) - 2)
    assert row(ws, 6) == [2, "郑州大学", "本科高校", "郑州", *wechat, 1]  # the pending 抖音 does not count
    assert row(ws, 7) == [3, "河南大学", "本科高校", "开封", *weibo, 1]  # the closed 头条号 does not count
    assert row(ws, 8) == ["合计", "3 个单位", None, None, 1, 1, *[0] * (len(PLATFORMS) - 2), 2]
    assert ws["A8"].font.b
    cats = wb["按类别"]
    assert row(cats, 4) == ["单位类别", "单位数", *PLATFORMS, "合计"]
    assert row(cats, 5) == ["市教育局", 1, *zero, 0]
    assert row(cats, 6) == ["本科高校", 2, 1, 1, *[0] * (len(PLATFORMS) - 2), 2]
    assert row(cats, 7) == ["合计", 3, 1, 1, *[0] * (len(PLATFORMS) - 2), 2]


async def test_filing_sheet_lists_every_filing(world: App) -> None:
    made = await world.exports.export("备案表", actor=str(ADMIN))
    ws = load_workbook(made.path).active
    assert ws["A2"].value == "教育系统政务新媒体备案汇总表"
    assert row(ws, 4) == [
        "序号",
        "备案编号",
        "备案类型",
        "开设单位",
        "平台",
        "账号名称",
        "账号ID",
        "开通日期",
        "变更内容",
        "备案状态",
        "提交人",
        "提交时间",
        "审核人",
        "审核时间",
        "驳回原因",
    ]
    assert ws.max_row == 4 + 6
    t = "2026-03-10 09:00"
    assert row(ws, 5) == [
        1,
        1,
        "开设",
        "郑州大学",
        "微信公众号",
        "郑州大学",
        "zzu1956",
        "2014-03-01",
        None,
        "已备案",
        "张三（20001）",
        t,
        str(ADMIN),
        t,
        None,
    ]
    assert row(ws, 6)[2:6] == ["开设", "郑州大学", "抖音", "郑大青年"] and row(ws, 6)[9] == "待审核"
    assert row(ws, 6)[12:14] == [None, None]
    assert row(ws, 9)[2:6] == ["注销", "河南大学", "头条号", "河大头条"] and row(ws, 9)[9] == "已备案"
    assert row(ws, 10)[2] == "变更" and row(ws, 10)[8] == "账号ID→zzu_1956"
    assert row(ws, 10)[9] == "已驳回" and row(ws, 10)[14] == "ID 写错了"
    assert "已备案 4" in ws["A3"].value and "待审核 1" in ws["A3"].value and "已驳回 1" in ws["A3"].value


async def test_broadcast_sheet_shows_who_confirmed_when_and_who_did_not(world: App) -> None:
    draft = Draft("转发新学期通知", "https://mp.weixin.qq.com/s/abc", NOW + timedelta(hours=5), ("转发", "点赞"), ())
    task = (await world.broadcasts.create(draft, actor=str(ADMIN))).task
    clock.advance(timedelta(hours=1))
    await world.broadcasts.confirm("20001", "张三", task.id)
    clock.advance(timedelta(hours=5))
    await world.broadcasts.confirm("20002", "李四", task.id)
    made = await world.exports.export("统发", task.id, actor=str(ADMIN))
    wb = load_workbook(made.path)
    assert wb.sheetnames == [f"统发{task.id}", "未确认单位"]
    ws = wb.active
    assert ws["A1"].value == "统发进度" and ws["A2"].value == f"统发 #{task.id}：转发新学期通知"
    assert "已确认 2/3（66.7%）" in ws["A3"].value and "https://mp.weixin.qq.com/s/abc" in ws["A3"].value
    assert row(ws, 4) == ["序号", "单位名称", "单位类别", "地市", "完成情况", "确认人", "确认时间", "是否逾期", "备注"]
    assert row(ws, 5) == [1, "郑州大学", "本科高校", "郑州", "已确认", "张三（20001）", "2026-03-10 10:00", "否", None]
    assert row(ws, 6) == [2, "河南大学", "本科高校", "开封", "已确认", "李四（20002）", "2026-03-10 15:00", "是", None]
    assert row(ws, 7) == [3, "郑州市教育局", "市教育局", "郑州", "未确认", None, None, None, None]
    assert ws.freeze_panes == "A5"
    missing = wb["未确认单位"]
    assert row(missing, 4) == ["序号", "单位名称", "单位类别", "地市"]
    assert row(missing, 5) == [1, "郑州市教育局", "市教育局", "郑州"]
    assert missing.max_row == 5


async def test_return_sheet_shows_submissions(world: App) -> None:
    created = await world.returns.create(
        NewReturn("2026年春季统计表", NOW + timedelta(days=2), "", "按附件格式"), actor=str(ADMIN)
    )
    rid = created.ret.id
    await world.returns.submit("20002", "李四", rid, "已发邮箱")
    clock.advance(timedelta(minutes=30))
    await world.returns.register(rid, "郑州市教育局", actor=str(ADMIN), actor_name="小王")
    made = await world.exports.export("报送", rid, actor=str(ADMIN))
    ws = load_workbook(made.path).active
    assert ws["A2"].value == f"报送 #{rid}：2026年春季统计表"
    assert "已报送 2/3" in ws["A3"].value and "说明：按附件格式" in ws["A3"].value
    assert row(ws, 4) == ["序号", "单位名称", "单位类别", "地市", "完成情况", "报送人", "报送时间", "是否逾期", "备注"]
    assert row(ws, 5) == [
        1,
        "河南大学",
        "本科高校",
        "开封",
        "已报送",
        "李四（20002）",
        "2026-03-10 09:00",
        "否",
        "已发邮箱",
    ]
    assert row(ws, 6) == [
        2,
        "郑州市教育局",
        "市教育局",
        "郑州",
        "已报送",
        f"小王（{ADMIN}）",
        "2026-03-10 09:30",
        "否",
        "管理员登记",
    ]
    assert row(ws, 7) == [3, "郑州大学", "本科高校", "郑州", "未报送", None, None, None, None]


async def test_unknown_task_and_bad_arguments_are_clear_errors(world: App) -> None:
    with pytest.raises(UserError, match="没有编号为 99"):
        await world.exports.export("统发", 99, actor=str(ADMIN))
    with pytest.raises(UserError, match="没有编号为 99"):
        await world.exports.export("报送", 99, actor=str(ADMIN))
    for args in ([], ["工资表"], ["统发"], ["统发", "x"], ["统计表", "多余"]):
        with pytest.raises(UserError, match="导出"):
            exports.parse_kind(args)
    assert exports.parse_kind(["附件1"]) == ("统计表", None)
    assert exports.parse_kind(["报送", "#3"]) == ("报送", 3)


async def test_export_is_audited_and_names_do_not_collide(world: App) -> None:
    a = await world.exports.export("备案表", actor=str(ADMIN))
    b = await world.exports.export("备案表", actor=str(ADMIN))
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert [p.name for p in world.exports.list_exports()][:2] == [b.name, a.name] or len(
        world.exports.list_exports()
    ) == 2
    async with world.db.read() as tx:
        rows = await tx.all("SELECT actor, detail FROM audit WHERE action='导出'")
    assert len(rows) == 2 and rows[0]["actor"] == str(ADMIN) and a.name in rows[0]["detail"]
    assert not list(a.path.parent.glob("*.tmp"))
