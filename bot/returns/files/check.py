"""Checking a form's rows against its layout: required cells, dates, counts, phone numbers, platforms, 是/否.

Pure functions: cells in, (clean rows, problems) out. A clean row holds text only, in the layout's column
order, so the merge writes it as it is (a date as YYYY-MM-DD, a count as digits, a platform by its
canonical name). Text that looks like a formula stays text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot import privacy
from bot.errors import UserError
from bot.parse import parse_count
from bot.returns.files.layouts import CHOICE, COUNT, DATE, PHONE, PLATFORM, YESNO, Layout
from bot.returns.files.read import MAX_ROWS, FileRefused, Header
from bot.vocab import PLATFORMS, platform_or_none

# "微信号" is a column of 附件1 of its own (the WeChat id), so as a 类型 it is a mistake, not 微信公众号
_NOT_PLATFORMS = {"微信号"}
_YES = {"是": "是", "否": "否", "y": "是", "n": "否", "yes": "是", "no": "否", "√": "是", "×": "否"}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True)
class Problem:
    row: int
    """The spreadsheet row number as the person sees it (1-based)."""
    column: str
    value: str
    why: str

    def describe(self) -> str:
        shown = f"“{self.value}”" if self.value else ""
        return f"第{self.row}行 {self.column}{shown}{self.why}"

    def as_json(self) -> list[Any]:
        return [self.row, self.column, self.value, self.why]


@dataclass
class Checked:
    rows: list[tuple[int, list[str]]]
    """(spreadsheet row number, cells in layout column order) of every data row."""
    problems: list[Problem]


def text(value: Any) -> str:
    """A cell as text: whole floats without `.0`, dates as YYYY-MM-DD, whitespace folded."""
    if type(value) is str:  # most cells: the one common case first
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return " ".join(str(value).split())


def _date(value: Any, s: str) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 80000:
        return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()  # a date cell saved without its format
    m = _DATE.fullmatch(s) or (re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s))
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _count(value: Any, s: str) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, float):
        return str(int(value)) if value >= 0 and value.is_integer() else None
    try:
        return str(parse_count(s))
    except (UserError, ValueError):
        return None


def _phone(s: str) -> str | None:
    if privacy.is_phone(s):  # one number written with spaces: 138 1234 5678
        return s
    parts = [p for p in re.split(r"[、,，;；/\s]+", s) if p]
    if parts and all(privacy.is_phone(p) for p in parts):
        return "、".join(parts)
    return None


def _platform(s: str) -> str | None:
    return None if s in _NOT_PLATFORMS else platform_or_none(s)


def quoted(value: str, check: str) -> str:
    """A wrong value as it is stored and quoted back (phone numbers masked by the one filter: `138****5678`), cut
    at 40. The outbox masks again on the way to a group; this keeps them out of the database and the dashboard."""
    return privacy.mask(value)[:40]


def check_rows(rows: list[list[Any]], header: Header, layout: Layout) -> Checked:
    """Every data row under the header, checked; a row is data when its key column (any cell, for a template)
    is filled and its first cell is no total (合计)."""
    out = Checked([], [])
    cols = [(c, header.columns.get(c.name)) for c in layout.columns]
    key = header.columns.get(layout.key) if layout.key else None
    shown_as = [header.written.get(col.name, col.name) for col, _ in cols]
    for r in range(header.row + 1, len(rows)):
        row = rows[r]
        cells = [row[i] if i is not None and i < len(row) else None for _, i in cols]
        texts = [text(c) for c in cells]
        if key is not None:
            if key >= len(row) or not text(row[key]):
                continue
        elif not any(texts):
            continue
        first = text(row[0]) if row else ""
        if first in layout.skip_first:
            continue
        if len(out.rows) >= MAX_ROWS:
            raise FileRefused(f"表格超过 {MAX_ROWS} 行的上限。请只保留本单位要报送的内容后重新上传。")
        clean: list[str] = []
        for (col, idx), value, s, shown in zip(cols, cells, texts, shown_as, strict=True):
            if not s:
                if col.required and idx is not None:
                    out.problems.append(Problem(r + 1, shown, "", "没有填写"))
                clean.append("")
                continue
            fixed, why = _check(col.check, value, s, col.choices)
            if why:
                out.problems.append(Problem(r + 1, shown, quoted(s, col.check), why))
                clean.append(s)
            else:
                clean.append(fixed)
        out.rows.append((r + 1, clean))
    return out


def _check(kind: str, value: Any, s: str, choices: tuple[str, ...]) -> tuple[str, str]:
    """(the clean text, "") or (the text `s` of the cell `value`, why it is wrong)."""
    if kind == DATE:
        d = _date(value, s)
        return (d, "") if d else (s, "不是日期（请写成 2020-01-31）")
    if kind == COUNT:
        n = _count(value, s)
        return (n, "") if n is not None else (s, "不是数字")
    if kind == PHONE:
        p = _phone(s)
        return (p, "") if p else (s, "不是电话号码（手机 11 位，座机如 0371-12345678）")
    if kind == PLATFORM:
        p = _platform(s)
        return (p, "") if p else (s, f"不在平台列表（可写：{'、'.join(PLATFORMS)}）")
    if kind == YESNO:
        y = _YES.get(s.lower())
        return (y, "") if y else (s, "应填“是”或“否”")
    if kind == CHOICE:
        return (s, "") if s in choices else (s, f"应填{'、'.join(choices)}之一")
    return s, ""
