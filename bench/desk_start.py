"""Time from launching `tui-desk` in a pseudo-terminal to the first frame that shows the queue.

Usage: python bench/desk_start.py --db sqlite:////path/demo.db [--agent demo] [--marker TEXT]
Prints the median and each run's time. The marker is text that appears once the queue has
loaded (by default the queue's title); run it against a seeded database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import select
import signal
import statistics
import sys
import time


def one_run(argv: list[str], marker: bytes, timeout: float, cols: int, rows: int) -> float:
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = str(cols), str(rows)
        os.execvp(argv[0], argv)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    seen = b""
    elapsed = float("nan")
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if marker in seen:
                elapsed = time.perf_counter() - start
                break
    finally:
        _end(pid, fd)
    return elapsed


def _end(pid: int, fd: int, seconds: float = 20.0) -> None:
    """SIGTERM the desk and keep reading its terminal until it has gone (a terminal
    nobody reads fills up and the desk's last writes wait for room); SIGKILL after
    ``seconds``."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(fd, 65536)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(fd)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--agent", default="demo")
    p.add_argument("--marker", default="DPD")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--size", default="160x50")
    args = p.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    exe = os.path.join(os.path.dirname(sys.executable), "tui-desk")
    argv = [exe, "--db", args.db, "--agent", args.agent]
    times = [
        one_run(argv, args.marker.encode(), args.timeout, cols, rows) for _ in range(args.runs)
    ]
    print("runs (s):", " ".join(f"{t:.2f}" for t in times))
    print(f"median first frame with queue: {statistics.median(times):.2f} s ({args.size})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
