"""Supervision services on both engines: reassign, override requests, the audit trail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseStatus,
    Channel,
    CollectionCase,
    Direction,
    FollowUp,
    FollowUpStatus,
    Outcome,
    OverrideRequest,
    Role,
    RuleOverride,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import audit, contacts, supervision
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    StaleEdit,
    UnknownAgent,
)
from tui_desk.services.queue import claim_case
from tui_desk.services.supervision import AuditFilter
from tui_desk.services.validation import InvalidInput

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00 Shanghai
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op"))
        self.op2 = actor_of(db, self.make.agent(login="op2"))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.sup2 = actor_of(db, self.make.agent(login="sup2", role=Role.SUPERVISOR))
        self.cases = [self.make.case(name=f"借款人{i}", owner_id=self.op.id) for i in range(3)]

    def case(self, case_id: int) -> CollectionCase:
        with self.db.read() as s:
            row = s.get(CollectionCase, case_id)
            assert row is not None
            s.expunge(row)
            return row

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return rows

    def service(
        self, actor: Actor, now: dt.datetime = NOW, export: Path | None = None
    ) -> DeskService:
        return DeskService(
            db=self.db, actor=actor, profile=load_profile(), clock=lambda: now, export_dir=export
        )


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


# --- reassign -------------------------------------------------------------------------------


def test_reassign_one_case_moves_the_owner_and_bumps_the_version(w: World) -> None:
    case = w.cases[0]
    version = w.case(case).version
    n = supervision.reassign_cases(
        Context.frozen(w.db, w.sup, NOW, load_profile()), [case], "op2", reason="op on leave"
    )
    assert n == 1
    row = w.case(case)
    assert row.owner_id == w.op2.id
    assert row.version == version + 1
    [event] = w.events("case.reassign")
    assert event.agent_id == w.sup.id
    assert event.case_id == case and event.entity_id == case
    assert event.before == {
        "owner_id": {str(case): w.op.id},
        "stale": [],
        "follow_up_owner_id": {},
    }
    assert event.after is not None
    assert event.after["owner_id"] == w.op2.id and event.after["case_ids"] == [case]
    assert event.after["reason"] == "op on leave"


def test_reassign_many_is_one_batch_event_and_skips_cases_already_owned(w: World) -> None:
    a, b, c = w.cases
    with w.db.write() as s:
        s.execute(
            update(CollectionCase).where(CollectionCase.id == b).values(owner_id=None, stale=True)
        )
        s.execute(update(CollectionCase).where(CollectionCase.id == c).values(owner_id=w.op2.id))
    n = supervision.reassign_cases(
        Context.frozen(w.db, w.sup, NOW, load_profile()), [c, a, b, a], " op2 ", reason="balance"
    )
    assert n == 2
    assert {w.case(x).owner_id for x in (a, b, c)} == {w.op2.id}
    assert not w.case(b).stale
    [event] = w.events("case.reassign")
    assert event.case_id is None and event.entity_id is None
    assert event.before == {
        "owner_id": {str(a): w.op.id, str(b): None},
        "stale": [b],
        "follow_up_owner_id": {},
    }
    assert event.after is not None and event.after["case_ids"] == [a, b]
    # Everything already with the agent: nothing written, nothing audited.
    assert (
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), [a, b], "op2", reason="again"
        )
        == 0
    )
    assert len(w.events("case.reassign")) == 1


def test_reassign_moves_the_open_follow_ups_with_the_case(w: World) -> None:
    case = w.cases[0]
    rows = [
        FollowUp(case_id=case, due_on=NOW.date(), channel=Channel.PHONE, owner_id=w.op.id,
                 status=status)
        for status in (FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED, FollowUpStatus.DONE)
    ]  # fmt: skip
    with w.db.write() as s:
        s.add_all(rows)
        s.flush()
        scheduled, missed, done = (r.id for r in rows)
    supervision.reassign_cases(
        Context.frozen(w.db, w.sup, NOW, load_profile()), [case], "op2", reason="op on leave"
    )
    with w.db.read() as s:
        owners = dict(s.execute(select(FollowUp.id, FollowUp.owner_id)).all())
    assert owners == {scheduled: w.op2.id, missed: w.op2.id, done: w.op.id}
    [event] = w.events("case.reassign")
    assert event.before is not None and event.after is not None
    assert event.before["follow_up_owner_id"] == {str(scheduled): w.op.id, str(missed): w.op.id}
    assert event.after["follow_up_ids"] == [scheduled, missed]


def test_reassign_leaves_the_lease_alone(w: World) -> None:
    case = w.cases[0]
    claim_case(Context.frozen(w.db, w.op, NOW, load_profile()), case)
    supervision.reassign_cases(
        Context.frozen(w.db, w.sup, NOW, load_profile()), [case], "op2", reason="x"
    )
    row = w.case(case)
    assert row.owner_id == w.op2.id and row.lease_holder_id == w.op.id


def test_reassign_is_for_supervisors(w: World) -> None:
    with pytest.raises(PermissionDenied, match="may not reassign cases"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.op, NOW, load_profile()), w.cases, "op2", reason="x"
        )
    assert w.events("case.reassign") == []


def test_reassign_refuses_closed_cases_and_changes_nothing(w: World) -> None:
    a, b, c = w.cases
    with w.db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id.in_([b, c]))
            .values(status=CaseStatus.CLOSED)
        )
    with pytest.raises(ServiceError, match=rf"#{b}, #{c}.*nothing was reassigned"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), [a, b, c], "op2", reason="x"
        )
    assert w.case(a).owner_id == w.op.id
    assert w.events("case.reassign") == []


def test_reassign_checks_the_target_and_the_input(w: World) -> None:
    with pytest.raises(UnknownAgent, match="nobody"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), w.cases, "nobody", reason="x"
        )
    with w.db.write() as s:
        s.execute(update(Agent).where(Agent.id == w.op2.id).values(active=False))
    with pytest.raises(ServiceError, match="not an active agent"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), w.cases, "op2", reason="x"
        )
    with pytest.raises(ServiceError, match="needs a reason"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), w.cases, "op", reason="  "
        )
    with pytest.raises(ServiceError, match="no case selected"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), [], "op", reason="x"
        )
    with pytest.raises(NotFound, match="#999999"):
        supervision.reassign_cases(
            Context.frozen(w.db, w.sup, NOW, load_profile()), [999999], "op", reason="x"
        )


# --- override requests ------------------------------------------------------------------------


def test_request_then_approve_grants_the_override_to_the_requester(w: World) -> None:
    case = w.cases[0]
    desk = w.service(w.op, NIGHT)
    assert desk.refused_override_rules(case) == ("quiet_hours",)
    request_id = desk.request_override(case, "quiet_hours", "borrower asked for 23:00")
    [created] = w.events("override_request.create")
    assert created.entity_id == request_id and created.case_id == case
    [line] = supervision.override_requests(Context(w.db, w.sup, utcnow, load_profile()))
    assert (line.request_id, line.rule, line.requested_by_login, line.status) == (
        request_id,
        "quiet_hours",
        "op",
        "pending",
    )
    assert line.borrower_name == "借款人0"
    decision = supervision.decide_override_request(
        Context.frozen(w.db, w.sup, NIGHT, load_profile()),
        request_id,
        approve=True,
        note="ok",
        minutes=20,
    )
    assert decision.status == "approved" and decision.requested_by_login == "op"
    assert decision.expires_at == NIGHT + dt.timedelta(minutes=20)
    with w.db.read() as s:
        request = s.get(OverrideRequest, request_id)
        override = s.get(RuleOverride, decision.override_id)
        assert request is not None and override is not None
        assert request.override_id == override.id and request.decided_by_id == w.sup.id
        assert request.decision_note == "ok"
        assert (override.granted_to_id, override.granted_by_id) == (w.op.id, w.sup.id)
        assert override.rule == "quiet_hours"
    [approved] = w.events("override_request.approve")
    assert approved.before == {"status": "pending"}
    assert approved.after is not None and approved.after["override_id"] == decision.override_id
    assert supervision.override_requests(Context(w.db, w.sup, utcnow, load_profile())) == []
    assert [
        x.request_id
        for x in supervision.override_requests(
            Context(w.db, w.sup, utcnow, load_profile()), status="approved"
        )
    ] == [request_id]
    # The operator's night call now goes through, once.
    logged = contacts.log_contact(
        Context.frozen(w.db, w.op, NIGHT + dt.timedelta(minutes=1), load_profile()),
        case,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        outcome=Outcome.NO_ANSWER,
    )
    assert logged.override_used


def test_reject_needs_a_note_and_deciding_twice_is_stale(w: World) -> None:
    case = w.cases[0]
    request_id = supervision.request_override(
        Context.frozen(w.db, w.op, NOW, load_profile()), case, "daily_call_cap", "x"
    )
    with pytest.raises(ServiceError, match="needs a note"):
        supervision.decide_override_request(
            Context.frozen(w.db, w.sup, NOW, load_profile()), request_id, approve=False
        )
    decision = supervision.decide_override_request(
        Context.frozen(w.db, w.sup, NOW, load_profile()),
        request_id,
        approve=False,
        note="not today",
    )
    assert decision.status == "rejected" and decision.override_id is None
    [rejected] = w.events("override_request.reject")
    assert rejected.after == {"status": "rejected", "note": "not today"}
    with pytest.raises(StaleEdit, match="already rejected by sup"):
        supervision.decide_override_request(
            Context.frozen(w.db, w.sup2, NOW, load_profile()), request_id, approve=True
        )
    with w.db.read() as s:
        assert s.scalars(select(RuleOverride)).all() == []
    # Decided: the agent may ask again.
    again = supervision.request_override(
        Context.frozen(w.db, w.op, NOW, load_profile()), case, "daily_call_cap", "y"
    )
    assert again != request_id


def test_an_agent_reads_the_answers_to_their_own_requests_as_they_come(w: World) -> None:
    def ctx(actor: Actor, minutes: int) -> Context:
        return Context.frozen(w.db, actor, NOW + dt.timedelta(minutes=minutes), load_profile())

    first = supervision.request_override(ctx(w.op, 0), w.cases[0], "daily_call_cap", "a")
    second = supervision.request_override(ctx(w.op, 0), w.cases[1], "quiet_hours", "b")
    other = supervision.request_override(ctx(w.op2, 0), w.cases[2], "daily_call_cap", "c")
    assert supervision.my_answered_requests(ctx(w.op, 1), NOW) == []  # none decided yet
    supervision.decide_override_request(
        ctx(w.sup, 2), second, approve=False, note="the borrower complained"
    )
    supervision.decide_override_request(ctx(w.sup, 3), first, approve=True, minutes=20)
    supervision.decide_override_request(ctx(w.sup, 3), other, approve=True)
    answers = supervision.my_answered_requests(ctx(w.op, 4), NOW)
    assert [(a.request_id, a.status) for a in answers] == [
        (second, "rejected"),
        (first, "approved"),
    ]  # oldest decision first, and only the agent's own
    rejected, approved = answers
    assert rejected.decision_note == "the borrower complained"
    assert rejected.override_expires_at is None
    assert approved.decided_by_login == "sup"
    assert approved.override_expires_at == NOW + dt.timedelta(minutes=23)
    # Only what was decided after the answer last told (its moment and id).
    later = supervision.my_answered_requests(ctx(w.op, 4), NOW + dt.timedelta(minutes=2), second)
    assert [a.request_id for a in later] == [first]
    # Decisions can share a moment: the cursor is the moment and the request's id.
    at_three = NOW + dt.timedelta(minutes=3)
    assert [a.request_id for a in supervision.my_answered_requests(ctx(w.op, 4), at_three)] == [
        first
    ]
    assert supervision.my_answered_requests(ctx(w.op, 4), at_three, first) == []
    with pytest.raises(InvalidInput, match="since"):
        supervision.my_answered_requests(ctx(w.op, 4), dt.datetime(2026, 3, 2, 14, 0))


def test_nobody_decides_their_own_request(w: World) -> None:
    request_id = supervision.request_override(
        Context.frozen(w.db, w.sup, NOW, load_profile()), w.cases[0], "quiet_hours", "x"
    )
    with pytest.raises(PermissionDenied, match="your own"):
        supervision.decide_override_request(
            Context.frozen(w.db, w.sup, NOW, load_profile()), request_id, approve=True
        )
    decision = supervision.decide_override_request(
        Context.frozen(w.db, w.sup2, NOW, load_profile()), request_id, approve=True
    )
    assert decision.override_id is not None


def test_request_rules_and_roles(w: World) -> None:
    case = w.cases[0]
    supervision.request_override(
        Context.frozen(w.db, w.op, NOW, load_profile()), case, "quiet_hours", "x"
    )
    with pytest.raises(ServiceError, match="already asked"):
        supervision.request_override(
            Context.frozen(w.db, w.op, NOW, load_profile()), case, "quiet_hours", "again"
        )
    # Another rule, or another agent, is another request.
    supervision.request_override(
        Context.frozen(w.db, w.op, NOW, load_profile()), case, "weekly_call_cap", "x"
    )
    supervision.request_override(
        Context.frozen(w.db, w.op2, NOW, load_profile()), case, "quiet_hours", "x"
    )
    with pytest.raises(ServiceError, match="not waived by an override"):
        supervision.request_override(
            Context.frozen(w.db, w.op, NOW, load_profile()), case, "hold", "x"
        )
    with pytest.raises(ServiceError, match="unknown contact rule"):
        supervision.request_override(
            Context.frozen(w.db, w.op, NOW, load_profile()), case, "bedtime", "x"
        )
    with pytest.raises(ServiceError, match="say why"):
        supervision.request_override(
            Context.frozen(w.db, w.op, NOW, load_profile()), case, "third_party", " "
        )
    with pytest.raises(PermissionDenied):
        supervision.override_requests(Context(w.db, w.op, utcnow, load_profile()))
    [first, *_rest] = supervision.override_requests(Context(w.db, w.sup, utcnow, load_profile()))
    with pytest.raises(PermissionDenied):
        supervision.decide_override_request(
            Context.frozen(w.db, w.op2, NOW, load_profile()), first.request_id, approve=True
        )
    # The requester may read their own request, not someone else's.
    assert (
        supervision.override_request(
            Context(w.db, w.op, utcnow, load_profile()), first.request_id
        ).requested_by_login
        == "op"
    )
    with pytest.raises(PermissionDenied):
        supervision.override_request(Context(w.db, w.op2, utcnow, load_profile()), first.request_id)
    with pytest.raises(ServiceError, match="minutes"):
        supervision.decide_override_request(
            Context.frozen(w.db, w.sup, NOW, load_profile()),
            first.request_id,
            approve=True,
            minutes=0,
        )


def test_approving_on_an_archived_case_is_refused(w: World) -> None:
    case = w.cases[0]
    request_id = supervision.request_override(
        Context.frozen(w.db, w.op, NOW, load_profile()), case, "quiet_hours", "x"
    )
    with w.db.write() as s:
        s.execute(
            update(CollectionCase).where(CollectionCase.id == case).values(status=CaseStatus.CLOSED)
        )
    with pytest.raises(ServiceError, match="archived"):
        supervision.decide_override_request(
            Context.frozen(w.db, w.sup, NOW, load_profile()), request_id, approve=True
        )
    assert (
        supervision.override_request(
            Context(w.db, w.sup, utcnow, load_profile()), request_id
        ).status
        == "pending"
    )


# --- the audit trail ------------------------------------------------------------------------


def _seed_events(w: World) -> list[int]:
    """Seven events a minute apart: (agent, action, case) known, newest last."""
    plan = [
        (w.op, "contact.log", w.cases[0]),
        (w.op2, "contact.log", w.cases[1]),
        (w.sup, "case.reassign", w.cases[0]),
        (w.op, "case.hold", w.cases[0]),
        (w.op, "contact.log", w.cases[2]),
        (w.op2, "case_hold", w.cases[1]),  # "case_" must not match the prefix "case."
        (w.op, "contact.log", w.cases[0]),
    ]
    ids = []
    with w.db.write() as s:
        for i, (who, action, case) in enumerate(plan):
            event = audit.record(
                s, who, action, "collection_case", case, f"{action} {i} 13812345678",
                now=NOW + dt.timedelta(minutes=i), case_id=case,
                before={"n": i}, after={"n": i + 1, "phone": "13812345678"},
            )  # fmt: skip
            s.flush()
            ids.append(event.id)
    return ids


def test_audit_page_filters_newest_first(w: World) -> None:
    ids = _seed_events(w)
    page = supervision.audit_page(
        Context(w.db, w.sup, utcnow, load_profile()), AuditFilter(case_id=w.cases[0])
    )
    assert [e.event_id for e in page.lines] == [ids[6], ids[3], ids[2], ids[0]]
    assert not page.more
    top = page.lines[0]
    assert top.agent_login == "op" and top.before == {"n": 6}
    # Numbers quoted in events are masked on the way out.
    assert top.after is not None and top.after["phone"] == "138****5678"
    assert "13812345678" not in top.summary
    page = supervision.audit_page(
        Context(w.db, w.sup, utcnow, load_profile()), AuditFilter(agent_login="op2")
    )
    assert [e.event_id for e in page.lines] == [ids[5], ids[1]]
    page = supervision.audit_page(
        Context(w.db, w.sup, utcnow, load_profile()), AuditFilter(action="case.")
    )
    assert [e.event_id for e in page.lines] == [ids[3], ids[2]]
    page = supervision.audit_page(
        Context(w.db, w.sup, utcnow, load_profile()),
        AuditFilter(since=NOW + dt.timedelta(minutes=2), until=NOW + dt.timedelta(minutes=5)),
    )
    assert [e.event_id for e in page.lines] == [ids[4], ids[3], ids[2]]
    page = supervision.audit_page(
        Context(w.db, w.sup, utcnow, load_profile()),
        AuditFilter(agent_login="op", case_id=w.cases[0], action="contact"),
    )
    assert [e.event_id for e in page.lines] == [ids[6], ids[0]]


@pytest.mark.parametrize("flt", [AuditFilter(), AuditFilter(agent_login="op")])
def test_audit_page_keyset_paging(w: World, flt: AuditFilter) -> None:
    ids = _seed_events(w)
    expected = [
        i
        for i, e in zip(ids, range(7), strict=True)
        if flt.agent_login is None or e in (0, 3, 4, 6)
    ]
    expected.reverse()
    seen: list[int] = []
    before: int | None = None
    while True:
        page = supervision.audit_page(
            Context(w.db, w.sup, utcnow, load_profile()), flt, before_id=before, limit=2
        )
        seen += [e.event_id for e in page.lines]
        if not page.more:
            break
        before = page.next_before
    # Events written by the fixtures themselves (none here) would come after the seeded ones.
    assert seen[: len(expected)] == expected
    assert len(seen) == len(set(seen))


def test_audit_page_same_time_ties_page_by_id(w: World) -> None:
    with w.db.write() as s:
        for i in range(5):
            audit.record(s, w.op, "contact.log", "x", i, f"e{i}", now=NOW, case_id=None)
    pages = []
    before: int | None = None
    for _ in range(3):
        page = supervision.audit_page(
            Context(w.db, w.sup, utcnow, load_profile()),
            AuditFilter(agent_login="op"),
            before_id=before,
            limit=2,
        )
        pages.append([e.summary for e in page.lines])
        before = page.next_before
    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0"]]


def test_audit_page_refusals(w: World) -> None:
    with pytest.raises(PermissionDenied):
        supervision.audit_page(Context(w.db, w.op, utcnow, load_profile()), AuditFilter())
    with pytest.raises(UnknownAgent, match="ghost"):
        supervision.audit_page(
            Context(w.db, w.sup, utcnow, load_profile()), AuditFilter(agent_login="ghost")
        )
    with pytest.raises(ServiceError, match="ends before it starts"):
        supervision.audit_page(
            Context(w.db, w.sup, utcnow, load_profile()), AuditFilter(since=NOW, until=NOW)
        )


def test_audit_actions_are_distinct_and_sorted(w: World) -> None:
    _seed_events(w)
    assert supervision.audit_actions(w.db) == [
        "case.hold",
        "case.reassign",
        "case_hold",
        "contact.log",
    ]
    assert supervision.audit_actions(w.db, window=2) == ["case_hold", "contact.log"]


# --- reports through the desk service ---------------------------------------------------------


def test_report_on_screen_and_as_csv(w: World, tmp_path: Path) -> None:
    desk = w.service(w.sup, export=tmp_path)
    names = [n for n, _title in desk.report_names()]
    assert "collected-by-agent" in names
    start, end = desk.report_period()
    assert (start, end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    table = desk.report("complaints-by-collector", start, end)
    assert table.rows == []
    path = desk.report_csv("collected-by-agent", start, end)
    assert path == tmp_path / w.sup.login / "report-collected-by-agent-2026-03-01-2026-03-02.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbfagent,name,payments")
    with pytest.raises(PermissionDenied):
        w.service(w.op).report("collected-by-agent", start, end)
    with pytest.raises(ServiceError, match="unknown report"):
        desk.report("nope", start, end)


def test_case_visits_and_stuck_lease(w: World) -> None:
    case = w.cases[0]
    claim_case(Context.frozen(w.db, w.op, NOW, load_profile()), case)
    with pytest.raises(PermissionDenied):
        w.service(w.op2).release_stuck_lease(case)
    w.service(w.sup).release_stuck_lease(case)
    assert w.case(case).lease_holder_id is None
    [event] = w.events("case.lease_release")
    assert event.before is not None and event.before["lease_holder_id"] == w.op.id
    assert w.service(w.sup).case_visits(case) == []
