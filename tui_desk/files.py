"""Files with personal data (agreement copies, day sheets, reports): written in one place.

On a shared host every desk runs with umask 007, which leaves new files group-writable.
A file holding borrowers' names, addresses or amounts is written here instead: created
0640 or tighter (the group may read it, nobody else may), complete or not at all (a
temporary file renamed into place, so a reader never sees half a report).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# Owner reads and writes, the desk's group reads, others nothing. A stricter umask
# (077) tightens it further; nothing widens it.
PRIVATE_FILE_MODE = 0o640
# Folders of such files: the group may list and read them, not add or remove files.
PRIVATE_FOLDER_MODE = 0o750
# The process-wide umask every tui-desk command runs with (set by the command line): files
# and folders the desk's group shares (the SQLite database, its -wal and -shm) are
# group-writable, never world-readable.
SHARED_UMASK = 0o007


def private_folder(folder: Path) -> Path:
    """Make ``folder`` (and missing parents) for files with personal data; the folder."""
    folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    return folder


def write_private_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, created 0640 or tighter, replacing any file there."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def write_private_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` as is (no newline translation), created 0640 or tighter."""
    return write_private_bytes(path, text.encode(encoding))
