"""Finding a font with Chinese glyphs: the setting's path, else Noto Sans CJK (Debian's fonts-noto-cjk) or kin."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger("alliance.pictures")

# (path, index of the Simplified Chinese face in a collection)
KNOWN: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
)
BOLD = {"NotoSansCJK-Regular.ttc": "NotoSansCJK-Bold.ttc", "NotoSerifCJK-Regular.ttc": "NotoSerifCJK-Bold.ttc"}


@dataclass(frozen=True)
class Font:
    path: str
    index: int
    bold_path: str  # the same face in bold when installed, else `path`

    @property
    def name(self) -> str:
        return Path(self.path).name


def _draws_chinese(path: str, index: int) -> bool:
    try:
        from PIL import ImageFont

        font = ImageFont.truetype(path, 20, index=index)
        box = font.getbbox("粉丝排行")
    except Exception:
        return False
    return box[2] - box[0] > 40


def _fc_match() -> tuple[str, int] | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}|%{index}", "sans-serif:lang=zh-cn"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("|")
    return (path, int(index or 0)) if path else None


@cache
def find_font(setting: str = "") -> Font | None:
    """The font pictures are drawn with, or None (pictures are then replaced by text); looked for once (the bot
    says in its log at start which one it uses).

    `setting` is ALLIANCE_FONT: a font file, optionally `path#index` for a collection.
    """
    candidates: list[tuple[str, int]] = []
    if setting.strip():
        path, _, index = setting.strip().partition("#")
        candidates.append((path, int(index) if index.isdecimal() else 0))
    candidates.extend(KNOWN)
    if (found := _fc_match()) is not None:
        candidates.append(found)
    for path, index in candidates:
        if Path(path).is_file() and _draws_chinese(path, index):
            bold = Path(path).with_name(BOLD.get(Path(path).name, Path(path).name))
            font = Font(path, index, str(bold) if bold.is_file() else path)
            log.debug("font for pictures: %s#%d", path, index)
            return font
    log.debug("no CJK font found")
    return None
