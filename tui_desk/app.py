"""DeskApp: the Textual application shell (stylesheet, app-wide keys, screens, palette).

Identity, settings and the database are resolved by the CLI before the app starts and
are injected here; the app itself never reads the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.errors import MarkupError
from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.content import Content
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui_desk.clock import utcnow
from tui_desk.collector import FULL_EVERY_SECONDS, PacedCollector, settle_collector
from tui_desk.commands import DeskCommands
from tui_desk.config import Settings
from tui_desk.db.engine import Database, DatabaseBusy, database_unreachable, desk_page_cache
from tui_desk.i18n import N_, _, set_language
from tui_desk.logs import Outage, configure_desk_logging
from tui_desk.rules.profile import load_profile
from tui_desk.screens import localise_bindings
from tui_desk.screens.confirm import DiscardModal
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.failures import (
    HandlesWorkerFailures,
    WorkerFailure,
    first_line,
    task_of,
)
from tui_desk.screens.form import FormModal
from tui_desk.screens.help import HelpModal, help_rows
from tui_desk.services.context import Actor
from tui_desk.services.desk import DeskService
from tui_desk.services.dialing import Dialer
from tui_desk.services.errors import ServiceError
from tui_desk.widgets import strips

logger = logging.getLogger("tui_desk")

KEY_WORK_SECONDS = 0.5
"""How long after a key its work (a claim, the case read and drawn) may still be under
way: the desk's paced full collection waits that long (``tui_desk.collector``)."""

_FUNCTION_KEY = re.compile(r"f[0-9]{1,2}")
_KEY_NAMES = {
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "shift+tab": "Shift+Tab",
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "dollar_sign": "$",
    "slash": "/",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "space": "Space",
}


strips.install()  # lines of the screen freed by their reference count (widgets/strips)


class DeskApp(App[None], inherit_bindings=False):
    """One operator's desk; one process per SSH session."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-desk"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {DeskCommands}
    ESCAPE_TO_MINIMIZE: ClassVar[bool] = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f1,question_mark",
            "help",
            N_("Help"),
            tooltip=N_("List every key of the desk"),
            id="app.help",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            N_("Commands"),
            tooltip=N_("Search the desk's commands"),
            show=False,
            priority=True,
            id="app.command_palette",
        ),
        Binding(
            "f6",
            "board",
            N_("Board"),
            tooltip=N_("Supervisors: the live board of queues, agents and deadlines"),
            id="app.board",
        ),
        Binding(
            "q",
            "quit",
            N_("Quit"),
            tooltip=N_("Leave the desk (the case you hold is released)"),
            id="app.quit",
        ),
        Binding(
            "ctrl+q",
            "quit",
            N_("Quit"),
            tooltip=N_("Leave the desk from anywhere, even inside a dialog"),
            show=False,
            priority=True,
            id="app.quit.anywhere",
        ),
        Binding(
            "ctrl+c",
            "help_quit",
            N_("How to quit"),
            tooltip=N_("Tell how to leave the desk"),
            show=False,
            system=True,
            id="app.help_quit",
        ),
    ]

    def __init__(
        self,
        *,
        db: Database,
        actor: Actor,
        settings: Settings,
        clock: Callable[[], dt.datetime] = utcnow,
        settle_collector: bool = False,
    ) -> None:
        """``settle_collector``: the desk owns the process (``run_desk``): freeze what
        exists after the first frame and set the collector's thresholds."""
        super().__init__()
        self._settle_collector = settle_collector
        self.paced_collector: PacedCollector | None = None
        self._last_key_at = -KEY_WORK_SECONDS
        localise_bindings(self)
        self.db = db
        self.actor = actor
        self.settings = settings
        profile = load_profile(settings.profile)
        if settings.lease_minutes != Settings.lease_minutes:
            # The site's setting (config file, TUI_DESK_LEASE_MINUTES) overrides the policy
            # profile's lease length for this desk's claims and renewals.
            profile = replace(profile, lease_minutes=settings.lease_minutes)
        self.profile = profile
        self.service = DeskService(
            db=db,
            actor=actor,
            profile=self.profile,
            clock=clock,
            export_dir=Path(settings.exports_dir).expanduser() if settings.exports_dir else None,
            print_command=settings.print_command,
        )
        # The phone system, when one is configured (else the desk shows numbers to dial).
        self.dialer = Dialer.from_settings(settings)
        self.hung_up = False
        self._previous_signals: dict[signal.Signals, Any] = {}
        # The database not answering is one state of the desk, not a failure per worker:
        # one line in the log when it starts and one when it ends, a steady line on
        # screen meanwhile, and a probe every few seconds that notices it is back.
        self.outage = Outage(logger, clock=self.service.now)
        self._probe_timer: Timer | None = None

    PROBE_SECONDS: ClassVar[float] = 2.0
    """How often the desk asks whether the database is back, during an outage."""

    @property
    def outage_text(self) -> str | None:
        """The steady line while the database does not answer (None while it does)."""
        since = self.outage.since
        if since is None:
            return None
        from tui_desk.formatting import local

        shown = local(since, self.service.timezone, "%H:%M:%S")
        return _("database unavailable since {time}, retrying").format(time=shown)

    def database_unavailable(self, error: BaseException) -> None:
        """A worker could not reach the database: begin the outage (once)."""
        if not self.outage.failed(error):
            return
        self._show_outage()
        if self._probe_timer is None:
            self._probe_timer = self.set_interval(self.PROBE_SECONDS, self._probe)

    def database_back(self) -> None:
        """The database answered again: end the outage and take the line away."""
        if self._probe_timer is not None:
            self._probe_timer.stop()
            self._probe_timer = None
        if self.outage.answered():
            self._show_outage()

    def _show_outage(self) -> None:
        from tui_desk.widgets.outage import OutageLine

        text = self.outage_text
        for screen in self.screen_stack:
            for line in screen.query(OutageLine):
                line.show_outage(text)

    def _probe(self) -> None:
        self.run_worker(
            self._ask_database, thread=True, group="db-probe", exclusive=True, exit_on_error=False
        )

    def _ask_database(self) -> None:
        self.service.database_answers()
        self.call_from_thread(self.database_back)

    def get_default_screen(self) -> Screen[None]:
        return DeskScreen(self.service)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notify as Textual does; while a form is open the message is shown on its notice
        line instead of a toast over its fields (the toast waits for the desk)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
        screen = self.screen if self._screen_stack else None
        if isinstance(screen, FormModal):
            text = Text(message)
            if markup:
                with contextlib.suppress(MarkupError):
                    text = Text.from_markup(message)
            if title:
                text = Text.assemble((f"{title}: ", "bold"), text)
            seconds = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
            screen.show_notice(text, severity, seconds)

    def get_driver_class(self) -> type[Driver]:
        if sys.platform == "win32":
            return super().get_driver_class()
        from tui_desk.driver import DeskDriver

        return DeskDriver

    def on_mount(self) -> None:
        # An SSH session that drops sends SIGHUP (and SIGTERM on shutdown); the driver
        # reports the end of input. Each leaves the desk the normal way, so the case lease
        # is released and no process is left spinning on a dead terminal.
        #
        # A plain signal handler, not the event loop's: when nobody reads the terminal the
        # loop can be stuck handing output to the driver's full writer queue, and only a
        # handler that runs in the middle of that wait can tell the driver to stop waiting
        # for the terminal (the loop then gets going and leaves).
        loop = asyncio.get_running_loop()

        def on_signal(_signum: int, _frame: object) -> None:
            leaving = getattr(self._driver, "leaving", None)
            if callable(leaving):
                leaving()
            loop.call_soon_threadsafe(self.hang_up)

        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (tests)
                self._previous_signals[sig] = signal.signal(sig, on_signal)
        if self._settle_collector:
            # What lives for the session exists once the first frame is drawn: out of
            # the collector's sight from then on (see tui_desk.collector).
            self.call_after_refresh(settle_collector)
            # Full collections between keys, at the desk's pace (tui_desk.collector).
            self.paced_collector = PacedCollector(busy=self._typed_just_now)
            self.set_interval(FULL_EVERY_SECONDS, self.paced_collector.tick)

    def on_unmount(self) -> None:
        # The process may go on (tests, the board's viewer): its signals are its own again.
        for sig, handler in self._previous_signals.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
        self._previous_signals.clear()

    def hang_up(self) -> None:
        """The terminal is gone or the session ends: leave at once, asking nothing.

        Unmounting the desk releases the case in hand and signs the agent off the board.
        The terminal may no longer be read (a closed SSH link, a supervisor's ``kill``):
        its output waits only a moment for it, so the desk cannot block on it.
        """
        if not self.hung_up:
            self.hung_up = True
            leaving = getattr(self._driver, "leaving", None)
            if callable(leaving):
                leaving()
            self.exit()

    def _typed_just_now(self) -> bool:
        """A key came in the last :data:`KEY_WORK_SECONDS`: its work may be under way."""
        return time.monotonic() - self._last_key_at < KEY_WORK_SECONDS

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key_at = time.monotonic()
        # A key typed while a form saves belongs to what comes after the form (the next
        # case, the next form): the form keeps it and hands it on when it closes.
        if isinstance(event, events.Key) and not event.is_forwarded:
            top = self.screen_stack[-1] if self.screen_stack else None
            if isinstance(top, FormModal) and top.saving:
                top.keep_typed(event.key, event.character)
                return
        await super().on_event(event)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker that raised ends here (screens forward theirs, see
        ``tui_desk.screens.failures``): log it, put its screen right, tell the operator."""
        if event.state is WorkerState.ERROR:
            self.handle_worker_error(event.worker)

    def handle_worker_error(self, worker: Worker[Any]) -> None:
        error = worker.error
        failure = self._failure(worker, error)
        unreachable = error is not None and database_unreachable(error)
        if unreachable and error is not None:
            # Logged once for the whole outage (not per worker), shown as a steady line.
            self.database_unavailable(error)
        elif error is not None and not isinstance(error, ServiceError):
            # A refusal is the service speaking; anything else is a fault to look into.
            logger.error(
                "worker %r (group %r) of %s failed",
                worker.name,
                worker.group,
                type(worker.node).__name__,
                exc_info=(type(error), error, error.__traceback__),
            )
            self.log.error(f"worker {worker.name!r} ({worker.group}) failed: {error!r}")
        owner = worker.node
        shown = False
        if isinstance(owner, HandlesWorkerFailures) and owner.is_attached:
            try:
                shown = owner.worker_failed(failure)
            except Exception:  # a screen closing meanwhile must not take the desk down
                logger.exception("%s could not take in a failed worker", type(owner).__name__)
        if not shown and not unreachable:
            self.notify(failure.text, title=failure.task, severity="error", markup=False)

    @staticmethod
    def _failure(worker: Worker[Any], error: BaseException | None) -> WorkerFailure:
        task = task_of(worker)
        if isinstance(error, ServiceError):
            reason = str(error)
            text = reason
        else:
            if error is not None and database_unreachable(error):
                reason = _("the database is unavailable; nothing was saved, try again")
            elif isinstance(error, DatabaseBusy):
                reason = _("the database is busy, try again")
            else:
                reason = first_line(error, 160)
            text = _("{task} failed: {reason}").format(task=task, reason=reason)
        outage = error is not None and database_unreachable(error)
        return WorkerFailure(worker, error, task, reason, text, outage=outage)

    def action_board(self) -> None:
        from tui_desk.screens.supervisor import SupervisorScreen

        if isinstance(self.screen, SupervisorScreen):
            self.pop_screen()
            return
        if not self.service.can_view_board():
            self.notify(
                _("The board is for supervisors; ask one if you need its figures."),
                severity="warning",
            )
            return
        self.push_screen(SupervisorScreen(self.service))

    async def action_quit(self) -> None:
        """Quit; when a form holds something typed, ask first ("y" quits)."""
        if isinstance(self.screen, DiscardModal):
            return
        dirty = [
            screen
            for screen in self.screen_stack
            if isinstance(screen, FormModal) and screen.lease_message is None and screen.dirty
        ]
        if not dirty:
            self.exit()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.exit()

        self.push_screen(
            DiscardModal(_("Quit the desk and discard what you typed in the open form?")),
            answered,
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            self.screen.dismiss()
            return
        self.push_screen(HelpModal(help_rows(self.screen)))

    def get_key_display(self, binding: Binding) -> str:
        # Plain ASCII names: Textual's arrow and return symbols are "ambiguous width" and
        # shift whole lines in terminals that draw those characters double-width.
        if binding.key_display:
            return binding.key_display
        if _FUNCTION_KEY.fullmatch(binding.key):
            return binding.key.upper()
        if binding.key in _KEY_NAMES:
            return _KEY_NAMES[binding.key]
        return super().get_key_display(binding)

    def format_title(self, title: str, sub_title: str) -> Content:
        # An ASCII separator: the em dash is "ambiguous width" and shifts the line in
        # terminals set to CJK widths (PuTTY on a Chinese Windows, for one).
        if not sub_title:
            return Content(title)
        return Content.assemble(Content(title), (" | ", "dim"), Content(sub_title))


def run_desk(db: Database, actor: Actor, settings: Settings) -> None:
    """Open the desk in this terminal until the operator quits or the session hangs up."""
    set_language(settings.language)
    configure_desk_logging(Path(settings.log_dir) if settings.log_dir else None)
    desk_page_cache(db)
    try:
        DeskApp(db=db, actor=actor, settings=settings, settle_collector=True).run()
    finally:
        gc.enable()  # off since the start (collector.quiet_start) if no frame was drawn
    _let_go_of_dead_terminal()


def _let_go_of_dead_terminal() -> None:
    """After a hang-up the terminal is gone and flushing to it fails (EIO): point the
    standard streams at /dev/null so the process ends with its own status, not Python's
    "could not flush" 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
