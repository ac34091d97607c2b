"""Pictures as files: a card's PNG lives under <data>/pictures/<hash>.png, rendered once per distinct data."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path

from bot.pictures.cards import Card, render_png
from bot.pictures.fonts import Font, find_font

log = logging.getLogger("alliance.pictures")
KEEP = 500  # pictures kept on disk; older ones are removed
KEPT_PATHS = 32  # cards whose file name is remembered
INLINE_BYTES = 8 << 20  # base64 of the pictures sent lately, kept in memory (at most this many characters)
PRUNE_EVERY = 20  # pictures drawn between two prunes (a prune stats every kept file)


def card_key(card: Card) -> str:
    """A hash of everything drawn: the same data gives the same key (and the same picture). A card holds only
    text, numbers, flags and tuples of them, whose repr says all of it (in a third of the time that json of
    `dataclasses.asdict` takes)."""
    return hashlib.sha256(repr(card).encode()).hexdigest()[:32]


class Pictures:
    """Renders cards to PNG files, reusing the file while the data has not changed."""

    def __init__(self, data_dir: Path, font_setting: str = "", enabled: bool = True) -> None:
        self.dir = Path(data_dir) / "pictures"
        self.font_setting = font_setting
        self.enabled = enabled
        self.rendered = 0  # pictures actually drawn (not reused), for tests and the log
        self._one_at_a_time = asyncio.Lock()
        self._paths: dict[int, tuple[Card, Path]] = {}  # id of a card lately drawn (or found) → (the card, its file)
        self._drawing: dict[Path, asyncio.Future[Path]] = {}  # pictures being drawn (or waiting to be), by file

    @property
    def font(self) -> Font | None:
        return find_font(self.font_setting) if self.enabled else None

    @property
    def available(self) -> bool:
        """Whether pictures can be drawn (enabled, and a CJK font was found)."""
        return self.font is not None

    def path_for(self, card: Card) -> Path:
        """The file of `card`'s picture; the same card object again (one kept for many askers) is not hashed again."""
        found = self._paths.get(id(card))
        if found is not None and found[0] is card:
            return found[1]
        path = self.dir / f"{card_key(card)}.png"
        if len(self._paths) >= KEPT_PATHS:
            self._paths.clear()
        self._paths[id(card)] = (card, path)  # the card is held, so its id is not reused while kept
        return path

    def render(self, card: Card, path: Path | None = None) -> Path:
        """The PNG of `card` (drawn now, or the one drawn before for the same data).

        Raises:
            RuntimeError: no CJK font (check `available` first).
        """
        font = self.font
        if font is None:
            raise RuntimeError("no CJK font")
        path = path or self.path_for(card)  # the caller's, when it has hashed the card already
        if path.is_file():
            return path
        png = render_png(card, font)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(png)
        tmp.replace(path)
        self.rendered += 1
        if self.rendered % PRUNE_EVERY == 1:
            self._prune()
        return path

    async def render_async(self, card: Card) -> Path:
        """`render` in a worker thread, so drawing a long card does not hold up the event loop; one at a time
        (drawing is CPU-bound, and each picture in progress holds a few megabytes). Askers of a picture being drawn
        wait for that drawing, not in the queue behind the drawings of other pictures (they used to take the lock in
        turn, each waiting for every picture asked before theirs); a waiter going away does not stop it."""
        path = self.path_for(card)
        if (drawing := self._drawing.get(path)) is None:
            if path.is_file():
                return path
            drawing = self._drawing[path] = asyncio.ensure_future(self._draw_in_turn(card, path))
            drawing.add_done_callback(lambda _: self._drawing.pop(path, None))
        return await asyncio.shield(drawing)

    async def _draw_in_turn(self, card: Card, path: Path) -> Path:
        async with self._one_at_a_time:
            return await asyncio.to_thread(self.render, card, path)

    def _prune(self) -> None:
        try:
            files = sorted(self.dir.glob("*.png"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in files[:-KEEP]:
            try:
                old.unlink()
            except OSError:
                pass


_inline: OrderedDict[tuple[str, int, int], str] = OrderedDict()  # (path, mtime, size) → base64, newest last


def inline(path: Path) -> str:
    """A picture file as OneBot's `base64://…` (a client on another machine gets it too). The last few are kept
    encoded (at most INLINE_BYTES characters): a picture many askers are sent is read and encoded once; a file
    written again (another mtime or size) is read again.

    Raises:
        OSError: the file is gone.
    """
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    found = _inline.get(key)
    if found is not None:
        _inline.move_to_end(key)
        return found
    text = "base64://" + base64.b64encode(path.read_bytes()).decode()
    _inline[key] = text
    while sum(len(v) for v in _inline.values()) > INLINE_BYTES and len(_inline) > 1:
        _inline.popitem(last=False)
    return text


def draw_cards(cards: list[Card], data_dir: str, font_setting: str) -> int:
    """Draw each card's picture file under `data_dir`, as `Pictures.render` does; how many were drawn. Run in the
    sandbox's child process by the pictures drawn ahead (bot/readouts/drawn_ahead.py), so that the bot itself holds
    none of the memory drawing takes (fonts, strings, images)."""
    pictures = Pictures(Path(data_dir), font_setting)
    for card in cards:
        pictures.render(card)
    return pictures.rendered
