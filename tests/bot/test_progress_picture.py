"""The progress picture of 报送 shows 需修改 units as their own group and colour (issue 16 item 6): the card it is
drawn from, and one rendering of known data checked for that colour."""

from __future__ import annotations

import io

from PIL import Image

from bot.pictures import find_font, render_png
from bot.pictures.cards import FIX
from bot.pictures.views import progress_card
from bot.units.records import Unit
from tests.conftest import NEEDS_FONT

ZZU, HENU, HAUST, LY = (
    Unit(1, "郑州大学", "本科高校", "郑州"),
    Unit(2, "河南大学", "本科高校", "开封"),
    Unit(3, "河南科技大学", "本科高校", "洛阳"),
    Unit(4, "洛阳市教育局", "市教育局", "洛阳"),
)
TOTALS = {"本科高校": 3, "市教育局": 2}


def card(fixing: frozenset[int]):
    # 5 units: 1 done (a 市教育局), 4 still owing, of which 河南大学 and 洛阳市教育局 handed in files with problems
    return progress_card(
        "报送进度 · #1《秋季统计表》",
        "",
        1,
        5,
        [ZZU, HENU, HAUST, LY],
        TOTALS,
        owing="未报送",
        fixing=fixing,
        done_label="已报送",
    )


def test_units_needing_changes_are_their_own_group_in_each_bar() -> None:
    (group,) = card(frozenset({2, 4})).progress
    whole, bureaus, colleges = group.bars  # categories in their usual order
    assert (whole.label, whole.done, whole.fixing, whole.total) == ("全部", 1, 2, 5)
    assert (colleges.names, colleges.fixing_names, colleges.fixing) == (("郑州大学", "河南科技大学"), ("河南大学",), 1)
    assert (bureaus.names, bureaus.fixing_names, bureaus.done) == ((), ("洛阳市教育局",), 1)
    assert (colleges.names_label, colleges.fixing_label, whole.done_label) == ("未报送", "需修改", "已报送")
    (plain,) = card(frozenset()).progress
    assert [b.fixing for b in plain.bars] == [0, 0, 0] and plain.bars[2].names == (
        "郑州大学",
        "河南大学",
        "河南科技大学",
    )


def _pixels_of(png: bytes, colour: tuple[int, int, int]) -> int:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(n for n, c in img.getcolors(maxcolors=1 << 24) or [] if c == colour)


@NEEDS_FONT
def test_the_picture_draws_units_needing_changes_in_their_own_colour() -> None:
    font = find_font()
    assert font is not None
    with_fixing = render_png(card(frozenset({2, 4})), font)
    without = render_png(card(frozenset()), font)
    assert _pixels_of(without, FIX) == 0
    # the bar segments (全部, 本科高校, 市教育局) and the 需修改 labels and names are drawn in that colour
    assert _pixels_of(with_fixing, FIX) > 3 * 200
    assert with_fixing != without
