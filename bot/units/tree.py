"""The alliance as a tree: every unit's one parent (上级单位), the defaults that need no typing, and the
questions asked of it (a subtree, the ancestors, the 市教育局 above a unit, whether a move makes a loop).

The province itself is the root and not a unit: a parent of NULL (None here) means 全省. A unit whose parent was
deleted hangs under its grandparent (the nearest live ancestor), both when it is read and, stored, when the parent
is deleted. The parents nobody set (`parent_fixed` 0) follow the defaults, recomputed in the same transaction as
every change to the units (`apply_defaults`); a parent set by a person (the roster's 上级单位, /单位 上级) stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.db import Tx
from bot.names import typed_name
from bot.units.records import Unit, normalize
from bot.vocab import category_key

PROVINCE = "全省"
"""How the province (the root, parent None) is shown."""
PROVINCE_WORDS = ("全省", "省级", "省里", "省", "省本级", "无上级", "顶级")
"""What may be typed for the province as a parent (`/单位 上级 郑州大学 全省`)."""
DEFAULT_WORDS = ("默认", "自动", "恢复默认")
"""What may be typed to give a unit back its default parent."""

CITY_BUREAU = "市教育局"
COUNTY_BUREAU = "县区教育局"
SCHOOLS = ("中职学校", "高中", "初中", "小学", "幼儿园", "其他")
"""Categories that hang under their 县区教育局 (by 县区), else under their city's 市教育局."""

_BUREAU_TAIL = re.compile(r"(教育和体育局|教育体育局|教育与体育局|教体局|教育局)$")


def is_province(text: str) -> bool:
    return typed_name(text) in PROVINCE_WORDS


def is_default(text: str) -> bool:
    return typed_name(text) in DEFAULT_WORDS


def city_key(city: str) -> str:
    """`郑州市` and `郑州` are one city."""
    return city.strip().removesuffix("市")


def county_key(county: str) -> str:
    """`金水区`, `金水` and `金水 区` are one county (市/县/区 and spaces folded away)."""
    return normalize(county)


def bureau_county(unit: Unit) -> str:
    """The county a 县区教育局 serves: its 县区 when the roster gave one, else read from its name
    (`郑州市金水区教育局` in 郑州 → 金水)."""
    if unit.county:
        return county_key(unit.county)
    rest = unit.name.strip()
    city = city_key(unit.city)
    for prefix in (f"{city}市", city) if city else ():
        if rest.startswith(prefix):
            rest = rest[len(prefix) :]
            break
    return county_key(_BUREAU_TAIL.sub("", rest))


def default_parents(units: Iterable[Unit]) -> dict[int, int | None]:
    """Each unit's default parent: a 县区教育局 under its city's 市教育局; a school under the 县区教育局 of its 县区,
    else its city's 市教育局; universities, vocational colleges, 省直单位, the city bureaus themselves and any unit
    of a city without a bureau under the province (None). Where a city or county has two bureaus, the older one."""
    units = sorted(units, key=lambda u: u.id)
    cities: dict[str, int] = {}
    counties: dict[tuple[str, str], int] = {}
    for u in units:
        city = city_key(u.city)
        if not city:
            continue
        if u.category == CITY_BUREAU:
            cities.setdefault(city, u.id)
        elif u.category == COUNTY_BUREAU and (county := bureau_county(u)):
            counties.setdefault((city, county), u.id)
    out: dict[int, int | None] = {}
    for u in units:
        city = city_key(u.city)
        parent = None
        if u.category == COUNTY_BUREAU:
            parent = cities.get(city)
        elif u.category in SCHOOLS:
            if u.county:
                parent = counties.get((city, county_key(u.county)))
            if parent is None:
                parent = cities.get(city)
        out[u.id] = None if parent == u.id else parent
    return out


def live_parents(live: Mapping[int, int | None], dead: Mapping[int, int | None]) -> dict[int, int | None]:
    """The parents of the live units, a deleted parent replaced by the nearest live ancestor (None: the province).
    `live` and `dead` map each unit to its stored parent."""
    out: dict[int, int | None] = {}
    for uid, parent in live.items():
        seen = set()
        while parent is not None and parent not in live and parent not in seen:
            seen.add(parent)
            parent = dead.get(parent)
        out[uid] = parent if parent in live else None
    return out


class Tree:
    """The parents of the live units, and what is asked of them; built once per change of the units.

    A subtree is computed once and kept (the scope of a city admin is asked for at every command of theirs).
    """

    def __init__(self, parents: Mapping[int, int | None]) -> None:
        self.parents: dict[int, int | None] = dict(parents)
        self.children: dict[int | None, list[int]] = {}
        for uid in sorted(self.parents):
            self.children.setdefault(self.parents[uid], []).append(uid)
        self._below: dict[int | None, frozenset[int]] = {None: frozenset(self.parents)}

    def subtree(self, uid: int | None) -> frozenset[int]:
        """The unit and every unit below it; None: every unit (the province). A unit not in the tree: empty."""
        if uid in self._below:
            return self._below[uid]
        if uid not in self.parents:
            return frozenset()
        found, todo = {uid}, [uid]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        self._below[uid] = frozen = frozenset(found)
        return frozen

    def ancestors(self, uid: int) -> list[int]:
        """The units above `uid`, nearest first, up to the one under the province (the province is not a unit)."""
        out: list[int] = []
        parent = self.parents.get(uid)
        while parent is not None and parent not in out and parent != uid:
            out.append(parent)
            parent = self.parents.get(parent)
        return out

    def loop_with(self, uid: int, parent: int | None) -> bool:
        """Whether hanging `uid` under `parent` would make a loop (the parent is the unit itself or below it)."""
        return parent is not None and parent in self.subtree(uid)


async def stored_tree(tx: Tx) -> tuple[dict[int, Unit], dict[int, bool], Tree]:
    """The live units as stored (their parents resolved past deleted ones), whose parent was set by a person, and
    their tree: read inside a write transaction, to check a move or to apply the defaults."""
    rows = await tx.all("SELECT id, name, category, city, county, parent_id, parent_fixed, deleted_at FROM units")
    live = {r["id"]: r["parent_id"] for r in rows if r["deleted_at"] is None}
    dead = {r["id"]: r["parent_id"] for r in rows if r["deleted_at"] is not None}
    parents = live_parents(live, dead)
    units = {
        r["id"]: Unit(r["id"], r["name"], r["category"], r["city"], county=r["county"], parent_id=parents[r["id"]])
        for r in rows
        if r["deleted_at"] is None
    }
    fixed = {r["id"]: bool(r["parent_fixed"]) for r in rows if r["deleted_at"] is None}
    return units, fixed, Tree(parents)


async def apply_defaults(tx: Tx) -> int:
    """Give every live unit whose parent nobody set its default parent, and every unit whose stored parent was
    deleted its nearest live ancestor. Returns how many rows changed.

    A default never makes a loop: where one would (a bureau a person put under one of its own schools), the unit
    keeps the parent it had."""
    rows = await tx.all("SELECT id, parent_id FROM units WHERE deleted_at IS NULL")
    stored = {r["id"]: r["parent_id"] for r in rows}
    units, fixed, _ = await stored_tree(tx)
    want = default_parents(units.values())
    now = {uid: (unit.parent_id if fixed[uid] else want[uid]) for uid, unit in units.items()}
    while looped := [uid for uid in in_loops(now) if not fixed[uid] and now[uid] != units[uid].parent_id]:
        for uid in looped:
            now[uid] = units[uid].parent_id
    changes = [(parent, uid) for uid, parent in now.items() if parent != stored[uid]]
    if changes:
        await tx.many("UPDATE units SET parent_id=? WHERE id=?", changes)
    return len(changes)


def in_loops(parents: Mapping[int, int | None]) -> set[int]:
    """The units on a loop of `parents` (none in a tree)."""
    state: dict[int, int] = {}  # 1: on the path being walked, 2: known to reach the province
    looped: set[int] = set()
    for start in parents:
        path: list[int] = []
        uid: int | None = start
        while uid is not None and uid in parents and uid not in state:
            state[uid] = 1
            path.append(uid)
            uid = parents[uid]
        if uid is not None and state.get(uid) == 1:  # walked back onto this path: a loop from uid on
            looped.update(path[path.index(uid) :])
        for p in path:
            state[p] = 2
    return looped


@dataclass
class Below:
    """A unit's subtree as /单位 下级 shows it (the unit itself is not among `units`)."""

    root: Unit | None  # None: the province
    units: list[tuple[Unit, int]]  # depth first, each with its depth (1: directly under the root)
    staffed: set[int]  # those with at least one operator
    children: dict[int, int]  # how many units are directly under each

    def by_category(self) -> list[tuple[str, int, int]]:
        """(category, units, units with an operator), in the usual order of the categories."""
        count: dict[str, list[int]] = {}
        for u, _ in self.units:
            c = count.setdefault(u.category, [0, 0])
            c[0] += 1
            c[1] += u.id in self.staffed
        return [(cat, n, s) for cat, (n, s) in sorted(count.items(), key=lambda kv: category_key(kv[0]))]
