"""Home-visit forms (process steps 3-4): book, move, cancel, confirm, and the visit report.

Booking a proposed slot is three keys: ``V`` opens the form with the next valid slots
numbered, a digit picks one, Enter books it. A typed time (``MM-DD HH:MM``) with a
collector's login books any other slot. A refusal names every rule that failed and the
list is replaced by fresh suggestions read in the same transaction; what was typed stays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_desk.domain import DOOR_METHODS
from tui_desk.formatting import label, local, money, weekday
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.casework_modals import CaseFormModal, parse_amount_field
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.form import FieldProblem, Save, checked
from tui_desk.screens.parsing import parse_slot_start
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.services.visits import BookingRefused, VisitReportInput
from tui_desk.services.visits.reports import report_due_from, report_too_early
from tui_desk.views.calendar import CalendarVisit
from tui_desk.views.case import CaseBundle
from tui_desk.views.visits import SlotOption
from tui_desk.widgets.choice import Choice

NOTICE_CHANNELS = ("phone", "sms", "visit", "email", "letter")
OUTCOMES = ("plan_discussed", "paid_at_door", "borrower_absent", "refused", "wrong_address")


def slot_line(index: int, slot: SlotOption, timezone: str) -> Text:
    start = slot.starts_at.astimezone(dt.UTC)
    text = Text()
    text.append(f"{index} ", style="bold")
    text.append(f"{weekday(local_day(start, timezone))} ")
    text.append(
        local(start, timezone, "%m-%d %H:%M") + "-" + local(slot.ends_at, timezone, "%H:%M")
    )
    text.append(f"  {slot.collector_name}", style="bold")
    text.append(f"  {slot.district}", style="dim")
    return text


def local_day(ts: dt.datetime, timezone: str) -> dt.date:
    return dt.date.fromisoformat(local(ts, timezone, "%Y-%m-%d"))


def _yes_no(widget_id: str, value: str = "yes") -> Choice:
    return Choice([("yes", label("yes_no", "yes")), ("no", label("yes_no", "no"))], value=value,
                  id=widget_id)  # fmt: skip


class _SlotForm(CaseFormModal):
    """A form that proposes slots (numbered 1-9) and reads the chosen or typed one."""

    replacing: int | None = None

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        self.slots: list[SlotOption] = []
        self.slots_loaded = False
        self.save_when_loaded = False
        self.fresh: list[SlotOption] | None = None

    def slot_fields(self) -> list[tuple[str, Widget]]:
        fields: list[tuple[str, Widget]] = [
            (
                _("Slot"),
                Input(
                    placeholder=_("1-9 = a proposed slot, or MM-DD HH:MM"),
                    id="visit-slot",
                    compact=True,
                ),
            ),
            (
                _("Collector"),
                Input(placeholder=_("login, for a typed time"), id="visit-collector", compact=True),
            ),
        ]
        return fields

    def override_field(self) -> list[tuple[str, Widget]]:
        if not self.service.can_override_booking():
            return []
        return [
            (
                _("Override"),
                Input(
                    placeholder=_("supervisor: reason to waive lead time/spacing/notice"),
                    id="visit-override",
                    compact=True,
                ),
            )
        ]

    def on_mount(self) -> None:
        box = self.query_one(".form-box")
        anchor = box.query(".form-intro").first() if box.query(".form-intro") else None
        slots = Static(Text(_("Looking for free slots..."), style="dim"), id="visit-slots")
        box.mount(slots, after=anchor or box.query_one(".form-title"))
        if self.blocked():
            slots.display = False
            return
        self._load_slots()

    def blocked(self) -> bool:
        """True when the case cannot have a visit at all (the intro says why)."""
        return False

    def max_slots(self) -> int:
        """Nine proposals, fewer on a short terminal when the form has more fields."""
        room = self.app.size.height - 8 - len(self.field_widgets)
        return max(3, min(9, room))

    @work(thread=True, group="visit-slots", exclusive=True, exit_on_error=False)
    def _load_slots(self) -> None:
        try:
            slots = self.service.visit_suggestions(self.bundle.case_id, replacing=self.replacing)
        except ServiceError as exc:  # shown: the form stays usable
            self.app.call_from_thread(self._slots_problem, str(exc))
            return
        self.app.call_from_thread(self.show_slots, slots)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "visit-slots":
            self._slots_problem(failure.reason)
        return super().worker_failed(failure)

    def show_slots(self, slots: Sequence[SlotOption], *, fresh: bool = False) -> None:
        self.slots = list(slots)[: self.max_slots()]
        self.slots_loaded = True
        tz = self.service.timezone
        body = Text()
        if fresh:
            body.append(_("Fresh suggestions:") + "\n", style="bold")
        if not self.slots:
            body.append(_("No free slot in the next weeks for this case."), style="yellow")
        for index, slot in enumerate(self.slots, start=1):
            if index > 1:
                body.append("\n")
            body.append_text(slot_line(index, slot, tz))
        self.query_one("#visit-slots", Static).update(body)
        if self.slots and not self.value("visit-collector").strip():
            self.query_one("#visit-collector", Input).placeholder = _(
                "login, for a typed time (e.g. {login})"
            ).format(login=self.slots[0].collector_login)
        if self.save_when_loaded:
            # A digit and Enter typed before the proposals arrived: book it now.
            self.save_when_loaded = False
            self.save()

    def _slots_problem(self, text: str) -> None:
        self.slots_loaded = True
        self.save_when_loaded = False
        self.query_one("#visit-slots", Static).update(Text(text, style="red"))

    def chosen(self) -> tuple[int | None, str | None, dt.datetime]:
        """(collector id, or login typed, start) of the slot picked or typed."""
        raw = self.value("visit-slot").strip()
        if len(raw) == 1 and raw in "0123456789":
            index = int(raw)
            if not 1 <= index <= len(self.slots):
                raise FieldProblem(
                    "visit-slot",
                    _("there is no proposed slot {n}; choose 1-{max}").format(
                        n=raw, max=max(1, len(self.slots))
                    )
                    if self.slots
                    else _("no slot is proposed: type a time MM-DD HH:MM and a collector"),
                )
            slot = self.slots[index - 1]
            return slot.collector_id, None, slot.starts_at
        if not raw:
            raise FieldProblem("visit-slot", _("choose a proposed slot (1-9) or type a time"))
        now = self.service.now()
        start = checked("visit-slot", lambda: parse_slot_start(raw, now, self.service.timezone))
        assert isinstance(start, dt.datetime)
        login = self.value("visit-collector").strip()
        if not login:
            raise FieldProblem("visit-collector", _("a typed time needs the collector's login"))
        return None, login, start

    def override_reason(self) -> str | None:
        if not self.query("#visit-override"):
            return None
        return self.value("visit-override").strip() or None

    def remember_refusal(self, exc: BookingRefused) -> None:
        """Called in the worker: keep the fresh suggestions to show with the refusal."""
        self.fresh = list(exc.suggestions)

    def _refused(self, reason: str) -> None:
        super()._refused(reason)
        if self.fresh is not None:
            self.show_slots(self.fresh, fresh=True)
            self.fresh = None


class BookVisitModal(_SlotForm):
    """Book a home visit for the selected case."""

    FORM_TITLE = N_("Book a home visit")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return [*self.slot_fields(), *self.override_field()]

    def blocked(self) -> bool:
        return bool(self.service.booking_problems(self.bundle))

    def intro(self) -> Text | None:
        problems = self.service.booking_problems(self.bundle)
        if problems:
            return Text(
                _("Cannot book yet: {problems}.").format(problems="; ".join(problems)),
                style="yellow",
            )
        return Text(_("A digit picks a slot, Enter books it."), style="dim")

    def advance(self) -> None:
        # "V 1 Enter": a proposed slot is booked straight from the slot field.
        raw = self.value("visit-slot").strip()
        if self.focused is self.query_one("#visit-slot") and len(raw) == 1 and raw in "0123456789":
            if not self.slots_loaded and not self.blocked():
                self.save_when_loaded = True
                self.error(_("waiting for the proposed slots..."))
                return
            self.save()
            return
        super().advance()

    def prepare(self) -> Save:
        collector_id, login, start = self.chosen()
        override = self.override_reason()
        case_id, version = self.bundle.case_id, self.version
        tz = self.service.timezone

        def write() -> str:
            try:
                name = self.service.book_visit(
                    case_id, collector_id=collector_id, collector_login=login, starts_at=start,
                    override_reason=override, expected_version=version,
                )  # fmt: skip
            except BookingRefused as exc:
                self.remember_refusal(exc)
                raise
            return _("Visit booked: {when} with {collector}").format(
                when=local(start, tz, "%m-%d %H:%M"), collector=name
            )

        return write


class RescheduleVisitModal(_SlotForm):
    """Move a visit: new slot, who asked, how the other side was told, why."""

    FORM_TITLE = N_("Move a visit")

    def __init__(self, service: DeskService, bundle: CaseBundle, visit: CalendarVisit) -> None:
        super().__init__(service, bundle)
        self.visit = visit
        self.replacing = visit.appointment_id

    def intro(self) -> Text:
        tz = self.service.timezone
        return Text(
            _("Now {when} with {collector}. A change needs {hours} h notice.").format(
                when=local(self.visit.starts_at, tz, "%m-%d %H:%M"),
                collector=self.visit.collector_name,
                hours=self.service.notice_hours(),
            ),
            style="dim",
        )

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return [
            *self.slot_fields(),
            (_("Asked by"), _side_choice("visit-side")),
            (_("Told how"), _channel_choice("visit-told")),
            (_("Reason"), Input(placeholder=_("why (required)"), id="visit-reason", compact=True)),
            *self.override_field(),
        ]

    def prepare(self) -> Save:
        collector_id, login, start = self.chosen()
        reason = self.value("visit-reason").strip()
        if not reason:
            raise FieldProblem("visit-reason", _("a change of visit needs a reason"))
        side, told = self.choice("visit-side"), self.choice("visit-told")
        override = self.override_reason()
        appointment_id = self.visit.appointment_id
        tz = self.service.timezone

        def write() -> str:
            try:
                self.service.reschedule_visit(
                    appointment_id, collector_id=collector_id, collector_login=login,
                    starts_at=start, side=side, notified_how=told, reason=reason,
                    override_reason=override,
                )  # fmt: skip
            except BookingRefused as exc:
                self.remember_refusal(exc)
                raise
            return _("Visit moved to {when}").format(when=local(start, tz, "%m-%d %H:%M"))

        return write


def _side_choice(widget_id: str) -> Choice:
    return Choice([(v, label("side", v)) for v in ("borrower", "bank")], id=widget_id)


def _channel_choice(widget_id: str) -> Choice:
    return Choice([(v, label("channel", v)) for v in NOTICE_CHANNELS], id=widget_id)


class CancelVisitModal(CaseFormModal):
    """Cancel a visit with the notice rule; the case goes back to the queue."""

    FORM_TITLE = N_("Cancel a visit")

    def __init__(self, service: DeskService, bundle: CaseBundle, visit: CalendarVisit) -> None:
        super().__init__(service, bundle)
        self.visit = visit

    def intro(self) -> Text:
        tz = self.service.timezone
        return Text(
            _("Cancel the visit of {when} with {collector} ({hours} h notice needed).").format(
                when=local(self.visit.starts_at, tz, "%m-%d %H:%M"),
                collector=self.visit.collector_name,
                hours=self.service.notice_hours(),
            ),
            style="dim",
        )

    def fields(self) -> Sequence[tuple[str, Widget]]:
        fields: list[tuple[str, Widget]] = [
            (_("Asked by"), _side_choice("visit-side")),
            (_("Told how"), _channel_choice("visit-told")),
            (_("Reason"), Input(placeholder=_("why (required)"), id="visit-reason", compact=True)),
        ]
        if self.service.can_override_booking():
            fields.append(
                (
                    _("Override"),
                    Input(
                        placeholder=_("supervisor: reason to waive the notice period"),
                        id="visit-override",
                        compact=True,
                    ),
                )
            )
        return fields

    def prepare(self) -> Save:
        reason = self.value("visit-reason").strip()
        if not reason:
            raise FieldProblem("visit-reason", _("a change of visit needs a reason"))
        side, told = self.choice("visit-side"), self.choice("visit-told")
        override = (
            self.value("visit-override").strip() or None if self.query("#visit-override") else None
        )
        appointment_id = self.visit.appointment_id

        def write() -> str:
            self.service.cancel_visit(
                appointment_id, side=side, notified_how=told, reason=reason,
                override_reason=override,
            )  # fmt: skip
            return _("Visit cancelled; the case is back in the queue")

        return write


class VisitReportModal(CaseFormModal):
    """The on-site verification: identity shown, file checked, ability to pay, money taken."""

    UNITS: ClassVar[dict[str, str]] = {
        "rep-income": "money",
        "rep-obligations": "money",
        "rep-affordable": "money",
        "rep-collected": "money",
    }
    FORM_TITLE = N_("Visit report")
    SCROLLING = True

    def __init__(self, service: DeskService, bundle: CaseBundle, visit: CalendarVisit) -> None:
        super().__init__(service, bundle)
        self.visit = visit

    @property
    def too_early(self) -> str | None:
        """Why no report can be saved yet (the visit is ahead), or None."""
        if self.service.now() < report_due_from(self.visit.starts_at):
            return report_too_early(self.visit.starts_at, self.service.timezone)
        return None

    def intro(self) -> Text:
        text = Text(
            _("Visit of {when}. Amounts: digits, e.g. 1500 or 1500.50.").format(
                when=local(self.visit.starts_at, self.service.timezone, "%m-%d %H:%M")
            ),
            style="dim",
        )
        # Said before any field is filled in, not after all fourteen are.
        early = self.too_early
        if early is not None:
            text.append("\n" + early, style="bold red")
        return text

    def fields(self) -> Sequence[tuple[str, Widget]]:
        def amount(widget_id: str, hint: str) -> Input:
            return Input(placeholder=hint, id=widget_id, compact=True)

        return [
            (
                _("Outcome"),
                Choice([(v, label("visit_outcome", v)) for v in OUTCOMES], id="rep-outcome"),
            ),
            (_("Work ID shown"), _yes_no("rep-workid")),
            (_("Name matches"), _yes_no("rep-name")),
            (_("Phone matches"), _yes_no("rep-contact")),
            (_("Address ok"), _yes_no("rep-address")),
            (_("Documents ok"), _yes_no("rep-docs")),
            (
                _("Mismatches"),
                Input(placeholder=_("what differs from the file"), id="rep-mismatch", compact=True),
            ),
            (_("Income/month"), amount("rep-income", _("declared, optional"))),
            (_("Obligations"), amount("rep-obligations", _("regular, per month, optional"))),
            (_("Affordable"), amount("rep-affordable", _("monthly amount assessed"))),
            (_("Collected"), amount("rep-collected", _("money taken at the door, or empty"))),
            (
                _("Method"),
                Choice([(v, label("payment_channel", v)) for v in DOOR_METHODS], id="rep-method"),
            ),
            (
                _("Receipt no."),
                Input(placeholder=_("if money was taken"), id="rep-receipt", compact=True),
            ),
            (_("Note"), Input(placeholder=_("optional"), id="rep-note", compact=True)),
        ]

    def _optional_amount(self, widget_id: str) -> int | None:
        raw = self.value(widget_id).strip()
        if not raw:
            return None
        return parse_amount_field(widget_id, raw)

    def prepare(self) -> Save:
        early = self.too_early
        if early is not None:
            raise FieldProblem("rep-outcome", early)
        # Checked in the order of the fields, so the first problem gets the focus.
        outcome = self.choice("rep-outcome")
        mismatches = self.value("rep-mismatch").strip() or None
        checks = [self.choice(f"rep-{k}") == "yes" for k in ("name", "contact", "address")]
        if not all(checks) and mismatches is None:
            raise FieldProblem("rep-mismatch", _("say what did not match the file"))
        income = self._optional_amount("rep-income")
        obligations = self._optional_amount("rep-obligations")
        affordable = self._optional_amount("rep-affordable")
        collected = self._optional_amount("rep-collected") or 0
        receipt = self.value("rep-receipt").strip() or None
        if collected and receipt is None:
            raise FieldProblem("rep-receipt", _("money taken at the door needs a receipt number"))
        report = VisitReportInput(
            outcome=outcome,  # type: ignore[arg-type]
            work_id_shown=self.choice("rep-workid") == "yes",
            name_checked=checks[0],
            contact_checked=checks[1],
            address_checked=checks[2],
            documents_ok=self.choice("rep-docs") == "yes",
            mismatches=mismatches,
            declared_income_minor=income,
            obligations_minor=obligations,
            affordable_monthly_minor=affordable,
            collected_minor=collected,
            collected_method=self.choice("rep-method") if collected else None,
            receipt_no=receipt,
            note=self.value("rep-note"),
        )
        appointment_id = self.visit.appointment_id
        currency = self.bundle.detail.currency

        def write() -> str:
            self.service.record_visit_report(appointment_id, report)
            text = _("Visit report saved: {outcome}").format(
                outcome=label("visit_outcome", outcome)
            )
            if collected:
                text += " " + _("({amount} collected, to reconcile)").format(
                    amount=money(collected, currency)
                )
            return text

        return write


class VisitMenuModal(ModalScreen[str | None]):
    """What to do with the visit under the calendar cursor: one key each."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_menu", N_("Cancel"), tooltip=N_("Close"), id="visit.cancel"),
        Binding("1,c", "pick('confirm')", N_("Confirm"), tooltip=N_("The borrower confirmed"),
                id="visit.confirm"),
        Binding("2,m", "pick('move')", N_("Move"), tooltip=N_("Reschedule the visit"),
                id="visit.move"),
        Binding("3,x", "pick('cancel')", N_("Cancel visit"), tooltip=N_("Cancel the visit"),
                id="visit.cancel_visit"),
        Binding("4,r", "pick('report')", N_("Report"), tooltip=N_("Record the visit report"),
                id="visit.report"),
        Binding("5,o", "pick('open')", N_("Open case"), tooltip=N_("Select the visit's case"),
                id="visit.open"),
        Binding("6,s", "pick('sheet')", N_("Day sheet"),
                tooltip=N_("Export the collector's day sheet for that day (audited)"),
                id="visit.day_sheet"),
    ]  # fmt: skip

    def __init__(self, visit: CalendarVisit, timezone: str) -> None:
        super().__init__(classes="case-form")
        localise_bindings(self)
        self.visit = visit
        self.timezone = timezone

    def compose(self) -> ComposeResult:
        v = self.visit
        with Vertical(classes="form-box"):
            yield Static(
                Text(
                    f"{v.borrower_name} (#{v.case_id})  "
                    + local(v.starts_at, self.timezone, "%Y-%m-%d %H:%M")
                    + "-"
                    + local(v.ends_at, self.timezone, "%H:%M"),
                    style="bold",
                ),
                classes="form-title",
            )
            yield Static(
                Text(f"{v.collector_name}  {v.district}  " + label("appointment_status", v.status)),
                classes="form-intro",
            )
            yield Static(
                Text(
                    "1 " + _("Confirm") + "   2 " + _("Move") + "   3 " + _("Cancel visit")
                    + "   4 " + _("Report") + "   5 " + _("Open case")
                    + "   6 " + _("Day sheet") + "   Esc",
                ),
                classes="form-hint",
            )  # fmt: skip

    def action_pick(self, what: str) -> None:
        self.dismiss(what)

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)
