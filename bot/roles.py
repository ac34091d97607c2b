"""Who may do what (issue 24.1): the roles, the scope each one acts in, and the appointed city admins (table
`appointed_admins`, owned here).

- 省级管理员 (PROVINCE_ADMIN): ALLIANCE_ADMINS and SUPERUSERS, the whole tree;
- 市级管理员 (CITY_ADMIN): appointed by a province admin for a unit's subtree (`/管理员 任命`), no restart needed;
- 联络员 (OPERATOR): bound to a unit, acts for it alone;
- 群成员 (MEMBER): nobody's unit.

A command declares the least role it needs (plugins/_registry.py); the router asks `Roles.of` once per command and
hands the handler the asker's `Scope`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import IntEnum

from bot import clock
from bot.audit import audit
from bot.db import Database
from bot.errors import UserError
from bot.units.records import Unit
from bot.units.scope import Scope
from bot.units.service import Units

CITY_BUREAU = "市教育局"


class Role(IntEnum):
    """A role identifier; a higher role may do everything a lower one may (inside its scope)."""

    MEMBER = 0
    OPERATOR = 1
    CITY_ADMIN = 2
    PROVINCE_ADMIN = 3

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    Role.MEMBER: "群成员",
    Role.OPERATOR: "联络员",
    Role.CITY_ADMIN: "市级管理员",
    Role.PROVINCE_ADMIN: "省级管理员",
}


EVERYTHING = Scope(everything=True, label="全省")
NOTHING = Scope()


@dataclass(frozen=True)
class Appointment:
    user_id: str
    unit: Unit
    by: str
    at: str


class Roles:
    """The role and scope of a person, from the configured admins, the appointments and the bindings."""

    def __init__(self, db: Database, units: Units, admins: Collection[str]) -> None:
        self.db = db
        self.units = units
        self.admins = frozenset(str(a) for a in admins)
        self._appointed: dict[str, frozenset[int]] | None = None  # user → unit ids appointed for (cached)

    async def _load(self) -> dict[str, frozenset[int]]:
        if self._appointed is None:
            async with self.db.read() as tx:
                rows = await tx.all("SELECT user_id, unit_id FROM appointed_admins")
            out: dict[str, set[int]] = {}
            for r in rows:
                out.setdefault(str(r["user_id"]), set()).add(int(r["unit_id"]))
            self._appointed = {k: frozenset(v) for k, v in out.items()}
        return self._appointed

    async def of(self, user_id: str | int, *, binding: bool = True) -> tuple[Role, Scope]:
        """The person's role and scope (a province admin: everything; a city admin: their units' subtrees; an
        operator: their unit). `binding=False` skips looking up the binding: someone bound is then a MEMBER."""
        uid = str(user_id)
        if uid in self.admins:
            return Role.PROVINCE_ADMIN, EVERYTHING
        appointed = (await self._load()).get(uid)
        if appointed:
            return Role.CITY_ADMIN, await self._subtrees(appointed)
        bound = await self.units.registrations.operator(uid) if binding else None
        if bound is not None:
            return Role.OPERATOR, Scope(unit_ids=frozenset({bound[1].id}), label=bound[1].name)
        return Role.MEMBER, NOTHING

    async def is_appointed(self, user_id: str | int) -> bool:
        """A city admin (may talk to the bot privately, like an operator)."""
        return str(user_id) in await self._load()

    async def _subtrees(self, unit_ids: Iterable[int]) -> Scope:
        """The units of the appointed units' subtrees (the tree of 上级单位, kept by Units)."""
        heads = await self.units.by_ids(sorted(unit_ids))
        ids: set[int] = set()
        for unit in heads:
            ids |= await self.units.subtree(unit)
        label = "、".join(f"{u.name}{_below(u)}" for u in heads)
        return Scope(unit_ids=frozenset(ids), label=label, heads=tuple(u.id for u in heads))

    async def appoint(self, by: str, user_id: str, unit_text: str) -> tuple[Unit, int]:
        """Appoint `user_id` city admin for `unit_text`'s subtree (audited); the unit and its subtree's size.

        Raises:
            UserError: the unit is unknown, or the person is a province admin already.
        """
        if user_id in self.admins:
            raise UserError(f"{user_id} 已是省级管理员（配置文件里的管理员），可以管理全省，无需任命。")
        unit = await self.units.resolve(unit_text)
        size = len(await self.units.subtree(unit))
        async with self.db.tx() as tx:
            await tx.run(
                "INSERT OR REPLACE INTO appointed_admins (user_id, unit_id, appointed_by, appointed_at) "
                "VALUES (?, ?, ?, ?)",
                (user_id, unit.id, by, clock.now_db()),
            )
            await audit(tx, by, "任命市级管理员", f"{user_id} 管理 {unit.name}{_below(unit)}（{size} 个单位）", unit.id)
        self._appointed = None
        return unit, size

    async def revoke(self, by: str, user_id: str, unit_text: str = "") -> list[Unit]:
        """Remove `user_id`'s appointment for `unit_text` (or all of theirs); the units they no longer manage.

        Raises:
            UserError: nothing to remove.
        """
        held = await self.listing(user_id)
        if unit_text:
            unit = await self.units.resolve(unit_text)
            held = [a for a in held if a.unit.id == unit.id]
        if not held:
            where = f"“{unit_text}”的" if unit_text else ""
            raise UserError(f"{user_id} 不是{where}市级管理员，没有可撤销的任命。发 /管理员 列表 查看现有任命。")
        async with self.db.tx() as tx:
            for a in held:
                await tx.run("DELETE FROM appointed_admins WHERE user_id=? AND unit_id=?", (user_id, a.unit.id))
                await audit(tx, by, "撤销市级管理员", f"{user_id} 不再管理 {a.unit.name}{_below(a.unit)}", a.unit.id)
        self._appointed = None
        return [a.unit for a in held]

    async def listing(self, user_id: str | None = None) -> list[Appointment]:
        """The appointments (of one person, or everyone's), by unit then person."""
        sql = "SELECT user_id, unit_id, appointed_by, appointed_at FROM appointed_admins"
        async with self.db.read() as tx:
            rows = await tx.all(sql + (" WHERE user_id=?" if user_id else ""), (user_id,) if user_id else ())
        units = {u.id: u for u in await self.units.by_ids({int(r["unit_id"]) for r in rows})}
        out = [
            Appointment(str(r["user_id"]), units[int(r["unit_id"])], str(r["appointed_by"]), str(r["appointed_at"]))
            for r in rows
            if int(r["unit_id"]) in units
        ]
        return sorted(out, key=lambda a: (a.unit.city, a.unit.name, a.user_id))


async def scoped_units(units: Units, entries: Iterable[str], scope: Scope | None) -> tuple[list[Unit], str]:
    """The units a 范围 names (`Units.scope`) that lie inside the asker's scope, and its description.

    A city admin's task owes only units of their scope, whatever 范围 they type; a city of the 范围 with none of its
    units inside their scope is refused, naming their scope.

    Raises:
        UserError: as `Units.scope`; Forbidden: the 范围 (or a city of it) lies outside the scope.
    """
    entries = list(entries)
    chosen, desc = await units.scope(entries)
    if scope is None or scope.everything:
        return chosen, desc
    cities = {u.city.removesuffix("市") for u in chosen if u.city}
    for part in (p.strip() for e in entries for p in re.split(r"[,，、;；/\s]+", e) if p.strip()):
        city = part.removesuffix("市")
        if city in cities and not any(u in scope for u in chosen if u.city.removesuffix("市") == city):
            raise scope.refusal(part)
    kept = [u for u in chosen if u in scope]
    if not kept:
        raise scope.refusal(f"范围 {desc}" if desc else "全部单位")
    return kept, f"{scope.label}：{desc}" if desc else scope.label


def _below(unit: Unit) -> str:
    return "及其下级单位" if unit.category == CITY_BUREAU and unit.city else ""
