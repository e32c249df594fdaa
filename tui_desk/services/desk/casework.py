"""Case work: payments, holds, registration, documents, phones, complaints, the archive."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tui_desk.db.models import (
    Appointment,
    Channel,
    ComplaintStatus,
    CreditMoveKind,
    DocumentChannel,
    DocumentKind,
    HoldKind,
    PaymentChannel,
    Relation,
)
from tui_desk.rules.permissions import Action
from tui_desk.services import archive, complaints, credit, holds
from tui_desk.services.case_facts import office_today
from tui_desk.services.casework import (
    add_document,
    add_phone,
    register_for_service,
    review_document,
    set_do_not_call,
    set_hold,
)
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.services.desk.base import enum_value as _enum_value
from tui_desk.services.promises import record_payment
from tui_desk.services.validation import (
    LONG_TEXT,
    check_amount,
    check_choice,
    check_date,
    check_flag,
    check_id,
    check_optional_version,
    check_payment_day,
    check_required_text,
    check_text,
)
from tui_desk.views.case import CreditMoved
from tui_desk.views.complaints import ComplaintLine
from tui_desk.views.holds import HeldCase, ReleasedHold


class CaseworkDesk(DeskPart):
    # --- case work ---------------------------------------------------------------------

    def payment_channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in PaymentChannel if c is not PaymentChannel.IMPORT)

    def hold_kinds(self) -> tuple[str, ...]:
        return tuple(k.value for k in HoldKind)

    def document_kinds(self) -> tuple[str, ...]:
        return tuple(k.value for k in DocumentKind)

    def document_channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in DocumentChannel)

    def consent_channels(self) -> tuple[str, ...]:
        return (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value, Channel.VISIT.value)

    def relations(self) -> tuple[str, ...]:
        return tuple(r.value for r in Relation)

    def record_payment(
        self,
        case_id: int,
        *,
        amount_minor: int,
        paid_on: dt.date,
        channel: str,
        reference: str | None = None,
        override_reason: str | None = None,
        confirm_overpayment: bool = False,
    ) -> int:
        check_id("case_id", case_id)
        check_amount("amount_minor", amount_minor, self.profile)
        check_payment_day(self.db, case_id, paid_on, today=self.today())
        check_text("reference", reference, 64)
        check_text("override_reason", override_reason, 500)
        return record_payment(
            self.ctx,
            case_id,
            amount_minor=amount_minor,
            paid_on=paid_on,
            channel=_enum_value(PaymentChannel, channel, "channel"),
            reference=reference or None,
            override_reason=override_reason,
            confirm_overpayment=confirm_overpayment,
        )

    def require_credit_rights(self) -> None:
        """Refuse at once (no database call) when the agent may not move a credit."""
        self.ctx.actor.require(Action.MANAGE_CREDIT)

    def move_credit(
        self,
        case_id: int,
        *,
        kind: str,
        reason: str,
        amount_minor: int | None = None,
        expected_version: int | None = None,
    ) -> CreditMoved:
        return credit.move_credit(
            self.ctx,
            case_id,
            kind=_enum_value(CreditMoveKind, kind, "credit move"),
            reason=reason,
            amount_minor=amount_minor,
            expected_version=expected_version,
        )

    def set_hold(
        self,
        case_id: int,
        *,
        kind: str,
        reason: str,
        expected_version: int | None = None,
        override_reason: str | None = None,
        ends_on: dt.date | None = None,
    ) -> int:
        check_id("case_id", case_id)
        check_required_text("reason", reason, 500)
        check_optional_version("expected_version", expected_version)
        check_text("override_reason", override_reason, 500)
        return set_hold(
            self.ctx,
            case_id,
            _enum_value(HoldKind, kind, "kind"),
            reason,
            expected_version=expected_version,
            override_reason=override_reason,
            ends_on=ends_on,
        )

    def releases_holds(self) -> bool:
        """Whether this agent may release holds (the role alone decides; no database)."""
        return self.actor.can(Action.RELEASE_HOLD)

    def release_hold(
        self,
        hold_id: int,
        reason: str,
        *,
        expected_version: int | None = None,
        over_lease: bool = False,
    ) -> ReleasedHold:
        """Release one hold; ``over_lease``: from the board, where the supervisor does not
        hold the case, the release's reason also covers writing over a lease (audited)."""
        return holds.release_hold(
            self.ctx,
            hold_id,
            reason,
            expected_version=expected_version,
            override_reason=reason if over_lease else None,
        )

    def held_cases(self) -> list[HeldCase]:
        """Holds in force, oldest first (supervisors; others are refused with the reason)."""
        return holds.held_cases(self.ctx)

    def register(
        self,
        case_id: int,
        *,
        consent_channel: str,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        check_id("case_id", case_id)
        check_text("note", note, 500)
        check_optional_version("expected_version", expected_version)
        return register_for_service(
            self.ctx,
            case_id,
            consent_channel=_enum_value(Channel, consent_channel, "consent_channel"),
            note=note or None,
            expected_version=expected_version,
        )

    def add_document(
        self,
        case_id: int,
        *,
        kind: str,
        channel: str,
        received_on: dt.date,
        description: str | None = None,
    ) -> int:
        check_id("case_id", case_id)
        today = self.today()
        check_date(
            "received_on", received_on, earliest=today - dt.timedelta(days=366), latest=today
        )
        check_text("description", description, 200)
        zone = ZoneInfo(self.timezone)
        now = self.now()
        received = (
            now
            if received_on == office_today(now, self.timezone)
            else dt.datetime.combine(received_on, dt.time(12), tzinfo=zone).astimezone(dt.UTC)
        )
        return add_document(
            self.ctx.at(now),
            case_id,
            kind=_enum_value(DocumentKind, kind, "kind"),
            channel=_enum_value(DocumentChannel, channel, "channel"),
            received_at=received,
            description=description or None,
        )

    def review_document(self, document_id: int, *, verified: bool, reason: str | None) -> str:
        """Returns the checklist line ("documents still missing: ..." or "")."""
        check_id("document_id", document_id)
        check_flag("verified", verified)
        check_text("reason", reason, 500)
        return review_document(self.ctx, document_id, verified=verified, reason=reason or None)

    def add_phone(
        self, borrower_id: int, raw: str, *, relation: str, holder_name: str | None = None
    ) -> int:
        check_id("borrower_id", borrower_id)
        check_required_text("raw", raw, 40)
        check_text("holder_name", holder_name, 100)
        return add_phone(
            self.ctx,
            borrower_id,
            raw,
            relation=_enum_value(Relation, relation, "relation"),
            holder_name=holder_name or None,
        )

    set_do_not_call = use_case(set_do_not_call)

    # --- complaints and the archive ----------------------------------------------------------

    def record_complaint(
        self,
        case_id: int,
        *,
        description: str,
        channel: str,
        against_login: str | None,
        hold: bool,
    ) -> int:
        check_id("case_id", case_id)
        check_required_text("description", description, LONG_TEXT, multiline=True)
        check_choice("channel", channel, Channel)
        check_text("against_login", against_login, 64)
        check_flag("hold", hold)
        with self.db.read() as s:
            latest = s.scalar(
                select(Appointment.id)
                .where(Appointment.case_id == case_id)
                .order_by(Appointment.starts_at.desc())
                .limit(1)
            )
        return complaints.record_complaint(
            self.ctx,
            case_id,
            description=description,
            channel=channel,
            against_login=against_login,
            appointment_id=None if against_login else latest,
            hold=hold,
        )

    def handles_complaints(self) -> bool:
        """Complaints are routed to supervisors (the role alone decides; no database)."""
        return self.actor.can(Action.VIEW_BOARD)

    def complaints(self) -> list[ComplaintLine]:
        """Open complaints (supervisors only; others are refused with the reason)."""
        self.actor.require(Action.VIEW_BOARD)
        return list(complaints.complaint_list(self.db))

    def decide_complaint(
        self,
        complaint_id: int,
        status: str,
        resolution: str | None,
        *,
        release_hold: bool = False,
    ) -> list[ReleasedHold]:
        check_id("complaint_id", complaint_id)
        check_choice("status", status, ComplaintStatus)
        check_text("resolution", resolution, LONG_TEXT, multiline=True)
        return complaints.decide_complaint(
            self.ctx, complaint_id, status, resolution=resolution, release_hold=release_hold
        )

    def archive_case(self, case_id: int, reason: str | None) -> None:
        check_id("case_id", case_id)
        check_text("reason", reason, 200)
        archive.archive_case(self.ctx, case_id, reason=reason)

    def restore_case(self, case_id: int, reason: str) -> None:
        check_id("case_id", case_id)
        check_required_text("reason", reason, 200)
        archive.restore_case(self.ctx, case_id, reason=reason)
