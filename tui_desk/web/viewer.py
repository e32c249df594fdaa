"""The process one browser's board runs in (started by ``tui-desk serve-board``).

The web server starts ``tui-desk serve-board --viewer wall|desk`` for each browser and
hands it the browser's session token in ``TUI_DESK_BOARD_SESSION``. The process asks the
database whose token it is (``services.web_sign_in.check_session``) before it draws
anything, and again every ``RECHECK_SECONDS``: started by hand without a valid session
it refuses in one line; a session that ends (password changed, agent deactivated, token
expired) closes the board.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.driver import Driver
from textual.screen import Screen

from tui_desk import app as desk_app
from tui_desk.app import DeskApp
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import set_language
from tui_desk.logs import configure_desk_logging
from tui_desk.screens.supervisor import SupervisorScreen
from tui_desk.screens.wallboard import WallboardScreen
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError
from tui_desk.services.web_sign_in import check_session

SESSION_ENV = "TUI_DESK_BOARD_SESSION"
CYCLE_ENV = "TUI_DESK_BOARD_CYCLE_SECONDS"
MODES = ("wall", "desk")


class DeskBoardScreen(SupervisorScreen):
    """The ordinary board, alone in its process: there is no desk to go back to."""

    def action_close(self) -> None:
        return None


class _BoardApp(DeskApp):
    """The desk's shell (styles, keys, worker-failure handling) around one board screen."""

    CSS_PATH = str(Path(desk_app.__file__).with_name("app.tcss"))
    RECHECK_SECONDS: ClassVar[float] = 60.0

    def __init__(
        self,
        *,
        db: Database,
        actor: Actor,
        settings: Settings,
        recheck: Callable[[], object],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(db=db, actor=actor, settings=settings, clock=clock)
        self._recheck = recheck
        # A server that died without closing its viewers (killed) leaves them nobody to
        # draw for: a viewer whose parent changed leaves.
        self._server_pid = os.getppid()

    def get_driver_class(self) -> type[Driver]:
        # The web driver textual-serve names in TEXTUAL_DRIVER, not the desk's terminal one.
        return App.get_driver_class(self)

    PARENT_SECONDS: ClassVar[float] = 2.0

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(self.RECHECK_SECONDS, self._still_signed_in)
        self.set_interval(self.PARENT_SECONDS, self._server_still_there)

    def _server_still_there(self) -> None:
        if os.getppid() != self._server_pid:
            self.exit()

    def _still_signed_in(self) -> None:
        self.run_worker(
            self._ask_session, thread=True, group="session", exclusive=True, exit_on_error=False
        )

    def _ask_session(self) -> None:
        try:
            self._recheck()
        except ServiceError:
            self.call_from_thread(self.exit)

    def action_board(self) -> None:
        return None


class WallboardApp(_BoardApp):
    def __init__(
        self,
        *,
        db: Database,
        actor: Actor,
        settings: Settings,
        recheck: Callable[[], object],
        clock: Callable[[], dt.datetime] = utcnow,
        cycle_seconds: float = 15.0,
    ) -> None:
        super().__init__(db=db, actor=actor, settings=settings, recheck=recheck, clock=clock)
        self.cycle_seconds = cycle_seconds

    def get_default_screen(self) -> Screen[None]:
        return WallboardScreen(self.service, cycle_seconds=self.cycle_seconds)


class BoardDeskApp(_BoardApp):
    def get_default_screen(self) -> Screen[None]:
        return DeskBoardScreen(self.service)


def run_viewer(db: Database, settings: Settings, mode: str) -> int:
    """Run one browser's board; refused (ServiceError) without a valid session."""
    token = os.environ.pop(SESSION_ENV, None)
    actor = check_session(db, token, now=utcnow())

    def recheck() -> object:
        return check_session(db, token, now=utcnow())

    app: _BoardApp
    if mode == "desk":
        app = BoardDeskApp(db=db, actor=actor, settings=settings, recheck=recheck)
    else:
        try:
            cycle = float(os.environ.get(CYCLE_ENV, "15"))
        except ValueError:
            cycle = 15.0
        app = WallboardApp(
            db=db, actor=actor, settings=settings, recheck=recheck, cycle_seconds=cycle
        )
    set_language(settings.language)
    configure_desk_logging(Path(settings.log_dir) if settings.log_dir else None)
    app.run()
    return 0
