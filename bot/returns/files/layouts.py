"""The forms a return can ask for: the official layouts /导出 writes (headers in bot/official_columns.py), or a template.

A layout names its columns, what each must hold (a date, a count, a phone number, a platform, 是/否), which
must be filled, and the column whose value makes a row a data row. Header text is compared folded
(`normalize_header`): spaces, line breaks, full-width brackets and required-marks (`*`) do not matter, so
"账号 (网站)\n名称" is 账号(网站)名称.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from bot.official_columns import ACCOUNT_COLUMNS, FILING_COLUMNS, SUMMARY_COLUMNS
from bot.returns.records import TEMPLATE

TEXT, DATE, COUNT, PHONE, PLATFORM, YESNO, CHOICE = "文本", "日期", "数量", "电话", "平台", "是否", "选项"

# extra columns of the pre-filled 统计表 (the registry knows them; 附件1 keeps them in its 备注)
FORM_EXTRA = ("账号ID", "开通日期", "粉丝数")


@dataclass(frozen=True)
class Column:
    name: str
    check: str = TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    @cached_property
    def keys(self) -> tuple[str, ...]:
        return tuple(normalize_header(n) for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class Layout:
    name: str
    label: str
    title: str
    columns: tuple[Column, ...]
    key: str
    """The column whose value makes a row a data row (rows without it are blank or notes)."""
    needed: tuple[str, ...] = ()
    """Columns the header must have for the sheet to count as this layout."""
    what: str = "行"
    skip_first: tuple[str, ...] = field(default=("合计", "总计", "小计"))
    """Rows whose first cell says this are totals, not data."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def lookup(self) -> dict[str, str]:
        """Folded header text → column name (a column's own name wins over another's alias)."""
        out: dict[str, str] = {}
        for c in self.columns:
            for k in c.keys[1:]:
                out.setdefault(k, c.name)
        for c in self.columns:
            out[c.keys[0]] = c.name
        return out

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def normalize_header(text: object) -> str:
    """Fold a header cell for comparison: NFKC, no whitespace, no required-marks, ASCII brackets."""
    s = unicodedata.normalize("NFKC", "" if text is None else str(text))
    s = re.sub(r"[\s*＊]+", "", s)
    return s.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")").lower()


_ACCOUNT_CHECKS: dict[str, Column] = {
    "序号": Column("序号", COUNT),
    "账号(网站)名称": Column("账号(网站)名称", TEXT, True, ("账号名称", "网站名称", "账号(网站)名")),
    "开设单位": Column("开设单位", TEXT, False, ("开办单位", "主办单位")),
    "类型": Column("类型", PLATFORM, True, ("平台", "账号类型")),
    "是否整改": Column("是否整改", YESNO),
    "是否具有互动功能": Column("是否具有互动功能", YESNO),
    "是否建立内容发布审核制度": Column("是否建立内容发布审核制度", YESNO),
    "是否委托其他单位运营": Column("是否委托其他单位运营", YESNO),
    "年度信息发布数量": Column("年度信息发布数量", COUNT),
    "联系电话": Column("联系电话", PHONE, False, ("电话", "手机", "手机号")),
    "账号ID": Column("账号ID", TEXT, False, ("账号id", "UID", "ID")),
    "开通日期": Column("开通日期", DATE, False, ("开通时间", "开设时间", "开设日期")),
    "粉丝数": Column("粉丝数", COUNT, False, ("粉丝数量", "关注人数", "订阅数")),
}

_FILING_CHECKS: dict[str, Column] = {
    "序号": Column("序号", COUNT),
    "备案类型": Column("备案类型", CHOICE, True, choices=("开设", "变更", "注销")),
    "开设单位": Column("开设单位", TEXT),
    "平台": Column("平台", PLATFORM, True, ("类型",)),
    "账号名称": Column("账号名称", TEXT, True),
    "开通日期": Column("开通日期", DATE, False, ("开通时间",)),
}


def _columns(names: tuple[str, ...], checks: dict[str, Column], default: str = TEXT) -> tuple[Column, ...]:
    return tuple(checks.get(n) or Column(n, default) for n in names)


STATS = Layout(
    "统计表",
    "附件1",
    "教育系统政务新媒体账号统计表",
    _columns((*ACCOUNT_COLUMNS, *FORM_EXTRA), _ACCOUNT_CHECKS),
    key="账号(网站)名称",
    needed=("账号(网站)名称", "类型"),
    what="个账号",
)
SUMMARY = Layout(
    "汇总表",
    "附件2",
    "教育系统政务新媒体账号汇总表",
    _columns(
        SUMMARY_COLUMNS,
        {"单位名称": Column("单位名称", TEXT, True), "单位类别": Column("单位类别"), "地市": Column("地市")},
        default=COUNT,
    ),
    key="单位名称",
    needed=("单位名称", "合计"),
    what="个单位",
)
FILING = Layout(
    "备案表",
    "备案",
    "教育系统政务新媒体备案汇总表",
    _columns(FILING_COLUMNS, _FILING_CHECKS),
    key="账号名称",
    needed=("备案类型", "账号名称"),
    what="条备案",
)

OFFICIAL: dict[str, Layout] = {x.name: x for x in (STATS, SUMMARY, FILING)}
_FORM_ALIASES = {
    "统计表": "统计表",
    "附件1": "统计表",
    "汇总表": "汇总表",
    "附件2": "汇总表",
    "备案表": "备案表",
    "备案汇总表": "备案表",
    "模板": TEMPLATE,
    "自定义": TEMPLATE,
}
SCAN_WORDS = ("扫描件", "盖章扫描件", "盖章件", "扫描", "pdf", "PDF")


def form_or_none(word: str) -> str | None:
    """`附件1` → 统计表, `模板` → 模板; None for anything else."""
    return _FORM_ALIASES.get(word.strip())


def template_layout(headers: list[str]) -> Layout:
    """A layout read from the admin's template: its header cells, nothing required but a filled row."""
    cols = tuple(Column(h) for h in headers)
    return Layout(TEMPLATE, "模板", "报送模板", cols, key="", needed=tuple(headers), what="行")
