"""Drawing a card: a title, tables of ranked units with bars, progress bars per category with the units owing.

A card is plain data (dataclasses of text and numbers), so its hash says whether it changed; `render_png`
draws it with Pillow and returns the PNG bytes. Long lists are the caller's to cut (`RankTable.more`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from bot.pictures import ink, png
from bot.pictures.fonts import Font
from bot.pictures.palette import (
    ACCENT,
    BAR,
    BAR_DONE,
    BG,
    DOWN,
    FIX,
    HIGHLIGHT,
    INK,
    MUTED,
    PANEL,
    TRACK,
    UP,
    index_of,
    palette_bytes,
)

PAD = 28
ROW = 34
COL_GAP = 24


@dataclass(frozen=True)
class RankRow:
    rank: int
    name: str
    value: str  # the number shown, e.g. 14.73万
    extra: str = ""  # e.g. the growth, +345
    bar: float | None = None  # 0..1 (and more) of the target; None for no bar
    highlight: bool = False  # the asker's unit


@dataclass(frozen=True)
class RankTable:
    heading: str
    rows: tuple[RankRow, ...]
    more: str = ""  # e.g. 另有 140 个单位未列出
    empty: str = "暂无数据"
    wide_extra: bool = False  # the third column holds a date (2025年12月20日), not a short figure: names give way


@dataclass(frozen=True)
class Bar:
    label: str
    done: int
    total: int
    names: tuple[str, ...] = ()  # who still owes it (but for those below)
    names_label: str = "未完成"
    fixing: int = 0  # of those owing, how many handed in a file with problems (需修改): drawn in their own colour
    fixing_names: tuple[str, ...] = ()
    fixing_label: str = "需修改"
    done_label: str = "已完成"  # in the legend drawn when a bar shows units needing changes
    owing: int = 0  # how many owe it but for those needing changes, when `names` are only the first few (等 N 个)
    unstaffed: int = 0  # of those owing, how many have no operator (nobody can confirm): `无联络员 N` in the track


def _pieces(names: tuple[str, ...], count: int) -> tuple[str, ...]:
    """Names as drawn: when they are the first few of `count`, the last one followed by 等 N 个 (as `first_names`
    counts it)."""
    if names and count > len(names):
        return (*names[:-1], f"{names[-1]} 等 {count} 个")
    return names


@dataclass(frozen=True)
class ProgressGroup:
    heading: str
    bars: tuple[Bar, ...]
    more: str = ""  # under the bars, when they name only the first units owing: where the full list is


@dataclass(frozen=True)
class Card:
    title: str
    subtitle: str = ""
    note: str = ""  # the data's date
    tables: tuple[RankTable, ...] = ()
    progress: tuple[ProgressGroup, ...] = ()
    footer: str = ""
    width: int = field(default=0)  # 0: from the content


@cache
def _font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


class _Pen:
    def __init__(self, font: Font) -> None:
        self.font = font

    def f(self, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        return _font(self.font.bold_path if bold else self.font.path, self.font.index, size)


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    if ink.length(text, font) <= width:
        return text
    limit = width - ink.length("…", font)
    out, used = "", 0.0
    for ch in text:
        used += ink.glyph(font, ch)[3]
        if used > limit:
            break
        out += ch
    return out + "…"


def _wrap(text_items: tuple[str, ...], length: Callable[[str], float], width: float, sep: str = "、") -> list[str]:
    """Names joined by `sep`, broken into lines no wider than `width` (at name boundaries where possible)."""
    lines: list[str] = []
    line = ""
    for i, name in enumerate(text_items):
        piece = name + (sep if i < len(text_items) - 1 else "")
        if line and length(line + piece) > width:
            lines.append(line)
            line = ""
        line += piece
    if line:
        lines.append(line)
    return lines


def _table_height(t: RankTable) -> int:
    return 44 + max(1, len(t.rows)) * ROW + (26 if t.more else 0)


# What a picture costs, drawing and encoding (timings: bench/README.md, "Timings behind the code"):
# - Encoding: Pillow tries every PNG row filter on every row; a card is flat colour and text, which deflate
#   compresses best unfiltered. `png.encode` writes the rows unfiltered at zlib level 3, in bands of rows each
#   deflated on its own: the same pixels (PNG is lossless) in less time, and the file is smaller.
# - Drawing: the asker's unit is highlighted (and appended when it is not among the rows shown), so every asker
#   gets a picture of their own from the same data. The card without its highlighted rows (the skeleton, which
#   depends only on the data and where those rows sit) is drawn once and kept as its encoded bands; each asker's
#   picture is that skeleton with only the highlighted rows drawn into their bands, pixel for pixel what drawing
#   it whole gives, since a row draws only inside its own band (tests/bot/test_picture_cards.py checks that).
#   Only the bands a highlighted row touches are inflated, drawn on and encoded again; the PNG takes the other
#   bands' bytes as they are kept.
_KEEP_SKELETONS = 32  # kept deflated: ~0.2 MB each instead of 4.5 MB (the bot's RSS target is 200 MB); a ranking has
# a few per view (the asker among the rows shown or below them, with or without a growth figure and a bar)
_skeletons: OrderedDict[tuple, tuple[tuple[int, int], list[png.Band]]] = OrderedDict()
_skeletons_lock = threading.Lock()
ALL, SKELETON, HIGHLIGHTS = "all", "skeleton", "highlights"


def forget_skeletons() -> None:
    """Drop the kept skeletons (the bench measures pictures of data that has just changed)."""
    with _skeletons_lock:
        _skeletons.clear()


def _highlighted(card: Card) -> bool:
    return any(r.highlight for t in card.tables for r in t.rows)


def render_png(card: Card, font: Font) -> bytes:
    """Draw `card` and return the PNG bytes."""
    if not _highlighted(card):
        img = _draw(card, font, ALL)
        return png.png(img.size, png.encode_all(img), palette_bytes())
    img, parts, touched = _on_skeleton(card, font, whole=False)
    stride = img.size[0]  # a byte per pixel
    for i in touched:
        top = i * png.BAND
        parts[i] = png.encode(img.crop((0, top, img.size[0], min(img.size[1], top + png.BAND))).tobytes(), stride)
    return png.png(img.size, parts, palette_bytes())


def draw(card: Card, font: Font) -> Image.Image:
    """The card as an image: a card with highlighted rows reuses the skeleton drawn for the same data."""
    if not _highlighted(card):
        return _draw(card, font, ALL)
    return _on_skeleton(card, font, whole=True)[0]


def _on_skeleton(card: Card, font: Font, whole: bool) -> tuple[Image.Image, list[png.Band], set[int]]:
    """The highlighted rows drawn onto the kept skeleton: the image (every band of it if `whole`, else only the
    bands the rows touch), the skeleton's bands (a copy of the list) and the indexes of the bands drawn on."""
    key = (font, _skeleton_of(card))
    with _skeletons_lock:
        kept = _skeletons.get(key)
        if kept is not None:
            _skeletons.move_to_end(key)
    if kept is None:
        base = _draw(card, font, SKELETON)
        kept = (base.size, png.encode_all(base))
        with _skeletons_lock:
            _skeletons[key] = kept
            while len(_skeletons) > _KEEP_SKELETONS:
                _skeletons.popitem(last=False)
    size, parts = kept
    img = Image.new("P", size, index_of(BG))
    img.putpalette(palette_bytes())
    touched: set[int] = set()

    def prepare(top: int, bottom: int) -> None:
        """The skeleton's pixels in the bands of rows [top, bottom), before a highlighted row is drawn there."""
        for i in range(top // png.BAND, (bottom - 1) // png.BAND + 1):
            if i not in touched and i < len(parts):
                touched.add(i)
                img.paste(png.decode(parts[i], size[0], "P"), (0, i * png.BAND))

    if whole:
        prepare(0, size[1])
    _draw(card, font, HIGHLIGHTS, img, prepare)
    return img, list(parts), touched


def _skeleton_of(card: Card) -> Card:
    """The card with each highlighted row reduced to what places the other rows: that it is there, and whether
    it has a growth figure or a bar where no other row of its table has one (a column the table then draws). Equal
    for every asker of the same data whose rows sit in the same places."""

    def table(t: RankTable) -> RankTable:
        others = [r for r in t.rows if not r.highlight]
        extra, bar = any(r.extra for r in others), any(r.bar is not None for r in others)

        def blank(r: RankRow) -> RankRow:
            if not r.highlight:
                return r
            return RankRow(0, "", "", "+" if r.extra or extra else "", 0.0 if r.bar is not None or bar else None, True)

        return replace(t, rows=tuple(blank(r) for r in t.rows))

    return replace(card, tables=tuple(table(t) for t in card.tables))


def _columns(card: Card) -> int:
    return 2 if len(card.tables) >= 2 else 1


def _width(card: Card) -> int:
    return card.width or (1120 if _columns(card) == 2 else 760)


NAME_SIZE = 14  # px: the font of the names under a bar; no character is drawn wider than this (a CJK one is)
NAMES_LEFT = 90  # the names' column starts this far in (after 未完成：)


def _measure(card: Card, length: Callable[[str], float]) -> tuple[int, list[list[tuple[Bar, list[str], list[str]]]]]:
    """The card's height, and the names under each bar broken into lines (`length`: a text's width in px)."""
    ncols = _columns(card)
    names_w = _width(card) - 2 * PAD - NAMES_LEFT
    height = PAD + 44 + (28 if card.subtitle else 0) + (24 if card.note else 0) + 16
    for i in range(0, len(card.tables), ncols):
        height += max(_table_height(t) for t in card.tables[i : i + ncols]) + 20
    wrapped: list[list[tuple[Bar, list[str], list[str]]]] = []
    for g in card.progress:
        items = []
        for b in g.bars:
            lines = _wrap(_pieces(b.names, b.owing), length, names_w) if b.names else []
            fix_lines = _wrap(_pieces(b.fixing_names, b.fixing), length, names_w) if b.fixing_names else []
            items.append((b, lines, fix_lines))
        wrapped.append(items)
        height += 40 + sum(34 + (len(lines) + len(fix)) * 21 + 6 for _, lines, fix in items) + 12
        height += 26 if g.more else 0
    height += (30 if card.footer else 0) + PAD
    return height, wrapped


def _em(text: str) -> float:
    """A text's width if every character were a full em of NAME_SIZE: never less than it is drawn."""
    return len(text) * NAME_SIZE


def progress_height(card: Card) -> int:
    """At most how tall `card` is drawn (names measured by `_em`; drawn, they break into no more lines: packing
    names greedily into lines needs no more lines when every name is narrower)."""
    return _measure(card, _em)[0]


def first_names(names: Sequence[str], count: int, lines: int, width: int = 760) -> tuple[str, ...]:
    """The first of `names` that fit in `lines` lines under a bar of a card `width` wide, 等 `count` 个 after them
    when they are not all (measured by `_em`, so they fit however they are drawn); at least one."""
    names_w = width - 2 * PAD - NAMES_LEFT
    sep = _em("、")
    take, used, line = 0, 1, 0.0  # names placed, lines they take, width of the last (each followed by 、)
    for k, name in enumerate(names):
        # `_wrap` of names[:k + 1]: those before this one as placed, this one last (with 等 N 个 if not all)
        last = _em(name + (f" 等 {count} 个" if count > k + 1 else ""))
        if (used + (line > 0 and line + last > names_w)) > lines:
            break
        take = k + 1
        if line and line + _em(name) + sep > names_w:
            used, line = used + 1, 0.0
        line += _em(name) + sep
    return tuple(names[: max(take, 1)])


def _draw(
    card: Card,
    font: Font,
    phase: str,
    img: Image.Image | None = None,
    prepare: Callable[[int, int], None] | None = None,
) -> Image.Image:
    """Draw the whole card (ALL), all of it but the highlighted rows (SKELETON), or only the highlighted rows onto
    `img`, a copy of the skeleton (HIGHLIGHTS; `prepare(top, bottom)` is called before a row is drawn in
    [top, bottom))."""
    rest = phase != HIGHLIGHTS  # everything that is not a highlighted row
    pen = _Pen(font)
    f_title, f_sub, f_head = pen.f(30, True), pen.f(17), pen.f(20, True)
    f_row, f_small = pen.f(17), pen.f(14)
    ncols = _columns(card)
    width = _width(card)
    inner = width - 2 * PAD
    col_w = (inner - COL_GAP * (ncols - 1)) // ncols
    height, wrapped = _measure(card, lambda text: ink.length(text, f_small))

    if img is None:
        img = Image.new("P", (width, height), index_of(BG))
        img.putpalette(palette_bytes())
    d = ImageDraw.Draw(img)

    # ---- header
    y = PAD
    if rest:
        d.rectangle((0, 0, width, 6), fill=index_of(ACCENT))
        ink.text(img, (PAD, y), _fit(card.title, f_title, inner), f_title, INK)
    y += 44
    if card.subtitle:
        if rest:
            ink.text(img, (PAD, y), _fit(card.subtitle, f_sub, inner), f_sub, MUTED)
        y += 28
    if card.note:
        if rest:
            ink.text(img, (PAD, y), _fit(card.note, f_small, inner), f_small, MUTED)
        y += 24
    y += 16

    # ---- tables
    for i in range(0, len(card.tables), ncols):
        row_tables = card.tables[i : i + ncols]
        h = max(_table_height(t) for t in row_tables)
        for j, t in enumerate(row_tables):
            x0 = PAD + j * (col_w + COL_GAP)
            _draw_table(img, d, t, x0, y, col_w, h, (f_head, f_row, f_small), phase, prepare)
        y += h + 20
    if not rest:
        return img  # below the tables there is no highlighted row

    # ---- progress
    for g, items in zip(card.progress, wrapped, strict=True):
        ink.text(img, (PAD, y), g.heading, f_head, INK)
        if any(b.fixing for b in g.bars):
            _legend(img, d, (PAD + 24 + ink.length(g.heading, f_head), y + 8), g.bars, f_small)
        y += 40
        for b, lines, fix_lines in items:
            ratio = b.done / b.total if b.total else 1.0
            label = f"{b.done}/{b.total}  {ratio * 100:.1f}%"
            ink.text(img, (PAD, y + 4), _fit(b.label, f_row, 150), f_row, INK)
            bx0, bx1 = PAD + 160, width - PAD - 150
            d.rounded_rectangle((bx0, y + 8, bx1, y + 24), radius=8, fill=index_of(TRACK))
            if b.fixing and b.total:  # behind the done part: it shows past it in its own colour
                fixed = min((b.done + b.fixing) / b.total, 1.0)
                d.rounded_rectangle(
                    (bx0, y + 8, bx0 + max(16, int((bx1 - bx0) * fixed)), y + 24), radius=8, fill=index_of(FIX)
                )
            if ratio > 0:
                d.rounded_rectangle(
                    (bx0, y + 8, bx0 + max(16, int((bx1 - bx0) * min(ratio, 1.0))), y + 24),
                    radius=8,
                    fill=index_of(BAR_DONE if ratio >= 1 else BAR),
                )
            ink.text(img, (bx1 + 12, y + 4), label, f_row, INK)
            if b.unstaffed and b.total:  # at the track's right end: those units owe it, so it is rarely covered
                nx = bx1 - 10 - ink.length(note := f"无联络员 {b.unstaffed}", f_small)
                if bx0 + (bx1 - bx0) * min(ratio, 1.0) > nx:  # on the done part, else the 需修改 part, else the track
                    under = BAR_DONE if ratio >= 1 else BAR
                elif bx0 + (bx1 - bx0) * min((b.done + b.fixing) / b.total, 1.0) > nx:
                    under = FIX
                else:
                    under = TRACK
                ink.text(img, (nx, y + 4), note, f_small, MUTED if under == TRACK else PANEL, under)
            y += 34
            for heading, names, colour in ((b.names_label, lines, ACCENT), (b.fixing_label, fix_lines, FIX)):
                if names:
                    ink.text(img, (PAD + 8, y), f"{heading}：", f_small, colour)
                for line in names:
                    ink.text(img, (PAD + 80, y), line, f_small, MUTED if colour == ACCENT else FIX)
                    y += 21
            y += 6
        if g.more:
            ink.text(img, (PAD, y + 2), _fit(g.more, f_small, inner), f_small, MUTED)
            y += 26
        y += 12

    if card.footer:
        ink.text(img, (PAD, y + 4), _fit(card.footer, f_small, inner), f_small, MUTED)
    return img


def _legend(
    img: Image.Image,
    d: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    bars: tuple[Bar, ...],
    font: ImageFont.FreeTypeFont,
) -> None:
    """`■ 已完成 ■ 需修改` beside a heading whose bars show units needing changes."""
    x, y = xy
    shown = next(b for b in bars if b.fixing)
    for colour, text in ((BAR, shown.done_label), (FIX, shown.fixing_label)):
        d.rounded_rectangle((x, y + 2, x + 14, y + 16), radius=3, fill=index_of(colour))
        ink.text(img, (x + 20, y), text, font, MUTED)
        x += 20 + ink.length(text, font) + 18


def _draw_table(
    img: Image.Image,
    d: ImageDraw.ImageDraw,
    t: RankTable,
    x0: int,
    y0: int,
    w: int,
    h: int,
    fonts: tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont, ImageFont.FreeTypeFont],
    phase: str,
    prepare: Callable[[int, int], None] | None = None,
) -> None:
    f_head, f_row, f_small = fonts
    rest = phase != HIGHLIGHTS
    if rest:
        d.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=10, fill=index_of(PANEL))
        ink.text(img, (x0 + 16, y0 + 10), _fit(t.heading, f_head, w - 32), f_head, INK, PANEL)
    y = y0 + 44
    if not t.rows:
        if rest:
            ink.text(img, (x0 + 16, y + 6), t.empty, f_row, MUTED, PANEL)
        return
    has_bar = any(r.bar is not None for r in t.rows)
    has_extra = any(r.extra for r in t.rows)
    name_w = int(w * (0.42 if has_bar or t.wide_extra else 0.55))
    value_x = x0 + 56 + name_w
    extra_x = value_x + 96
    bar_x0 = extra_x + (80 if has_extra else 0)
    bar_x1 = x0 + w - 16
    for r in t.rows:
        if (phase == SKELETON and r.highlight) or (phase == HIGHLIGHTS and not r.highlight):
            y += ROW  # a row draws only inside its band [y, y + ROW): drawn now or later, the pixels are the same
            continue
        if r.highlight:
            if prepare is not None:
                prepare(y, y + ROW)
            d.rectangle((x0 + 4, y + 1, x0 + w - 4, y + ROW - 1), fill=index_of(HIGHLIGHT))
        # rank 0: a row outside the ranking (a unit that has not reported), drawn with a dash, never in red
        color = MUTED if r.rank <= 0 else ACCENT if r.rank <= 3 else INK
        back = HIGHLIGHT if r.highlight else PANEL
        ink.text(img, (x0 + 16, y + 7), f"{r.rank}" if r.rank > 0 else "–", f_row, color, back)
        ink.text(img, (x0 + 56, y + 7), _fit(r.name, f_row, name_w - 8), f_row, INK, back)
        ink.text(img, (value_x, y + 7), r.value, f_row, INK, back)
        if r.extra:
            fill = UP if r.extra.startswith("+") else DOWN if r.extra.startswith("-") else MUTED
            ink.text(
                img,
                (extra_x, y + 9),
                _fit(r.extra, f_small, (bar_x0 if has_bar else x0 + w - 12) - extra_x - 4),
                f_small,
                fill,
                back,
            )
        if r.bar is not None and bar_x1 - bar_x0 > 30:
            d.rounded_rectangle((bar_x0, y + 13, bar_x1, y + 23), radius=5, fill=index_of(TRACK))
            if r.bar > 0:
                end = bar_x0 + max(10, int((bar_x1 - bar_x0) * min(r.bar, 1.0)))
                d.rounded_rectangle(
                    (bar_x0, y + 13, end, y + 23), radius=5, fill=index_of(BAR_DONE if r.bar >= 1 else BAR)
                )
        y += ROW
    if t.more and rest:
        ink.text(img, (x0 + 16, y + 4), _fit(t.more, f_small, w - 32), f_small, MUTED, PANEL)
