"""Pictures as files: a card's PNG lives under <data>/pictures/<hash>.png, rendered once per distinct data."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path

from bot.pictures.cards import Card, render_png
from bot.pictures.fonts import Font, find_font

log = logging.getLogger("alliance.pictures")
KEEP = 500  # pictures kept on disk; older ones are removed
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
        self._paths: dict[int, tuple[Card, Path]] = {}  # id of a card → (the card, its path)

    @property
    def font(self) -> Font | None:
        return find_font(self.font_setting) if self.enabled else None

    @property
    def available(self) -> bool:
        """Whether pictures can be drawn (enabled, and a CJK font was found)."""
        return self.font is not None

    def path_for(self, card: Card) -> Path:
        """Where `card`'s PNG lives; a card kept and shown to many askers (a ranking's) is hashed once."""
        if (kept := self._paths.get(id(card))) is not None and kept[0] is card:
            return kept[1]
        path = self.dir / f"{card_key(card)}.png"
        if len(self._paths) >= 64:
            self._paths.clear()
        self._paths[id(card)] = (card, path)
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
        (drawing is CPU-bound, and each picture in progress holds a few megabytes)."""
        path = self.path_for(card)
        if path.is_file():
            return path
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
