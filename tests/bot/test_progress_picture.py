"""The progress picture of 报送 shows 需修改 units as their own group and colour (issue 16 item 6): the card it is
drawn from, and one rendering of known data checked for that colour. However many units owe, the picture fits a
phone (issue 23): a bar per category with its first laggards, and a line saying where the whole list is."""

from __future__ import annotations

import io

from PIL import Image

from bot.pictures import find_font, render_png
from bot.pictures.cards import FIX, progress_height
from bot.readouts.views import PHONE_HEIGHT, names_left_out, progress_card
from bot.units.records import Unit
from bot.vocab import CATEGORIES
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


def _alliance(n: int) -> tuple[list[Unit], dict[str, int]]:
    """`n` units in every category (and one nobody knows), names as long as real ones get."""
    cats = [*CATEGORIES, "民办培训机构"]
    units = [Unit(i, f"河南省{i:04d}号职业技术学院附属实验中学", cats[i % len(cats)], "郑州") for i in range(1, n + 1)]
    totals: dict[str, int] = {}
    for u in units:
        totals[u.category] = totals.get(u.category, 0) + 1
    return units, totals


@NEEDS_FONT
def test_the_progress_picture_of_2000_units_fits_a_phone_and_says_where_the_rest_are() -> None:
    # issue 23: it was 760 × 5,419 px, every unit owing named; now the first few per category, the rest one tap away
    units, totals = _alliance(2000)
    pending = [u for u in units if u.id // 12 % 2]  # 1,000 owing, every tenth with a file needing changes (报送)
    fixing = frozenset(u.id for u in pending[::10])
    owing = {cat: sum(1 for u in pending if u.category == cat) for cat in totals}
    more = "每类只列出前几个单位。完整名单：点开下一条“聊天记录”，或私聊机器人发 /报送 进度 1"
    c = progress_card("报送进度 · #1《秋季统计表》", "", 1000, 2000, pending, totals, fixing=fixing, full_list=more)
    font = find_font()
    assert font is not None
    with Image.open(io.BytesIO(render_png(c, font))) as im:
        assert im.width == 760 and im.height <= PHONE_HEIGHT
    assert progress_height(c) <= PHONE_HEIGHT
    (group,) = c.progress
    whole, *cats = group.bars
    assert (whole.done, whole.total, whole.fixing) == (1000, 2000, 100)
    assert [b.label for b in cats] == [*CATEGORIES, "民办培训机构"]  # every category keeps its bar
    assert all((b.done, b.total) == (totals[b.label] - owing[b.label], totals[b.label]) for b in cats)
    # the first laggards of each category are named, with how many owe it in all
    assert all(b.names and b.owing == b.total - b.done - b.fixing > len(b.names) for b in cats)
    first = next(u for u in pending if u.category == CATEGORIES[0] and u.id not in fixing)
    assert cats[0].names[0] == first.name
    assert names_left_out(c) and group.more == more


def test_a_short_list_is_named_whole_and_points_nowhere() -> None:
    c = card(frozenset({2}))
    assert not names_left_out(c) and c.progress[0].more == ""
    assert progress_card("统发进度", "", 1, 5, [ZZU, HENU], TOTALS, full_list="完整名单：…").progress[0].more == ""
