"""The supervisor board snapshot: known answers per section, versions, cadences, presence,
and the worker's fast path, on both engines."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from sqlalchemy import update

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Adjustment,
    Agent,
    AgreementStatus,
    Appointment,
    AppointmentStatus,
    ApprovalStatus,
    AuditEvent,
    BoardSnapshot,
    CaseStatus,
    Channel,
    CollectionCase,
    Complaint,
    ComplaintStatus,
    FollowUp,
    FollowUpStatus,
    Outcome,
    OverrideRequest,
    OverrideRequestStatus,
    Payment,
    PaymentChannel,
    PromiseStatus,
    PromiseToPay,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import audit
from tui_desk.services.board import (
    BOARD_SNAPSHOT_EVERY,
    CHEAP_SECTIONS,
    DEPTH_EVERY,
    SECTIONS,
    TREND_NAMES,
    board_fast_path,
    board_version,
    read_board,
    refresh_snapshot,
)
from tui_desk.services.changes import ChangeCursor, read_changes
from tui_desk.services.complaints import record_complaint
from tui_desk.services.context import Actor, Context
from tui_desk.services.presence import heartbeat
from tui_desk.views.board import RISK_KINDS, DepthLine
from tui_desk.worker.registry import default_followers
from tui_desk.worker.runtime import Follower, Worker

# 10:00 in Shanghai on 2 March 2026: the office day has begun 11 hours (00:00-10:59).
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
PROFILE = load_profile("cn")


def actor(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        return Actor.of(s.get_one(Agent, agent_id))


def set_case(db: Database, case_id: int, **values: object) -> None:
    with db.write() as s:
        s.execute(update(CollectionCase).where(CollectionCase.id == case_id).values(**values))


def add(db: Database, *rows: object) -> None:
    with db.write() as s:
        s.add_all(rows)


class Office:
    """Three open cases and one closed, with a day's work and a deadline of every kind."""

    def __init__(self, db: Database) -> None:
        f = Factory(db, now=NOW)
        self.f = f
        self.ann = f.agent(login="ann", name="Ann")
        self.bob = f.agent(login="bob", name="Bob")
        self.sue = f.agent(login="sue", name="Sue", role=Role.SUPERVISOR)
        self.col = f.collector(login="col", name="Col")
        # dpd_bucket is kept by the services and the nightly refresh; set it as they would.
        self.c1 = f.case(owner_id=self.ann, overdue_days=10, overdue_minor=100)
        self.c2 = f.case(
            owner_id=self.ann,
            overdue_days=45,
            overdue_minor=200,
            broken_promises=1,
            stage=Stage.VISIT_BOOKED,
        )
        self.c3 = f.case(overdue_days=100, overdue_minor=300, stage=Stage.NEW)
        self.closed = f.case(owner_id=self.bob, overdue_days=10, status=CaseStatus.CLOSED)
        set_case(db, self.c1, dpd_bucket=1, next_action_at=NOW + MINUTE)
        set_case(
            db,
            self.c2,
            dpd_bucket=2,
            next_action_at=NOW + MINUTE,
            lease_holder_id=self.ann,
            lease_expires_at=NOW + 10 * MINUTE,
        )
        # c3: held, no next action (an orphan), a callback two hours late.
        set_case(
            db,
            self.c3,
            dpd_bucket=4,
            on_hold=True,
            callback_at=NOW - 120 * MINUTE,
            callback_agent_id=self.bob,
        )
        set_case(db, self.closed, dpd_bucket=1, next_action_at=None)
        # Bob's lease on c1 ran out five minutes ago and was never released.
        set_case(db, self.c1, lease_holder_id=self.bob, lease_expires_at=NOW - 5 * MINUTE)

        # Today: contacts at 09:00, 09:30 (a promise: right party) and 05:00; one yesterday.
        f.contact(self.c1, agent_id=self.ann, minutes_ago=60)
        f.contact(self.c1, agent_id=self.ann, outcome=Outcome.PROMISE, minutes_ago=30)
        f.contact(self.c2, agent_id=self.bob, minutes_ago=300)
        f.contact(self.c2, agent_id=self.bob, minutes_ago=11 * 60)  # 23:00 yesterday
        add(
            db,
            PromiseToPay(
                case_id=self.c1,
                amount_minor=50_000,
                due_on=NOW.date() + dt.timedelta(days=3),
                status=PromiseStatus.OPEN,
                created_by_id=self.ann,
                created_at=NOW - 20 * MINUTE,
            ),
            Payment(
                case_id=self.c2,
                amount_minor=30_000,
                paid_on=NOW.date(),
                channel=PaymentChannel.COUNTER,
                recorded_at=NOW - 10 * MINUTE,
            ),
            Payment(
                case_id=self.c2,
                amount_minor=99_999,
                paid_on=NOW.date() - dt.timedelta(days=1),
                channel=PaymentChannel.COUNTER,
                recorded_at=NOW - 11 * 60 * MINUTE,
            ),
        )
        # Visits: one booked today for tomorrow, unconfirmed; one confirmed; one done today.
        tomorrow = NOW + dt.timedelta(days=1)
        self.unconfirmed = f.appointment(
            self.c2, collector_id=self.col, booked_by_id=self.bob, starts_at=tomorrow
        )
        f.appointment(
            self.c1,
            collector_id=self.col,
            booked_by_id=self.bob,
            starts_at=tomorrow + 120 * MINUTE,
            status=AppointmentStatus.CONFIRMED,
        )
        done = f.appointment(
            self.c3,
            collector_id=self.col,
            booked_by_id=self.ann,
            starts_at=NOW - dt.timedelta(days=1),
            status=AppointmentStatus.DONE,
        )
        booked_earlier(db, done)
        add(
            db,
            VisitReport(
                appointment_id=done,
                case_id=self.c3,
                collector_id=self.col,
                work_id_shown=True,
                name_checked=True,
                contact_checked=True,
                address_checked=True,
                documents_ok=True,
                outcome=VisitOutcome.PLAN_DISCUSSED,
                created_at=NOW - 120 * MINUTE,
            ),
        )
        f.agreement(self.c2, created_by_id=self.ann, status=AgreementStatus.SIGNED, signed=True)
        # Deadlines.
        self.due = FollowUp(
            case_id=self.c1,
            due_on=NOW.date(),
            channel=Channel.PHONE,
            owner_id=self.ann,
            status=FollowUpStatus.SCHEDULED,
        )
        self.missed = FollowUp(
            case_id=self.c2,
            due_on=NOW.date() - dt.timedelta(days=20),
            channel=Channel.PHONE,
            owner_id=self.bob,
            status=FollowUpStatus.MISSED,
        )
        later = FollowUp(
            case_id=self.c2,
            due_on=NOW.date() + dt.timedelta(days=7),
            channel=Channel.PHONE,
            owner_id=self.bob,
            status=FollowUpStatus.SCHEDULED,
        )
        closed_missed = FollowUp(
            case_id=self.closed,
            due_on=NOW.date() - dt.timedelta(days=20),
            channel=Channel.PHONE,
            owner_id=self.bob,
            status=FollowUpStatus.MISSED,
        )
        self.complaint = Complaint(
            case_id=self.c1,
            against_agent_id=self.bob,
            channel=Channel.PHONE,
            description="called too often",
            status=ComplaintStatus.OPEN,
            received_at=NOW - 60 * MINUTE,
            recorded_by_id=self.ann,
        )
        resolved = Complaint(
            case_id=self.c2,
            channel=Channel.PHONE,
            description="old",
            status=ComplaintStatus.RESOLVED,
            received_at=NOW - dt.timedelta(days=3),
            recorded_by_id=self.ann,
        )
        self.override = OverrideRequest(
            case_id=self.c1,
            rule="daily_cap",
            requested_by_id=self.bob,
            requested_at=NOW - 15 * MINUTE,
            reason="borrower asked for a call back today",
            status=OverrideRequestStatus.PENDING,
        )
        self.adjustment = Adjustment(
            case_id=self.c2,
            kinds="extend_term",
            details={},
            reason="lost job",
            status=ApprovalStatus.REQUESTED,
            requested_by_id=self.ann,
            requested_at=NOW - 40 * MINUTE,
        )
        add(
            db,
            self.due,
            self.missed,
            later,
            closed_missed,
            self.complaint,
            resolved,
            self.override,
            self.adjustment,
        )


def booked_earlier(db: Database, appointment_id: int) -> None:
    with db.write() as s:
        s.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id)
            .values(booked_at=NOW - dt.timedelta(days=2))
        )


def depth(key: str, n: int, unowned: int, held: int, broken: int, minor: int) -> DepthLine:
    return DepthLine(key, n, unowned, held, broken, minor)


@pytest.fixture
def office(db: Database) -> Office:
    return Office(db)


# --- known answers ------------------------------------------------------------------------


def test_depth_by_bucket_and_stage_and_owned_cases(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    board = read_board(db, NOW, PROFILE)
    assert board.buckets == (
        depth("0", 0, 0, 0, 0, 0),
        depth("1-30", 1, 0, 0, 0, 100),
        depth("31-60", 1, 0, 0, 1, 200),
        depth("61-90", 0, 0, 0, 0, 0),
        replace(depth("91+", 1, 1, 1, 0, 300), callbacks_due=1),  # c3's, two hours late
    )
    stages = {line.key: line for line in board.stages}
    assert [line.key for line in board.stages] == [stage.value for stage in Stage]
    assert stages["contacting"] == depth("contacting", 1, 0, 0, 0, 100)
    assert stages["visit_booked"] == depth("visit_booked", 1, 0, 0, 1, 200)
    assert stages["new"] == depth("new", 1, 1, 1, 0, 300)
    assert sum(line.open_cases for line in board.stages) == 3
    owned = {a.login: a.cases_owned for a in board.agents}
    assert owned == {"ann": 2, "bob": 0, "col": 0, "sue": 0}  # bob's case is closed


def test_today_counts_per_office_and_per_agent(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    board = read_board(db, NOW, PROFILE)
    t = board.today
    assert (t.contacts, t.right_party_contacts) == (3, 1)
    assert (t.promises, t.promised_minor) == (1, 50_000)
    assert (t.visits_booked, t.visits_done, t.agreements_signed) == (2, 1, 1)
    assert (t.payments, t.collected_minor) == (1, 30_000)
    counts = {
        a.login: (
            a.contacts_today,
            a.promises_today,
            a.visits_booked_today,
            a.collected_today_minor,
        )
        for a in board.agents
    }
    assert counts == {
        "ann": (2, 1, 0, 30_000),  # the payment's case is Ann's
        "bob": (1, 0, 2, 0),
        "col": (0, 0, 0, 0),
        "sue": (0, 0, 0, 0),
    }
    assert board.orphans == 1


def test_todays_sms_show_where_they_stand_in_the_outbox(db: Database, office: Office) -> None:
    from tui_desk.db.models import OutboxStatus, SmsOutbox
    from tui_desk.widgets.board import figure_values

    states = [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT,
              OutboxStatus.DELIVERED, OutboxStatus.DELIVERED, OutboxStatus.FAILED]  # fmt: skip
    with db.write() as s:
        for n, state in enumerate(states):
            s.add(
                SmsOutbox(
                    case_id=office.c1, e164="+8613812348000", template="reminder.zh_CN",
                    body="x", segments=1, idempotency_key=f"sms-board-{n}", status=state,
                    attempts=0, created_at=NOW - MINUTE,
                )
            )  # fmt: skip
        s.add(
            SmsOutbox(
                case_id=office.c1, e164="+8613812348000", template="reminder.zh_CN", body="x",
                segments=1, idempotency_key="sms-board-yesterday", status=OutboxStatus.SENT,
                attempts=1, created_at=NOW - dt.timedelta(days=1),
            )
        )  # fmt: skip
    refresh_snapshot(db, NOW, PROFILE)
    t = read_board(db, NOW, PROFILE).today
    assert (t.sms_queued, t.sms_sent, t.sms_delivered, t.sms_failed) == (2, 1, 2, 1)
    assert figure_values(t, "CNY")["sms"] == "2 queued, 1 sent, 2 delivered, 1 failed"


def test_trends_sum_to_the_day_and_run_to_the_current_hour(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    board = read_board(db, NOW, PROFILE)
    trends = {trend.name: trend.points for trend in board.trends}
    assert tuple(trends) == TREND_NAMES
    assert all(len(points) == 11 for points in trends.values())  # 00:00 ... 10:59
    t = board.today
    assert {name: sum(points) for name, points in trends.items()} == {
        "contacts": t.contacts,
        "promises": t.promises,
        "visits_booked": t.visits_booked,
        "visits_done": t.visits_done,
        "agreements_signed": t.agreements_signed,
        "payments": t.payments,
    }
    assert trends["contacts"][9] == 2 and trends["contacts"][5] == 1
    assert trends["promises"][9] == 1 and trends["visits_done"][8] == 1
    assert trends["visits_booked"][10] == 2 and trends["payments"][9] == 1


def test_risks_of_every_kind(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    board = read_board(db, NOW, PROFILE)
    assert set(board.risk_counts) == set(RISK_KINDS)
    assert board.risk_counts == dict.fromkeys(RISK_KINDS, 1)
    by_kind = {r.kind: r for r in board.risks}
    assert (by_kind["lease_overdue"].case_id, by_kind["lease_overdue"].who) == (office.c1, "bob")
    assert by_kind["lease_overdue"].due_at == NOW - 5 * MINUTE
    assert (by_kind["callback_stale"].case_id, by_kind["callback_stale"].who) == (office.c3, "bob")
    visit = by_kind["visit_unconfirmed"]
    assert (visit.ref_id, visit.who, visit.due_at) == (
        office.unconfirmed,
        "col",
        NOW + dt.timedelta(days=1),
    )
    assert (by_kind["follow_up_due"].ref_id, by_kind["follow_up_due"].who) == (office.due.id, "ann")
    assert by_kind["follow_up_missed"].ref_id == office.missed.id  # the closed case's is not
    assert by_kind["complaint_open"].ref_id == office.complaint.id
    assert by_kind["override_request"].ref_id == office.override.id
    assert "daily cap" in by_kind["override_request"].detail  # the code read as words
    assert by_kind["adjustment_pending"].ref_id == office.adjustment.id
    # The most urgent (oldest deadline) first.
    due = [r.due_at for r in board.risks]
    assert due == sorted(due, key=lambda d: d or dt.datetime.max.replace(tzinfo=dt.UTC))
    assert {a.login: a.cases_held for a in board.agents}["ann"] == 1  # bob's lease expired


def test_time_alone_moves_risks(db: Database, office: Office) -> None:
    later = NOW + 20 * MINUTE  # Ann's lease (until NOW + 10 min) has run out meanwhile
    refresh_snapshot(db, NOW, PROFILE)
    assert read_board(db, NOW, PROFILE).risk_counts["lease_overdue"] == 1
    refresh_snapshot(db, later, PROFILE, sections=CHEAP_SECTIONS)
    board = read_board(db, later, PROFILE)
    assert board.risk_counts["lease_overdue"] == 2
    assert {a.login: a.cases_held for a in board.agents}["ann"] == 0
    # Two days on, tomorrow's visit is past: no longer "unconfirmed near its date".
    far = NOW + dt.timedelta(days=2)
    refresh_snapshot(db, far, PROFILE, sections=CHEAP_SECTIONS)
    assert read_board(db, far, PROFILE).risk_counts["visit_unconfirmed"] == 0


# --- versions and cadences ----------------------------------------------------------------


def test_never_computed_board_is_empty(db: Database) -> None:
    Factory(db, now=NOW).agent(login="ann")
    assert board_version(db) == 0
    board = read_board(db, NOW, PROFILE)
    assert (board.version, board.as_of, board.agents, board.buckets) == (0, None, (), ())
    assert board.risk_counts == dict.fromkeys(RISK_KINDS, 0)
    assert board.today.contacts == 0


def test_version_grows_only_when_content_changes(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    first = board_version(db)
    assert first == 1
    board = read_board(db, NOW, PROFILE)
    assert (board.version, board.as_of) == (1, NOW)

    # Same content: the marker stays (no repaint), the time moves.
    refresh_snapshot(db, NOW + MINUTE, PROFILE, sections=SECTIONS)
    assert board_version(db) == first
    assert read_board(db, NOW + MINUTE, PROFILE).as_of == NOW + MINUTE

    office.f.contact(office.c1, agent_id=office.bob, minutes_ago=0)
    refresh_snapshot(db, NOW + 2 * MINUTE, PROFILE, sections=CHEAP_SECTIONS)
    assert board_version(db) == first + 1
    board = read_board(db, NOW + 2 * MINUTE, PROFILE)
    assert board.today.contacts == 4
    assert board.as_of == NOW + MINUTE  # the depth was not recomputed


def test_depth_waits_for_its_cadence_and_for_feed_events(db: Database, office: Office) -> None:
    refresh_snapshot(db, NOW, PROFILE)
    office.f.case(overdue_days=10)  # not through a service: no feed event
    step = BOARD_SNAPSHOT_EVERY
    refresh_snapshot(db, NOW + step, PROFILE)
    assert sum(line.open_cases for line in read_board(db, NOW, PROFILE).stages) == 3
    # Past the depth's cadence but no feed event since: nothing can have moved a case.
    refresh_snapshot(db, NOW + DEPTH_EVERY, PROFILE)
    assert sum(line.open_cases for line in read_board(db, NOW, PROFILE).stages) == 3

    with db.write() as s:  # an audited write, as every service makes
        audit.record(s, None, "case.test", "case", None, "a case moved", now=NOW)
    # On PostgreSQL the event is readable once every older transaction of the cluster
    # ended (the feed's horizon): wait for that, never for a time.
    with db.read() as s:
        token = s.get_one(BoardSnapshot, "depth").feed_token
    assert token is not None
    assert wait_until(lambda: bool(read_changes(db, ChangeCursor.from_token(token))[0]))
    refresh_snapshot(db, NOW + DEPTH_EVERY + step, PROFILE)
    assert sum(line.open_cases for line in read_board(db, NOW, PROFILE).stages) == 4


# --- presence -------------------------------------------------------------------------------


def test_agents_online_by_heartbeat_age(db: Database, office: Office) -> None:
    heartbeat(
        Context.frozen(
            db, actor(db, office.ann), NOW - 10 * dt.timedelta(seconds=1), load_profile()
        ),
        desk_id="d1",
        host="h1",
        case_id=office.c1,
        last_action="log contact",
    )
    heartbeat(
        Context.frozen(db, actor(db, office.bob), NOW - 2 * MINUTE, load_profile()),
        desk_id="d2",
        host="h2",
        case_id=None,
    )
    refresh_snapshot(db, NOW, PROFILE)
    board = read_board(db, NOW, PROFILE)
    ann = next(a for a in board.agents if a.login == "ann")
    bob = next(a for a in board.agents if a.login == "bob")
    sue = next(a for a in board.agents if a.login == "sue")
    assert (ann.online, ann.case_id, ann.last_action) == (True, office.c1, "log contact")
    assert ann.on_case_for == dt.timedelta(seconds=10)
    assert (bob.online, bob.last_seen) == (False, NOW - 2 * MINUTE)
    assert (sue.online, sue.last_seen) == (False, None)
    assert board.agents[0].login == "ann"  # online first
    wide = read_board(db, NOW, PROFILE, stale_after=dt.timedelta(minutes=5))
    assert next(a for a in wide.agents if a.login == "bob").online


def test_last_action_shows_before_the_next_heartbeat(db: Database, office: Office) -> None:
    """A write is the agent's last action on the board at once (from the audit trail),
    unless the desk's own heartbeat told of a newer one."""
    heartbeat(
        Context.frozen(db, actor(db, office.bob), NOW - 5 * MINUTE, load_profile()),
        desk_id="d2",
        host="h2",
        case_id=None,
        last_action="case.claim",
    )
    add(
        db,
        AuditEvent(
            occurred_at=NOW - MINUTE, agent_id=office.bob, action="payment.record",
            entity="payment", entity_id=1, case_id=office.c1, summary="paid",
        ),
    )  # fmt: skip
    refresh_snapshot(db, NOW, PROFILE)
    bob = next(a for a in read_board(db, NOW, PROFILE).agents if a.login == "bob")
    assert (bob.last_action, bob.last_action_at) == ("payment.record", NOW - MINUTE)
    heartbeat(
        Context.frozen(db, actor(db, office.bob), NOW, load_profile()),
        desk_id="d2",
        host="h2",
        case_id=None,
        last_action="case.release",
    )
    bob = next(a for a in read_board(db, NOW, PROFILE).agents if a.login == "bob")
    assert (bob.last_action, bob.last_action_at) == ("case.release", NOW)


# --- the worker's fast path ---------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def running_leader(db: Database) -> Iterator[Worker]:
    # No jobs at all: only the fast path can refresh the board.
    worker = Worker(db, [], followers=default_followers("cn"), identity="leader")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.05), daemon=True)
    thread.start()
    yield worker
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_fast_path_shows_a_desk_write_without_any_job(db: Database, running_leader: Worker) -> None:
    f = Factory(db)
    ann = actor(db, f.agent(login="ann"))
    case_id = f.case(owner_id=ann.id)
    # A new term refreshes at once.
    assert wait_until(lambda: board_version(db) > 0)
    assert wait_until(lambda: read_board(db, utcnow(), PROFILE).risk_counts["complaint_open"] == 0)
    before = board_version(db)

    record_complaint(
        Context.frozen(db, ann, utcnow(), load_profile()), case_id, description="rude caller"
    )

    assert wait_until(lambda: board_version(db) > before)
    assert wait_until(lambda: read_board(db, utcnow(), PROFILE).risk_counts["complaint_open"] == 1)


def test_followers_do_not_write_once_the_lease_is_lost(db: Database) -> None:
    clock = [NOW]
    follower = Follower("board", board_fast_path("cn"))
    a = Worker(db, [], clock=lambda: clock[0], identity="a", followers=[follower])
    b = Worker(db, [], clock=lambda: clock[0], identity="b")
    assert a.tick().leading
    a.run_followers_once()
    assert board_version(db) == 1
    Factory(db, now=NOW).agent()
    with db.write() as s:
        audit.record(s, None, "test.write", "test", None, "something", now=NOW)
    Factory(db, now=NOW).case()  # one more orphan: a refresh would bump the version

    clock[0] = NOW + dt.timedelta(minutes=5)  # a's lease (30 s) ran out; b takes over
    assert b.tick().leading
    a.run_followers_once()
    assert board_version(db) == 1
