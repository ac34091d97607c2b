"""Filled forms as units really send them, for the tests, the demo and the benchmark.

`stats_rows` makes a unit's 统计表 rows, optionally with the mistakes people make (a date like 2020.13.01,
类型 微信号, a short phone number); `xlsx` writes them under a two-row merged header ("账号 (网站)\\n名称"
above, the 自查 columns merged) as Excel does; `xls` writes the old format (needs xlwt, a test dependency);
`csv_bytes` writes CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from bot.returns.files.layouts import STATS

HEADER_TOP = [
    "序号",
    "账号 (网站)\n名称",
    "开设单位",
    "认证主体",
    "类型",
    "问题排查情况",
    "自查情况",
    None,
    None,
    None,
    "年度信息发布数量",
    "账号负责人姓名",
    "联系电话",
    "微信号",
    "备注",
    "账号ID",
    "开通时间",
    "粉丝数",
]
HEADER_LOW = [None] * 6 + ["是否整改", "是否具有互动功能", "是否建立内容发布审核制度", "是否委托其他单位运营"]
PLATFORM_CYCLE = ("微信公众号", "微博", "抖音", "头条号", "视频号", "快手", "B站")


def stats_rows(unit: str, n: int = 20, mistakes: dict[int, str] | None = None) -> list[list[Any]]:
    """`n` account rows of a unit; `mistakes` maps a row index (0-based) to "date", "platform" or "phone"."""
    rows = []
    for i in range(n):
        row: list[Any] = [
            i + 1,
            f"{unit}{PLATFORM_CYCLE[i % len(PLATFORM_CYCLE)]}{i + 1}",
            unit,
            unit,
            PLATFORM_CYCLE[i % len(PLATFORM_CYCLE)],
            "无",
            "否",
            "是",
            "是",
            "否",
            100 + i,
            f"负责人{i}",
            f"1381234{i:04d}",
            "",
            "",
            f"uid{i}",
            f"2020-0{1 + i % 9}-1{i % 10}",
            1000 * (i + 1),
        ]
        kind = (mistakes or {}).get(i)
        if kind == "date":
            row[16] = "2020.13.01"
        elif kind == "platform":
            row[4] = "微信号"
        elif kind == "phone":
            row[12] = "123"
        rows.append(row)
    return rows


def xlsx(rows: list[list[Any]], *, title: str = "教育系统政务新媒体账号统计表") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = STATS.label
    ws.append([STATS.label])
    ws.append([title])
    ws.append(HEADER_TOP)
    ws.append(HEADER_LOW)
    ws.merge_cells("G3:J3")
    for col in "ABCDEFKLMNOPQR":
        ws.merge_cells(f"{col}3:{col}4")
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xls(rows: list[list[Any]]) -> bytes:
    """The same form in the old .xls format (xlwt is a test dependency)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sh = book.add_sheet(STATS.label)
    sh.write(0, 0, STATS.label)
    sh.write(1, 0, "教育系统政务新媒体账号统计表")
    for c, v in enumerate(HEADER_TOP):
        if v is not None:
            sh.write(2, c, v)
    for c, v in enumerate(HEADER_LOW):
        if v is not None:
            sh.write(3, c, v)
    for r, row in enumerate(rows, start=4):
        for c, v in enumerate(row):
            sh.write(r, c, v)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([h if h is not None else "" for h in HEADER_TOP[:6]] + HEADER_LOW[6:] + HEADER_TOP[10:])
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


def summary_xlsx(units: list[tuple[str, str, str]], *, per_platform: int = 1) -> bytes:
    """附件2 (汇总表) as units fill it: a title, the header, one row per unit (`(名称, 类别, 地市)`), counts as numbers."""
    from bot.returns.files.layouts import SUMMARY

    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY.label
    ws.append([SUMMARY.label])
    ws.append([SUMMARY.title])
    ws.append(list(SUMMARY.names))
    platforms = len(SUMMARY.names) - 5
    for i, (name, category, city) in enumerate(units, start=1):
        ws.append([i, name, category, city, *[per_platform] * platforms, per_platform * platforms])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
