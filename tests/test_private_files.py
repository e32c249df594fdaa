"""Files with personal data are created 0640 or tighter, whatever the umask, and whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_desk.files import private_folder, write_private_bytes, write_private_text


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value = int(request.param)
    before = os.umask(value)
    yield value
    os.umask(before)


@pytest.mark.parametrize(
    ("umask", "expected"),
    [(0o000, 0o640), (0o007, 0o640), (0o022, 0o640), (0o077, 0o600)],
    indirect=["umask"],
)
def test_private_files_are_never_more_open_than_0640(
    tmp_path: Path, umask: int, expected: int
) -> None:
    folder = private_folder(tmp_path / "exports" / "op")
    assert folder.stat().st_mode & 0o777 == 0o750 & ~umask
    target = write_private_text(folder / "day-sheet.txt", "张三\r\n北京市朝阳区")
    assert target.stat().st_mode & 0o777 == expected
    assert target.read_bytes() == "张三\r\n北京市朝阳区".encode()  # no newline translation


def test_a_rewrite_replaces_a_wider_file_and_leaves_no_part_file(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old")
    target.chmod(0o666)
    write_private_text(target, "new", encoding="utf-8-sig")
    assert target.read_bytes() == b"\xef\xbb\xbfnew"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        write_private_bytes(tmp_path / "taken", b"x")  # a folder there: the rename fails
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
