"""The contact log on both engines: contact status now, logging, rules end to end,
supervisor overrides, callbacks, promises and the next action every open case keeps."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.refusals import refused_by
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    Borrower,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    HoldKind,
    Outcome,
    PromiseStatus,
    PromiseToPay,
    Relation,
    Role,
    RuleOverride,
    Stage,
)
from tui_desk.rules.outcomes import QUICK_OUTCOMES, by_key, needs_of, party_for
from tui_desk.rules.profile import load_profile
from tui_desk.services import casework, contact_checks, contacts
from tui_desk.services.case_state import CaseArchived, score_of
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import (
    NotFound,
    PermissionDenied,
    RuleRefused,
    ServiceError,
    StaleEdit,
)
from tui_desk.views.contacts import ContactStatus, LoggedContact

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00 Shanghai
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
US = load_profile("us-regf")


def sh(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SH).astimezone(dt.UTC)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class Desk:
    """One case with one borrower number, an operator and two supervisors."""

    def __init__(self, db: Database, *, stage: Stage = Stage.CONTACTING) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op"))
        self.op2 = actor_of(db, self.make.agent(login="op2"))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.sup2 = actor_of(db, self.make.agent(login="sup2", role=Role.SUPERVISOR))
        self.borrower = self.make.borrower(phones=["+8613812348000"])
        self.case = self.make.case(borrower_id=self.borrower, stage=stage)
        [self.phone] = self.make.phone_ids(self.borrower)

    def log(self, outcome: Outcome | str, **kw: Any) -> LoggedContact:
        kw.setdefault("channel", Channel.PHONE)
        kw.setdefault("direction", Direction.OUTBOUND)
        kw.setdefault("phone_id", self.phone)
        now = kw.pop("now", NOW)
        profile = kw.pop("profile", CN)
        actor = kw.pop("actor", self.op)
        return contacts.log_contact(
            Context.frozen(self.db, actor, now, profile), self.case, outcome=outcome, **kw
        )

    def status(self, now: dt.datetime = NOW, **kw: Any) -> ContactStatus:
        return contacts.contact_status(self.db, self.case, now=now, profile=CN, **kw)

    def read(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()  # keep the loaded values: the read session rolls back on exit
            return case

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            events = list(
                s.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return events


@pytest.fixture
def desk(db: Database) -> Desk:
    return Desk(db)


# --- the quick-outcome table (pure) --------------------------------------------------------


def test_quick_outcomes_are_nine_keys_in_order() -> None:
    assert [q.key for q in QUICK_OUTCOMES] == [str(i) for i in range(1, 10)]
    assert [q.outcome for q in QUICK_OUTCOMES] == [
        Outcome.NO_ANSWER,
        Outcome.BUSY,
        Outcome.LEFT_MESSAGE,
        Outcome.WRONG_NUMBER,
        Outcome.THIRD_PARTY,
        Outcome.REFUSED,
        Outcome.PROMISE,
        Outcome.AGREES_VISIT,
        Outcome.CALLBACK,
    ]
    for q in QUICK_OUTCOMES:
        assert Outcome(q.outcome) == q.outcome  # every value is a stored outcome
        assert q.text() == q.label  # English: the label is the text
    assert {q.key: q.needs for q in QUICK_OUTCOMES if q.needs != "none"} == {
        "7": "promise",
        "9": "callback",
    }
    assert [q.key for q in QUICK_OUTCOMES if q.connected] == ["4", "5", "6", "7", "8", "9"]
    assert by_key("7") is QUICK_OUTCOMES[6] and by_key("0") is None
    assert needs_of("sent") == "none"


def test_party_for() -> None:
    assert party_for(Outcome.NO_ANSWER, Relation.BORROWER) is None
    assert party_for(Outcome.WRONG_NUMBER, Relation.BORROWER) == Relation.OTHER
    assert party_for(Outcome.THIRD_PARTY, Relation.BORROWER) == Relation.OTHER
    assert party_for(Outcome.THIRD_PARTY, Relation.SPOUSE) == Relation.SPOUSE
    assert party_for(Outcome.PROMISE, Relation.GUARANTOR) == Relation.GUARANTOR
    assert party_for(Outcome.REFUSED, None) == Relation.BORROWER
    assert party_for(Outcome.LEFT_MESSAGE, Relation.BORROWER) == Relation.BORROWER


def test_number_zones() -> None:
    assert contact_checks.number_zones("+8613812348000") == ("Asia/Shanghai",)
    assert contact_checks.number_zones("+12125551234") == ("America/New_York",)
    assert contact_checks.number_zones("not a number") == ()


# --- contact status ----------------------------------------------------------------


def test_status_in_the_afternoon_is_allowed(desk: Desk) -> None:
    status = desk.status()
    assert status.allowed and status.rule is None and status.phone_id == desk.phone


def test_status_at_night_names_quiet_hours_and_0800(desk: Desk) -> None:
    status = desk.status(NIGHT)
    assert not status.allowed
    assert status.rule == "quiet_hours"
    assert status.allowed_from == sh(3, 8)
    assert status.message("Asia/Shanghai", NIGHT).endswith("allowed again from 2026-03-03 08:00")
    early = desk.status(sh(3, 7, 30))
    assert early.message("Asia/Shanghai", sh(3, 7, 30)).endswith("allowed again from 08:00")


def test_status_prefers_a_number_that_may_be_called(db: Database, desk: Desk) -> None:
    second = casework.add_phone(
        Context.frozen(db, desk.op, NOW, load_profile()),
        desk.borrower,
        "139 1234 8001",
        relation=Relation.BORROWER,
    )
    casework.set_do_not_call(Context.frozen(db, desk.op, NOW, load_profile()), desk.phone, True)
    status = desk.status()
    assert status.allowed and status.phone_id == second
    refused = desk.status(phone_id=desk.phone)
    assert refused.rule == "do_not_call" and refused.allowed_from is None


def test_status_of_missing_or_archived_case(db: Database, desk: Desk) -> None:
    with pytest.raises(NotFound):
        contacts.contact_status(db, 999_999, now=NOW, profile=load_profile())
    closed = desk.make.case(status=CaseStatus.CLOSED)
    assert contacts.contact_status(db, closed, now=NOW, profile=load_profile()).rule == "archived"


def test_status_for_another_borrowers_number_is_refused(desk: Desk) -> None:
    other = desk.make.borrower(phones=["+8613912348000"])
    [phone] = desk.make.phone_ids(other)
    with pytest.raises(NotFound, match="not a number of this borrower"):
        desk.status(phone_id=phone)


# --- contact rules end to end ------------------------------------------------------------


def test_outbound_call_at_night_is_refused_with_rule_and_time(desk: Desk) -> None:
    with refused_by("quiet_hours", match=r"quiet hours.*allowed again from 2026-03-03 08:00"):
        desk.log(Outcome.NO_ANSWER, now=NIGHT)
    with desk.db.read() as s:
        assert s.scalar(select(ContactAttempt.id)) is None


def test_fourth_connected_call_of_the_day_is_refused(desk: Desk) -> None:
    for minutes in (0, 10, 20):
        desk.log(Outcome.REFUSED, now=NOW + dt.timedelta(minutes=minutes))
    # Unanswered calls never count toward the cap, but the fourth connected one is refused.
    with refused_by("daily_call_cap"):
        desk.log(Outcome.REFUSED, now=NOW + dt.timedelta(minutes=30))
    status = desk.status(NOW + dt.timedelta(minutes=30))
    assert status.rule == "daily_call_cap" and status.allowed_from == sh(3, 8)


def test_unanswered_calls_do_not_count(desk: Desk) -> None:
    for minutes in range(5):
        desk.log(Outcome.NO_ANSWER, now=NOW + dt.timedelta(minutes=minutes))
    assert desk.status(NOW + dt.timedelta(minutes=10)).allowed


def test_inbound_at_night_is_logged_and_never_counts(desk: Desk) -> None:
    hold = casework.set_hold(
        Context.frozen(desk.db, desk.op, NOW, load_profile()),
        desk.case,
        HoldKind.DISPUTE,
        "disputes the fee",
    )
    logged = desk.log(Outcome.REFUSED, direction=Direction.INBOUND, now=NIGHT)
    assert logged.contact_id and not logged.override_used
    casework.release_hold(
        Context.frozen(desk.db, desk.sup, NIGHT, load_profile()), hold, "resolved"
    )
    for minutes in (0, 10, 20):
        desk.log(
            Outcome.REFUSED,
            direction=Direction.INBOUND,
            now=NOW + dt.timedelta(days=1, minutes=minutes),
        )
    assert desk.status(NOW + dt.timedelta(days=1, hours=1)).allowed


def test_hold_blocks_outbound_contact(desk: Desk) -> None:
    casework.set_hold(
        Context.frozen(desk.db, desk.op, NOW, load_profile()),
        desk.case,
        HoldKind.LITIGATION,
        "court case",
    )
    assert desk.status().rule == "hold"
    with pytest.raises(RuleRefused, match="on hold"):
        desk.log(Outcome.NO_ANSWER)


def test_hold_row_alone_blocks_contact(desk: Desk) -> None:
    # A hold written by another path (an import) without the flag still counts.
    desk.make.hold(desk.case, set_by_id=desk.op.id)
    assert desk.status().rule == "hold"


def test_do_not_call_number_is_refused(desk: Desk) -> None:
    casework.set_do_not_call(
        Context.frozen(desk.db, desk.op, NOW, load_profile()), desk.phone, True
    )
    with pytest.raises(RuleRefused, match="do-not-call"):
        desk.log(Outcome.NO_ANSWER)


def test_cn_only_the_debtor_and_guarantor_may_be_called(db: Database, desk: Desk) -> None:
    spouse = casework.add_phone(
        Context.frozen(db, desk.op, NOW, load_profile()),
        desk.borrower,
        "13912348001",
        relation=Relation.SPOUSE,
    )
    guarantor = casework.add_phone(
        Context.frozen(db, desk.op, NOW, load_profile()),
        desk.borrower,
        "13912348002",
        relation=Relation.GUARANTOR,
    )
    with refused_by("third_party"):
        desk.log(Outcome.NO_ANSWER, phone_id=spouse)
    logged = desk.log(
        Outcome.PROMISE,
        phone_id=guarantor,
        promise_amount_minor=100_00,
        promise_due=dt.date(2026, 3, 10),
    )
    with db.read() as s:
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert attempt is not None and attempt.party is Relation.GUARANTOR


# --- overrides ---------------------------------------------------------------------


def test_override_lets_exactly_one_refused_attempt_through(desk: Desk) -> None:
    override_id = contacts.grant_override(
        Context.frozen(desk.db, desk.sup, NIGHT - dt.timedelta(minutes=5), load_profile()),
        desk.case,
        "quiet_hours",
        desk.op.id,
        "borrower asked for 23:00",
    )
    logged = desk.log(Outcome.REFUSED, now=NIGHT)
    assert logged.override_used
    with desk.db.read() as s:
        override = s.get(RuleOverride, override_id)
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert override is not None and override.used_at == NIGHT
        assert attempt is not None and attempt.override_by_id == desk.sup.id
        assert attempt.override_reason == "borrower asked for 23:00"
    with refused_by("quiet_hours"):
        desk.log(Outcome.NO_ANSWER, now=NIGHT + dt.timedelta(minutes=1))
    [grant] = desk.events("contact.override.grant")
    assert grant.agent_id == desk.sup.id and grant.after is not None
    assert grant.after["rule"] == "quiet_hours"
    [logged_event] = desk.events("contact.log")
    assert logged_event.after is not None
    assert logged_event.after["overrides"][0]["rule"] == "quiet_hours"


def test_override_is_personal_and_expires(desk: Desk) -> None:
    contacts.grant_override(
        Context.frozen(desk.db, desk.sup, NIGHT, load_profile()),
        desk.case,
        "quiet_hours",
        desk.op2.id,
        "for op2",
    )
    with pytest.raises(RuleRefused):
        desk.log(Outcome.NO_ANSWER, now=NIGHT)  # granted to op2, not op
    contacts.grant_override(
        Context.frozen(desk.db, desk.sup, NIGHT - dt.timedelta(minutes=30), load_profile()),
        desk.case,
        "quiet_hours",
        desk.op.id,
        "short",
        minutes=10,
    )
    with pytest.raises(RuleRefused):
        desk.log(Outcome.NO_ANSWER, now=NIGHT)  # expired at 22:40
    assert desk.log(Outcome.NO_ANSWER, now=NIGHT, actor=desk.op2).override_used


def test_waiving_one_rule_does_not_waive_another(desk: Desk) -> None:
    for minutes in (0, 10, 20):
        desk.log(Outcome.REFUSED, now=NOW + dt.timedelta(minutes=minutes))
    contacts.grant_override(
        Context.frozen(desk.db, desk.sup, NIGHT, load_profile()),
        desk.case,
        "quiet_hours",
        desk.op.id,
        "asked",
    )
    with refused_by("daily_call_cap"):
        desk.log(Outcome.REFUSED, now=NIGHT)
    contacts.grant_override(
        Context.frozen(desk.db, desk.sup2, NIGHT, load_profile()),
        desk.case,
        "daily_call_cap",
        desk.op.id,
        "asked",
    )
    assert desk.log(Outcome.REFUSED, now=NIGHT).override_used
    with desk.db.read() as s:
        used = s.scalars(select(RuleOverride.used_at)).all()
        assert used == [NIGHT, NIGHT]


def test_operator_cannot_grant_and_supervisor_cannot_self_grant(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        contacts.grant_override(
            Context(desk.db, desk.op, utcnow, load_profile()),
            desk.case,
            "quiet_hours",
            desk.op2.id,
            "x",
        )
    with pytest.raises(PermissionDenied, match="themselves"):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()),
            desk.case,
            "quiet_hours",
            desk.sup.id,
            "x",
        )
    with pytest.raises(ServiceError, match="needs a reason"):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()),
            desk.case,
            "quiet_hours",
            desk.op.id,
            "  ",
        )
    with pytest.raises(ServiceError, match="release the hold"):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()), desk.case, "hold", desk.op.id, "x"
        )
    with pytest.raises(ServiceError, match="unknown contact rule"):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()),
            desk.case,
            "bedtime",
            desk.op.id,
            "x",
        )
    with pytest.raises(ServiceError, match="1 to 240 minutes"):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()),
            desk.case,
            "quiet_hours",
            desk.op.id,
            "x",
            minutes=0,
        )
    with pytest.raises(NotFound):
        contacts.grant_override(
            Context(desk.db, desk.sup, utcnow, load_profile()),
            desk.case,
            "quiet_hours",
            999_999,
            "x",
        )
    assert desk.events("contact.override.grant") == []


# --- what a logged contact does to the case ---------------------------------------------


def test_first_attempt_moves_a_new_case_to_contacting(db: Database) -> None:
    desk = Desk(db, stage=Stage.NEW)
    desk.log(Outcome.NO_ANSWER)
    assert desk.read().stage is Stage.CONTACTING


def test_logging_keeps_a_later_stage(db: Database) -> None:
    desk = Desk(db, stage=Stage.DOCUMENTS)
    desk.log(Outcome.AGREES_VISIT)
    assert desk.read().stage is Stage.DOCUMENTS


def test_agrees_to_visit_is_noted_not_registered(desk: Desk) -> None:
    desk.log(Outcome.AGREES_VISIT)
    case = desk.read()
    assert case.stage is Stage.CONTACTING and not case.registered
    [event] = desk.events("contact.log")
    assert event.after is not None and event.after["agrees_visit"] is True
    assert "register" in event.summary


@pytest.mark.parametrize("quick", QUICK_OUTCOMES, ids=lambda q: q.outcome)
def test_every_outcome_leaves_a_next_action(db: Database, quick: Any) -> None:
    desk = Desk(db)
    extra: dict[str, Any] = {}
    if quick.needs == "promise":
        extra = {"promise_amount_minor": 50_000, "promise_due": dt.date(2026, 3, 6)}
    elif quick.needs == "callback":
        extra = {"callback_at": sh(2, 16)}
    desk.log(Outcome(quick.outcome), **extra)
    case = desk.read()
    assert case.next_action_at is not None and case.next_action_at > NOW
    assert case.priority == score_of(case, NOW, CN).value


def test_next_action_cadence(desk: Desk) -> None:
    desk.log(Outcome.NO_ANSWER)
    assert desk.read().next_action_at == sh(3, 10)
    desk.log(Outcome.REFUSED, now=NOW + dt.timedelta(minutes=5))
    assert desk.read().next_action_at == sh(5, 10)
    desk.log(
        Outcome.PROMISE,
        now=NOW + dt.timedelta(minutes=10),
        promise_amount_minor=10_000,
        promise_due=dt.date(2026, 3, 9),
    )
    assert desk.read().next_action_at == sh(10, 10)


def test_callback_sets_the_case_callback_and_next_action(desk: Desk) -> None:
    logged = desk.log(Outcome.CALLBACK, callback_at=sh(2, 17, 30))
    case = desk.read()
    assert case.callback_at == sh(2, 17, 30)
    assert case.callback_agent_id == desk.op.id
    assert case.next_action_at == sh(2, 17, 30)
    with desk.db.read() as s:
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert attempt is not None and attempt.callback_at == sh(2, 17, 30)
    # A contact before the callback keeps it as the next action; one after it clears it.
    desk.log(Outcome.NO_ANSWER, now=NOW + dt.timedelta(minutes=5))
    assert desk.read().next_action_at == sh(2, 17, 30)
    desk.log(Outcome.NO_ANSWER, now=sh(2, 17, 31))
    case = desk.read()
    assert case.callback_at is None and case.callback_agent_id is None
    assert case.next_action_at == sh(3, 10)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (None, "needs the time"),
        (NOW - dt.timedelta(minutes=1), "in the future"),
        (NOW + dt.timedelta(days=31), "at most 30 days"),
        (sh(2, 23), "quiet hours"),
        (dt.datetime(2026, 3, 2, 16, 0), "time zone"),
    ],
)
def test_callback_refusals(desk: Desk, when: dt.datetime | None, message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        desk.log(Outcome.CALLBACK, callback_at=when)


def test_extras_that_do_not_fit_the_outcome_are_refused(desk: Desk) -> None:
    with pytest.raises(ServiceError, match="callback outcome only"):
        desk.log(Outcome.NO_ANSWER, callback_at=sh(2, 17))
    with pytest.raises(ServiceError, match="promise outcome only"):
        desk.log(Outcome.REFUSED, promise_amount_minor=100)
    with pytest.raises(ServiceError, match="for phone calls"):
        desk.log(Outcome.BUSY, channel=Channel.SMS)
    with pytest.raises(ServiceError, match="for messages"):
        desk.log(Outcome.SENT)
    with pytest.raises(ServiceError, match="unknown contact outcome"):
        desk.log("shouted")


def test_promise_is_recorded_open(desk: Desk) -> None:
    logged = desk.log("promise", promise_amount_minor=300_000, promise_due=dt.date(2026, 3, 9))
    assert logged.promise_id is not None
    with desk.db.read() as s:
        promise = s.get(PromiseToPay, logged.promise_id)
        assert promise is not None
        assert (promise.status, promise.amount_minor, promise.due_on) == (
            PromiseStatus.OPEN,
            300_000,
            dt.date(2026, 3, 9),
        )
        assert promise.contact_id == logged.contact_id and promise.created_by_id == desk.op.id


def test_a_new_promise_replaces_the_open_one(desk: Desk) -> None:
    first = desk.log(Outcome.PROMISE, promise_amount_minor=1000, promise_due=dt.date(2026, 3, 5))
    second = desk.log(
        Outcome.PROMISE,
        promise_amount_minor=2000,
        promise_due=dt.date(2026, 3, 9),
        now=NOW + dt.timedelta(hours=1),
    )
    with desk.db.read() as s:
        statuses = dict(s.execute(select(PromiseToPay.id, PromiseToPay.status)).all())
    assert statuses == {
        first.promise_id: PromiseStatus.CANCELLED,
        second.promise_id: PromiseStatus.OPEN,
    }


@pytest.mark.parametrize(
    ("amount", "due", "message"),
    [
        (None, dt.date(2026, 3, 9), "needs an amount and a date"),
        (100, None, "needs an amount and a date"),
        (0, dt.date(2026, 3, 9), "must be positive"),
        # The factory's account owes 1,234,567 fen in all.
        (1_234_568, dt.date(2026, 3, 9), "more than the borrower owes"),
        (100, dt.date(2026, 3, 1), "in the past"),
        (100, dt.date(2026, 4, 2), "at most 30 days"),
    ],
)
def test_promise_refusals(
    desk: Desk, amount: int | None, due: dt.date | None, message: str
) -> None:
    with pytest.raises(ServiceError, match=message):
        desk.log(Outcome.PROMISE, promise_amount_minor=amount, promise_due=due)


def test_promise_up_to_the_whole_outstanding_is_accepted(desk: Desk) -> None:
    assert desk.log(
        Outcome.PROMISE, promise_amount_minor=1_234_567, promise_due=dt.date(2026, 3, 2)
    ).promise_id


def test_stale_version_is_refused_and_versions_advance(desk: Desk) -> None:
    version = desk.read().version
    logged = desk.log(Outcome.NO_ANSWER, expected_version=version)
    assert logged.case_version == desk.read().version > version
    with pytest.raises(StaleEdit, match="changed by someone else"):
        desk.log(Outcome.NO_ANSWER, expected_version=version)


def test_input_refusals(db: Database, desk: Desk) -> None:
    with pytest.raises(ServiceError, match="at most 2000 characters"):
        desk.log(Outcome.NO_ANSWER, note="x" * 2001)
    other = desk.make.borrower(phones=["+8613912348000"])
    [foreign] = desk.make.phone_ids(other)
    with pytest.raises(NotFound, match="not a number of this borrower"):
        desk.log(Outcome.NO_ANSWER, phone_id=foreign)
    closed = desk.make.case(status=CaseStatus.CLOSED)
    with pytest.raises(CaseArchived):
        contacts.log_contact(
            Context.frozen(db, desk.op, NOW, load_profile()),
            closed,
            channel=Channel.PHONE,
            direction=Direction.INBOUND,
            outcome=Outcome.REFUSED,
        )
    silent = desk.make.case(borrower_id=desk.make.borrower(phones=[]))
    with pytest.raises(ServiceError, match="no phone number"):
        contacts.log_contact(
            Context.frozen(db, desk.op, NOW, load_profile()),
            silent,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            outcome=Outcome.NO_ANSWER,
        )
    assert desk.events("contact.log") == []


def test_without_a_number_the_preferred_one_is_used(desk: Desk) -> None:
    logged = desk.log(Outcome.NO_ANSWER, phone_id=None)
    with desk.db.read() as s:
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert attempt is not None and attempt.phone_id == desk.phone


def test_email_needs_no_number(desk: Desk) -> None:
    logged = desk.log(Outcome.SENT, channel=Channel.EMAIL, phone_id=None, note="reminder")
    with desk.db.read() as s:
        attempt = s.get(ContactAttempt, logged.contact_id)
        assert attempt is not None and attempt.phone_id is None
        assert attempt.party is Relation.BORROWER and attempt.note == "reminder"


def test_contact_log_is_audited_with_the_number_masked(desk: Desk) -> None:
    logged = desk.log(Outcome.NO_ANSWER, note="called 13812348000")
    [event] = desk.events("contact.log")
    assert (event.entity, event.entity_id, event.case_id, event.agent_id) == (
        "contact_attempt",
        logged.contact_id,
        desk.case,
        desk.op.id,
    )
    assert event.after is not None and event.before is not None
    assert event.after["phone"] == "+86 138****8000"
    assert "13812348000" not in str(event.after) + str(event.before) + event.summary


def test_us_profile_waits_seven_days_after_a_conversation(db: Database, desk: Desk) -> None:
    with db.write() as s:
        borrower = s.get(Borrower, desk.borrower)
        assert borrower is not None
        borrower.timezone = "America/Chicago"
    now = dt.datetime(2026, 5, 11, 12, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(dt.UTC)
    us_phone = casework.add_phone(
        Context.frozen(db, desk.op, now, US),
        desk.borrower,
        "+1 212 555 1234",
        relation=Relation.BORROWER,
    )
    desk.log(Outcome.REFUSED, phone_id=us_phone, now=now, profile=US)
    # Refused -> 3 days by the cadence, but Regulation F allows no call for 7 days.
    assert desk.read().next_action_at == now + dt.timedelta(days=7)
    status = contacts.contact_status(
        db, desk.case, now=now + dt.timedelta(days=1), profile=US, phone_id=us_phone
    )
    assert status.rule == "after_conversation"


def test_concurrent_calls_never_exceed_the_daily_cap(db: Database, desk: Desk) -> None:
    # Eight desks log a connected call on one case at the same instant: the case row lock
    # (BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL) lets exactly three through,
    # even though their clocks disagree by a few seconds.
    barrier = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        barrier.wait()
        try:
            desk.log(Outcome.REFUSED, now=NOW + dt.timedelta(seconds=i))
            outcome = "logged"
        except RuleRefused:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["logged"] * 3 + ["refused"] * 5
    with db.read() as s:
        assert len(s.scalars(select(ContactAttempt.id)).all()) == 3
