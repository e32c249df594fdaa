"""The desk against a minimal Textual app, each run in a real pseudo-terminal (not Pilot).

Usage:
  python bench/pty_bench.py --db sqlite:////path/q1m.db [--agent demo] [--runs 5]
                            [--session 120] [--size 160x50] [--in-place]

For each run the minimal app and the desk are started alternately (the order swaps every
run), in a pseudo-terminal of the given size, through the same small wrapper (this file
with ``--child``), which keeps a log of every garbage collection (``gc.callbacks``).
Measured from outside, at the moment the queue's status line ("rows 1-") shows, i.e. the
queue's rows are on screen:

- start -> queue rows on screen: wall time since the fork, and the CPU time the process
  used (user + system, all threads), desk vs minimal and their ratio (median of the runs);
- resident memory (VmRSS) at that first frame;

then, once per run for each program, a scripted session of ``--session`` seconds (keys:
take the next case, move, page, End/Home, panes, calendar weeks, a search, Tab), after
which the resident memory is read again and the program quits; its collector log gives
the collections' count, max and p95 pause. The load average is printed beside each
figure: the machine may be shared.

A SQLite database is copied to a temporary folder first (the desk writes: presence,
leases), unless ``--in-place``. The desk runs as ``--agent`` (honoured on a demo
database, or for an administrator's login).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

MARKER = b"rows 1-"
"""The queue's status line once rows are shown (English); the minimal app shows it too."""

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

KEYS: dict[str, bytes] = {
    "down": b"\x1b[B",
    "up": b"\x1b[A",
    "pagedown": b"\x1b[6~",
    "pageup": b"\x1b[5~",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "tab": b"\t",
    "enter": b"\r",
    "escape": b"\x1b",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "ctrl+q": b"\x11",
}

# One round of the scripted session (repeated until the session's time is up): what an
# operator does with a case, then moving about the queue and the panes.
SCRIPT: tuple[str, ...] = (
    "n",
    *(["down"] * 8),
    "pagedown",
    "pagedown",
    "up",
    "f3",
    "tab",
    "f4",
    "]",
    "[",
    "f5",
    "f2",
    "end",
    "up",
    "home",
    "/",
    "王",
    "escape",
    "escape",
    "j",
    *(["down"] * 5),
    "pageup",
)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the child side: the wrapper that runs the program with a collector log ------------


def child(gc_log: str, program: str, argv: list[str]) -> int:
    import atexit
    import gc
    from array import array

    # One entry a collection, kept in typed arrays (17 bytes each): an hour holds about
    # 100,000 collections, which as tuples of floats would have added some 15 MB to the
    # very memory the session measures.
    generations = array("b")
    pause_ms = array("f")
    cpu_ms = array("f")
    begun = array("d")
    started = [0.0, 0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        # perf_counter is CLOCK_MONOTONIC here, the same clock as the parent's. The CPU
        # time of the collecting thread says how much of a pause was the collector's own
        # work, and how much waiting for a core on a busy machine.
        if phase == "start":
            started[0] = time.perf_counter()
            started[1] = time.thread_time()
        else:
            generations.append(info["generation"])
            pause_ms.append((time.perf_counter() - started[0]) * 1000)
            cpu_ms.append((time.thread_time() - started[1]) * 1000)
            begun.append(started[0])

    def write() -> None:
        pauses = list(zip(generations, pause_ms, begun, cpu_ms, strict=True))
        with open(gc_log, "w", encoding="utf-8") as f:
            json.dump({"pauses": pauses, "threshold": gc.get_threshold()}, f)

    gc.callbacks.append(collected)
    atexit.register(write)
    if program == "minimal":
        minimal_app()
        return 0
    sys.argv = ["tui-desk", *argv]
    from tui_desk.cli import main

    return main(argv)


def minimal_app() -> None:
    """A Textual app with a table of rows and a status line, the least a queue needs."""
    from textual.app import App, ComposeResult
    from textual.binding import BindingType
    from textual.widgets import DataTable, Footer, Header, Static

    class Minimal(App[None]):
        CSS = "DataTable { height: 1fr; }"
        BINDINGS: ClassVar[list[BindingType]] = [("q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Static("", id="status")
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("DPD", "borrower", "overdue", "stage", "owner", "next action")
            for i in range(60):
                table.add_row(str(90 - i), f"borrower {i}", f"{1000 + i}.00", "new", "-", "-")
            self.query_one("#status", Static).update("rows 1-44, page 1")

    Minimal().run()


# --- the parent side --------------------------------------------------------------------


@dataclass
class Run:
    program: str
    wall: float = float("nan")
    cpu: float = float("nan")
    rss_first: float = float("nan")
    rss_after: float = float("nan")
    rss_timeline: list[tuple[float, float]] = field(default_factory=list)
    """(seconds into the session, MB) once a minute."""
    load_start: str = ""
    load_after: str = ""
    pauses: list[tuple[int, float, float]] = field(default_factory=list)
    """(generation, ms, CPU ms of the collecting thread) of each collection after the
    first frame."""
    start_pauses: list[tuple[int, float]] = field(default_factory=list)
    """(generation, ms) of each collection before the first frame."""
    threshold: tuple[int, ...] = ()


class Terminal:
    """A program in a pseudo-terminal whose output is always drained."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the terminal is its controlling terminal, as under sshd
            os.environ.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8")
            os.execv(argv[0], argv)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.seen = b""
        self.status: int | None = None

    def pump(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while True:
            left = deadline - time.perf_counter()
            ready, _, _ = select.select([self.fd], [], [], max(0.0, min(left, 0.02)))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                self.seen = (self.seen + chunk)[-4096:]
                if not chunk:
                    return
            if left <= 0:
                return

    def until(self, marker: bytes, seconds: float) -> float:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.01)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            # Looked for before the tail is cut: a frame read in one large chunk may hold
            # the marker further back than the tail kept.
            data = self.seen + chunk
            self.seen = data[-4096:]
            if marker in data:
                return time.perf_counter() - self.started
        raise RuntimeError(f"no {marker!r} on screen within {seconds} s")

    def send(self, key: str) -> None:
        os.write(self.fd, KEYS.get(key, key.encode()))

    def end(self, seconds: float = 30.0) -> None:
        """Quit (ctrl+q), keep reading until the program has gone; SIGTERM, then SIGKILL."""
        with contextlib.suppress(OSError):
            self.send("ctrl+q")
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.status = status
                    os.close(self.fd)
                    return
                self.pump(0.05)
        raise RuntimeError("the program did not end")


def one(program: str, args: argparse.Namespace, desk_args: list[str], session: bool) -> Run:
    cols, rows = (int(x) for x in args.size.split("x"))
    log = Path(tempfile.mkstemp(prefix="gc-", suffix=".json")[1])
    argv = [sys.executable, os.path.abspath(__file__), "--child", str(log), program, "--"]
    result = Run(program, load_start=load())
    term = Terminal([*argv, *desk_args], cols, rows)
    try:
        result.wall = term.until(MARKER, args.timeout)
        first_frame = time.perf_counter()
        result.cpu = cpu_seconds(term.pid)
        result.rss_first = rss_mb(term.pid)
        if session:
            begun = time.perf_counter()
            deadline = begun + args.session
            sample = begun + 60
            while time.perf_counter() < deadline:
                if time.perf_counter() >= sample:
                    result.rss_timeline.append((sample - begun, rss_mb(term.pid)))
                    sample += 60
                for key in SCRIPT:
                    term.send(key)
                    term.pump(args.key_interval)
            term.pump(1.0)
            result.rss_after = rss_mb(term.pid)
            result.load_after = load()
    finally:
        term.end()
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(log.read_text())
        for g, ms, at, cpu_ms in data["pauses"]:
            if at >= first_frame:
                result.pauses.append((int(g), ms, cpu_ms))
            else:
                result.start_pauses.append((int(g), ms))
        result.threshold = tuple(data["threshold"])
    log.unlink(missing_ok=True)
    return result


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def report(runs: list[Run], args: argparse.Namespace) -> None:
    desk = [r for r in runs if r.program == "desk"]
    mini = [r for r in runs if r.program == "minimal"]
    med = statistics.median
    loads = " ".join(r.load_start.removeprefix("load ") for r in runs)
    print(f"\n{args.size}, {len(desk)} runs each, database {args.db}")
    dw, mw = med(r.wall for r in desk), med(r.wall for r in mini)
    dc, mc = med(r.cpu for r in desk), med(r.cpu for r in mini)
    print(
        f"start -> queue rows, wall: desk {dw * 1000:.0f} ms, minimal {mw * 1000:.0f} ms, "
        f"ratio {dw / mw:.2f}x (loads at start: {loads})"
    )
    print(
        f"start -> queue rows, CPU:  desk {dc * 1000:.0f} ms, minimal {mc * 1000:.0f} ms, "
        f"ratio {dc / mc:.2f}x"
    )
    for r in runs:
        print(
            f"  {r.program:<8} wall {r.wall * 1000:6.0f} ms  cpu {r.cpu * 1000:6.0f} ms  "
            f"rss {r.rss_first:5.1f} MB  ({r.load_start})"
        )
    for name, group in (("desk", desk), ("minimal", mini)):
        first = med(r.rss_first for r in group)
        print(f"RSS at first frame, {name}: {first:.1f} MB (median)")
        for r in group:
            ms = [p for _g, p in r.start_pauses]
            print(
                f"GC before the first frame, {name}: {len(ms)} collections, "
                f"{sum(ms):.0f} ms in all, max {max(ms, default=0.0):.1f} ms ({r.load_start})"
            )
        for r in group:
            if r.load_after:
                report_session(r, name, args)


def report_session(r: Run, name: str, args: argparse.Namespace) -> None:
    print(
        f"RSS after a {args.session:.0f} s session, {name}: {r.rss_after:.1f} MB ({r.load_after})"
    )
    if len(r.rss_timeline) > 1:
        line = ", ".join(f"{t / 60:.0f} min {mb:.1f}" for t, mb in r.rss_timeline)
        print(f"RSS during the session, {name}: {line} MB")
    ms = [p for _g, p, _c in r.pauses]
    cpu = [c for _g, _p, c in r.pauses]
    full = sorted((p for g, p, _c in r.pauses if g == 2), reverse=True)
    print(
        f"GC after the first frame, {name}: {len(ms)} collections ({len(full)} full), "
        f"max {max(ms, default=float('nan')):.1f} ms, p95 {p95(ms):.1f} ms, "
        f"full max {max(full, default=float('nan')):.1f} ms, "
        f"threshold {r.threshold} ({r.load_after})"
    )
    full_cpu = sorted((c for g, _p, c in r.pauses if g == 2), reverse=True)
    print(
        f"  the collector's own CPU time in a collection: max "
        f"{max(cpu, default=float('nan')):.1f} ms, p95 {p95(cpu):.1f} ms; in a full one: "
        f"median {statistics.median(full_cpu) if full_cpu else float('nan'):.1f} ms, "
        f"longest {', '.join(f'{c:.0f}' for c in full_cpu[:5])} ms"
    )
    print(f"  longest full collections (wall): {', '.join(f'{p:.0f}' for p in full[:5])} ms")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        gc_log, program, _sep, *rest = sys.argv[2:]
        return child(gc_log, program, rest)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", required=True, help="database URL")
    p.add_argument("--agent", default="demo")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--session", type=float, default=60.0, help="seconds of scripted keys")
    p.add_argument("--key-interval", type=float, default=0.05, help="seconds between keys")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--size", default="160x50")
    p.add_argument("--in-place", action="store_true", help="do not copy a SQLite database")
    p.add_argument(
        "--session-only",
        action="store_true",
        help="one run of the desk alone, with its scripted session (e.g. --session 3600 for"
        " the memory after an hour); no start-up ratio",
    )
    args = p.parse_args()
    db = args.db
    folder = None
    if db.startswith("sqlite:///") and not args.in_place:
        source = Path(db.removeprefix("sqlite:///"))
        folder = Path(tempfile.mkdtemp(prefix="pty-bench-"))
        copy = folder / source.name
        print(f"copying {source} to {copy} ({load()})", flush=True)
        shutil.copyfile(source, copy)
        wal = source.with_name(source.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        db = f"sqlite:///{copy}"
    desk_args = ["--db", db, "--agent", args.agent, "--lang", "en", "run"]
    runs: list[Run] = []
    try:
        if args.session_only:
            run = one("desk", args, desk_args, session=True)
            print(f"desk alone: {run.rss_first:.1f} MB at the first frame ({run.load_start})")
            report_session(run, "desk", args)
            return 0
        for i in range(args.runs):
            order = ("minimal", "desk") if i % 2 == 0 else ("desk", "minimal")
            for program in order:
                session = i == args.runs - 1  # one scripted session each, in the last run
                run = one(program, args, desk_args, session)
                print(
                    f"run {i + 1} {program:<8} {run.wall * 1000:.0f} ms wall, "
                    f"{run.cpu * 1000:.0f} ms CPU, {run.rss_first:.1f} MB ({run.load_start})",
                    flush=True,
                )
                runs.append(run)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    report(runs, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
