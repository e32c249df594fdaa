"""No import circles inside the package.

A circle makes import order matter and hides layering: each module in it can only be
understood, tested or moved with all the others. The graph is read from the source, so an
import inside a function or an ``if TYPE_CHECKING:`` block counts too: deferring an import
hides a circle from the interpreter, it does not remove it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import tui_desk

PACKAGE = Path(tui_desk.__file__).parent
# Alembic revisions are loaded by Alembic from their files, never imported by the package.
EXCLUDED = (PACKAGE / "db" / "migrations" / "versions",)

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(path.is_relative_to(excluded) for excluded in EXCLUDED):
            continue
        modules[module_name(path)] = path
    return modules


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of the package's modules."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(path: Path, name: str) -> Iterator[str]:
    """Every dotted name an import statement anywhere in the file refers to.

    ``from X import a`` yields ``X`` and ``X.a`` (``a`` may be a submodule); relative
    imports are resolved against the module's package.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            yield module
            for alias in node.names:
                yield f"{module}.{alias.name}"


def import_graph(modules: Mapping[str, Path]) -> Graph:
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in imported_names(path, name):
            target = _known(imported, modules)
            if target is not None and target != name:
                graph[name].add(target)
    return graph


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, iteratively (the graph is deep enough to matter)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle(graph: Mapping[str, set[str]], members: list[str]) -> list[str]:
    """One shortest circle through the component's first module, for the failure message."""
    inside = set(members)
    start = members[0]
    paths: dict[str, list[str]] = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for successor in sorted(graph[node] & inside):
                if successor == start:
                    return [*paths[node], start]
                if successor not in paths:
                    paths[successor] = [*paths[node], successor]
                    following.append(successor)
        frontier = following
    return members


def circles() -> list[str]:
    """Every circle as a line of text."""
    graph = import_graph(package_modules())
    found: list[str] = []
    for component in strongly_connected(graph):
        if len(component) > 1:
            cycle = " -> ".join(shortest_cycle(graph, component))
            found.append(f"{len(component)} modules {component}; e.g. {cycle}")
    return found


def test_the_graph_sees_deferred_and_relative_imports(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from tui_desk.services.errors import NotFound\n"
        "def later() -> None:\n"
        "    import tui_desk.clock\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    names = set(imported_names(path, "tui_desk.services.probe"))
    assert {
        "tui_desk.services.sibling",
        "tui_desk.services.errors.NotFound",
        "tui_desk.clock",
    } <= names
    modules = package_modules()
    assert _known("tui_desk.services.errors.NotFound", modules) == "tui_desk.services.errors"
    assert not any("migrations.versions" in name for name in modules)


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
    assert shortest_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_circles() -> None:
    found = circles()
    assert not found, "import circles:\n" + "\n".join(found)
