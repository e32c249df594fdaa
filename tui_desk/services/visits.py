"""Home visits (process steps 3-4): booking, changes with notice, and the visit report.

Every write is one transaction with one audit event. Booking is race-free on a shared
database: the case row and the collector's agent row are locked (``FOR UPDATE`` on
PostgreSQL; SQLite writers hold ``BEGIN IMMEDIATE``), and the rules are checked against
what is committed under those locks, so two operators booking one collector's slot at
the same moment get exactly one visit; the other is refused with fresh suggestions.

The rules themselves are pure (``tui_desk.rules.visits``). Lead time, spacing and notice
are rules "in principle": a supervisor may book or change a visit against them with a
reason (``override_reason``), which is stored on the visit and audited. The others
(a collector in two places, holidays, working hours, territory, eligibility) are never
waived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentChange,
    AppointmentStatus,
    Borrower,
    ChangeKind,
    Channel,
    CollectionCase,
    CollectorDayOff,
    CollectorDistrict,
    CollectorSchedule,
    Document,
    DocumentStatus,
    Relation,
    Role,
    Side,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.i18n import _
from tui_desk.rules import visits as rules
from tui_desk.rules.documents import describe_missing, documents_complete
from tui_desk.rules.documents import label as document_label
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contact_checks import is_on_hold
from tui_desk.services.contacts import (
    MAX_REASON,
    clean_note,
    default_next_action,
    outstanding_minor,
    required_reason,
    resolve_now,
    stage_at_least,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, RuleRefused, ServiceError
from tui_desk.views.visits import DaySheet, SheetVisit, SlotOption

# Statuses a visit can still be changed from.
_OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
_ACTIVE = tuple(AppointmentStatus(s) for s in sorted(rules.ACTIVE_STATUSES))
# Outcomes where the visit did not happen as planned: the case goes back to the queue.
_BACK_TO_QUEUE = frozenset(
    {VisitOutcome.BORROWER_ABSENT, VisitOutcome.REFUSED, VisitOutcome.WRONG_ADDRESS}
)
MAX_RECEIPT = 40
MAX_MISMATCHES = 1000
# A report may be written this long before the visit's start (the collector is early).
_REPORT_EARLY = dt.timedelta(minutes=30)


class BookingRefused(RuleRefused):
    """The rules refuse the slot; carries every refusal and fresh suggestions."""

    def __init__(self, refusals: Sequence[rules.Refusal], suggestions: Sequence[SlotOption]):
        self.refusals = tuple(refusals)
        self.suggestions = tuple(suggestions)
        text = "; ".join(r.message for r in self.refusals)
        if self.refusals and all(r.overridable for r in self.refusals):
            text += " " + _("(a supervisor may book it anyway with a reason)")
        super().__init__(text)

    @property
    def rules(self) -> tuple[rules.BookingRule, ...]:
        return tuple(r.rule for r in self.refusals)


@dataclass(frozen=True)
class VisitReportInput:
    """What the collector records on or after the visit."""

    outcome: VisitOutcome
    work_id_shown: bool
    name_checked: bool
    contact_checked: bool
    address_checked: bool
    documents_ok: bool
    mismatches: str | None = None
    declared_income_minor: int | None = None
    obligations_minor: int | None = None
    affordable_monthly_minor: int | None = None
    collected_minor: int = 0
    collected_method: str | None = None
    receipt_no: str | None = None
    note: str | None = None


# --- reading what the rules need --------------------------------------------------------


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


def _collector_visits(
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


def _case_visits(session: Session, case_id: int) -> list[rules.BookedVisit]:
    stmt = select(Appointment).where(
        Appointment.case_id == case_id, Appointment.status.in_(_ACTIVE)
    )
    return [_booked(a) for a in session.scalars(stmt)]


def _facts(session: Session, case: CollectionCase) -> tuple[rules.CaseFacts, Borrower]:
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


def _lock_collector(session: Session, collector_id: int) -> Agent:
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


def _suggest(
    session: Session,
    facts: rules.CaseFacts,
    *,
    now: dt.datetime,
    profile: Profile,
    policy: rules.VisitPolicy,
    replacing: int | None = None,
    limit: int | None = None,
) -> list[SlotOption]:
    timezone = profile.office_timezone
    collectors = collector_schedules(
        session, district=facts.district, policy=policy, timezone=timezone
    )
    if not collectors:
        return []
    first = rules.earliest_day(now, policy, timezone)
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = start + dt.timedelta(days=policy.horizon_days + 1)
    visits = _collector_visits(session, [c.collector_id for c in collectors], start, end)
    slots = rules.propose_slots(
        facts,
        now=now,
        policy=policy,
        collectors=collectors,
        visits_by_collector=visits,
        case_visits=_case_visits(session, facts.case_id),
        calendar=rules.work_calendar(profile.holidays_country),
        timezone=timezone,
        replacing=replacing,
        limit=limit,
    )
    names = {c.collector_id: c.name for c in collectors}
    logins: dict[int, str] = {
        agent_id: login
        for agent_id, login in session.execute(
            select(Agent.id, Agent.login).where(Agent.id.in_(list(names)))
        )
    }
    if replacing is not None:
        # Moving a visit to where it already is would not move it.
        old = session.get(Appointment, replacing)
        if old is not None:
            slots = [
                s for s in slots
                if (s.collector_id, s.starts_at) != (old.collector_id, old.starts_at)
            ]  # fmt: skip
    return [
        SlotOption(
            collector_id=slot.collector_id,
            collector_name=names[slot.collector_id],
            collector_login=logins[slot.collector_id],
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            district=facts.district,
        )
        for slot in slots
    ]


def suggest_slots(
    db: Database,
    case_id: int,
    *,
    replacing: int | None = None,
    limit: int | None = None,
    now: dt.datetime,
    profile: Profile,
) -> list[SlotOption]:
    """The next valid slots for the case, earliest first, with collectors free then."""
    now = resolve_now(now)
    prof = profile
    with db.read() as s:
        case = s.get(CollectionCase, case_id)
        if case is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        facts, _borrower = _facts(s, case)
        return _suggest(
            s, facts, now=now, profile=prof, policy=visit_policy(prof), replacing=replacing,
            limit=limit,
        )  # fmt: skip


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


# --- booking -----------------------------------------------------------------------------


def _override(
    actor: Actor, refusals: Sequence[rules.Refusal], override_reason: str | None
) -> str | None:
    """The override reason when a supervisor waives only "in principle" rules, else None."""
    reason = (override_reason or "").strip()
    if not reason or not refusals:
        return None
    if not all(r.overridable for r in refusals):
        return None
    actor.require(Action.OVERRIDE_BOOKING_RULE)
    if len(reason) > MAX_REASON:
        raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_REASON))
    return reason


def _check_slot(
    session: Session,
    facts: rules.CaseFacts,
    collector: Agent,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    now: dt.datetime,
    profile: Profile,
    policy: rules.VisitPolicy,
    replacing: int | None,
) -> list[rules.Refusal]:
    schedules = collector_schedules(
        session, collector_ids=[collector.id], policy=policy, timezone=profile.office_timezone
    )
    if not schedules:
        raise ServiceError(
            _("{login} is not an active field collector").format(login=collector.login)
        )
    visits = _collector_visits(session, [collector.id], starts_at, ends_at)
    return rules.check_booking(
        facts,
        rules.Slot(collector_id=collector.id, starts_at=starts_at, ends_at=ends_at),
        now=now,
        policy=policy,
        collector=schedules[0],
        collector_visits=visits[collector.id],
        case_visits=_case_visits(session, facts.case_id),
        calendar=rules.work_calendar(profile.holidays_country),
        timezone=profile.office_timezone,
        replacing=replacing,
    )


def _slot_times(
    starts_at: dt.datetime, ends_at: dt.datetime | None, policy: rules.VisitPolicy
) -> tuple[dt.datetime, dt.datetime]:
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    start = starts_at.astimezone(dt.UTC)
    end = (
        ends_at.astimezone(dt.UTC)
        if ends_at is not None
        else start + dt.timedelta(minutes=policy.duration_minutes)
    )
    return start, end


def book_visit(
    ctx: Context,
    case_id: int,
    *,
    collector_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None = None,
    note: str | None = None,
    override_reason: str | None = None,
    expected_version: int | None = None,
) -> int:
    """Book a home visit; refused (with fresh suggestions) when a rule says no."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = visit_policy(prof)
    start, end = _slot_times(starts_at, ends_at, policy)
    text = clean_note(note)
    try:
        return _book(
            ctx.db, ctx.actor, case_id, collector_id, start, end, text, override_reason,
            expected_version, now, prof, policy,
        )  # fmt: skip
    except _Refused as refused:
        raise _with_suggestions(ctx.db, refused, now=now, profile=prof, policy=policy) from None


class _Refused(Exception):
    """Internal: the rules said no; suggestions are added outside the write transaction."""

    def __init__(
        self,
        refusals: Sequence[rules.Refusal],
        facts: rules.CaseFacts,
        replacing: int | None = None,
    ) -> None:
        super().__init__()
        self.refusals = refusals
        self.facts = facts
        self.replacing = replacing


def _with_suggestions(
    db: Database,
    refused: _Refused,
    *,
    now: dt.datetime,
    profile: Profile,
    policy: rules.VisitPolicy,
) -> BookingRefused:
    with db.read() as s:
        suggestions = _suggest(
            s, refused.facts, now=now, profile=profile, policy=policy,
            replacing=refused.replacing,
        )  # fmt: skip
    return BookingRefused(refused.refusals, suggestions)


def _book(
    db: Database,
    actor: Actor,
    case_id: int,
    collector_id: int,
    start: dt.datetime,
    end: dt.datetime,
    text: str | None,
    override_reason: str | None,
    expected_version: int | None,
    now: dt.datetime,
    prof: Profile,
    policy: rules.VisitPolicy,
) -> int:
    with db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version)
        collector = _lock_collector(s, collector_id)
        facts, borrower = _facts(s, case)
        refusals = _check_slot(
            s, facts, collector, start, end, now=now, profile=prof, policy=policy,
            replacing=None,
        )  # fmt: skip
        reason = _override(actor, refusals, override_reason)
        if refusals and reason is None:
            # Leave the write lock first: the suggestions are read in their own
            # transaction, so other desks' bookings do not wait for them.
            raise _Refused(refusals, facts)
        appt = Appointment(
            case_id=case.id,
            collector_id=collector.id,
            starts_at=start,
            ends_at=end,
            place=borrower.address,
            district=borrower.district,
            status=AppointmentStatus.BOOKED,
            booked_by_id=actor.id,
            booked_at=now,
            override_by_id=actor.id if reason else None,
            override_reason=reason,
            note=text,
        )
        s.add(appt)
        before = {"stage": case.stage.value, "next_action_at": _iso(case.next_action_at)}
        stage_at_least(case, Stage.VISIT_BOOKED)
        # The visit is the case's next action: it waits for the day, not for a call.
        case.next_action_at = start
        recompute_priority(case, now, prof)
        s.flush()
        audit.record(
            s,
            actor,
            "visit.book",
            "appointment",
            appt.id,
            f"{actor.login} booked a visit on case {case.id} with {collector.login} "
            f"at {start:%Y-%m-%d %H:%M}Z" + (" (override)" if reason else ""),
            now=now,
            case_id=case.id,
            before=before,
            after={
                "stage": case.stage.value,
                "collector": collector.login,
                "starts_at": _iso(start),
                "ends_at": _iso(end),
                "overridden": [r.rule.value for r in refusals] if reason else [],
            },
        )
        return appt.id


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def _load_open_visit(session: Session, appointment_id: int) -> Appointment:
    appt = session.get(Appointment, appointment_id)
    if appt is None:
        raise NotFound(_("visit {id} does not exist").format(id=appointment_id))
    if appt.status not in _OPEN_STATUSES:
        raise ServiceError(
            _("visit {id} is {status}: only a booked or confirmed visit can change").format(
                id=appointment_id, status=appt.status.value
            )
        )
    return appt


def _notice(
    actor: Actor,
    appt: Appointment,
    *,
    now: dt.datetime,
    policy: rules.VisitPolicy,
    override_reason: str | None,
) -> str | None:
    """None when the notice period is kept; the override reason when it is waived."""
    refusal = rules.check_notice(appt.starts_at, now=now, policy=policy)
    if refusal is None:
        return None
    reason = _override(actor, [refusal], override_reason)
    if reason is None:
        raise BookingRefused([refusal], ())
    return reason


def _notified(
    side: Side | str, notified_how: Channel | str, notified_at: dt.datetime | None, now: dt.datetime
) -> tuple[Side, Channel, dt.datetime]:
    try:
        side_value = Side(side)
        how = Channel(notified_how)
    except ValueError as exc:
        raise ServiceError(
            _("say who asked for the change and how the other side was told")
        ) from exc
    when = resolve_now(notified_at) if notified_at is not None else now
    if when > now + dt.timedelta(minutes=5):
        raise ServiceError(_("the other side cannot have been told in the future"))
    return side_value, how, when


def reschedule_visit(
    ctx: Context,
    appointment_id: int,
    *,
    starts_at: dt.datetime,
    side: Side | str,
    notified_how: Channel | str,
    reason: str,
    collector_id: int | None = None,
    ends_at: dt.datetime | None = None,
    notified_at: dt.datetime | None = None,
    override_reason: str | None = None,
) -> int:
    """Move a visit: the old one is marked rescheduled, a new one is booked; returns its id.

    The notice rule applies to the original start; the new slot must pass the booking
    rules (its own old slot never clashes with it). The notice given is recorded.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = visit_policy(prof)
    why = required_reason(reason, _("a change of visit needs a reason"))
    side_value, how, when = _notified(side, notified_how, notified_at, now)
    try:
        with ctx.db.write() as s:
            old = _load_open_visit(s, appointment_id)
            case = load_for_edit(s, old.case_id)
            notice_override = _notice(
                ctx.actor, old, now=now, policy=policy, override_reason=override_reason
            )
            # Both collectors' rows, always in id order: two moves in opposite directions
            # between the same collectors must not deadlock.
            target_id = collector_id or old.collector_id
            locked = {cid: _lock_collector(s, cid) for cid in sorted({target_id, old.collector_id})}
            collector = locked[target_id]
            duration = old.ends_at - old.starts_at
            start, end = _slot_times(starts_at, ends_at or starts_at + duration, policy)
            facts, _borrower = _facts(s, case)
            refusals = _check_slot(
                s, facts, collector, start, end, now=now, profile=prof, policy=policy,
                replacing=old.id,
            )  # fmt: skip
            slot_override = _override(ctx.actor, refusals, override_reason)
            if refusals and slot_override is None:
                raise _Refused(refusals, facts, replacing=old.id)
            used = notice_override or slot_override
            old.status = AppointmentStatus.RESCHEDULED
            new = Appointment(
                case_id=case.id,
                collector_id=collector.id,
                starts_at=start,
                ends_at=end,
                place=old.place,
                district=old.district,
                status=AppointmentStatus.BOOKED,
                booked_by_id=ctx.actor.id,
                booked_at=now,
                rescheduled_from_id=old.id,
                override_by_id=ctx.actor.id if used else None,
                override_reason=used,
                note=old.note,
            )
            s.add(new)
            s.add(
                _change(
                    old, ChangeKind.RESCHEDULE, ctx.actor, side_value, how, when, now, why, start
                )
            )
            case.next_action_at = start
            recompute_priority(case, now, prof)
            s.flush()
            audit.record(
                s,
                ctx.actor,
                "visit.reschedule",
                "appointment",
                new.id,
                f"{ctx.actor.login} moved visit {old.id} of case {case.id} to "
                f"{start:%Y-%m-%d %H:%M}Z ({side_value.value} asked, told by {how.value})"
                + (" (override)" if used else ""),
                now=now,
                case_id=case.id,
                before={"appointment": old.id, "starts_at": _iso(old.starts_at),
                        "collector_id": old.collector_id},
                after={"appointment": new.id, "starts_at": _iso(start),
                       "collector": collector.login, "side": side_value.value,
                       "notified_how": how.value, "notified_at": _iso(when),
                       "override": bool(used)},
            )  # fmt: skip
            return new.id
    except _Refused as refused:
        raise _with_suggestions(ctx.db, refused, now=now, profile=prof, policy=policy) from None


def _change(
    appt: Appointment,
    kind: ChangeKind,
    actor: Actor,
    side: Side,
    how: Channel,
    notified_at: dt.datetime,
    now: dt.datetime,
    reason: str,
    new_start: dt.datetime | None,
) -> AppointmentChange:
    """The record of a move or cancellation: who asked, how the other side was told."""
    return AppointmentChange(
        appointment_id=appt.id,
        kind=kind,
        requested_by_side=side,
        agent_id=actor.id,
        requested_at=now,
        notified_at=notified_at,
        notified_how=how,
        old_starts_at=appt.starts_at,
        new_starts_at=new_start,
        reason=reason,
    )


def cancel_visit(
    ctx: Context,
    appointment_id: int,
    *,
    side: Side | str,
    notified_how: Channel | str,
    reason: str,
    notified_at: dt.datetime | None = None,
    override_reason: str | None = None,
) -> None:
    """Cancel a visit with the notice rule; the case goes back to the queue."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = visit_policy(prof)
    why = required_reason(reason, _("a change of visit needs a reason"))
    side_value, how, when = _notified(side, notified_how, notified_at, now)
    with ctx.db.write() as s:
        appt = _load_open_visit(s, appointment_id)
        case = load_for_edit(s, appt.case_id)
        used = _notice(ctx.actor, appt, now=now, policy=policy, override_reason=override_reason)
        appt.status = AppointmentStatus.CANCELLED
        if used:
            appt.override_by_id = ctx.actor.id
            appt.override_reason = used
        s.add(_change(appt, ChangeKind.CANCEL, ctx.actor, side_value, how, when, now, why, None))
        _back_to_queue(s, case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "visit.cancel",
            "appointment",
            appt.id,
            f"{ctx.actor.login} cancelled visit {appt.id} of case {case.id} "
            f"({side_value.value} asked, told by {how.value})" + (" (override)" if used else ""),
            now=now,
            case_id=case.id,
            before={"status": "booked", "starts_at": _iso(appt.starts_at)},
            after={"status": appt.status.value, "side": side_value.value,
                   "notified_how": how.value, "override": bool(used)},
        )  # fmt: skip


def _back_to_queue(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> None:
    """No visit ahead any more: the case needs a call again, due the next office day."""
    session.flush()
    ahead = session.scalar(
        select(Appointment.starts_at)
        .where(
            Appointment.case_id == case.id,
            Appointment.status.in_(_OPEN_STATUSES),
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at)
        .limit(1)
    )
    if ahead is not None:
        case.next_action_at = ahead
    else:
        if case.stage is Stage.VISIT_BOOKED:
            case.stage = Stage.DOCUMENTS if case.documents_complete else Stage.REGISTERED
        case.next_action_at = default_next_action(now, profile)
    recompute_priority(case, now, profile)


def confirm_visit(ctx: Context, appointment_id: int) -> None:
    """The borrower confirmed the visit (status booked -> confirmed)."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    with ctx.db.write() as s:
        appt = _load_open_visit(s, appointment_id)
        if appt.status is AppointmentStatus.CONFIRMED:
            raise ServiceError(_("visit {id} is already confirmed").format(id=appt.id))
        load_for_edit(s, appt.case_id)
        appt.status = AppointmentStatus.CONFIRMED
        audit.record(
            s,
            ctx.actor,
            "visit.confirm",
            "appointment",
            appt.id,
            f"{ctx.actor.login} confirmed visit {appt.id}",
            now=now,
            case_id=appt.case_id,
            before={"status": "booked"},
            after={"status": "confirmed"},
        )


# --- the visit report --------------------------------------------------------------------


def _money(value: int | None, what: str) -> int | None:
    if value is not None and value < 0:
        raise ServiceError(_("{what} cannot be negative").format(what=what))
    return value


def record_visit_report(ctx: Context, appointment_id: int, report: VisitReportInput) -> int:
    """Record the on-site verification; moves the case on, or back to the queue."""
    ctx.actor.require(Action.RECORD_VISIT_REPORT)
    now = ctx.now()
    prof = ctx.profile
    outcome = VisitOutcome(report.outcome)
    _money(report.declared_income_minor, _("declared income"))
    _money(report.obligations_minor, _("regular obligations"))
    _money(report.affordable_monthly_minor, _("the affordable monthly amount"))
    collected = _money(report.collected_minor, _("money collected")) or 0
    method = (report.collected_method or "").strip() or None
    receipt = (report.receipt_no or "").strip() or None
    if collected > 0 and (method is None or receipt is None):
        raise ServiceError(_("money collected at the door needs a method and a receipt number"))
    if receipt is not None and len(receipt) > MAX_RECEIPT:
        raise ServiceError(_("a receipt number has at most {n} characters").format(n=MAX_RECEIPT))
    if outcome in (VisitOutcome.BORROWER_ABSENT, VisitOutcome.WRONG_ADDRESS) and collected:
        raise ServiceError(_("no money can be collected from a borrower who was not met"))
    mismatches = (report.mismatches or "").strip() or None
    if mismatches is not None and len(mismatches) > MAX_MISMATCHES:
        raise ServiceError(_("mismatches have at most {n} characters").format(n=MAX_MISMATCHES))
    checks = (report.name_checked, report.contact_checked, report.address_checked)
    if not all(checks) and mismatches is None and outcome not in _BACK_TO_QUEUE:
        raise ServiceError(_("say what did not match the file (name, contact or address)"))
    note = clean_note(report.note)
    with ctx.db.write() as s:
        appt = s.get(Appointment, appointment_id)
        if appt is None:
            raise NotFound(_("visit {id} does not exist").format(id=appointment_id))
        existing = s.scalar(select(VisitReport.id).where(VisitReport.appointment_id == appt.id))
        if existing is not None:
            raise ServiceError(_("visit {id} already has a report").format(id=appt.id))
        if appt.status not in _OPEN_STATUSES:
            raise ServiceError(
                _("visit {id} is {status}: there is no visit to report on").format(
                    id=appt.id, status=appt.status.value
                )
            )
        if appt.starts_at - _REPORT_EARLY > now:
            raise ServiceError(
                _("visit {id} has not taken place yet; report on or after the visit").format(
                    id=appt.id
                )
            )
        case = load_for_edit(s, appt.case_id)
        row = VisitReport(
            appointment_id=appt.id,
            case_id=case.id,
            collector_id=appt.collector_id,
            work_id_shown=report.work_id_shown,
            name_checked=report.name_checked,
            contact_checked=report.contact_checked,
            address_checked=report.address_checked,
            documents_ok=report.documents_ok,
            mismatches=mismatches,
            declared_income_minor=report.declared_income_minor,
            obligations_minor=report.obligations_minor,
            affordable_monthly_minor=report.affordable_monthly_minor,
            collected_minor=collected,
            collected_method=method,
            receipt_no=receipt,
            outcome=outcome,
            note=note,
            created_at=now,
        )
        s.add(row)
        before = {"stage": case.stage.value, "status": appt.status.value}
        if outcome is VisitOutcome.BORROWER_ABSENT:
            appt.status = AppointmentStatus.NO_SHOW
        else:
            appt.status = AppointmentStatus.DONE
        if outcome in _BACK_TO_QUEUE:
            _back_to_queue(s, case, now, prof)
        else:
            stage_at_least(case, Stage.VISITED)
            # Next: a repayment plan, drafted from what was assessed on site.
            case.next_action_at = default_next_action(now, prof)
            recompute_priority(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "visit.report",
            "visit_report",
            row.id,
            f"{ctx.actor.login} reported visit {appt.id} of case {case.id}: {outcome.value}",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "stage": case.stage.value,
                "status": appt.status.value,
                "outcome": outcome.value,
                "collected_minor": collected,
                "mismatches": mismatches is not None,
                "affordable_monthly_minor": report.affordable_monthly_minor,
            },
        )
        return row.id


def overdue_collection_count(db: Database, *, now: dt.datetime, profile: Profile) -> int:
    """Door collections unmatched for longer than the profile allows (supervisors' alert)."""
    now = resolve_now(now)
    policy = visit_policy(profile)
    limit = now - dt.timedelta(days=policy.unreconciled_alert_days)
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(VisitReport)
                .where(
                    VisitReport.collected_minor > 0,
                    VisitReport.reconciled_payment_id.is_(None),
                    VisitReport.created_at < limit,
                )
            )
            or 0
        )


@dataclass(frozen=True)
class DoorCollection:
    """Money taken at the door that no bank payment matches yet."""

    report_id: int
    case_id: int
    collector_id: int
    collector_name: str
    collected_minor: int
    receipt_no: str | None
    reported_at: dt.datetime
    overdue: bool  # older than the profile's alert threshold


def unreconciled_collections(
    db: Database, *, now: dt.datetime, profile: Profile
) -> list[DoorCollection]:
    """Door collections without a matching bank payment, oldest first."""
    now = resolve_now(now)
    policy = visit_policy(profile)
    limit = dt.timedelta(days=policy.unreconciled_alert_days)
    with db.read() as s:
        stmt = (
            select(VisitReport, Agent.name)
            .join(Agent, Agent.id == VisitReport.collector_id)
            .where(VisitReport.collected_minor > 0, VisitReport.reconciled_payment_id.is_(None))
            .order_by(VisitReport.created_at, VisitReport.id)
        )
        return [
            DoorCollection(
                report_id=r.id,
                case_id=r.case_id,
                collector_id=r.collector_id,
                collector_name=name,
                collected_minor=r.collected_minor,
                receipt_no=r.receipt_no,
                reported_at=r.created_at,
                overdue=now - r.created_at > limit,
            )
            for r, name in s.execute(stmt)
        ]


# --- the collector's day sheet -----------------------------------------------------------


def day_sheet(ctx: Context, collector_id: int, day: dt.date) -> DaySheet:
    """A collector's visits of one day in order, with full addresses (an audited read).

    The sheet is what the collector takes on the road: it shows personal data unmasked,
    so producing it is recorded in the audit trail like any other reveal.
    """
    ctx.actor.require(Action.WORK_CASES)
    if ctx.actor.role is Role.COLLECTOR and ctx.actor.id != collector_id:
        raise ServiceError(_("a collector sees only their own day sheet"))
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
                Appointment.status.in_((*_OPEN_STATUSES, AppointmentStatus.DONE)),
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
                    outstanding_minor=outstanding_minor(s, case),
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
