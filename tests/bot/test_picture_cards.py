"""Pictures with the asker's row highlighted are drawn on a reused skeleton: pixel for pixel the whole drawing."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from bot.pictures import Bar, Card, ProgressGroup, RankRow, RankTable, cards, find_font, png, render_png
from tests.conftest import NEEDS_FONT

NAMES = ["郑州大学", "河南大学", "洛阳市第一高级中学", "开封市教育局", "南阳理工学院", "新乡医学院"]


def _rows(n: int, mine: int | None, *, bars: bool, extra: bool, offset: int = 0) -> list[RankRow]:
    return [
        RankRow(
            i + 1,
            f"{NAMES[(i + offset) % len(NAMES)]}{i}",
            f"{(n - i) * 1.37:.2f}万",
            f"+{(i * 37) % 500}" if extra else "",
            ((n - i) / n) if bars else None,
            i == mine,
        )
        for i in range(n)
    ]


def _card(mine: int | None, appended: RankRow | None = None, growth_mine: int | None = None) -> Card:
    counts = _rows(30, mine, bars=True, extra=True)
    growth = _rows(30, growth_mine, bars=False, extra=True, offset=3)
    if appended is not None:
        counts.append(appended)
    return Card(
        title="粉丝排行 · 全部单位",
        subtitle="本月（11月） · 共 200 个单位，180 个有粉丝数",
        note="数据截至 今天；条形为完成目标的比例",
        tables=(
            RankTable("按粉丝数", tuple(counts), "另有 170 个单位未列出（私聊机器人或导出可看全部）"),
            RankTable("按本月增长", tuple(growth)),
        ),
        footer="联盟助手",
    )


def _pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as im:
        return im.convert("RGB").tobytes()


def _rgb(img: Image.Image) -> bytes:
    """A drawing's pixels as RGB (cards are drawn as palette indexes)."""
    return img.convert("RGB").tobytes()


@NEEDS_FONT
def test_highlighted_pictures_equal_the_whole_drawing_for_every_asker() -> None:
    font = find_font()
    assert font is not None
    cards._skeletons.clear()
    askers = [
        _card(mine=0, growth_mine=5),  # in both tables, first row (red rank)
        _card(mine=12, growth_mine=None),  # in one table only
        _card(mine=None, appended=RankRow(57, "平顶山学院", "0.80万", "+3", 0.1, True)),  # below the rows shown
        _card(mine=None, appended=RankRow(88, "周口师范学院", "0.42万", "-7", 1.4, True)),  # same skeleton
        _card(mine=None, appended=RankRow(90, "信阳学院", "0.40万", "", None, True)),  # no growth, no bar
        _card(mine=29, growth_mine=29),  # the last row of both tables, above the table's "more" line
    ]
    for card in askers:
        whole = cards._draw(card, font, cards.ALL)
        assert cards.draw(card, font).tobytes() == whole.tobytes()
        assert _pixels(render_png(card, font)) == _rgb(whole)
    # the askers below the rows shown share one skeleton: their row's growth figure or bar adds no column (the
    # other rows have both)
    assert cards._skeleton_of(askers[2]) == cards._skeleton_of(askers[3]) == cards._skeleton_of(askers[4])
    assert cards._skeleton_of(askers[3]) != cards._skeleton_of(askers[5])


@NEEDS_FONT
def test_a_highlighted_row_that_adds_a_column_gets_a_skeleton_of_its_own() -> None:
    font = find_font()
    assert font is not None
    plain = _rows(30, None, bars=False, extra=False)
    with_bar = Card(
        title="粉丝目标",
        tables=(RankTable("完成目标的比例", (*plain, RankRow(40, "信阳学院", "1万", "+3", 0.5, True))),),
    )
    without = Card(
        title="粉丝目标",
        tables=(RankTable("完成目标的比例", (*plain, RankRow(41, "周口学院", "1万", "", None, True))),),
    )
    assert cards._skeleton_of(with_bar) != cards._skeleton_of(without)
    for card in (with_bar, without):
        assert _pixels(render_png(card, font)) == _rgb(cards._draw(card, font, cards.ALL))


@NEEDS_FONT
def test_a_highlighted_picture_differs_from_the_same_data_without_the_asker() -> None:
    font = find_font()
    assert font is not None
    plain = _card(mine=None)
    mine = _card(mine=7)
    assert not any(r.highlight for t in plain.tables for r in t.rows)
    assert cards.draw(plain, font).tobytes() != cards.draw(mine, font).tobytes()
    # drawing one asker's picture leaves the kept skeleton as it was for the next asker
    again = cards.draw(_card(mine=8), font)
    assert again.tobytes() == cards._draw(_card(mine=8), font, cards.ALL).tobytes()


@NEEDS_FONT
def test_the_png_is_lossless_and_valid_for_every_layout() -> None:
    font = find_font()
    assert font is not None
    progress = Card(
        title="统发进度 · #3",
        progress=(
            ProgressGroup(
                "按类别",
                (Bar("本科高校", 12, 30, tuple(f"{n}{i}" for i, n in enumerate(NAMES * 5))), Bar("高中", 9, 9)),
            ),
        ),
        footer="联盟助手",
    )
    for card in (progress, _card(mine=3), Card(title="空", tables=(RankTable("按粉丝数", ()),))):
        png = render_png(card, font)
        with Image.open(io.BytesIO(png)) as im:
            im.verify()
        assert _pixels(png) == _rgb(cards._draw(card, font, cards.ALL))


def test_band_checksums_combine_as_zlib_computes_them_over_the_whole() -> None:
    parts = [b"", b"\x00" * 70_000, bytes(range(256)) * 300, b"\xff" * 65_521, b"abc"]
    adler = 1
    for p in parts:
        adler = png.adler_combine(adler, zlib.adler32(p), len(p))
    assert adler == zlib.adler32(b"".join(parts))


@NEEDS_FONT
def test_a_highlighted_png_is_one_valid_zlib_stream_reusing_the_skeletons_bands() -> None:
    font = find_font()
    assert font is not None
    cards._skeletons.clear()
    data = render_png(_card(mine=3), font)
    size = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    lines = zlib.decompress(idat)  # checks the combined adler32
    assert data[25] == 3 and b"PLTE" in data[: data.index(b"IDAT")]  # indexed colour, its palette first
    assert len(lines) == size[1] * (size[0] + 1)  # a byte per pixel (a palette index) after each row's filter byte
    (kept,) = cards._skeletons.values()
    assert sum(band.data in idat for band in kept[1]) >= len(kept[1]) - 2  # only the row's bands were re-encoded


def _stale_and_targets() -> tuple[Card, Card]:
    from datetime import date

    from bot import clock
    from bot.accounts import Account
    from bot.followers.records import Stale, StaleAccount
    from bot.followers.targets import Target
    from bot.readouts.views import stale_card, targets_card
    from bot.units.records import Unit

    today = clock.now().date()
    units = [
        Unit(i, n, "市教育局", "x", None, ())
        for i, n in enumerate(["郑州市教育局", "洛阳市教育局", "三门峡市教育局"], 1)
    ]
    old = date(today.year - 1, 12, 20)
    acc = Account(1, 1, "微信公众号", "郑州教育", "", None, "正常")
    stale = Stale(14, today, 10, no_post=[(units[0], [StaleAccount(acc, old, None, None, old, (today - old).days)])])
    target = Target(1_000_000, "市教育局")
    targets = targets_card(
        "市教育局",
        [(units[0], 50_000, target), (units[1], 40_000, target), (units[2], None, target)],
        mine=None,
        limit=20,
    )
    return stale_card(stale, 20), targets


def test_a_unit_without_a_count_has_no_place_in_the_ranking() -> None:
    """Issue 21.14: in /粉丝 目标 市教育局, 三门峡市教育局 (未报送) got a red rank 3."""
    _, targets = _stale_and_targets()
    rows = {r.name: r for r in targets.tables[0].rows}
    assert rows["三门峡市教育局"].rank == 0 and rows["三门峡市教育局"].value == "未报送"
    assert [rows["郑州市教育局"].rank, rows["洛阳市教育局"].rank] == [1, 2]


@NEEDS_FONT
def test_the_last_update_of_a_zombie_account_is_drawn_whole(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 21.14: /僵尸号 cut the last-update column to `2025年…`; and a rank 0 is drawn as a dash."""
    drawn: list[str] = []
    fit = cards._fit

    def recording(text: str, font, width: float) -> str:  # type: ignore[no-untyped-def]
        out = fit(text, font, width)
        drawn.append(out)
        return out

    monkeypatch.setattr(cards, "_fit", recording)
    stale, targets = _stale_and_targets()
    font = find_font()
    render_png(stale, font)
    assert any(t.endswith("12月20日") and "年" in t for t in drawn), drawn
    assert not any(t.startswith("20") and t.endswith("…") for t in drawn), drawn
    render_png(targets, font)


def test_a_kept_card_is_hashed_once_and_its_path_follows_what_it_shows(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.pictures import store

    pictures = store.Pictures(tmp_path)
    hashed = []
    key = store.card_key
    monkeypatch.setattr(store, "card_key", lambda card: hashed.append(card) or key(card))
    card = _card(mine=None)
    first = pictures.path_for(card)
    assert pictures.path_for(card) == first and len(hashed) == 1  # the same card asked again: not hashed again
    assert pictures.path_for(_card(mine=None)) == first and len(hashed) == 2  # equal data, another object: same file
    assert pictures.path_for(_card(mine=4)) != first  # other data: another file


async def test_askers_of_a_picture_being_drawn_do_not_wait_for_the_other_pictures_asked(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pictures are drawn one at a time. Askers of a picture being drawn wait for that drawing only: once it is
    done they have it, while a picture asked after it is still being drawn (they used to queue for the lock
    behind it); it is drawn once for all of them."""
    import asyncio
    import threading

    from bot.pictures import store

    pictures = store.Pictures(tmp_path)
    first, second = _card(mine=None), _card(mine=None, appended=RankRow(31, "新乡医学院", "1万", "", 0.1, False))
    second_may_finish = threading.Event()
    drawn: list[Card] = []

    def draw(card: Card, font: object) -> bytes:
        drawn.append(card)
        if card is second:
            second_may_finish.wait(10)
        return b"png"

    monkeypatch.setattr(store, "render_png", draw)
    monkeypatch.setattr(store.Pictures, "font", property(lambda self: object()))
    askers = [asyncio.ensure_future(pictures.render_async(first))]  # asked first: drawn first
    other = asyncio.ensure_future(pictures.render_async(second))
    askers += [asyncio.ensure_future(pictures.render_async(first)) for _ in range(3)]
    try:
        done, _ = await asyncio.wait(askers, timeout=5)
        assert len(done) == 4 and not other.done()
        assert {t.result() for t in done} == {pictures.path_for(first)}
    finally:
        second_may_finish.set()
    assert await other == pictures.path_for(second)
    assert drawn == [first, second]  # each drawn once
