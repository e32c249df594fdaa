"""Demo data: counts, consistency of every case's history, determinism, both engines."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import func, select, text

from tests.conftest import _pg_admin, _pg_dsn, make_sqlite_db
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentChange,
    AuditEvent,
    Base,
    Borrower,
    CaseStatus,
    CollectionCase,
    FollowUp,
    LoanAccount,
    Phone,
    PlanInstalment,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.demo import chunks, seeder
from tui_desk.demo.reference import CITIES
from tui_desk.demo.seeder import SeedSummary, seed_database
from tui_desk.demo.tables import COLUMNS, CONSTANTS, DATA_TABLES
from tui_desk.demo.writer import DERIVED
from tui_desk.rules.idcard import validate_id
from tui_desk.rules.priority import priority_score
from tui_desk.rules.profile import load_profile
from tui_desk.services import ledger
from tui_desk.services.agents import add_agent
from tui_desk.services.context import Context
from tui_desk.services.errors import ServiceError

NOW = dt.datetime(2025, 3, 14, 6, 30, tzinfo=dt.UTC)
TODAY = dt.date(2025, 3, 14)
CASES = 300
OFFICE = ZoneInfo("Asia/Shanghai")


def _seed(db: Database, cases: int = CASES, seed: int = 7, **kwargs: Any) -> SeedSummary:
    return seed_database(db, cases=cases, seed=seed, now=NOW, **kwargs)


def _table_counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {
            table: s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (*COLUMNS, "audit_event")
        }


M = TypeVar("M", bound=Base)


def _all(db: Database, model: type[M]) -> list[M]:
    """Every row of a model, detached from its (rolled back) session."""
    with db.read() as s:
        items = list(s.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]
        s.expunge_all()
    return items


def _normal(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.0001")))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _digest(db: Database, tables: tuple[str, ...] = DATA_TABLES) -> dict[str, str]:
    """A hash of every row of each table, read back through the typed models."""
    result = {}
    with db.read() as s:
        for name in tables:
            table = Base.metadata.tables[name]
            columns = list(table.columns)
            h = hashlib.sha256()
            for row in s.execute(select(*columns).order_by(table.c.id)):
                h.update(repr(tuple(_normal(v) for v in row)).encode())
            result[name] = h.hexdigest()
    return result


def test_columns_cover_every_model_column() -> None:
    for name, columns in COLUMNS.items():
        derived = (DERIVED[name][0],) if name in DERIVED else ()
        every = (*columns, *derived, *CONSTANTS.get(name, {}))
        assert set(every) == set(Base.metadata.tables[name].columns.keys()), name
        assert len(set(every)) == len(every)


def test_seed_writes_what_it_reports(db: Database) -> None:
    phases: list[str] = []
    summary = _seed(db, progress=lambda phase, done, total: phases.append(phase))
    assert summary.counts == _table_counts(db)
    assert summary.counts["borrower"] == summary.counts["collection_case"] == CASES
    assert summary.case_id_range == (1, CASES)
    assert summary.total_rows > 5 * CASES
    assert summary.elapsed_seconds > 0
    assert {"cases", "commit"} <= set(phases)
    for table in ("contact_attempt", "document", "appointment", "visit_report", "agreement",
                  "repayment_plan", "plan_instalment", "follow_up", "payment", "case_hold",
                  "promise_to_pay", "service_registration", "agreement_version"):  # fmt: skip
        assert summary.counts[table] > 0, table


def test_one_case_per_borrower_covering_all_accounts(db: Database) -> None:
    _seed(db)
    cases = {c.borrower_id: c for c in _all(db, CollectionCase)}
    assert len(cases) == CASES == len(_all(db, Borrower))
    accounts: dict[int, list[LoanAccount]] = defaultdict(list)
    for account in _all(db, LoanAccount):
        accounts[account.borrower_id].append(account)
    multi = sum(1 for accs in accounts.values() if len(accs) > 1)
    assert 0.10 * CASES <= multi <= 0.27 * CASES
    assert max(len(a) for a in accounts.values()) == 3
    weights = load_profile("cn").priority
    with db.read() as s:
        with_ledger = set(s.scalars(select(CollectionCase.id).where(ledger.has_ledger())))
        ledger_overdue = {
            case_id: ledger.read_balance(s, case_id, NOW, load_profile("cn")).overdue_minor
            for case_id in with_ledger
        }
    assert with_ledger
    for borrower_id, case in cases.items():
        accs = accounts[borrower_id]
        assert {a.case_id for a in accs} == {case.id}
        since = [a.overdue_since for a in accs if a.overdue_since is not None]
        assert case.overdue_since == (min(since) if since else None)
        # The stored arrears are the ledger's: the overdue accounts less what was paid
        # since, or the missed instalments of the plan in force (tests/test_consistency).
        if case.id not in with_ledger:
            assert case.overdue_minor == sum(a.overdue_minor for a in accs)
        elif case.status is CaseStatus.OPEN:
            assert case.overdue_minor == ledger_overdue[case.id]
        assert case.lease_holder_id is None and case.lease_expires_at is None
        assert case.version == 1
        for a in accs:
            parts = (a.outstanding_interest_minor + a.outstanding_penalty_minor
                     + a.outstanding_fees_minor)  # fmt: skip
            assert parts <= a.overdue_minor <= a.outstanding_principal_minor + parts
            assert a.opened_on < (a.overdue_since or TODAY)
        if case.status == "open":
            assert case.next_action_at is not None
            assert case.overdue_since is not None
            expected = priority_score(
                dpd=(TODAY - case.overdue_since).days,
                overdue_minor=case.overdue_minor,
                broken_promises=case.broken_promises,
                next_action_due=case.next_action_at <= NOW,
                weights=weights,
            ).value
            assert case.priority == expected
        else:
            assert case.stage in (Stage.PAID, Stage.ARCHIVED)
            assert case.closed_at is not None and case.closed_at <= NOW


def test_every_stage_and_a_spread_of_days_past_due(db: Database) -> None:
    _seed(db)
    with db.read() as s:
        stages = Counter(s.scalars(select(CollectionCase.stage)))
        owners = s.scalar(select(func.count()).where(CollectionCase.owner_id.is_not(None)))
        held = s.scalar(select(func.count()).where(CollectionCase.on_hold.is_(True)))
        since = list(s.scalars(select(CollectionCase.overdue_since).where(
            CollectionCase.overdue_since.is_not(None))))  # fmt: skip
    assert set(stages) == set(Stage)
    assert stages[Stage.CONTACTING] > stages[Stage.FOLLOW_UP]
    assert 0 < (owners or 0) < CASES
    assert held is not None
    dpd = sorted((TODAY - d).days for d in since if d is not None)
    assert dpd[0] >= 1
    assert dpd[len(dpd) // 2] <= 30
    assert dpd[-1] > 90


def test_ids_addresses_and_phones_are_real(db: Database) -> None:
    _seed(db)
    cities = {c.name: c for c in CITIES}
    borrowers = _all(db, Borrower)
    phones = _all(db, Phone)
    for b in borrowers:
        check = validate_id(b.id_number, TODAY)
        assert check.ok, (b.id_number, check.reason)
        assert b.id_number[:6] == b.region_code
        assert (b.region_code, b.district) in cities[b.city].districts
        assert b.address.startswith(f"{b.city}市{b.district}")
        assert b.timezone == "Asia/Shanghai"
        assert 2 <= len(b.name) <= 4
    assert len({b.id_number for b in borrowers}) == len(borrowers)
    by_borrower: dict[int, list[Phone]] = defaultdict(list)
    for p in phones:
        number = phonenumbers.parse(p.e164)
        assert phonenumbers.is_valid_number(number), p.e164
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == p.e164
        by_borrower[p.borrower_id].append(p)
    for b in borrowers:
        own = [p for p in by_borrower[b.id] if p.relation == "borrower" and p.kind == "mobile"]
        assert len(own) == 1 and not own[0].do_not_call
    relations = Counter(p.relation for p in phones)
    assert {"borrower", "spouse", "guarantor", "employer"} <= set(relations)
    assert any(p.do_not_call for p in phones) or len(phones) < 500


def test_the_team(db: Database) -> None:
    _seed(db)
    agents = {a.login: a for a in _all(db, Agent)}
    assert agents["demo"].name == "演示坐席" and agents["demo"].role == Role.OPERATOR
    assert agents["demo-sup"].role == Role.SUPERVISOR
    assert agents["col01"].role == Role.COLLECTOR
    roles = Counter(a.role for a in agents.values())
    assert roles[Role.OPERATOR] >= 4  # demo + at least three
    assert roles[Role.COLLECTOR] >= len(CITIES)


def test_history_follows_the_process_rules(db: Database) -> None:
    _seed(db, cases=600)
    profile = load_profile("cn")
    visits = profile.section("visits")
    appointments = _all(db, Appointment)
    changes = _all(db, AppointmentChange)
    follow_ups = _all(db, FollowUp)
    plans = {p.id: p for p in _all(db, RepaymentPlan)}
    instalments = _all(db, PlanInstalment)
    cases = {c.id: c for c in _all(db, CollectionCase)}
    borrowers = {b.id: b for b in _all(db, Borrower)}
    # A collector is never in two places at once, travel buffer included.
    buffer = dt.timedelta(minutes=visits["travel_buffer_minutes"])
    by_collector: dict[int, list[Appointment]] = defaultdict(list)
    for a in appointments:
        by_collector[a.collector_id].append(a)
        local = a.starts_at.astimezone(OFFICE)
        assert (local.date() - a.booked_at.astimezone(OFFICE).date()).days >= visits["lead_days"]
        assert a.booked_at < NOW
        assert local.hour >= 9
        assert local.hour + local.minute / 60 <= 17.5
        case = cases[a.case_id]
        assert a.place == borrowers[case.borrower_id].address
        assert a.district == borrowers[case.borrower_id].district
        if a.status in ("booked", "confirmed"):
            assert a.starts_at > NOW and case.stage == Stage.VISIT_BOOKED
        else:
            assert a.starts_at < NOW
    for visits_of_one in by_collector.values():
        visits_of_one.sort(key=lambda a: a.starts_at)
        for before, after in itertools.pairwise(visits_of_one):
            assert before.ends_at + buffer <= after.starts_at
    # Visits to one borrower are at least three days apart; changes give a day's notice.
    by_case: dict[int, list[dt.date]] = defaultdict(list)
    for a in appointments:
        if a.status not in ("rescheduled", "cancelled"):
            by_case[a.case_id].append(a.starts_at.astimezone(OFFICE).date())
    for days in by_case.values():
        days.sort()
        for day, next_day in itertools.pairwise(days):
            assert (next_day - day).days >= visits["spacing_days"]
    for change in changes:
        assert change.old_starts_at - change.notified_at >= dt.timedelta(
            hours=visits["notice_hours"]
        )
    # The first follow-up is within a month of the agreement; later ones three months apart.
    by_agreement: dict[int | None, list[FollowUp]] = defaultdict(list)
    for f in follow_ups:
        by_agreement[f.agreement_id].append(f)
    assert follow_ups and None not in by_agreement
    for checks in by_agreement.values():
        checks.sort(key=lambda f: f.due_on)
        for check, next_check in itertools.pairwise(checks):
            # Three calendar months, moved earlier to a working day: never later.
            assert 80 <= (next_check.due_on - check.due_on).days <= 92
        # Only what is still ahead (or within the grace of a few days) is scheduled.
        scheduled = [f.due_on for f in checks if f.status == "scheduled"]
        assert all(day >= TODAY - dt.timedelta(days=3) for day in scheduled)
    # Plan schedules add up to the plan, the remainder on the last instalment.
    schedule: dict[int, list[PlanInstalment]] = defaultdict(list)
    for i in instalments:
        schedule[i.plan_id].append(i)
    for plan_id, dues in schedule.items():
        plan = plans[plan_id]
        assert sum(i.principal_minor for i in dues) == plan.principal_minor
        assert len(dues) == plan.instalments
        assert dues[0].due_on == plan.first_due_on
        assert all(i.amount_minor == i.principal_minor + i.interest_minor for i in dues)
        assert all(i.due_on.day <= 28 for i in dues)


def test_every_open_case_has_a_next_action(db: Database) -> None:
    _seed(db)
    with db.read() as s:
        missing = s.scalar(
            select(func.count()).where(
                CollectionCase.status == "open", CollectionCase.next_action_at.is_(None)
            )
        )
    assert missing == 0


def test_one_batch_audit_event(db: Database) -> None:
    summary = _seed(db)
    events = _all(db, AuditEvent)
    assert len(events) == 1 and events[0].action == "seed.bulk"
    event = events[0]
    assert event.after is not None
    assert event.after["source"] == "seed"
    assert event.after["seed"] == 7
    assert event.after["case_id_range"] == [1, CASES]
    assert event.after["counts"]["collection_case"] == CASES
    assert event.after["counts"] == {
        t: n for t, n in summary.counts.items() if n and t != "audit_event"
    }
    assert event.occurred_at == NOW


def test_database_is_sound_after_the_bulk_load(db: Database) -> None:
    _seed(db)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA ignore_check_constraints").scalar() == 0
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # Ids handed out by the database continue after the seeded ones (PostgreSQL sequences).
    agent = add_agent(db, "late", "迟到坐席", Role.OPERATOR, now=NOW, profile=load_profile())
    with db.read() as s:
        assert agent.id == s.scalar(select(func.max(Agent.id)))
        new_case_ids = s.scalars(select(CollectionCase.id)).all()
    assert max(new_case_ids) == CASES


def test_indexes_are_as_the_migration_made_them(sqlite_db: Database, sqlite_template: Path) -> None:
    query = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    template = open_database(f"sqlite:///{sqlite_template}")
    with template.engine.connect() as conn:
        before = conn.exec_driver_sql(query).fetchall()
    template.dispose()
    _seed(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql(query).fetchall() == before


def test_seeding_again_appends_and_keeps_existing_agents(db: Database) -> None:
    add_agent(db, "demo", "王老师", Role.OPERATOR, now=NOW, profile=load_profile())
    first = _seed(db, cases=120)
    second = _seed(db, cases=80, seed=8)
    assert first.case_id_range == (1, 120)
    assert second.case_id_range == (121, 200)
    assert second.counts["agent"] == 0
    with db.read() as s:
        logins = list(s.scalars(select(Agent.login)))
        assert s.scalar(select(Agent.name).where(Agent.login == "demo")) == "王老师"
        assert s.scalar(select(func.count()).select_from(CollectionCase)) == 200
        bulk = s.scalar(select(func.count()).where(AuditEvent.action == "seed.bulk"))
    assert len(logins) == len(set(logins))
    assert bulk == 2


def test_refuses_bad_requests(sqlite_db: Database) -> None:
    with pytest.raises(ServiceError, match="number of cases"):
        seed_database(sqlite_db, cases=0, now=NOW)
    with pytest.raises(ServiceError, match="timezone"):
        seed_database(sqlite_db, cases=10, now=dt.datetime(2025, 1, 1))


@pytest.fixture
def second_sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    db = make_sqlite_db(sqlite_template, tmp_path)
    yield db
    db.dispose()


def test_same_seed_same_rows(sqlite_db: Database, second_sqlite_db: Database) -> None:
    _seed(sqlite_db, seed=11)
    _seed(second_sqlite_db, seed=11)
    assert _digest(sqlite_db) == _digest(second_sqlite_db)


def test_other_seed_other_rows(sqlite_db: Database, second_sqlite_db: Database) -> None:
    _seed(sqlite_db, seed=11)
    _seed(second_sqlite_db, seed=12)
    first, second = _digest(sqlite_db), _digest(second_sqlite_db)
    assert first["borrower"] != second["borrower"]


def test_helper_process_gives_the_same_rows(
    sqlite_db: Database, second_sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks so the helper process sends several.
    monkeypatch.setattr(chunks, "CHUNK_CASES", 40)  # 10 chunks, the last 3 are the tail
    _seed(sqlite_db, cases=400, parallel=False)
    summary = _seed(second_sqlite_db, cases=400, parallel=True)
    assert "wait" in summary.phase_seconds
    assert _digest(sqlite_db) == _digest(second_sqlite_db)


@pytest.mark.pg
def test_both_engines_get_the_same_rows(sqlite_db: Database, pg_template: str) -> None:
    name = f"tdt_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    pg = open_database(_pg_dsn(name))
    try:
        _seed(sqlite_db, seed=5)
        _seed(pg, seed=5)
        assert _digest(sqlite_db) == _digest(pg)
    finally:
        pg.dispose()
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.pg
def test_postgres_indexes_survive_a_large_load(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "ORDER BY indexname"
    )
    with pg_db.engine.connect() as conn:
        before = conn.execute(query).all()
    monkeypatch.setattr(seeder, "PG_REINDEX_MIN_CASES", 1)
    _seed(pg_db, cases=60)
    with pg_db.engine.connect() as conn:
        assert conn.execute(query).all() == before


def test_ids_are_contiguous_when_the_tail_is_written_last(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_CASES", 40)  # 10 chunks, the last 3 are the tail
    _seed(sqlite_db, cases=400)
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        for table in DATA_TABLES:
            low, high, n = conn.exec_driver_sql(
                f"SELECT min(id), max(id), count(*) FROM {table}"
            ).one()
            assert n == 0 or high - low + 1 == n, table
        ids = conn.exec_driver_sql("SELECT count(DISTINCT external_id) FROM payment").scalar()
        assert ids == conn.exec_driver_sql("SELECT count(*) FROM payment").scalar()


def test_search_side_data_is_filled(db: Database) -> None:
    from tui_desk.db.models import Borrower, BorrowerNameGram, CollectionCase, Phone
    from tui_desk.db.models import ServiceRegistration as Reg
    from tui_desk.rules.search import name_grams, reverse_digits

    _seed(db, cases=120)
    with db.read() as s:
        borrowers = s.execute(
            select(Borrower.id, Borrower.name, Borrower.id_number, Borrower.id_rev)
        ).all()
        assert all(rev == reverse_digits(idn) for _, _, idn, rev in borrowers)
        phones = s.execute(select(Phone.e164, Phone.digits_rev)).all()
        assert all(rev == reverse_digits(e164) for e164, rev in phones)
        grams = {
            (g, b)
            for g, b in s.execute(select(BorrowerNameGram.gram, BorrowerNameGram.borrower_id))
        }
        expected = {(g, bid) for bid, name, _, _ in borrowers for g in name_grams(name)}
        assert grams == expected
        registered = set(s.scalars(select(CollectionCase.id).where(CollectionCase.registered)))
        with_registration = set(s.scalars(select(Reg.case_id).where(Reg.cancelled_at.is_(None))))
        assert registered and registered <= with_registration


def test_a_supervisor_can_decide_every_seeded_request(db: Database) -> None:
    """Seeded hardship requests carry what the adjustments service needs: a supervisor on
    the demo approves them (a new plan) instead of meeting a refusal."""
    from tui_desk.db.models import Adjustment, ApprovalStatus, Role
    from tui_desk.services.adjustments import decide_adjustment
    from tui_desk.services.context import Actor

    _seed(db, cases=CASES, seed=2)
    pending = [
        a for a in _all(db, Adjustment) if a.status is ApprovalStatus.REQUESTED
    ]  # fmt: skip
    assert pending, "the seed leaves some requests to decide"
    with db.read() as s:
        sup = Actor.of(s.scalars(select(Agent).where(Agent.role == Role.SUPERVISOR).limit(1)).one())
    for row in pending:
        decision = decide_adjustment(
            Context.frozen(db, sup, NOW, load_profile()), row.id, approve=True, note="seen"
        )
        assert decision.status == "approved" and decision.new_plan_id is not None
