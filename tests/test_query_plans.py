"""The queue's queries are served by their indexes on both engines (no sort, no scan)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tui_desk.db.engine import Database

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


def _plan(db: Database, sql: str) -> str:
    with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(r[-1]) for r in rows)
        # Tiny test tables make any plan cheap; forbid the sequential scan to see whether
        # the index can serve the query at all.
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_sort = off"))
        rows = conn.execute(text(f"EXPLAIN {sql}")).all()
        return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize(("sql", "index"), CASES)
def test_query_uses_index_without_sort(populated: Database, sql: str, index: str) -> None:
    plan = _plan(populated, sql)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
