"""The house layering, checked on the source: data flows down, results come back up.

widgets/ and screens/ never touch the database layer; services/, rules/ and db/ never
import Textual; rules/ are pure (their own modules, i18n, resources, the standard library
and a few pure libraries) and never read the clock.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tui_desk

PACKAGE = Path(tui_desk.__file__).parent

RULES_MAY_IMPORT = (
    "tui_desk.rules",
    "tui_desk.i18n",
    "tui_desk.resources",
    "phonenumbers",
    "holidays",
    "dateutil",
    "babel",
)
# Known departures, each to be removed, not added to. A stale entry fails the test.
RULES_EXCEPTIONS: set[tuple[str, str]] = set()
CLOCK_ATTRIBUTES = {"now", "utcnow", "today"}
TIME_FUNCTIONS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "localtime"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str
    # For ``from X import a, b``: "X.a", "X.b" (a name may be a submodule).
    names: tuple[str, ...]

    def candidates(self) -> tuple[str, ...]:
        return (self.module, *self.names)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(path: Path, source: str | None = None) -> Iterator[Import]:
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, ())
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            names = tuple(f"{module}.{alias.name}" for alias in node.names)
            yield Import(path, node.lineno, module, names)


def clock_reads_in(source: str) -> list[int]:
    """Lines that read the wall clock (datetime.now(), date.today(), time.time(), ...)."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.module == "time" and any(a.name in TIME_FUNCTIONS for a in node.names):
                found.append(node.lineno)
            continue
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, base = node.func.attr, node.func.value
        on_time_module = isinstance(base, ast.Name) and base.id == "time"
        if attr in CLOCK_ATTRIBUTES or (attr in TIME_FUNCTIONS and on_time_module):
            found.append(node.lineno)
    return found


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _sources(*layers: str) -> list[Path]:
    paths: list[Path] = []
    for layer in layers:
        paths.extend(sorted((PACKAGE / layer).rglob("*.py")))
    return paths


def _violations(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{imp.path.relative_to(PACKAGE.parent)}:{imp.line} imports {imp.module}"
        for path in paths
        for imp in imports_in(path)
        if any(_matches(name, forbidden) for name in imp.candidates())
    ]


def test_the_layers_exist() -> None:
    for layer in ("widgets", "screens", "services", "rules", "db"):
        assert (PACKAGE / layer / "__init__.py").exists(), layer
    assert _sources("rules", "services", "db")


def test_ui_never_imports_the_database_layer() -> None:
    assert _violations(_sources("widgets", "screens"), ("tui_desk.db", "sqlalchemy")) == []


def test_data_layers_never_import_textual() -> None:
    assert _violations(_sources("services", "rules", "db"), ("textual",)) == []


def _rules_import_allowed(imp: Import) -> bool:
    if imp.module.partition(".")[0] in sys.stdlib_module_names:
        return True
    return any(_matches(name, RULES_MAY_IMPORT) for name in imp.candidates())


def test_rules_import_only_pure_modules() -> None:
    violations: set[tuple[str, str]] = set()
    where: list[str] = []
    for path in _sources("rules"):
        for imp in imports_in(path):
            if not _rules_import_allowed(imp):
                violations.add((path.name, imp.module))
                where.append(f"rules/{path.name}:{imp.line} imports {imp.module}")
    assert violations - RULES_EXCEPTIONS == set(), where
    assert RULES_EXCEPTIONS - violations == set(), "stale exception: remove it from the list"


def test_rules_never_read_the_clock() -> None:
    reads = {
        f"rules/{path.name}": lines
        for path in _sources("rules")
        if (lines := clock_reads_in(path.read_text(encoding="utf-8")))
    }
    assert reads == {}


# --- the checker itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import datetime\nx = datetime.datetime.now()\n",
        "import datetime as dt\nx = dt.date.today()\n",
        "from datetime import datetime\nx = datetime.utcnow()\n",
        "import time\nx = time.time()\n",
        "from time import monotonic\n",
    ],
)
def test_clock_reads_are_detected(source: str) -> None:
    assert clock_reads_in(source) != []


def test_clock_free_code_passes() -> None:
    assert clock_reads_in("import datetime as dt\nx = dt.date(2026, 1, 1)\n") == []


def test_relative_and_from_imports_are_resolved() -> None:
    path = PACKAGE / "widgets" / "example.py"
    found = list(imports_in(path, "from ..db import models\nfrom . import formatting\n"))
    assert _violations_from(found, ("tui_desk.db",)) == ["tui_desk.db"]
    assert found[1].names == ("tui_desk.widgets.formatting",)


def _violations_from(found: list[Import], forbidden: tuple[str, ...]) -> list[str]:
    return [imp.module for imp in found if any(_matches(n, forbidden) for n in imp.candidates())]
