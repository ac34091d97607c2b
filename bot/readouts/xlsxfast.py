"""A minimal, fast .xlsx writer for big plain tables (the merged workbook of 2,000 units, ~800,000 cells).

openpyxl writes some 20,000 cells a second here, which makes a 2,000-unit merge take most of a minute; this
writes the sheet XML directly (inline strings, one bold style for header rows), streamed into the zip, in
about a second. A cell is typed by its Python value: int and float as numbers (NaN and infinity refused, integers
past Excel's 15 significant digits kept as text so no digit is lost), date and datetime as dates, everything else
as text cut at Excel's 32,767 characters. A cell `=1+1` is the text "=1+1", never a formula.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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


MAX_CHARS = 32_767
"""Excel's limit on a cell's text, in UTF-16 units (an emoji counts two); longer text is cut and ends in …."""

MAX_DIGITS = 15
"""Excel keeps 15 significant digits: a longer integer is written as text (an ID, not an amount)."""

_EPOCH = datetime(1899, 12, 30)
_FIRST_DAY = datetime(1900, 3, 1)
_DATE_STYLE, _TIME_STYLE = ' s="2"', ' s="3"'


def _capped(text: str) -> str:
    if len(text) * 2 <= MAX_CHARS:  # the common case: short enough whatever it holds
        return text
    units = text.encode("utf-16-le")
    if len(units) <= 2 * MAX_CHARS:
        return text
    return units[: 2 * (MAX_CHARS - 1)].decode("utf-16-le", "ignore") + "…"


def clean_text(value: str) -> str:
    """The text a cell holds for `value`: characters XML cannot carry dropped, cut at MAX_CHARS."""
    return _capped(_BAD_XML.sub("", value))


# a carriage return survives XML only as a character reference; `_x0041_` would be read back as "A" (the OOXML
# escape), so its underscore is escaped in turn
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _text(value: str, style: str) -> str:
    clean = clean_text(value)
    if not clean:
        return f"<c{style}/>"
    text = escape(clean)
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "_x" in text:
        text = _OOXML_ESCAPE.sub("_x005F_", text)
    space = ' xml:space="preserve"' if clean[:1].isspace() or clean[-1:].isspace() else ""
    return f'<c{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _cell(value: Any, style: str) -> str:
    if value is None or value == "":
        return f"<c{style}/>"
    if isinstance(value, bool):
        return _text("是" if value else "否", style)
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_DIGITS:
            return _text(str(value), style)
        return f"<c{style}><v>{value}</v></c>"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a cell cannot hold {value!r}: Excel has no NaN or infinity")
        return f"<c{style}><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        naive = value.replace(tzinfo=None)
        if naive < _FIRST_DAY:  # before Excel's 1900-02-29 that never was: as text
            return _text(naive.isoformat(" "), style)
        serial = (naive - _EPOCH).total_seconds() / 86400
        return f"<c{_TIME_STYLE}><v>{serial!r}</v></c>"
    if isinstance(value, date):
        if value < _FIRST_DAY.date():
            return _text(value.isoformat(), style)
        return f"<c{_DATE_STYLE}><v>{(value - _EPOCH.date()).days}</v></c>"
    return _text(str(value), style)


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
                '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
                '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
                '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
                '<font><b/><sz val="11"/><name val="黑体"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
                '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
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
