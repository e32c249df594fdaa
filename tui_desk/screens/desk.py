"""The one working screen: queue, case and contact log, collector's week, plan/agreement.

Wide terminals (>= 120 columns and >= 36 rows) show all four panes, the queue across
the top and the selected case below it; wide but short ones show the queue beside one
other pane; narrow ones show one pane at a time. F2-F5 choose a pane, Tab/Shift+Tab
cycle through them.

Every database read runs in a thread worker that posts a ``*Loaded`` message back;
worker failures are turned into a notification in ``on_worker_state_changed``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.events import DescendantFocus
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from tui_desk.i18n import N_, _, ngettext
from tui_desk.messages import (
    CalendarLoaded,
    CaseLoaded,
    CaseSelected,
    PersonalDataRevealed,
    QueueLoaded,
)
from tui_desk.screens import localise_bindings
from tui_desk.services.desk import CaseBundle, CaseDetail, DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.services.personal import PersonalField
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.appointment_calendar import AppointmentCalendar
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.contact_log import ContactLogPanel
from tui_desk.widgets.formatting import label
from tui_desk.widgets.queue_table import QueueTable


@dataclass(frozen=True)
class Pane:
    name: str
    title: str
    key: str
    focus: str
    """Selector of the widget that takes the focus when the pane is shown."""


PANES: tuple[Pane, ...] = (
    Pane("queue", N_("Queue"), "F2", "#queue"),
    Pane("contacts", N_("Case and contacts"), "F3", "#contact-rows"),
    Pane("calendar", N_("Collector's week"), "F4", "#calendar-days"),
    Pane("agreement", N_("Plan and agreement"), "F5", "#agreement-text"),
)
PANE_NAMES = tuple(p.name for p in PANES)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


class DeskScreen(Screen[None], inherit_bindings=False):
    """Four panes on the same case; the queue cursor decides which case that is."""

    # Textual types these as lists on Screen (not ClassVar), so no annotation here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    DEBOUNCE_SECONDS: ClassVar[float] = 0.15
    """Holding an arrow key moves the cursor ~30 rows/s; load only where it comes to rest."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f2",
            "show_pane('queue')",
            N_("Queue"),
            tooltip=N_("Show the queue of the most urgent open cases"),
            id="desk.pane.queue",
        ),
        Binding(
            "f3",
            "show_pane('contacts')",
            N_("Contacts"),
            tooltip=N_("Show the selected case and its contact log"),
            id="desk.pane.contacts",
        ),
        Binding(
            "f4",
            "show_pane('calendar')",
            N_("Calendar"),
            tooltip=N_("Show the week of the case's collector"),
            id="desk.pane.calendar",
        ),
        Binding(
            "f5",
            "show_pane('agreement')",
            N_("Agreement"),
            tooltip=N_("Show the case's repayment plan and agreement"),
            id="desk.pane.agreement",
        ),
        Binding(
            "tab",
            "cycle_pane(1)",
            N_("Next pane"),
            tooltip=N_("Move to the next pane"),
            show=False,
            id="desk.pane.next",
        ),
        Binding(
            "shift+tab",
            "cycle_pane(-1)",
            N_("Previous pane"),
            tooltip=N_("Move to the previous pane"),
            show=False,
            id="desk.pane.previous",
        ),
        Binding(
            "r,ctrl+r",
            "refresh_desk",
            N_("Refresh"),
            tooltip=N_("Read the queue and the selected case again"),
            id="desk.refresh",
        ),
        Binding(
            "left_square_bracket",
            "week(-1)",
            N_("Prev week"),
            tooltip=N_("Show the collector's previous week"),
            show=False,
            id="desk.calendar.previous_week",
        ),
        Binding(
            "right_square_bracket",
            "week(1)",
            N_("Next week"),
            tooltip=N_("Show the collector's next week"),
            show=False,
            id="desk.calendar.next_week",
        ),
        Binding(
            "t",
            "this_week",
            N_("This week"),
            tooltip=N_("Show the collector's current week"),
            show=False,
            id="desk.calendar.this_week",
        ),
        Binding(
            "v",
            "reveal",
            N_("Reveal"),
            tooltip=N_(
                "Show one full ID number, address or phone number (recorded in the audit log)"
            ),
            id="desk.reveal",
        ),
    ]

    def __init__(self, service: DeskService) -> None:
        super().__init__(id="desk")
        localise_bindings(self)
        self.service = service
        self.pane = "queue"
        self.side_pane = "contacts"
        self.bundle: CaseBundle | None = None
        self._wanted: int | None = None
        self._reload_case = False
        self._debounce: Timer | None = None

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        tz = self.service.timezone
        yield Header(icon="#")
        with Container(id="desk-body"):
            with Vertical(id="pane-queue", classes="pane"):
                yield QueueTable(timezone=tz, id="queue")
            with Vertical(id="pane-contacts", classes="pane"):
                yield CaseHeader(timezone=tz, id="case-header")
                yield ContactLogPanel(timezone=tz, id="contacts")
            with Vertical(id="pane-calendar", classes="pane"):
                yield AppointmentCalendar(id="calendar")
            with Vertical(id="pane-agreement", classes="pane"):
                yield AgreementPanel(
                    timezone=tz, currency=self.service.profile.currency, id="agreement"
                )
        # The palette key is listed in the help; at 80 columns the footer needs the room.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        actor = self.service.actor
        self.sub_title = " | ".join(
            (
                f"{actor.name} ({label('role', actor.role)})",
                self.service.database_kind,
                _("profile {name}").format(name=self.service.profile.name),
            )
        )
        for pane in PANES:
            self.pane_widget(pane.name).border_title = f"{_(pane.title)} ({pane.key})"
        self._show("queue")
        self.refresh_queue()

    def pane_widget(self, name: str) -> Widget:
        return self.query_one(f"#pane-{name}")

    def _show(self, name: str, *, focus: bool = True) -> None:
        """Make ``name`` the active pane (the one displayed on a narrow terminal)."""
        self.pane = name
        if name != "queue":
            self.side_pane = name
        for pane in PANES:
            widget = self.pane_widget(pane.name)
            widget.set_class(pane.name == name, "-active")
            widget.set_class(pane.name == self.side_pane, "-side")
        if focus:
            target = self.query_one(next(p.focus for p in PANES if p.name == name))
            if not target.has_focus:
                target.focus()

    def action_show_pane(self, name: str) -> None:
        if name in PANE_NAMES:
            self._show(name)

    def action_cycle_pane(self, step: int) -> None:
        index = PANE_NAMES.index(self.pane)
        self._show(PANE_NAMES[(index + step) % len(PANE_NAMES)])

    @on(DescendantFocus)
    def _follow_focus(self, event: DescendantFocus) -> None:
        # A mouse click can move the focus into another pane: keep the active pane in step.
        for pane in PANES:
            if self.pane_widget(pane.name) in event.widget.ancestors_with_self:
                if pane.name != self.pane:
                    self._show(pane.name, focus=False)
                return

    # --- the queue -----------------------------------------------------------------------

    def refresh_queue(self) -> None:
        self.pane_widget("queue").border_subtitle = _("loading...")
        self._load_queue()

    @work(thread=True, group="queue", exclusive=True, exit_on_error=False)
    def _load_queue(self) -> None:
        rows = self.service.queue()
        if not get_current_worker().is_cancelled:
            self.post_message(QueueLoaded(rows, limit=self.service.queue_limit))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        table = self.query_one(QueueTable)
        table.show_rows(message.rows)
        self.pane_widget("queue").border_subtitle = (
            _("{count} most urgent open cases").format(count=len(message.rows))
            if message.rows
            else _("no open cases")
        )
        case_id = table.case_id
        if case_id is not None and (case_id != self._wanted or self._reload_case):
            self._select(case_id, immediate=True)
        self._reload_case = False

    def action_refresh_desk(self) -> None:
        self._reload_case = True
        self.refresh_queue()

    # --- the selected case ---------------------------------------------------------------

    def on_case_selected(self, message: CaseSelected) -> None:
        self._select(message.case_id, immediate=message.opened)
        if message.opened and self.has_class("-narrow"):
            self._show("contacts")

    def _select(self, case_id: int, *, immediate: bool) -> None:
        if case_id == self._wanted and not immediate:
            return
        self._wanted = case_id
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        if immediate:
            self._start_case_load(case_id)
        else:
            self._debounce = self.set_timer(
                self.DEBOUNCE_SECONDS, lambda: self._start_case_load(case_id)
            )

    def _start_case_load(self, case_id: int) -> None:
        self._debounce = None
        for name in PANE_NAMES[1:]:
            self.pane_widget(name).border_subtitle = _("loading...")
        self._load_case(case_id)

    @work(thread=True, group="case", exclusive=True, exit_on_error=False)
    def _load_case(self, case_id: int) -> None:
        bundle = self.service.case(case_id)
        if not get_current_worker().is_cancelled:
            self.post_message(CaseLoaded(bundle))

    def on_case_loaded(self, message: CaseLoaded) -> None:
        bundle = message.bundle
        if bundle.case_id != self._wanted:
            return
        self.bundle = bundle
        self.query_one(CaseHeader).show(bundle.detail)
        self.query_one(ContactLogPanel).show(bundle.contacts)
        self.query_one(AppointmentCalendar).show(bundle.calendar)
        self.query_one(AgreementPanel).show(bundle.agreement)
        count = len(bundle.contacts)
        self.pane_widget("contacts").border_subtitle = (
            ngettext(
                "case {case_id}, {count} contact attempt",
                "case {case_id}, {count} contact attempts",
                count,
            ).format(case_id=bundle.case_id, count=count)
            if count
            else _("case {case_id}, no contact attempts yet").format(case_id=bundle.case_id)
        )
        self.pane_widget("calendar").border_subtitle = _("[ ] week, t this week")
        self.pane_widget("agreement").border_subtitle = _("case {case_id}").format(
            case_id=bundle.case_id
        )

    @property
    def is_settled(self) -> bool:
        """No case load is waiting on the debounce and no worker is running."""
        return self._debounce is None and not any(
            w.is_running or w.state is WorkerState.PENDING for w in self.workers
        )

    # --- the calendar ------------------------------------------------------------------

    def action_week(self, step: int) -> None:
        week = self.query_one(AppointmentCalendar).week
        if self.bundle is None or week is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        self._load_calendar(self.bundle.case_id, week.week_start + dt.timedelta(days=7 * step))

    def action_this_week(self) -> None:
        if self.bundle is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        self._load_calendar(self.bundle.case_id, self.service.this_week())

    @work(thread=True, group="calendar", exclusive=True, exit_on_error=False)
    def _load_calendar(self, case_id: int, week_start: dt.date) -> None:
        week = self.service.calendar(case_id, week_start)
        if not get_current_worker().is_cancelled:
            self.post_message(CalendarLoaded(week))

    def on_calendar_loaded(self, message: CalendarLoaded) -> None:
        if message.week.case_id == self._wanted:
            self.query_one(AppointmentCalendar).show(message.week)

    # --- reveal --------------------------------------------------------------------------

    def action_reveal(self) -> None:
        if self.bundle is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        detail = self.bundle.detail

        def chosen(choice: RevealChoice | None) -> None:
            if choice is not None:
                self._load_revealed_value(detail.borrower_id, choice)

        self.app.push_screen(RevealModal(detail), chosen)

    @work(thread=True, group="reveal", exclusive=True, exit_on_error=False)
    def _load_revealed_value(self, borrower_id: int, choice: RevealChoice) -> None:
        value = self.service.reveal(borrower_id, choice.field, choice.phone_id)
        self.post_message(PersonalDataRevealed(choice.label, value))

    def on_personal_data_revealed(self, message: PersonalDataRevealed) -> None:
        # A toast rather than a pane: the full value disappears again by itself.
        self.notify(
            f"{message.label}: {message.value}",
            title=_("Revealed (recorded in the audit log)"),
            timeout=12,
            markup=False,
        )

    # --- failures ----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        group = event.worker.group
        if group == "queue":
            self.pane_widget("queue").border_subtitle = _("not loaded")
        elif group == "case":
            for name in PANE_NAMES[1:]:
                self.pane_widget(name).border_subtitle = _("not loaded")
        if isinstance(error, ServiceError):
            text = str(error)
        else:
            text = _("The database did not answer: {error}").format(
                error=_first_line(error) if error else "?"
            )
        self.notify(text, title=_("Could not load"), severity="error", markup=False)


@dataclass(frozen=True)
class RevealChoice:
    field: PersonalField
    phone_id: int | None
    label: str


class RevealModal(ModalScreen[RevealChoice | None]):
    """Pick the one value to reveal; each reveal is a separate audited event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss",
            N_("Cancel"),
            tooltip=N_("Close without revealing anything"),
            id="reveal.cancel",
        ),
    ]

    def __init__(self, detail: CaseDetail) -> None:
        super().__init__(id="reveal")
        localise_bindings(self)
        self.choices = [
            RevealChoice("id_number", None, _("ID number")),
            RevealChoice("address", None, _("Address")),
            *(
                RevealChoice(
                    "phone",
                    p.phone_id,
                    _("Phone {number} ({relation})").format(
                        number=p.number, relation=label("relation", p.relation)
                    ),
                )
                for p in detail.phones
            ),
        ]
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="reveal-box"):
            yield Static(
                Text(
                    _("Reveal personal data of {name}").format(name=self.detail.borrower_name),
                    style="bold",
                )
            )
            yield Static(
                Text(_("Your name and the field are recorded in the audit log."), style="dim")
            )
            yield OptionList(
                *(Option(Text(c.label), id=str(i)) for i, c in enumerate(self.choices)),
                id="reveal-options",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index])
