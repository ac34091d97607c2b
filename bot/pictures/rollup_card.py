"""The roll-up of a task as a picture (issue 24.3): one bar for all, a bar per city and per direct category, each
naming its first units owing; no taller than a phone's screen (as `progress_card`)."""

from __future__ import annotations

import weakref
from dataclasses import replace

from bot import clock
from bot.pictures.cards import Bar, Card, ProgressGroup, first_names, progress_height
from bot.readouts.views import NAME_LINES, PHONE_HEIGHT
from bot.rollup import CATEGORY_HEADING, CITY_HEADING, Line, Rollup


def _bar(ln: Line, lines: int, owing: str, done_label: str) -> Bar:
    names = [u.name for u in ln.pending if u.id not in ln.fixing]
    fix = [u.name for u in ln.pending if u.id in ln.fixing]
    return Bar(
        ln.label,
        ln.done,
        ln.total,
        first_names(names, len(names), lines) if names else (),
        owing,
        len(fix),
        first_names(fix, len(fix), lines) if fix else (),
        done_label=done_label,
        owing=len(names),
        unstaffed=len(ln.unstaffed),
    )


_cards: weakref.WeakKeyDictionary[Rollup, tuple[tuple, Card]] = weakref.WeakKeyDictionary()


def rollup_card(
    title: str,
    subtitle: str,
    r: Rollup,
    *,
    owing: str = "未完成",
    done_label: str = "已完成",
    full_list: str = "",
) -> Card:
    """The bars of `r` (`full_list` under them says where the whole list is); the same roll-up asked again within
    the minute its note shows is the card drawn before."""
    key = (title, subtitle, owing, done_label, full_list, clock.show(clock.now()))
    kept = _cards.get(r)
    if kept is not None and kept[0] == key:
        return kept[1]
    card = _draw(title, subtitle, r, owing, done_label, full_list)
    _cards[r] = (key, card)
    return card


def _draw(title: str, subtitle: str, r: Rollup, owing: str, done_label: str, full_list: str) -> Card:
    fixing = sum(len(ln.fixing) for ln in r.lines)
    alone = sum(len(ln.unstaffed) for ln in r.lines)
    whole = Bar("全部", r.done, r.total, fixing=fixing, done_label=done_label, unstaffed=alone)
    card = Card(title)
    for lines in (*NAME_LINES, 0):
        groups = []
        city_bars = tuple(_bar(ln, max(lines, 1), owing, done_label) for ln in r.cities)
        cat_bars = tuple(_bar(ln, max(lines, 1), owing, done_label) for ln in r.categories)
        if lines == 0:  # still too tall: bars only
            city_bars = tuple(replace(b, names=(), fixing_names=()) for b in city_bars)
            cat_bars = tuple(replace(b, names=(), fixing_names=()) for b in cat_bars)
        if city_bars:
            groups.append(ProgressGroup(CITY_HEADING, (whole, *city_bars)))
        if cat_bars:
            groups.append(ProgressGroup(CATEGORY_HEADING, cat_bars if city_bars else (whole, *cat_bars)))
        if groups:
            last = groups[-1]
            groups[-1] = ProgressGroup(last.heading, last.bars, full_list)
        card = Card(
            title=title,
            subtitle=subtitle,
            note=f"数据截至 {clock.show(clock.now())}",
            progress=tuple(groups),
            footer="联盟助手",
        )
        if progress_height(card) <= PHONE_HEIGHT:
            break
    return card
