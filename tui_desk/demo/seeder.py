"""Demo data: a realistic, deterministic book of overdue borrowers with their case histories.

``seed_database`` fills a migrated database with borrowers, accounts, phones and one case
per borrower, spread over every stage of the home-visit process with consistent history
(contacts, promises, registrations, documents, visits, plans, agreements, follow-ups,
payments, holds, complaints), plus a team of agents. The same ``seed`` and ``now`` give the
same rows.

Seeding appends to whatever is there: ids continue from each table's ``max(id)``, agents
that already exist are kept (matched by login), and the whole load is one transaction, so a
failure leaves the database as it was. ID numbers are unique within one run. Nothing else
should use the database meanwhile: PostgreSQL tables are locked, SQLite holds its write
lock, and a SQLite file nobody else has open is switched to a rollback journal for the load
and back to WAL afterwards.

Speed (the figures are in the README) comes from:
- rows generated as plain tuples from precomputed tables, and written through the driver
  in large batches (``executemany`` on SQLite, ``COPY`` on PostgreSQL);
- two generators working at once, each in a helper process, while this process only
  writes: one produces the main stream of chunks, the other the tail stream (the last
  third of the chunks); the tail is numbered from 0 and shifted into place when written,
  after the main stream, so the rows do not depend on how the work was shared;
- secondary indexes dropped and rebuilt from their stored definitions in the same
  transaction (always on SQLite, for large loads on PostgreSQL);
- on SQLite, foreign-key and CHECK enforcement, synchronous writes and the small default
  page cache are set aside for the load and restored afterwards.

Memory stays flat whatever the size: a chunk is written as soon as it is its turn, and
the chunks waiting for it (the whole tail, while the main stream is written) are parked
in temporary files, not in memory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Role,
)
from tui_desk.demo.chunks import GeneratorSpec, Helper, Rows, chunk_plan, chunks_inline
from tui_desk.demo.reference import CITIES, draw_name
from tui_desk.demo.tables import DATA_TABLES, TABLES, Row
from tui_desk.demo.team import team_plan
from tui_desk.demo.writer import Writer
from tui_desk.i18n import _
from tui_desk.rules.profile import load_profile
from tui_desk.services import audit, day_counts
from tui_desk.services.errors import ServiceError
from tui_desk.services.search_index import bulk_name_grams_sql

Progress = Callable[[str, int, int], None]


MAX_CASES = 20_000_000
# Below this, starting the helper processes costs more than it saves.
PARALLEL_MIN_CASES = 50_000
# From this size on, PostgreSQL indexes are rebuilt after the load rather than kept up to date.
PG_REINDEX_MIN_CASES = 50_000
SQLITE_CACHE_KIB = 65_536


@dataclass(frozen=True)
class SeedSummary:
    """What a seed run wrote: rows per table, the new case ids, and where the time went."""

    counts: dict[str, int]
    elapsed_seconds: float
    phase_seconds: dict[str, float]
    case_id_range: tuple[int, int]
    seed: int

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


def _sqlite_pragmas(raw: Any, values: dict[str, Any]) -> dict[str, Any]:
    before = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in values}
    for name, value in values.items():
        raw.execute(f"PRAGMA {name} = {value}")
    return before


def _leave_wal(raw: Any) -> str | None:
    """Use a rollback journal for the load if nobody else has the file open.

    In WAL mode every page of a large load is written twice (to the log, then copied into
    the database); with a rollback journal new pages are written once and only the few
    pages that existed before are journaled. SQLite refuses the switch while another
    connection is open, and then the load simply stays in WAL mode. Returns the mode to
    restore, or None if nothing changed.
    """
    before = str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if before != "wal":
        return None
    try:
        after = str(raw.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
    except sqlite3.OperationalError:
        return None
    return before if after != before else None


def seed_database(
    db: Database,
    *,
    cases: int,
    seed: int = 42,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> SeedSummary:
    """Add ``cases`` demo cases (one per new borrower) with their history, in one transaction.

    ``progress(phase, done, total)`` is called as the work advances. ``parallel`` generates
    rows in two helper processes while this one writes (default: for large seeds); the rows
    are the same either way.
    """
    if not 1 <= cases <= MAX_CASES:
        raise ServiceError(
            _("the number of cases must be between 1 and {limit}").format(limit=MAX_CASES)
        )
    now = now or utcnow()
    if now.tzinfo is None:
        raise ServiceError(_("the seed time must carry a timezone"))
    now = now.astimezone(dt.UTC)
    report: Progress = progress or (lambda _phase, _done, _total: None)
    started = time.perf_counter()
    phases: dict[str, float] = {}
    counts = dict.fromkeys(TABLES, 0)

    file_backed = db.is_sqlite and db.url.database not in (None, "", ":memory:")
    journal: str | None = None
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        saved: dict[str, Any] = {}
        if db.is_sqlite:
            saved = _sqlite_pragmas(
                raw,
                # Rows come from the model enums and keys handed out here; the tests run
                # foreign_key_check and integrity_check on seeded data. Checking per row is
                # most of the insert time (an IN-list CHECK is rebuilt for every row).
                {
                    "foreign_keys": 0,
                    "ignore_check_constraints": 1,
                    "synchronous": 0,
                    # 64 MiB of page cache: the inserts append, and the index rebuilds
                    # sort in temporary files, so a larger cache only adds resident memory.
                    "cache_size": -SQLITE_CACHE_KIB,
                    "temp_store": 1,
                },
            )
            journal = _leave_wal(raw) if file_backed else None
            conn.execution_options(sqlite_begin="IMMEDIATE")
        try:
            with conn.begin():
                summary_range = _seed_in_transaction(
                    conn, db, cases=cases, seed=seed, now=now, report=report,
                    phases=phases, counts=counts, parallel=parallel,
                )  # fmt: skip
                mark = time.perf_counter()
                with Session(bind=conn) as session:
                    written = {t: n for t, n in counts.items() if n}
                    audit.record(
                        session, None, "seed.bulk", "seed", None,
                        f"seeded {cases} demo cases (seed {seed}): "
                        + ", ".join(f"{t} {n}" for t, n in written.items()),
                        now=now,
                        after={
                            "source": "seed", "seed": seed, "counts": written,
                            "case_id_range": list(summary_range),
                        },
                    )  # fmt: skip
                    session.flush()
                counts["audit_event"] = 1
                phases["audit"] = time.perf_counter() - mark
                report("commit", 0, 1)
                mark = time.perf_counter()
            phases["commit"] = time.perf_counter() - mark
            report("commit", 1, 1)
        finally:
            if db.is_sqlite:
                for name, value in saved.items():
                    raw.execute(f"PRAGMA {name} = {value}")
                if journal is not None:
                    with contextlib.suppress(sqlite3.OperationalError):
                        # If someone opened the file meanwhile, their connection turns WAL
                        # back on (the engine does on connect).
                        raw.execute(f"PRAGMA journal_mode = {journal}")
        if file_backed and journal is None:
            mark = time.perf_counter()
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            phases["checkpoint"] = time.perf_counter() - mark
    return SeedSummary(
        counts=counts,
        elapsed_seconds=time.perf_counter() - started,
        phase_seconds=phases,
        case_id_range=summary_range,
        seed=seed,
    )


def _tail_shift(next_ids: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    """What the tail stream's ids and references move by: past the main stream's rows."""
    shift = {t: next_ids[t] + counts[t] for t in DATA_TABLES}
    shift.update(borrower=0, collection_case=0)
    return shift


def _seed_in_transaction(
    conn: Connection,
    db: Database,
    *,
    cases: int,
    seed: int,
    now: dt.datetime,
    report: Progress,
    phases: dict[str, float],
    counts: dict[str, int],
    parallel: bool | None,
) -> tuple[int, int]:
    mark = time.perf_counter()
    writer = Writer(conn, db)
    cursor = writer.cursor
    if db.is_postgresql:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
    next_ids: dict[str, int] = {}
    for table in TABLES:
        cursor.execute(f"SELECT max(id) FROM {table}")
        next_ids[table] = (cursor.fetchone()[0] or 0) + 1

    # -- the team (existing logins are kept as they are)
    team_rng = random.Random(seed)
    team = team_plan(cases, lambda: draw_name(team_rng.random))
    cursor.execute("SELECT id, login, role FROM agent")
    existing = {login: (agent_id, role) for agent_id, login, role in cursor.fetchall()}
    created_at = (now - dt.timedelta(days=1500)).strftime("%Y-%m-%d %H:%M:%S.%f")
    agent_rows: list[Row] = []
    resolved: dict[str, tuple[int, str]] = {}
    for member in team:
        if member.login in existing:
            resolved[member.login] = existing[member.login]
            continue
        agent_id = next_ids["agent"]
        next_ids["agent"] += 1
        agent_rows.append(
            (
                agent_id,
                member.login,
                member.name,
                member.role.value,
                True,
                member.extension,
                created_at,
            )
        )
        resolved[member.login] = (agent_id, member.role.value)
    writer.write("agent", agent_rows)
    counts["agent"] = len(agent_rows)
    # New collectors work Monday to Saturday, 09:00-18:00, over every district of their city.
    schedule_rows: list[Row] = []
    district_rows: list[Row] = []
    new_ids = {row[0] for row in agent_rows}
    for member in team:
        agent_id = resolved[member.login][0]
        if member.role is not Role.COLLECTOR or agent_id not in new_ids or member.city is None:
            continue
        schedule_rows.append(
            (agent_id, "Asia/Shanghai", "09:00:00.000000", "18:00:00.000000", "123456", created_at)
        )
        district_rows.extend((agent_id, name) for _, name in CITIES[member.city].districts)
    writer.write("collector_schedule", schedule_rows)
    writer.write("collector_district", district_rows)
    counts["collector_schedule"] = len(schedule_rows)
    counts["collector_district"] = len(district_rows)

    def of_role(role: Role) -> list[int]:
        return [resolved[m.login][0] for m in team if resolved[m.login][1] == role.value]

    operators, supervisors = of_role(Role.OPERATOR), of_role(Role.SUPERVISOR)
    by_city: list[list[int]] = [[] for _ in CITIES]
    collectors = [m for m in team if resolved[m.login][1] == Role.COLLECTOR.value]
    for i, member in enumerate(collectors):
        by_city[member.city if member.city is not None else i % len(CITIES)].append(
            resolved[member.login][0]
        )
    if not operators or not supervisors or not all(by_city):
        raise ServiceError(_("the demo team is incomplete: logins it needs exist with other roles"))
    phases["setup"] = time.perf_counter() - mark

    # Rebuilding secondary indexes once is much cheaper than updating them row by row; the
    # stored definitions bring them back exactly as the migration made them, in the same
    # transaction. On PostgreSQL DROP INDEX locks readers out until commit, so only for
    # large loads there.
    dropped: list[str] = []
    names = ", ".join(f"'{t}'" for t in DATA_TABLES)
    query: str | None = None
    if db.is_sqlite:
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({names}) ORDER BY name"
        )
    elif cases >= PG_REINDEX_MIN_CASES:
        query = (
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            f"WHERE n.nspname = current_schema() AND t.relname IN ({names}) "
            "AND NOT x.indisunique AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
            "ORDER BY i.relname"
        )
    if query is not None:
        cursor.execute(query)
        for name, definition in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
            dropped.append(definition)

    spec = GeneratorSpec(
        seed=seed, now=now, next_ids=next_ids, operators=operators,
        collectors_by_city=by_city, supervisors=supervisors, weights=load_profile("cn").priority,
    )  # fmt: skip
    first_case = next_ids["collection_case"]
    main_plan, tail_plan = chunk_plan(cases, seed)
    if parallel is None:
        parallel = cases >= PARALLEL_MIN_CASES
    timing = dict.fromkeys(("generate", "wait", "insert"), 0.0)
    done = 0

    def write(rows: Rows, shift: dict[str, int] | None) -> None:
        nonlocal done
        mark = time.perf_counter()
        for table in DATA_TABLES:
            writer.write(table, rows[table], shift)
            counts[table] += len(rows[table])
        done += len(rows["collection_case"])
        timing["insert"] += time.perf_counter() - mark
        report("cases", done, cases)

    report("cases", 0, cases)
    # The tail numbered its rows from 0; they follow the main stream's once it is written.
    if parallel:
        helpers = [Helper(spec, main_plan, 0)]
        if tail_plan:
            helpers.append(Helper(spec, tail_plan, 1))
        try:
            for stream, helper in enumerate(helpers):
                shift = _tail_shift(next_ids, counts) if stream else None
                while True:
                    mark = time.perf_counter()
                    item = helper.next()
                    timing["wait"] += time.perf_counter() - mark
                    if item is None:
                        break
                    timing["generate"] += item[1]
                    write(item[0], shift)
        finally:
            for helper in helpers:
                helper.close()
    else:
        for rows, seconds in chunks_inline(spec, main_plan, 0):
            timing["generate"] += seconds
            write(rows, None)
        shift = _tail_shift(next_ids, counts)
        for rows, seconds in chunks_inline(spec, tail_plan, 1):
            timing["generate"] += seconds
            write(rows, shift)
    phases["generate"] = timing["generate"]
    if parallel:
        # Generation overlaps the inserts; this is only the time spent waiting for rows.
        phases["wait"] = timing["wait"]
    phases["insert"] = timing["insert"]

    mark = time.perf_counter()
    first_borrower = next_ids["borrower"]
    last_borrower = first_borrower + counts["borrower"] - 1
    if counts["borrower"]:
        cursor.execute(
            "SELECT max(length(name)) FROM borrower WHERE id BETWEEN "
            f"{first_borrower} AND {last_borrower}"
        )
        longest = int(cursor.fetchone()[0] or 1)
        cursor.execute(bulk_name_grams_sql(first_borrower, last_borrower, longest))
    phases["name index"] = time.perf_counter() - mark

    # The rows went in behind the board's day counts: it counts its days again.
    day_counts.forget_counts(conn)

    mark = time.perf_counter()
    for i, sql in enumerate(dropped):
        report("indexes", i, len(dropped))
        cursor.execute(sql)
    report("indexes", len(dropped), len(dropped))
    if db.is_postgresql:
        for table in TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute(f"ANALYZE {', '.join(TABLES)}")
    phases["indexes"] = time.perf_counter() - mark
    return first_case, first_case + cases - 1
