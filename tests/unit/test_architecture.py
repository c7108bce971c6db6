"""The package's shape, checked from its source: layers, cycles, late imports, module size.

The rules (docs/architecture.md draws them):

- **Layers.** Every module belongs to one layer (``LAYER_OF``); ``MAY_IMPORT`` lists the layers
  each one may import. The ground floor, ``algorithms`` and ``domain`` import nothing above
  them; the contexts (people, law, cases, ...) import the store, the log, the unit of work,
  jobs, integrations and each other, never ``http``, ``api``, ``web``, ``cli`` or ``app``;
  ``api`` and ``web`` import ``http`` and the contexts, never each other; ``cli`` imports
  everything but ``api`` (of ``web``, only what its ``__all__`` lists, as everyone).
- **Public surfaces.** A module may import another package's submodule only if that package's
  ``__all__`` lists it: what a package does not list is its own business.
- **No cycle** between the package's modules, counting every import that runs.
- **No import inside a function** of the package's own modules (that is how cycles hide),
  and no import by name (``importlib``) but the command line's table of command modules.
- **No module past 400 lines** (migrations aside: Alembic revisions are history).

``PENDING`` lists the modules other work on issue 20 is still rewriting (empty since
``log/verify.py`` was split): each entry must still break a rule, so the list only shrinks.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "isegoria"
MAX_LINES = 400

# TODO(issue 20, coordinator): empty this list once the cli/ package and the split of
# log/verify.py are merged; every module here is rewritten by that work.
PENDING: dict[str, set[str]] = {}

GROUND = "ground"
CONTEXTS = (
    "cases",
    "connectors",
    "decisions",
    "federation",
    "identity",
    "law",
    "notes",
    "notifications",
    "ops",
    "people",
    "reports",
)
LAYER_OF = {
    "__init__": GROUND,
    "clock": GROUND,
    "clockfile": GROUND,
    "config": GROUND,
    "data": GROUND,
    "errors": GROUND,
    "i18n": GROUND,
    "password_policy": GROUND,
    "rate_rules": GROUND,
    "security": GROUND,
    "algorithms": "algorithms",
    "domain": "domain",
    "store": "store",
    "log": "log",
    "unit_of_work": "unit_of_work",
    "integrations": "integrations",
    "jobs": "jobs",
    **{context: "contexts" for context in CONTEXTS},
    "worker": "worker",
    "demo": "demo",
    "http": "http",
    "api": "api",
    "web": "web",
    "app": "app",
    "cli": "cli",
    "__main__": "cli",
}
_BELOW_CONTEXTS = {GROUND, "algorithms", "domain", "store", "log", "unit_of_work"}
MAY_IMPORT = {
    GROUND: {GROUND},
    "algorithms": {GROUND, "algorithms"},
    "domain": {GROUND, "algorithms", "domain"},
    "store": {GROUND, "store"},
    "log": {GROUND, "algorithms", "domain", "store", "log"},
    "unit_of_work": {GROUND, "store", "log", "unit_of_work"},
    "integrations": {GROUND, "algorithms", "domain", "integrations"},
    "jobs": _BELOW_CONTEXTS | {"jobs"},
    "contexts": _BELOW_CONTEXTS | {"integrations", "jobs", "contexts"},
    "worker": _BELOW_CONTEXTS | {"jobs", "contexts", "worker"},
    "demo": _BELOW_CONTEXTS | {"integrations", "jobs", "contexts", "worker", "demo"},
    "http": _BELOW_CONTEXTS | {"integrations", "contexts", "http"},
    "api": _BELOW_CONTEXTS | {"integrations", "contexts", "http", "api"},
    "web": _BELOW_CONTEXTS | {"integrations", "contexts", "http", "web"},
    "app": _BELOW_CONTEXTS | {"integrations", "jobs", "contexts", "http", "api", "web", "app"},
    # the CLI serves through app and may render what web's __all__ offers (a report as a page)
    "cli": _BELOW_CONTEXTS
    | {"integrations", "jobs", "contexts", "worker", "demo", "http", "web", "app", "cli"},
}


@dataclass(frozen=True)
class Import:
    """One import of the package's own modules, as written in a module."""

    importer: str
    imported: str  # the module imported, or the module a name was imported from
    line: int
    in_function: bool


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(src: Path = SRC) -> dict[str, Path]:
    return {
        _module_name(path, src): path
        for path in sorted((src / PACKAGE).rglob("*.py"))
        if "migrations" not in path.relative_to(src).parts
    }


MODULES = _modules()


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest module prefix of a dotted name (a name imported from a module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, modules: dict[str, Path] = MODULES) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    here = module.split(".") if is_package else module.split(".")[:-1]
                    here = here[: len(here) - child.level + 1]
                    base = ".".join([*here, base] if base else here)
                names = [f"{base}.{alias.name}" for alias in child.names]
            for name in names:
                if name.split(".")[0] == PACKAGE and (target := _resolve(name, modules)):
                    if target != module:
                        yield Import(module, target, child.lineno, in_function)
            yield from visit(child, inside)

    yield from visit(tree, False)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else "__init__"
    top = "cli" if top.startswith("cli_") else top
    return LAYER_OF[top]


def _package(module: str) -> str:
    """The package a module belongs to (a package belongs to its parent)."""
    return module.rpartition(".")[0]


def _public(package: str) -> set[str]:
    init = MODULES[package]
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def _violations() -> dict[str, set[tuple[str, str]]]:
    """Every broken rule, by module: (rule, what breaks it)."""
    out: dict[str, set[tuple[str, str]]] = {}

    def add(module: str, rule: str, detail: str) -> None:
        out.setdefault(module, set()).add((rule, detail))

    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        edges.setdefault(imp.importer, set()).add(imp.imported)
        if imp.in_function:
            add(imp.importer, "late import", f"line {imp.line}: {imp.imported}")
        low, high = _layer(imp.importer), _layer(imp.imported)
        if high not in MAY_IMPORT[low]:
            add(imp.importer, "layer", f"line {imp.line}: {low} imports {high} ({imp.imported})")
        package = _package(imp.imported)
        outside = not (imp.importer + ".").startswith(package + ".")
        if package not in ("", PACKAGE) and outside and imp.imported in MODULES:
            leaf = imp.imported.rpartition(".")[2]
            if imp.imported != package and leaf not in _public(package):
                add(imp.importer, "public surface", f"{imp.imported} is not in {package}.__all__")
    for component in _cycles(edges):
        for module in component:
            add(module, "cycle", " -> ".join(component))
    for module, path in MODULES.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            add(module, "size", f"{lines} lines")
    return out


VIOLATIONS = _violations()


@pytest.mark.parametrize("rule", ["layer", "public surface", "cycle", "late import", "size"])
def test_no_module_breaks_the_rule(rule: str) -> None:
    broken = {
        module: sorted(detail for r, detail in found if r == rule)
        for module, found in VIOLATIONS.items()
        if any(r == rule for r, _ in found) and rule not in PENDING.get(module, set())
    }
    assert broken == {}


def test_every_pending_exception_is_still_needed() -> None:
    stale = {
        module: sorted(rules - {r for r, _ in VIOLATIONS.get(module, set())})
        for module, rules in PENDING.items()
    }
    assert {module: rules for module, rules in stale.items() if rules} == {}


def test_every_top_level_module_has_a_layer() -> None:
    tops = {m.split(".")[1] for m in MODULES if "." in m}
    assert {t for t in tops if (t if not t.startswith("cli_") else "cli") not in LAYER_OF} == set()


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """A cycle, a late import and an upward import in a made-up package are all caught."""
    pkg = tmp_path / PACKAGE
    (pkg / "domain").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "domain" / "__init__.py").write_text("")
    (pkg / "domain" / "a.py").write_text("from isegoria.domain import b\n")
    (pkg / "domain" / "b.py").write_text("def f():\n    from isegoria.domain import a\n")
    (pkg / "domain" / "c.py").write_text("import isegoria.domain.a\nimport isegoria.web\n")
    modules = _modules(tmp_path)
    modules["isegoria.web"] = Path()
    found = [
        imp
        for module, path in modules.items()
        if path.name
        for imp in _imports(module, path, modules)
    ]
    assert {(i.importer, i.imported, i.in_function) for i in found} == {
        ("isegoria.domain.a", "isegoria.domain.b", False),
        ("isegoria.domain.b", "isegoria.domain.a", True),
        ("isegoria.domain.c", "isegoria.domain.a", False),
        ("isegoria.domain.c", "isegoria.web", False),
    }
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert "web" not in MAY_IMPORT["domain"]


PACKAGES = sorted(m for m, p in MODULES.items() if p.name == "__init__.py")


@pytest.mark.parametrize("package", PACKAGES)
def test_public_surface_is_sorted_and_exists(package: str) -> None:
    """As httpx tests its own: ``__all__`` is sorted and every name in it can be reached."""
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{package} states no public surface"
    assert names == sorted(names)
    for name in names:
        if not hasattr(module, name):
            importlib.import_module(f"{package}.{name}")


def _imports_by_name(path: Path) -> list[int]:
    """Lines calling ``importlib.import_module`` or ``__import__``: imports the rules miss."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append(node.lineno)
    return found


def test_only_the_command_table_imports_by_name() -> None:
    """The one import by name: ``isegoria.cli`` loads the command modules ``COMMANDS`` lists,
    all of them in the cli layer, so no rule above is dodged by it."""
    by_name = {m: lines for m, p in MODULES.items() if (lines := _imports_by_name(p))}
    assert set(by_name) == {"isegoria.cli"}
    cli = importlib.import_module("isegoria.cli")
    for group in cli.COMMANDS:
        assert f"isegoria.cli.{group.module}" in MODULES
        assert _layer(f"isegoria.cli.{group.module}") == "cli"
