"""Small forms for the case work of steps 1-2: payment, hold, registration, documents, phones.

Every form works the same way, all by keyboard (``FieldFormModal``): Enter (or Tab) moves
to the next field, Enter on the last one saves, Left/Right change a choice, Escape
cancels. Input is checked before anything is sent; a refusal from the service (a rule, a
stale version, an invalid number) is shown under the fields and everything typed stays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_desk.formatting import day, label, money
from tui_desk.i18n import N_, _
from tui_desk.rules.phones import example_number, normalise_phone
from tui_desk.screens.form import (
    FieldFormModal,
    FieldProblem,
    Save,
    checked,
    form_bindings,
)
from tui_desk.screens.hold_modal import released_text
from tui_desk.screens.parsing import (
    InputProblem,
    parse_amount,
    parse_future_date,
    parse_past_date,
)
from tui_desk.services import casework, holds, promises
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import Overpayment, StaleEdit
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.choice import Choice


class CaseFormModal(FieldFormModal):
    """A titled form on the selected case; subclasses give the fields and the save."""

    BINDINGS: ClassVar[list[BindingType]] = form_bindings("form")

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(classes="case-form")
        self.service = service
        self.bundle = bundle
        self.version = bundle.version
        self.case_changed = case_changed

    def title_text(self) -> str:
        d = self.bundle.detail
        return _(self.FORM_TITLE) + "  " + f"{d.borrower_name} (#{d.case_id})"

    def stale_in_worker(self, exc: StaleEdit) -> None:
        version = self.service.case_version(self.bundle.case_id)
        self.app.call_from_thread(self._case_stale, str(exc), version)

    def _case_stale(self, reason: str, version: int) -> None:
        self.version = version
        self._stale(reason)
        if self.case_changed is not None:
            self.case_changed(self.bundle.case_id)

    @property
    def today(self) -> dt.date:
        return self.service.now().astimezone(ZoneInfo(self.service.timezone)).date()


def _options(kind: str, values: Sequence[str]) -> list[tuple[str, str]]:
    return [(v, label(kind, v)) for v in values]


class PaymentModal(CaseFormModal):
    """Record a payment the borrower made (it keeps promises it covers)."""

    FORM_TITLE = N_("Record a payment")
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"pay-reference": promises.MAX_REFERENCE}

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("Amount"), Input(placeholder=_("e.g. 1200.50"), id="pay-amount", compact=True)),
            (
                _("Paid on"),
                Input(
                    value=_("today"),
                    placeholder=_("YYYY-MM-DD, today or -N days"),
                    id="pay-date",
                    compact=True,
                ),
            ),
            (
                _("Channel"),
                Choice(
                    _options("payment_channel", self.service.payment_channels()), id="pay-channel"
                ),
            ),
            (
                _("Reference"),
                Input(placeholder=_("optional"), id="pay-reference", compact=True),
            ),
        )

    def intro(self) -> Text:
        d = self.bundle.detail
        return Text(
            _("Overdue {overdue}, outstanding {outstanding}").format(
                overdue=money(d.overdue_minor, d.currency),
                outstanding=money(d.outstanding_minor, d.currency),
            ),
            style="dim",
        )

    confirmed_for: int | None = None
    """The amount the operator confirmed as an overpayment (saved again after the warning)."""

    def save(self) -> None:
        """An amount above what the case owes is not saved at once: the form names what is
        owed and asks to save again to record it as an overpayment (a credit on the case)."""
        if self.saving or not self.may_save():
            return
        try:
            amount = parse_amount(self.value("pay-amount"))
        except InputProblem:
            super().save()  # the form's own check names the problem
            return
        d = self.bundle.detail
        if amount > d.outstanding_minor and self.confirmed_for != amount:
            self.ask_to_confirm(amount, d.outstanding_minor)
            return
        super().save()

    def ask_to_confirm(self, amount: int, owed: int) -> None:
        currency = self.bundle.detail.currency
        self.confirmed_for = amount
        self.error(
            _(
                "The case owes {owed}: {amount} is {excess} more. Save again to record it "
                "as an overpayment; the excess stays on the case as a credit."
            ).format(
                owed=money(owed, currency),
                amount=money(amount, currency),
                excess=money(amount - owed, currency),
            ),
            "bold yellow",
        )

    def prepare(self) -> Save:
        amount = parse_amount_field("pay-amount", self.value("pay-amount"))
        today = self.today
        paid_on = checked("pay-date", lambda: parse_past_date(self.value("pay-date"), today))
        assert isinstance(paid_on, dt.date)
        channel = self.choice("pay-channel")
        reference = self.value("pay-reference").strip()
        case_id = self.bundle.case_id
        currency = self.bundle.detail.currency
        confirm = self.confirmed_for == amount

        def write() -> str:
            try:
                self.service.record_payment(
                    case_id,
                    amount_minor=amount,
                    paid_on=paid_on,
                    channel=channel,
                    reference=reference,
                    confirm_overpayment=confirm,
                )
            except Overpayment as exc:
                # What is owed changed since the form opened: confirm against the new figure.
                self.app.call_from_thread(self._arm, amount)
                raise exc
            if confirm and amount > self.bundle.detail.outstanding_minor:
                return _("Payment of {amount} on {day} recorded; the excess is a credit").format(
                    amount=money(amount, currency), day=paid_on.isoformat()
                )
            return _("Payment of {amount} on {day} recorded").format(
                amount=money(amount, currency), day=paid_on.isoformat()
            )

        return write

    def _arm(self, amount: int) -> None:
        self.confirmed_for = amount


def parse_amount_field(field: str, text: str) -> int:
    try:
        return parse_amount(text)
    except InputProblem as problem:
        raise FieldProblem(field, str(problem)) from None


class HoldModal(CaseFormModal):
    """Put the case on hold, or (supervisors, on a held case) release a hold in force.

    A hold lasts until a supervisor releases it, or until the end date given. A
    supervisor opening it on a held case is offered the release of each hold first; the
    kind and end date then step aside, and the reason is the release's.
    """

    FORM_TITLE = N_("Set a hold")
    SET = "set"

    @property
    def offers_release(self) -> bool:
        return bool(self.bundle.detail.holds) and self.service.releases_holds()

    def title_text(self) -> str:
        if not self.offers_release:
            return super().title_text()
        d = self.bundle.detail
        return _("Release or set a hold") + "  " + f"{d.borrower_name} (#{d.case_id})"

    def fields(self) -> Sequence[tuple[str, Widget]]:
        rows: list[tuple[str, Widget]] = []
        if self.offers_release:
            options = [
                (
                    f"release:{h.hold_id}",
                    _("Release: {kind}").format(kind=label("hold_kind", h.kind)),
                )
                for h in self.bundle.detail.holds
            ]
            options.append((self.SET, _("Set another hold")))
            rows.append((_("Do"), Choice(options, id="hold-action")))
        rows += [
            (_("Kind"), Choice(_options("hold_kind", self.service.hold_kinds()), id="hold-kind")),
            (
                _("Until"),
                Input(
                    placeholder=_("YYYY-MM-DD or +N days; empty: until released"),
                    id="hold-until",
                    compact=True,
                ),
            ),
            (
                _("Reason"),
                Input(placeholder=_("why (required)"), id="hold-reason", compact=True),
            ),
        ]
        return rows

    def on_mount(self) -> None:
        self._show_set_fields(not self.offers_release)

    @on(Choice.Changed, "#hold-action")
    def _action_changed(self, event: Choice.Changed) -> None:
        self._show_set_fields(event.value == self.SET)

    def _show_set_fields(self, shown: bool) -> None:
        for widget_id in ("hold-kind", "hold-until"):
            row = self.query_one(f"#{widget_id}").parent
            if isinstance(row, Widget):
                row.display = shown

    @property
    def field_widgets(self) -> list[Widget]:
        return [
            w for w in super().field_widgets if not isinstance(w.parent, Widget) or w.parent.display
        ]

    def intro(self) -> Text:
        if self.offers_release:
            return Text(
                _("Releasing ends the hold (audited); the case stays on hold while another "
                  "remains. No contact or booking while on hold."),
                style="dim",
            )  # fmt: skip
        return Text(
            _("No contact or booking while on hold; only a supervisor releases a hold "
              "(or its end date)."),
            style="dim",
        )  # fmt: skip

    def prepare(self) -> Save:
        action = self.choice("hold-action") if self.offers_release else self.SET
        reason = self.value("hold-reason").strip()
        case_id, version = self.bundle.case_id, self.version
        if action != self.SET:
            if not reason:
                raise FieldProblem("hold-reason", _("releasing a hold needs a reason"))
            hold_id = int(action.partition(":")[2])

            def release() -> str:
                return released_text(
                    self.service.release_hold(hold_id, reason, expected_version=version)
                )

            return release
        kind = self.choice("hold-kind")
        until_text = self.value("hold-until").strip()
        today = self.today
        ends_on = (
            checked(
                "hold-until",
                lambda: parse_future_date(until_text, today, max_days=holds.MAX_HOLD_DAYS),
            )
            if until_text
            else None
        )
        if not reason:
            raise FieldProblem("hold-reason", _("a hold needs a reason"))

        def write() -> str:
            self.service.set_hold(
                case_id, kind=kind, reason=reason, expected_version=version, ends_on=ends_on
            )
            if ends_on is not None:
                return _("Hold set: {kind}, until {day}").format(
                    kind=label("hold_kind", kind), day=ends_on.isoformat()
                )
            return _("Hold set: {kind}").format(kind=label("hold_kind", kind))

        return write


class RegistrationModal(CaseFormModal):
    """Record the borrower's agreement to the home-visit service (who, when, how)."""

    FORM_TITLE = N_("Register for the home-visit service")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (
                _("Agreed by"),
                Choice(_options("channel", self.service.consent_channels()), id="reg-channel"),
            ),
            (_("Note"), Input(placeholder=_("optional"), id="reg-note", compact=True)),
        )

    def intro(self) -> Text:
        reg = self.bundle.detail.registration
        if reg is None or reg.cancelled_at is not None:
            return Text(_("You are recorded as the agent, now as the time."), style="dim")
        return Text(
            _("Already registered on {day}.").format(day=day(reg.registered_at.date())),
            style="bold",
        )

    def prepare(self) -> Save:
        channel = self.choice("reg-channel")
        note = self.value("reg-note").strip()
        case_id, version = self.bundle.case_id, self.version

        def write() -> str:
            self.service.register(
                case_id, consent_channel=channel, note=note, expected_version=version
            )
            return _("Registered for the home-visit service ({channel})").format(
                channel=label("channel", channel)
            )

        return write


class DocumentModal(CaseFormModal):
    """Record a document the borrower sent (checked later with the review form)."""

    FORM_TITLE = N_("Add a document")
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"doc-description": casework.MAX_DESCRIPTION}

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (
                _("Kind"),
                Choice(_options("document_kind", self.service.document_kinds()), id="doc-kind"),
            ),
            (
                _("Came by"),
                Choice(_options("channel", self.service.document_channels()), id="doc-channel"),
            ),
            (
                _("Received"),
                Input(
                    value=_("today"),
                    placeholder=_("YYYY-MM-DD, today or -N days"),
                    id="doc-date",
                    compact=True,
                ),
            ),
            (
                _("Description"),
                Input(placeholder=_("optional"), id="doc-description", compact=True),
            ),
        )

    def prepare(self) -> Save:
        kind = self.choice("doc-kind")
        channel = self.choice("doc-channel")
        today = self.today
        received = checked(
            "doc-date", lambda: parse_past_date(self.value("doc-date"), today, max_days=366)
        )
        assert isinstance(received, dt.date)
        description = self.value("doc-description").strip()
        case_id = self.bundle.case_id

        def write() -> str:
            self.service.add_document(
                case_id,
                kind=kind,
                channel=channel,
                received_on=received,
                description=description,
            )
            return _("Document recorded: {kind}").format(kind=label("document_kind", kind))

        return write


class ReviewModal(CaseFormModal):
    """Verify or reject a received document (a rejection needs a reason)."""

    FORM_TITLE = N_("Review a document")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        docs = self.bundle.documents
        options = [
            (
                str(d.document_id),
                f"{label('document_kind', d.kind)} {d.received_at.date().isoformat()} "
                f"{label('channel', d.channel)} ({label('document_status', d.status)})",
            )
            for d in docs
        ]
        pending = next((str(d.document_id) for d in docs if d.status == "received"), None)
        return (
            (_("Document"), Choice(options, value=pending, id="review-document")),
            (
                _("Decision"),
                Choice(
                    [("verify", _("verified")), ("reject", _("rejected"))], id="review-decision"
                ),
            ),
            (
                _("Reason"),
                Input(placeholder=_("required when rejected"), id="review-reason", compact=True),
            ),
        )

    def prepare(self) -> Save:
        document = self.choice("review-document")
        if not document:
            raise FieldProblem("review-document", _("no document to review"))
        verified = self.choice("review-decision") == "verify"
        reason = self.value("review-reason").strip()
        if not verified and not reason:
            raise FieldProblem("review-reason", _("a rejection needs a reason"))

        def write() -> str:
            missing = self.service.review_document(int(document), verified=verified, reason=reason)
            done = _("Document verified") if verified else _("Document rejected")
            return f"{done}. {missing}" if missing else f"{done}. " + _("Documents complete.")

        return write


class PhoneModal(CaseFormModal):
    """Add a phone number and whose it is; invalid numbers are refused with the reason."""

    FORM_TITLE = N_("Add a phone number")
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"phone-holder": casework.MAX_HOLDER_NAME}

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (
                _("Whose"),
                Choice(_options("relation", self.service.relations()), id="phone-relation"),
            ),
            (
                _("Number"),
                Input(
                    placeholder=example_number(self.service.phone_region),
                    id="phone-number",
                    compact=True,
                ),
            ),
            (
                _("Holder"),
                Input(placeholder=_("name (optional)"), id="phone-holder", compact=True),
            ),
        )

    @on(Input.Changed, "#phone-number")
    def _check_number(self, event: Input.Changed) -> None:
        # Say at once whether the number is valid; nothing is shown in full.
        if not event.value.strip():
            self.error("")
            return
        check = normalise_phone(event.value, self.service.phone_region)
        if check.ok:
            self.query_one("#form-error", Static).update(Text(_("valid number"), style="green"))
        else:
            self.error(check.reason or _("this is not a phone number"))

    def prepare(self) -> Save:
        raw = self.value("phone-number")
        check = normalise_phone(raw, self.service.phone_region)
        if not check.ok:
            raise FieldProblem("phone-number", check.reason or _("this is not a phone number"))
        relation = self.choice("phone-relation")
        holder = self.value("phone-holder").strip()
        borrower_id = self.bundle.detail.borrower_id

        def write() -> str:
            self.service.add_phone(borrower_id, raw, relation=relation, holder_name=holder)
            return _("Phone number added ({relation})").format(relation=label("relation", relation))

        return write


class DoNotCallModal(CaseFormModal):
    """Mark a number do-not-call (clearing the mark needs a supervisor)."""

    FORM_TITLE = N_("Do-not-call")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        phones = self.bundle.detail.phones
        options = [
            (
                str(p.phone_id),
                f"{p.number} ({label('relation', p.relation)})"
                + (" - " + _("do not call") if p.do_not_call else ""),
            )
            for p in phones
        ]
        return (
            (_("Number"), Choice(options, id="dnc-phone")),
            (
                _("Mark"),
                Choice(
                    [("on", _("do not call")), ("off", _("may be called again"))],
                    id="dnc-flag",
                ),
            ),
        )

    def prepare(self) -> Save:
        phone = self.choice("dnc-phone")
        if not phone:
            raise FieldProblem("dnc-phone", _("no phone number on file"))
        flag = self.choice("dnc-flag") == "on"

        def write() -> str:
            self.service.set_do_not_call(int(phone), flag)
            return _("Number marked do-not-call") if flag else _("Number may be called again")

        return write


class ComplaintModal(CaseFormModal):
    """Record a complaint about an agent's conduct; it goes to the supervisors."""

    FORM_TITLE = N_("Record a complaint")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("Complaint"), Input(placeholder=_("what the borrower complains about"),
                                   id="complaint-text", compact=True)),
            (_("Received"), Choice(_options("channel", ("phone", "visit", "letter", "email",
                                                        "sms")), id="complaint-channel")),
            (_("Against"), Input(placeholder=_("agent's login; empty: the last visit's collector"),
                                 id="complaint-against", compact=True)),
            (_("Hold case"), Choice([("yes", label("yes_no", "yes")),
                                     ("no", label("yes_no", "no"))], id="complaint-hold")),
        )  # fmt: skip

    def intro(self) -> Text:
        return Text(
            _("Supervisors see it at once; holding the case stops contact while it is "
              "investigated."),
            style="dim",
        )  # fmt: skip

    def prepare(self) -> Save:
        text = self.value("complaint-text").strip()
        if not text:
            raise FieldProblem("complaint-text", _("describe the complaint"))
        channel = self.choice("complaint-channel")
        against = self.value("complaint-against").strip() or None
        hold = self.choice("complaint-hold") == "yes"
        case_id = self.bundle.case_id

        def write() -> str:
            self.service.record_complaint(
                case_id, description=text, channel=channel, against_login=against, hold=hold
            )
            return _("Complaint recorded and routed to the supervisors")

        return write


class CreditModal(CaseFormModal):
    """A supervisor refunds the case's credit or applies it to what the case owes."""

    FORM_TITLE = N_("Refund or apply the credit")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        kinds = [("refund", _("refund to the borrower")), ("apply", _("apply to what is owed"))]
        return (
            (_("Credit"), Choice(kinds, id="credit-kind")),
            (
                _("Amount"),
                Input(placeholder=_("empty: all that fits"), id="credit-amount", compact=True),
            ),
            (_("Reason"), Input(placeholder=_("why (required)"), id="credit-reason", compact=True)),
        )

    def intro(self) -> Text:
        d = self.bundle.detail
        return Text(
            _("Credit {credit}, outstanding {outstanding}").format(
                credit=money(d.credit_minor, d.currency),
                outstanding=money(d.outstanding_minor, d.currency),
            ),
            style="dim",
        )

    def prepare(self) -> Save:
        kind = self.choice("credit-kind")
        text = self.value("credit-amount").strip()
        amount = parse_amount_field("credit-amount", text) if text else None
        reason = self.value("credit-reason").strip()
        if not reason:
            raise FieldProblem("credit-reason", _("a reason is required"))
        case_id, version = self.bundle.case_id, self.version
        currency = self.bundle.detail.currency

        def write() -> str:
            moved = self.service.move_credit(
                case_id, kind=kind, reason=reason, amount_minor=amount, expected_version=version
            )
            done = (
                _("Refunded {amount}; credit left {left}")
                if moved.kind == "refund"
                else _("Applied {amount}; credit left {left}")
            )
            return done.format(
                amount=money(moved.amount_minor, currency),
                left=money(moved.credit_left_minor, currency),
            )

        return write


class ArchiveModal(CaseFormModal):
    """Archive the case (paid, or closed with a supervisor's reason), or restore it."""

    FORM_TITLE = N_("Archive or restore")

    @property
    def archived(self) -> bool:
        return self.bundle.detail.status.value == "closed"

    def fields(self) -> Sequence[tuple[str, Widget]]:
        hint = (
            _("why it is restored (required)")
            if self.archived
            else _("paid in full, or why it is closed (supervisor)")
        )
        return ((_("Reason"), Input(placeholder=hint, id="archive-reason", compact=True)),)

    def intro(self) -> Text:
        if self.archived:
            return Text(
                _("Archived and read-only. A supervisor may restore it to the queue."),
                style="bold",
            )
        return Text(_("Archiving makes the case read-only; it stays searchable."), style="dim")

    def prepare(self) -> Save:
        reason = self.value("archive-reason").strip()
        case_id = self.bundle.case_id
        if self.archived:
            if not reason:
                raise FieldProblem("archive-reason", _("restoring a case needs a reason"))

            def restore() -> str:
                self.service.restore_case(case_id, reason)
                return _("Case restored to the queue")

            return restore

        def archive() -> str:
            self.service.archive_case(case_id, reason or None)
            return _("Case archived")

        return archive
