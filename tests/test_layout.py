"""The code's shape (issue 14): no import circle in bot/ or plugins/, and every table has one owning module."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("alliance", "bot", "plugins", "sim")


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every Python file of the application packages."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = f
    return out


def _imports(tree: ast.AST, here: str, is_pkg: bool) -> set[str]:
    """Every module named by an import anywhere in the file (in functions and under `if TYPE_CHECKING:` too: an
    annotation-only import still ties the two modules' designs together)."""
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = here.split(".") if is_pkg else here.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            walk(child)

    walk(tree)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        named = _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
        edges = set()
        for target in named:
            # importing a.b.c runs the package a.b's __init__ first
            parts = target.split(".")
            for i in range(2, len(parts) + 1):
                mod = ".".join(parts[:i])
                if mod in mods and mod != name and not name.startswith(mod + "."):
                    edges.add(mod)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_in_bot_or_plugins() -> None:
    """No circle in alliance/, bot/, plugins/ or sim/, counting the imports under `if TYPE_CHECKING:` (issue 23)."""
    graph = _graph()
    assert "bot.config" in graph and "plugins.broadcast" in graph
    assert _cycles(graph) == []


def test_the_import_graph_counts_type_checking_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import App\n"
        "def f():\n    from . import sibling\n"
    )
    assert _imports(tree, "bot.readouts.x", False) >= {"bot.app", "bot.app.App", "bot.readouts.sibling"}


def test_the_cycle_check_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# ---------------------------------------------------------------- one name, one thing (issue 23 item 4)


def _class_homes(sources: dict[str, str]) -> dict[str, list[str]]:
    """Class name → the modules that define a class of that name, for the names defined in more than one."""
    homes: dict[str, set[str]] = {}
    for module, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                homes.setdefault(node.name, set()).add(module)
    return {name: sorted(mods) for name, mods in sorted(homes.items()) if len(mods) > 1}


def test_no_class_name_is_defined_in_two_modules() -> None:
    sources = {name: path.read_text(encoding="utf-8") for name, path in _modules().items()}
    assert "bot.outbox.reactions" in sources
    assert _class_homes(sources) == {}, "name each class for what it is, once in the project"


def test_the_name_check_finds_a_duplicate() -> None:
    sources = {
        "a": "class Reactions:\n    pass\n",
        "b.c": "def f():\n    class Reactions: ...\n",
        "d": "class OutboxReactions: ...\nclass Reactions2: ...\n",
    }
    assert _class_homes(sources) == {"Reactions": ["a", "b.c"]}


# ---------------------------------------------------------------- small classes (issue 23.2)

MAX_ATTRIBUTES = 25
# a class allowed more, and why; never add a service here (split it into named parts, as bot/outbox/ does)
MANY_ATTRIBUTES = {
    # a frozen value: one field per ALLIANCE_* key of .env (documented in .env.example), no behaviour of its own
    "bot.config.Settings",
}


def _attributes(cls: ast.ClassDef) -> set[str]:
    """The names a class's own body gives its objects: names assigned or annotated in the class body (fields,
    class constants, `ClassVar`s; not methods or dunders), and every `self.x` assigned (`=`, `: T =`, `+=`, tuple
    targets) in any of its methods."""
    names: set[str] = set()
    for stmt in cls.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        names.update(t.id for t in targets if isinstance(t, ast.Name) and not t.id.startswith("__"))
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(stmt):
                if isinstance(node, ast.Assign):
                    found = [e for t in node.targets for e in ast.walk(t)]
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                    found = [node.target]
                else:
                    continue
                names.update(
                    e.attr
                    for e in found
                    if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "self"
                )
    return names


def _crowded_classes(sources: dict[str, str], limit: int = MAX_ATTRIBUTES) -> dict[str, int]:
    """Module.Class → its number of attributes, for the classes over `limit`. A class counts what its project base
    classes give it too (a base found by name among `sources`' classes): attributes spread over mixins are still
    one object's."""
    own: dict[str, set[str]] = {}
    bases: dict[str, list[str]] = {}
    where: dict[str, str] = {}
    for module, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                own[node.name] = _attributes(node)
                bases[node.name] = [ast.unparse(b).split(".")[-1].split("[")[0] for b in node.bases]
                where[node.name] = f"{module}.{node.name}"

    def every(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        out = set(own[name])
        for b in bases[name]:
            if b in own and b not in seen:
                out |= every(b, seen | {name})
        return out

    counts = {where[c]: len(every(c)) for c in own}
    return {c: n for c, n in sorted(counts.items()) if n > limit}


def test_no_class_in_bot_has_more_than_about_25_attributes() -> None:
    """Issue 23.2: a service that has grown holds named parts (bot/outbox/, bot/broadcasts/), not 45 attributes."""
    sources = {name: path.read_text(encoding="utf-8") for name, path in _modules().items() if _in(name, "bot")}
    crowded = _crowded_classes(sources)
    assert set(crowded) == MANY_ATTRIBUTES, f"split these into named parts: {crowded}"


def test_the_class_size_check_counts_fields_self_and_bases() -> None:
    sources = {
        "a": "class Base:\n    x: int\n    y = 1\n    def f(self):\n        self.z = 1\n",
        "b": (
            "from a import Base\n"
            "class Big(Base):\n    __slots__ = ()\n    def g(self):\n        self.u, self.v = 1, 2\n"
            "        self.w: int = 3\n        self.w += 1\n        other.q = 1\n    def h(self): ...\n"
            "class Small:\n    def __init__(self):\n        self.a = 1\n"
        ),
    }
    assert _crowded_classes(sources, limit=5) == {"b.Big": 6}
    assert _crowded_classes(sources, limit=2) == {"a.Base": 3, "b.Big": 6}


# the task services hold their shared work as parts (bot/tasks.py `TaskEngine`, `TaskBook`), not as a base class
SERVICES_OF_PARTS = {"bot.broadcasts.service": "Broadcasts", "bot.returns.service": "Returns"}


def test_the_task_services_inherit_nothing() -> None:
    """Issue 23.2: following a call on `Broadcasts` or `Returns` never dead-ends in a base class that gets its
    attributes from a subclass; `TaskService` is only the Protocol reports see."""
    mods = _modules()
    for module, name in SERVICES_OF_PARTS.items():
        tree = ast.parse(mods[module].read_text(encoding="utf-8"))
        cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name)
        assert cls.bases == [], f"{module}.{name} inherits {[ast.unparse(b) for b in cls.bases]}"
    tasks = ast.parse(mods["bot.tasks"].read_text(encoding="utf-8"))
    service = next(n for n in ast.walk(tasks) if isinstance(n, ast.ClassDef) and n.name == "TaskService")
    assert [ast.unparse(b) for b in service.bases] == ["Protocol"]


# ---------------------------------------------------------------- parts, not mixins (issue 23.2)

# a class in bot/ may still be built on another project class here, and why (never a service: give it named parts)
SUBCLASSES = {
    # a kind of message: the reply code tells an acknowledgement (sent as a reaction where it can) from a message by type
    "bot.render.Ack": "bot.render.Msg",
}
_ENUMS = {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"}


def _is_frozen_dataclass(node: ast.ClassDef) -> bool:
    for d in node.decorator_list:
        if isinstance(d, ast.Call) and ast.unparse(d.func).split(".")[-1] == "dataclass":
            if any(k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value for k in d.keywords):
                return True
    return False


def _mixins(sources: dict[str, str]) -> list[str]:
    """Classes built from other project classes, and classes that use attributes they never set (a mixin waiting
    for the class it is mixed into). `sources`: module → text, the modules of one tree (names are unique there).

    A class may name another class of `sources` as its base only when that base is an exception, a `Protocol` or an
    enum (directly or through other project classes), or the class is a frozen dataclass (a value: it holds no
    services, so all a base can give it is words about its own fields), or it is listed in SUBCLASSES. A class
    with no base from outside `sources` (a library class may set what it reads) must set or define every
    `self.x` it reads: in its body (methods, constants, fields) or in an assignment to `self.x` in a method.
    """
    classes: dict[str, tuple[str, ast.ClassDef]] = {}
    for module, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (module, node)

    def base_names(node: ast.ClassDef) -> list[str]:
        return [ast.unparse(b).split(".")[-1].split("[")[0] for b in node.bases]

    def roots(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """The outside classes (library or builtin) a project class stands on, through its project bases."""
        out: set[str] = set()
        for b in base_names(classes[name][1]):
            if b in classes and b not in seen:
                out |= roots(b, seen | {name})
            elif b not in classes:
                out.add(b)
        return out

    def allowed_base(base: str) -> bool:
        found = roots(base)
        exception = any(
            isinstance(t := getattr(builtins, r, None), type) and issubclass(t, BaseException) for r in found
        )
        return exception or "Protocol" in found or bool(found & _ENUMS)

    out = []
    for name, (module, node) in sorted(classes.items(), key=lambda kv: f"{kv[1][0]}.{kv[0]}"):
        here = f"{module}.{name}"
        for b in base_names(node):
            if b in classes and not allowed_base(b) and not _is_frozen_dataclass(node):
                if SUBCLASSES.get(here) != f"{classes[b][0]}.{b}":
                    out.append(f"{here} inherits {classes[b][0]}.{b}")
        if any(b not in classes and b != "object" for b in base_names(node)):
            continue  # a library's base may set what it reads
        defined = set(_attributes(node))
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined.add(stmt.name)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                defined.add(stmt.target.id)
        stack = [b for b in base_names(node) if b in classes]
        while stack:  # what the permitted project bases give
            b = stack.pop()
            base = classes[b][1]
            defined |= _attributes(base) | {
                s.name for s in base.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
            stack += [x for x in base_names(base) if x in classes]
        read = {
            n.attr
            for n in ast.walk(node)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
        }
        if missing := sorted(read - defined):
            out.append(f"{here} uses {', '.join('self.' + m for m in missing)} but never sets them")
    return out


def test_no_class_in_bot_or_plugins_is_built_from_mixins() -> None:
    """Issue 23.2: a service holds named parts with public methods (bot/followers/, bot/broadcasts/, bot/outbox/),
    so following a call never dead-ends in a base class that gets `self.units` from the class it is mixed into."""
    sources = {
        name: path.read_text(encoding="utf-8")
        for name, path in _modules().items()
        if _in(name, "bot") or _in(name, "plugins")
    }
    assert "bot.followers.service" in sources and "plugins.dashboard.web" in sources
    assert _mixins(sources) == []


def test_the_mixin_check_finds_bases_and_borrowed_attributes() -> None:
    sources = {
        "a": (
            "class Rankings:\n    async def ranking(self):\n        return await self.units.all()\n"
            "class Followers(Rankings):\n    def __init__(self, units):\n        self.units = units\n"
            "class Watch:\n    def __init__(self, db):\n        self.db = db\n"
            "    def stale(self):\n        return self.db, self.stale, self.LIMIT, self.name\n"
            "    LIMIT = 3\n    name: str\n"
        ),
        "b": (
            "from enum import Enum\nfrom typing import Protocol\nfrom dataclasses import dataclass\n"
            "from html.parser import HTMLParser\n"
            "class Oops(ValueError): ...\nclass Worse(Oops): ...\n"
            "class Kind(str, Enum):\n    A = 'a'\nclass Special(Kind): ...\n"
            "class Service(Protocol):\n    def f(self) -> int: ...\nclass Real(Service):\n    def f(self):\n        return 1\n"
            "class Record:\n    id: int\n    @property\n    def label(self):\n        return f'#{self.id}'\n"
            "@dataclass(frozen=True)\nclass Task(Record):\n    id: int\n"
            "class Task2(Record): ...\n"
            "class Parser(HTMLParser):\n    def f(self):\n        return self.rawdata\n"
        ),
    }
    assert _mixins(sources) == [
        "a.Followers inherits a.Rankings",
        "a.Rankings uses self.units but never sets them",
        "b.Task2 inherits b.Record",
    ]


# ---------------------------------------------------------------- one owner for every table

# table → the module (or package) that owns it: the only one whose SQL may write it, and (but for SHARED_READS)
# read it.
OWNERS = {
    "units": "bot.units",
    "unit_aliases": "bot.units",
    "operators": "bot.units",
    "applications": "bot.units",
    "accounts": "bot.accounts",
    "filings": "bot.accounts",
    "outbox": "bot.outbox",
    "group_accounts": "bot.outbox",
    "outbox_aliases": "bot.outbox",
    "audit": "bot.audit",
    "reminders": "bot.reminders",
    "broadcasts": "bot.broadcasts",
    "broadcast_units": "bot.broadcasts",
    "broadcast_posts": "bot.broadcasts",
    "broadcast_confirmations": "bot.broadcasts",
    "returns": "bot.returns",
    "return_units": "bot.returns",
    "return_files": "bot.returns",
    "return_rows": "bot.returns",
    "return_handups": "bot.returns",
    "follower_reports": "bot.followers",
    "follower_monthly": "bot.followers",
    "post_reports": "bot.followers",
    "stale_warnings": "bot.followers",
    "group_seen": "bot.history",
    "appointed_admins": "bot.roles",
    "city_groups": "bot.units",
}
# modules that write an owner's tables on its behalf, as part of the same feature
HELPERS = {"bot.roster": "bot.units"}  # the roster import is the units feature's bulk writer
# tables other modules may read (never write) by JOIN, and why
SHARED_READS = {
    # every feature reports against the roster: a unit's name, category and whether it was deleted
    "units": {"*"},
    # follower counts hang off accounts; rankings aggregate both in one statement
    "accounts": {"bot.followers"},
}

_WRITE = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
_READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.IGNORECASE)
_SQL = re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE)\b")


def _sql_texts(tree: ast.AST) -> list[str]:
    """The SQL a module holds: string constants and the literal parts of f-strings that look like SQL."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = " ".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if _SQL.search(text):
            out.append(text)
    return out


_DDL = re.compile(
    r"CREATE TABLE (?:IF NOT EXISTS )?(?P<create>\w+)|DROP TABLE (?:IF EXISTS )?(?P<drop>\w+)"
    r"|ALTER TABLE (?P<old>\w+) RENAME TO (?P<new>\w+)",
    re.IGNORECASE,
)


def _tables() -> set[str]:
    """The tables the migrations leave, replayed in order (a table rebuilt as x_new and renamed is x)."""
    found: set[str] = set()
    for f in sorted((ROOT / "bot" / "migrations").glob("*.sql")):
        for m in _DDL.finditer(f.read_text(encoding="utf-8")):
            if m["create"]:
                found.add(m["create"])
            elif m["drop"]:
                found.discard(m["drop"])
            else:
                found.discard(m["old"])
                found.add(m["new"])
    return found


def _owns(module: str, table: str) -> bool:
    owner = OWNERS.get(table, "?")
    module = next((o for h, o in HELPERS.items() if module == h or module.startswith(h + ".")), module)
    return module == owner or module.startswith(owner + ".")


def _trespasses() -> list[str]:
    tables = _tables()
    out = []
    for name, path in _modules().items():
        for sql in _sql_texts(ast.parse(path.read_text(encoding="utf-8"))):
            for t in set(_WRITE.findall(sql)) & tables:
                if not _owns(name, t):
                    out.append(f"{name} writes {t} (owned by {OWNERS.get(t)})")
            for t in set(_READ.findall(sql)) & tables:
                readers = SHARED_READS.get(t, set())
                if not _owns(name, t) and "*" not in readers and not any(_in(name, r) for r in readers):
                    out.append(f"{name} reads {t} (owned by {OWNERS.get(t)})")
    return sorted(set(out))


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_table_has_one_owner() -> None:
    assert _tables() == set(OWNERS)


def test_no_module_touches_a_table_it_does_not_own() -> None:
    assert _trespasses() == []


# issue 14: "no file there over ~500 lines"; a little over is tolerated, a file doing two jobs is not
MAX_LINES = 520


def test_no_file_in_bot_or_plugins_is_over_about_500_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for top in ("bot", "plugins")
        for p in sorted((ROOT / top).rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by job: {long}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _reachable(module: str, target: str) -> bool:
    """Whether `module` may name the dotted `target`: every underscore part of it is a private module (or package)
    of a package `module` is inside (`plugins._kit` from `plugins.help`, not from `bot.app`)."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if _private(part) and not _in(module, ".".join(parts[:i])) if i else _private(part):
            return False
    return True


def _private_reaches(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """Where a module reaches another module's underscore name. `sources`: module → (text, is a package).

    Counted: `from x import _y` (relative imports too) and `x._y` on a name bound to a project module, where x is
    another module; `self.part._y`, a part's private attribute reached through the object holding it; and any
    import of a private module from outside its package. Not counted: dunder names; a private module
    (`plugins/_kit.py`) imported from inside its own package, which is what the underscore means there.
    """
    out = []
    for here, (text, is_pkg) in sources.items():
        tree = ast.parse(text)
        bound: dict[str, str] = {}  # local name → the project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if not _reachable(here, a.name):
                        out.append(f"{here}: import {a.name}")
                    bound[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".") if is_pkg else here.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                if not _reachable(here, base):
                    out.append(f"{here}: from {base} import ...")
                for a in node.names:
                    full = f"{base}.{a.name}"
                    if full in sources:  # a module, not a name defined in one
                        if not _reachable(here, full):
                            out.append(f"{here}: from {base} import {a.name}")
                        bound[a.asname or a.name] = full
                    elif _private(a.name) and base != here:
                        out.append(f"{here}: from {base} import {a.name}")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            owner = node.value
            if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self":
                out.append(f"{here}:{node.lineno}: {ast.unparse(node)}")
                continue
            chain = ast.unparse(owner).split(".")
            if not all(c.isidentifier() for c in chain) or chain[0] not in bound:
                continue
            module = ".".join([bound[chain[0]], *chain[1:]])
            if module in sources and module != here and not _reachable(here, f"{module}.{node.attr}"):
                out.append(f"{here}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(out))


def test_no_module_reaches_another_modules_private_name() -> None:
    """Issue 23.2: nothing in alliance/, bot/, plugins/ or sim/ imports or reads an underscore name of another module:
    a name needed elsewhere is public API, named as such. tests/ may (they set up states and look inside on purpose)
    and are not scanned."""
    sources = {
        name: (path.read_text(encoding="utf-8"), path.name == "__init__.py") for name, path in _modules().items()
    }
    assert "bot.outbox.service" in sources and "plugins._files" in sources
    assert _private_reaches(sources) == []


def test_the_private_name_check_finds_every_reach() -> None:
    found = _private_reaches(
        {
            "a": ("_x = 1\n__all__ = []\n", False),
            "b": ("from a import _x, __all__\n", False),
            "p": ("", True),
            "p._inner": ("", False),
            "p.c": ("from . import _inner\nfrom ._inner import y\nfrom .d import _z\nimport a\na._x\n", False),
            "p.d": (
                "_z = 1\nfrom .d import _z\n\nclass S:\n    def f(self):\n        self._own\n        self.part._its\n",
                False,
            ),
            "q": ("from p import _inner\nimport p._inner as i\nimport a as b\nb._x\nb.__name__\n", False),
        }
    )
    assert found == [
        "b: from a import _x",
        "p.c: from p.d import _z",
        "p.c:5: a._x",
        "p.d:7: self.part._its",
        "q: from p import _inner",
        "q: import p._inner",
        "q:4: b._x",
    ]


# ---------------------------------------------------------------- the read side takes services, not the App


def _importing_app(sources: dict[str, str]) -> set[str]:
    """The modules (name → source) that import bot.app anywhere, under `if TYPE_CHECKING:` and in functions too."""
    out = set()
    for module, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(n == "bot.app" or n.startswith("bot.app.") for n in names):
                out.add(module)
    return out


def test_no_readout_imports_the_app() -> None:
    """Issue 23.1: a readout takes the services it reads, never the whole App (whose module builds them all), not
    even for annotations."""
    readouts = {p.stem: p.read_text(encoding="utf-8") for p in sorted((ROOT / "bot" / "readouts").glob("*.py"))}
    assert {"reports", "exports", "workbooks", "query", "monthly"} <= set(readouts)
    assert _importing_app(readouts) == set()


def test_the_app_check_finds_an_annotation_import() -> None:
    sources = {
        "a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import App\n",
        "b": "def f():\n    import bot.app\n",
        "c": "from bot import app\n",
        "d": "from bot.apps import x\nfrom bot.units.service import Units\n",
    }
    assert _importing_app(sources) == {"a", "b", "c"}
