"""The one privacy filter (docs/PROMISES.md): phone numbers, in any notation, never leave for a group or for anyone outside
the office. One pattern, `mask()` for text, `mask_segments()` for a message and `masked_file()` for a file.

How the promise holds: the filter sits at the exits, not where text is made. The outbox masks every message it
sends to a group (text, folded lists, the text alternative of a picture, a file it uploads), whatever produced
it; every file uploaded to a chat or served by the dashboard goes through `for_audience()`, which hands the
office (a province admin in a private chat, the dashboard's office login) the file as it is and anyone else a
masked copy. What it masks:

- mobiles written any way: `13812345678`, `138 1234 5678`, `138-1234-5678`, `138.1234.5678`, `+86 138 1234 5678`,
  `0086-138…`, full-width `１３８１２３４５６７８`, inside longer text (`张老师138 1234 5678`) → `138****5678`;
- landlines with their area code: `0371-12345678`, `(0371)1234 5678` → `0371-****5678`;
- a local number in two or three groups (`8765 4321`, `876-5432`) and any run of 7 or more digits (a QQ id, a
  number split oddly, `微信12345678`) → `****78`.

What it leaves (people need it, and none of it is a phone): dates (`2026-12-11`, `2020.13.01`, `20261211`),
times (`17:30`), counts as the bot shows them (`1,234,567`, `123.46万`), numbers of tasks and short numbers
(`13 14 15`), links (only a bare 11-digit mobile inside a link is masked), and @-mentions (segments, not text).
In a spreadsheet, a number cell is masked when it has 10 or more digits (a phone typed as a number; no count is
that big); smaller number cells are counts and stay, so `12345678` typed as a number in a form is not caught.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import html
import io
import re
import shutil
import unicodedata
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

Segment = dict[str, Any]

_SEP = r"[\s\-‐‑‒–—―－.．·・]"
# a run of digits joined by short separators (and parentheses around an area code), with a leading + or (
_CANDIDATE = re.compile(rf"(?:[+＋]|[(（][+＋]?)?\d(?:(?:{_SEP}{{1,3}}|{_SEP}{{0,2}}[)）(（]{_SEP}{{0,2}})?\d)*")
_GROUP = re.compile(r"\d+")
_URL = re.compile(r"https?://[^\s<>\"'“”‘’，。、；！？（）【】]+", re.IGNORECASE)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_DATE8 = re.compile(r"(?:19[5-9]\d|20\d\d)(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
MASK = "****"


def _ascii(digits: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in digits)


def _mobile(n: str) -> str:
    return f"{n[:3]}{MASK}{n[-4:]}"


def _short(n: str) -> str:
    return f"{MASK}{n[-2:]}"


def _spans(span: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of each phone inside one candidate run, left to right."""
    groups = [(m.start(), m.end(), _ascii(m.group())) for m in _GROUP.finditer(span)]
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(groups):
        found = _phone_at(groups, i)
        if found is not None:
            j, replacement = found
            start = 0 if i == 0 else groups[i][0]  # a leading + or ( goes with the number
            out.append((start, groups[j][1], replacement))
            i = j + 1
            continue
        s, e, digits = groups[i]
        if len(digits) >= 7 and not _DATE8.fullmatch(digits):
            out.append((s, e, _mobile(digits) if len(digits) >= 11 else _short(digits)))
        i += 1
    return out


def _phone_at(groups: list[tuple[int, int, str]], i: int) -> tuple[int, str] | None:
    """The last group and the replacement of a phone starting at group `i`, or None."""
    first = groups[i][2]
    # a mobile: 138 1234 5678, 138-12-34-56-78, 1 3 8 1 2 3 4 5 6 7 8, after an optional 86 / 0086
    k = i + 1 if first in ("86", "0086") and i + 1 < len(groups) else i
    for start in dict.fromkeys((k, i)):
        total, j = "", start
        while j < len(groups) and len(total) < 11:
            total += groups[j][2]
            j += 1
        parts = [g[2] for g in groups[start:j]]
        shaped = (
            len(parts) == 1 or all(len(p) == 1 for p in parts) or (len(parts[0]) >= 3 and min(map(len, parts)) >= 2)
        )
        if len(total) == 11 and _MOBILE.fullmatch(total) and shaped and len(parts) > 1:
            return j - 1, _mobile(total)
    # a landline: an area code 0xx / 0xxx, then 7–8 digits in one or two groups
    if first.startswith("0") and len(first) in (3, 4) and first not in ("086",):
        total, j = "", i + 1
        while j < len(groups) and len(total) < 8 and len(groups[j][2]) >= 3:
            total += groups[j][2]
            j += 1
        if len(total) in (7, 8):
            return j - 1, f"{first}-{MASK}{total[-4:]}"
    # a local number in two or three groups of 3+ digits, 7–8 digits in all: 8765 4321, 876-5432
    total, j = "", i
    while j < len(groups) and j - i < 3 and len(groups[j][2]) >= 3 and len(total) < 8:
        total += groups[j][2]
        j += 1
    if j - i >= 2 and len(total) in (7, 8):
        return j - 1, _short(total)
    return None


def _mask_run(m: re.Match[str], drop: bool = False) -> str:
    span = m.group()
    parts = _spans(span)
    if not parts:
        return span
    out, at = [], 0
    for s, e, rep in parts:
        out.append(span[at:s])
        out.append(" " if drop else rep)
        at = e
    out.append(span[at:])
    return "".join(out)


def _mask_url(url: str) -> str:
    """Inside a link only a bare mobile is masked (a link's ids and dates must keep working)."""
    return re.sub(r"(?<!\d)(?:86)?1[3-9]\d{9}(?!\d)", lambda m: _mobile(m.group()[-11:]), url)


def mask(text: str, *, drop: bool = False) -> str:
    """Text with every phone number masked (`138 1234 5678` → `138****5678`), or left out with `drop` (a space in
    its place); anything else as it was."""
    if not text or not any(c.isdigit() for c in text):
        return text
    return _masked(text, drop)


@lru_cache(maxsize=256)
def _masked(text: str, drop: bool) -> str:
    """`mask`, kept for the texts seen last: the same answer (a progress list per city) goes to many askers."""
    out, at = [], 0
    run = (lambda m: _mask_run(m, True)) if drop else _mask_run
    for u in _URL.finditer(text):
        out.append(_CANDIDATE.sub(run, text[at : u.start()]))
        out.append(_mask_url(u.group()))
        at = u.end()
    out.append(_CANDIDATE.sub(run, text[at:]))
    return "".join(out)


def is_mobile(text: str) -> bool:
    """`text` is exactly an 11-digit mobile number (`13812345678`)."""
    return bool(_MOBILE.fullmatch(text))


def has_phone(text: str) -> bool:
    """True when `mask` would change `text`."""
    return mask(text) != text


def is_phone(text: str) -> bool:
    """`text` is one phone number and nothing else: a mobile (11 digits, after +86), a landline with its area code
    (and an extension: `0371-12345678-801`), or a local number of 7–8 digits."""
    t = re.sub(r"(?:[-－转]|ext\.?)\d{1,6}$", "", unicodedata.normalize("NFKC", text).strip(), flags=re.I)
    if not t or _CANDIDATE.fullmatch(t) is None:
        return False
    parts = _spans(t)
    if len(parts) != 1 or parts[0][0] != 0 or parts[0][1] != len(t):
        return False
    digits = _ascii("".join(_GROUP.findall(t)))
    national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    return (
        bool(_MOBILE.fullmatch(national))
        or (digits.startswith("0") and 10 <= len(digits) <= 12)
        or len(digits) in (7, 8)
    )


def mask_segments(segments: list[Segment]) -> list[Segment]:
    """A message's segments with the text of every text segment, folded-list node and file name masked."""
    out: list[Segment] = []
    for seg in segments:
        kind, data = seg.get("type"), seg.get("data") or {}
        if kind == "text":
            seg = {"type": "text", "data": {**data, "text": mask(str(data.get("text", "")))}}
        elif kind == "node" and isinstance(data.get("content"), list):
            seg = {"type": "node", "data": {**data, "content": mask_segments(data["content"])}}
        elif kind == "upload":
            seg = {"type": "upload", "data": {**data, "name": mask(str(data.get("name", "")))}}
        out.append(seg)
    return out


# ---------------------------------------------------------------- files


class CannotMask(Exception):
    """A file whose text the filter cannot read (a scan, a picture, an old .xls): it is for the office only."""


_TEXT_RUN = re.compile(r"<(si|is|text)\b([^>]*)>(.*?)</\1>", re.S)
_T = re.compile(r"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
_DRAWING_T = re.compile(r"(<a:t\b[^>]*>)(.*?)(</a:t>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_TYPE = re.compile(r'\bt="([^"]*)"')
_V = re.compile(r"<v>(.*?)</v>", re.S)
_FORMULA = re.compile(r"<f\b[^>]*/>|<f\b[^>]*>.*?</f>", re.S)


def _xml_text(raw: str) -> str:
    return html.unescape(raw)


def _mask_runs(xml: str) -> str:
    """Shared strings, inline strings and comments: each one's whole text masked (runs joined, so a number split
    over two formatted runs is still seen), written back as one plain run where it changed."""

    def one(m: re.Match[str]) -> str:
        tag, attrs, inner = m.group(1), m.group(2), m.group(3)
        text = "".join(_xml_text(t) for t in _T.findall(inner))
        masked = mask(text)
        if masked == text:
            return m.group(0)
        return f'<{tag}{attrs}><t xml:space="preserve">{escape(masked)}</t></{tag}>'

    return _TEXT_RUN.sub(one, xml)


def _mask_cell(m: re.Match[str]) -> str:
    """A cell: its text (a formula's text result) masked; a number of 10 or more digits (a phone typed as a number)
    written masked as text. Shared strings (t="s") and inline strings are masked where their text is."""
    attrs, inner = m.group(1), m.group(2)
    if inner is None:
        return m.group(0)
    kind = _TYPE.search(attrs)
    t = kind.group(1) if kind else "n"
    if t in ("str", "e"):
        return f"<c{attrs}>" + _V.sub(lambda v: f"<v>{escape(mask(_xml_text(v.group(1))))}</v>", inner) + "</c>"
    if t != "n":
        return m.group(0)
    v = _V.search(inner)
    if v is None:
        return m.group(0)
    try:
        big = abs(float(v.group(1))) >= 1e9
    except ValueError:
        return m.group(0)
    if not big:
        return m.group(0)
    digits = f"{abs(float(v.group(1))):.0f}"
    shown = _mobile(digits) if len(digits) >= 11 else _short(digits)
    return f'<c{_TYPE.sub("", attrs)} t="inlineStr"><is><t>{shown}</t></is></c>'


def _mask_sheet_xml(xml: str) -> str:
    xml = _FORMULA.sub("", xml)  # a formula would compute the number again when the file is opened
    xml = _mask_runs(xml)
    return _CELL.sub(_mask_cell, xml)


# Where a part may be cut into pieces masked one after another: no cell, string or comment spans these ends
_PIECE_ENDS = (("xl/worksheets/", "</row>"), ("xl/sharedStrings", "</si>"))
_COMMENT_END = "</comment>"
READ_BYTES = 1 << 20  # a part is read, masked and written a megabyte at a time
MAX_PIECE = 4 << 20  # characters without the end of a row, string or comment: the part cannot be checked


def _piece_end(name: str) -> str | None:
    if "comments" in name:
        return _COMMENT_END
    return next((end for prefix, end in _PIECE_ENDS if name.startswith(prefix)), None)


def _mask_streamed(src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile, end: str) -> None:
    """A sheet, the shared strings or comments masked a piece at a time, each piece ending at `end` (a row, a
    string, a comment): the merged workbook of 2,000 units is some 40 MB of XML, four bytes a character once it holds
    Chinese, and masking it whole took the bot from 200 to 460 MB (bench `files`, `/报送 汇总`)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    part = zipfile.ZipInfo(info.filename, info.date_time)
    part.compress_type, part.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
    with src.open(info) as fin, dst.open(part, "w") as fout:
        pending = ""
        while block := fin.read(READ_BYTES):
            pending += decoder.decode(block)
            cut = pending.rfind(end)
            if cut < 0:  # no end in what was read yet
                if len(pending) > MAX_PIECE:
                    raise CannotMask(info.filename)
                continue
            cut += len(end)
            fout.write(_mask_sheet_xml(pending[:cut]).encode("utf-8"))
            pending = pending[cut:]
        fout.write(_mask_sheet_xml(pending + decoder.decode(b"", final=True)).encode("utf-8"))


def _mask_xlsx(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            name = info.filename
            if (end := _piece_end(name)) is not None and name.endswith(".xml"):
                _mask_streamed(src, info, dst, end)
                continue
            body = src.read(info)
            if name.endswith((".xml", ".rels", ".vml")) and not name.startswith("[Content_Types]"):
                text = body.decode("utf-8", "replace")
                if _piece_end(name) is not None:  # a sheet's relations, comments drawn as VML
                    text = _mask_sheet_xml(text)
                elif name.startswith("xl/drawings/"):
                    text = _DRAWING_T.sub(lambda m: m.group(1) + escape(mask(_xml_text(m.group(2)))) + m.group(3), text)
                elif name.startswith("docProps/") or name == "xl/workbook.xml":
                    text = re.sub(r">([^<]+)<", lambda m: ">" + escape(mask(_xml_text(m.group(1)))) + "<", text)
                    text = re.sub(r'name="([^"]*)"', lambda m: f'name="{escape(mask(_xml_text(m.group(1))))}"', text)
                body = text.encode("utf-8")
            elif name.startswith("xl/externalLinks/") or name.endswith(".bin"):
                continue  # cached values of other workbooks, macros: nothing a reader needs
            dst.writestr(info, body)
    return out.getvalue()


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def _mask_csv(data: bytes) -> bytes:
    rows = list(csv.reader(io.StringIO(_decode(data))))
    buf = io.StringIO()
    csv.writer(buf).writerows([[mask(c) for c in r] for r in rows])
    return buf.getvalue().encode("utf-8-sig")


def _mask_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    left_out: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.is_dir():
                continue
            try:
                body = mask_bytes(info.filename, src.read(info))
            except CannotMask:
                left_out.append(info.filename)
                continue
            dst.writestr(mask(info.filename), body)
        if left_out:
            note = "以下原件含有无法检查的内容（扫描件、图片或旧格式表格），只能由管理员私聊或在后台领取：\n"
            dst.writestr("未附的原件.txt", (note + "\n".join(mask(n) for n in left_out) + "\n").encode("utf-8-sig"))
    return out.getvalue()


_MASKERS: dict[str, Callable[[bytes], bytes]] = {
    ".xlsx": _mask_xlsx,
    ".xlsm": _mask_xlsx,
    ".csv": _mask_csv,
    ".txt": lambda b: mask(_decode(b)).encode("utf-8-sig"),
    ".zip": _mask_zip,
}


def mask_bytes(name: str, data: bytes) -> bytes:
    """A file's bytes with every text cell (or line) masked.

    Raises:
        CannotMask: a kind of file whose text the filter cannot read (PDF, pictures, .xls, Word).
    """
    masker = _MASKERS.get(Path(name).suffix.lower())
    if masker is None:
        raise CannotMask(name)
    try:
        return masker(data)
    except (zipfile.BadZipFile, csv.Error, ValueError, KeyError, EOFError) as e:
        raise CannotMask(name) from e


def masked_file(path: Path) -> Path:
    """A masked copy of `path`, kept beside it in a `masked` folder under the same name (made again each time).

    Raises:
        CannotMask: see `mask_bytes`.
    """
    path = Path(path)
    folder = path.parent / "masked"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / path.name
    tmp = folder / (path.name + ".tmp")
    tmp.write_bytes(mask_bytes(path.name, path.read_bytes()))
    shutil.move(tmp, dest)
    return dest


async def for_audience(path: Path, *, office: bool) -> Path:
    """The file to hand over: `path` itself to the office, a masked copy to anyone else (made off the loop).

    Raises:
        CannotMask: the file is for someone outside the office and its text cannot be checked.
    """
    if office:
        return Path(path)
    return await asyncio.to_thread(masked_file, Path(path))
