"""Follower targets: the per-category table, how ALLIANCE_FOLLOWER_TARGETS and friends are read, and
which target a unit has. Pure functions: `bot.config` validates those settings with them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING, Any

from bot.errors import UserError
from bot.parse import parse_count
from bot.units.tree import city_key
from bot.vocab import category_or_none

if TYPE_CHECKING:
    from bot.units.records import Unit


def fmt(n: int) -> str:
    """`12,345`."""
    return f"{n:,}"


def wan(n: int) -> str:
    """A count as people say it: `12.35万`, `100万`, `9,876` (below 10,000 exact)."""
    if abs(n) < 10_000:
        return fmt(n)
    return f"{n / 10_000:.2f}".rstrip("0").rstrip(".") + "万"


def signed(n: int) -> str:
    return f"+{wan(n)}" if n > 0 else ("-" + wan(-n) if n < 0 else "±0")


@dataclass(frozen=True)
class CategoryTarget:
    """The target of one unit category: `tiers` are (students more than N, target), `populous` for 市教育局."""

    default: int | None = None
    populous: int | None = None
    tiers: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        parts = []
        if self.populous is not None:
            parts.append(f"人口大市 {wan(self.populous)}")
        parts.extend(f"在校生超过{wan(n)}人 {wan(t)}" for n, t in self.tiers)
        if self.default is not None:
            parts.append(f"{'其他 ' if parts else ''}{wan(self.default)}")
        return "，".join(parts) or "未设目标"


# Shandong's 2022 notice. 中职学校 follows the vocational rule; the categories the notice does not name
# (省直单位, 县区教育局, 幼儿园, 其他) have no target unless ALLIANCE_FOLLOWER_TARGETS sets one.
DEFAULT_TARGETS: dict[str, CategoryTarget] = {
    "市教育局": CategoryTarget(800_000, populous=1_000_000),
    "本科高校": CategoryTarget(80_000, tiers=((20_000, 100_000),)),
    "高职高专": CategoryTarget(50_000, tiers=((12_000, 60_000),)),
    "中职学校": CategoryTarget(50_000, tiers=((12_000, 60_000),)),
    "高中": CategoryTarget(80_000),
    "初中": CategoryTarget(50_000),
    "小学": CategoryTarget(30_000),
}


DEFAULT_POPULOUS_CITIES = ["郑州", "南阳", "周口", "商丘"]


_TARGETS_HELP = (
    '应为 JSON 对象，键是单位类别，值是数量或分档，如 {"县区教育局": "10万", '
    '"本科高校": {"20000": "10万", "默认": "8万"}, "市教育局": {"人口大市": "100万", "默认": "80万"}}'
)


def _amount(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{where} 的目标应是数量，如 10万")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{where} 的目标不能是负数")
        return int(value) or None
    try:
        return parse_count(str(value)) or None
    except UserError:
        raise ValueError(f"{where} 的目标“{value}”不是数量，应写成 100000 或 10万") from None


def parse_targets(raw: Any) -> dict[str, CategoryTarget]:
    """Read ALLIANCE_FOLLOWER_TARGETS (a JSON object or its text) into per-category targets.

    A category's value is a count (`80000`, `"8万"`, null for none) or an object whose keys are `默认`,
    `人口大市` (市教育局 in ALLIANCE_POPULOUS_CITIES) and student thresholds (`"20000"` or `">20000"`:
    more than that many students).

    Raises:
        ValueError: the text is not such an object; the message says what is expected.
    """
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"不是合法的 JSON（{e.msg}）；{_TARGETS_HELP}") from None
    if not isinstance(raw, dict):
        raise ValueError(_TARGETS_HELP)
    out: dict[str, CategoryTarget] = {}
    for key, value in raw.items():
        category = category_or_none(str(key))
        if category is None:
            raise ValueError(f"不认识单位类别“{key}”；{_TARGETS_HELP}")
        if not isinstance(value, dict):
            out[category] = CategoryTarget(_amount(value, category))
            continue
        default = populous = None
        tiers: list[tuple[int, int]] = []
        for k, v in value.items():
            k = str(k).strip()
            where = f"{category}/{k}"
            if k in ("默认", "其他", "其它", "default", "*"):
                default = _amount(v, where)
            elif k in ("人口大市", "populous"):
                populous = _amount(v, where)
            elif m := re.fullmatch(r"(?:>|＞|超过|大于)?\s*(\S+?)\s*(?:人|以上)?", k):
                try:
                    threshold = parse_count(m.group(1))
                except UserError:
                    raise ValueError(f"{category} 的分档“{k}”不认识；{_TARGETS_HELP}") from None
                amount = _amount(v, where)
                if amount is not None:
                    tiers.append((threshold, amount))
            else:  # pragma: no cover - the pattern above takes any key
                raise ValueError(f"{category} 的分档“{k}”不认识；{_TARGETS_HELP}")
        out[category] = CategoryTarget(default, populous, tuple(sorted(tiers, reverse=True)))
    return out


def parse_cities(raw: Any) -> list[str]:
    """Read ALLIANCE_POPULOUS_CITIES: a JSON list, or names separated by commas."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f'应为城市列表，如 ["郑州","南阳"]（{e.msg}）') from None
        else:
            raw = [x for x in re.split(r"[,，、\s]+", text) if x]
    if not isinstance(raw, (list, tuple)):
        raise ValueError('应为城市列表，如 ["郑州","南阳"]')
    return [str(x).strip() for x in raw if str(x).strip()]


def parse_reminder_time(raw: str) -> time | None:
    """Read ALLIANCE_FOLLOWER_REMINDER: `09:00`, or empty for no monthly reminder."""
    text = str(raw).strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2})[:：](\d{2})", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"应写成 HH:MM，如 09:00，或留空表示不发月度提醒，而不是 {raw!r}")
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class Target:
    """A unit's follower target and the rule that picked it."""

    amount: int | None
    rule: str


def target_for(unit: Unit, table: Mapping[str, CategoryTarget], populous: frozenset[str]) -> Target:
    """The target of a unit, from its category, city and student count."""
    ct = table.get(unit.category)
    if ct is None or (ct.default is None and ct.populous is None and not ct.tiers):
        return Target(None, f"{unit.category}未设目标")
    if ct.populous is not None and unit.category == "市教育局" and city_key(unit.city) in populous:
        return Target(ct.populous, f"{unit.category}，人口大市")
    for threshold, amount in ct.tiers:
        if unit.students is not None and unit.students > threshold:
            return Target(amount, f"{unit.category}，在校生超过{wan(threshold)}人")
    if ct.default is None:
        return Target(None, f"{unit.category}未设目标")
    if ct.tiers and unit.students is None:
        return Target(ct.default, f"{unit.category}，未登记在校生数")
    if ct.tiers:
        return Target(ct.default, f"{unit.category}，在校生不超过{wan(ct.tiers[-1][0])}人")
    if ct.populous is not None and unit.category == "市教育局":
        return Target(ct.default, f"{unit.category}，非人口大市")
    return Target(ct.default, unit.category)
