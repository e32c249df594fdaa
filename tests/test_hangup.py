"""Over SSH the terminal can vanish at any moment. The desk runs in a real pseudo-terminal
(as sshd gives it one), takes a case with a key, and the terminal is hung up: the process
must be gone within seconds, its lease released, its presence signed off, and what it
committed still there."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, cast

import pexpect
import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import AgentPresence, AuditEvent, CollectionCase
from tui_desk.services.meta import set_meta

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def _wait(
    condition: Callable[[], bool], what: str, child: pexpect.spawn[str], seconds: float
) -> None:
    """Poll ``condition`` while draining the desk's output (a full pty would block it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
            child.read_nonblocking(65536, timeout=0.1)
        if condition():
            return
    raise AssertionError(f"{what} within {seconds} s")


def _lease_holder(db: Database, case_id: int) -> int | None:
    with db.read() as s:
        return s.scalar(select(CollectionCase.lease_holder_id).where(CollectionCase.id == case_id))


def _online(db: Database, agent_id: int) -> bool:
    with db.read() as s:
        return s.get(AgentPresence, agent_id) is not None


def test_hang_up_ends_the_desk_and_frees_its_case(sqlite_db: Database) -> None:
    make = Factory(sqlite_db, now=utcnow())
    operator = make.agent(login="op", name="王小明")
    case_id = make.case(name="张三", priority=900, owner_id=operator)
    set_meta(sqlite_db, "demo", "1", now=utcnow())  # --agent is honoured on a demo database
    url = sqlite_db.url.render_as_string(hide_password=False)

    child = pexpect.spawn(
        sys.executable,
        ["-m", "tui_desk", "--db", url, "--agent", "op", "--lang", "en", "run"],
        dimensions=(24, 80),
        env={"TERM": "xterm-256color", "COLORTERM": "", "LANG": "C.UTF-8", "PATH": "/usr/bin"},
        encoding="utf-8",
        codec_errors="replace",
        timeout=5,
    )
    try:
        _wait(lambda: _online(sqlite_db, operator), "the desk did not open", child, 60)
        child.send("n")  # take next, as an operator would
        _wait(
            lambda: _lease_holder(sqlite_db, case_id) == operator,
            "the case was not taken",
            child,
            30,
        )
        # Hang up: close the terminal's master side, as sshd does when the link drops.
        # No signal is sent from here: the kernel hangs up the desk's session.
        cast(Any, child).ptyproc.fileobj.close()
        deadline = time.monotonic() + 15
        while child.isalive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not child.isalive(), "the desk outlived its terminal"
        # It left on its own (the hang-up handler), not killed by a signal.
        assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)

    assert _lease_holder(sqlite_db, case_id) is None, "the lease outlived the desk"
    assert not _online(sqlite_db, operator), "the desk still shows online"
    with sqlite_db.read() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.agent_id == operator, AuditEvent.case_id == case_id)
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["case.claim", "case.release"]
