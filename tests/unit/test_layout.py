"""The package's shape: imports flow one way (no cycle anywhere in coop/), nothing but the app factory
reaches into the web layer, and an import inside a function says why it is there."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

COOP = Path(__file__).resolve().parents[2] / "coop"


def _module_name(path: Path) -> str:
    parts = path.relative_to(COOP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(COOP.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str) -> list[tuple[str, ast.stmt, bool]]:
    """(imported coop module, statement, inside a function) for every import of ``module`` that names
    a module of the package; imports under ``if TYPE_CHECKING`` are left out (they never run)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, ast.stmt, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend((a.name, child, in_function) for a in child.names if a.name in MODULES)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                for alias in child.names:
                    target = f"{source}.{alias.name}"
                    if target in MODULES:
                        found.append((target, child, in_function))
                    elif source in MODULES:
                        found.append((source, child, in_function))
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return [(target, stmt, local) for target, stmt, local in found if target != module]


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in {target for target, _, _ in GRAPH[v]}:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            strong(module)
    return found


def test_the_import_graph_has_no_cycle():
    """Counting imports made inside functions too: hiding a circle there is still a circle."""
    assert _cycles() == []


def test_only_the_app_factory_imports_the_web_layer():
    outside = sorted(f"{module} imports {target}" for module, imports in GRAPH.items()
                     for target, _, _ in imports
                     if target.startswith("coop.web") and not module.startswith("coop.web") and module != "coop")
    assert outside == []


def test_an_import_inside_a_function_says_why():
    """Only the app factory (which assembles the package) imports inside a function without a comment."""
    lines: dict[Path, list[str]] = {}
    silent = []
    for module, imports in GRAPH.items():
        if module == "coop":
            continue
        path = MODULES[module]
        source = lines.setdefault(path, path.read_text().splitlines())
        for _, stmt, local in imports:
            if local and "#" not in source[stmt.lineno - 1] and "#" not in source[stmt.lineno - 2]:
                silent.append(f"{path.relative_to(COOP.parent)}:{stmt.lineno}")
    assert sorted(set(silent)) == []


@pytest.mark.parametrize("cycle, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_a_circle_and_only_one(monkeypatch, cycle, expected):
    monkeypatch.setattr(__import__(__name__, fromlist=["GRAPH"]), "GRAPH",
                        {m: [(t, None, False) for t in targets] for m, targets in cycle.items()})
    assert _cycles() == expected
