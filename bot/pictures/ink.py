"""Text in a card: each character rasterised once per font and size, each string composed once, and stamped onto
the card as indexes of its palette (`palette.ramp`: the text's colour over the background under it)."""

from __future__ import annotations

from functools import cache, lru_cache

from PIL import Image, ImageDraw, ImageFont

from bot.pictures.palette import BG, COVER, ramp

# strings kept drawn (`stamp`): unit names and numbers recur from one picture to the next (another view, another
# period, the same view after a report); ~3 KB each, so at most ~6 MB (4,096 with a second copy each was ~18 MB of
# the bot's 200 MB after the views drawn ahead, bench/README.md)
STAMPS = 2048

# Pillow rasterises every glyph of every string it draws; a card repeats few distinct characters, so each is
# drawn once per font and size and then pasted (timings: bench/README.md, "Timings behind the code").


@cache
def glyph(font: ImageFont.FreeTypeFont, ch: str) -> tuple[Image.Image | None, int, int, float]:
    """(mask, dx, dy, advance) of one character."""
    advance = font.getlength(ch)
    left, top, right, bottom = font.getbbox(ch)
    if right <= left or bottom <= top:
        return None, 0, 0, advance
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), ch, font=font, fill=255)
    return mask, left, top, advance


def length(text: str, font: ImageFont.FreeTypeFont) -> float:
    return sum(glyph(font, ch)[3] for ch in text)


def line_mask(font: ImageFont.FreeTypeFont, text: str) -> tuple[Image.Image | None, int]:
    """One string's glyphs composed into one mask, (mask, top offset); kept by `stamp`, the one caller (kept here
    too, it was a third copy of every string's pixels in memory, and found again only for a string drawn in
    another colour)."""
    parts = []
    x = 0.0
    for ch in text:
        mask, dx, dy, advance = glyph(font, ch)
        if mask is not None:
            parts.append((mask, round(x) + dx, dy))
        x += advance
    if not parts:
        return None, 0
    top = min(dy for _, _, dy in parts)
    width = max(px + m.width for m, px, _ in parts)
    height = max(dy - top + m.height for m, _, dy in parts)
    out = Image.new("L", (max(1, width), max(1, height)), 0)
    core = out.im  # pasted through the core: Image.paste's checks cost more than the paste of a glyph
    for m, px, dy in parts:
        core.paste(255, (px, dy - top, px + m.width, dy - top + m.height), m.im)
    return out, top


@lru_cache(maxsize=STAMPS)
def stamp(
    font: ImageFont.FreeTypeFont, text: str, fill: tuple, bg: tuple
) -> tuple[Image.Image, Image.Image, int] | None:
    """A string in `fill` over `bg` as palette indexes, the mask of the pixels it covers, and its top offset."""
    mask, top = line_mask(font, text)
    if mask is None:
        return None
    raw = mask.tobytes()  # mapped with bytes.translate: Image.point rounds its table in Python on every call
    # the pixels as an "L" image of palette indexes: a "P" image would make a palette object of its own, unused
    # (the core pastes its bytes as they are, see `text`)
    return (
        Image.frombytes("L", mask.size, raw.translate(ramp(fill, bg))),
        Image.frombytes("L", mask.size, raw.translate(COVER)),
        top,
    )


def text(
    img: Image.Image, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, fill: tuple, bg: tuple = BG
) -> None:
    """Draw `text` onto `img` (palette indexes) where the background under it is `bg`."""
    if (stamped := stamp(font, text, fill, bg)) is not None:
        pixels, cover, top = stamped
        x, y = round(xy[0]), round(xy[1]) + top
        # the core's paste copies the indexes as they are ("L" into "P": a byte per pixel either way)
        img.im.paste(pixels.im, (x, y, x + pixels.width, y + pixels.height), cover.im)
