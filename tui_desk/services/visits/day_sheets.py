"""The collector's day sheet: a day's visits in order, with full addresses (audited)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    Borrower,
    CollectionCase,
    Document,
    DocumentStatus,
    Relation,
    Role,
)
from tui_desk.i18n import _
from tui_desk.rules.documents import describe_missing, documents_complete
from tui_desk.rules.documents import label as document_label
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.contacts import outstanding_minor
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError
from tui_desk.services.validation import (
    check_date,
    check_id,
)
from tui_desk.services.visits.policy import OPEN_STATUSES
from tui_desk.views.visits import DaySheet, SheetVisit


def day_sheet(ctx: Context, collector_id: int, day: dt.date) -> DaySheet:
    """A collector's visits of one day in order, with full addresses (an audited read).

    The sheet is what the collector takes on the road: it shows personal data unmasked,
    so producing it is recorded in the audit trail like any other reveal.
    """
    check_id("collector_id", collector_id)
    check_date("day", day)
    ctx.actor.require(Action.WORK_CASES)
    if ctx.actor.role is Role.COLLECTOR and ctx.actor.id != collector_id:
        raise ServiceError(_("a collector sees only their own day sheet"))
    if ctx.actor.role is Role.OPERATOR:
        raise PermissionDenied(_("a day sheet is for its collector or a supervisor"))
    now = ctx.now()
    prof = ctx.profile
    zone = ZoneInfo(prof.office_timezone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    with ctx.db.write() as s:
        collector = s.get(Agent, collector_id)
        if collector is None:
            raise NotFound(_("agent {agent_id} does not exist").format(agent_id=collector_id))
        stmt = (
            select(Appointment, CollectionCase, Borrower)
            .join(CollectionCase, CollectionCase.id == Appointment.case_id)
            .join(Borrower, Borrower.id == CollectionCase.borrower_id)
            .where(
                Appointment.collector_id == collector_id,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
                Appointment.status.in_((*OPEN_STATUSES, AppointmentStatus.DONE)),
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
        visits = []
        for appt, case, borrower in s.execute(stmt):
            documents = list(s.scalars(select(Document).where(Document.case_id == case.id)))
            complete, missing = documents_complete(
                (d.kind.value, d.status.value) for d in documents
            )
            # The originals of what was verified from copies are checked on site.
            to_check = [
                _("{kind}: check the original against the copy").format(
                    kind=document_label(d.kind.value)
                )
                for d in documents
                if d.status is DocumentStatus.VERIFIED
            ]
            if not complete:
                to_check.append(describe_missing(missing))
            bring = [_("work ID card"), _("receipt book (for money paid at the door)")]
            bring.append(_("repayment plan options and the agreement form"))
            phone = next((p.e164 for p in borrower.phones if p.relation is Relation.BORROWER), None)
            visits.append(
                SheetVisit(
                    appointment_id=appt.id,
                    case_id=case.id,
                    starts_at=appt.starts_at,
                    ends_at=appt.ends_at,
                    status=appt.status,
                    borrower_name=borrower.name,
                    address=appt.place,
                    district=appt.district,
                    phone=phone,
                    outstanding_minor=outstanding_minor(s, case, now, prof),
                    documents_to_check=tuple(to_check),
                    bring=tuple(bring),
                )
            )
        audit.record(
            s,
            ctx.actor,
            "visit.day_sheet",
            "agent",
            collector.id,
            f"{ctx.actor.login} produced the day sheet of {collector.login} for {day.isoformat()} "
            f"({len(visits)} visits, addresses unmasked)",
            now=now,
            after={"day": day.isoformat(), "visits": [v.appointment_id for v in visits]},
        )
        return DaySheet(
            collector_id=collector.id,
            collector_name=collector.name,
            collector_login=collector.login,
            day=day,
            timezone=prof.office_timezone,
            visits=tuple(visits),
        )
