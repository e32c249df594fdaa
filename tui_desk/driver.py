"""The terminal driver of the desk: Textual's, with the end of the terminal noticed.

Over SSH the terminal can vanish at any moment. Textual's own driver then spins: its input
thread reads end-of-file on the dead terminal in a tight loop, and once its output thread
has died on a write error (EIO) the next screen update blocks the event loop on a full
queue, so the desk neither leaves nor lets go of its case. Here the end of input and a
failed write both end the desk the way ``q`` does (the case released, presence cleared),
and output after that is dropped.
"""

from __future__ import annotations

import os
import selectors
import sys
import threading
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any, cast

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class TerminalOutput:
    """The file Textual's output thread writes to; a dead terminal makes it a sink.

    The first write or flush that fails (the terminal hung up) reports the hang-up once
    and every later write is dropped, so the output thread keeps draining its queue and
    the event loop never blocks on it.
    """

    def __init__(self, file: IO[str], on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self._gone = threading.Event()

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
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._lost()
            return len(text)

    def flush(self) -> None:
        if self._gone.is_set():
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True


class DeskDriver(LinuxDriver):
    """Textual's POSIX driver; end of input or a dead terminal ends the desk."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        stream = sys.__stderr__
        assert stream is not None
        # Typed as the standard stream; Textual only writes, flushes and asks for fileno().
        self._file = cast(Any, TerminalOutput(stream, self._terminal_gone))
        self._hung_up = threading.Event()

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
