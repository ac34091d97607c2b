"""The units a person may see and act on (`Scope`): what bot/roles.py hands every command, and what the services
below it (units, registrations, tasks) take to refuse a city admin's reach outside their subtree."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Forbidden
from bot.units.records import Unit


@dataclass(frozen=True)
class Scope:
    """The units a person may see and act on: everything (a province admin), a set of unit ids, or nothing."""

    everything: bool = False
    unit_ids: frozenset[int] = frozenset()
    label: str = ""  # what to call it in an answer: 全省, 郑州市教育局及其下级, the unit's name
    heads: tuple[int, ...] = ()  # a city admin's appointed units (the tops of `unit_ids`); a task they create is theirs

    @property
    def owner(self) -> int | None:
        """The unit a task created in this scope belongs to: None for the province, else the first appointed unit."""
        return None if self.everything or not self.heads else self.heads[0]

    def refusal(self, name: str) -> Forbidden:
        """What a city admin is told when a command aims at `name`, outside their scope."""
        return Forbidden(f"你是市级管理员，管理范围：{self.label}；“{name}”不在其中。")

    def check(self, unit: Unit, name: str = "") -> None:
        """Raises the refusal (`refusal`) unless `unit` is inside the scope."""
        if unit not in self:
            raise self.refusal(name or unit.name)

    def __contains__(self, unit: object) -> bool:
        unit_id = unit.id if isinstance(unit, Unit) else unit
        return self.everything or unit_id in self.unit_ids

    def __bool__(self) -> bool:
        return self.everything or bool(self.unit_ids)
