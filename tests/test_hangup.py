"""Over SSH the terminal can vanish at any moment. The desk runs in a real pseudo-terminal
(as sshd gives it one), takes a case with a key, and the terminal is hung up (its master
closed, SIGHUP, SIGTERM, or only the end of input when no signal comes): the process must
be gone within seconds, its lease released, its presence signed off, and what it committed
still there, and the agent's state ended offline. Started without a terminal, it says so in one line and exits 1."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
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
from tui_desk.db.models import AgentPresence, AgentStateSpan, AuditEvent, CollectionCase
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


def _states(db: Database, agent_id: int) -> list[str]:
    """The agent's states in order; the last one open (ended_at NULL)."""
    with db.read() as s:
        rows = s.execute(
            select(AgentStateSpan.state, AgentStateSpan.ended_at)
            .where(AgentStateSpan.agent_id == agent_id)
            .order_by(AgentStateSpan.id)
        ).all()
    assert [ended is None for _state, ended in rows][-1:] == [True]
    return [state.value for state, _ended in rows]


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

    db = sqlite_db
    assert _lease_holder(db, case_id) is None, "the lease outlived the desk"
    assert not _online(db, operator), "the desk still shows online"
    with db.read() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.agent_id == operator, AuditEvent.case_id == case_id)
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["case.claim", "case.release"]
    # Working, if the claim's change of state was written before the hang-up.
    states = _states(db, operator)
    assert states in (["ready", "working", "offline"], ["ready", "offline"]), states


def _desk_world(db: Database) -> tuple[int, int, list[str]]:
    """An operator with one case on a demo database; the desk's command line."""
    make = Factory(db, now=utcnow())
    operator = make.agent(login="op", name="王小明")
    case_id = make.case(name="张三", priority=900, owner_id=operator)
    set_meta(db, "demo", "1", now=utcnow())
    url = db.url.render_as_string(hide_password=False)
    command = [sys.executable, "-m", "tui_desk", "--db", url, "--agent", "op", "--lang", "en"]
    return operator, case_id, [*command, "run"]


_TERMINAL_ENV = {"TERM": "xterm-256color", "COLORTERM": "", "LANG": "C.UTF-8", "PATH": "/usr/bin"}


def _assert_left_cleanly(db: Database, operator: int, case_id: int) -> None:
    assert _lease_holder(db, case_id) is None, "the lease outlived the desk"
    assert not _online(db, operator), "the desk still shows online"
    with db.read() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.agent_id == operator, AuditEvent.case_id == case_id)
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["case.claim", "case.release"]
    # Working, if the claim's change of state was written before the hang-up.
    states = _states(db, operator)
    assert states in (["ready", "working", "offline"], ["ready", "offline"]), states


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_a_hang_up_signal_ends_the_desk_and_frees_its_case(
    sqlite_db: Database, sig: signal.Signals
) -> None:
    """sshd hangs up (SIGHUP) or the host shuts down (SIGTERM) while the terminal stays."""
    operator, case_id, command = _desk_world(sqlite_db)
    child = pexpect.spawn(
        command[0],
        command[1:],
        dimensions=(24, 80),
        env=_TERMINAL_ENV,
        encoding="utf-8",
        codec_errors="replace",
        timeout=5,
    )
    try:
        _wait(lambda: _online(sqlite_db, operator), "the desk did not open", child, 60)
        child.send("n")
        _wait(
            lambda: _lease_holder(sqlite_db, case_id) == operator,
            "the case was not taken",
            child,
            30,
        )
        child.kill(sig)
        _wait(lambda: not child.isalive(), "the desk outlived the signal", child, 15)
        assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)
    _assert_left_cleanly(sqlite_db, operator, case_id)


def test_sigterm_ends_the_desk_even_when_nobody_reads_its_terminal(
    sqlite_db: Database,
) -> None:
    """The terminal is still open but its reader stopped (a frozen SSH client, a script
    that read what it wanted): the desk's writes fill it up. SIGTERM must still end the
    desk, its case released, instead of waiting forever to restore the screen."""
    operator, case_id, command = _desk_world(sqlite_db)
    child = pexpect.spawn(
        command[0],
        command[1:],
        dimensions=(50, 160),
        env=_TERMINAL_ENV,
        encoding="utf-8",
        codec_errors="replace",
        timeout=5,
    )
    try:
        _wait(lambda: _online(sqlite_db, operator), "the desk did not open", child, 60)
        child.send("n")
        _wait(
            lambda: _lease_holder(sqlite_db, case_id) == operator,
            "the case was not taken",
            child,
            30,
        )
        # From here on nothing reads the terminal; keys make the desk draw into it.
        for _ in range(20):
            child.send("\t")
            time.sleep(0.05)
        time.sleep(1.0)
        child.kill(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while child.isalive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not child.isalive(), "the desk blocked on its unread terminal"
        assert child.signalstatus is None, f"killed by signal {child.signalstatus}"
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)
    _assert_left_cleanly(sqlite_db, operator, case_id)


def test_end_of_input_ends_the_desk_even_without_a_hang_up_signal(sqlite_db: Database) -> None:
    """A terminal that is not the desk's controlling one sends no SIGHUP when it closes:
    the desk sees only the end of its input (and failing writes) and must leave on that,
    not spin on the dead terminal."""
    operator, case_id, command = _desk_world(sqlite_db)
    master, slave = os.openpty()
    os.set_blocking(master, False)
    child = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=_TERMINAL_ENV, close_fds=True
    )
    os.close(slave)

    def drain() -> None:
        # The master is non-blocking: read until nothing is waiting (BlockingIOError).
        with contextlib.suppress(OSError):
            while os.read(master, 65536):
                pass

    def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            drain()
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} within {seconds} s")

    try:
        wait_for(lambda: _online(sqlite_db, operator), "the desk did not open", 60)
        os.write(master, b"n")
        wait_for(lambda: _lease_holder(sqlite_db, case_id) == operator, "no case taken", 30)
        os.close(master)
        status = child.wait(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        with contextlib.suppress(OSError):
            os.close(master)
    assert status == 0
    _assert_left_cleanly(sqlite_db, operator, case_id)


@pytest.mark.parametrize("stdin", ["closed", "open pipe"])
def test_without_a_terminal_the_desk_says_so_and_exits_1(sqlite_db: Database, stdin: str) -> None:
    """``ssh -T host`` or ``ssh host cmd`` against the forced command: pipes, no terminal."""
    operator, _case_id, command = _desk_world(sqlite_db)
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL if stdin == "closed" else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_TERMINAL_ENV,
        text=True,
    )
    try:
        # The pipe stays open: the desk must not wait for it to close.
        status = child.wait(timeout=30)
        out = child.stdout.read() if child.stdout else ""
        err = child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert status == 1
    assert out == ""
    assert err.splitlines() == [
        "tui-desk: the desk needs a terminal: connect with ssh -t (not -T), from a terminal window"
    ]
    assert not _online(sqlite_db, operator)
