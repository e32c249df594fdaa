"""The case on screen: one read of it, the reveal, contacts, SMS and dialing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tui_desk.db.models import Borrower, Channel, CollectionCase, Direction, Document, Outcome
from tui_desk.i18n import _
from tui_desk.services import dialing, personal
from tui_desk.services.case_view import read_agreement_view, read_case_detail, read_contact_log
from tui_desk.services.contacts import (
    contact_status,
    log_contact,
    read_contact_status,
    undo_contact,
)
from tui_desk.services.desk.base import enum_value as _enum_value
from tui_desk.services.desk.base import use_case
from tui_desk.services.desk.visits import VisitDesk
from tui_desk.services.dialing import Dialer
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.sms import load_sms_templates, outbox_lines, preview_sms, queue_sms
from tui_desk.services.validation import (
    LONG_TEXT,
    check_contact_dates,
    check_id,
    check_optional_amount,
    check_optional_date,
    check_optional_id,
    check_optional_version,
    check_required_text,
    check_text,
)
from tui_desk.views.case import CaseBundle, DocumentItem
from tui_desk.views.contacts import ContactStatus, LoggedContact
from tui_desk.views.dialing import DialResult
from tui_desk.views.sms import OutboxLine, SmsPreview


class CaseDesk(VisitDesk):
    # --- the case ----------------------------------------------------------------------

    def case(self, case_id: int, *, week_start: dt.date | None = None) -> CaseBundle:
        """The whole case as the operator sees it, read in one transaction, version first.

        Every part (header, contact status, contact log, calendar, plan and agreement,
        documents) comes from the same snapshot, so the version a form sends back for the
        stale-edit check belongs to exactly what was on screen.
        """
        check_id("case_id", case_id)
        check_optional_date("week_start", week_start)
        now = self.now()
        with self.db.snapshot() as s:
            # The case and its borrower are held (by these names) for the whole read: every
            # part gets them again (``Session.get``), and the session keeps only weak
            # references, so each get was a query of its own once the part before had let
            # go of them.
            case = s.get(CollectionCase, case_id)
            version = case.version if case is not None else None
            _borrower = s.get(Borrower, case.borrower_id) if case is not None else None
            detail = read_case_detail(s, case_id, profile=self.profile, now=now)
            status: ContactStatus | None = None
            problem: str | None = None
            try:
                status = read_contact_status(
                    s, case_id, channel=Channel.PHONE, now=now, profile=self.profile
                )
            except ServiceError as exc:
                problem = str(exc)
            documents = tuple(
                DocumentItem(d.id, d.kind, d.status, d.channel, d.received_at, d.description)
                for d in s.scalars(
                    select(Document)
                    .where(Document.case_id == case_id)
                    .order_by(Document.received_at.desc(), Document.id.desc())
                    .limit(50)
                )
            )
            return CaseBundle(
                case_id=case_id,
                detail=detail,
                contacts=tuple(read_contact_log(s, case_id, profile=self.profile)),
                calendar=self.read_calendar(
                    s,
                    case_id=case_id,
                    start=week_start,
                    span_days=7,
                    all_collectors=False,
                    now=now,
                ),
                agreement=read_agreement_view(s, case_id, profile=self.profile, now=now),
                version=version or 0,
                contact_status=status,
                status_problem=problem,
                documents=documents,
            )

    def case_version(self, case_id: int) -> int:
        """The case's current row version (read again after a refused stale edit)."""
        check_id("case_id", case_id)
        with self.db.read() as s:
            version = s.scalar(select(CollectionCase.version).where(CollectionCase.id == case_id))
        if version is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        return version

    reveal = use_case(personal.reveal)

    # --- contacts ----------------------------------------------------------------------

    def contact_channels(self) -> tuple[str, ...]:
        return (Channel.PHONE.value, Channel.SMS.value, Channel.EMAIL.value)

    def contact_status(
        self, case_id: int, *, channel: str = "phone", phone_id: int | None = None
    ) -> ContactStatus:
        check_id("case_id", case_id)
        check_optional_id("phone_id", phone_id)
        return contact_status(
            self.db,
            case_id,
            channel=_enum_value(Channel, channel, "channel"),
            phone_id=phone_id,
            now=self.now(),
            profile=self.profile,
        )

    def log_contact(
        self,
        case_id: int,
        *,
        channel: str,
        direction: str,
        outcome: str,
        phone_id: int | None = None,
        note: str | None = None,
        callback_at: dt.datetime | None = None,
        promise_amount_minor: int | None = None,
        promise_due: dt.date | None = None,
        expected_version: int | None = None,
        override_reason: str | None = None,
    ) -> LoggedContact:
        check_id("case_id", case_id)
        check_optional_id("phone_id", phone_id)
        check_text("note", note, LONG_TEXT, multiline=True)
        check_contact_dates(self.now(), self.profile, callback_at, promise_due)
        check_optional_amount("promise_amount_minor", promise_amount_minor, self.profile)
        check_optional_version("expected_version", expected_version)
        check_text("override_reason", override_reason, 500)
        return log_contact(
            self.ctx,
            case_id,
            channel=_enum_value(Channel, channel, "channel"),
            direction=_enum_value(Direction, direction, "direction"),
            outcome=_enum_value(Outcome, outcome, "outcome"),
            phone_id=phone_id,
            note=note or None,
            callback_at=callback_at,
            promise_amount_minor=promise_amount_minor,
            promise_due=promise_due,
            expected_version=expected_version,
            override_reason=override_reason,
        )

    undo_contact = use_case(undo_contact)

    # --- SMS ------------------------------------------------------------------------------

    def sms_templates(self) -> list[tuple[str, str]]:
        """(name, title) of every SMS template, the profile's language first."""
        catalogue = load_sms_templates(self.profile, db=self.db)
        return [(t.name, f"{t.title} ({t.language})") for t in catalogue.templates]

    def sms_preview(self, case_id: int, template: str, phone_id: int | None = None) -> SmsPreview:
        check_id("case_id", case_id)
        check_required_text("template", template, 60)
        check_optional_id("phone_id", phone_id)
        return preview_sms(self.ctx, case_id, template, phone_id=phone_id)  # fmt: skip

    queue_sms = use_case(queue_sms)

    def sms_outbox(self, case_id: int) -> list[OutboxLine]:
        """The case's latest SMS and where each stands (pending, sent, delivered, failed)."""
        check_id("case_id", case_id)
        return outbox_lines(self.db, case_id, profile=self.profile)

    # --- dialing ---------------------------------------------------------------------------

    def dial(self, case_id: int, phone_id: int, dialer: Dialer) -> DialResult:
        """Dial the number through the phone system; the attempt is logged (see dialing)."""
        check_id("case_id", case_id)
        check_id("phone_id", phone_id)
        return dialing.dial(self.ctx, case_id, phone_id, dialer=dialer, clock=self.clock)

    dial_plan = use_case(dialing.dial_plan)

    pending_dial = use_case(dialing.pending_dial_id)
