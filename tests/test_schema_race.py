"""Explicit schema changes, raced: four `db upgrade` and four desks started at once on a
database one revision old, on both engines. One upgrade migrates, the other three find
nothing to do; a desk either refuses in one line naming `tui-desk db upgrade` or opens
on the upgraded schema; no process prints a traceback."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from alembic import command

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.migrate import check_schema, head_revision, migration_connection

EXE = str(Path(sys.executable).with_name("tui-desk"))
DESK_WATCH_SECONDS = 8.0


def _watch(masters: list[int], seconds: float, outs: list[bytes]) -> None:
    """Read every desk's terminal at once, until each has closed or ``seconds`` pass."""
    open_fds = {fd: i for i, fd in enumerate(masters) if fd >= 0}
    deadline = time.monotonic() + seconds
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the desk has gone and its terminal with it
                chunk = b""
            if chunk:
                outs[open_fds[fd]] += chunk
            else:
                masters[open_fds.pop(fd)] = -1


def test_four_upgrades_and_four_desks_at_once_on_an_old_database(db: Database) -> None:
    Factory(db).agent(login="op")
    with migration_connection(db) as cfg:
        command.downgrade(cfg, "-1")
    old = check_schema(db)
    assert old is not None and old != head_revision()
    url = db.url.render_as_string(hide_password=False)
    db.dispose()
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": "100"}

    upgrades = [
        subprocess.Popen(
            [EXE, "--db", url, "db", "upgrade"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(4)
    ]
    desks: list[tuple[subprocess.Popen[bytes], int]] = []
    for _ in range(4):
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [EXE, "--db", url, "--agent", "op"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        desks.append((process, master))

    results = [p.communicate(timeout=120) for p in upgrades]
    statuses = [p.returncode for p in upgrades]
    # Every desk's output is read from the start, side by side: a desk refused early
    # has said why before the others are looked at. Desks still running when the watch
    # ends are hung up, and what they print on the way out is read too.
    masters = [master for _, master in desks]
    seen: list[bytes] = [b""] * len(desks)
    _watch(masters, DESK_WATCH_SECONDS, seen)
    for process, _ in desks:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGHUP)
    _watch(masters, 20.0, seen)
    for process, master in desks:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    screens = [out.decode("utf-8", "replace") for out in seen]

    outs = [out.decode() for out, _ in results]
    errs = [err.decode() for _, err in results]
    assert statuses == [0, 0, 0, 0], errs
    migrated = [o for o in outs if "schema upgraded from" in o]
    assert len(migrated) == 1, outs
    assert f"from {old} to {head_revision()}" in migrated[0]
    for text in [*outs, *errs, *screens]:
        assert "Traceback" not in text, text
    for (process, _), screen in zip(desks, screens, strict=True):
        refused = "run `tui-desk db upgrade` first" in screen
        assert refused or process.returncode != 1, screen
        if refused:
            assert process.returncode == 1
    with db.engine.connect():
        pass
    assert check_schema(db) == head_revision()
