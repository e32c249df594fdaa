"""What the desk loads before its first frame, and how it sets up the collector.

The desk is started as an operator starts it, in a real pseudo-terminal at 160x50; once
the queue's rows are on screen it is asked (SIGUSR1, handled by a few lines run before the
desk) to write down the modules it has imported and its collector settings. What only a
later key needs (PDF export, schema upgrades, HTTP clients, reports, the seeder, the
holidays package) must not be among the modules: it is loaded on first use.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.services.meta import set_meta

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

# Top-level packages (or modules) the first frame must do without.
FORBIDDEN = (
    "fpdf",
    "fontTools",
    "PIL",
    "defusedxml",
    "alembic",
    "mako",
    "httpx",
    "httpcore",
    "click",
    "unittest",
    "tui_desk.exports.agreement_pdf",
    "tui_desk.exports.fonts",
    "tui_desk.services.reports",
    "tui_desk.services.importer",
    "tui_desk.services.consistency",
    "tui_desk.integrations.sms_gateway",
    "tui_desk.demo",
    "tui_desk.db.migrations",
    "tui_desk.screens.supervisor",
    "tui_desk.screens.reports",
    # the forms open on a key: each is imported when first opened
    "tui_desk.screens.adjustment_modals",
    "tui_desk.screens.agreement_modals",
    "tui_desk.screens.casework_modals",
    "tui_desk.screens.complaint_modal",
    "tui_desk.screens.contact_modal",
    "tui_desk.screens.dial_modal",
    "tui_desk.screens.followup_modal",
    "tui_desk.screens.plan_modals",
    "tui_desk.screens.sms_modal",
    "tui_desk.screens.state_modals",
    "tui_desk.screens.visit_modals",
    "holidays",  # the office's countries are shipped tables (rules/holiday_tables)
    "babel",  # amounts and times in the interface's languages need no locale data
)

_PROBE = """\
import gc, json, signal, sys
def _report(signum, frame):
    with open({out!r}, "w", encoding="utf-8") as f:
        json.dump({{"modules": sorted(sys.modules), "threshold": gc.get_threshold(),
                   "frozen": gc.get_freeze_count(), "enabled": gc.isenabled(),
                   "collections": [g["collections"] for g in gc.get_stats()]}}, f)
signal.signal(signal.SIGUSR1, _report)
sys.argv = ["tui-desk", *{args!r}]
from tui_desk.cli import main
raise SystemExit(main())
"""

_TERMINAL_ENV = {"TERM": "xterm-256color", "COLORTERM": "", "LANG": "C.UTF-8", "PATH": "/usr/bin"}


def first_frame_report(db: Database, tmp_path: Path, *, settled: bool = False) -> dict[str, Any]:
    """Start the desk in a pty, wait for queue rows on screen, return what it reported
    then (``settled``: once the collector is settled, just after that frame)."""
    make = Factory(db, now=utcnow())
    operator = make.agent(login="op", name="王小明")
    for i in range(5):
        make.case(name=f"张{i}", priority=900 - i, owner_id=operator)
    set_meta(db, "demo", "1", now=utcnow())  # --agent is honoured on a demo database
    url = db.url.render_as_string(hide_password=False)
    out = tmp_path / "first-frame.json"
    args = ["--db", url, "--agent", "op", "--lang", "en", "run"]
    child = pexpect.spawn(
        sys.executable,
        ["-c", _PROBE.format(out=str(out), args=args)],
        dimensions=(50, 160),
        env=_TERMINAL_ENV,
        encoding="utf-8",
        codec_errors="replace",
        timeout=5,
    )
    try:
        child.expect_exact("rows 1-", timeout=90)  # the queue's status line: rows are shown
        # The collector is settled just after the frame that showed the rows: ask until
        # the report says so (or the wait runs out and the test says what it saw).
        for _ in range(50 if settled else 1):
            out.unlink(missing_ok=True)
            child.kill(10)  # SIGUSR1
            deadline = time.monotonic() + 30
            while not out.exists() and time.monotonic() < deadline:
                with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                    child.read_nonblocking(65536, timeout=0.1)
            with contextlib.suppress(ValueError):  # read while it was being written
                if not settled or json.loads(out.read_text(encoding="utf-8")).get("enabled"):
                    break
            time.sleep(0.1)
        child.send("q")
        deadline = time.monotonic() + 15
        while child.isalive() and time.monotonic() < deadline:
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                child.read_nonblocking(65536, timeout=0.1)
    finally:
        if child.isalive():
            child.terminate(force=True)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(report, dict)
    return report


def _loaded(modules: list[str], name: str) -> list[str]:
    return [m for m in modules if m == name or m.startswith(name + ".")]


def test_first_frame_loads_only_what_it_needs(sqlite_db: Database, tmp_path: Path) -> None:
    report = first_frame_report(sqlite_db, tmp_path)
    modules = report["modules"]
    assert isinstance(modules, list)
    print(len(modules), sorted({m.split(".")[0] for m in modules}))
    loaded = {name: _loaded(modules, name) for name in FORBIDDEN}
    assert {name: found[:3] for name, found in loaded.items() if found} == {}
    # The collector is off from the moment the command line says "the desk" (before the
    # database layer and Textual are imported) until the first frame: a handful of young
    # collections at most (the interpreter's own start), where it once ran about 200.
    collections = report["collections"]
    print("collections before the first frame", collections)
    assert collections[2] == 0
    assert sum(collections) < 60


def test_after_the_first_frame_the_collector_is_settled(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """What exists at the first frame is frozen (never walked again by the collector) and
    the collector runs with the desk's thresholds."""
    from tui_desk.collector import THRESHOLD

    report = first_frame_report(sqlite_db, tmp_path, settled=True)
    assert report["enabled"] is True
    assert tuple(report["threshold"]) == THRESHOLD
    frozen = report["frozen"]
    assert isinstance(frozen, int) and frozen > 50_000


def test_every_case_form_the_desk_names_is_a_case_form() -> None:
    """The case forms are named, not imported, by the desk's keys: each name resolves."""
    from tui_desk.screens.casework_modals import CaseFormModal
    from tui_desk.screens.desk.case_actions import CaseActions, form_class

    for name, (module, cls) in CaseActions.FORMS.items():
        assert issubclass(form_class(module, cls), CaseFormModal), name
    assert len(CaseActions.FORMS) == 14
