"""A minimal, fast .xlsx writer for big plain tables (the merged workbook of 2,000 units, ~800,000 cells).

openpyxl writes some 20,000 cells a second here, which makes a 2,000-unit merge take most of a minute; this
writes the sheet XML directly (inline strings, one bold style for header rows), streamed into the zip, in
about a second. Every value is written as text or a number: a cell `=1+1` is the text "=1+1", never a formula.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class Sheet:
    title: str
    rows: Iterable[Sequence[Any]]
    bold_rows: set[int] = field(default_factory=set)
    """1-based rows written bold (headers)."""
    widths: Sequence[float] = ()
    freeze_row: int = 0
    """Rows above this one (1-based) stay in view when scrolling; 0 for none."""


def _cell(value: Any, style: str) -> str:
    if value is None or value == "":
        return f"<c{style}/>"
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, (int, float)):
        return f"<c{style}><v>{value}</v></c>"
    text = escape(_BAD_XML.sub("", str(value)))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _sheet_xml(sheet: Sheet) -> Iterable[str]:
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}" xmlns:r="{_REL}">'
    if sheet.freeze_row > 1:
        split, top = sheet.freeze_row - 1, sheet.freeze_row
        yield (
            f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{split}" topLeftCell="A{top}" '
            'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        )
    if sheet.widths:
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(sheet.widths, 1))
        yield f"<cols>{cols}</cols>"
    yield "<sheetData>"
    for n, row in enumerate(sheet.rows, start=1):
        style = ' s="1"' if n in sheet.bold_rows else ""
        yield f"<row>{''.join(_cell(v, style) for v in row)}</row>"
    yield "</sheetData></worksheet>"


def write(path: Path, sheets: list[Sheet], *, title: str = "", creator: str = "联盟助手") -> None:
    """Write the workbook atomically (a temporary file renamed into place)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            overrides = "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            zf.writestr(
                "[Content_Types].xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/styles.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                '<Override PartName="/docProps/core.xml" '
                'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
                f"{overrides}</Types>",
            )
            zf.writestr(
                "_rels/.rels",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
                'metadata/core-properties" Target="docProps/core.xml"/></Relationships>',
            )
            zf.writestr(
                "docProps/core.xml",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/">'
                f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(creator)}</dc:creator></cp:coreProperties>",
            )
            names = "".join(
                f'<sheet name="{escape(_sheet_name(s.title), {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                for i, s in enumerate(sheets, 1)
            )
            zf.writestr(
                "xl/workbook.xml",
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL}">'
                f"<sheets>{names}</sheets></workbook>",
            )
            rels = "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            zf.writestr(
                "xl/_rels/workbook.xml.rels",
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'{rels}<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
                "</Relationships>",
            )
            zf.writestr(
                "xl/styles.xml",
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_NS}">'
                '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
                '<font><b/><sz val="11"/><name val="黑体"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                "</styleSheet>",
            )
            for i, sheet in enumerate(sheets, 1):
                with zf.open(f"xl/worksheets/sheet{i}.xml", "w") as f:
                    buf: list[str] = []
                    size = 0
                    for part in _sheet_xml(sheet):
                        buf.append(part)
                        size += len(part)
                        if size > 1 << 16:
                            f.write("".join(buf).encode("utf-8"))
                            buf, size = [], 0
                    f.write("".join(buf).encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sheet_name(title: str) -> str:
    return re.sub(r"[\\/?*\[\]:]", "_", title)[:31] or "Sheet"
