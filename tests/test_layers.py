"""The house layering, checked on the source: data flows down, results come back up.

widgets/ and screens/ never touch the database layer; services/, rules/ and db/ never
import Textual; rules/ are pure (their own modules, i18n, resources, the standard library
and a few pure libraries) and never read the clock. Importing a widget, a view type, an
export or the messages loads neither SQLAlchemy nor the services nor the database layer
(checked in a fresh interpreter per module). The import contracts in pyproject.toml
(``lint-imports``, run by ``make lint``) hold the same lines on the whole import graph.
"""

from __future__ import annotations

import ast
import json
import subprocess
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
    "tui_desk.domain",  # the domain's enumerations: plain Python, importing nothing
    "phonenumbers",
    "holidays",
    "dateutil",
    "opencc",  # simplified/traditional Chinese, for the SMS content check
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
    for layer in ("widgets", "screens", "views", "services", "rules", "db"):
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


# --- what an import loads -----------------------------------------------------------------

# What the UI side may import without the data layer coming along.
DATA_LAYER = ("sqlalchemy", "alembic", "tui_desk.services", "tui_desk.db")
# Imported once before the forks: neither is the data layer, and they are most of the cost.
PRELOAD = ("textual.app", "textual.widget", "rich.text")
PRELOADED = "<preloaded>"
# Run in a fresh interpreter that has imported nothing of tui_desk: each module is imported
# in a child forked from it, so every module starts from the same clean state.
_LOADED = f"""
import importlib, json, os, sys

def loaded():
    return sorted(
        name for name in sys.modules
        if any(name == p or name.startswith(p + ".") for p in {DATA_LAYER!r})
    )

for name in {PRELOAD!r}:
    importlib.import_module(name)
found = {{{PRELOADED!r}: loaded()}}
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            answer = loaded()
        except BaseException as error:
            answer = ["import failed: " + repr(error)]
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(answer))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        found[module] = json.loads(answer.read())
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


def _ui_side_modules() -> list[str]:
    names = ["tui_desk.messages", "tui_desk.formatting", "tui_desk.domain", "tui_desk.errors"]
    for layer in ("widgets", "views", "exports"):
        names.extend(_module_name(path) for path in sorted((PACKAGE / layer).glob("*.py")))
    return names


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, list[str]]:
    """For each UI-side module, the data-layer modules importing it loads (a fresh start each)."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *_ui_side_modules()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


def test_the_ui_side_modules_are_found() -> None:
    names = _ui_side_modules()
    assert {"tui_desk.views", "tui_desk.views.case", "tui_desk.widgets.queue_view"} <= set(names)
    assert "tui_desk.exports.day_sheet" in names


def test_the_preloaded_libraries_load_no_data_layer(loaded_by: dict[str, list[str]]) -> None:
    assert loaded_by[PRELOADED] == []


@pytest.mark.parametrize("module", _ui_side_modules())
def test_importing_loads_no_data_layer(module: str, loaded_by: dict[str, list[str]]) -> None:
    assert loaded_by[module] == [], f"importing {module} loads the data layer"


def test_a_data_layer_import_is_seen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, "tui_desk.services.errors", "tui_desk.views.case"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["tui_desk.services.errors"] == ["tui_desk.services", "tui_desk.services.errors"]
    # The child before it does not leak into the next one.
    assert found["tui_desk.views.case"] == []


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
