"""Fuzz every service entry point of the desk and count what happens.

    python -m bench.service_fuzz --db sqlite:////tmp/fuzz.db --examples 2000
    python -m bench.service_fuzz --db postgresql://postgres@127.0.0.1:5432/fuzz --examples 2000

The database is migrated and, when it holds no case, seeded with a small demo book. Each
input is one call of a ``DeskService`` use case (as a supervisor, so permissions refuse
nothing) with arguments drawn by hypothesis: mostly plausible values (ids of existing
records, sensible dates, ordinary text) and, now and then, values outside the rules
(a wrong type, a huge or unknown id, a date in year 1 or too far ahead, an amount of
zero or with three decimals, text with NUL or an escape sequence, text too long). Every
drawn value knows whether it breaks a rule, so each outcome is judged:

- **refused**: a ``ServiceError`` (an input outside the rules must be refused with
  ``InvalidInput`` naming one of the offending fields, or ``NotFound`` for an unknown id);
- **crashed**: any other exception;
- **wrongly accepted**: the call returned although an argument broke a rule;
- **unnamed**: refused, but not naming the offending field.

Figures are printed per engine; ``tests/test_service_fuzz.py`` runs the same harness
with a bounded number of examples per entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import (
    Adjustment,
    Agent,
    Agreement,
    Appointment,
    Borrower,
    CollectionCase,
    Complaint,
    ContactAttempt,
    Document,
    FollowUp,
    LoanAccount,
    OverrideRequest,
    Phone,
    RepaymentPlan,
    Role,
)
from tui_desk.domain import DOOR_METHODS
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.plans import PlanRequest
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services.agents import resolve_actor
from tui_desk.services.contact_checks import OVERRIDABLE_RULES
from tui_desk.services.contacts import MAX_REASON as OVERRIDE_REASON
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.reports import REPORTS
from tui_desk.services.supervision import AuditFilter
from tui_desk.services.validation import InvalidInput, max_amount_minor, visit_max_days_ahead
from tui_desk.services.visits.reports import VisitReportInput

Value = tuple[object, str | None]
"""A drawn argument and, when it breaks a rule, how: "invalid" (must be refused naming
the field) or "missing" (an unknown record: a not-found refusal will do)."""

INVALID = "invalid"
MISSING = "missing"

CONTROL = ("\x00", "\x1b]0;pwned\x07", "\x07", "\x08", "\x7f", "\x9b", "\r", "\x1b[2J", "\ud800")
WRONG_TYPES: tuple[object, ...] = (b"bytes", 3.5, ["list"], {"a": 1}, object())
HUGE = (2**63, 2**70, -(2**70), 10**30)


# --- what the world holds ----------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """Ids of records in the fuzzed database, and its day."""

    now: dt.datetime
    today: dt.date
    profile: Profile
    cases: tuple[int, ...]
    borrowers: tuple[int, ...]
    phones: tuple[int, ...]
    appointments: tuple[int, ...]
    documents: tuple[int, ...]
    agreements: tuple[int, ...]
    plans: tuple[int, ...]
    follow_ups: tuple[int, ...]
    adjustments: tuple[int, ...]
    complaints: tuple[int, ...]
    requests: tuple[int, ...]
    contacts: tuple[int, ...]
    collectors: tuple[int, ...]
    logins: tuple[str, ...]
    collector_logins: tuple[str, ...]
    supervisor: str
    first_loan: dt.date
    missing_id: int


def _ids(db: Database, column: Any, limit: int = 200) -> tuple[int, ...]:
    with db.read() as s:
        return tuple(s.scalars(select(column).order_by(column).limit(limit)))


def survey(db: Database, now: dt.datetime, profile: Profile) -> World:
    with db.read() as s:
        logins = tuple(s.scalars(select(Agent.login).where(Agent.active.is_(True))))
        collector_logins = tuple(
            s.scalars(select(Agent.login).where(Agent.role == Role.COLLECTOR).limit(20))
        )
        collectors = tuple(s.scalars(select(Agent.id).where(Agent.role == Role.COLLECTOR)))
        supervisor = s.scalar(
            select(Agent.login).where(Agent.role == Role.SUPERVISOR).order_by(Agent.id).limit(1)
        )
        first_loan = s.scalar(select(func.min(LoanAccount.opened_on))) or dt.date(2000, 1, 1)
    assert supervisor is not None, "the seeded team has a supervisor"
    from tui_desk.services.case_facts import office_today

    return World(
        now=now,
        today=office_today(now, profile.office_timezone),
        profile=profile,
        cases=_ids(db, CollectionCase.id),
        borrowers=_ids(db, Borrower.id),
        phones=_ids(db, Phone.id),
        appointments=_ids(db, Appointment.id),
        documents=_ids(db, Document.id),
        agreements=_ids(db, Agreement.id),
        plans=_ids(db, RepaymentPlan.id),
        follow_ups=_ids(db, FollowUp.id),
        adjustments=_ids(db, Adjustment.id) or (1,),
        complaints=_ids(db, Complaint.id) or (1,),
        requests=_ids(db, OverrideRequest.id) or (1,),
        contacts=_ids(db, ContactAttempt.id),
        collectors=collectors,
        logins=logins,
        collector_logins=collector_logins or logins,
        supervisor=supervisor,
        first_loan=first_loan,
        missing_id=10**9 + 7,
    )


# --- drawing values ----------------------------------------------------------------------


def good(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Value]:
    return strategy.map(lambda v: (v, None))


def bad(*values: object) -> st.SearchStrategy[Value]:
    return st.sampled_from(values).map(lambda v: (v, INVALID))


def mixed(
    fine: st.SearchStrategy[Value], *wrong: st.SearchStrategy[Value]
) -> st.SearchStrategy[Value]:
    """Mostly plausible values, now and then one that breaks a rule."""
    if not wrong:
        return fine
    return st.one_of(fine, fine, fine, *wrong)


def record(w: World, pool: Sequence[int], *, optional: bool = False) -> st.SearchStrategy[Value]:
    fine = good(st.sampled_from(pool) if pool else st.just(w.missing_id))
    if optional:
        fine = st.one_of(fine, good(st.none()))
    wrong = [
        bad(0, -1, *HUGE, "1", True, *WRONG_TYPES),
        st.just((w.missing_id, MISSING)),
    ]
    if not optional:
        wrong.append(bad(None))
    return mixed(fine, *wrong)


def filter_id(pool: Sequence[int], *, optional: bool = True) -> st.SearchStrategy[Value]:
    """An id a read looks up: an unknown one gives an empty answer, not a refusal."""
    fine = st.one_of(good(st.sampled_from(pool)), good(st.just(10**9 + 7)))
    if optional:
        fine = st.one_of(fine, good(st.none()))
    return mixed(fine, bad(0, -1, *HUGE, "1", True, *WRONG_TYPES))


_SAFE = st.characters(categories=["L", "M", "N", "P", "S", "Zs"], exclude_characters="\u2028\u2029")


def text(
    max_len: int,
    *,
    required: bool = False,
    multiline: bool = False,
    optional: bool = True,
) -> st.SearchStrategy[Value]:
    """Free text up to ``max_len`` characters; text breaking the rules now and then."""
    body = st.text(_SAFE, min_size=1, max_size=min(max_len, 40)).filter(lambda t: t.strip())
    if multiline:
        body = st.lists(body, min_size=1, max_size=3).map("\n".join)
    fine = good(body)
    if not required:
        fine = st.one_of(fine, good(st.just("")))
        if optional:
            fine = st.one_of(fine, good(st.none()))
    controls = [c for c in CONTROL if not (multiline and c in "\n\t")]
    if not multiline:
        controls.append("\n")
    wrong = [
        st.tuples(body, st.sampled_from(controls), body).map(
            lambda p: (p[0] + p[1] + p[2], INVALID)
        ),
        st.integers(max_len + 1, max_len + 50).map(lambda n: ("字" * n, INVALID)),
        bad(*WRONG_TYPES, 5),
    ]
    if required:
        wrong.append(bad("", "   ", None))
    return mixed(fine, *wrong)


def code(choices: Iterable[str], *, optional: bool = False) -> st.SearchStrategy[Value]:
    options = list(choices)
    fine = good(st.sampled_from(options))
    if optional:
        fine = st.one_of(fine, good(st.none()))
    wrong = (
        bad("no such code", 7, "x\x00", True)
        if optional
        else bad("no such code", "", 7, None, "x\x00", True)
    )
    return mixed(fine, wrong)


def flag() -> st.SearchStrategy[Value]:
    return mixed(good(st.booleans()), bad("yes", 1, 0, None, "false"))


def amount(w: World, *, low: int = 1, optional: bool = False) -> st.SearchStrategy[Value]:
    cap = max_amount_minor(w.profile)
    fine = good(st.integers(max(low, 1), 5_000_000))
    if low == 0:
        fine = st.one_of(fine, good(st.just(0)))
    if optional:
        fine = st.one_of(fine, good(st.none()))
    wrong = [bad(-1, -100, cap + 1, 2**70, 12.5, "100", Decimal("1.5"), True)]
    if low > 0:
        wrong.append(bad(0))
    if not optional:
        wrong.append(bad(None))
    return mixed(fine, *wrong)


def money(w: World, *, low: Decimal = Decimal(0)) -> st.SearchStrategy[Value]:
    fine = good(st.decimals(low, Decimal(50_000), places=2, allow_nan=False))
    cap = Decimal(max_amount_minor(w.profile)) / 100
    return mixed(
        fine,
        bad(Decimal("1.005"), Decimal("-5"), Decimal("NaN"), Decimal("Infinity"), cap + 1),
        bad(100.5, "100", None, True),
    )


def day(
    w: World,
    *,
    earliest: int,
    latest: int,
    past: bool = True,
    future: bool = True,
    optional: bool = False,
) -> st.SearchStrategy[Value]:
    """A day from today+earliest to today+latest (or None when ``optional``); outside
    (when the rule says so), extreme years and wrong types break the rules."""
    fine = good(st.integers(earliest, latest).map(lambda n: w.today + dt.timedelta(days=n)))
    if optional:
        fine = st.one_of(fine, good(st.none()))
    wrong = [
        bad(dt.date(1, 1, 1), dt.date(9999, 12, 31), "2026-01-01", 20260101),
        bad(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        if optional
        else bad(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), None),
    ]
    if past:
        wrong.append(
            st.integers(1, 4000).map(lambda n: (w.today + dt.timedelta(days=earliest - n), INVALID))
        )
    if future:
        wrong.append(
            st.integers(1, 4000).map(lambda n: (w.today + dt.timedelta(days=latest + n), INVALID))
        )
    return mixed(fine, *wrong)


def optional_day(w: World, *, earliest: int, latest: int) -> st.SearchStrategy[Value]:
    return st.one_of(
        good(st.none()),
        day(w, earliest=earliest, latest=latest, past=False, future=False).filter(
            lambda v: v[0] is not None
        ),
    )


def moment(
    w: World,
    *,
    earliest_hours: int,
    latest_hours: int,
    optional: bool = False,
    window: bool = True,
) -> st.SearchStrategy[Value]:
    """An aware moment from now+earliest to now+latest (hours); naive, extreme, far
    outside the window and wrong types break the rules."""
    fine = good(
        st.integers(earliest_hours * 60, latest_hours * 60).map(
            lambda m: w.now + dt.timedelta(minutes=m)
        )
    )
    if optional:
        fine = st.one_of(fine, good(st.none()))
    far = st.integers(24, 24 * 4000).map(
        lambda h: (w.now + dt.timedelta(hours=latest_hours + h), INVALID if window else None)
    )
    naive = st.just((w.now.replace(tzinfo=None) + dt.timedelta(days=1), INVALID))
    extreme = bad(
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
        "2026-01-01T10:00",
        w.today,
    )
    return mixed(fine, far, naive, extreme)


def version() -> st.SearchStrategy[Value]:
    """A row version a form read: any whole number (a stale one is refused as stale)."""
    return mixed(good(st.integers(0, 50)), bad(-1, 2**70, "3", 2.5, None, True))


def number(low: int, high: int) -> st.SearchStrategy[Value]:
    return mixed(good(st.integers(low, high)), bad(low - 1, high + 1, 2**70, "3", 2.5, None, True))


# --- the entry points --------------------------------------------------------------------


Args = dict[str, Value]


@dataclass(frozen=True)
class Entry:
    """One use case: how to draw its arguments and how to call it."""

    name: str
    args: dict[str, st.SearchStrategy[Value]]
    call: Callable[[DeskService, dict[str, object]], object] | None = None
    case_arg: str | None = None
    """The argument naming the case to claim first (so the lease does not refuse)."""

    def run(self, desk: DeskService, values: dict[str, object]) -> object:
        if self.call is not None:
            return self.call(desk, values)
        return getattr(desk, self.name)(**values)


def _plan_request(fields: dict[str, object]) -> PlanRequest:
    return PlanRequest(**fields)  # type: ignore[arg-type]


def _queue(desk: DeskService, v: dict[str, object]) -> object:
    flt = desk.queue_filter(**v)  # type: ignore[arg-type]
    desk.describe(flt)
    return desk.queue_page(flt)


def _nested(
    build: Callable[[dict[str, object]], object], parts: dict[str, st.SearchStrategy[Value]]
) -> st.SearchStrategy[Value]:
    """A structured argument (a plan request...): its fields drawn like arguments; it
    breaks the rules when one of them does (named by the field's own name)."""

    def made(drawn: dict[str, Value]) -> Value:
        values = {k: v for k, (v, _how) in drawn.items()}
        how = [f"{k}:{h}" for k, (_v, h) in drawn.items() if h is not None]
        try:
            obj = build(values)
        except Exception:
            return (values, INVALID)
        return (obj, ";".join(how) or None)

    return st.fixed_dictionaries(parts).map(made)


def entries(w: World) -> list[Entry]:
    prof = w.profile
    reports = tuple(REPORTS)
    rules = OVERRIDABLE_RULES
    channel = code(("phone", "sms", "email"))
    return [
        Entry(
            "case",
            {"case_id": record(w, w.cases), "week_start": optional_day(w, earliest=-30, latest=30)},
        ),
        Entry("case_version", {"case_id": record(w, w.cases)}),
        Entry("lease_state", {"case_id": record(w, w.cases)}),
        Entry(
            "contact_status",
            {
                "case_id": record(w, w.cases),
                "channel": channel,
                "phone_id": filter_id(w.phones),
            },
        ),
        Entry("claim", {"case_id": record(w, w.cases)}),
        Entry("renew", {"case_id": record(w, w.cases)}, case_arg="case_id"),
        Entry("release", {"case_id": record(w, w.cases)}, case_arg="case_id"),
        Entry("release_stuck_lease", {"case_id": record(w, w.cases)}),
        Entry("heartbeat", {"case_id": filter_id(w.cases)}),
        Entry(
            "queue",
            {
                "scope": code(("all", "mine", "unowned")),
                "stage": code(("new", "contacting", "registered", "plan"), optional=True),
                "bucket": code(bucket_labels(prof.dpd_bounds), optional=True),
                "broken_only": flag(),
                "on_hold": flag(),
                "search": st.one_of(
                    good(
                        st.sampled_from(
                            ["#²", "#" + "9" * 30, "#12", "张", "138", "%", "_", "'", ""]
                        )
                    ),
                    text(100, optional=False),
                ),
            },
            call=_queue,
        ),
        Entry(
            "log_contact",
            {
                "case_id": record(w, w.cases),
                "channel": channel,
                "direction": code(("outbound", "inbound")),
                "outcome": code(
                    (
                        "no_answer",
                        "connected",
                        "promise_to_pay",
                        "refused",
                        "wrong_number",
                        "callback",
                    )
                ),
                "phone_id": record(w, w.phones, optional=True),
                "note": text(2000, multiline=True),
                "callback_at": moment(w, earliest_hours=1, latest_hours=24 * 30, optional=True),
                "promise_amount_minor": amount(w, optional=True),
                "promise_due": day(w, earliest=0, latest=30, optional=True),
            },
            case_arg="case_id",
        ),
        Entry("undo_contact", {"contact_id": record(w, w.contacts), "reason": text(500)}),
        Entry(
            "sms_preview",
            {
                "case_id": record(w, w.cases),
                "template": code(("reminder.zh_CN", "callback.zh_CN", "due_today.en")),
                "phone_id": record(w, w.phones, optional=True),
            },
        ),
        Entry(
            "queue_sms",
            {
                "case_id": record(w, w.cases),
                "template": code(("reminder.zh_CN", "callback.zh_CN", "due_today.en")),
                "phone_id": record(w, w.phones, optional=True),
            },
            case_arg="case_id",
        ),
        Entry("sms_outbox", {"case_id": filter_id(w.cases, optional=False)}),
        Entry("dial_plan", {"case_id": record(w, w.cases), "phone_id": record(w, w.phones)}),
        Entry(
            "pending_dial",
            {"case_id": filter_id(w.cases, optional=False), "phone_id": filter_id(w.phones)},
        ),
        Entry(
            "reveal",
            {
                "borrower_id": record(w, w.borrowers),
                "field": code(("id_number", "address", "phone")),
                "phone_id": record(w, w.phones, optional=True),
            },
        ),
        Entry(
            "record_payment",
            {
                "case_id": record(w, w.cases),
                "amount_minor": amount(w),
                "paid_on": mixed(
                    day(w, earliest=-30, latest=0, past=False),
                    st.integers(1, 3000).map(
                        lambda n: (w.first_loan - dt.timedelta(days=n), INVALID)
                    ),
                ),
                "channel": code(("bank_transfer", "direct_debit", "counter", "door", "card")),
                "reference": text(64),
            },
            case_arg="case_id",
        ),
        Entry(
            "set_hold",
            {
                "case_id": record(w, w.cases),
                "kind": code(("complaint", "dispute", "hardship", "legal", "deceased")),
                "reason": text(500, required=True),
            },
            case_arg="case_id",
        ),
        Entry(
            "register",
            {
                "case_id": record(w, w.cases),
                "consent_channel": code(("phone", "sms", "email", "visit")),
                "note": text(500),
            },
            case_arg="case_id",
        ),
        Entry(
            "add_document",
            {
                "case_id": record(w, w.cases),
                "kind": code(("identity", "residence", "income", "other")),
                "channel": code(("email", "post", "in_person")),
                "received_on": day(w, earliest=-366, latest=0),
                "description": text(200),
            },
            case_arg="case_id",
        ),
        Entry(
            "review_document",
            {"document_id": record(w, w.documents), "verified": flag(), "reason": text(500)},
        ),
        Entry(
            "add_phone",
            {
                "borrower_id": record(w, w.borrowers),
                "raw": st.one_of(
                    good(st.integers(13000000000, 13999999999).map(str)), text(40, required=True)
                ),
                "relation": code(("borrower", "guarantor", "family", "employer")),
                "holder_name": text(100),
            },
        ),
        Entry("set_do_not_call", {"phone_id": record(w, w.phones), "do_not_call": flag()}),
        Entry(
            "record_complaint",
            {
                "case_id": record(w, w.cases),
                "description": text(2000, required=True, multiline=True),
                "channel": channel,
                "against_login": mixed(
                    st.one_of(good(st.none()), good(st.sampled_from(w.logins))),
                    bad("x\x00", 5, "字" * 100),
                ),
                "hold": flag(),
            },
            case_arg="case_id",
        ),
        Entry(
            "decide_complaint",
            {
                "complaint_id": record(w, w.complaints),
                "status": code(("investigating", "resolved", "dismissed")),
                "resolution": text(2000, multiline=True),
            },
        ),
        Entry(
            "archive_case", {"case_id": record(w, w.cases), "reason": text(200)}, case_arg="case_id"
        ),
        Entry("restore_case", {"case_id": record(w, w.cases), "reason": text(200, required=True)}),
        Entry("plan_basis", {"case_id": record(w, w.cases)}),
        Entry("plan_overview", {"plan_id": record(w, w.plans)}),
        Entry(
            "create_plan",
            {
                "case_id": record(w, w.cases),
                "request": _nested(
                    _plan_request,
                    {
                        "kind": code(("annuity", "equal_principal", "interest_free")),
                        "principal": money(w, low=Decimal("0.01")),
                        "annual_rate": mixed(
                            good(st.decimals(Decimal(0), Decimal("0.36"), places=4)),
                            bad(Decimal(5), Decimal("-0.1"), Decimal("NaN"), 0.12, "0.1"),
                        ),
                        "instalments": mixed(
                            good(st.integers(1, 60)), bad(-1, 10**6, "3", 2.5, None, True)
                        ),
                        "frequency": code(("weekly", "biweekly", "monthly", "quarterly")),
                        "first_due": day(w, earliest=0, latest=30, future=False),
                        "down_payment": money(w),
                        "grace_periods": mixed(
                            good(st.integers(0, 6)), bad(-1, 10**6, "3", 2.5, None, True)
                        ),
                        "grace_mode": code(("none", "interest_only", "capitalised")),
                        "down_payment_on": day(
                            w, earliest=0, latest=30, future=False, optional=True
                        ),
                    },
                ),
                "approval_reason": text(500),
            },
            case_arg="case_id",
        ),
        Entry("adjustment_basis", {"case_id": record(w, w.cases)}),
        Entry(
            "request_adjustment",
            {
                "case_id": record(w, w.cases),
                "changes": _nested(
                    lambda f: Changes(**f),  # type: ignore[arg-type]
                    {
                        # The boundary's bounds (check_changes); what fits the plan
                        # (at most max_months in all) is the adjustment rules' to say.
                        "suspend_periods": number(0, 120),
                        "extend_by": number(0, 120),
                        "grace_periods": number(0, 120),
                        "grace_mode": code(("none", "interest_only", "capitalised")),
                    },
                ),
                "reason": text(500, required=True, multiline=True),
            },
            case_arg="case_id",
        ),
        Entry(
            "decide_adjustment",
            {
                "adjustment_id": record(w, w.adjustments),
                "approve": flag(),
                "note": text(500, multiline=True),
            },
        ),
        Entry("early_settlement", {"case_id": record(w, w.cases)}),
        Entry(
            "accept_early_settlement",
            {"case_id": record(w, w.cases), "reason": text(500, multiline=True)},
            case_arg="case_id",
        ),
        Entry("follow_ups", {"mine": flag(), "case_id": filter_id(w.cases)}),
        Entry("pending_adjustments", {"case_id": filter_id(w.cases)}),
        Entry(
            "complete_follow_up",
            {
                "follow_up_id": record(w, w.follow_ups),
                "note": text(2000, required=True, multiline=True),
            },
        ),
        Entry(
            "reassign_follow_up",
            {
                "follow_up_id": record(w, w.follow_ups),
                "owner_login": mixed(
                    good(st.sampled_from(w.logins)), bad("x\x1b", 5, None, "字" * 100)
                ),
            },
        ),
        Entry("agreement_id", {"case_id": filter_id(w.cases, optional=False)}),
        Entry("open_agreement", {"agreement_id": record(w, w.agreements)}),
        Entry(
            "draft_agreement",
            {
                "case_id": record(w, w.cases),
                "language": code(("zh_CN", "en"), optional=True),
                "special_terms": text(4000, multiline=True),
            },
            case_arg="case_id",
        ),
        Entry(
            "save_special_terms",
            {
                "agreement_id": record(w, w.agreements),
                "terms": text(4000, multiline=True, optional=False),
                "record_version": version(),
            },
        ),
        Entry(
            "mark_agreement_ready",
            {"agreement_id": record(w, w.agreements), "record_version": version()},
        ),
        Entry(
            "sign_agreement",
            {
                "agreement_id": record(w, w.agreements),
                "borrower_confirmation": text(200, required=True),
                "place": text(200, required=True),
                "effective_on": day(
                    w, earliest=0, latest=30, past=False, future=False, optional=True
                ),
                "delivery": text(100),
                "record_version": version(),
            },
        ),
        Entry("export_agreement", {"agreement_id": record(w, w.agreements)}),
        Entry(
            "record_agreement_delivery",
            {"agreement_id": record(w, w.agreements), "how": text(100, required=True)},
        ),
        Entry(
            "visit_suggestions",
            {"case_id": record(w, w.cases), "replacing": filter_id(w.appointments)},
        ),
        Entry(
            "book_visit",
            {
                "case_id": record(w, w.cases),
                "collector_id": record(w, w.collectors),
                "collector_login": good(st.none()),
                "starts_at": moment(
                    w, earliest_hours=-48, latest_hours=24 * visit_max_days_ahead(prof)
                ),
                "override_reason": text(500),
            },
            case_arg="case_id",
        ),
        Entry(
            "reschedule_visit",
            {
                "appointment_id": record(w, w.appointments),
                "collector_id": record(w, w.collectors, optional=True),
                "collector_login": good(st.none()),
                "starts_at": moment(
                    w, earliest_hours=-48, latest_hours=24 * visit_max_days_ahead(prof)
                ),
                "side": code(("bank", "borrower")),
                "notified_how": channel,
                "reason": text(500, required=True),
            },
        ),
        Entry(
            "cancel_visit",
            {
                "appointment_id": record(w, w.appointments),
                "side": code(("bank", "borrower")),
                "notified_how": channel,
                "reason": text(500, required=True),
            },
        ),
        Entry("confirm_visit", {"appointment_id": record(w, w.appointments)}),
        Entry(
            "record_visit_report",
            {
                "appointment_id": record(w, w.appointments),
                "report": _nested(
                    lambda f: VisitReportInput(**f),  # type: ignore[arg-type]
                    {
                        "outcome": code(
                            (
                                "plan_discussed",
                                "paid_at_door",
                                "borrower_absent",
                                "refused",
                                "wrong_address",
                            )
                        ),
                        "work_id_shown": flag(),
                        "name_checked": flag(),
                        "contact_checked": flag(),
                        "address_checked": flag(),
                        "documents_ok": flag(),
                        "mismatches": text(2000, multiline=True),
                        "declared_income_minor": amount(w, low=0, optional=True),
                        "obligations_minor": amount(w, low=0, optional=True),
                        "affordable_monthly_minor": amount(w, low=0, optional=True),
                        "collected_minor": amount(w, low=0),
                        "collected_method": code(DOOR_METHODS, optional=True),
                        "receipt_no": text(40),
                        "note": text(2000, multiline=True),
                    },
                ),
            },
        ),
        Entry(
            "calendar_view",
            {
                "case_id": filter_id(w.cases),
                "start": optional_day(w, earliest=-30, latest=60),
                "span_days": mixed(
                    good(st.sampled_from([1, 7])), bad(0, 2, 31, 2**70, "7", None, True)
                ),
                "all_collectors": flag(),
            },
        ),
        Entry(
            "day_sheet",
            {
                "collector_id": record(w, w.collectors),
                "day": day(w, earliest=-30, latest=60, past=False, future=False),
            },
        ),
        Entry(
            "export_day_sheet",
            {
                "collector_id": record(w, w.collectors),
                "day": day(w, earliest=-30, latest=60, past=False, future=False),
            },
        ),
        Entry("case_visits", {"case_id": filter_id(w.cases)}),
        Entry("override_grantee", {"case_id": filter_id(w.cases)}),
        Entry("refused_override_rules", {"case_id": record(w, w.cases)}),
        Entry(
            "grant_override",
            {
                "case_id": record(w, w.cases),
                "rule": code(rules),
                "granted_to": mixed(good(st.sampled_from(w.logins)), bad("x\x00", 5, None)),
                "reason": text(OVERRIDE_REASON, required=True, multiline=True),
                "minutes": number(1, 240),
            },
        ),
        Entry(
            "request_override",
            {
                "case_id": record(w, w.cases),
                "rule": code(rules),
                "reason": text(OVERRIDE_REASON, required=True, multiline=True),
            },
        ),
        Entry(
            "override_requests", {"status": code(("pending", "approved", "rejected", "withdrawn"))}
        ),
        Entry("override_request", {"request_id": record(w, w.requests)}),
        Entry(
            "decide_override_request",
            {
                "request_id": record(w, w.requests),
                "approve": flag(),
                "note": text(OVERRIDE_REASON, multiline=True),
                "minutes": number(1, 240),
            },
        ),
        Entry(
            "reassign",
            {
                "case_ids": mixed(
                    good(st.lists(st.sampled_from(w.cases), min_size=1, max_size=5)),
                    bad([2**70], ["1"], "1,2", None, 5, [True]),
                ),
                "to_login": mixed(good(st.sampled_from(w.logins)), bad("x\x1b", 5, None)),
                "reason": text(500, required=True, multiline=True),
            },
        ),
        Entry(
            "audit_page",
            {
                "flt": _nested(
                    lambda f: AuditFilter(**f),  # type: ignore[arg-type]
                    {
                        "agent_login": st.one_of(good(st.sampled_from(w.logins[:5])), text(64)),
                        "case_id": filter_id(w.cases),
                        "action": text(60),
                        "since": moment(
                            w, earliest_hours=-24 * 60, latest_hours=0, optional=True, window=False
                        ),
                        "until": moment(
                            w, earliest_hours=-24 * 30, latest_hours=24, optional=True, window=False
                        ),
                    },
                ),
                "limit": mixed(good(st.integers(-5, 2000)), bad(2**70, "3", 2.5, None, True)),
            },
        ),
        Entry(
            "report",
            {
                "name": code(reports),
                "date_from": day(w, earliest=-90, latest=0, past=False, future=False),
                "date_to": day(w, earliest=-30, latest=0, past=False, future=False),
            },
        ),
        Entry(
            "report_csv",
            {
                "name": code(reports),
                "date_from": day(w, earliest=-90, latest=0, past=False, future=False),
                "date_to": day(w, earliest=-30, latest=0, past=False, future=False),
            },
        ),
    ]


# --- running -----------------------------------------------------------------------------


@dataclass
class Tally:
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    crashed: int = 0
    wrongly_accepted: int = 0
    unnamed: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def note(self, kind: str, entry: str, detail: str) -> None:
        key = f"{kind} {entry}"
        self.problems[key] += 1
        self.samples.setdefault(key, detail)

    @property
    def clean(self) -> bool:
        return not (self.crashed or self.wrongly_accepted or self.unnamed)

    def summary(self) -> str:
        return (
            f"tried {self.tried}, refused {self.refused}, accepted {self.accepted}, "
            f"crashed {self.crashed}, wrongly accepted {self.wrongly_accepted}, "
            f"refused without naming the field {self.unnamed}"
        )


def _offending(args: Args) -> dict[str, str]:
    """Field -> how it breaks the rules; nested fields ("request" holding "first_due")
    count under both names."""
    out: dict[str, str] = {}
    for name, (_value, how) in args.items():
        if how is None:
            continue
        if how in (INVALID, MISSING):
            out[name] = how
            continue
        kinds = set()
        for part in how.split(";"):
            inner, _sep, kind = part.partition(":")
            out[inner] = kind
            kinds.add(kind)
        out[name] = INVALID if INVALID in kinds else MISSING
    return out


def judge(tally: Tally, entry: Entry, desk: DeskService, args: Args) -> None:
    values = {k: v for k, (v, _how) in args.items()}
    offending = _offending(args)
    shown = {k: _short(v) for k, v in values.items()}
    tally.tried += 1
    if entry.case_arg is not None:
        case_id = values.get(entry.case_arg)
        if isinstance(case_id, int) and not isinstance(case_id, bool) and 0 < case_id < 2**63:
            with contextlib.suppress(ServiceError):
                desk.claim(case_id)
    try:
        entry.run(desk, values)
    except ServiceError as exc:
        tally.refused += 1
        invalid = {k for k, how in offending.items() if how == INVALID}
        if not invalid:
            return
        if isinstance(exc, InvalidInput) and exc.field in offending:
            return
        if isinstance(exc, NotFound) and len(invalid) < len(offending):
            return  # an unknown record refused before another field was judged
        tally.unnamed += 1
        tally.note(
            "unnamed",
            entry.name,
            f"{shown} (breaks: {sorted(offending)}) -> {type(exc).__name__}: {exc}",
        )
    except Exception as exc:
        tally.crashed += 1
        where = traceback.extract_tb(exc.__traceback__)[-1]
        tally.note(
            "crashed",
            entry.name,
            f"{shown} -> {type(exc).__name__}: {str(exc)[:200]} at {where.filename}:{where.lineno}",
        )
    else:
        tally.accepted += 1
        if offending:
            tally.wrongly_accepted += 1
            tally.note("accepted", entry.name, f"{shown} (breaks: {sorted(offending)})")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fuzz_entry(
    tally: Tally, entry: Entry, desk: DeskService, examples: int, *, seed: int | None = None
) -> None:
    """Draw ``examples`` argument sets for ``entry`` and judge each call."""

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=seed is not None,
    )
    @given(st.fixed_dictionaries(entry.args))
    def run(args: Args) -> None:
        judge(tally, entry, desk, args)

    run()


def fuzz(
    db: Database, *, examples: int, now: dt.datetime, profile: Profile, export_dir: Path
) -> Tally:
    """About ``examples`` calls spread evenly over every entry point."""
    world = survey(db, now, profile)
    desk = DeskService(
        db,
        resolve_actor(db, world.supervisor),
        profile,
        clock=lambda: now,
        export_dir=export_dir,
    )
    tally = Tally()
    all_entries = entries(world)
    per_entry = max(1, examples // len(all_entries))
    for entry in all_entries:
        fuzz_entry(tally, entry, desk, per_entry)
    return tally


def prepare(db: Database, *, cases: int, now: dt.datetime) -> None:
    """Migrate; seed a small demo book when the database holds no case."""
    upgrade(db)
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(CollectionCase)) or 0
    if not have:
        from tui_desk.demo.seeder import seed_database

        seed_database(db, cases=cases, now=now)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database URL (a scratch database)")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=60, help="demo cases to seed when empty")
    parser.add_argument("--profile", default="cn")
    parser.add_argument("--samples", type=int, default=40, help="problem samples to print")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    db = open_database(args.db)
    try:
        prepare(db, cases=args.cases, now=now)
        with tempfile.TemporaryDirectory() as folder:
            tally = fuzz(
                db, examples=args.examples, now=now, profile=load_profile(args.profile),
                export_dir=Path(folder),
            )  # fmt: skip
    finally:
        db.dispose()
    engine = "sqlite" if args.db.startswith("sqlite") else "postgresql"
    print(f"{engine}: {tally.summary()}")
    for key, count in tally.problems.most_common(args.samples):
        print(f"  {count:4d} {key}: {tally.samples[key]}")
    return 0 if tally.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
