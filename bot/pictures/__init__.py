"""Pictures of the lists people compare (rankings, targets, progress), drawn with Pillow; no NoneBot here.

`fonts.find_font` picks a CJK font once; `cards` draws a card from plain data; `Pictures` renders a card to a
PNG under the data folder, named by a hash of its data, so the same data gives the same file, rendered once.
"""

from bot.pictures.cards import Bar, Card, ProgressGroup, RankRow, RankTable, render_png
from bot.pictures.fonts import find_font
from bot.pictures.store import Pictures

__all__ = ["Bar", "Card", "Pictures", "ProgressGroup", "RankRow", "RankTable", "find_font", "render_png"]
