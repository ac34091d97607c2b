"""The pictures of /粉丝 排行 and /粉丝 目标 drawn after a start, before anyone asks (issue 23).

A view's picture is drawn the first time it is asked after a start or a report: 15–30 ms of drawing, under the
interpreter lock beside the event loop. After a start, the first questions of the day come together, each of a
different view (`抖音`, `本科高校`, `上月`, `目标 高中`), and every other answer waited while those were drawn one
after another. So once the rankings are read at the start, the views a member can ask by one word are drawn in
the background, one at a time: the whole ranking of this month and of last month, each platform's and each
category's, and each category's targets; only those the group gets as a picture (more rows than
ALLIANCE_PICTURE_LINES). An ask then finds its picture's file (pictures are named by what they show) and draws
nothing. A report changes the data, and the next ask of a view draws it again, as before.
"""

from __future__ import annotations

import logging

from bot import clock
from bot.followers.periods import parse_ranking_args
from bot.followers.service import Followers
from bot.pictures import Pictures
from bot.readouts.views import ranking_card, targets_card
from bot.vocab import CATEGORIES, PLATFORMS

log = logging.getLogger("alliance.pictures")


def ranking_views() -> list[list[str]]:
    """The words of each ranking view drawn ahead, as a member types them after /粉丝 排行."""
    return [[], ["上月"], *([p] for p in PLATFORMS), *([c] for c in CATEGORIES)]


async def draw_follower_views(followers: Followers, pictures: Pictures, *, rows: int, lines: int) -> int:
    """Draw the pictures of the views above that the group would get as pictures (`rows` rows each, more than
    `lines` rows of data); how many were drawn. A view that fails is logged and skipped."""
    if not pictures.available or lines <= 0:
        return 0
    today = clock.now().date()
    drawn = 0
    for words in ranking_views():
        try:
            platform, category, period = parse_ranking_args(words, today)
            r = await followers.rankings.ranking(platform, category, period)
            if len(r.counts) > lines:
                await pictures.render_async(ranking_card(r, followers.target, limit=rows))
                drawn += 1
        except Exception:
            log.exception(f"drawing the ranking picture of {words} ahead failed (it is drawn when asked)")
    for category in CATEGORIES:
        try:
            overview = await followers.rankings.overview(category)
            if len(overview) > lines:
                await pictures.render_async(targets_card(category, overview, mine=None, limit=rows))
                drawn += 1
        except Exception:
            log.exception(f"drawing the targets picture of {category} ahead failed (it is drawn when asked)")
    return drawn
