"""The terminal driver of the desk: Textual's, with the end of the terminal noticed.

Over SSH the terminal can vanish at any moment. Textual's own driver then spins: its input
thread reads end-of-file on the dead terminal in a tight loop, and once its output thread
has died on a write error (EIO) the next screen update blocks the event loop on a full
queue, so the desk neither leaves nor lets go of its case. Here the end of input and a
failed write both end the desk the way ``q`` does (the case released, presence cleared),
and output after that is dropped.

A terminal that is still there but no longer read (its reader stopped, a frozen SSH
client) fills up and blocks every write. The desk writes to its terminal without
blocking, waiting for room as long as it works; once it is leaving (SIGTERM, SIGHUP) it
waits at most ``LEAVE_SECONDS`` for room and then drops the rest, so it always ends.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import sys
import threading
import time
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any, cast

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

LEAVE_SECONDS = 1.0
"""Once the desk is leaving, how long its output may wait for a terminal nobody reads."""


class TerminalOutput:
    """The file Textual's output thread writes to; a dead terminal makes it a sink.

    The first write or flush that fails (the terminal hung up) reports the hang-up once
    and every later write is dropped, so the output thread keeps draining its queue and
    the event loop never blocks on it. On a terminal the text goes out through a
    descriptor of its own opened non-blocking (the standard streams keep their mode), so
    a write waits for room only while the desk is not leaving (see ``leaving``).
    """

    def __init__(self, file: IO[str], on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self._gone = threading.Event()
        self._encoding = getattr(file, "encoding", None) or "utf-8"
        self._errors = getattr(file, "errors", None) or "replace"
        self._fd = _own_descriptor(file)
        self._deadline: float | None = None

    def leaving(self, seconds: float = LEAVE_SECONDS) -> None:
        """The desk is ending: from now on wait at most ``seconds`` for the terminal."""
        if self._deadline is None:
            self._deadline = time.monotonic() + seconds

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    def _lost(self) -> None:
        if not self._gone.is_set():
            self._gone.set()
            self._on_gone()

    def write(self, text: str) -> int:
        if self._gone.is_set():
            return len(text)
        fd = self._fd
        if fd is None:
            try:
                return self._file.write(text)
            except (OSError, ValueError):
                self._lost()
                return len(text)
        view = memoryview(text.encode(self._encoding, self._errors))
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                deadline = self._deadline
                if deadline is not None and time.monotonic() > deadline:
                    self._gone.set()  # nobody reads it: the rest is dropped
                    break
                with contextlib.suppress(OSError, ValueError):
                    select.select([], [fd], [], 0.05)
            except (OSError, ValueError):
                self._lost()
                break
        return len(text)

    def flush(self) -> None:
        if self._gone.is_set() or self._fd is not None:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True


def _own_descriptor(file: IO[str]) -> int | None:
    """A non-blocking descriptor of the terminal behind ``file`` (None: not a terminal)."""
    try:
        fd = file.fileno()
        if not os.isatty(fd):
            return None
        return os.open(os.ttyname(fd), os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None


class DeskDriver(LinuxDriver):
    """Textual's POSIX driver; end of input or a dead terminal ends the desk."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        stream = sys.__stderr__
        assert stream is not None
        self._output = TerminalOutput(stream, self._terminal_gone)
        # Typed as the standard stream; Textual only writes, flushes and asks for fileno().
        self._file = cast(Any, self._output)
        self._hung_up = threading.Event()

    def leaving(self) -> None:
        """The desk is ending on a signal: its terminal may no longer be read."""
        self._output.leaving()

    def close(self) -> None:
        super().close()
        self._output.close()

    def _terminal_gone(self) -> None:
        """Called from the input or output thread: leave once, on the app's own loop."""
        if self._hung_up.is_set():
            return
        self._hung_up.set()
        hang_up = getattr(self._app, "hang_up", None)
        self._app.call_later(hang_up if callable(hang_up) else self._app.exit)

    def run_input_thread(self) -> None:
        """Textual's input loop, except that end of input ends it (it spun there)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")(errors="replace").decode
        try:
            while not self.exit_event.is_set():
                if selector.select(0.1):
                    try:
                        data = os.read(self.fileno, 4096)
                    except OSError:  # EIO: the terminal hung up
                        data = b""
                    if not data:
                        self._terminal_gone()
                        return
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
