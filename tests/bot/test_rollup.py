"""Progress rolled up the tree (issue 24.3): a line per city (a 市教育局's subtree) and per category of the units
directly under the province, on the sample roster."""

from __future__ import annotations

from bot.app import App
from bot.rollup import area_counts, area_summary, narrow, roll_up, rollup_lines, worth_rolling_up
from bot.roster import import_file
from bot.tasks import Progress
from tests.conftest import ROSTER


async def _roster(core: App) -> tuple[list, dict]:
    await import_file(core.units, ROSTER)
    units = await core.units.all()
    return units, {u.id: u for u in units}


async def test_a_line_per_city_and_per_direct_category(core: App) -> None:
    units, index = await _roster(core)
    tree = await core.units.tree()
    zz = await core.units.subtree(await core.units.resolve("郑州市教育局"))
    done = [u for u in units if u.id in zz and u.name != "郑州市金水区教育局"] + [
        u for u in units if u.name in ("郑州大学", "河南大学")
    ]
    pending = [u for u in units if u not in done]
    r = roll_up(done, pending, tree, index)
    assert (r.done, r.total) == (len(done), 163)
    assert len(r.cities) == 18 and [c.label for c in r.categories] == ["省直单位", "本科高校", "高职高专"]
    zhengzhou = r.cities[-1]  # the furthest ahead last: the cities furthest behind first
    assert (zhengzhou.label, zhengzhou.done, zhengzhou.total) == ("郑州市", 12, 13)
    assert [u.name for u in zhengzhou.pending] == ["郑州市金水区教育局"]
    kaifeng = next(c for c in r.cities if c.label == "开封市")
    assert (kaifeng.done, kaifeng.total) == (0, 10)
    assert kaifeng.pending[0].name == "开封市教育局"  # the bureau first (category order), then its counties
    colleges = next(c for c in r.categories if c.label == "本科高校")
    assert (colleges.done, colleges.total) == (2, 36)
    assert sum(ln.total for ln in r.lines) == 163 and sum(ln.done for ln in r.lines) == r.done
    lines = rollup_lines(r, 3)
    assert lines[0] == "按城市（市教育局及其下级单位）：" and "省直属单位（按类别）：" in lines
    assert "郑州市 12/13（92.3%），未完成 1 个：郑州市金水区教育局" in lines
    assert "开封市 0/10（0.0%），未完成 10 个：开封市教育局、开封市龙亭区教育局、开封市顺河回族区教育局 等" in lines


async def test_a_unit_hung_under_a_university_counts_with_its_category(core: App) -> None:
    await _roster(core)
    await core.units.move("郑州市金水区教育局", "郑州大学", actor="t")  # a person's choice, however odd
    units = await core.units.all()
    r = roll_up([], units, await core.units.tree(), {u.id: u for u in units})
    assert next(c for c in r.cities if c.label == "郑州市").total == 12
    colleges = next(c for c in r.categories if c.label == "本科高校")
    assert colleges.total == 37 and "郑州市金水区教育局" in [u.name for u in colleges.pending]


async def test_narrowed_to_an_area_counts_only_its_units(core: App) -> None:
    units, _ = await _roster(core)
    zz = await core.units.subtree(await core.units.resolve_area("郑州"))
    done = [u for u in units if u.name in ("郑州市教育局", "郑州大学")]

    class D:
        def __init__(self, unit: object) -> None:
            self.unit, self.late = unit, False

    p = Progress(task=None, done=[D(u) for u in done], pending=[u for u in units if u not in done])
    mine = narrow(p, zz)
    assert (len(mine.done), mine.total) == (1, 13) and all(u.id in zz for u in mine.pending)


async def test_small_tasks_stay_one_list(core: App) -> None:
    units, index = await _roster(core)
    tree = await core.units.tree()
    few = [u for u in units if u.city.startswith("郑州")][:20]
    assert not worth_rolling_up(roll_up([], few, tree, index), 30)
    assert worth_rolling_up(roll_up([], units, tree, index), 30)
    one_category = [u for u in units if u.category == "本科高校"]  # no city among them
    assert not worth_rolling_up(roll_up([], one_category, tree, index), 30)


async def test_counts_per_city_for_a_summary(core: App) -> None:
    units, index = await _roster(core)
    pick = {u.name: u for u in units}
    items = [
        (pick["郑州市金水区教育局"], 2),
        (pick["郑州市教育局"], 1),
        (pick["开封市教育局"], 1),
        (pick["郑州大学"], 3),
    ]
    counts = area_counts(items, await core.units.tree(), index)
    assert counts == [("郑州市", 3, True), ("开封市", 1, True), ("本科高校", 3, False)]
    assert area_summary(counts) == "按城市：郑州市 3 个、开封市 1 个；省直属：本科高校 3 个"


async def test_the_roll_up_picture_counts_the_units_without_an_operator(core: App) -> None:
    """Each bar of the roll-up picture carries how many of its units owing have nobody bound (the whole bar: all
    of them), and the card is drawn a line taller for each such bar (where a font is installed)."""
    from bot.pictures import find_font, render_png
    from bot.pictures.rollup_card import rollup_card

    units, index = await _roster(core)
    done = [u for u in units if u.name == "郑州市金水区教育局"]
    pending = [u for u in units if u not in done]
    staffed = {u.id for u in units if u.name in ("郑州市中原区教育局", "郑州大学")}
    unstaffed = frozenset(u.id for u in pending if u.id not in staffed)
    r = roll_up(done, pending, await core.units.tree(), index, unstaffed=unstaffed)
    zz = next(c for c in r.cities if c.label == "郑州市")
    assert len(zz.unstaffed) == 11 and "；其中 11 个单位无联络员" in rollup_lines(r, 3)[1 + r.cities.index(zz)]
    card = rollup_card("统发进度 · #1「学习」", "截止 …", r)
    bars = {b.label: b for g in card.progress for b in g.bars}
    assert bars["全部"].unstaffed == len(unstaffed) == 160
    assert bars["郑州市"].unstaffed == 11 and bars["本科高校"].unstaffed == 35
    plain = rollup_card("统发进度 · #1「学习」", "截止 …", roll_up(done, pending, await core.units.tree(), index))
    assert all(b.unstaffed == 0 for g in plain.progress for b in g.bars)
    font = find_font()
    if font is not None:
        from bot.pictures.palette import palette_bytes

        colours = palette_bytes()
        render_png(card, font)  # drawn without error, within a phone's height (rollup_card keeps it so)
        # the note's colours are in the palette from the start: a card's bytes do not depend on what was drawn before
        assert palette_bytes() == colours
