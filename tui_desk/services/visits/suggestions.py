"""Slot suggestions: the next valid slots for a case, with collectors free then."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Appointment, CollectionCase
from tui_desk.i18n import _
from tui_desk.rules import visits as rules
from tui_desk.rules.profile import Profile
from tui_desk.services.contacts import resolve_now
from tui_desk.services.errors import NotFound
from tui_desk.services.visits.policy import (
    case_facts,
    case_visits,
    collector_schedules,
    collector_visits,
    visit_policy,
)
from tui_desk.views.visits import SlotOption


def suggest(
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
    visits = collector_visits(session, [c.collector_id for c in collectors], start, end)
    slots = rules.propose_slots(
        facts,
        now=now,
        policy=policy,
        collectors=collectors,
        visits_by_collector=visits,
        case_visits=case_visits(session, facts.case_id),
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
        facts, _borrower = case_facts(s, case)
        return suggest(
            s, facts, now=now, profile=prof, policy=visit_policy(prof), replacing=replacing,
            limit=limit,
        )  # fmt: skip
