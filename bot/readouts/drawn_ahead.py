"""The pictures of /粉丝 排行 and /粉丝 目标 drawn after a start, before anyone asks (issue 23).

A view's picture is drawn the first time it is asked after a start or a report: 15–30 ms of drawing, under the
interpreter lock beside the event loop. After a start, the first questions of the day come together, each of a
different view (`抖音`, `本科高校`, `上月`, `目标 高中`), and every other answer waited while those were drawn one
after another. So once the rankings are read at the start, the views a member can ask by one word are drawn in
the background, one at a time: the whole ranking of this month and of last month, each platform's and each
category's, and each category's targets; only those the group gets as a picture (more rows than
ALLIANCE_PICTURE_LINES). An ask then finds its picture's file (pictures are named by what they show) and draws
nothing. A report changes the data, and the next ask of a view draws it again, as before.

The drawing itself runs in a child process (the sandbox's, bot/sandbox.py: forked from a small server, with a memory
and a time limit) that writes the files and exits: drawn in the bot, the 26 views of the bench's data left ~40 MB
in it (the fonts, the strings kept drawn, the rankings' images), for pictures nobody may ask for.
"""

from __future__ import annotations

import asyncio
import logging

from bot import clock, sandbox
from bot.followers.periods import parse_ranking_args
from bot.followers.service import Followers
from bot.pictures import Card, Pictures
from bot.pictures.store import draw_cards
from bot.readouts.views import ranking_card, targets_card
from bot.vocab import CATEGORIES, PLATFORMS

log = logging.getLogger("alliance.pictures")


def ranking_views() -> list[list[str]]:
    """The words of each ranking view drawn ahead, as a member types them after /粉丝 排行."""
    return [[], ["上月"], *([p] for p in PLATFORMS), *([c] for c in CATEGORIES)]


async def draw_follower_views(followers: Followers, pictures: Pictures, *, rows: int, lines: int) -> int:
    """Draw the pictures of the views above that the group would get as pictures (`rows` rows each, more than
    `lines` rows of data) and that are not drawn yet; how many were drawn. A view that fails is logged and skipped;
    the drawing, if it fails, is logged (each view is then drawn when asked)."""
    if not pictures.available or lines <= 0:
        return 0
    cards = [c for c in await view_cards(followers, rows=rows, lines=lines) if not pictures.path_for(c).is_file()]
    if not cards:
        return 0
    try:
        return await asyncio.to_thread(sandbox.run, draw_cards, cards, str(pictures.dir.parent), pictures.font_setting)
    except Exception:
        log.exception("drawing the /粉丝 pictures ahead failed (each is drawn when asked)")
        return 0


async def view_cards(followers: Followers, *, rows: int, lines: int) -> list[Card]:
    """The card of each view above that a group gets as a picture, as the command builds it."""
    today = clock.now().date()
    cards: list[Card] = []
    for words in ranking_views():
        try:
            platform, category, period = parse_ranking_args(words, today)
            r = await followers.rankings.ranking(platform, category, period)
            if len(r.counts) > lines:
                cards.append(ranking_card(r, followers.target, limit=rows))
        except Exception:
            log.exception(f"the ranking picture of {words} is not drawn ahead (it is drawn when asked)")
    for category in CATEGORIES:
        try:
            overview = await followers.rankings.overview(category)
            if len(overview) > lines:
                cards.append(targets_card(category, overview, mine=None, limit=rows))
        except Exception:
            log.exception(f"the targets picture of {category} is not drawn ahead (it is drawn when asked)")
    return cards
