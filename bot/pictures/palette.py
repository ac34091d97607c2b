"""The palette cards are drawn in: a card is 8-bit indexes into one palette, not RGB, so a third of the bytes to
deflate, keep and send (a 30-row ranking: about 105 KB instead of 230–270 KB).

Text is drawn at LEVELS levels of coverage, so each pair of a text colour and the background under it is a ramp of
LEVELS colours: with the colours below, a few hundred at most. The palette only grows (a kept skeleton's indexes stay
valid) and every picture carries all of it.
"""

from __future__ import annotations

import threading

BG = (246, 247, 250)
PANEL = (255, 255, 255)
INK = (33, 37, 41)
MUTED = (120, 126, 135)
ACCENT = (196, 43, 28)  # the red of official notices
BAR = (66, 133, 244)
BAR_DONE = (52, 168, 83)
FIX = (230, 140, 0)  # 需修改: a file handed in with problems (amber, apart from done and owing)
TRACK = (228, 231, 236)
HIGHLIGHT = (255, 243, 205)
UP, DOWN = (196, 43, 28), (52, 168, 83)

LEVELS = 16
_STEP = 255 // (LEVELS - 1)
# a text mask's value → 255 where its pixel is drawn at all, else 0 (a table for `bytes.translate`)
COVER = bytes(255 if (v + _STEP // 2) // _STEP else 0 for v in range(256))
_palette: list[tuple[int, int, int]] = []
_index: dict[tuple[int, int, int], int] = {}
_ramps: dict[tuple[tuple[int, int, int], tuple[int, int, int]], bytes] = {}
_palette_lock = threading.Lock()


def index_of(colour: tuple[int, int, int]) -> int:
    """The palette index of `colour` (added to the palette the first time)."""
    if (i := _index.get(colour)) is None:
        with _palette_lock:
            if (i := _index.get(colour)) is None:
                if len(_palette) >= 256:
                    raise RuntimeError("a card would need more than 256 colours")
                i = _index[colour] = len(_palette)
                _palette.append(colour)
    return i


def ramp(fill: tuple[int, int, int], bg: tuple[int, int, int]) -> bytes:
    """A text mask's value (0–255) → the palette index of `fill` drawn at that coverage over `bg`."""
    if (lut := _ramps.get((fill, bg))) is None:
        mix = [[round(b + (f - b) * k / (LEVELS - 1)) for f, b in zip(fill, bg, strict=True)] for k in range(LEVELS)]
        shades = [index_of((r, g, b)) for r, g, b in mix]
        lut = _ramps[(fill, bg)] = bytes(shades[(v + _STEP // 2) // _STEP] for v in range(256))
    return lut


def palette_bytes() -> bytes:
    """The palette as PNG's PLTE wants it (RGB triples, in index order)."""
    return bytes(v for c in list(_palette) for v in c)


for _c in (BG, PANEL, INK, MUTED, ACCENT, BAR, BAR_DONE, FIX, TRACK, HIGHLIGHT, UP, DOWN):
    index_of(_c)
for _f in (INK, MUTED, ACCENT, UP, DOWN, FIX):  # every text colour over every background text is drawn on
    for _b in (BG, PANEL, HIGHLIGHT):
        ramp(_f, _b)
# the roll-up's 无联络员 note: white on a bar, muted on the track (so that the palette, and a card's bytes, do not
# depend on what the process drew before)
for _f, _b in ((PANEL, BAR), (PANEL, BAR_DONE), (PANEL, FIX), (MUTED, TRACK)):
    ramp(_f, _b)
