"""Unit records and names: a unit, an operator, an application and its decision; how names are normalized and matched (initials, subsequences)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from pypinyin import Style, lazy_pinyin

from bot.errors import Ambiguous, NotFound, Unsure, UserError
from bot.names import edit_distance, name_key, normalize_name, typed_name


@dataclass(frozen=True)
class Unit:
    id: int
    name: str
    category: str
    city: str = ""
    students: int | None = None
    aliases: tuple[str, ...] = ()
    county: str = ""  # 县区, where the roster gave one
    parent_id: int | None = None  # 上级单位; None: the province (bot/units/tree.py)


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


def subsequence_pattern(q: str) -> str:
    """A regex that finds, within one line, the characters of `q` in order with anything between them.

    Each gap is taken possessively up to the next character wanted (the greedy way to check a subsequence), so the
    match never backtracks: `9[^\\n]*?9[^\\n]*?9…` took 2^n steps when the typed name and a unit's name both held
    many of one character (one such message froze the bot).
    """
    parts = [re.escape(q[0])]
    for ch in q[1:]:
        parts.append(f"[^\\n{re.escape(ch)}]*+{re.escape(ch)}")
    return "".join(parts)


def initials(name: str) -> str:
    """Pinyin initials: 河南大学 → hndx."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if p).lower()


@dataclass
class UnitIndex:
    """The roster's name index: every live unit by name, alias and loose forms, and how a typed name is matched.

    It is the one place that says what a name finds (`lookup`) and whether a new alias would take over a name
    that already finds another unit (`takeover`); `Units` keeps the one built from the database, the roster
    import checks a file against a copy with the file's units `put` in.
    """

    units: dict[int, Unit] = field(default_factory=dict)
    by_name: dict[str, int] = field(default_factory=dict)
    by_alias: dict[str, int] = field(default_factory=dict)
    norm: dict[int, list[str]] = field(default_factory=dict)
    pinyin: dict[int, list[str]] | None = None
    # every loose form on a line of one text, with where each line starts and whose it is: str.find or one regex
    # finds the units with a form that is, contains or holds as a subsequence what was typed (a roster import
    # asks for thousands; a Python loop over every unit per question was quadratic)
    _lines: tuple[str, list[int], list[int]] | None = None
    _order: dict[int, int] = field(default_factory=dict)  # each unit's place in the roster, for `_search`

    def _search(self, pattern: str, how: str) -> list[int]:
        """The units, in roster order, with a loose form that is `pattern` (how="line"), contains it ("part"), or
        that the regex `pattern` matches ("regex"); no match spans a line."""
        if self._lines is None:
            self._lines, self._order = ("", [], []), {}
            for uid, ns in self.norm.items():
                self._append(uid, ns)
        text, starts, owners = self._lines
        if how == "regex":
            hits = [m.start() for m in re.finditer(pattern, text)]
        else:
            at, hits = text.find(pattern), []
            while at >= 0:
                hits.append(at)
                at = text.find(pattern, at + 1)
        lines = [bisect_right(starts, at) - 1 for at in hits]
        if how == "line":
            end = len(pattern)
            lines = [
                n
                for n, at in zip(lines, hits, strict=True)
                if starts[n] == at and text[at + end : at + end + 1] in "\n"
            ]
        found = dict.fromkeys(owners[n] for n in lines)
        return sorted(found, key=self._order.__getitem__)  # forms put in later sit at the end of the text

    def _append(self, uid: int, forms: Iterable[str]) -> None:
        assert self._lines is not None
        self._order.setdefault(uid, len(self._order))
        text, starts, owners = self._lines
        parts = [text] if starts else []
        for n in forms:
            starts.append(len(text) + 1 if starts else 0)
            owners.append(uid)
            parts.append(n)
            text = "\n".join(parts)
        self._lines = (text, starts, owners)

    def put(self, unit: Unit) -> None:
        """Add a unit (or a unit with more aliases) to the index."""
        self.units[unit.id] = unit
        self.by_name[unit.name] = unit.id
        for key in (normalize_name(unit.name), name_key(unit.name)):  # names stored before they were normalized
            self.by_name.setdefault(key, unit.id)
        for a in unit.aliases:
            self.by_alias[a] = unit.id
            for key in (normalize_name(a), name_key(a)):
                self.by_alias.setdefault(key, unit.id)
        before = self.norm.get(unit.id, [])
        self.norm[unit.id] = [normalize(n) for n in (unit.name, *unit.aliases)]
        if self._lines is not None:
            if set(before) <= set(self.norm[unit.id]):  # forms only added (a new unit, a new alias): append them
                self._append(unit.id, [n for n in self.norm[unit.id] if n not in before])
            else:
                self._lines = None
        if self.pinyin is not None:
            self.pinyin[unit.id] = [initials(n) for n in (unit.name, *unit.aliases)]

    def copy(self) -> UnitIndex:
        """A copy to try changes on (the roster import's plan); the units themselves are immutable."""
        return UnitIndex(
            dict(self.units),
            dict(self.by_name),
            dict(self.by_alias),
            {k: list(v) for k, v in self.norm.items()},
            None if self.pinyin is None else {k: list(v) for k, v in self.pinyin.items()},
        )

    def exact(self, text: str) -> Unit | None:
        """The unit whose name or alias this is, after normalizing what was typed (`郑州大学\u200b。`)."""
        for key in (normalize_name(text), name_key(text)):
            for table in (self.by_name, self.by_alias):
                if key in table:
                    return self.units[table[key]]
        return None

    def lookup(self, text: str, *, strict: bool = False) -> Unit:
        """Exact name, then alias, then a unique fuzzy match (missing 市/县, pinyin initials, part of the name);
        see `Units.resolve`."""
        name = typed_name(text)
        if not name:
            raise NotFound("请写出单位名称。")
        unit = self.exact(text)
        if unit is not None:
            return unit
        q = normalize(name)
        stages: list[list[int]] = []
        if q:
            stages.append(self._search(q, "line"))
            if re.fullmatch(r"[a-z]{2,}", q):
                if self.pinyin is None:
                    self.pinyin = {uid: [initials(n) for n in (u.name, *u.aliases)] for uid, u in self.units.items()}
                stages.append([uid for uid, ps in self.pinyin.items() if q in ps])
            stages.append(self._search(q, "part"))
            if len(q) >= 2:
                stages.append(self._search(subsequence_pattern(q), "regex"))
        for i, found in enumerate(stages):
            if len(found) == 1:
                unit = self.units[found[0]]
                if strict and i > 0:
                    raise Unsure(f"没有名为“{name}”的单位。你是指“{unit.name}”吗？请写出完整名称或简称再发一次。", unit)
                return unit
            if len(found) > 1:
                names = sorted((self.units[i].name for i in found), key=len)
                shown = names[:10]
                more = f"等 {len(names)} 个" if len(names) > 10 else ""
                raise Ambiguous(f"“{name}”可能指：{'、'.join(shown)}{more}。请写出完整名称再试。", names)
        close = self.near(name)
        if close:
            raise NotFound(f"没有找到单位“{name}”。你是不是要找“{close[0].name}”？请写出完整名称再试。")
        raise NotFound(f"没有找到单位“{name}”。用 /单位 列表 查看全部单位，或写出完整名称。")

    def near(self, text: str) -> list[Unit]:
        """Units whose name or alias is one typo away from `text` (two for names of 8 characters or more):
        `黄河水力职业技术学院` → 黄河水利职业技术学院. Exact matches are not near; at most 3, closest first."""
        q = normalize(typed_name(text))
        if len(q) < 3:
            return []
        limit = 2 if len(q) >= 8 else 1
        found: dict[int, int] = {}
        for uid, forms in self.norm.items():
            for form in forms:
                if form == q or abs(len(form) - len(q)) > limit:
                    continue
                d = edit_distance(q, form, limit)
                if d <= limit and d < found.get(uid, limit + 1):
                    found[uid] = d
        return [self.units[uid] for uid in sorted(found, key=lambda u: (found[u], u))[:3]]

    def takeover(self, unit: Unit, alias: str) -> str | None:
        """Why `alias` may not become an alias of `unit` (it is another unit's name or alias, a look-alike of
        one, or it already finds another unit by initials or part of its name), or None when it may.

        `unit` may be one not stored yet (a unit being added): it is put into a copy first, so that a name which
        would then find both units is no reason to refuse."""
        if unit.id not in self.units:
            idx = self.copy()
            idx.put(unit)
            return idx.takeover(unit, alias)
        a = normalize_name(alias)
        for key in (a, name_key(alias)):
            if key in self.by_name and self.by_name[key] != unit.id:
                return f"“{a}”是另一个单位“{self.units[self.by_name[key]].name}”的全称，不能作简称。"
            if key in self.by_alias and self.by_alias[key] != unit.id:
                return f"简称“{a}”已属于“{self.units[self.by_alias[key]].name}”，同一个简称不能给两个单位。"
        try:
            other = self.lookup(a)
        except (NotFound, Ambiguous):
            return None
        if other.id == unit.id:
            return None
        return (
            f"“{a}”现在就指“{other.name}”（全称、简称、拼音首字母或名称的一部分），"
            f"不能再作“{unit.name}”的简称，否则大家写“{a}”时会找错单位。请换一个简称。"
        )

    def check_aliases(self, unit: Unit, aliases: Iterable[str]) -> Unit:
        """Refuse the first alias that `takeover` refuses; the accepted ones are put in (so the next ones are
        checked with them in place). Returns the unit with its new aliases.

        Raises:
            UserError: the first alias refused, and why (nothing is added then).
        """
        for a in aliases:
            why = self.takeover(unit, a)
            if why is not None:
                raise UserError(why)
            unit = replace(unit, aliases=(*unit.aliases, normalize_name(a)))
            self.put(unit)
        return unit
