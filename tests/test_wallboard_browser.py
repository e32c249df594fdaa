"""The wallboard in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright with the system browser; no browser is downloaded) against
``tui-desk serve-board`` and ``tui-desk worker`` on a free local port.

On both engines. Signs in, waits for the board, finds a figure written into the database, logs a contact
through the services and waits (bounded) for the board to show it; a wrong password and
requests without the cookie get no board; a second browser beyond the cap is told the
board is full; closing the browser leaves no viewer process. Prints the change-to-browser
latency and one viewer's resident memory, and saves a screenshot in ``test-output/``.

Without Chromium (or Playwright) it skips locally and fails under CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import Channel, Direction, Outcome, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services.contacts import log_contact
from tui_desk.services.context import Actor, Context
from tui_desk.services.web_sign_in import set_password

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "wall screen 2026"
SEEDED_CONTACTS = 3
SHOWN_WITHIN = 2.0
# Only against a hang: how long the board may take to come up (processes start cold).
START_LIMIT = 90.0
# textual.js keeps its xterm.js terminal to itself: the test's copy of the script hands
# it to the page, so the test reads the cells the browser shows.
TERMINAL_HOOK = "this.terminal.open(e)"

pytestmark = pytest.mark.slow


def _need_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if IN_CI:
            pytest.fail(f"CI=true requires {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent's pid follows the command name in parentheses and the state.
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _get(url: str, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if cookie is not None:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8")


class Office:
    def __init__(self, db: Database) -> None:
        now = utcnow()
        f = Factory(db, now=now)
        self.db = db
        self.sue = f.agent(login="sue", name="Sue Wall", role=Role.SUPERVISOR)
        self.ann = f.agent(login="ann", name="Ann")
        self.case = f.case(owner_id=self.ann, overdue_days=20, overdue_minor=120_000)
        for _n in range(SEEDED_CONTACTS):
            f.contact(self.case, agent_id=self.ann, minutes_ago=0)
        set_password(db, "sue", PASSWORD, actor=None, now=now)

    def log_inbound(self) -> None:
        from sqlalchemy import select

        from tui_desk.db.models import Agent

        with self.db.read() as s:
            ann = Actor.of(s.scalars(select(Agent).where(Agent.id == self.ann)).one())
        log_contact(
            Context.frozen(self.db, ann, utcnow(), load_profile()),
            self.case,
            channel=Channel.PHONE,
            direction=Direction.INBOUND,
            outcome=Outcome.REFUSED,
        )


class Processes:
    """``tui-desk worker`` and ``tui-desk serve-board``, their output kept for failures."""

    def __init__(self, tmp: Path, url: str, port: int) -> None:
        self.tmp = tmp
        self.url = url
        self.port = port
        self.started: list[tuple[subprocess.Popen[bytes], Any]] = []
        self.server: subprocess.Popen[bytes] | None = None

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_desk", "--db", self.url, *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TUI_DESK_LANGUAGE": "en"},
        )
        self.started.append((proc, log))
        return proc

    def output(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )

    def close(self) -> None:
        for proc, log in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            log.close()


@pytest.fixture
def office(db: Database) -> Office:
    return Office(db)


@pytest.fixture
def running(office: Office, tmp_path: Path) -> Iterator[Processes]:
    _need_browser()
    url = office.db.url.render_as_string(hide_password=False)
    procs = Processes(tmp_path, url, _free_port())
    try:
        procs.start("worker", "worker")
        procs.server = procs.start(
            "server",
            "serve-board",
            "--port",
            str(procs.port),
            "--max-viewers",
            "1",
            "--cycle-seconds",
            "3",
        )
        deadline = time.monotonic() + START_LIMIT
        while True:
            try:
                _get(f"http://127.0.0.1:{procs.port}/login")
                break
            except OSError:
                if time.monotonic() > deadline or procs.server.poll() is not None:
                    pytest.fail("the server did not start:\n" + procs.output())
                time.sleep(0.2)
        yield procs
    finally:
        procs.close()


def _screen_text(page: Any) -> str:
    return str(
        page.evaluate(
            """() => {
                const t = (window.__terms || [])[0];
                if (!t) return "";
                const b = t.buffer.active, lines = [];
                for (let i = 0; i < t.rows; i++) lines.push(b.getLine(i).translateToString(true));
                return lines.join("\\n");
            }"""
        )
    )


def _wait_for(page: Any, needle: str, limit: float) -> float:
    """Seconds until ``needle`` is on the browser's screen; fails after ``limit``."""
    start = time.monotonic()
    while True:
        text = _screen_text(page)
        if needle in text:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            pytest.fail(f"{needle!r} not on the board within {limit} s; it shows:\n{text}")
        time.sleep(0.02)


def _hook_terminal(page: Any) -> None:
    def patch(route: Any) -> None:
        response = route.fetch()
        script = response.text()
        assert TERMINAL_HOOK in script, "textual.js changed: update TERMINAL_HOOK"
        script = script.replace(
            TERMINAL_HOOK,
            TERMINAL_HOOK + ",(window.__terms=window.__terms||[]).push(this.terminal)",
            1,
        )
        route.fulfill(response=response, body=script)

    page.route("**/static/js/textual.js", patch)


def test_wallboard_in_a_browser(office: Office, running: Processes) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{running.port}"
    assert running.server is not None
    server_pid = running.server.pid

    # Strangers: no cookie, a made-up cookie: the sign-in page or 403, never the board.
    status, body = _get(f"{base}/board/wall")
    assert status == 401 and 'action="/login"' in body and "textual.js" not in body
    status, body = _get(f"{base}/")
    assert status == 401 and 'action="/login"' in body
    assert _get(f"{base}/ws/wall")[0] == 403
    forged = "tui_desk_board=c3Vl.9999999999.abc.def"
    assert _get(f"{base}/ws/wall", forged)[0] == 403
    assert _get(f"{base}/board/desk", forged)[0] == 401

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 900})
            page = context.new_page()
            _hook_terminal(page)

            # A wrong password: the form again, with the refusal, and no cookie.
            page.goto(f"{base}/")
            page.fill("#login", "sue")
            page.fill("#password", "not the password")
            page.click("#sign-in")
            assert page.locator("#error").inner_text() == "wrong login or password"
            assert context.cookies() == []

            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_selector("#wall")
            (cookie,) = context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            page.click("#wall")
            _wait_for(page, f"Contacts today {SEEDED_CONTACTS}", START_LIMIT)

            # One viewer at most: a second browser is told the board is full.
            other = context.new_page()
            other.goto(f"{base}/board/wall")
            assert "The board is full" in other.content()
            other.close()

            viewers = _children(server_pid)
            assert len(viewers) == 1
            rss = _rss_kib(viewers[0])

            office.log_inbound()
            latency = _wait_for(page, f"Contacts today {SEEDED_CONTACTS + 1}", SHOWN_WITHIN)
            OUTPUT.mkdir(exist_ok=True)
            engine = "sqlite" if office.db.is_sqlite else "postgresql"
            page.screenshot(path=str(OUTPUT / f"wallboard-{engine}.png"))
            load = os.getloadavg()
            figures = (
                f"wallboard ({engine}): change to browser {latency * 1000:.0f} ms; one viewer's "
                f"process {rss / 1024:.1f} MiB resident "
                f"(load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
            )
            print("\n" + figures)
            (OUTPUT / f"wallboard-{engine}.txt").write_text(figures + "\n")
            context.close()
        finally:
            browser.close()

    # The browser is gone: its viewer process quits (bounded wait against a hang).
    deadline = time.monotonic() + 20
    while _children(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _children(server_pid) == []


def test_viewer_refuses_to_start_without_a_session(office: Office) -> None:
    url = office.db.url.render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if k != "TUI_DESK_BOARD_SESSION"}
    for token in (None, "c3Vl.9999999999.abc.def"):
        if token is not None:
            env["TUI_DESK_BOARD_SESSION"] = token
        done = subprocess.run(
            [sys.executable, "-m", "tui_desk", "--db", url, "serve-board", "--viewer", "wall"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 1
        assert "please sign in" in done.stderr
