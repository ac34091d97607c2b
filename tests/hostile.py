"""Hostile files, built in the test (no binary fixtures): each is small on disk and costly to read naively."""

from __future__ import annotations

import io
import os
import zipfile

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlsx(sheet_data: str | bytes, shared: list[str] | None = None, *, before: str = "", head: str = "") -> bytes:
    """A workbook of one sheet whose <sheetData> holds `sheet_data`, written part by part with zipfile."""
    body = sheet_data.encode() if isinstance(sheet_data, str) else sheet_data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0"?><Types xmlns="{_PKG}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        zf.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}">'
            '<sheets><sheet name="统计表" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        rels = f'<Relationship Id="rId1" Type="{_OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
        if shared is not None:
            rels += f'<Relationship Id="rId2" Type="{_OFFICE}/sharedStrings" Target="sharedStrings.xml"/>'
            items = "".join(f"<si><t>{s}</t></si>" for s in shared)
            zf.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0"?><sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
                f"{items}</sst>",
            )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{_PKG}/relationships">{rels}</Relationships>',
        )
        with zf.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(f'<?xml version="1.0"?>{before}<worksheet xmlns="{_MAIN}">{head}<sheetData>'.encode())
            f.write(body)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def sparse() -> bytes:
    """Only A1 and XFD1048576: a dense reader builds 17 billion cells (the issue's 5 KB file)."""
    return xlsx(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>序号</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )


def sparse_unmarked() -> bytes:
    """The same, written so that the quick checks miss it (single quotes, spaces): only the child's limit stops it."""
    return xlsx("<row r='1'><c r = 'A1'><v>1</v></c></row><row r = '1048576'><c r = 'XFD1048576'><v>2</v></c></row>")


def sparse_prefixed() -> bytes:
    """The same with a namespace prefix on every element (as some .NET writers do) and lower-case references."""
    return xlsx(
        '<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        '<x:row r="1048576"><x:c r="xfd1048576"><x:v>1</x:v></x:c></x:row>'
    ).replace(b'<worksheet xmlns="', b'<worksheet xmlns:x="')


def declared_dimension() -> bytes:
    """A small sheet that declares A1:XFD1048576 as its dimension: harmless, the reader goes by its cells."""
    return xlsx('<row r="1"><c r="A1"><v>1</v></c></row>', head='<dimension ref="A1:XFD1048576"/>')


def shared_string_bomb(rows: int = 3500, cols: int = 200) -> bytes:
    """Every cell points at one 32,767-character shared string (about 24 MB unzipped, 1.9 MB zipped)."""
    letters = [_letter(c) for c in range(1, cols + 1)]
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}" t="s"><v>0</v></c>' for col in letters) + "</row>"
        for r in range(1, rows + 1)
    )
    return xlsx(body, ["x" * 32767])


def huge_cell(chars: int = 1_000_000) -> bytes:
    """One inline-string cell of a million characters (Excel's own limit is 32,767)."""
    return xlsx(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>序号</t></is></c><c r="B1" t="inlineStr"><is><t>{"郑" * chars}</t></is></c></row>'
    )


def zip_bomb() -> bytes:
    """40 MB of zeros in a sheet, 40 KB zipped."""
    return xlsx(b'<row r="1"><c r="A1"><v>1</v></c></row>' + b" " * (40 * 1024 * 1024))


def deep_nesting(depth: int = 200_000) -> bytes:
    """A sheet nested 200,000 elements deep."""
    return xlsx('<row r="1"><c r="A1"><v>1</v></c></row>' + "<a>" * depth + "</a>" * depth)


def entity_bomb() -> bytes:
    """Billion laughs in a sheet's DOCTYPE."""
    ents = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return xlsx(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row>', before=f"<!DOCTYPE worksheet [{ents}]>"
    )


def renamed_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(4000)


def random_bytes() -> bytes:
    return os.urandom(5000)


def random_zip() -> bytes:
    """Starts like an xlsx (a zip's signature), the rest is noise."""
    return b"PK\x03\x04" + os.urandom(5000)


def xls_far_cells() -> bytes:
    """An .xls (BIFF8) with cells at A1 and IV65536: a dense range of 16.7 million cells."""
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("统计表")
    ws.write(0, 0, "序号")
    ws.write(65535, 255, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_long_line(size: int = 10 * 1024 * 1024) -> bytes:
    """A 10 MB CSV with no newline: half a million tiny cells in one row."""
    return b"1," * (size // 2)


def csv_one_cell(size: int = 10 * 1024 * 1024) -> bytes:
    """A 10 MB CSV that is one cell (no separator, no newline)."""
    return b"x" * size


def csv_big_cell(chars: int = 200_000) -> bytes:
    """A roster-like CSV whose row 2, column C is 200,000 characters (over the csv module's 128 KB)."""
    return ("名称,类别,地市\n郑州大学,本科高校," + "郑" * chars + "\n").encode()


def _letter(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


ALL_XLSX = {
    "sparse": sparse,
    "sparse_unmarked": sparse_unmarked,
    "shared_string_bomb": shared_string_bomb,
    "huge_cell": huge_cell,
    "zip_bomb": zip_bomb,
    "deep_nesting": deep_nesting,
    "entity_bomb": entity_bomb,
    "renamed_exe": renamed_exe,
    "random_bytes": random_bytes,
    "random_zip": random_zip,
}
