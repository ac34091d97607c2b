"""Units, their aliases and operators, registration applications, and unit-name matching."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin

from bot import clock
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import Ambiguous, NotFound, Unsure, UserError
from bot.parse import (
    CATEGORIES,
    categories_of,
    check_city,
    check_name,
    check_qq,
    normalize_name,
    parse_category,
)


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    category: str
    city: str = ""
    students: int | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operator:
    user_id: str
    name: str
    unit_id: int
    group_id: str | None = None


@dataclass(frozen=True)
class Application:
    id: int
    user_id: str
    user_name: str
    group_id: str | None
    unit_id: int | None
    unit_name: str
    category: str | None
    city: str | None
    state: str
    created_at: str
    reason: str | None = None
    is_new_unit: bool = False


@dataclass
class Decision:
    """What an approval or rejection did, for the reply and the applicant's notice."""

    application: Application
    ok: bool
    message: str
    unit: Unit | None = None


@dataclass
class Unbound:
    unit: Unit
    last_operator: bool


SCOPE_ALL = ("全部", "所有", "全部单位", "所有单位")
_STRIP = re.compile(r"[市县区省\s·・\-（）()]")


def normalize(name: str) -> str:
    """Fold what people leave out: 市/县/区/省, spaces, brackets; lower-case latin."""
    return _STRIP.sub("", name).lower()


def initials(name: str) -> str:
    """Pinyin initials: 河南大学 → hndx."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if p).lower()


@dataclass
class _Index:
    units: dict[int, Unit] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)
    by_alias: dict[str, int] = field(default_factory=dict)
    norm: dict[int, list[str]] = field(default_factory=dict)
    pinyin: dict[int, list[str]] | None = None


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


class Units:
    """Unit records and the people bound to them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._index: _Index | None = None
        self._data_version: int | None = None
        # called after a change to the units or their aliases commits (the follower rankings' cache listens)
        self.on_change: list[Callable[[], None]] = []

    # ------------------------------------------------------------ name index

    def invalidate(self) -> None:
        """The units or their aliases changed: forget the index and tell who listens."""
        self._index = None
        for listener in self.on_change:
            listener()

    async def _load(self) -> _Index:
        async with self.db.read() as tx:
            # another connection (the import-units command line, a second process) may have changed the units
            version = await tx.value("PRAGMA data_version")
            if self._index is not None and version == self._data_version:
                return self._index
            rows = await tx.all("SELECT id, name, category, city, students FROM units WHERE deleted_at IS NULL")
            aliases = await tx.all(
                "SELECT a.alias, a.unit_id FROM unit_aliases a JOIN units u ON u.id=a.unit_id WHERE u.deleted_at IS NULL"
            )
        by_unit: dict[int, list[str]] = {}
        for a in aliases:
            by_unit.setdefault(a["unit_id"], []).append(a["alias"])
        idx = _Index()
        for r in sorted(rows, key=lambda r: r["id"]):
            u = Unit(
                r["id"], r["name"], r["category"], r["city"], r["students"], tuple(sorted(by_unit.get(r["id"], [])))
            )
            idx.units[u.id] = u
            idx.by_name[u.name] = u.id
            idx.by_name.setdefault(normalize_name(u.name), u.id)  # a name stored before names were normalized
            for a in u.aliases:
                idx.by_alias[a] = u.id
                idx.by_alias.setdefault(normalize_name(a), u.id)
            idx.norm[u.id] = [normalize(n) for n in (u.name, *u.aliases)]
        self._index, self._data_version = idx, version
        return idx

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
        name = normalize_name(text)
        if not name:
            raise NotFound("请写出单位名称。")
        idx = await self._load()
        if name in idx.by_name:
            return idx.units[idx.by_name[name]]
        if name in idx.by_alias:
            return idx.units[idx.by_alias[name]]
        q = normalize(name)
        stages: list[list[int]] = []
        if q:
            stages.append([uid for uid, ns in idx.norm.items() if q in ns])
            if re.fullmatch(r"[a-z]{2,}", q):
                if idx.pinyin is None:
                    idx.pinyin = {uid: [initials(n) for n in (u.name, *u.aliases)] for uid, u in idx.units.items()}
                stages.append([uid for uid, ps in idx.pinyin.items() if q in ps])
            stages.append([uid for uid, ns in idx.norm.items() if any(q in n for n in ns)])
            if len(q) >= 2:
                stages.append([uid for uid, ns in idx.norm.items() if any(_subsequence(q, n) for n in ns)])
        for i, found in enumerate(stages):
            if len(found) == 1:
                unit = idx.units[found[0]]
                if strict and i > 0:
                    raise Unsure(f"没有名为“{name}”的单位。你是指“{unit.name}”吗？请写出完整名称或简称再发一次。", unit)
                return unit
            if len(found) > 1:
                names = sorted((idx.units[i].name for i in found), key=len)
                shown = names[:10]
                more = f"等 {len(names)} 个" if len(names) > 10 else ""
                raise Ambiguous(
                    f"“{name}”可能指：{'、'.join(shown)}{more}。请写出完整名称再试。",
                    names,
                )
        raise NotFound(f"没有找到单位“{name}”。用 /单位 列表 查看全部单位，或写出完整名称。")

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
    ) -> Unit:
        name = check_name(name, "单位名称")
        category = parse_category(category)
        city = check_city(city)
        async with self.db.tx() as tx:
            unit_id = await self._insert(tx, name, category, city, students, actor)
            for a in aliases:
                await self._add_alias(tx, unit_id, a)
        self.invalidate()
        unit = await self.get(unit_id)
        assert unit is not None
        return unit

    async def _insert(self, tx: Tx, name: str, category: str, city: str, students: int | None, actor: str) -> int:
        if await tx.value("SELECT id FROM units WHERE name=? AND deleted_at IS NULL", (name,)):
            raise UserError(f"单位“{name}”已经存在。")
        if await tx.value(
            "SELECT unit_id FROM unit_aliases a JOIN units u ON u.id=a.unit_id "
            "WHERE a.alias=? AND u.deleted_at IS NULL",
            (name,),
        ):
            raise UserError(f"“{name}”已是另一个单位的简称，请换一个名称。")
        unit_id = await tx.run(
            "INSERT INTO units (name, category, city, students, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, category, city, students, clock.now_db()),
        )
        await audit(tx, actor, "单位添加", name, unit_id)
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

    async def add_aliases(self, name: str, aliases: list[str], *, actor: str) -> tuple[Unit, list[str]]:
        if not aliases:
            raise UserError("请写出要添加的简称，如：/单位 别名 郑州大学 郑大")
        unit = await self.resolve(name, strict=True)
        idx = await self._load()
        for a in aliases:  # an alias must not take over a name that already finds another unit
            if normalize_name(a) in idx.by_alias or normalize_name(a) in idx.by_name:
                continue  # an exact name or alias: `_add_alias` says whose it is
            try:
                other = await self.resolve(normalize_name(a))
            except (NotFound, Ambiguous):
                continue
            if other.id != unit.id:
                raise UserError(
                    f"“{a}”现在就指“{other.name}”（全称、简称、拼音首字母或名称的一部分），"
                    f"不能再作“{unit.name}”的简称，否则大家写“{a}”时会找错单位。请换一个简称。"
                )
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
            await tx.run("UPDATE units SET deleted_at=? WHERE id=?", (clock.now_db(), unit.id))
            await tx.run(
                "UPDATE applications SET state='已撤销', reason='单位已删除' WHERE unit_id=? AND state='待审核'",
                (unit.id,),
            )
            await audit(tx, actor, "单位删除", unit.name, unit.id)
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

    # ------------------------------------------------------------ operators

    async def operator(self, user_id: str | int) -> tuple[Operator, Unit] | None:
        """The unit a QQ user is bound to, if any."""
        async with self.db.read() as tx:
            row = await tx.one(
                "SELECT user_id, name, unit_id, group_id FROM operators WHERE user_id=?", (str(user_id),)
            )
        if row is None:
            return None
        unit = await self.get(row["unit_id"])
        if unit is None:
            return None
        return Operator(row["user_id"], row["name"], row["unit_id"], row["group_id"]), unit

    async def operators(self, unit_id: int) -> list[Operator]:
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT user_id, name, unit_id, group_id FROM operators WHERE unit_id=? ORDER BY bound_at, user_id",
                (unit_id,),
            )
        return [Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]) for r in rows]

    async def operators_of(self, unit_ids: Iterable[int]) -> dict[int, list[Operator]]:
        """Operators of many units at once: unit id → operators (units without any are left out)."""
        wanted = set(unit_ids)
        out: dict[int, list[Operator]] = {}
        async with self.db.read() as tx:
            rows = await tx.all("SELECT user_id, name, unit_id, group_id FROM operators ORDER BY bound_at, user_id")
        for r in rows:
            if r["unit_id"] in wanted:
                out.setdefault(r["unit_id"], []).append(Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]))
        return out

    @staticmethod
    async def operators_owing(tx: Tx, unit_ids: Iterable[int]) -> list[Operator]:
        """The operators of these units, read inside the caller's transaction (a reminder computes who is still
        owed in the transaction that queues it), by unit, then in the order they were bound."""
        ids = sorted(set(unit_ids))
        if not ids:
            return []
        rows = await tx.all(
            "SELECT user_id, name, unit_id, group_id FROM operators WHERE unit_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY unit_id, bound_at, user_id",
            (json.dumps(ids),),
        )
        return [Operator(r["user_id"], r["name"], r["unit_id"], r["group_id"]) for r in rows]

    @staticmethod
    async def bound_unit(tx: Tx, user_id: str | int) -> int | None:
        """The id of the unit a QQ user is bound to, inside the caller's transaction; None if not bound."""
        return await tx.value("SELECT unit_id FROM operators WHERE user_id=?", (str(user_id),))

    async def all_operators(self) -> dict[str, int]:
        """QQ id → unit id for every bound operator."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT user_id, unit_id FROM operators")
        return {r[0]: r[1] for r in rows}

    async def applicant_names(self) -> list[tuple[str, str]]:
        """(QQ id, name) of everyone who applied to register, oldest first."""
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT user_id, user_name FROM applications")]

    async def operator_names(self) -> list[tuple[str, str]]:
        """(QQ id, name) of every operator bound now."""
        async with self.db.read() as tx:
            return [(r[0], r[1]) for r in await tx.all("SELECT user_id, name FROM operators")]

    async def is_known(self, user_id: str | int) -> bool:
        """Bound to a unit now, or with an application waiting for review (may talk to the bot privately).

        Someone who left the group (and so was unbound), unbound themselves, or was rejected is not known.
        """
        async with self.db.read() as tx:
            return bool(
                await tx.value(
                    "SELECT 1 FROM operators WHERE user_id=? "
                    "UNION ALL SELECT 1 FROM applications WHERE user_id=? AND state='待审核' LIMIT 1",
                    (str(user_id), str(user_id)),
                )
            )

    async def unbind(self, user_id: str | int, *, actor: str, why: str = "解绑") -> Unbound | None:
        """Remove a binding. None if the user was bound to nothing."""
        uid = str(user_id)
        async with self.db.tx() as tx:
            row = await tx.one("SELECT unit_id FROM operators WHERE user_id=?", (uid,))
            if row is None:
                return None
            await tx.run("DELETE FROM operators WHERE user_id=?", (uid,))
            left = await tx.value("SELECT COUNT(*) FROM operators WHERE unit_id=?", (row["unit_id"],))
            await audit(tx, actor, why, uid, row["unit_id"])
        unit = await self.get(row["unit_id"])
        if unit is None:
            return None
        return Unbound(unit, left == 0)

    # ------------------------------------------------------------ applications

    async def apply(
        self,
        user_id: str | int,
        user_name: str,
        group_id: str | int | None,
        name: str,
        category: str = "",
        city: str = "",
    ) -> tuple[Application, bool]:
        """File an application to operate a unit (or to create a new one).

        Returns the application and whether it is new (False: the same one was already pending).
        """
        uid = check_qq(user_id)
        bound = await self.operator(uid)
        if bound is not None:
            raise UserError(f"你已是“{bound[1].name}”的联络员。要换单位，请先发 /解绑，再重新注册。")
        name = check_name(name, "单位名称")
        try:  # with a category the user means a new unit: a loose match to another one is asked about, not taken
            unit = await self.find(name, strict=bool(category))
        except Unsure as e:
            known = e.candidate.name  # type: ignore[attr-defined]
            raise UserError(
                f"名册里没有“{name}”，但有“{known}”。如果就是它，请发：/注册 {known}；"
                "如果是名册里没有的新单位，请联系管理员把它加进名册。"
            ) from None
        if unit is None and not category:
            raise UserError(
                f"没有找到单位“{name}”。如果这是新单位，请同时写出类别和地市，如：/注册 {name} 高中 郑州。"
                "类别可选：省直单位、市教育局、县区教育局、本科高校、高职高专、中职学校、高中、初中、小学、幼儿园、其他。"
            )
        cat = parse_category(category) if unit is None else None
        city = check_city(city) if unit is None else ""
        async with self.db.tx() as tx:
            pending = await tx.one(
                "SELECT id, unit_id, new_name FROM applications WHERE user_id=? AND state='待审核'", (uid,)
            )
            if pending is not None:
                same = (unit is not None and pending["unit_id"] == unit.id) or (
                    unit is None and pending["new_name"] == name
                )
                if same:
                    app = await self._application(tx, pending["id"])
                    return app, False
                await tx.run(
                    "UPDATE applications SET state='已撤销', reason='申请人重新注册了其他单位', decided_at=? WHERE id=?",
                    (clock.now_db(), pending["id"]),
                )
            app_id = await tx.run(
                "INSERT INTO applications (user_id, user_name, group_id, unit_id, new_name, new_category, new_city, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    user_name,
                    str(group_id) if group_id else None,
                    unit.id if unit else None,
                    None if unit else name,
                    cat,
                    city or None,
                    clock.now_db(),
                ),
            )
            await audit(tx, uid, "注册申请", f"#{app_id} {unit.name if unit else name}", unit.id if unit else None)
            app = await self._application(tx, app_id)
        return app, True

    async def _application(self, tx: Tx, app_id: int) -> Application:
        r = await tx.one(
            "SELECT a.*, u.name AS unit_name, u.category AS unit_category, u.city AS unit_city "
            "FROM applications a LEFT JOIN units u ON u.id=a.unit_id WHERE a.id=?",
            (app_id,),
        )
        if r is None:
            raise NotFound(f"没有编号为 {app_id} 的注册申请。发 /审核 查看待审核的申请。")
        return Application(
            id=r["id"],
            user_id=r["user_id"],
            user_name=r["user_name"],
            group_id=r["group_id"],
            unit_id=r["unit_id"],
            unit_name=r["unit_name"] if r["unit_id"] else r["new_name"],
            category=r["unit_category"] if r["unit_id"] else r["new_category"],
            city=r["unit_city"] if r["unit_id"] else r["new_city"],
            state=r["state"],
            created_at=r["created_at"],
            reason=r["reason"],
            is_new_unit=r["unit_id"] is None,
        )

    async def pending(self) -> list[Application]:
        async with self.db.read() as tx:
            ids = [r[0] for r in await tx.all("SELECT id FROM applications WHERE state='待审核' ORDER BY id")]
            return [await self._application(tx, i) for i in ids]

    async def application(self, app_id: int) -> Application:
        async with self.db.read() as tx:
            return await self._application(tx, app_id)

    async def approve(self, app_ids: list[int], *, actor: str) -> list[Decision]:
        """Approve applications, each in its own transaction (one bad number does not block the rest)."""
        out = []
        for app_id in dict.fromkeys(app_ids):
            try:
                out.append(await self._approve_one(app_id, actor))
            except UserError as e:
                out.append(Decision(Application(app_id, "", "", None, None, "", None, None, "", ""), False, str(e)))
        return out

    async def _approve_one(self, app_id: int, actor: str) -> Decision:
        async with self.db.tx() as tx:
            app = await self._application(tx, app_id)
            if app.state != "待审核":
                raise UserError(f"申请 #{app_id} 已{app.state.removeprefix('已')}，不能再通过。")
            unit_id = app.unit_id
            if unit_id is None:
                unit_id = await tx.value("SELECT id FROM units WHERE name=? AND deleted_at IS NULL", (app.unit_name,))
                if unit_id is None:
                    unit_id = await self._insert(tx, app.unit_name, app.category or "其他", app.city or "", None, actor)
            elif await tx.value("SELECT deleted_at FROM units WHERE id=?", (unit_id,)):
                raise UserError(f"申请 #{app_id} 的单位已被删除，无法通过。")
            existing = await tx.one("SELECT unit_id FROM operators WHERE user_id=?", (app.user_id,))
            if existing is not None and existing["unit_id"] != unit_id:
                raise UserError(f"申请 #{app_id} 的申请人已绑定其他单位，请让其先 /解绑。")
            await tx.run(
                "INSERT OR IGNORE INTO operators (user_id, unit_id, name, group_id, bound_at) VALUES (?, ?, ?, ?, ?)",
                (app.user_id, unit_id, app.user_name, app.group_id, clock.now_db()),
            )
            await tx.run(
                "UPDATE applications SET state='已通过', unit_id=?, decided_at=?, decided_by=? WHERE id=?",
                (unit_id, clock.now_db(), actor, app_id),
            )
            await audit(tx, actor, "审核通过", f"#{app_id} {app.user_id} → {app.unit_name}", unit_id)
        self.invalidate()
        unit = await self.get(unit_id)
        return Decision(app, True, "", unit)

    async def reject(self, app_id: int, reason: str, *, actor: str) -> Decision:
        async with self.db.tx() as tx:
            app = await self._application(tx, app_id)
            if app.state != "待审核":
                raise UserError(f"申请 #{app_id} 已{app.state.removeprefix('已')}，不能再驳回。")
            await tx.run(
                "UPDATE applications SET state='已驳回', reason=?, decided_at=?, decided_by=? WHERE id=?",
                (reason or None, clock.now_db(), actor, app_id),
            )
            await audit(tx, actor, "审核驳回", f"#{app_id} {reason}", app.unit_id)
        return Decision(app, True, reason)

    # ------------------------------------------------------------ unbound

    async def unbound(
        self, members: dict[str, str], admins: frozenset[str]
    ) -> tuple[list[tuple[str, str]], list[Unit]]:
        """Group members bound to no unit (admins left out), and units with no operator among the members.

        Args:
            members: QQ id → display name of the group's members (bots and admins included).
            admins: QQ ids that are not expected to bind.
        """
        ops = await self.all_operators()
        loose = [(qq, name) for qq, name in members.items() if qq not in ops and qq not in admins]
        covered = {ops[qq] for qq in members if qq in ops}
        orphan = [u for u in await self.all() if u.id not in covered]
        return loose, orphan
