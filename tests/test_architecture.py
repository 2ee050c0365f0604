"""The layers hold: data/ never imports a layer above it, the shared core imports no domain, no module
imports itself back (imports inside functions included), SQL lives in data/ and migrations/ only, and
no module grows past the size a reader can hold (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from data.core.settings import ROOT

USES_DATABASE = False
LAYERS = ("app", "pages", "callbacks", "components", "routes", "jobs", "data")
ABOVE_DATA = ("app", "pages", "callbacks", "components", "routes", "jobs")
MAX_LINES = 600
SQL = re.compile(r"\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|TRUNCATE\s+\w|CREATE\s+TABLE)")


def _modules() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for layer in LAYERS[1:]:
        for path in (ROOT / layer).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The project module an imported name resolves to (a submodule when it is one, else its package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every project module ``module`` imports, at the top or inside a function (relative imports too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(_target(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            source = ".".join(part for part in (base, node.module) if part)
            found.update(_target(f"{source}.{alias.name}") for alias in node.names)
    return {m for m in found if m and m != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> str:
    return module.partition(".")[0]


def test_data_never_imports_a_layer_above_it():
    upward = sorted(
        f"{m} -> {t}" for m, targets in GRAPH.items() if _layer(m) == "data" for t in targets if _layer(t) in ABOVE_DATA
    )
    assert upward == []


def test_the_core_imports_no_domain():
    inward = sorted(
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if m.startswith("data.core")
        for t in targets
        if _layer(t) == "data" and not t.startswith("data.core") and t != "data"
    )
    assert inward == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
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
                result.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return result


def test_no_import_cycles():
    assert _cycles() == []


def _domain(module: str) -> str:
    return ".".join(module.split(".")[:2]) if module.startswith("data.") else _layer(module)


def test_no_two_domains_import_each_other():
    edges = {(_domain(m), _domain(t)) for m, targets in GRAPH.items() for t in targets if _domain(m) != _domain(t)}
    assert sorted(e for e in edges if (e[1], e[0]) in edges) == []


def test_the_cycle_finder_finds_a_cycle():
    GRAPH["data.core.db"].add("data.core.settings")
    GRAPH["data.core.settings"].add("data.core.db")
    try:
        assert ["data.core.db", "data.core.settings"] in _cycles()
    finally:
        GRAPH["data.core.settings"].discard("data.core.db")


def test_sql_lives_in_data_only():
    outside = sorted(
        f"{path.relative_to(ROOT)}:{number}"
        for module, path in MODULES.items()
        if _layer(module) in ABOVE_DATA
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQL.search(line) and not line.lstrip().startswith("#")
    )
    assert outside == []


def test_no_module_is_longer_than_a_reader_can_hold():
    long = sorted(
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in MODULES.values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    )
    assert long == []
