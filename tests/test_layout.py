"""The code's shape (issue 14): no import circle in bot/ or plugins/, and every table has one owning module."""

from __future__ import annotations

import ast
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


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, here: str, is_pkg: bool) -> set[str]:
    """Every module named by an import anywhere in the file (in functions too), except under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
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
    graph = _graph()
    assert "bot.config" in graph and "plugins.broadcast" in graph
    assert _cycles(graph) == []


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


def _underscore_imports(pkgs: tuple[str, ...]) -> list[str]:
    """`from bot.x import _name` in the modules of these packages: a private name reached from another module."""
    out = []
    for pkg in pkgs:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
                    out += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names if a.name.startswith("_")]
    return out


def test_the_services_made_of_parts_import_no_private_name() -> None:
    """Issue 23.2: the outbox, 统发 and 报送 are services holding named parts with public methods; none of their
    modules imports an underscore name of another module."""
    assert _underscore_imports(("bot/outbox", "bot/broadcasts", "bot/returns")) == []


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
