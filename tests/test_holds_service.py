"""The life of a hold on both engines: an end date, releases by supervisors (desk, board,
command line) with a reason, the complaint that placed one, and the worker's expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk import cli, clock
from tui_desk.cli import common
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseHold,
    CollectionCase,
    ComplaintStatus,
    HoldKind,
    Role,
)
from tui_desk.rules.profile import load_profile
from tui_desk.services import casework, complaints, holds
from tui_desk.services.contact_checks import is_on_hold
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import LeaseHeld, PermissionDenied, ServiceError
from tui_desk.services.queue import QueueFilter, queue_page
from tui_desk.worker.registry import default_jobs

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)


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
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.case = self.make.case()

    def ctx(self, actor: Actor, now: dt.datetime = NOW) -> Context:
        return Context.frozen(self.db, actor, now, load_profile())

    def case_row(self, case_id: int | None = None) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, case_id or self.case)
            assert case is not None
            s.expunge_all()
            return case

    def hold_row(self, hold_id: int) -> CaseHold:
        with self.db.read() as s:
            hold = s.get(CaseHold, hold_id)
            assert hold is not None
            s.expunge_all()
            return hold

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return rows

    def consistent(self, case_id: int | None = None) -> bool:
        """The flag the queue reads equals what the hold rows say."""
        with self.db.read() as s:
            case = s.get(CollectionCase, case_id or self.case)
            assert case is not None
            rows = bool(holds.active_holds_of(s, case.id))
            return case.on_hold == rows and is_on_hold(s, case) == rows

    def lease(self, holder: Actor, until: dt.datetime) -> None:
        with self.db.write() as s:
            s.execute(
                update(CollectionCase)
                .where(CollectionCase.id == self.case)
                .values(lease_holder_id=holder.id, lease_expires_at=until)
            )


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


# --- the end date --------------------------------------------------------------------------


def test_a_hold_until_a_day_ends_at_office_midnight_after_it(w: World) -> None:
    hold_id = casework.set_hold(
        w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee disputed", ends_on=dt.date(2026, 3, 9)
    )
    ends = w.hold_row(hold_id).ends_at
    assert ends == dt.datetime(2026, 3, 10, 0, 0, tzinfo=SH).astimezone(dt.UTC)
    [event] = w.events("case.hold.set")
    assert event.after is not None and event.after["ends_at"] == ends.isoformat()
    # Today is allowed (it ends tonight); yesterday, or beyond a year, is refused.
    with pytest.raises(ServiceError, match="in the past"):
        casework.set_hold(
            w.ctx(w.op), w.case, HoldKind.LITIGATION, "x", ends_on=dt.date(2026, 3, 1)
        )
    with pytest.raises(ServiceError, match="at most 366 days"):
        casework.set_hold(
            w.ctx(w.op), w.case, HoldKind.LITIGATION, "x", ends_on=dt.date(2027, 3, 10)
        )
    today = casework.set_hold(
        w.ctx(w.op), w.case, HoldKind.LITIGATION, "court", ends_on=dt.date(2026, 3, 2)
    )
    assert w.hold_row(today).ends_at == dt.datetime(2026, 3, 3, tzinfo=SH).astimezone(dt.UTC)


def test_an_unknown_hold_kind_is_refused_clearly(w: World) -> None:
    with pytest.raises(ServiceError, match="unknown hold kind"):
        casework.set_hold(w.ctx(w.op), w.case, "holiday", "x")  # type: ignore[arg-type]


# --- releases by a supervisor --------------------------------------------------------------


def test_a_supervisor_releases_a_cases_holds_with_a_reason(w: World) -> None:
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.CEASE_CONTACT, "asked by letter")
    with pytest.raises(PermissionDenied):
        holds.release_case_holds(w.ctx(w.op), w.case, "done")
    with pytest.raises(ServiceError, match="needs a reason"):
        holds.release_case_holds(w.ctx(w.sup), w.case, "  ")
    with pytest.raises(ServiceError, match="no litigation hold"):
        holds.release_case_holds(w.ctx(w.sup), w.case, "done", kind=HoldKind.LITIGATION)
    [one] = holds.release_case_holds(w.ctx(w.sup), w.case, "fee settled", kind="dispute")
    assert one.kind is HoldKind.DISPUTE and one.case_still_on_hold
    assert w.case_row().on_hold and w.consistent()
    [two] = holds.release_case_holds(w.ctx(w.sup), w.case, "borrower wrote again")
    assert not two.case_still_on_hold
    assert not w.case_row().on_hold and w.consistent()
    with pytest.raises(ServiceError, match="is not on hold"):
        holds.release_case_holds(w.ctx(w.sup), w.case, "again")
    released = w.events("case.hold.release")
    assert [e.after["kind"] for e in released if e.after] == ["dispute", "cease_contact"]
    assert all(e.agent_id == w.sup.id and e.case_id == w.case for e in released)
    assert w.hold_row(one.hold_id).release_reason == "fee settled"
    assert w.hold_row(one.hold_id).released_by_id == w.sup.id


def test_a_released_case_is_back_in_the_queue(w: World) -> None:
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")

    def listed(flt: QueueFilter) -> set[int]:
        return {r.case_id for r in queue_page(w.ctx(w.sup), flt, limit=50).rows}

    assert w.case in listed(QueueFilter(on_hold=True))
    assert w.case not in listed(QueueFilter())
    holds.release_case_holds(w.ctx(w.sup), w.case, "fee settled")
    assert w.case in listed(QueueFilter())
    assert w.case not in listed(QueueFilter(on_hold=True))


def test_a_release_over_an_operators_lease_needs_the_reason_as_override(w: World) -> None:
    hold_id = casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")
    w.lease(w.op, NOW + dt.timedelta(minutes=10))
    with pytest.raises(LeaseHeld, match="being worked by"):
        holds.release_hold(w.ctx(w.sup), hold_id, "settled")
    holds.release_hold(w.ctx(w.sup), hold_id, "settled", override_reason="settled")
    assert not w.case_row().on_hold
    [override] = w.events("case.lease_override")
    assert override.after is not None and override.after["override_reason"] == "settled"


def test_held_cases_lists_the_holds_in_force_for_supervisors(w: World) -> None:
    other = w.make.case(name="李四")
    first = casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")
    later = w.ctx(w.op, NOW + dt.timedelta(hours=1))
    second = casework.set_hold(
        later, other, HoldKind.DECEASED, "notice", ends_on=dt.date(2026, 4, 1)
    )
    with pytest.raises(PermissionDenied):
        holds.held_cases(w.ctx(w.op))
    lines = holds.held_cases(w.ctx(w.sup))
    assert [h.hold_id for h in lines] == [first, second]
    assert lines[1].borrower_name == "李四" and lines[1].ends_at is not None
    assert lines[0].ends_at is None and lines[0].set_by is not None
    holds.release_hold(w.ctx(w.sup), first, "settled")
    assert [h.hold_id for h in holds.held_cases(w.ctx(w.sup))] == [second]
    assert [h.hold_id for h in holds.held_cases(w.ctx(w.sup), case_id=w.case)] == []


# --- complaints ------------------------------------------------------------------------------


def test_a_complaint_hold_is_its_own_even_on_a_held_case(w: World) -> None:
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")
    complaint = complaints.record_complaint(
        w.ctx(w.op), w.case, description="rude collector", hold=True
    )
    with w.db.read() as s:
        placed = s.scalars(select(CaseHold).where(CaseHold.complaint_id == complaint)).one()
        assert placed.kind is HoldKind.COMPLAINT and placed.released_at is None
    [line] = complaints.complaint_list(w.db)
    assert line.held


def test_resolving_a_complaint_releases_its_hold_when_asked(w: World) -> None:
    held = complaints.record_complaint(w.ctx(w.op), w.case, description="rude", hold=True)
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee")
    with pytest.raises(ServiceError, match="released when it is resolved"):
        complaints.decide_complaint(w.ctx(w.sup), held, "investigating", release_hold=True)
    with pytest.raises(PermissionDenied):
        complaints.decide_complaint(
            w.ctx(w.op), held, "resolved", resolution="apologised", release_hold=True
        )
    released = complaints.decide_complaint(
        w.ctx(w.sup), held, ComplaintStatus.RESOLVED, resolution="apologised", release_hold=True
    )
    assert [r.kind for r in released] == [HoldKind.COMPLAINT]
    assert released[0].case_still_on_hold  # the dispute still holds it
    assert w.hold_row(released[0].hold_id).release_reason == "apologised"
    assert w.case_row().on_hold and w.consistent()
    [event] = w.events("case.hold.release")
    assert event.after is not None and event.after["complaint_id"] == held
    [decided] = w.events("complaint.resolved")
    assert decided.after is not None and decided.after["holds_released"] == [released[0].hold_id]


def test_resolving_a_complaint_without_release_keeps_the_hold(w: World) -> None:
    held = complaints.record_complaint(w.ctx(w.op), w.case, description="rude", hold=True)
    assert complaints.decide_complaint(w.ctx(w.sup), held, "dismissed", resolution="no basis") == []
    assert w.case_row().on_hold and w.consistent()
    assert complaints.complaint_list(w.db) == []  # decided, off the open list
    [line] = complaints.complaint_list(w.db, open_only=False)
    assert line.held  # and its hold still in force, for a supervisor to release
    assert w.events("case.hold.release") == []


# --- the worker ------------------------------------------------------------------------------


def test_the_worker_ends_holds_whose_date_has_come(w: World) -> None:
    other = w.make.case(name="李四")
    ending = casework.set_hold(
        w.ctx(w.op), w.case, HoldKind.DISPUTE, "fee", ends_on=dt.date(2026, 3, 3)
    )
    lasting = casework.set_hold(w.ctx(w.op), other, HoldKind.LITIGATION, "court")
    both = casework.set_hold(
        w.ctx(w.op), other, HoldKind.DISPUTE, "fee", ends_on=dt.date(2026, 3, 3)
    )
    before = dt.datetime(2026, 3, 3, 23, 59, tzinfo=SH).astimezone(dt.UTC)
    assert holds.release_expired_holds(w.db, before, batch_size=1).holds == 0
    after = dt.datetime(2026, 3, 4, 0, 1, tzinfo=SH).astimezone(dt.UTC)
    result = holds.release_expired_holds(w.db, after, batch_size=1)
    assert (result.holds, result.cases) == (2, 2)
    assert w.hold_row(ending).released_at == after
    assert w.hold_row(ending).release_reason == holds.EXPIRED_REASON
    assert w.hold_row(ending).released_by_id is None
    assert w.hold_row(both).released_at == after
    assert w.hold_row(lasting).released_at is None
    assert not w.case_row().on_hold and w.case_row(other).on_hold
    assert w.consistent() and w.consistent(other)
    events = w.events("case.hold.expire")
    assert {e.entity_id for e in events} == {ending, both}
    assert all(e.agent_id is None for e in events)
    # Nothing left to do: a second run releases nothing and writes nothing.
    assert holds.release_expired_holds(w.db, after).holds == 0
    assert len(w.events("case.hold.expire")) == 2


def test_the_expiry_job_is_registered_with_the_worker() -> None:
    assert "hold_expiry" in [job.name for job in default_jobs("cn")]
    assert holds.hold_expiry_job("cn") is not None
    with pytest.raises(Exception, match="profile"):
        holds.hold_expiry_job("nowhere")


# --- the command line --------------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_holds_list_and_release_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'holds.db'}"
    db = open_database(url)
    from tui_desk.db.migrate import ensure_schema

    ensure_schema(db)
    w = World(db)
    casework.set_hold(w.ctx(w.op), w.case, HoldKind.DISPUTE, "borrower disputes the fee")
    db.dispose()
    monkeypatch.setattr(clock, "utcnow", lambda: NOW + dt.timedelta(hours=1))
    monkeypatch.setattr(common, "current_login", lambda: "op")
    assert _run(["--db", url, "holds", "list"]) == 1
    assert "may not" in capsys.readouterr().err
    assert _run(["--db", url, "holds", "release", str(w.case), "--reason", "x"]) == 1
    assert "may not release a hold" in capsys.readouterr().err

    monkeypatch.setattr(common, "current_login", lambda: "sup")
    assert _run(["--db", url, "holds", "list"]) == 0
    out = capsys.readouterr().out
    assert f"#{w.case}" in out and "dispute" in out and "borrower disputes the fee" in out
    assert _run(["--db", url, "holds", "release", str(w.case)]) == 2  # --reason is required
    capsys.readouterr()
    assert _run(["--db", url, "holds", "release", str(w.case), "--reason", "fee waived"]) == 0
    assert f"released the dispute hold on case {w.case}" in capsys.readouterr().out
    assert _run(["--db", url, "holds", "list"]) == 0
    assert "no holds in force" in capsys.readouterr().out
    db = open_database(url)
    with db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.hold.release"))
        assert event.summary.startswith("sup released the dispute hold")
        case = s.get(CollectionCase, w.case)
        assert case is not None and not case.on_hold
    db.dispose()
