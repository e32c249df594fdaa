"""The queue's queries are served by their indexes on both engines (no sort, no scan)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Select, select, text

from tests.conftest import _pg_admin as pg_admin
from tests.conftest import _pg_dsn as pg_dsn
from tests.conftest import make_sqlite_db
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import CollectionCase, Role, Stage
from tui_desk.rules.profile import load_profile
from tui_desk.services import queue
from tui_desk.services.context import Actor
from tui_desk.services.queue import QueueFilter, Scope
from tui_desk.services.queue import access as queue_access

QUEUE = (
    "SELECT id FROM collection_case WHERE status = 'open' ORDER BY priority DESC, id DESC LIMIT 200"
)
QUEUE_AFTER = (
    "SELECT id FROM collection_case WHERE status = 'open' AND (priority, id) < (500, 10) "
    "ORDER BY priority DESC, id DESC LIMIT 200"
)
MINE = (
    "SELECT id FROM collection_case WHERE owner_id = 3 AND status = 'open' "
    "ORDER BY priority DESC, id DESC LIMIT 200"
)
CONTACTS = "SELECT id FROM contact_attempt WHERE case_id = 7 ORDER BY started_at DESC LIMIT 50"
VISITS = (
    "SELECT id FROM appointment WHERE collector_id = 2 AND starts_at >= '2026-01-01' "
    "AND starts_at < '2026-01-08' ORDER BY starts_at"
)

CASES = [
    (QUEUE, "ix_case_queue"),
    (QUEUE_AFTER, "ix_case_queue"),
    (MINE, "ix_case_owner_queue"),
    (CONTACTS, "ix_contact_case_time"),
    (VISITS, "ix_appointment_collector_time"),
    (
        "SELECT count(*) FROM visit_report WHERE collected_minor > 0 AND "
        "reconciled_payment_id IS NULL AND created_at < '2026-01-01 00:00:00'",
        "ix_visit_report_unreconciled",
    ),
    (
        "SELECT agent_id FROM collector_district WHERE district = '朝阳区'",
        "ix_collector_district_district",
    ),
]


POPULATE = [
    "INSERT INTO agent (id, login, name, role, active, created_at) VALUES "
    + ", ".join(
        f"({i}, 'a{i}', 'A{i}', 'operator', true, '2026-01-01 00:00:00')" for i in range(1, 6)
    ),
    "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 3000) "
    "INSERT INTO borrower (id, name, id_number, address, city, district, region_code, timezone, "
    "created_at) SELECT n, 'n', 'x', 'addr', 'c', 'd', '110000', 'Asia/Shanghai', "
    "'2026-01-01 00:00:00' FROM seq",
    "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 3000) "
    "INSERT INTO collection_case (id, borrower_id, status, stage, owner_id, stale, on_hold, "
    "priority, overdue_minor, broken_promises, opened_at, version) SELECT n, n, "
    "CASE WHEN n % 10 = 0 THEN 'closed' ELSE 'open' END, 'new', "
    "CASE WHEN n % 40 = 0 THEN 3 WHEN n % 2 = 0 THEN 1 ELSE NULL END, false, false, "
    "n % 997, 100, 0, '2026-01-01 00:00:00', 1 FROM seq",
]


@pytest.fixture
def populated(db: Database) -> Database:
    # Realistic selectivity so the planners choose as they would on a production table.
    with db.engine.begin() as conn:
        for stmt in POPULATE:
            conn.execute(text(stmt))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return db


def _plan(db: Database, sql: str, *, allow_sort: bool = False) -> str:
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(r[-1]) for r in rows)
        # Tiny test tables make any plan cheap; forbid the sequential scan to see whether
        # the index can serve the query at all.
        conn.execute(text("SET enable_seqscan = off"))
        if not allow_sort:
            conn.execute(text("SET enable_sort = off"))
        rows = conn.execute(text(f"EXPLAIN {sql}")).all()
        return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize(("sql", "index"), CASES)
def test_query_uses_index_without_sort(populated: Database, sql: str, index: str) -> None:
    plan = _plan(populated, sql)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan


# --- the queue service's own statements ---------------------------------------------------
# Built by services.queue exactly as a desk runs them, then EXPLAINed with their values
# inlined: every filter, search path and take-next step is served by its index.


AnySelect = Select[*tuple[Any, ...]]
NOW = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
PROFILE = load_profile("cn")
ACTOR = Actor(id=3, login="a3", name="A3", role=Role.OPERATOR)

# Variety the plain POPULATE lacks: flags, stages, dates, callbacks and the search side data.
VARIETY = [
    "UPDATE collection_case SET on_hold = (id % 97 = 0), registered = (id % 11 = 0), "
    "broken_promises = CASE WHEN id % 31 = 0 THEN 1 ELSE 0 END, "
    "stage = CASE WHEN id % 7 = 0 THEN 'documents' ELSE 'contacting' END, "
    "callback_agent_id = CASE WHEN id % 13 = 0 THEN 1 + id % 5 END",
    "UPDATE collection_case SET overdue_since = '2025-08-01'",
    "UPDATE collection_case SET overdue_since = '2025-12-20' WHERE id % 4 = 0",
    "UPDATE collection_case SET next_action_at = '2025-12-31 02:00:00'",
    "UPDATE collection_case SET next_action_at = '2026-01-05 02:00:00' WHERE id % 3 = 0",
    "UPDATE collection_case SET callback_at = '2025-12-31 05:00:00' WHERE id % 13 = 0",
    "UPDATE borrower SET id_rev = 'X' || id",
    "INSERT INTO borrower_name_gram (gram, borrower_id) SELECT '乙' || (id % 10), id FROM borrower",
    "INSERT INTO borrower_name_gram (gram, borrower_id) SELECT '甲', id FROM borrower",
    "INSERT INTO borrower_name_gram (gram, borrower_id) SELECT (id % 10) || '甲', id FROM borrower",
    "INSERT INTO borrower_name_gram (gram, borrower_id) SELECT '丙' || (id % 300), id "
    "FROM borrower",
    "INSERT INTO phone (id, borrower_id, e164, digits_rev, kind, relation, verified, "
    "do_not_call, created_at) SELECT id, id, '+86' || id, '' || id, 'mobile', 'borrower', "
    "false, false, '2026-01-01 00:00:00' FROM borrower",
    "UPDATE phone SET e164 = '+8613812348000', digits_rev = '0008432183168' WHERE id = 7",
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def varied(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One populated database per engine for the whole module (plans only read it)."""
    name: str | None = None
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db = make_sqlite_db(template, tmp_path_factory.mktemp("plans"))
    else:
        pg_template = request.getfixturevalue("pg_template")
        name = f"tdt_{uuid.uuid4().hex[:12]}"
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
        db = open_database(pg_dsn(name))
    with db.engine.begin() as conn:
        for stmt in [*POPULATE, *VARIETY]:
            conn.execute(text(stmt))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    yield db
    db.dispose()
    if name is not None:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _sql(db: Database, stmt: AnySelect) -> str:
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _keys_statement(
    db: Database, flt: QueueFilter, monkeypatch: pytest.MonkeyPatch, threshold: int | None
) -> tuple[str, Any]:
    if threshold is not None:
        monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: threshold)
    ctx = queue._Context(actor=ACTOR, now=NOW, profile=PROFILE, limit=60)
    with db.read() as s:
        access = queue._access(s, flt, ctx)
    assert isinstance(access, queue._Walk | queue._Ranked), access
    stmt = queue.page_statement(access, after=(500, 10), before=None, limit=61)
    return _sql(db, stmt), access


WALKS = [
    (QueueFilter(), "ix_case_queue"),
    (QueueFilter(scope=Scope.MINE), "ix_case_owner_queue"),
    (QueueFilter(scope=Scope.UNOWNED), "ix_case_unowned_queue"),
    (QueueFilter(stage=Stage.DOCUMENTS), "ix_case_stage_queue"),
    (QueueFilter(broken_only=True), "ix_case_broken_queue"),
    (QueueFilter(on_hold=True), "ix_case_hold_queue"),
    (QueueFilter(registered_only=True), "ix_case_registered_queue"),
    (QueueFilter(bucket="91+"), "ix_case_bucket_queue"),
    (QueueFilter(bucket="31-60", scope=Scope.UNOWNED), "ix_case_bucket_queue"),
    (QueueFilter(due_today=True), "ix_case_queue"),
    (QueueFilter(scope=Scope.MINE, stage=Stage.DOCUMENTS, due_today=True), "ix_case_owner_queue"),
    (QueueFilter(on_hold=True, broken_only=True, scope=Scope.MINE), "ix_case_hold_queue"),
    (QueueFilter(registered_only=True, scope=Scope.UNOWNED), "ix_case_registered_queue"),
    (QueueFilter(registered_only=True, stage=Stage.DOCUMENTS), "ix_case_stage_queue"),
    (QueueFilter(registered_only=True, stage=Stage.NEW), "ix_case_registered_queue"),
    (QueueFilter(search="甲"), "ix_case_queue"),  # a name piece every borrower shares
    (QueueFilter(search="甲", on_hold=True), "ix_case_hold_queue"),
    (QueueFilter(search="0001"), "ix_case_queue"),  # dense phone suffix: walked
    (QueueFilter(search="id:0001X"), "ix_case_queue"),  # dense ID tail: walked
]


@pytest.mark.parametrize(("flt", "index"), WALKS, ids=lambda v: getattr(v, "describe", str)())
def test_queue_filters_walk_their_index(
    varied: Database, flt: QueueFilter, index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql, access = _keys_statement(varied, flt, monkeypatch, threshold=0)
    assert isinstance(access, queue._Walk) and access.index == index
    plan = _plan(varied, sql)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan


def _no_case_scan(plan: str) -> None:
    assert "SCAN collection_case" not in plan and "SCAN cc" not in plan, plan
    assert "Seq Scan on collection_case" not in plan, plan


RANKED = [
    (QueueFilter(due_today=True), "ix_case_next_action"),
    (
        QueueFilter(due_today=True, scope=Scope.UNOWNED, stage=Stage.DOCUMENTS),
        "ix_case_next_action",
    ),
    (QueueFilter(search="丙7"), "pk_borrower_name_gram"),  # a rare name piece
    (QueueFilter(search="丙7甲"), "pk_borrower_name_gram"),  # longer: rarest piece + LIKE
    (QueueFilter(search="0001"), "ix_phone_digits_rev"),
    (QueueFilter(search="+86 138 1234 8000"), "ix_phone_digits_rev"),
    (QueueFilter(search="id:002X"), "ix_borrower_id_rev"),
    (QueueFilter(search="#12"), "pk_collection_case"),
]


@pytest.mark.parametrize(("flt", "via"), RANKED, ids=lambda v: getattr(v, "describe", str)())
def test_search_and_sparse_filters_go_through_their_index(
    varied: Database, flt: QueueFilter, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql, access = _keys_statement(varied, flt, monkeypatch, threshold=10**6)
    assert isinstance(access, queue._Ranked) and access.via == via
    plan = _plan(varied, sql, allow_sort=True)  # candidates are few, then sorted
    _no_case_scan(plan)
    if via == "pk_collection_case":
        return  # a primary-key lookup
    if via == "ix_case_next_action":
        assert via in plan, plan
        return
    side = {"pk_borrower_name_gram": "borrower_name_gram"}.get(via, via)
    assert side in plan, plan
    # The cases of the borrowers found are reached by their borrower_id key.
    assert "uq_collection_case_borrower_id" in plan or "sqlite_autoindex_collection_case" in plan


def _claimable() -> queue._Claimable:
    return queue._Claimable(me=3, now=NOW, stale_cutoff=NOW - dt.timedelta(minutes=30))


TAKE_NEXT: list[tuple[str, Callable[[], AnySelect], str]] = [
    ("own callbacks", lambda: _claimable().callbacks(), "ix_case_callback"),
    (
        "owned",
        lambda: _claimable().best("ix_case_owner_queue", queue._owned_by(3)),
        "ix_case_owner_queue",
    ),
    (
        "pool",
        lambda: _claimable().best("ix_case_unowned_queue", queue._owned_by(None)),
        "ix_case_unowned_queue",
    ),
    ("fallen to anyone", lambda: _claimable().fallen((500, 10), [4, 5]), "ix_case_queue"),
]


@pytest.mark.parametrize(("name", "build", "index"), TAKE_NEXT, ids=[t[0] for t in TAKE_NEXT])
def test_take_next_steps_use_their_index(
    varied: Database, name: str, build: Callable[[], AnySelect], index: str
) -> None:
    plan = _plan(varied, _sql(varied, build().limit(1)))
    assert index in plan, plan
    _no_case_scan(plan)
    if name != "fallen to anyone":  # that one ranks at most STALE_SCAN rows
        assert "TEMP B-TREE" not in plan or name == "own callbacks", plan


def test_orphans_use_the_next_action_index(varied: Database) -> None:
    stmt = (
        select(CollectionCase.id)
        .where(*queue._orphan_terms())
        .order_by(CollectionCase.id)
        .limit(50)
    )
    # Orphans are few: found through the index, then put in id order.
    plan = _plan(varied, _sql(varied, stmt), allow_sort=True)
    assert "ix_case_next_action" in plan, plan
