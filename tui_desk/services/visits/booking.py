"""Booking a visit: the slot checked under the case's and the collector's locks.

A refusal leaves the write transaction first; its fresh suggestions are read in a
transaction of their own (``with_suggestions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Appointment, AppointmentStatus, Stage
from tui_desk.i18n import _
from tui_desk.rules import visits as rules
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contacts import (
    MAX_REASON,
    clean_note,
    stage_at_least,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import RuleRefused, ServiceError
from tui_desk.services.visits.policy import (
    case_facts,
    case_visits,
    collector_schedules,
    collector_visits,
    lock_collector,
    visit_policy,
)
from tui_desk.services.visits.suggestions import suggest
from tui_desk.views.visits import SlotOption


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


def override(
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


def check_slot(
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
    visits = collector_visits(session, [collector.id], starts_at, ends_at)
    return rules.check_booking(
        facts,
        rules.Slot(collector_id=collector.id, starts_at=starts_at, ends_at=ends_at),
        now=now,
        policy=policy,
        collector=schedules[0],
        collector_visits=visits[collector.id],
        case_visits=case_visits(session, facts.case_id),
        calendar=rules.work_calendar(profile.holidays_country),
        timezone=profile.office_timezone,
        replacing=replacing,
    )


def slot_times(
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
    start, end = slot_times(starts_at, ends_at, policy)
    text = clean_note(note)
    try:
        return _book(
            ctx, case_id, collector_id, start, end, text, override_reason,
            expected_version, now, prof, policy,
        )  # fmt: skip
    except Refused as refused:
        raise with_suggestions(ctx.db, refused, now=now, profile=prof, policy=policy) from None


class Refused(Exception):
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


def with_suggestions(
    db: Database,
    refused: Refused,
    *,
    now: dt.datetime,
    profile: Profile,
    policy: rules.VisitPolicy,
) -> BookingRefused:
    with db.read() as s:
        suggestions = suggest(
            s, refused.facts, now=now, profile=profile, policy=policy,
            replacing=refused.replacing,
        )  # fmt: skip
    return BookingRefused(refused.refusals, suggestions)


def _book(
    ctx: Context,
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
    db, actor = ctx.db, ctx.actor
    with db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version, ctx=ctx)
        collector = lock_collector(s, collector_id)
        facts, borrower = case_facts(s, case)
        refusals = check_slot(
            s, facts, collector, start, end, now=now, profile=prof, policy=policy,
            replacing=None,
        )  # fmt: skip
        reason = override(actor, refusals, override_reason)
        if refusals and reason is None:
            # Leave the write lock first: the suggestions are read in their own
            # transaction, so other desks' bookings do not wait for them.
            raise Refused(refusals, facts)
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
        before = {"stage": case.stage.value, "next_action_at": iso(case.next_action_at)}
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
                "starts_at": iso(start),
                "ends_at": iso(end),
                "overridden": [r.rule.value for r in refusals] if reason else [],
            },
        )
        return appt.id


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None
