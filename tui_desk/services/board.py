"""The supervisor board: one snapshot the worker keeps fresh, read by every open board.

Every supervisor's desk is its own process, so the board must not be one heavy query per
viewer. The worker's leader computes the aggregates into ``board_snapshot`` (a few rows,
one per *section*) and every open board reads those rows, plus the agents' live presence.

Sections
    ``depth`` (heavy): open cases by DPD bucket and by stage (unowned, held, with a broken
    promise, overdue money) and the open cases each agent owns. It reads every open case,
    so it is refreshed by the ``board_snapshot`` job only: when the change feed moved and
    the section is ``DEPTH_EVERY`` old, sooner (``DEPTH_MIN_INTERVAL``) after a burst of
    ``DEPTH_EVENT_BURST`` events, and at least every ``DEPTH_MAX_AGE`` in any case. Without
    feed events the depth cannot change (every write that moves a case is audited).
    ``today`` (cheap): the office day's contacts, promises, visits booked and done,
    agreements signed and payments, per agent and per hour. Read from the running totals
    every write keeps (``services.day_counts``: a few hundred counter rows), so a refresh
    costs the same at 400,000 contacts a day as at 40; the day's rows are counted once,
    the first time a day is read (at start, after midnight, after a bulk load).
    The depth section also holds, per bucket, today's callbacks and how many are done
    (see *Callbacks* below): the set callbacks of the day come from the partial
    ``ix_contact_callback`` (one range) and each is checked by a probe of
    ``ix_contact_case_time``.
    ``states`` (cheap): each agent's state now (the open span of ``agent_state_span``,
    through its partial unique index: one row per agent at most) and the agents ready with
    nothing to take (take-next's own choice, read without locks, for the ready agents
    only, each asked again at most every ``IDLE_RECHECK``). Time in the state and wrap-ups running over are worked out when the board is
    read, from the span's start, so the timers move without a refresh.
    ``risks`` (cheap): deadlines at risk, one list per kind of ``RISK_KINDS`` (the oldest
    first, ``RISK_LINES_PER_KIND`` each) with uncapped counts, the orphan count and the
    leases each agent holds. Partial indexes hold only what is at risk.

Versions
    ``version`` is one counter for the whole board: a refresh that changes any section's
    content gives the changed sections ``max(version) + 1``; a refresh that finds the same
    content only moves ``computed_at`` and ``feed_token``. Boards poll ``board_version``
    (``max(version)``, one index probe) and re-read only when it moved, so an idle office
    costs the boards nothing. ``feed_token`` is the change-feed cursor taken before the
    section was computed: the section reflects at least every event up to it.

Cadences (see ``tui_desk.worker``)
    The leader's fast path watches the change feed (``ChangeWatcher``, polled every
    ``FAST_POLL_SECONDS``; on PostgreSQL woken by a notification) and refreshes the cheap sections after any committed business
    write, a burst being one refresh; the ``board_snapshot`` job (every
    ``BOARD_SNAPSHOT_EVERY``) refreshes them for changes that time alone makes (a lease
    expiring, a callback going stale, a visit coming near) and the depth when due.

Definitions
    *Today* is the office day (``profile.office_timezone``). Contacts: every attempt
    started today (all channels); right-party contacts: a conversation outcome with the
    borrower (as the ``rpc-rate`` report). Promises: taken today. Visits booked: new
    appointments booked today (reschedules left out); done: visit reports written today.
    Payments: recorded today (what reached the ledger today, whatever its value date),
    credited per agent to the case's current owner (as the ``collected-by-agent`` report).
    Trends: the same counts per office hour, up to the current hour.
    Risks: ``follow_up_due`` scheduled follow-ups dated today or earlier (not yet marked
    missed), ``follow_up_missed`` missed follow-ups still open, ``callback_stale`` callbacks
    more than ``callback_stale_minutes`` late, ``lease_overdue`` leases past their expiry
    and never released, ``visit_unconfirmed`` booked (unconfirmed) visits from now to the
    end of the next office day, ``complaint_open`` complaints open or investigated,
    ``override_request`` and ``adjustment_pending`` requests waiting for a decision.
    Follow-ups, callbacks and leases count on open cases only.
    Callbacks (per DPD bucket, the case's bucket now): due today are the callbacks set for
    a time today (by a contact, not voided, unless a later contact before that time set
    another one) and those still on an open case for today; done are the ones whose case
    was contacted at or after their time, today.
    Wrap-up over: a wrap-up past its own end (``wrap_up_until``) or, without one, past
    the profile's ``[states] wrap_up_seconds`` (60 when the profile has none).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    Table,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Adjustment,
    Agent,
    AgentState,
    Agreement,
    AgreementStatus,
    Appointment,
    AppointmentStatus,
    ApprovalStatus,
    AuditEvent,
    BoardSnapshot,
    CaseStatus,
    CollectionCase,
    Complaint,
    ComplaintStatus,
    ContactAttempt,
    FollowUp,
    FollowUpStatus,
    OutboxStatus,
    OverrideRequest,
    OverrideRequestStatus,
    Payment,
    PromiseToPay,
    Relation,
    SmsOutbox,
    Stage,
    VisitReport,
)
from tui_desk.formatting import label, labels
from tui_desk.i18n import _
from tui_desk.rules.agent_time import wrap_up_over
from tui_desk.rules.contact import CONVERSATION_OUTCOMES
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.rules.states import STATE_ACTION
from tui_desk.services import day_counts
from tui_desk.services.agent_time import open_spans, wrap_up_seconds
from tui_desk.services.changes import ChangeCursor, current_cursor, read_changes
from tui_desk.services.context import Actor
from tui_desk.services.jobs import JobFunction, job_write
from tui_desk.services.presence import DEFAULT_STALE_AFTER, who_is_online
from tui_desk.services.queue import callback_stale_minutes
from tui_desk.services.queue import case_indexed_by as _case_indexed_by
from tui_desk.services.queue.take import has_work
from tui_desk.views.board import (
    RISK_KINDS,
    AgentLine,
    Board,
    DepthLine,
    RiskLine,
    TodayCounts,
    Trend,
)

# --- sections and cadences ----------------------------------------------------------------

DEPTH = "depth"
TODAY = "today"
RISKS = "risks"
STATES = "states"
CHEAP_SECTIONS = (TODAY, RISKS, STATES)
SECTIONS = (DEPTH, TODAY, RISKS, STATES)

# The job: cheap sections for time-driven changes, the depth when due.
BOARD_SNAPSHOT_EVERY = dt.timedelta(seconds=5)
# The leader's fast path: how often the change marker is polled (<= 250 ms).
FAST_POLL_SECONDS = 0.2
DEPTH_EVERY = dt.timedelta(seconds=30)
DEPTH_MIN_INTERVAL = dt.timedelta(seconds=5)
DEPTH_EVENT_BURST = 200
DEPTH_MAX_AGE = dt.timedelta(minutes=10)
RISK_LINES_PER_KIND = 20

TREND_NAMES = (
    "contacts",
    "promises",
    "visits_booked",
    "visits_done",
    "agreements_signed",
    "payments",
)
_COUNT_KEYS = (
    "contacts",
    "right_party_contacts",
    "promises",
    "promised_minor",
    "visits_booked",
    "visits_done",
    "agreements_signed",
    "payments",
    "collected_minor",
    "sms_queued",
    "sms_sent",
    "sms_delivered",
    "sms_failed",
)
# Where today's SMS stand in the outbox: queued until the worker hands one to the gateway.
_SMS_KEYS = {
    OutboxStatus.PENDING: "sms_queued",
    OutboxStatus.SENDING: "sms_queued",
    OutboxStatus.SENT: "sms_sent",
    OutboxStatus.DELIVERED: "sms_delivered",
    OutboxStatus.FAILED: "sms_failed",
}
_AGENT_KEYS = ("contacts", "promises", "visits_booked", "collected_minor")

_SNAPSHOT = cast(Table, BoardSnapshot.__table__)
_OPEN = CaseStatus.OPEN
# One refresh at a time in this process (the job and the fast path are two threads), so
# a slower refresh holding older figures never lands after a newer one.
_REFRESH_LOCK = threading.Lock()
# PostgreSQL: serialises the version counter across processes (a stalled former leader's
# fenced write fails anyway; this only keeps two writers from taking one number).
_PG_LOCK_KEY = 7_424_212_007


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Day:
    today: dt.date
    start: dt.datetime  # office midnight, UTC
    end: dt.datetime  # next office midnight, UTC
    hours: int  # trend points: office hours begun so far today (1-24)
    offset_minutes: int  # the office's UTC offset today (SQLite hour arithmetic)

    @property
    def first_slot(self) -> int:
        return day_counts.slot_of(self.start)

    @property
    def end_slot(self) -> int:
        return day_counts.slot_of(self.end)


def _office_day(now: dt.datetime, profile: Profile) -> _Day:
    zone = ZoneInfo(profile.office_timezone)
    local = now.astimezone(zone)
    today = local.date()
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    offset = local.utcoffset() or dt.timedelta(0)
    return _Day(
        today=today,
        start=start.astimezone(dt.UTC),
        end=end.astimezone(dt.UTC),
        hours=local.hour + 1,
        offset_minutes=int(offset.total_seconds() // 60),
    )


def _hour(db: Database, column: Any, profile: Profile, day: _Day) -> ColumnElement[int]:
    """The office-local hour (0-23) of a UTC timestamp column, on either engine."""
    if db.is_sqlite:
        # SQLite has no zone database: the office's offset today (as services.reports).
        shifted = func.strftime("%H", column, f"{day.offset_minutes:+d} minutes")
        return sql_cast(shifted, Integer)
    local = func.timezone(profile.office_timezone, column)
    return sql_cast(func.date_part("hour", local), Integer)


def _i(value: Any) -> int:
    return int(value or 0)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _parse(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload exactly as it will read back from the JSON column."""
    return cast(dict[str, Any], json.loads(json.dumps(payload, sort_keys=True)))


def _open_unindexed(status: Any) -> ColumnElement[bool]:
    """``status = 'open'`` in a form no index serves: with the plain form SQLite walks
    the million-row ``ix_case_queue`` instead of the partial ``ix_case_lease`` (at most
    one row per agent)."""
    return func.coalesce(status, "") == _OPEN.value


def _true(column: Any) -> ColumnElement[int]:
    return case((column.is_(True), 1), else_=0)


# --- the heavy section: depth ---------------------------------------------------------------


def _callbacks(session: Session, day: _Day, labels: list[str]) -> dict[str, list[int]]:
    """Per bucket label: [callbacks due today, of which done] (see the module docstring)."""
    a = ContactAttempt
    later = aliased(ContactAttempt)
    after = aliased(ContactAttempt)
    superseded = (
        select(later.id)
        .where(
            later.case_id == a.case_id,
            later.started_at > a.started_at,
            later.started_at < a.callback_at,
            later.callback_at.is_not(None),
            later.voided_at.is_(None),
        )
        .exists()
    )
    done = (
        select(after.id)
        .where(
            after.case_id == a.case_id,
            after.started_at >= a.callback_at,
            after.started_at < day.end,
            after.voided_at.is_(None),
        )
        .exists()
    )
    c = CollectionCase
    found: dict[tuple[int, dt.datetime | None], tuple[int, bool]] = {}
    for case_id, due, bucket, is_done in session.execute(
        select(a.case_id, a.callback_at, c.dpd_bucket, case((done, 1), else_=0))
        .join(c, c.id == a.case_id)
        .where(
            a.callback_at >= day.start,
            a.callback_at < day.end,
            a.voided_at.is_(None),
            ~superseded,
        )
    ):
        key = (case_id, due)
        found[key] = (_i(bucket), bool(is_done) or found.get(key, (0, False))[1])
    for case_id, due, bucket in session.execute(
        select(c.id, c.callback_at, c.dpd_bucket).where(
            c.status == _OPEN, c.callback_at >= day.start, c.callback_at < day.end
        )
    ):
        found.setdefault((case_id, due), (_i(bucket), False))
    result = {label: [0, 0] for label in labels}
    for bucket, is_done in found.values():
        figures = result[labels[min(max(bucket, 0), len(labels) - 1)]]
        figures[0] += 1
        figures[1] += int(is_done)
    return result


def _depth(session: Session, profile: Profile, day: _Day | None = None) -> dict[str, Any]:
    """One pass over ``ix_case_board_depth`` (index only, in GROUP BY order).

    SQLite is told the index: its planner prefers the narrower ix_case_bucket_queue and a
    temporary b-tree, ten times slower at a million cases.
    """
    c = _case_indexed_by("ix_case_board_depth")
    stmt = (
        select(
            c.c.dpd_bucket,
            c.c.stage,
            c.c.owner_id,
            func.count(),
            func.sum(_true(c.c.on_hold)),
            func.sum(case((c.c.broken_promises > 0, 1), else_=0)),
            func.sum(c.c.overdue_minor),
        )
        .where(c.c.status == _OPEN)
        .group_by(c.c.dpd_bucket, c.c.stage, c.c.owner_id)
    )
    labels = ["0", *bucket_labels(profile.dpd_bounds)]
    buckets = {label: [0, 0, 0, 0, 0] for label in labels}
    stages = {stage.value: [0, 0, 0, 0, 0] for stage in Stage}
    owned: dict[str, int] = {}
    for bucket, stage, owner_id, n, held, broken, minor in session.execute(stmt):
        number = min(max(_i(bucket), 0), len(labels) - 1)
        figures = (_i(n), _i(n) if owner_id is None else 0, _i(held), _i(broken), _i(minor))
        for target in (buckets[labels[number]], stages[Stage(stage).value]):
            for index, figure in enumerate(figures):
                target[index] += figure
        if owner_id is not None:
            owned[str(owner_id)] = owned.get(str(owner_id), 0) + _i(n)
    return {
        "buckets": [[key, *figures] for key, figures in buckets.items()],
        "stages": [[key, *figures] for key, figures in stages.items()],
        "owned": dict(sorted(owned.items())),
        "callbacks": {} if day is None else _callbacks(session, day, labels),
        "callbacks_day": None if day is None else day.today.isoformat(),
    }


# --- cheap section: agent states ------------------------------------------------------------


# Whether a ready agent has something to take is asked again at most this often (the
# board_snapshot job's cadence): asking costs a few queries per ready agent, too much for
# the fast path after every write. Process-local; refreshes run one at a time.
IDLE_RECHECK = dt.timedelta(seconds=30)
_idle_checked: dict[tuple[str, int], tuple[dt.datetime, bool]] = {}


def _states(session: Session, now: dt.datetime, profile: Profile) -> dict[str, Any]:
    """Each agent's open span, and which ready agents would find nothing to take."""
    current = open_spans(session)
    ready = sorted(agent_id for agent_id, span in current.items() if span.state is AgentState.READY)
    where = str(session.connection().engine.url)  # one cache per database (tests open many)
    for key in [k for k in _idle_checked if k[0] == where and k[1] not in ready]:
        del _idle_checked[key]
    due = [
        agent_id
        for agent_id in ready
        if (where, agent_id) not in _idle_checked
        or not now - IDLE_RECHECK < _idle_checked[(where, agent_id)][0] <= now
    ]
    if due:
        for agent in session.scalars(select(Agent).where(Agent.id.in_(due))):
            idle_now = agent.active and not has_work(session, Actor.of(agent), now, profile)
            _idle_checked[(where, agent.id)] = (now, idle_now)
    idle = [a for a in ready if _idle_checked.get((where, a), (now, False))[1]]
    return {
        "agents": {
            str(agent_id): [
                span.state.value,
                span.reason,
                _iso(span.started_at),
                _iso(span.wrap_up_until),
                span.case_id,
            ]
            for agent_id, span in sorted(current.items())
        },
        "idle": sorted(idle),
    }


# --- cheap section: today -------------------------------------------------------------------


class _Tally:
    def __init__(self, hours: int) -> None:
        self.hours = hours
        self.counts = dict.fromkeys(_COUNT_KEYS, 0)
        self.trends = {name: [0] * hours for name in TREND_NAMES}
        self.agents: dict[int, dict[str, int]] = {}

    def add(
        self,
        hour: Any,
        *,
        trend: str,
        counts: Mapping[str, int],
        agent_id: int | None = None,
        agent_counts: Mapping[str, int] | None = None,
    ) -> None:
        # Rows stamped later than now (another host's clock) count in the current hour.
        point = min(max(_i(hour), 0), self.hours - 1)
        for key, value in counts.items():
            self.counts[key] += value
        self.trends[trend][point] += counts[trend]
        if agent_id is not None and agent_counts:
            mine = self.agents.setdefault(agent_id, dict.fromkeys(_AGENT_KEYS, 0))
            for key, value in agent_counts.items():
                mine[key] += value


# Counter figures that make an agent appear in the per-agent lines (as a row would).
_AGENT_FIGURES = frozenset(
    {"contacts", "right_party_contacts", "promises", "promised_minor", "visits_booked",
     "payments", "collected_minor"}
)  # fmt: skip


def _today(session: Session, profile: Profile, day: _Day) -> dict[str, Any]:
    """The day's figures from the running totals (``services.day_counts``): a read of the
    day's counter rows, whatever the number of contacts. ``count_slots`` must have made
    the day's slots exact first (``refresh_snapshot`` does)."""
    zone = ZoneInfo(profile.office_timezone)
    tally = _Tally(day.hours)
    by_slot, by_agent = day_counts.read_day(session, day.first_slot, day.end_slot)
    for (slot, metric), value in by_slot.items():
        local = dt.datetime.fromtimestamp(slot * day_counts.SLOT_SECONDS, dt.UTC).astimezone(zone)
        tally.counts[metric] += value
        if metric in tally.trends:
            tally.trends[metric][min(max(local.hour, 0), day.hours - 1)] += value
    for (agent_id, metric), value in by_agent.items():
        if agent_id != day_counts.NOBODY and metric in _AGENT_FIGURES:
            mine = tally.agents.setdefault(agent_id, dict.fromkeys(_AGENT_KEYS, 0))
            if metric in mine:
                mine[metric] += value
    return {
        "day": day.today.isoformat(),
        "counts": tally.counts,
        "trends": tally.trends,
        "agents": {str(agent_id): counts for agent_id, counts in sorted(tally.agents.items())},
        "last": _last_actions(session, day),
    }


def today_recount(session: Session, db: Database, profile: Profile, day: _Day) -> dict[str, Any]:
    """The "today" section counted from the day's rows (what the running totals must
    equal; the board used this on every refresh, at a cost that grows with the day)."""
    tally = _Tally(day.hours)

    def hour(column: Any) -> ColumnElement[int]:
        return _hour(db, column, profile, day)

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= day.start, column < day.end)

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
    h = hour(c.started_at)
    for agent_id, at, n, right in session.execute(
        select(c.agent_id, h, func.count(), func.sum(rpc))
        .where(within(c.started_at), c.voided_at.is_(None))
        .group_by(c.agent_id, h)
    ):
        tally.add(
            at,
            trend="contacts",
            counts={"contacts": _i(n), "right_party_contacts": _i(right)},
            agent_id=agent_id,
            agent_counts={"contacts": _i(n)},
        )

    p = PromiseToPay
    h = hour(p.created_at)
    for agent_id, at, n, amount in session.execute(
        select(p.created_by_id, h, func.count(), func.sum(p.amount_minor))
        .where(within(p.created_at))
        .group_by(p.created_by_id, h)
    ):
        tally.add(
            at,
            trend="promises",
            counts={"promises": _i(n), "promised_minor": _i(amount)},
            agent_id=agent_id,
            agent_counts={"promises": _i(n)},
        )

    a = Appointment
    h = hour(a.booked_at)
    for agent_id, at, n in session.execute(
        select(a.booked_by_id, h, func.count())
        .where(within(a.booked_at), a.rescheduled_from_id.is_(None))
        .group_by(a.booked_by_id, h)
    ):
        tally.add(
            at,
            trend="visits_booked",
            counts={"visits_booked": _i(n)},
            agent_id=agent_id,
            agent_counts={"visits_booked": _i(n)},
        )

    v = VisitReport
    h = hour(v.created_at)
    for at, n in session.execute(select(h, func.count()).where(within(v.created_at)).group_by(h)):
        tally.add(at, trend="visits_done", counts={"visits_done": _i(n)})

    g = Agreement
    h = hour(g.signed_at)
    for at, n in session.execute(
        select(h, func.count())
        .where(within(g.signed_at), g.status == AgreementStatus.SIGNED)
        .group_by(h)
    ):
        tally.add(at, trend="agreements_signed", counts={"agreements_signed": _i(n)})

    pay = Payment
    h = hour(pay.recorded_at)
    for owner_id, at, n, amount in session.execute(
        select(CollectionCase.owner_id, h, func.count(), func.sum(pay.amount_minor))
        .select_from(pay)
        .join(CollectionCase, CollectionCase.id == pay.case_id)
        .where(within(pay.recorded_at))
        .group_by(CollectionCase.owner_id, h)
    ):
        tally.add(
            at,
            trend="payments",
            counts={"payments": _i(n), "collected_minor": _i(amount)},
            agent_id=owner_id,
            agent_counts={"collected_minor": _i(amount)},
        )

    # Today's SMS by where they stand now (the sender's events refresh this section).
    for status, n in session.execute(
        select(SmsOutbox.status, func.count())
        .where(within(SmsOutbox.created_at))
        .group_by(SmsOutbox.status)
    ):
        tally.counts[_SMS_KEYS[OutboxStatus(status)]] += _i(n)

    return {
        "day": day.today.isoformat(),
        "counts": tally.counts,
        "trends": tally.trends,
        "agents": {str(agent_id): counts for agent_id, counts in sorted(tally.agents.items())},
        "last": _last_actions(session, day),
    }


def _last_actions(session: Session, day: _Day) -> dict[str, list[Any]]:
    """Each active agent's last action today: one statement, in which the database
    probes ix_audit_agent_time once per agent (a GROUP BY would walk every event ever
    written). The board shows it at once, not when the agent's desk next beats. Changes of
    state (``agent.state``) are not actions: the agent's state is shown on its own."""
    ev = AuditEvent
    latest = (
        select(ev.id)
        .where(ev.agent_id == Agent.id, ev.occurred_at >= day.start, ev.occurred_at < day.end)
        .where(ev.action != STATE_ACTION)  # a change of state is not what they last did
        .order_by(ev.occurred_at.desc())
        .limit(1)
        .correlate(Agent)
        .scalar_subquery()
    )
    return {
        str(agent_id): [action, _iso(at)]
        for agent_id, action, at in session.execute(
            select(Agent.id, ev.action, ev.occurred_at)
            .join(ev, ev.id == latest)
            .where(Agent.active.is_(True))
        )
    }


# --- cheap section: risks -------------------------------------------------------------------


@dataclass(frozen=True)
class _RiskQuery:
    kind: str
    count: Any  # a select of one count
    lines: Any  # a select of (case_id, ref_id, agent_id, due_at, *detail) oldest first
    detail: tuple[str, ...]  # names of the detail columns


def _risk_queries(now: dt.datetime, profile: Profile, day: _Day) -> list[_RiskQuery]:
    limit = RISK_LINES_PER_KIND
    c = CollectionCase
    f = FollowUp
    stale_cutoff = now - dt.timedelta(minutes=callback_stale_minutes(profile))
    visit_until = day.end + dt.timedelta(days=1)  # the end of the next office day

    def follow_ups(status: FollowUpStatus, *terms: ColumnElement[bool]) -> tuple[Any, Any]:
        where = (f.status == status, c.status == _OPEN, *terms)
        count = select(func.count()).select_from(f).join(c, c.id == f.case_id).where(*where)
        lines = (
            select(f.case_id, f.id, f.owner_id, f.due_on, f.channel)
            .join(c, c.id == f.case_id)
            .where(*where)
            .order_by(f.due_on, f.id)
            .limit(limit)
        )
        return count, lines

    due = follow_ups(FollowUpStatus.SCHEDULED, f.due_on <= day.today)
    missed = follow_ups(FollowUpStatus.MISSED)
    callback_where = (c.status == _OPEN, c.callback_at.is_not(None), c.callback_at < stale_cutoff)
    lease_where = (
        c.lease_holder_id.is_not(None),
        c.lease_expires_at <= now,
        _open_unindexed(c.status),
    )
    a = Appointment
    visit_where = (
        a.status == AppointmentStatus.BOOKED,
        a.starts_at >= now,
        a.starts_at < visit_until,
    )
    m = Complaint
    complaint_where = (
        or_(m.status == ComplaintStatus.OPEN, m.status == ComplaintStatus.INVESTIGATING),
    )
    o = OverrideRequest
    override_where = (o.status == OverrideRequestStatus.PENDING,)
    j = Adjustment
    adjustment_where = (j.status == ApprovalStatus.REQUESTED,)

    def counted(table: Any, *where: ColumnElement[bool]) -> Any:
        return select(func.count()).select_from(table).where(*where)

    return [
        _RiskQuery("follow_up_due", due[0], due[1], ("channel",)),
        _RiskQuery("follow_up_missed", missed[0], missed[1], ("channel",)),
        _RiskQuery(
            "callback_stale",
            counted(c, *callback_where),
            select(c.id, c.id, c.callback_agent_id, c.callback_at)
            .where(*callback_where)
            .order_by(c.callback_at, c.id)
            .limit(limit),
            (),
        ),
        _RiskQuery(
            "lease_overdue",
            counted(c, *lease_where),
            select(c.id, c.id, c.lease_holder_id, c.lease_expires_at)
            .where(*lease_where)
            .order_by(c.lease_expires_at, c.id)
            .limit(limit),
            (),
        ),
        _RiskQuery(
            "visit_unconfirmed",
            counted(a, *visit_where),
            select(a.case_id, a.id, a.collector_id, a.starts_at, a.district)
            .where(*visit_where)
            .order_by(a.starts_at, a.id)
            .limit(limit),
            ("district",),
        ),
        _RiskQuery(
            "complaint_open",
            counted(m, *complaint_where),
            select(m.case_id, m.id, m.against_agent_id, m.received_at, m.channel, m.status)
            .where(*complaint_where)
            .order_by(m.received_at, m.id)
            .limit(limit),
            ("channel", "status"),
        ),
        _RiskQuery(
            "override_request",
            counted(o, *override_where),
            select(o.case_id, o.id, o.requested_by_id, o.requested_at, o.rule)
            .where(*override_where)
            .order_by(o.requested_at, o.id)
            .limit(limit),
            ("rule",),
        ),
        _RiskQuery(
            "adjustment_pending",
            counted(j, *adjustment_where),
            select(j.case_id, j.id, j.requested_by_id, j.requested_at, j.kinds)
            .where(*adjustment_where)
            .order_by(j.requested_at, j.id)
            .limit(limit),
            ("kinds",),
        ),
    ]


def _due_moment(value: Any, profile: Profile) -> dt.datetime | None:
    """A due date is due from the office's midnight that starts it."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        zone = ZoneInfo(profile.office_timezone)
        return dt.datetime.combine(value, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return None


def _detail_value(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _risks(session: Session, now: dt.datetime, profile: Profile, day: _Day) -> dict[str, Any]:
    counts: dict[str, int] = {}
    found: list[tuple[str, Any]] = []
    queries = _risk_queries(now, profile, day)
    for query in queries:
        counts[query.kind] = _i(session.execute(query.count).scalar())
        if counts[query.kind]:
            found += [(query.kind, row) for row in session.execute(query.lines)]
    agent_ids = {row[2] for _kind, row in found if row[2] is not None}
    logins: dict[int, str] = {}
    if agent_ids:
        logins = {
            agent_id: login
            for agent_id, login in session.execute(
                select(Agent.id, Agent.login).where(Agent.id.in_(sorted(agent_ids)))
            )
        }
    details = {q.kind: q.detail for q in queries}
    lines = []
    for kind, row in found:
        case_id, ref_id, agent_id, due = row[0], row[1], row[2], row[3]
        lines.append(
            {
                "kind": kind,
                "case_id": case_id,
                "ref_id": ref_id,
                "who": logins.get(agent_id) if agent_id is not None else None,
                "due_at": _iso(_due_moment(due, profile)),
                "detail": {
                    name: _detail_value(value)
                    for name, value in zip(details[kind], row[4:], strict=True)
                },
            }
        )
    c = CollectionCase
    orphans = session.execute(
        select(func.count()).select_from(c).where(c.status == _OPEN, c.next_action_at.is_(None))
    ).scalar()
    held = session.execute(
        select(c.lease_holder_id, func.count())
        .where(c.lease_holder_id.is_not(None), c.lease_expires_at > now, _open_unindexed(c.status))
        .group_by(c.lease_holder_id)
    ).all()
    return {
        "counts": counts,
        "lines": lines,
        "orphans": _i(orphans),
        "held": {str(agent_id): _i(n) for agent_id, n in held},
    }


# --- refreshing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stored:
    version: int
    computed_at: dt.datetime
    feed_token: str | None
    payload: dict[str, Any]

    @property
    def cursor(self) -> ChangeCursor | None:
        if self.feed_token is None:
            return None
        try:
            return ChangeCursor.from_token(self.feed_token)
        except ValueError:
            return None


def _stored(session: Session) -> dict[str, _Stored]:
    return {
        row.section: _Stored(row.version, row.computed_at, row.feed_token, row.payload)
        for row in session.execute(
            select(
                BoardSnapshot.section,
                BoardSnapshot.version,
                BoardSnapshot.computed_at,
                BoardSnapshot.feed_token,
                BoardSnapshot.payload,
            )
        )
    }


def _depth_due(db: Database, depth: _Stored | None, now: dt.datetime) -> bool:
    if depth is None or depth.cursor is None:
        return True
    age = now - depth.computed_at
    if age >= DEPTH_MAX_AGE:
        return True
    if age < DEPTH_MIN_INTERVAL:
        return False
    events, _cursor = read_changes(db, depth.cursor, limit=DEPTH_EVENT_BURST)
    if not events:
        return False
    return age >= DEPTH_EVERY or len(events) >= DEPTH_EVENT_BURST


def _upsert(db: Database, session: Session, values: dict[str, Any]) -> None:
    insert = pg_insert if db.is_postgresql else sqlite_insert
    stmt = insert(_SNAPSHOT).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[_SNAPSHOT.c.section],
            set_={
                "version": stmt.excluded.version,
                "computed_at": stmt.excluded.computed_at,
                "feed_token": stmt.excluded.feed_token,
                "payload": stmt.excluded.payload,
            },
        )
    )


def _store(
    db: Database, computed: dict[str, dict[str, Any]], now: dt.datetime, cursor: ChangeCursor
) -> tuple[int, list[str]]:
    """Write the sections in one fenced transaction; returns the version and what changed."""
    token = cursor.token()
    with job_write(db) as session:
        if db.is_postgresql:
            session.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        stored = _stored(session)
        top = max((row.version for row in stored.values()), default=0)
        changed = [
            name
            for name, payload in computed.items()
            if name not in stored or stored[name].payload != payload
        ]
        version = top + 1 if changed else top
        for name, payload in computed.items():
            old = stored.get(name)
            if old is not None and old.cursor is not None and old.cursor > cursor:
                continue  # a refresh that saw more of the feed already wrote this section
            if name in changed:
                _upsert(
                    db,
                    session,
                    {
                        "section": name,
                        "version": version,
                        "computed_at": now,
                        "feed_token": token,
                        "payload": payload,
                    },
                )
            else:
                session.execute(
                    update(_SNAPSHOT)
                    .where(_SNAPSHOT.c.section == name)
                    .values(computed_at=now, feed_token=token)
                )
    return version, changed


def refresh_snapshot(
    db: Database,
    now: dt.datetime,
    profile: Profile,
    *,
    sections: Iterable[str] | None = None,
) -> str:
    """Recompute the board sections that need it; a one-line status (worker job body).

    ``sections`` None: the cheap sections, and the depth when it is due (see the module
    docstring); otherwise exactly those named in ``SECTIONS``. Writes through
    ``job_write`` (fenced by the leader lease inside the worker); no audit event, the
    snapshot being derived data.
    """
    wanted = list(SECTIONS if sections is None else dict.fromkeys(sections))
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown board sections: {unknown}")
    with _REFRESH_LOCK:
        # Before computing: the sections reflect at least every event up to this cursor.
        cursor = current_cursor(db)
        day = _office_day(now, profile)
        if TODAY in wanted:
            # Counted from the rows once per office day (at start, after midnight, after
            # a bulk load); kept up to date by every write since.
            day_counts.count_slots(db, day.first_slot, day.end_slot, now)
        computed: dict[str, dict[str, Any]] = {}
        with db.read() as session:
            if sections is None and not _depth_due(db, _stored(session).get(DEPTH), now):
                wanted.remove(DEPTH)
            builders: dict[str, Callable[[], dict[str, Any]]] = {
                DEPTH: lambda: _depth(session, profile, day),
                TODAY: lambda: _today(session, profile, day),
                RISKS: lambda: _risks(session, now, profile, day),
                STATES: lambda: _states(session, now, profile),
            }
            for name in wanted:
                computed[name] = _jsonable(builders[name]())
        version, changed = _store(db, computed, now, cursor)
    return (
        f"board v{version}: refreshed {', '.join(wanted)}; "
        f"changed {', '.join(changed) if changed else 'nothing'}"
    )


def board_snapshot_job(profile: str = "cn") -> JobFunction:
    """The worker's ``board_snapshot`` job: cheap sections, and the depth when due."""
    prof = load_profile(profile)

    def run(db: Database, now: dt.datetime) -> str:
        return refresh_snapshot(db, now, prof)

    return run


def board_fast_path(profile: str = "cn") -> JobFunction:
    """The leader's fast path after new feed events: the cheap sections only."""
    prof = load_profile(profile)

    def run(db: Database, now: dt.datetime) -> str:
        return refresh_snapshot(db, now, prof, sections=CHEAP_SECTIONS)

    return run


# --- reading --------------------------------------------------------------------------------


def board_version(db: Database) -> int:
    """The cheap change marker boards poll (max version of the snapshot rows)."""
    with db.read() as session:
        return _i(session.execute(select(func.max(BoardSnapshot.version))).scalar())


_EMPTY_TODAY = TodayCounts(**dict.fromkeys(_COUNT_KEYS, 0))


def _empty_board() -> Board:
    return Board(
        version=0,
        as_of=None,
        buckets=(),
        stages=(),
        agents=(),
        today=_EMPTY_TODAY,
        risks=(),
        risk_counts=dict.fromkeys(RISK_KINDS, 0),
        trends=(),
        orphans=0,
    )


def _depth_lines(raw: Any, callbacks: Mapping[str, Any] | None = None) -> tuple[DepthLine, ...]:
    shares = callbacks or {}
    return tuple(
        DepthLine(
            key=str(key),
            open_cases=_i(n),
            unowned=_i(unowned),
            on_hold=_i(held),
            broken_promise=_i(broken),
            overdue_minor=_i(minor),
            callbacks_due=_i((shares.get(str(key)) or (0, 0))[0]),
            callbacks_done=_i((shares.get(str(key)) or (0, 0))[1]),
        )
        for key, n, unowned, held, broken, minor in raw or ()
    )


def _local(value: dt.datetime | None, profile: Profile) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(profile.office_timezone)).strftime("%Y-%m-%d %H:%M")


def _risk_detail(
    kind: str, detail: Mapping[str, Any], due_at: dt.datetime | None, profile: Profile
) -> str:
    when = _local(due_at, profile)
    if kind == "follow_up_due":
        return _("follow-up by {channel}, due {day}").format(
            channel=label("channel", str(detail.get("channel", ""))), day=when[:10]
        )
    if kind == "follow_up_missed":
        return _("follow-up by {channel} missed, due {day}").format(
            channel=label("channel", str(detail.get("channel", ""))), day=when[:10]
        )
    if kind == "callback_stale":
        return _("callback promised for {time}").format(time=when)
    if kind == "lease_overdue":
        return _("lease expired at {time}").format(time=when)
    if kind == "visit_unconfirmed":
        return _("visit at {time} in {district} not confirmed").format(
            time=when, district=detail.get("district", "")
        )
    if kind == "complaint_open":
        return _("complaint by {channel} ({status})").format(
            channel=label("channel", str(detail.get("channel", ""))),
            status=label("complaint_status", str(detail.get("status", ""))),
        )
    if kind == "override_request":
        return _("override of {rule} requested").format(
            rule=label("rule", str(detail.get("rule", "")))
        )
    if kind == "adjustment_pending":
        return _("adjustment requested: {kinds}").format(
            kinds=labels("adjustment_kind", str(detail.get("kinds", "")))
        )
    return ""


def _risk_lines(raw: Any, profile: Profile) -> tuple[RiskLine, ...]:
    lines = []
    for item in raw or ():
        due_at = _parse(item.get("due_at"))
        kind = str(item.get("kind", ""))
        lines.append(
            RiskLine(
                kind=kind,
                case_id=item.get("case_id"),
                ref_id=_i(item.get("ref_id")),
                who=item.get("who"),
                due_at=due_at,
                detail=_risk_detail(kind, item.get("detail") or {}, due_at, profile),
            )
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    order = {kind: n for n, kind in enumerate(RISK_KINDS)}
    lines.sort(key=lambda r: (r.due_at or far, order.get(r.kind, len(order)), r.ref_id))
    return tuple(lines)


def read_board(
    db: Database, now: dt.datetime, profile: Profile, *, stale_after: dt.timedelta | None = None
) -> Board:
    """The snapshot plus live presence (a handful of small reads).

    One read of the snapshot rows and one of presence (agents joined with their
    heartbeats; online = a heartbeat within ``stale_after``, default
    ``presence.DEFAULT_STALE_AFTER``). A ``today`` section of another office day (the
    worker has not refreshed since midnight) reads as zeros.
    """
    with db.read() as session:
        stored = _stored(session)
    if not stored:
        return _empty_board()
    depth = stored[DEPTH].payload if DEPTH in stored else {}
    risks = stored[RISKS].payload if RISKS in stored else {}
    today = stored[TODAY].payload if TODAY in stored else {}
    states = stored[STATES].payload if STATES in stored else {}
    this_day = _office_day(now, profile).today.isoformat()
    if today.get("day") != this_day:
        today = {}
    # Yesterday's callbacks are not today's: zeros until the depth is next refreshed.
    callbacks = depth.get("callbacks") if depth.get("callbacks_day") == this_day else None
    spans: Mapping[str, list[Any]] = states.get("agents") or {}
    idle = {str(agent_id) for agent_id in states.get("idle") or ()}
    wrap_up = wrap_up_seconds(profile.section("states"))
    counts = today.get("counts") or {}
    per_agent: Mapping[str, Mapping[str, int]] = today.get("agents") or {}
    last_actions: Mapping[str, list[Any]] = today.get("last") or {}
    owned: Mapping[str, int] = depth.get("owned") or {}
    held: Mapping[str, int] = risks.get("held") or {}

    agents = []
    for line in who_is_online(
        db, now=now, stale_after=DEFAULT_STALE_AFTER if stale_after is None else stale_after
    ):
        key = str(line.agent_id)
        mine = per_agent.get(key) or {}
        last_action, last_action_at = line.last_action, line.last_action_at
        span = spans.get(key)
        state = reason = None
        since = None
        over = False
        if span and line.online:
            state, reason, since = str(span[0]), span[1], _parse(span[2])
            if since is not None:
                over = wrap_up_over(AgentState(state), since, _parse(span[3]), wrap_up, now)
        recorded = last_actions.get(key)
        if recorded:
            at = _parse(recorded[1])
            if at is not None and (last_action_at is None or at > last_action_at):
                last_action, last_action_at = str(recorded[0]), at
        agents.append(
            AgentLine(
                agent_id=line.agent_id,
                login=line.login,
                name=line.name,
                role=line.role,
                online=line.online,
                last_seen=line.last_seen,
                case_id=line.case_id,
                on_case_for=line.on_case_for,
                last_action=last_action,
                last_action_at=last_action_at,
                cases_held=_i(held.get(key)),
                cases_owned=_i(owned.get(key)),
                contacts_today=_i(mine.get("contacts")),
                promises_today=_i(mine.get("promises")),
                visits_booked_today=_i(mine.get("visits_booked")),
                collected_today_minor=_i(mine.get("collected_minor")),
                state=state,
                state_since=since,
                pause_reason=reason,
                wrap_up_over=over,
                nothing_to_take=state == AgentState.READY.value and key in idle,
            )
        )
    risk_counts = {kind: _i((risks.get("counts") or {}).get(kind)) for kind in RISK_KINDS}
    trends = today.get("trends") or {}
    return Board(
        version=max(row.version for row in stored.values()),
        as_of=min(row.computed_at for row in stored.values()),
        buckets=_depth_lines(depth.get("buckets"), callbacks),
        stages=_depth_lines(depth.get("stages")),
        agents=tuple(agents),
        today=TodayCounts(**{key: _i(counts.get(key)) for key in _COUNT_KEYS}),
        risks=_risk_lines(risks.get("lines"), profile),
        risk_counts=risk_counts,
        trends=tuple(
            Trend(name=name, points=tuple(_i(p) for p in trends[name]))
            for name in TREND_NAMES
            if name in trends
        ),
        orphans=_i(risks.get("orphans")),
    )
