"""Following the board's snapshot: the desk's board and the wallboard poll it the same way.

The cheap change marker is read every ``POLL_SECONDS`` in a thread worker and the whole
board only when it moved (or every ``PRESENCE_SECONDS``, for presence and ages); the next
poll is scheduled only once the last one has been handled, so a slow database slows the
board down rather than piling reads up.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from tui_desk.views.board import Board

if TYPE_CHECKING:
    from tui_desk.services.desk import DeskService

    _Screen = Screen[None]
else:
    _Screen = object


class BoardRead(Message):
    """A board came back from the database: the marker it was read at, the board, and
    when the worker last refreshed it."""

    def __init__(self, version: int, board: Board, refreshed_at: dt.datetime | None) -> None:
        super().__init__()
        self.version = version
        self.board = board
        self.refreshed_at = refreshed_at


class BoardUnchanged(Message):
    """The change marker did not move: nothing to read, nothing to repaint."""


class BoardPolling(_Screen):
    """Mixed into a screen that shows the board (``show_board``)."""

    POLL_SECONDS: ClassVar[float] = 0.25
    PRESENCE_SECONDS: ClassVar[float] = 3.0

    service: DeskService
    refreshed_at: dt.datetime | None
    _polling: bool
    _poll_timer: Timer | None
    _seen: int | None
    _read_at: float
    _problem: str | None

    def _init_polling(self) -> None:
        self.refreshed_at = None
        self._polling = False
        self._poll_timer = None
        self._seen = None
        self._read_at = 0.0
        self._problem = None

    def show_board(self, board: Board) -> None:
        raise NotImplementedError

    def _start_polling(self) -> None:
        if self._polling:
            return
        self._polling = True
        self._poll(self._seen, force=True)

    def _stop_polling(self) -> None:
        self._polling = False
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None

    def _schedule(self, delay: float) -> None:
        if not self._polling:
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(delay, self._poll_tick)

    def _poll_tick(self) -> None:
        self._poll_timer = None
        if self._polling:
            due = time.monotonic() - self._read_at >= self.PRESENCE_SECONDS
            self._poll(self._seen, force=due)

    @work(thread=True, group="board-poll", exclusive=True, exit_on_error=False)
    def _poll(self, seen: int | None, *, force: bool) -> None:
        version = self.service.board_version()
        if version == seen and not force:
            self.post_message(BoardUnchanged())
            return
        # The marker is read before the board: a change landing in between is simply
        # read again on the next poll.
        board = self.service.board()
        self.post_message(BoardRead(version, board, self.service.board_refreshed_at()))

    def on_board_unchanged(self, _message: BoardUnchanged) -> None:
        self._schedule(self.POLL_SECONDS)

    def on_board_read(self, message: BoardRead) -> None:
        self._seen = message.version
        self._read_at = time.monotonic()
        self._problem = None
        self.refreshed_at = message.refreshed_at
        try:
            self.show_board(message.board)
        finally:
            self._schedule(self.POLL_SECONDS)
