"""Who may act for a unit (docs/PROMISES.md "Who may do what"): the one rule every way of handing in
or confirming asks (commands, replies, reactions, uploads, `/报送 文件`).

The rule: a unit is acted for by its own bound operators, and by admins. Nobody else: not an operator of another
unit, not a group member bound to no unit, whatever a file name or an argument says. What such a person hands in
is kept aside for an admin (a file: 待确认) and never counted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.errors import UserError
from bot.units.records import Unit
from bot.units.service import Units


@dataclass(frozen=True)
class Actor:
    """A person as the rule sees them: whether they are an admin, and the unit they are bound to (if any)."""

    user_id: str
    admin: bool
    unit: Unit | None

    def may_act_for(self, unit: Unit | int) -> bool:
        """The rule: an admin acts for any unit, an operator for their own unit only, anyone else for none."""
        unit_id = unit if isinstance(unit, int) else unit.id
        return self.admin or (self.unit is not None and self.unit.id == unit_id)

    def refusal(self, unit: Unit) -> UserError:
        """The Chinese sentence for someone who may not act for `unit`, saying what to do instead."""
        if self.unit is not None:
            return UserError(
                f"你是“{self.unit.name}”的联络员，只能替本单位交文件或确认。“{unit.name}”的请由其联络员办理。"
            )
        return UserError(
            f"只有{unit.name}的联络员和管理员可以替它交文件或确认。你如是该单位的联络员，"
            f"请先发 /注册 {unit.name} 申请绑定，审核通过后再办理。"
        )


class Authority:
    """Answers who may act for a unit, from the bindings (Units) and the admin list."""

    def __init__(self, units: Units, admins: Collection[str]) -> None:
        self.units = units
        self.admins = frozenset(str(a) for a in admins)

    async def actor(self, user_id: str | int, *, admin: bool | None = None) -> Actor:
        """The person as the rule sees them (`admin` given: the caller already knows, e.g. a handler's check)."""
        uid = str(user_id)
        bound = await self.units.registrations.operator(uid)
        return Actor(uid, uid in self.admins if admin is None else admin, bound[1] if bound else None)

    async def may_act_for(self, user_id: str | int, unit: Unit | int) -> bool:
        return (await self.actor(user_id)).may_act_for(unit)

    async def check(self, user_id: str | int, unit: Unit, *, admin: bool | None = None) -> Actor:
        """The actor, when they may act for `unit`.

        Raises:
            UserError: they may not (nothing is stored).
        """
        actor = await self.actor(user_id, admin=admin)
        if not actor.may_act_for(unit):
            raise actor.refusal(unit)
        return actor
