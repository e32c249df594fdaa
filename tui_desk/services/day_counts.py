"""Running totals behind the board's "today" figures, kept in the transaction of each write.

The board's "today" section used to count the office day's rows on every refresh, a cost
that grew with the day (705 ms at 430,000 contacts). Instead every write of a counted row
adjusts ``board_count`` in its own transaction: a flush hook on every ORM session computes
what the flushed rows counted before and what they count now, and adds the difference
(upserts of a few rows, whatever the day's volume). The board sums a day's counter rows.

Counters are kept per 15-minute UTC slot (every office time zone's midnight falls on
one), per agent (``NOBODY`` for figures credited to no agent) and per figure:

    contacts, right_party_contacts   contact attempts by started_at, not voided (agent)
    promises, promised_minor         promises by created_at (the agent who took it)
    visits_booked                    first bookings (not reschedules) by booked_at (booker)
    visits_done                      visit reports by created_at
    agreements_signed                signed agreements by signed_at
    payments, collected_minor        payments by recorded_at, credited to the case's
                                     current owner (an owner change moves the credit)
    sms_queued, sms_sent, ...        SMS by created_at, under their status now

Exactness: a range of slots is exact once ``count_slots`` rebuilt it from the rows
(``board_count_day`` says which); from then on every ORM write keeps it so. A writer that
bypasses the ORM (the seeder's bulk load, a Core UPDATE of a counted column) must
``forget_counts``; so does the hook itself when it cannot tell a row's former values.
The board rebuilds a day the first time it reads it (at start and at each rollover).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    and_,
    case,
    cast,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.sql.elements import ColumnElement

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    Appointment,
    BoardCount,
    BoardCountDay,
    CollectionCase,
    ContactAttempt,
    OutboxStatus,
    Payment,
    PromiseToPay,
    Relation,
    SmsOutbox,
    VisitReport,
)
from tui_desk.rules.contact import CONVERSATION_OUTCOMES

SLOT_SECONDS = 900
NOBODY = 0
# Counter rows older than this before the day being rebuilt are dropped then.
KEEP_DAYS = 7

SMS_METRICS = {
    OutboxStatus.PENDING: "sms_queued",
    OutboxStatus.SENDING: "sms_queued",
    OutboxStatus.SENT: "sms_sent",
    OutboxStatus.DELIVERED: "sms_delivered",
    OutboxStatus.FAILED: "sms_failed",
}

Key = tuple[int, int, str]  # slot, agent, metric
Getter = Callable[[str], Any]
Figures = list[tuple[Key, int]]


class _Unknown(Exception):
    """A former value the session does not hold (an expired or unloaded attribute)."""


def slot_of(moment: dt.datetime) -> int:
    """The 15-minute UTC slot of an aware moment."""
    return int(moment.timestamp()) // SLOT_SECONDS


def _value(member: Any) -> Any:
    return getattr(member, "value", member)


def is_right_party(outcome: Any, party: Any) -> bool:
    return _value(outcome) in CONVERSATION_OUTCOMES and (
        party is None or _value(party) == Relation.BORROWER.value
    )


# --- what one row counts --------------------------------------------------------------------


def _contact(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("started_at")
    if at is None or get("voided_at") is not None:
        return []
    key = (slot_of(at), get("agent_id") or NOBODY)
    figures: Figures = [((*key, "contacts"), 1)]
    if is_right_party(get("outcome"), get("party")):
        figures.append(((*key, "right_party_contacts"), 1))
    return figures


def _promise(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("created_at")
    if at is None:
        return []
    key = (slot_of(at), get("created_by_id") or NOBODY)
    return [((*key, "promises"), 1), ((*key, "promised_minor"), int(get("amount_minor") or 0))]


def _appointment(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("booked_at")
    if at is None or get("rescheduled_from_id") is not None:
        return []
    return [((slot_of(at), get("booked_by_id") or NOBODY, "visits_booked"), 1)]


def _visit_report(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("created_at")
    return [] if at is None else [((slot_of(at), NOBODY, "visits_done"), 1)]


def _agreement(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("signed_at")
    if at is None or _value(get("status")) != AgreementStatus.SIGNED.value:
        return []
    return [((slot_of(at), NOBODY, "agreements_signed"), 1)]


def _payment(get: Getter, owner: Callable[[int], int]) -> Figures:
    at = get("recorded_at")
    if at is None:
        return []
    key = (slot_of(at), owner(get("case_id")))
    return [((*key, "payments"), 1), ((*key, "collected_minor"), int(get("amount_minor") or 0))]


def _sms(get: Getter, _owner: Callable[[int], int]) -> Figures:
    at = get("created_at")
    if at is None:
        return []
    return [((slot_of(at), NOBODY, SMS_METRICS[OutboxStatus(get("status"))]), 1)]


_Counter = Callable[[Getter, Callable[[int], int]], Figures]
TRACKED: dict[type, tuple[tuple[str, ...], _Counter]] = {
    ContactAttempt: (("started_at", "voided_at", "agent_id", "outcome", "party"), _contact),
    PromiseToPay: (("created_at", "created_by_id", "amount_minor"), _promise),
    Appointment: (("booked_at", "booked_by_id", "rescheduled_from_id"), _appointment),
    VisitReport: (("created_at",), _visit_report),
    Agreement: (("signed_at", "status"), _agreement),
    Payment: (("recorded_at", "case_id", "amount_minor"), _payment),
    SmsOutbox: (("created_at", "status"), _sms),
}


# --- the flush hook -------------------------------------------------------------------------


def _now_getter(obj: Any, *, inserted: bool = False) -> Getter:
    values = inspect(obj).dict

    def get(name: str) -> Any:
        if name in values:
            return values[name]
        if inserted:
            return None  # never set: inserted as NULL (no counted column has a default)
        raise _Unknown(name)

    return get


def _before_getter(obj: Any) -> Getter:
    state = inspect(obj)
    committed, values = state.committed_state, state.dict

    def get(name: str) -> Any:
        if name in committed:
            old = committed[name]
            if old is NO_VALUE:
                raise _Unknown(name)
            return old
        if name not in values:
            raise _Unknown(name)
        return values[name]

    return get


def _changed(obj: Any, names: Iterable[str]) -> bool:
    committed = inspect(obj).committed_state
    return any(name in committed for name in names)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    new = [o for o in session.new if type(o) in TRACKED]
    dirty = [o for o in session.dirty if type(o) in TRACKED or type(o) is CollectionCase]
    deleted = [o for o in session.deleted if type(o) in TRACKED]
    if not (new or dirty or deleted):
        return
    conn = session.connection()
    moved: dict[int, tuple[int, int]] = {}  # case id -> (owner before, owner now)
    for obj in dirty:
        if type(obj) is CollectionCase and _changed(obj, ("owner_id",)):
            try:
                before = _before_getter(obj)("owner_id") or NOBODY
            except _Unknown:
                forget_counts(conn)
                return
            now = obj.owner_id or NOBODY
            if before != now:
                moved[obj.id] = (before, now)
    owners: dict[int, int] = {}

    def owner_now(case_id: int) -> int:
        if case_id not in owners:
            found = conn.execute(
                select(CollectionCase.owner_id).where(CollectionCase.id == case_id)
            ).scalar()
            owners[case_id] = found or NOBODY
        return owners[case_id]

    def owner_before(case_id: int) -> int:
        return moved[case_id][0] if case_id in moved else owner_now(case_id)

    deltas: dict[Key, int] = {}

    def add(figures: Figures, sign: int) -> None:
        for key, value in figures:
            deltas[key] = deltas.get(key, 0) + sign * value

    handled_payments: set[int] = set()
    try:
        for obj in new:
            add(TRACKED[type(obj)][1](_now_getter(obj, inserted=True), owner_now), 1)
        for obj in dirty:
            if type(obj) is CollectionCase:
                continue
            names, counter = TRACKED[type(obj)]
            if type(obj) is Payment:
                handled_payments.add(obj.id)
                if not _changed(obj, names) and obj.case_id not in moved:
                    continue
            elif not _changed(obj, names):
                continue
            add(counter(_before_getter(obj), owner_before), -1)
            add(counter(_now_getter(obj), owner_now), 1)
        for obj in deleted:
            if type(obj) is Payment:
                handled_payments.add(obj.id)
            add(TRACKED[type(obj)][1](_before_getter(obj), owner_before), -1)
    except (_Unknown, KeyError, ValueError, TypeError):
        # A former value the session does not hold, or a row the counts cannot read: the
        # write goes on, and the board counts its days again.
        forget_counts(conn)
        return
    handled_payments.update(o.id for o in new if type(o) is Payment)
    for case_id, (before, now) in sorted(moved.items()):
        # The case's payments are credited to its new owner from now on.
        for payment_id, at, amount in conn.execute(
            select(Payment.id, Payment.recorded_at, Payment.amount_minor).where(
                Payment.case_id == case_id
            )
        ):
            if payment_id in handled_payments:
                continue
            slot = slot_of(at)
            for owner, sign in ((before, -1), (now, 1)):
                add(
                    [((slot, owner, "payments"), 1), ((slot, owner, "collected_minor"), amount)],
                    sign,
                )
    apply_deltas(conn, deltas)


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """The counter upsert, built once per dialect (building it costs more than running it)."""
    if dialect not in _UPSERTS:
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(BoardCount)
        _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[BoardCount.slot, BoardCount.agent_id, BoardCount.metric],
            set_={"value": BoardCount.value + stmt.excluded.value},
        )
    return _UPSERTS[dialect]


def apply_deltas(conn: Any, deltas: dict[Key, int]) -> None:
    """Add the deltas to the counter rows (in key order, so writers lock rows alike)."""
    rows = [
        {"slot": slot, "agent_id": agent, "metric": metric, "value": value}
        for (slot, agent, metric), value in sorted(deltas.items())
        if value
    ]
    if not rows:
        return
    conn.execute(_upsert(conn.dialect.name), rows)


# A board_count_day row that is no range: its end_slot counts the forgets, so a count
# made outside the write lock can tell whether one happened meanwhile.
GENERATION_SLOT = -1


def forget_counts(conn: Any) -> None:
    """No slot is exact any more: the board counts each day again when it next reads it.
    For writers that change counted rows behind the flush hook's back."""
    conn.execute(delete(BoardCountDay).where(BoardCountDay.first_slot != GENERATION_SLOT))
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(BoardCountDay).values(
        first_slot=GENERATION_SLOT, end_slot=1, built_at=dt.datetime.now(dt.UTC)
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[BoardCountDay.first_slot],
            set_={"end_slot": BoardCountDay.end_slot + 1, "built_at": stmt.excluded.built_at},
        )
    )


def _generation(session: Session) -> int:
    marker = session.get(BoardCountDay, GENERATION_SLOT)
    return 0 if marker is None else marker.end_slot


event.listen(Session, "after_flush", _after_flush)


# --- counting from the rows -----------------------------------------------------------------


def _slot_expr(db: Database, column: Any) -> ColumnElement[int]:
    if db.is_sqlite:
        return cast(cast(func.strftime("%s", column), Integer) // SLOT_SECONDS, BigInteger)
    return cast(func.floor(func.extract("epoch", column) / SLOT_SECONDS), BigInteger)


def _moment(slot: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(slot * SLOT_SECONDS, dt.UTC)


def recount(session: Session, db: Database, first_slot: int, end_slot: int) -> dict[Key, int]:
    """Every figure of the slots ``[first_slot, end_slot)`` counted from the rows."""
    start, end = _moment(first_slot), _moment(end_slot)
    counts: dict[Key, int] = {}

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    def put(slot: Any, agent: Any, metric: str, value: Any) -> None:
        if value:
            key = (int(slot), int(agent or NOBODY), metric)
            counts[key] = counts.get(key, 0) + int(value)

    c = ContactAttempt
    rpc = case(
        (
            and_(
                c.outcome.in_(sorted(CONVERSATION_OUTCOMES)),
                or_(c.party.is_(None), c.party == Relation.BORROWER),
            ),
            1,
        ),
        else_=0,
    )
    slot = _slot_expr(db, c.started_at)
    for at, agent, n, right in session.execute(
        select(slot, c.agent_id, func.count(), func.sum(rpc))
        .where(within(c.started_at), c.voided_at.is_(None))
        .group_by(slot, c.agent_id)
    ):
        put(at, agent, "contacts", n)
        put(at, agent, "right_party_contacts", right)
    p = PromiseToPay
    slot = _slot_expr(db, p.created_at)
    for at, agent, n, amount in session.execute(
        select(slot, p.created_by_id, func.count(), func.sum(p.amount_minor))
        .where(within(p.created_at))
        .group_by(slot, p.created_by_id)
    ):
        put(at, agent, "promises", n)
        put(at, agent, "promised_minor", amount)
    a = Appointment
    slot = _slot_expr(db, a.booked_at)
    for at, agent, n in session.execute(
        select(slot, a.booked_by_id, func.count())
        .where(within(a.booked_at), a.rescheduled_from_id.is_(None))
        .group_by(slot, a.booked_by_id)
    ):
        put(at, agent, "visits_booked", n)
    v = VisitReport
    slot = _slot_expr(db, v.created_at)
    for at, n in session.execute(
        select(slot, func.count()).where(within(v.created_at)).group_by(slot)
    ):
        put(at, NOBODY, "visits_done", n)
    g = Agreement
    slot = _slot_expr(db, g.signed_at)
    for at, n in session.execute(
        select(slot, func.count())
        .where(within(g.signed_at), g.status == AgreementStatus.SIGNED)
        .group_by(slot)
    ):
        put(at, NOBODY, "agreements_signed", n)
    pay = Payment
    slot = _slot_expr(db, pay.recorded_at)
    for at, owner, n, amount in session.execute(
        select(slot, CollectionCase.owner_id, func.count(), func.sum(pay.amount_minor))
        .select_from(pay)
        .join(CollectionCase, CollectionCase.id == pay.case_id)
        .where(within(pay.recorded_at))
        .group_by(slot, CollectionCase.owner_id)
    ):
        put(at, owner, "payments", n)
        put(at, owner, "collected_minor", amount)
    s = SmsOutbox
    slot = _slot_expr(db, s.created_at)
    for at, status, n in session.execute(
        select(slot, s.status, func.count()).where(within(s.created_at)).group_by(slot, s.status)
    ):
        put(at, NOBODY, SMS_METRICS[OutboxStatus(status)], n)
    return counts


def read_counts(session: Session, first_slot: int, end_slot: int) -> dict[Key, int]:
    """The stored figures of the slots ``[first_slot, end_slot)`` (zeros left out)."""
    return {
        (slot, agent, metric): value
        for slot, agent, metric, value in session.execute(
            select(BoardCount.slot, BoardCount.agent_id, BoardCount.metric, BoardCount.value)
            .where(BoardCount.slot >= first_slot, BoardCount.slot < end_slot)
            .order_by(BoardCount.slot, BoardCount.agent_id, BoardCount.metric)
        )
        if value
    }


def read_day(
    session: Session, first_slot: int, end_slot: int
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """The slots' figures summed two ways, by the database: per (slot, figure) over the
    agents, and per (agent, figure) over the slots (zeros left out)."""
    where = (BoardCount.slot >= first_slot, BoardCount.slot < end_slot)
    total = func.sum(BoardCount.value)
    by_slot = {
        (int(slot), metric): int(value)
        for slot, metric, value in session.execute(
            select(BoardCount.slot, BoardCount.metric, total)
            .where(*where)
            .group_by(BoardCount.slot, BoardCount.metric)
        )
        if value
    }
    by_agent = {
        (int(agent), metric): int(value)
        for agent, metric, value in session.execute(
            select(BoardCount.agent_id, BoardCount.metric, total)
            .where(*where)
            .group_by(BoardCount.agent_id, BoardCount.metric)
        )
        if value
    }
    return by_slot, by_agent


def agent_day(
    session: Session, agent_id: int, first_slot: int, end_slot: int
) -> dict[str, int] | None:
    """One agent's figures over the slots, or None when the slots are not exact (not
    counted since the day began: the caller counts the rows itself)."""
    if not _exact(session, first_slot, end_slot):
        return None
    return {
        metric: int(value)
        for metric, value in session.execute(
            select(BoardCount.metric, func.sum(BoardCount.value))
            .where(
                BoardCount.slot >= first_slot,
                BoardCount.slot < end_slot,
                BoardCount.agent_id == agent_id,
            )
            .group_by(BoardCount.metric)
        )
        if value
    }


def _exact(session: Session, first_slot: int, end_slot: int) -> bool:
    marker = session.get(BoardCountDay, first_slot)
    return marker is not None and marker.end_slot == end_slot


def count_slots(db: Database, first_slot: int, end_slot: int, now: dt.datetime) -> bool:
    """Make the slots ``[first_slot, end_slot)`` exact: count them from the rows unless
    that was done (and kept up) already. Returns whether a count was needed.

    The rows are counted in a read snapshot, with the counters as they stood in it, so
    writers are not held up meanwhile (2.9 s at 430,000 contacts); then, in a short write
    transaction (on PostgreSQL with the counter table locked against writers), each
    figure becomes the count plus what the writes since the snapshot added to it. Should
    a bulk writer have forgotten the counts meanwhile, the count is made again under the
    lock.
    """
    with db.snapshot() as session:
        if _exact(session, first_slot, end_slot):
            return False
        generation = _generation(session)
        counted = recount(session, db, first_slot, end_slot)
        then = read_counts(session, first_slot, end_slot)
    with db.write() as session:
        if db.is_postgresql:
            session.execute(text("LOCK TABLE board_count IN EXCLUSIVE MODE"))
        if _exact(session, first_slot, end_slot):
            return False
        if _generation(session) == generation:
            figures = dict(counted)
            for key, value in read_counts(session, first_slot, end_slot).items():
                figures[key] = figures.get(key, 0) + value
            for key, value in then.items():
                figures[key] = figures.get(key, 0) - value
        else:
            figures = recount(session, db, first_slot, end_slot)
        oldest = first_slot - KEEP_DAYS * 24 * 3600 // SLOT_SECONDS
        session.execute(
            delete(BoardCount).where(
                or_(
                    BoardCount.slot < oldest,
                    and_(BoardCount.slot >= first_slot, BoardCount.slot < end_slot),
                )
            )
        )
        session.execute(
            delete(BoardCountDay).where(
                BoardCountDay.first_slot != GENERATION_SLOT,
                or_(
                    BoardCountDay.first_slot < oldest,
                    and_(BoardCountDay.first_slot < end_slot, BoardCountDay.end_slot > first_slot),
                ),
            )
        )
        apply_deltas(session.connection(), figures)
        session.add(BoardCountDay(first_slot=first_slot, end_slot=end_slot, built_at=now))
    return True
