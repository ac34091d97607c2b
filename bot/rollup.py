"""Progress rolled up the tree (issue 24.3, SPEC §13): a task's units counted per city (a 市教育局's subtree) and per
category of the units directly under the province (本科高校, 高职高专, 省直单位 …), each with the units still owing;
and a task's progress narrowed to an area (a city admin's scope, `/统发 进度 N 郑州`).

Which line a unit is on: the unit directly under the province that it hangs from (its "top"): a 市教育局 is its
city's line, any other top is the line of that top's category (a school a person hung under a university counts
with 本科高校). The tops are computed once per tree (the tree is rebuilt only when the units change), so a roll-up
of 3,000 units is a dictionary lookup per unit.

Words (the text answer) live here too; the picture is bot/pictures/rollup_card.py.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.render import Msg, percent
from bot.tasks import Progress, by_category
from bot.units.records import Unit
from bot.units.service import Units
from bot.units.tree import CITY_BUREAU, Tree, city_key
from bot.vocab import category_key

CITY_HEADING = "按城市（市教育局及其下级单位）"
CATEGORY_HEADING = "省直属单位（按类别）"
NAMES_IN_GROUP = 3  # units owing named on each line in a group (the rest: 等 N 个, and the folded list)

_tops: weakref.WeakKeyDictionary[Tree, dict[int, int]] = weakref.WeakKeyDictionary()


def tops(tree: Tree) -> dict[int, int]:
    """Each unit → the unit directly under the province it hangs from (itself when it is one); kept per tree."""
    known = _tops.get(tree)
    if known is not None:
        return known
    out: dict[int, int] = {}
    for uid in tree.parents:
        path = []
        cur = uid
        while cur not in out:
            parent = tree.parents.get(cur)
            if parent is None or parent in path or parent == cur or parent not in tree.parents:
                out[cur] = cur
                break
            path.append(cur)
            cur = parent
        top = out[cur]
        for p in path:
            out[p] = top
    _tops[tree] = out
    return out


@dataclass(frozen=True)
class Line:
    """One city (a 市教育局 and every unit below it) or one category of the units directly under the province."""

    key: str  # "city:<bureau id>" or "cat:<category>"
    label: str  # 郑州市, 本科高校
    head: Unit | None  # the 市教育局 of a city line
    done: int
    total: int
    pending: tuple[Unit, ...]  # the units still owing, by category in the usual order
    fixing: frozenset[int] = frozenset()  # of those, whose file needs fixing (报送: 需修改)
    unstaffed: frozenset[int] = frozenset()  # of those, with nobody bound (no operator: nobody can confirm)

    @property
    def is_city(self) -> bool:
        return self.head is not None

    @property
    def percent(self) -> str:
        return percent(self.done, self.total)


@dataclass(frozen=True, eq=False)
class Rollup:
    """A task's progress per city and per direct category."""

    done: int
    total: int
    cities: tuple[Line, ...]  # the lowest completion first (ties: the roster's order)
    categories: tuple[Line, ...]  # in the usual order of the categories
    line_of_top: Mapping[int, str]  # top unit id → its line's key

    @property
    def lines(self) -> tuple[Line, ...]:
        return (*self.cities, *self.categories)

    def line(self, key: str) -> Line | None:
        return next((ln for ln in self.lines if ln.key == key), None)


def city_label(bureau: Unit) -> str:
    """How a city line is called: `郑州市` (the bureau's name when it has no city)."""
    return f"{city_key(bureau.city)}市" if city_key(bureau.city) else bureau.name


def roll_up(
    done: Iterable[Unit],
    pending: Sequence[Unit],
    tree: Tree,
    units: Mapping[int, Unit],
    fixing: Collection[int] = (),
    *,
    unstaffed: Collection[int] = (),
) -> Rollup:
    """The roll-up of a task: its units done and owing, counted on their lines (`units`: every live unit by id, for
    the tops' names and categories; `unstaffed`: the units owing with no operator). A unit no longer in the tree
    (deleted, yet done) counts on its own category."""
    top_of = tops(tree)
    counts: dict[str, list[int]] = {}  # key → [done, total]
    owing: dict[str, list[Unit]] = {}
    heads: dict[str, Unit | None] = {}
    labels: dict[str, str] = {}
    line_of_top: dict[int, str] = {}

    def key_of(u: Unit) -> str:
        top_id = top_of.get(u.id, u.id)
        key = line_of_top.get(top_id)
        if key is None:
            top = units.get(top_id, u)
            if top.category == CITY_BUREAU:
                key, heads[f"city:{top.id}"], labels[f"city:{top.id}"] = f"city:{top.id}", top, city_label(top)
            else:
                key, labels[f"cat:{top.category}"] = f"cat:{top.category}", top.category
                heads.setdefault(key, None)
            line_of_top[top_id] = key
        return key

    for u in done:
        c = counts.setdefault(key_of(u), [0, 0])
        c[0] += 1
        c[1] += 1
    for u in pending:
        key = key_of(u)
        counts.setdefault(key, [0, 0])[1] += 1
        owing.setdefault(key, []).append(u)
    fix, alone = frozenset(fixing), frozenset(unstaffed)
    lines = [
        Line(
            key,
            labels[key],
            heads[key],
            d,
            t,
            tuple(x for _, group in by_category(owing.get(key, [])) for x in group),
            frozenset(u.id for u in owing.get(key, []) if u.id in fix),
            frozenset(u.id for u in owing.get(key, []) if u.id in alone),
        )
        for key, (d, t) in counts.items()
    ]
    cities = sorted(
        (ln for ln in lines if ln.is_city),
        key=lambda ln: (ln.done / ln.total if ln.total else 1.0, ln.head.id if ln.head else 0),
    )
    cats = sorted((ln for ln in lines if not ln.is_city), key=lambda ln: category_key(ln.label))
    n_done = sum(ln.done for ln in lines)
    return Rollup(n_done, sum(ln.total for ln in lines), tuple(cities), tuple(cats), line_of_top)


_rollups: weakref.WeakKeyDictionary[Tree, dict[tuple, Rollup | asyncio.Future[Rollup]]] = weakref.WeakKeyDictionary()
_hashed: list[Any] = [None, 0]  # the last list of units owing that was hashed, and its hash


def _owing_key(pending: list[Unit]) -> int:
    """A hash of the units owing; the same list again (the progress all askers share) is not hashed again."""
    if _hashed[0] is not pending:
        _hashed[:] = [pending, hash(tuple(u.id for u in pending))]
    return _hashed[1]


async def task_rollup(units: Units, p: Progress) -> Rollup:
    """`roll_up` of a task's progress over the roster's tree. Kept while the tree (the units) and the task's units
    owing are the same: a roll-up asked again, with nothing new, is a lookup (the bench's `rollup` scenario); askers
    who come while it is being made wait for that one (it is made once)."""
    tree = await units.tree()
    key = (type(p.task).__name__, p.task.id, len(p.done), _owing_key(p.pending), p.fixing, p.unstaffed)
    kept = _rollups.setdefault(tree, {})
    found = kept.get(key)
    if isinstance(found, Rollup):
        return found
    if found is None:  # nobody is making it: this asker does, the others who come meanwhile wait for it
        if len(kept) > 64:  # bounded: a few tasks asked often
            kept.clear()
        found = kept[key] = asyncio.ensure_future(_roll_up_task(units, tree, p))

        def keep_made(f: asyncio.Future[Rollup]) -> None:  # the roll-up is kept; a failure is not (the next tries)
            if kept.get(key) is f:
                if f.cancelled() or f.exception() is not None:
                    del kept[key]
                else:
                    kept[key] = f.result()

        found.add_done_callback(keep_made)
    return await asyncio.shield(found)  # one asker leaving does not cancel it for the others


async def _roll_up_task(units: Units, tree: Tree, p: Progress) -> Rollup:
    tops_ = tops(tree)
    index = {u.id: u for u in await units.by_ids(sorted(set(tops_.values())))}
    return roll_up((d.unit for d in p.done), p.pending, tree, index, p.fixing, unstaffed=p.unstaffed)


async def line_of(units: Units, r: Rollup, unit: Unit) -> Line | None:
    """The line a unit is on (an operator's own city, or their category under the province); None when the task
    has no unit on it."""
    top = tops(await units.tree()).get(unit.id, unit.id)
    key = r.line_of_top.get(top)
    return r.line(key) if key else None


def narrow(p: Progress[Any, Any], ids: Collection[int]) -> Progress[Any, Any]:
    """The task's progress counting only the units in `ids` (an area: a city admin's scope, a drilled-down city)."""
    keep = ids if isinstance(ids, (set, frozenset)) else frozenset(ids)
    return replace(
        p,
        done=[d for d in p.done if d.unit.id in keep],
        pending=[u for u in p.pending if u.id in keep],
        unstaffed=p.unstaffed & keep,
        fixing=p.fixing & keep,
        owes={k: v for k, v in p.owes.items() if k in keep},
    )


def worth_rolling_up(r: Rollup, over: int) -> bool:
    """A task is answered rolled up when it counts more than `over` units (more than a group's list shows) on more
    than one line, one of them a city: a short task's whole list is shorter than its roll-up."""
    return r.total > over and len(r.lines) > 1 and bool(r.cities)


# ---------------------------------------------------------------- words


def line_text(ln: Line, names: int | None, *, owing: str = "未完成", done_label: str = "已完成") -> str:
    """`郑州市 3/20（15.0%），未完成 17 个：甲、乙、丙 等；其中 5 个单位无联络员` (`names`: how many to name; None:
    all; the last part only when some of the units owing have nobody bound, who could confirm)."""
    head = f"{ln.label} {ln.done}/{ln.total}（{ln.percent}）"
    if not ln.pending:
        return f"{head}，全部{done_label}"
    shown = ln.pending if names is None else ln.pending[:names]
    more = " 等" if len(shown) < len(ln.pending) else ""
    fix = f"（其中需修改 {len(ln.fixing)} 个）" if ln.fixing else ""
    alone = f"；{unstaffed_note(len(ln.unstaffed))}" if ln.unstaffed else ""
    return f"{head}，{owing} {len(ln.pending)} 个{fix}：{'、'.join(u.name for u in shown)}{more}{alone}"


def unstaffed_note(n: int) -> str:
    """`其中 5 个单位无联络员`: of the units owing, those nobody can confirm for (no operator bound)."""
    return f"其中 {n} 个单位无联络员"


def rollup_lines(r: Rollup, names: int | None, *, owing: str = "未完成", done_label: str = "已完成") -> list[str]:
    """The lines under a task's head: each city, then each direct category, with their headings."""
    out: list[str] = []
    if r.cities:
        out.append(f"{CITY_HEADING}：")
        out.extend(line_text(ln, names, owing=owing, done_label=done_label) for ln in r.cities)
    if r.categories:
        out.append(f"{CATEGORY_HEADING}：")
        out.extend(line_text(ln, names, owing=owing, done_label=done_label) for ln in r.categories)
    return out


def rollup_message(head: Msg, r: Rollup, names: int | None, drill: str, **words: str) -> Msg:
    """`head` (the task and its overall figure), then a line per city and per direct category, then how to drill
    down (`drill`: the command with a city, e.g. `/统发 进度 3 郑州`)."""
    out = Msg().add_all(head)
    for line in rollup_lines(r, names, **words):
        out.line(line)
    out.line(f"看某个城市的全部未完成单位：{drill}；按类别的完整名单：{drill.rsplit(' ', 1)[0]} 全部")
    return out


def mine_message(head: Msg, mine: Line | None, names: int | None, drill: str, **words: str) -> Msg:
    """What an operator or member sees of a rolled-up task: the overall figure and their own city's line."""
    out = Msg().add_all(head)
    if mine is not None:
        where = "本市" if mine.is_city else "本类（省直属）"
        out.line(f"{where}：{line_text(mine, names, **words)}")
    out.line(f"看某个城市的进度：{drill}")
    return out


def area_counts(
    items: Iterable[tuple[Unit, int]], tree: Tree, units: Mapping[int, Unit]
) -> list[tuple[str, int, bool]]:
    """(line label, count, a city or not) per city then direct category, for counts of units' things (e.g. 僵尸号
    accounts); lines with none left out; the most first."""
    top_of = tops(tree)
    out: dict[tuple[bool, str], int] = {}
    for unit, n in items:
        top = units.get(top_of.get(unit.id, unit.id), unit)
        key = (False, city_label(top)) if top.category == CITY_BUREAU else (True, top.category)
        out[key] = out.get(key, 0) + n
    ranked = sorted(out.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    return [(label, n, not is_cat) for (is_cat, label), n in ranked]


def area_summary(counts: Sequence[tuple[str, int, bool]], what: str = "个") -> str:
    """`按城市：郑州市 5 个、开封市 2 个；省直属：本科高校 3 个` ('' when there are none)."""
    cities = [f"{label} {n} {what}" for label, n, city in counts if city]
    cats = [f"{label} {n} {what}" for label, n, city in counts if not city]
    parts = []
    if cities:
        parts.append("按城市：" + "、".join(cities))
    if cats:
        parts.append("省直属：" + "、".join(cats))
    return "；".join(parts)


async def count_by_area(units: Units, groups: Sequence[tuple[Unit, Sequence[Any]]]) -> str:
    """`按城市：郑州市 5 个、…；省直属：本科高校 3 个` for lists of (unit, its items), e.g. 僵尸号 accounts by unit."""
    tree = await units.tree()
    tops_ = tops(tree)
    index = {u.id: u for u in await units.by_ids(sorted({tops_.get(u.id, u.id) for u, _ in groups}))}
    return area_summary(area_counts(((u, len(items)) for u, items in groups), tree, index))
