"""Log a contact attempt in two or three keys: ``l`` then an outcome digit.

The dialog opens on an outbound call to the borrower's preferred number; a digit picks
the outcome and saves at once when nothing else is needed (``l`` ``1``: "no answer").
A promise (7) asks amount and date, a callback (9) asks a time, both inline. Whether
the borrower may be contacted *now* is shown as soon as the dialog opens; a save the
rules refuse shows the rule's reason and keeps everything typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.formatting import label, local, money
from tui_desk.i18n import N_, _
from tui_desk.rules.outcomes import QUICK_OUTCOMES, QuickOutcome, by_key
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.form import FormModal
from tui_desk.screens.parsing import (
    InputProblem,
    parse_amount,
    parse_callback,
    parse_future_date,
)
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError, StaleEdit
from tui_desk.views.case import CaseBundle, PhoneLine
from tui_desk.widgets.case_header import contact_status_text

if TYPE_CHECKING:
    from tui_desk.views.contacts import ContactStatus, LoggedContact


@dataclass(frozen=True)
class ContactSaved:
    """What the dialog hands back to the desk after a successful save."""

    case_id: int
    logged: LoggedContact
    summary: str


def preferred_phone(phones: tuple[PhoneLine, ...]) -> PhoneLine | None:
    """The number an operator dials first: the borrower's own mobile, not do-not-call."""
    if not phones:
        return None
    return min(
        phones,
        key=lambda p: (
            p.do_not_call,
            p.relation != "borrower",
            p.kind != "mobile",
            p.phone_id,
        ),
    )


def _outcome_bindings() -> list[BindingType]:
    return [
        Binding(
            q.key,
            f"pick('{q.key}')",
            q.label,
            tooltip=N_("Log the attempt with this outcome (saved at once unless more is needed)"),
            show=False,
            priority=True,
            id=f"contact.outcome.{q.key}",
        )
        for q in QUICK_OUTCOMES
    ]


class ContactModal(FormModal[ContactSaved | None]):
    """One contact attempt on one case; Escape cancels without saving."""

    AUTO_FOCUS = "#contact-outcomes"
    SAVE_GROUP = "contact-save"
    ERROR_ID = "contact-error"

    BINDINGS: ClassVar[list[BindingType]] = [
        *_outcome_bindings(),
        Binding(
            "i",
            "toggle_direction",
            N_("In/out"),
            tooltip=N_("Switch between an outbound attempt and an inbound contact"),
            priority=True,
            id="contact.direction",
        ),
        Binding(
            "c",
            "cycle_channel",
            N_("Channel"),
            tooltip=N_("Switch between phone, SMS and email"),
            priority=True,
            id="contact.channel",
        ),
        Binding(
            "n",
            "cycle_number",
            N_("Number"),
            tooltip=N_("Use the next phone number on file"),
            priority=True,
            id="contact.number",
        ),
        Binding(
            "escape",
            "cancel",
            N_("Cancel"),
            tooltip=N_("Close the form without saving"),
            id="contact.cancel",
        ),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The keys are priority bindings (typed-ahead keys keep their order); while a
        # field has the focus they are text.
        return action == "cancel" or not isinstance(self.focused, Input)

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(id="contact-modal")
        self.case_changed = case_changed
        self.service = service
        self.bundle = bundle
        self.version = bundle.version
        self.channels = service.contact_channels()
        self.channel = self.channels[0]
        self.direction = "outbound"
        self.phones = bundle.detail.phones
        chosen = preferred_phone(self.phones)
        self.phone_index = self.phones.index(chosen) if chosen is not None else -1
        self.status: ContactStatus | None = bundle.contact_status
        self.status_problem: str | None = bundle.status_problem
        self.pending: QuickOutcome | None = None

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        d = self.bundle.detail
        with Vertical(id="contact-box", classes="form-box"):
            yield Static(
                Text(
                    _("Log contact: {name} (case {case_id})").format(
                        name=d.borrower_name, case_id=d.case_id
                    ),
                    style="bold",
                ),
                id="contact-title",
            )
            yield Static(id="contact-target")
            yield Static(id="contact-status")
            yield OptionList(
                *(Option(Text(f"{q.key}  {q.text()}"), id=q.key) for q in QUICK_OUTCOMES),
                id="contact-outcomes",
                compact=True,
            )
            with Horizontal(id="contact-promise", classes="form-row"):
                yield Static(_("Amount"), classes="form-label")
                yield Input(placeholder=_("e.g. 1200.50"), id="promise-amount", compact=True)
                yield Static(_("Due"), classes="form-label")
                yield Input(placeholder=_("YYYY-MM-DD or +7"), id="promise-due", compact=True)
            with Horizontal(id="contact-callback", classes="form-row"):
                yield Static(_("Call back"), classes="form-label")
                yield Input(
                    placeholder=_("HH:MM, tomorrow HH:MM or +2h"),
                    id="callback-at",
                    compact=True,
                )
            with Horizontal(classes="form-row"):
                yield Static(_("Note"), classes="form-label")
                yield Input(placeholder=_("optional (Tab)"), id="contact-note-input", compact=True)
            yield Static(id="contact-error", classes="form-error")
            yield Static(
                Text(
                    _("1-9 saves with that outcome | i in/out | c channel | n number | Esc"),
                    style="dim",
                ),
                classes="form-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#contact-promise").display = False
        self.query_one("#contact-callback").display = False
        self._show_target()
        self._show_status()
        if self.status is None and self.status_problem is None:
            self._check_status()

    @property
    def phone(self) -> PhoneLine | None:
        if self.channel == "email" or self.phone_index < 0:
            return None
        return self.phones[self.phone_index]

    def _show_target(self) -> None:
        t = Text()
        t.append(label("channel", self.channel), style="bold")
        t.append(" ")
        t.append(label("direction", self.direction), style="bold")
        phone = self.phone
        if self.channel != "email":
            t.append("  ")
            if phone is None:
                t.append(_("no phone number on file"), style="bold red")
            else:
                t.append(f"{phone.number} ({label('relation', phone.relation)})")
                if phone.do_not_call:
                    t.append(" " + _("do not call"), style="bold red")
        self.query_one("#contact-target", Static).update(t)

    def _show_status(self) -> None:
        widget = self.query_one("#contact-status", Static)
        if self.direction == "inbound":
            widget.update(Text(_("Inbound: always allowed, not counted in caps"), "green"))
            return
        if self.status_problem:
            widget.update(Text(self.status_problem, style="bold red"))
            return
        if self.status is None:
            widget.update(Text(_("checking the contact rules..."), style="dim"))
            return
        widget.update(contact_status_text(self.status, self.service.timezone, self.service.now()))

    # --- choosing channel, direction and number -------------------------------------------

    def action_toggle_direction(self) -> None:
        self.direction = "inbound" if self.direction == "outbound" else "outbound"
        self.clear_error()
        self._show_target()
        self._show_status()

    def action_cycle_channel(self) -> None:
        index = self.channels.index(self.channel)
        self.channel = self.channels[(index + 1) % len(self.channels)]
        self._changed()

    def action_cycle_number(self) -> None:
        if not self.phones or self.channel == "email":
            return
        self.phone_index = (self.phone_index + 1) % len(self.phones)
        self._changed()

    def _changed(self) -> None:
        self.clear_error()
        self.status = None
        self.status_problem = None
        self._show_target()
        self._show_status()
        self._check_status()

    @work(thread=True, group="contact-status", exclusive=True, exit_on_error=False)
    def _check_status(self) -> None:
        channel, phone = self.channel, self.phone
        try:
            status = self.service.contact_status(
                self.bundle.case_id,
                channel=channel,
                phone_id=phone.phone_id if phone else None,
            )
        except ServiceError as exc:
            self.app.call_from_thread(self._status_arrived, channel, None, str(exc))
            return
        self.app.call_from_thread(self._status_arrived, channel, status, None)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "contact-status":
            self._status_arrived(self.channel, None, failure.reason)
        return super().worker_failed(failure)

    def _status_arrived(
        self, channel: str, status: ContactStatus | None, problem: str | None
    ) -> None:
        if channel != self.channel:
            return
        self.status = status
        self.status_problem = problem
        self._show_status()

    # --- outcome and save -------------------------------------------------------------

    def action_pick(self, key: str) -> None:
        quick = by_key(key)
        if quick is None or self.saving:
            return
        self.pending = quick
        self.clear_error()
        promise = self.query_one("#contact-promise")
        callback = self.query_one("#contact-callback")
        promise.display = quick.needs == "promise"
        callback.display = quick.needs == "callback"
        outcomes = self.query_one("#contact-outcomes", OptionList)
        outcomes.highlighted = QUICK_OUTCOMES.index(quick)
        if quick.needs == "promise":
            self.set_focus(self.query_one("#promise-amount", Input))
        elif quick.needs == "callback":
            self.set_focus(self.query_one("#callback-at", Input))
        else:
            self._save()

    @on(OptionList.OptionSelected, "#contact-outcomes")
    def _outcome_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.action_pick(event.option.id)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        target = event.input.id
        if target == "promise-amount":
            self.set_focus(self.query_one("#promise-due", Input))
        elif target in ("promise-due", "callback-at"):
            self._save()
        elif target == "contact-note-input":
            if self.pending is not None:
                self._save()
            else:
                self.set_focus(self.query_one("#contact-outcomes"))

    def action_cancel(self) -> None:
        self.request_close()

    def _error(self, text: str) -> None:
        self.error(text)

    def _save(self) -> None:
        quick = self.pending
        if quick is None or self.saving:
            return
        now = self.service.now()
        amount: int | None = None
        due: dt.date | None = None
        callback_at: dt.datetime | None = None
        field = "#contact-note-input"
        try:
            if quick.needs == "promise":
                field = "#promise-amount"
                amount = parse_amount(self.query_one(field, Input).value)
                field = "#promise-due"
                today = now.astimezone(ZoneInfo(self.service.timezone)).date()
                due = parse_future_date(self.query_one(field, Input).value, today)
            elif quick.needs == "callback":
                field = "#callback-at"
                callback_at = parse_callback(
                    self.query_one(field, Input).value, now, self.service.timezone
                )
        except (InputProblem, ValueError, ArithmeticError) as problem:
            reason = (
                str(problem)
                if isinstance(problem, InputProblem)
                else _("this value cannot be read; check what was typed")
            )
            captions = {
                "#promise-amount": _("Amount"),
                "#promise-due": _("Due"),
                "#callback-at": _("Call back"),
            }
            self._error(_("{field}: {problem}").format(field=captions[field], problem=reason))
            self.set_focus(self.query_one(field, Input))
            return
        note = self.query_one("#contact-note-input", Input).value.strip()
        case_id = self.bundle.case_id

        def write() -> ContactSaved:
            phone = self.phone
            logged = self.service.log_contact(
                case_id,
                channel=self.channel,
                direction=self.direction,
                outcome=quick.outcome,
                phone_id=phone.phone_id if phone else None,
                note=note or None,
                callback_at=callback_at,
                promise_amount_minor=amount,
                promise_due=due,
                expected_version=self.version,
            )
            summary = self._summary(quick, amount, due, callback_at)
            return ContactSaved(case_id, logged, summary)

        self.start_save(write)

    def show_saving(self) -> None:
        self._error("")
        self.query_one("#contact-status", Static).update(Text(_("saving..."), style="dim"))

    def _summary(
        self,
        quick: QuickOutcome,
        amount: int | None,
        due: dt.date | None,
        callback_at: dt.datetime | None,
    ) -> str:
        text = _("Logged: {outcome} ({channel} {direction})").format(
            outcome=quick.text(),
            channel=label("channel", self.channel),
            direction=label("direction", self.direction),
        )
        if amount is not None and due is not None:
            text += " " + _("{amount} by {day}").format(
                amount=money(amount, self.bundle.detail.currency), day=due.isoformat()
            )
        if callback_at is not None:
            text += " " + _("call back {time}").format(
                time=local(callback_at, self.service.timezone)
            )
        return text

    def _refused(self, reason: str) -> None:
        super()._refused(reason)
        self._show_status()

    def stale_in_worker(self, exc: StaleEdit) -> None:
        version = self.service.case_version(self.bundle.case_id)
        self.app.call_from_thread(self._case_stale, str(exc), version)

    def _case_stale(self, reason: str, version: int) -> None:
        self.version = version
        self._stale(reason)
        self._show_status()
        if self.case_changed is not None:
            self.case_changed(self.bundle.case_id)
