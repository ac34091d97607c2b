"""A city's own group (issue 24.3, SPEC §13): an alliance group tied to a city's 市教育局 (`/群 归属 郑州`, by a
province admin; table `city_groups`, owned here).

Where a task's messages go:
- a province task (owner None): every alliance group, as before (every unit owes it, wherever its operators are);
- a city admin's task (owner: the unit they were appointed for): the groups tied to that unit or the nearest unit
  above it; a city with no group of its own uses the province groups (those tied to no city), and when every group
  is some city's, every group.
The same rule places a city admin's nudges (`nudge_groups`): the operators are @-mentioned in the city's group.
"""

from __future__ import annotations

from collections.abc import Collection

from bot import clock
from bot.audit import audit
from bot.db import Database, Tx
from bot.errors import UserError
from bot.units.records import Unit
from bot.units.service import Units


async def task_groups(tx: Tx, groups: Collection[str], owner: int | None) -> list[str]:
    """The alliance groups a task of `owner` (None: the province) is announced and nudged in, inside the caller's
    transaction (see the module's docstring)."""
    every = sorted(groups)
    if owner is None:
        return every
    rows = await tx.all(
        "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL "
        "SELECT u.parent_id, up.depth + 1 FROM units u JOIN up ON u.id=up.id "
        "WHERE u.parent_id IS NOT NULL AND up.depth < 50) "
        "SELECT g.group_id, up.depth FROM city_groups g JOIN up ON up.id=g.unit_id ORDER BY up.depth, g.group_id",
        (owner,),
    )
    mine = [r["group_id"] for r in rows if r["group_id"] in groups and r["depth"] == rows[0]["depth"]]
    if mine:
        return mine
    tied = {r["group_id"] for r in await tx.all("SELECT group_id FROM city_groups")}
    return [g for g in every if g not in tied] or every


class CityGroups:
    """Which alliance group belongs to which city: tie, untie, list."""

    def __init__(self, db: Database, units: Units, groups: Collection[str]) -> None:
        self.db = db
        self.units = units
        self.groups = groups

    async def tie(self, group_id: str, city_text: str, *, actor: str) -> Unit:
        """Tie an alliance group to a city (its 市教育局) or another unit's subtree (audited); the unit.

        Raises:
            UserError: the group is no alliance group, or the city is not in the roster.
        """
        if group_id not in self.groups:
            raise UserError("只有联盟群（ALLIANCE_GROUPS 里的群）可以设归属。请在要设置的联盟群里发：/群 归属 <城市>")
        unit = await self.units.resolve_area(city_text)
        async with self.db.tx() as tx:
            await tx.run(
                "INSERT OR REPLACE INTO city_groups (group_id, unit_id, set_by, set_at) VALUES (?, ?, ?, ?)",
                (group_id, unit.id, actor, clock.now_db()),
            )
            await audit(tx, actor, "群归属", f"群 {group_id} 归属 {unit.name}", unit.id)
        return unit

    async def untie(self, group_id: str, *, actor: str) -> Unit | None:
        """The group is a province group again; the unit it belonged to (None: it belonged to none)."""
        async with self.db.tx() as tx:
            unit_id = await tx.value("SELECT unit_id FROM city_groups WHERE group_id=?", (group_id,))
            if unit_id is None:
                return None
            await tx.run("DELETE FROM city_groups WHERE group_id=?", (group_id,))
            await audit(tx, actor, "群归属", f"群 {group_id} 改回全省", unit_id)
        return await self.units.get(unit_id)

    async def listing(self) -> dict[str, Unit | None]:
        """Every alliance group → the unit it is tied to (None: a province group)."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT group_id, unit_id FROM city_groups")
        units = {u.id: u for u in await self.units.by_ids({r["unit_id"] for r in rows})}
        tied = {r["group_id"]: units.get(r["unit_id"]) for r in rows}
        return {g: tied.get(g) for g in sorted(self.groups)}
