"""Printing a file on the host's printer: the configured command (CUPS ``lp`` by default)
with the file as its last argument, run without a shell; a failure is one line."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

PRINT_TIMEOUT_SECONDS = 30.0


class PrintFailed(RuntimeError):
    """The print command could not be run or refused the file; the message is one line."""


def print_file(command: str, path: Path, *, timeout: float = PRINT_TIMEOUT_SECONDS) -> str:
    """Hand ``path`` to the print command; what it said (a job id from ``lp``)."""
    try:
        argv = [*shlex.split(command), str(path)]
    except ValueError as exc:
        raise PrintFailed(f"the print command {command!r} cannot be read: {exc}") from exc
    if len(argv) < 2:
        raise PrintFailed("no print command is configured (print_command)")
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise PrintFailed(f"the print command {argv[0]!r} is not installed") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PrintFailed(f"the print command {argv[0]!r} failed: {exc}") from exc
    said = " ".join((done.stdout or done.stderr or "").split())[:200]
    if done.returncode != 0:
        raise PrintFailed(f"{argv[0]} refused {path.name} (exit {done.returncode}): {said}")
    return said
