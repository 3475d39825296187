"""The code's layers (libs ← services ← emulator, ops, stacks ← deploy_checks, bench, loadtests);
no cycles."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each top-level package may import from the repository, besides itself.
MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "libs": frozenset(),
    "services": frozenset({"libs"}),
    "ops": frozenset({"libs"}),
    # The document joins the route declaration with each service's contract.
    "api_document": frozenset({"libs", "services"}),
    "emulator": frozenset({"libs", "services", "api_document"}),
    "stacks": frozenset({"libs", "services"}),
    # Synthesizes with stacks, runs the result against the emulator.
    "deploy_checks": frozenset({"libs", "services", "emulator", "stacks"}),
    # The bench prices its requests with the load test's cost model (loadtests.cost).
    "bench": frozenset({"libs", "services", "emulator", "ops", "stacks", "loadtests"}),
    "loadtests": frozenset({"libs", "services", "emulator", "ops"}),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.Module) -> Iterator[str]:
    """Every module a file imports at run time (``if TYPE_CHECKING:`` blocks left out)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module → the repository's modules it imports."""
    files = {module_name(path): path for top in MAY_IMPORT for path in (ROOT / top).rglob("*.py")}
    return {
        module: {
            target
            for target in imported_modules(ast.parse(path.read_text()))
            if target in files and target != module
        }
        for module, path in files.items()
    }


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``, each as the modules around it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_each_package_imports_only_the_layers_below_it() -> None:
    # Given the repository's import graph
    graph = import_graph()
    # When each import that crosses packages is checked against the layers
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if (top := target.split(".")[0]) != module.split(".")[0]
        and top not in MAY_IMPORT[module.split(".")[0]]
    )
    # Then none goes up or sideways
    assert crossing == []


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_a_cycle_is_found(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected
