"""Unit records and names: a unit, an operator, an application and its decision; how names are normalized and matched (initials, subsequences)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pypinyin import Style, lazy_pinyin


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
