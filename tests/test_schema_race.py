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


def _read_all(fd: int, until: float) -> bytes:
    out = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


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
    screens: list[str] = []
    until = time.monotonic() + DESK_WATCH_SECONDS
    for process, master in desks:
        screens.append(_read_all(master, until).decode("utf-8", "replace"))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGHUP)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)

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
