"""The print command: run without a shell, the file last; a failure is one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tui_desk.integrations.printing import PrintFailed, print_file


def test_the_file_is_the_last_argument_and_the_job_is_returned(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = tmp_path / "lp.py"
    script.write_text(
        f"import sys\nopen({str(seen)!r}, 'w').write('|'.join(sys.argv[1:]))\n"
        "print('request id is p-7 (1 file(s))')\n",
        encoding="utf-8",
    )
    target = tmp_path / "copy; rm -rf x.pdf"  # no shell: the name is one argument
    target.write_bytes(b"%PDF")
    said = print_file(f"{sys.executable} {script} -d office", target)
    assert said == "request id is p-7 (1 file(s))"
    assert seen.read_text() == f"-d|office|{target}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("no-such-printer-command-x", "is not installed"),
        (f"{sys.executable} -c 'import sys; sys.exit(3)'", "exit 3"),
        ("lp 'unclosed", "cannot be read"),
        ("", "no print command"),
    ],
)
def test_failures_are_one_line(tmp_path: Path, command: str, expected: str) -> None:
    target = tmp_path / "a.pdf"
    target.write_bytes(b"%PDF")
    with pytest.raises(PrintFailed, match=expected) as failed:
        print_file(command, target)
    assert "\n" not in str(failed.value)
