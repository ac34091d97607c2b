"""Which of a return's forms a handed-in spreadsheet is (issue 21: 附件1 and 附件2 in one return): the layout whose
header the file has.

Pure functions: bytes in, (layout, table, header) out. A return of one form keeps that form whatever the header
(the check then names what is missing); of several, a file is the form whose needed columns it all has (the one
matching most columns when it could be several), or none, and the answer says which forms are expected.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.returns.files.layouts import Layout
from bot.returns.files.read import Header, Table, find_header, read_table


def fit(
    data: bytes, real: str, layouts: Sequence[Layout], *, strict: bool = False
) -> tuple[Layout, Table, Header] | None:
    """The layout a spreadsheet follows, with its table and header; None when none fits and there were several
    (or `strict`: even the only one must fit).

    Raises:
        FileRefused: the file cannot be read (too big, damaged, encrypted).
    """
    best: tuple[int, Layout, Table, Header] | None = None
    for layout in layouts:
        table = read_table(data, real, layout)
        header = table.header or find_header(table.rows, layout)
        if len(layouts) == 1 and not strict:
            return layout, table, header
        if header.missing:
            continue
        if best is None or len(header.columns) > best[0]:
            best = (len(header.columns), layout, table, header)
    return best[1:] if best else None


def expected(layouts: Sequence[Layout]) -> str:
    """`统计表（表头有 账号(网站)名称、类型 等）、汇总表（表头有 单位名称、合计 等）`."""
    return "、".join(
        f"{'模板表格' if layout.label == '模板' else layout.name}（表头有 {'、'.join(layout.needed[:3])} 等）"
        for layout in layouts
    )
