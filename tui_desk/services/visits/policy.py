"""The visit policy and what the rules need to know.

The profile's visit section, the collectors' schedules and territories, the visits
already booked, the case's facts, and whether a case may have a visit at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    Borrower,
    CollectionCase,
    CollectorDayOff,
    CollectorDistrict,
    CollectorSchedule,
    Role,
)
from tui_desk.i18n import _
from tui_desk.rules import visits as rules
from tui_desk.rules.profile import Profile
from tui_desk.services.contact_checks import is_on_hold
from tui_desk.services.errors import NotFound, ServiceError

# Statuses a visit can still be changed from.
OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
_ACTIVE = tuple(AppointmentStatus(s) for s in sorted(rules.ACTIVE_STATUSES))


def visit_policy(profile: Profile) -> rules.VisitPolicy:
    return rules.VisitPolicy.from_section(profile.section("visits"))


def _weekdays(pattern: str) -> frozenset[int]:
    return frozenset(int(ch) for ch in pattern if ch in "1234567")


def collector_schedules(
    session: Session,
    *,
    district: str | None = None,
    collector_ids: Iterable[int] | None = None,
    policy: rules.VisitPolicy,
    timezone: str,
) -> list[rules.CollectorSchedule]:
    """Active collectors (serving ``district`` when given) with hours, territory, days off."""
    stmt = select(Agent).where(Agent.active.is_(True), Agent.role == Role.COLLECTOR)
    if district is not None:
        stmt = stmt.where(
            Agent.id.in_(
                select(CollectorDistrict.agent_id).where(CollectorDistrict.district == district)
            )
        )
    if collector_ids is not None:
        stmt = stmt.where(Agent.id.in_(list(collector_ids)))
    agents = list(session.scalars(stmt.order_by(Agent.id)))
    if not agents:
        return []
    ids = [a.id for a in agents]
    schedules = {
        row.agent_id: row
        for row in session.scalars(
            select(CollectorSchedule).where(CollectorSchedule.agent_id.in_(ids))
        )
    }
    territory: dict[int, set[str]] = {}
    for agent_id, name in session.execute(
        select(CollectorDistrict.agent_id, CollectorDistrict.district).where(
            CollectorDistrict.agent_id.in_(ids)
        )
    ):
        territory.setdefault(agent_id, set()).add(name)
    days_off: dict[int, set[dt.date]] = {}
    for agent_id, day in session.execute(
        select(CollectorDayOff.agent_id, CollectorDayOff.day).where(
            CollectorDayOff.agent_id.in_(ids)
        )
    ):
        days_off.setdefault(agent_id, set()).add(day)
    result = []
    for agent in agents:
        sched = schedules.get(agent.id)
        result.append(
            rules.CollectorSchedule(
                collector_id=agent.id,
                name=agent.name,
                timezone=sched.timezone if sched else timezone,
                districts=frozenset(territory.get(agent.id, ())),
                work_start=sched.work_start if sched else policy.work_start,
                work_end=sched.work_end if sched else policy.work_end,
                work_weekdays=_weekdays(sched.work_weekdays if sched else "12345"),
                days_off=frozenset(days_off.get(agent.id, ())),
            )
        )
    return result


def _booked(appt: Appointment) -> rules.BookedVisit:
    return rules.BookedVisit(
        appointment_id=appt.id,
        case_id=appt.case_id,
        collector_id=appt.collector_id,
        starts_at=appt.starts_at,
        ends_at=appt.ends_at,
        district=appt.district,
        status=appt.status.value,
    )


def collector_visits(
    session: Session, collector_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> dict[int, list[rules.BookedVisit]]:
    """Active visits of the collectors that could touch [start, end) (a day's margin)."""
    by_collector: dict[int, list[rules.BookedVisit]] = {cid: [] for cid in collector_ids}
    if not collector_ids:
        return by_collector
    margin = dt.timedelta(days=1)
    stmt = select(Appointment).where(
        Appointment.collector_id.in_(list(collector_ids)),
        Appointment.starts_at >= start - margin,
        Appointment.starts_at < end + margin,
        Appointment.status.in_(_ACTIVE),
    )
    for appt in session.scalars(stmt):
        by_collector[appt.collector_id].append(_booked(appt))
    return by_collector


def case_visits(session: Session, case_id: int) -> list[rules.BookedVisit]:
    stmt = select(Appointment).where(
        Appointment.case_id == case_id, Appointment.status.in_(_ACTIVE)
    )
    return [_booked(a) for a in session.scalars(stmt)]


def case_facts(session: Session, case: CollectionCase) -> tuple[rules.CaseFacts, Borrower]:
    borrower = session.get(Borrower, case.borrower_id)
    assert borrower is not None
    facts = rules.CaseFacts(
        case_id=case.id,
        district=borrower.district,
        registered=case.registered,
        documents_complete=case.documents_complete,
        on_hold=is_on_hold(session, case),
    )
    return facts, borrower


def lock_collector(session: Session, collector_id: int) -> Agent:
    """The collector's row, locked until commit: bookings of one collector queue up here."""
    stmt = select(Agent).where(Agent.id == collector_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    agent = session.scalars(stmt).one_or_none()
    if agent is None:
        raise NotFound(_("agent {agent_id} does not exist").format(agent_id=collector_id))
    if agent.role is not Role.COLLECTOR or not agent.active:
        raise ServiceError(_("{login} is not an active field collector").format(login=agent.login))
    return agent


def eligibility_problems(facts: rules.CaseFacts) -> list[str]:
    """Why a case cannot have a visit booked at all (empty when it can)."""
    problems = []
    if not facts.registered:
        problems.append(_("the borrower is not registered for the home-visit service"))
    if not facts.documents_complete:
        problems.append(_("the documents are not complete"))
    if facts.on_hold:
        problems.append(_("the case is on hold"))
    return problems
