"""Contact strategies applied by the worker: events found, actions done through the desk's
own rules, each recorded and audited.

The job (``strategies``) looks for open cases where a strategy's event may stand (recent
unanswered calls, broken promises, missed instalments under a signed agreement, a silence
reaching its length), reads each one's facts, lets the pure rules
(``tui_desk.rules.strategies``) say which actions follow, and applies them:

- ``sms``: the desk's SMS path (``services.sms.decide_sms`` then ``write_sms``): the
  contact rules for the channel (quiet hours in the borrower's zones, do-not-call, holds,
  allowed parties) and the SMS cap decide, and the message goes to the outbox with its
  contact attempt (no agent: automatic).
- ``callback``: the next working day at the borrower's usual answering hour (the hour of
  most of their answered calls, else ``[strategy] callback_at``), checked with the contact
  rules *at that time* and with the call history (quiet hours, daily and 7-day call caps,
  the quiet days after a conversation), do-not-call on the number to dial and holds;
  booked for the case's owner. A callback already booked is kept, and the action refused.
- ``raise_priority``: adds to the case's ``priority_boost`` (the queue's score), unless
  the case is on hold; the next contact logged on the desk clears it.

Every action, done or refused (with the refusing rule and its reason), is a
``strategy_action`` row and an audit event (no actor: the system), in the transaction of
its batch. (case, strategy, event key, action) is unique and the rules skip events that
fired, so a rerun does nothing twice. Cases another agent holds a live lease on are left
for a later run, so an operator's case does not change under them. Strategies fire only
between ``[strategy] run_from`` and ``run_until`` office time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    Borrower,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    InstalmentStatus,
    Outcome,
    PlanInstalment,
    PromiseStatus,
    PromiseToPay,
    RepaymentPlan,
    StrategyAction,
    StrategyActionStatus,
)
from tui_desk.i18n import _
from tui_desk.rules import strategies as rules
from tui_desk.rules.contact import CONNECTED_OUTCOMES, check_contact
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.rules.visits import work_calendar
from tui_desk.services import audit, sms
from tui_desk.services.case_state import live_holder, office_today, recompute_priority
from tui_desk.services.contact_checks import (
    candidate_zones,
    contact_policy,
    contact_request,
    is_on_hold,
    recent_history,
)
from tui_desk.services.contacts import borrower_phones, resolve_now
from tui_desk.services.errors import ServiceError
from tui_desk.services.jobs import JobFunction, job_write, resume_point, save_progress
from tui_desk.services.ledger import missed_after_days

DEFAULT_PROFILE = "cn"
STRATEGIES_EVERY = dt.timedelta(minutes=15)
# About 15 ms a case that fires (SQLite, 2 busy cores): a batch holds the write lock
# for a few hundred milliseconds at most, so desk writes hardly wait.
DEFAULT_BATCH_CASES = 20
AUDIT_ACTION = "strategy.action"
MAX_BOOST = 100_000
# How many answered calls say when a borrower usually answers.
_ANSWERED_SAMPLE = 50
_NO_AGENT = 0  # no agent has id 0: any live lease is someone else's


@dataclass(frozen=True)
class StrategyRun:
    cases: int = 0
    done: int = 0
    refused: int = 0
    leased: int = 0
    outside_hours: bool = False

    def summary(self) -> str:
        if self.outside_hours:
            return "contact strategies: outside their hours, nothing fired"
        return (
            f"contact strategies: {self.done} actions done, {self.refused} refused, "
            f"on {self.cases} cases ({self.leased} in an agent's hands left for later)"
        )


@dataclass(frozen=True)
class _Result:
    status: StrategyActionStatus
    refused_by: str | None = None
    reason: str | None = None
    contact_id: int | None = None


def _refused(rule: str | None, reason: str) -> _Result:
    return _Result(StrategyActionStatus.REFUSED, rule or "refused", reason)


# --- finding the cases ------------------------------------------------------------------


def _no_answer_days(policy: rules.StrategyPolicy) -> int:
    return max(
        (s.when.within_days for s in policy.strategies if s.when.event == rules.NO_ANSWER_COUNT),
        default=0,
    )


def _no_answer_filter(now: dt.datetime, days: int) -> list[ColumnElement[bool]]:
    return [
        ContactAttempt.channel == Channel.PHONE,
        ContactAttempt.direction == Direction.OUTBOUND,
        ContactAttempt.outcome == Outcome.NO_ANSWER,
        ContactAttempt.voided_at.is_(None),
        ContactAttempt.started_at > now - dt.timedelta(days=days),
        ContactAttempt.started_at <= now,
    ]


def _missed_since(now: dt.datetime, prof: Profile) -> dt.date:
    policy = prof.strategies
    return office_today(now, prof) - dt.timedelta(
        days=missed_after_days(prof) + policy.lookback_days
    )


def _not_fired(rule: str, case_id: Any, key: ColumnElement[str]) -> ColumnElement[bool]:
    return ~(
        select(StrategyAction.id)
        .where(
            StrategyAction.case_id == case_id,
            StrategyAction.rule == rule,
            StrategyAction.event_key == key,
        )
        .exists()
    )


def candidate_cases(s: Session, now: dt.datetime, prof: Profile) -> list[int]:
    """Open cases on which some strategy's event may stand and has not fired yet (the
    rules decide; this only keeps a run from reading every case)."""
    policy = prof.strategies
    lookback = now - dt.timedelta(days=policy.lookback_days)
    ids: set[int] = set()
    counts = [st.when.count for st in policy.strategies if st.when.event == rules.NO_ANSWER_COUNT]
    if counts:
        ids.update(
            s.scalars(
                select(ContactAttempt.case_id)
                .where(*_no_answer_filter(now, _no_answer_days(policy)))
                .group_by(ContactAttempt.case_id)
                .having(func.count() >= min(counts))
            )
        )
    for st in policy.strategies:
        event = st.when.event
        if event == rules.PROMISE_BROKEN:
            key = literal("promise:") + cast(PromiseToPay.id, String)
            ids.update(
                s.scalars(
                    select(PromiseToPay.case_id).where(
                        PromiseToPay.status == PromiseStatus.BROKEN,
                        PromiseToPay.resolved_at >= lookback,
                        PromiseToPay.resolved_at <= now,
                        _not_fired(st.name, PromiseToPay.case_id, key),
                    )
                )
            )
        elif event == rules.INSTALMENT_MISSED:
            key = literal("instalment:") + cast(PlanInstalment.id, String)
            ids.update(
                s.scalars(
                    _missed_query(now, prof)
                    .with_only_columns(RepaymentPlan.case_id)
                    .where(_not_fired(st.name, RepaymentPlan.case_id, key))
                )
            )
        elif event == rules.NO_CONTACT_DAYS:
            ids.update(s.scalars(_silent_cases(st, now, policy.lookback_days)))
    if not ids:
        return []
    open_ids: list[int] = []
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        open_ids += s.scalars(
            select(CollectionCase.id).where(
                CollectionCase.id.in_(chunk), CollectionCase.status == CaseStatus.OPEN
            )
        )
    return sorted(open_ids)


def _silent_cases(st: rules.Strategy, now: dt.datetime, lookback_days: int) -> Select[int]:
    """Open cases whose silence (since the last contact, else since opening) reached the
    strategy's length within the lookback, and on which the strategy has not acted since."""
    case = CollectionCase
    last = (
        select(func.max(ContactAttempt.started_at))
        .where(ContactAttempt.case_id == case.id, ContactAttempt.voided_at.is_(None))
        .scalar_subquery()
    )
    since = func.coalesce(last, case.opened_at)
    acted = (
        select(StrategyAction.id)
        .where(
            StrategyAction.case_id == case.id,
            StrategyAction.rule == st.name,
            StrategyAction.at >= since,
        )
        .exists()
    )
    return select(case.id).where(
        case.status == CaseStatus.OPEN,
        since >= now - dt.timedelta(days=st.when.days + lookback_days),
        since <= now - dt.timedelta(days=st.when.days),
        ~acted,
    )


def _missed_query(now: dt.datetime, prof: Profile) -> Select[int]:
    signed = (
        select(Agreement.id)
        .where(Agreement.plan_id == RepaymentPlan.id, Agreement.status == AgreementStatus.SIGNED)
        .exists()
    )
    return (
        select(PlanInstalment.id)
        .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
        .where(
            PlanInstalment.status == InstalmentStatus.MISSED,
            PlanInstalment.due_on >= _missed_since(now, prof),
            signed,
        )
    )


# --- one case's facts -------------------------------------------------------------------


def case_events(
    s: Session, case: CollectionCase, now: dt.datetime, prof: Profile
) -> rules.CaseEvents:
    policy = prof.strategies
    days = _no_answer_days(policy)
    no_answers: tuple[tuple[int, dt.datetime], ...] = ()
    if days:
        no_answers = tuple(
            (int(i), at)
            for i, at in s.execute(
                select(ContactAttempt.id, ContactAttempt.started_at)
                .where(ContactAttempt.case_id == case.id, *_no_answer_filter(now, days))
                .order_by(ContactAttempt.started_at, ContactAttempt.id)
            )
        )
    last_contact = s.scalar(
        select(func.max(ContactAttempt.started_at)).where(
            ContactAttempt.case_id == case.id,
            ContactAttempt.voided_at.is_(None),
            ContactAttempt.started_at <= now,
        )
    )
    lookback = now - dt.timedelta(days=policy.lookback_days)
    broken = tuple(
        (int(i), at)
        for i, at in s.execute(
            select(PromiseToPay.id, PromiseToPay.resolved_at).where(
                PromiseToPay.case_id == case.id,
                PromiseToPay.status == PromiseStatus.BROKEN,
                PromiseToPay.resolved_at >= lookback,
            )
        )
        if at is not None
    )
    missed = tuple(
        int(i)
        for i in s.scalars(
            _missed_query(now, prof)
            .where(RepaymentPlan.case_id == case.id)
            .order_by(PlanInstalment.id)
        )
    )
    fired = frozenset(
        (rule, key)
        for rule, key in s.execute(
            select(StrategyAction.rule, StrategyAction.event_key).where(
                StrategyAction.case_id == case.id
            )
        )
    )
    zone = ZoneInfo(prof.office_timezone)
    midnight = dt.datetime.combine(office_today(now, prof), dt.time(0), tzinfo=zone)
    done_today = int(
        s.scalar(
            select(func.count())
            .select_from(StrategyAction)
            .where(
                StrategyAction.case_id == case.id,
                StrategyAction.status == StrategyActionStatus.DONE,
                StrategyAction.at >= midnight.astimezone(dt.UTC),
            )
        )
        or 0
    )
    return rules.CaseEvents(
        opened_at=case.opened_at,
        no_answers=no_answers,
        last_contact_at=last_contact,
        broken_promises=broken,
        missed_instalments=missed,
        fired=fired,
        done_today=done_today,
    )


# --- applying one action ----------------------------------------------------------------


class Templates:
    """The SMS templates of one run, read on first use: the shipped ones and those a
    supervisor installed in the database (the desk's catalogue)."""

    def __init__(self, db: Database | None, prof: Profile) -> None:
        self.db = db
        self.prof = prof
        self._catalogue: sms.TemplateCatalogue | None = None

    def __call__(self) -> sms.TemplateCatalogue:
        if self._catalogue is None:
            self._catalogue = sms.load_sms_templates(self.prof, db=self.db)
        return self._catalogue


class _Applier:
    def __init__(self, s: Session, now: dt.datetime, prof: Profile, templates: Templates) -> None:
        self.s = s
        self.now = now
        self.prof = prof
        self.policy = contact_policy(prof)
        self.catalogue = templates

    def apply(self, case: CollectionCase, borrower: Borrower, planned: rules.Planned) -> _Result:
        if planned.refused_rule == rules.DAILY_CEILING:
            return _refused(
                rules.DAILY_CEILING,
                _("at most {n} automatic actions on a case a day").format(
                    n=self.prof.strategies.daily_ceiling
                ),
            )
        then = planned.then
        if then.action == rules.SMS:
            return self._sms(case, borrower, planned)
        if then.action == rules.CALLBACK:
            return self._callback(case, borrower)
        return self._raise(case, then.amount)

    def _sms(self, case: CollectionCase, borrower: Borrower, planned: rules.Planned) -> _Result:
        name = planned.then.template or ""
        try:
            template = self.catalogue().get(name)
        except ServiceError as exc:  # no such template (UnknownRecord)
            return _refused("template", str(exc))
        try:
            phone = sms.sms_phone(self.s, borrower, None)
        except ServiceError as exc:
            return _refused("no_phone", str(exc))
        decision = sms.decide_sms(self.s, case, borrower, phone, self.now, self.prof)
        if not decision.allowed:
            return _refused(decision.rule, decision.reason)
        note = _("auto: {rule} -> SMS {template}").format(rule=planned.strategy, template=name)
        try:
            attempt, _outbox, _length = sms.write_sms(
                self.s, case, borrower, phone, template, None, self.now, self.prof, note=note
            )
        except ServiceError as exc:  # the merged text breaks a template rule
            return _refused("template", str(exc))
        return _Result(StrategyActionStatus.DONE, contact_id=attempt.id)

    def _callback(self, case: CollectionCase, borrower: Borrower) -> _Result:
        now = self.now
        if case.callback_at is not None and case.callback_at > now:
            return _refused(
                "callback_booked",
                _("a callback is already booked for {time}").format(
                    time=case.callback_at.astimezone(ZoneInfo(self.prof.office_timezone)).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                ),
            )
        phones = borrower_phones(self.s, borrower.id, self.policy)
        if not phones:
            return _refused("no_phone", _("the borrower has no phone number on file"))
        phone = phones[0]
        zones = candidate_zones(borrower, phone)
        zone = ZoneInfo(zones[0] if zones else self.prof.office_timezone)
        answered = self.s.scalars(
            select(ContactAttempt.started_at)
            .where(
                ContactAttempt.case_id == case.id,
                ContactAttempt.channel == Channel.PHONE,
                ContactAttempt.outcome.in_([Outcome(o) for o in CONNECTED_OUTCOMES]),
                ContactAttempt.voided_at.is_(None),
            )
            .order_by(ContactAttempt.started_at.desc())
            .limit(_ANSWERED_SAMPLE)
        ).all()
        hour = rules.usual_hour(
            [a.astimezone(zone) for a in answered], self.prof.strategies.callback_at
        )
        at = rules.next_working_day_at(now, zone, hour, work_calendar(self.prof.holidays_country))
        request = contact_request(
            now=at,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            borrower=borrower,
            phone=phone,
            party=phone.relation.value,
            on_hold=is_on_hold(self.s, case),
        )
        decision = check_contact(
            request, recent_history(self.s, case.id, now, self.policy), self.policy
        )
        if not decision.allowed:
            return _refused(decision.rule, decision.reason)
        case.callback_at = at
        case.callback_agent_id = case.owner_id
        if case.next_action_at is None or case.next_action_at > at:
            case.next_action_at = at
        recompute_priority(case, now, self.prof)
        return _Result(StrategyActionStatus.DONE)

    def _raise(self, case: CollectionCase, amount: int) -> _Result:
        if is_on_hold(self.s, case):
            return _refused(
                "hold", _("the case is on hold: no contact until a supervisor releases it")
            )
        case.priority_boost = min(MAX_BOOST, (case.priority_boost or 0) + amount)
        recompute_priority(case, self.now, self.prof)
        return _Result(StrategyActionStatus.DONE)


def _record(
    s: Session,
    case: CollectionCase,
    planned: rules.Planned,
    event: str,
    result: _Result,
    now: dt.datetime,
) -> None:
    row = StrategyAction(
        case_id=case.id,
        rule=planned.strategy,
        event=event,
        event_key=planned.event_key,
        seq=planned.seq,
        action=planned.then.action,
        status=result.status,
        refused_by=result.refused_by,
        reason=result.reason[:500] if result.reason else None,
        contact_id=result.contact_id,
        at=now,
    )
    s.add(row)
    s.flush()
    outcome = result.status.value
    if result.refused_by:
        outcome += f" by {result.refused_by}"
    audit.record(
        s,
        None,
        AUDIT_ACTION,
        "strategy_action",
        row.id,
        f"auto: {planned.strategy} -> {planned.then.action}: {outcome}",
        now=now,
        case_id=case.id,
        after={
            "rule": planned.strategy,
            "event": event,
            "event_key": planned.event_key,
            "action": planned.then.action,
            "status": result.status.value,
            "refused_by": result.refused_by,
            "reason": result.reason,
            "contact_id": result.contact_id,
            "callback_at": case.callback_at.isoformat() if case.callback_at else None,
            "priority": case.priority,
        },
    )


def apply_to_case(
    s: Session,
    case_id: int,
    now: dt.datetime,
    prof: Profile,
    templates: Templates | None = None,
) -> tuple[int, int] | None:
    """Fire the strategies whose events stand on one case; (done, refused), or None when
    the case is in an agent's hands (left for a later run) or no longer open."""
    stmt = select(CollectionCase).where(CollectionCase.id == case_id)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    case = s.scalars(stmt).one_or_none()
    if case is None or case.status != CaseStatus.OPEN:
        return 0, 0
    if live_holder(case, _NO_AGENT, now) is not None:
        return None
    planned = rules.evaluate(case_events(s, case, now, prof), now, prof.strategies)
    if not planned:
        return 0, 0
    borrower = s.get(Borrower, case.borrower_id)
    assert borrower is not None  # a foreign key
    events = {st.name: st.when.event for st in prof.strategies.strategies}
    applier = _Applier(s, now, prof, templates or Templates(None, prof))
    done = refused = 0
    for p in planned:
        result = applier.apply(case, borrower, p)
        _record(s, case, p, events[p.strategy], result, now)
        if result.status is StrategyActionStatus.DONE:
            done += 1
        else:
            refused += 1
    return done, refused


# --- the worker's job -------------------------------------------------------------------


def run_strategies(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_CASES,
) -> StrategyRun:
    """Worker job: fire every strategy whose event stands, case by case, in batches of
    cases (one transaction each, with their rows and audit events); resumable."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    prof = load_profile(profile)
    now = resolve_now(now)
    policy = prof.strategies
    if not policy.strategies:
        return StrategyRun()
    if not policy.runs_at(now.astimezone(ZoneInfo(prof.office_timezone)).time()):
        return StrategyRun(outside_hours=True)
    resumed = resume_point() or {}
    after_id = int(resumed.get("after_id", 0))
    counts = {k: int(resumed.get(k, 0)) for k in ("cases", "done", "refused", "leased")}
    with db.read() as s:
        ids = [i for i in candidate_cases(s, now, prof) if i > after_id]
    templates = Templates(db, prof)
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        with job_write(db) as s:
            for case_id in batch:
                result = apply_to_case(s, case_id, now, prof, templates)
                if result is None:
                    counts["leased"] += 1
                    continue
                done, refused = result
                if done or refused:
                    counts["cases"] += 1
                counts["done"] += done
                counts["refused"] += refused
            save_progress(s, {"after_id": batch[-1], **counts})
    return StrategyRun(
        cases=counts["cases"], done=counts["done"], refused=counts["refused"],
        leased=counts["leased"],
    )  # fmt: skip


def strategies_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)  # an unknown profile fails at worker start, not at the first run

    def run(db: Database, now: dt.datetime) -> str:
        return run_strategies(db, now, profile=profile).summary()

    return run
