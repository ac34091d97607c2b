"""Units, the service: the roster's name index (names, aliases, loose matching), adding, renaming and deleting units, and scopes (范围); registration is its part in bot/units/registrations.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot import clock
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import NotFound, UserError
from bot.names import check_city, check_name, name_key
from bot.units.records import (
    SCOPE_ALL,
    Unit,
    UnitIndex,
)
from bot.units.registrations import Registrations
from bot.units.scope import Scope
from bot.units.tree import (
    PROVINCE,
    Below,
    Tree,
    apply_defaults,
    default_parents,
    is_default,
    is_province,
    live_parents,
    stored_tree,
)
from bot.vocab import CATEGORIES, categories_of, category_key, parse_category


class Units:
    """Unit records and the people bound to them: the roster's name index, adding, renaming, deleting and moving
    units, scopes; its part `registrations` (bot/units/registrations.py) binds people to units."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._index: UnitIndex | None = None
        self._data_version: int | None = None
        self._tree: tuple[UnitIndex, Tree] | None = None  # the tree of the index it was built from
        # called after a change to the units or their aliases commits (the follower rankings' cache listens)
        self.on_change: list[Callable[[], None]] = []
        self.registrations = Registrations(db, self)  # /注册, /审核, binding: who operates which unit

    # ------------------------------------------------------------ name index

    def invalidate(self) -> None:
        """The units or their aliases changed: forget the index (and which units have an operator) and tell who
        listens."""
        self._index = None
        self.registrations.forget_staffed()
        for listener in self.on_change:
            listener()

    async def _load(self) -> UnitIndex:
        async with self.db.read() as tx:
            # another connection (the import-units command line, a second process) may have changed the units
            version = tx.tiny_value("PRAGMA data_version")  # asked before every lookup of a unit
            if self._index is not None and version == self._data_version:
                return self._index
            rows = await tx.all(
                "SELECT id, name, category, city, students, county, parent_id FROM units WHERE deleted_at IS NULL"
            )
            dead = {r[0]: r[1] for r in await tx.all("SELECT id, parent_id FROM units WHERE deleted_at IS NOT NULL")}
            aliases = await tx.all(
                "SELECT a.alias, a.unit_id FROM unit_aliases a JOIN units u ON u.id=a.unit_id WHERE u.deleted_at IS NULL"
            )
        by_unit: dict[int, list[str]] = {}
        for a in aliases:
            by_unit.setdefault(a["unit_id"], []).append(a["alias"])
        parents = live_parents({r["id"]: r["parent_id"] for r in rows}, dead)
        idx = UnitIndex()
        for r in sorted(rows, key=lambda r: r["id"]):
            aka = tuple(sorted(by_unit.get(r["id"], [])))
            idx.put(
                Unit(r["id"], r["name"], r["category"], r["city"], r["students"], aka, r["county"], parents[r["id"]])
            )
        self._index, self._data_version = idx, version
        return idx

    async def generation(self) -> object:
        """A token for the roster as it is now: another object (compare with `is`) after any change to the units, their
        names, categories or tree, by this process or another."""
        return await self._load()

    async def all(self) -> list[Unit]:
        """Every unit, in roster order (a fresh list; the caller may change it)."""
        return list((await self._load()).units.values())

    async def by_ids(self, ids: Iterable[int]) -> list[Unit]:
        """The units with these ids, in the given order (ids of deleted units are left out)."""
        units = (await self._load()).units
        return [units[i] for i in ids if i in units]

    async def get(self, unit_id: int) -> Unit | None:
        return (await self._load()).units.get(unit_id)

    async def find(self, text: str, *, strict: bool = False) -> Unit | None:
        """Like `resolve`, but None when nothing matches (ambiguity still raises)."""
        try:
            return await self.resolve(text, strict=strict)
        except NotFound:
            return None

    async def resolve(self, text: str, *, strict: bool = False) -> Unit:
        """Exact name, then alias, then a unique fuzzy match (missing 市/县, pinyin initials, part of the name).

        Args:
            strict: for acts that change or record something against the unit (delete, rename, confirm on
                behalf, register a new unit): only the name, an alias or the name less 市/县 will do; a looser
                match is asked about (`Unsure`) instead of acted on.

        Raises:
            NotFound: nothing matches.
            Ambiguous: several units match; the message lists them.
            Unsure: (strict) one unit matches only loosely; the message names it and asks for the full name.
        """
        return (await self._load()).lookup(text, strict=strict)

    async def near(self, text: str) -> list[Unit]:
        """Units one typo away from `text` (see `UnitIndex.near`): for 你是不是要… and flagging look-alike new units."""
        return (await self._load()).near(text)

    # ------------------------------------------------------------ units

    async def add(
        self,
        name: str,
        category: str,
        city: str = "",
        *,
        actor: str,
        students: int | None = None,
        aliases: tuple[str, ...] = (),
        county: str = "",
        parent: str = "",
        scope: Scope | None = None,
    ) -> Unit:
        """Add a unit, with its 县区 and its 上级单位 when given (as the roster's columns and /单位 上级 take them:
        a unit or a city's name, `全省`; none or `默认`: the default parent), in one transaction.

        Raises:
            UserError: a bad name, category, city, county or alias; a parent that is not a unit of the roster, the
                unit itself, or one that would make a loop (by default it belongs under the new unit).
            Forbidden: (a city admin's `scope`) the parent lies outside it.
        """
        name = check_name(name, "单位名称")
        category = parse_category(category)
        city = check_city(city)
        county = check_city(county, "县区")
        aliases = tuple(dict.fromkeys(check_name(a, "简称") for a in aliases))
        idx = await self.name_index()
        same = idx.exact(name)  # also a look-alike: `郑州大学。`, `ＺＺＵ` for `zzu`
        if same is not None and name_key(same.name) == name_key(name):
            raise UserError(f"单位“{same.name}”已经存在，不必再添加；要加简称请发 /单位 别名 {same.name} <简称>。")
        if same is not None:
            raise UserError(f"“{name}”已是“{same.name}”的简称，请换一个名称。")
        fixed = bool(parent.strip()) and not is_default(parent)
        if fixed and name_key(parent) == name_key(name):
            raise UserError(f"“{name}”不能做自己的上级。请写出另一个单位，或写“{PROVINCE}”。")
        target = await self._parent_target(parent, scope) if fixed else None
        async with self.db.tx() as tx:
            unit_id = await self.insert_unit(tx, name, category, city, students, actor, county=county)
            if fixed:
                await self._hang(tx, unit_id, name, target)
            try:
                idx.check_aliases(Unit(unit_id, name, category, city, students), aliases)
            except UserError as e:  # the transaction rolls back: nothing is added
                raise UserError(f"{e} 单位“{name}”没有添加；去掉或换掉这个简称再发一次。") from None
            for a in aliases:
                await self._add_alias(tx, unit_id, a)
        self.invalidate()
        unit = await self.get(unit_id)
        assert unit is not None
        return unit

    async def _hang(self, tx: Tx, unit_id: int, name: str, target: Unit | None) -> None:
        """Put a new unit under `target` (None: the province) as set by a person, then the defaults; refused when a
        unit above `target` belongs under the new unit by default (they would go round in a loop)."""
        await tx.run("UPDATE units SET parent_id=?, parent_fixed=1 WHERE id=?", (target and target.id, unit_id))
        await apply_defaults(tx)
        if target is None:
            return
        units, fixed, tree = await stored_tree(tx)
        want = default_parents(units.values())
        for uid in [target.id, *tree.ancestors(target.id)]:
            if want.get(uid) == unit_id and not fixed[uid]:
                other = units[uid].name
                raise UserError(
                    f"不能把“{name}”放到“{target.name}”下面：按默认归属，“{other}”应在“{name}”下面，"
                    f"这样上下级会绕成一个圈。请换一个上级单位；要把“{other}”放在别处，先发 /单位 上级 {other} <新上级>。"
                )

    async def insert_unit(
        self, tx: Tx, name: str, category: str, city: str, students: int | None, actor: str, *, county: str = ""
    ) -> int:
        """Store a new unit in `tx` (its name checked against the live names and aliases, audited, hung under its
        default parent); the caller invalidates the index after the commit."""
        if await tx.value("SELECT id FROM units WHERE name=? AND deleted_at IS NULL", (name,)):
            raise UserError(f"单位“{name}”已经存在。")
        if await tx.value(
            "SELECT unit_id FROM unit_aliases a JOIN units u ON u.id=a.unit_id "
            "WHERE a.alias=? AND u.deleted_at IS NULL",
            (name,),
        ):
            raise UserError(f"“{name}”已是另一个单位的简称，请换一个名称。")
        unit_id = await tx.run(
            "INSERT INTO units (name, category, city, students, county, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (name, category, city, students, county, clock.now_db()),
        )
        await audit(tx, actor, "单位添加", name, unit_id)
        await apply_defaults(tx)  # its own parent, and a new bureau takes in the units of its area
        return unit_id

    async def _add_alias(self, tx: Tx, unit_id: int, alias: str) -> bool:
        """Add one alias; False when the unit already has it. Raises if another unit uses it."""
        alias = check_name(alias, "简称")
        owner = await tx.one(
            "SELECT a.unit_id, u.name, u.deleted_at FROM unit_aliases a JOIN units u ON u.id=a.unit_id WHERE a.alias=?",
            (alias,),
        )
        if owner is not None:
            if owner["unit_id"] == unit_id:
                return False
            if owner["deleted_at"] is None:
                raise UserError(f"简称“{alias}”已属于“{owner['name']}”，同一个简称不能给两个单位。")
            await tx.run("DELETE FROM unit_aliases WHERE alias=?", (alias,))
        other = await tx.value("SELECT name FROM units WHERE name=? AND deleted_at IS NULL AND id<>?", (alias, unit_id))
        if other:
            raise UserError(f"“{alias}”是另一个单位的全称，不能作简称。")
        await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES (?, ?)", (alias, unit_id))
        return True

    async def name_index(self) -> UnitIndex:
        """A copy of the name index, to try changes on (the roster import checks a file's aliases with it)."""
        return (await self._load()).copy()

    async def add_aliases(self, name: str, aliases: list[str], *, actor: str) -> tuple[Unit, list[str]]:
        if not aliases:
            raise UserError("请写出要添加的简称，如：/单位 别名 郑州大学 郑大")
        unit = await self.resolve(name, strict=True)
        (await self.name_index()).check_aliases(unit, aliases)
        added = []
        async with self.db.tx() as tx:
            for a in aliases:
                if await self._add_alias(tx, unit.id, a):
                    added.append(a.strip())
            await audit(tx, actor, "单位别名", f"{unit.name}: {'、'.join(added)}", unit.id)
        self.invalidate()
        unit = await self.get(unit.id)
        assert unit is not None
        return unit, added

    async def rename(self, old: str, new: str, *, actor: str) -> tuple[Unit, Unit]:
        unit = await self.resolve(old, strict=True)
        new = check_name(new, "新名称")
        async with self.db.tx() as tx:
            if await tx.value("SELECT id FROM units WHERE name=? AND deleted_at IS NULL AND id<>?", (new, unit.id)):
                raise UserError(f"单位“{new}”已经存在，不能改成这个名字。")
            owner = await tx.value(
                "SELECT u.name FROM unit_aliases a JOIN units u ON u.id=a.unit_id "
                "WHERE a.alias=? AND u.deleted_at IS NULL AND u.id<>?",
                (new, unit.id),
            )
            if owner:
                raise UserError(f"“{new}”已是“{owner}”的简称，不能改成这个名字。")
            await tx.run("UPDATE units SET name=? WHERE id=?", (new, unit.id))
            # the old name keeps working as an alias
            if not await tx.value("SELECT 1 FROM unit_aliases WHERE alias=?", (unit.name,)):
                await tx.run("INSERT INTO unit_aliases (alias, unit_id) VALUES (?, ?)", (unit.name, unit.id))
            await tx.run("DELETE FROM unit_aliases WHERE alias=?", (new,))
            await audit(tx, actor, "单位改名", f"{unit.name} → {new}", unit.id)
            await apply_defaults(tx)  # a county bureau's name says its county
        self.invalidate()
        renamed = await self.get(unit.id)
        assert renamed is not None
        return unit, renamed

    async def delete(self, name: str, *, actor: str) -> tuple[Unit, list[str]]:
        """Soft-delete: history stays; its operators are unbound. Returns the unit and the unbound QQ ids."""
        unit = await self.resolve(name, strict=True)
        async with self.db.tx() as tx:
            ops = [r[0] for r in await tx.all("SELECT user_id FROM operators WHERE unit_id=?", (unit.id,))]
            await tx.run("DELETE FROM operators WHERE unit_id=?", (unit.id,))
            self.registrations.operators_changed()
            await tx.run("UPDATE units SET deleted_at=? WHERE id=?", (clock.now_db(), unit.id))
            await tx.run(
                "UPDATE applications SET state='已撤销', reason='单位已删除' WHERE unit_id=? AND state='待审核'",
                (unit.id,),
            )
            await audit(tx, actor, "单位删除", unit.name, unit.id)
            await apply_defaults(tx)  # the units under it move up to its parent
        self.invalidate()
        return unit, ops

    async def listing(self, filt: str = "") -> tuple[list[Unit], str]:
        """Units, optionally of one category or city. Returns (units, description of the filter)."""
        units = await self.all()
        filt = filt.strip()
        if not filt:
            return units, "全部单位"
        cats = categories_of(filt)
        if cats:
            return [u for u in units if u.category in cats], "、".join(cats)
        city = filt.removesuffix("市")
        chosen = [u for u in units if u.city.removesuffix("市") == city]
        if not chosen:
            raise UserError(
                f"没有类别或地市“{filt}”的单位。类别可选：省直单位、市教育局、县区教育局、本科高校、高职高专 等；地市如 郑州。"
            )
        return chosen, f"{city}市"

    async def scope(self, entries: Iterable[str]) -> tuple[list[Unit], str]:
        """The units a 范围 names, and its description: categories OR-ed, cities OR-ed, the two AND-ed
        (`高中,初中 郑州` = Zhengzhou's high and middle schools). No entry, or 全部, means every unit.

        Raises:
            UserError: an entry is neither a category nor a city of the roster, or no unit is in the scope.
        """
        units = await self.all()
        parts = [p.strip() for e in entries for p in re.split(r"[,，、;；/\s]+", e) if p.strip()]
        if not parts or any(p in SCOPE_ALL for p in parts):
            return units, ""
        known_cities = {u.city.removesuffix("市") for u in units if u.city}
        cats: list[str] = []
        cities: list[str] = []
        for p in parts:
            named = categories_of(p)  # 高校 = 本科高校+高职高专, 中小学 = 高中+初中+小学, 教育局 = 市+县区
            if named is not None:
                cats.extend(c for c in named if c not in cats)
            elif p.removesuffix("市") in known_cities:
                cities.append(p.removesuffix("市"))
            else:
                sample = "、".join(sorted(known_cities)[:3]) or "郑州"
                raise UserError(
                    f"范围里的“{p}”既不是单位类别，也不是名册里的地市。类别可选：{'、'.join(CATEGORIES)}；"
                    f"地市如 {sample}。多个用逗号隔开，如：范围 本科高校,高职高专"
                )
        chosen = [
            u for u in units if (not cats or u.category in cats) and (not cities or u.city.removesuffix("市") in cities)
        ]
        desc = "、".join(dict.fromkeys([*cats, *(f"{c}市" for c in cities)]))
        if not chosen:
            raise UserError(f"范围“{desc}”内没有单位。用 /单位 列表 <类别或地市> 看看名册。")
        return chosen, desc

    # ------------------------------------------------------------ the tree (bot/units/tree.py)

    async def tree(self) -> Tree:
        """The parents of the live units; rebuilt when the name index is (a change of the units, another process)."""
        idx = await self._load()
        if self._tree is None or self._tree[0] is not idx:
            self._tree = (idx, Tree({u.id: u.parent_id for u in idx.units.values()}))
        return self._tree[1]

    async def parent(self, unit: Unit | int) -> Unit | None:
        """The unit's 上级单位; None: the province (or a unit not in the roster)."""
        uid = unit if isinstance(unit, int) else unit.id
        parent = (await self.tree()).parents.get(uid)
        return None if parent is None else await self.get(parent)

    async def subtree(self, unit: Unit | int | None) -> frozenset[int]:
        """The ids of the unit and every live unit below it (None: the province, every unit). Kept until the units
        change: asking again costs a dictionary lookup."""
        return (await self.tree()).subtree(unit if unit is None or isinstance(unit, int) else unit.id)

    async def ancestors(self, unit: Unit | int) -> list[Unit]:
        """The units above this one, nearest first (the province, not a unit, is not among them)."""
        uid = unit if isinstance(unit, int) else unit.id
        return await self.by_ids((await self.tree()).ancestors(uid))

    async def city_of(self, unit: Unit | int) -> Unit | None:
        """The 市教育局 a unit belongs to: the unit itself when it is one, else the nearest one above it; None for a
        unit directly under the province (a university, 省直单位) or of a city without a bureau."""
        me = await self.get(unit) if isinstance(unit, int) else unit
        if me is None:
            return None
        for u in [me, *await self.ancestors(me)]:
            if u.category == "市教育局":
                return u
        return None

    async def bureau_of_city(self, city: str) -> Unit | None:
        """The 市教育局 of a city of the roster (`郑州`, `郑州市`), the older one where there are two; None if none."""
        key = city.strip().removesuffix("市")
        found = [
            u
            for u in (await self._load()).units.values()
            if u.category == "市教育局" and u.city.removesuffix("市") == key
        ]
        return min(found, key=lambda u: u.id) if key and found else None

    async def resolve_area(self, text: str) -> Unit:
        """A unit named for its subtree: a unit's own name or alias, else a city (`郑州`: its 市教育局), else as
        `resolve` finds it."""
        idx = await self._load()
        return idx.exact(text) or await self.bureau_of_city(text) or idx.lookup(text)

    async def move(
        self, name: str, parent: str, *, actor: str, scope: Scope | None = None
    ) -> tuple[Unit, Unit | None, Unit | None]:
        """Put a unit under another (`全省`: directly under the province; `默认`: back to its default parent).
        Returns the unit, its old parent and its new one (None: the province). A city admin (`scope`) moves only
        a unit of their scope, under another unit of it.

        Raises:
            UserError: no parent named, the parent is not a unit of the roster, or the move would make a loop.
            Forbidden: the unit or the new parent lies outside `scope`.
        """
        unit = await self.resolve(name, strict=True)
        if scope is not None:
            scope.check(unit)
        if not parent.strip():
            raise UserError(
                f"请写出“{unit.name}”的上级单位，如：/单位 上级 {unit.name} 郑州市教育局；"
                f"直属省里的写“{PROVINCE}”，恢复默认写“默认”。"
            )
        target = None if is_default(parent) else await self._parent_target(parent, scope)
        old = await self.parent(unit)
        async with self.db.tx() as tx:
            units, _, tree = await stored_tree(tx)
            if unit.id not in units or (target is not None and target.id not in units):
                raise UserError("单位刚被删除了，请用 /单位 列表 看看现在的名册再试。")
            if target is not None and target.id == unit.id:
                raise UserError(f"“{unit.name}”不能做自己的上级。请写出另一个单位，或写“{PROVINCE}”。")
            if target is not None and tree.loop_with(unit.id, target.id):
                raise UserError(
                    f"不能把“{unit.name}”放到“{target.name}”下面：“{target.name}”是“{unit.name}”的下级，"
                    f"这样上下级会绕成一个圈。要调整，请先把“{target.name}”移到别处（/单位 上级 {target.name} <新上级>）。"
                )
            fixed = 0 if is_default(parent) else 1
            await tx.run(
                "UPDATE units SET parent_id=?, parent_fixed=? WHERE id=?",
                (None if target is None else target.id, fixed, unit.id),
            )
            await apply_defaults(tx)
            new_id = await tx.value("SELECT parent_id FROM units WHERE id=?", (unit.id,))
            after = PROVINCE if new_id is None else units[new_id].name
            await audit(tx, actor, "单位上级", f"{unit.name}: {old.name if old else PROVINCE} → {after}", unit.id)
        self.invalidate()
        return unit, old, await self.get(new_id) if new_id is not None else None

    async def _parent_target(self, parent: str, scope: Scope | None) -> Unit | None:
        """The unit typed as a 上级单位 (a city, `郑州`: its 市教育局); None for the province (`全省`).

        Raises:
            UserError: it is not a unit of the roster (the reason, and what to type).
            Forbidden: (a city admin's `scope`) it, or the province, lies outside the scope.
        """
        target: Unit | None = None
        if not is_province(parent):
            try:
                target = await self.bureau_of_city(parent) if (await self._load()).exact(parent) is None else None
                target = target or await self.resolve(parent, strict=True)  # a city (`郑州`) is its 市教育局
            except NotFound as e:
                raise UserError(
                    f"上级单位“{parent.strip()}”不是名册里的单位：{e} 上级必须是名册里的单位，直属省里的写“{PROVINCE}”。"
                ) from None
        if scope is not None and not scope.everything:
            if target is not None:
                scope.check(target)
            else:
                raise scope.refusal(PROVINCE)
        return target

    async def below(self, unit: Unit | None) -> Below:
        """A unit's subtree (None: the whole province) for /单位 下级: every unit under it in tree order with its
        depth, and which of them have an operator."""
        tree = await self.tree()
        units = (await self._load()).units
        async with self.db.read() as tx:
            staffed = {r[0] for r in await tx.all("SELECT DISTINCT unit_id FROM operators")}

        def order(uid: int) -> tuple:
            return (*category_key(units[uid].category), uid)

        rows: list[tuple[Unit, int]] = []
        todo = [(c, 1) for c in sorted(tree.children.get(None if unit is None else unit.id, []), key=order)]
        todo.reverse()
        while todo:
            uid, depth = todo.pop()
            rows.append((units[uid], depth))
            todo.extend((c, depth + 1) for c in sorted(tree.children.get(uid, []), key=order, reverse=True))
        return Below(
            unit, rows, staffed & {u.id for u, _ in rows}, {u.id: len(tree.children.get(u.id, [])) for u, _ in rows}
        )
