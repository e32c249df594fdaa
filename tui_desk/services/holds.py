"""The life of a hold after it is set: listed, released by a supervisor, ended by its date.

A hold stops contact and booking on a case (``casework.set_hold`` puts one on; a
complaint can too). It ends in one of three ways, each audited in the transaction that
ends it:

- a supervisor releases it with a reason, from the desk, the board or the command line
  (``release_hold`` for one hold, ``release_case_holds`` for a case's holds);
- resolving the complaint that placed it, when the supervisor chooses to
  (``release_complaint_holds``, called inside the complaint's own transaction);
- its end date passes: the worker's ``hold_expiry`` job releases it.

The case's ``on_hold`` flag is the queue's view of the hold rows: every release sets it
from the holds still in force, in the same transaction, so the queue and the rows agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Borrower, CaseHold, CollectionCase, HoldKind
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import audit
from tui_desk.services.case_state import load_for_edit, office_today, recompute_priority
from tui_desk.services.contacts import ensure_next_action, required_reason, resolve_now
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.jobs import JobFunction, job_write
from tui_desk.views.holds import HeldCase, ReleasedHold

DEFAULT_PROFILE = "cn"
# A hold with an end date ends at most this long after it is set; longer is "until released".
MAX_HOLD_DAYS = 366
# Holds end at office midnight; the worker looks every few minutes.
HOLD_EXPIRY_EVERY = dt.timedelta(minutes=5)
DEFAULT_BATCH_HOLDS = 500
HELD_LIST_LIMIT = 500
# Stored as the release reason of a hold its date ended (no person wrote it).
EXPIRED_REASON = "expired"


# --- the end date ---------------------------------------------------------------------------


def hold_end(ends_on: dt.date, now: dt.datetime, profile: Profile) -> dt.datetime:
    """The moment a hold "until ``ends_on``" ends: office midnight after that day (UTC).

    Refused when the day is already past or further ahead than ``MAX_HOLD_DAYS``.
    """
    if not isinstance(ends_on, dt.date) or isinstance(ends_on, dt.datetime):
        raise ServiceError(_("the end of a hold is a date"))
    today = office_today(now, profile)
    if ends_on < today:
        raise ServiceError(
            _("a hold cannot end in the past ({day})").format(day=ends_on.isoformat())
        )
    if ends_on > today + dt.timedelta(days=MAX_HOLD_DAYS):
        raise ServiceError(
            _("a hold ends at most {n} days ahead; leave the end empty to hold until released")
            .format(n=MAX_HOLD_DAYS)
        )  # fmt: skip
    zone = ZoneInfo(profile.office_timezone)
    midnight = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return midnight.astimezone(dt.UTC)


# --- releasing, inside the caller's transaction -------------------------------------------


def active_holds_of(session: Session, case_id: int) -> list[CaseHold]:
    return list(
        session.scalars(
            select(CaseHold)
            .where(CaseHold.case_id == case_id, CaseHold.released_at.is_(None))
            .order_by(CaseHold.id)
        )
    )


def release_row(
    session: Session,
    hold: CaseHold,
    case: CollectionCase,
    *,
    actor: Actor | None,
    now: dt.datetime,
    profile: Profile,
    reason: str,
    action: str = "case.hold.release",
    extra: dict[str, object] | None = None,
) -> ReleasedHold:
    """Release one hold in force and set the case's flag from the holds left; audited.

    The caller holds the case row (``load_for_edit`` or a job's locked read).
    """
    was_on_hold = case.on_hold
    hold.released_at = now
    hold.released_by_id = actor.id if actor else None
    hold.release_reason = reason
    session.flush()
    remaining = active_holds_of(session, case.id)
    case.on_hold = bool(remaining)
    ensure_next_action(case, now, profile)
    recompute_priority(case, now, profile)
    who = actor.login if actor else "worker"
    audit.record(
        session,
        actor,
        action,
        "case_hold",
        hold.id,
        f"{who} released the {hold.kind.value} hold on case {case.id}",
        now=now,
        case_id=case.id,
        before={"on_hold": was_on_hold},
        after={
            "kind": hold.kind.value,
            "on_hold": case.on_hold,
            "remaining_holds": [h.kind.value for h in remaining],
            **(extra or {}),
        },
    )
    return ReleasedHold(
        hold_id=hold.id, case_id=case.id, kind=hold.kind, case_still_on_hold=case.on_hold
    )


def release_complaint_holds(
    session: Session,
    complaint_id: int,
    case: CollectionCase,
    *,
    ctx: Context,
    now: dt.datetime,
    reason: str,
) -> list[ReleasedHold]:
    """Release the holds a complaint placed (its resolution is the reason); supervisors."""
    ctx.actor.require(Action.RELEASE_HOLD)
    held = session.scalars(
        select(CaseHold)
        .where(CaseHold.complaint_id == complaint_id, CaseHold.released_at.is_(None))
        .order_by(CaseHold.id)
    ).all()
    return [
        release_row(
            session,
            hold,
            case,
            actor=ctx.actor,
            now=now,
            profile=ctx.profile,
            reason=reason,
            extra={"complaint_id": complaint_id},
        )
        for hold in held
    ]


# --- supervisors' use cases ------------------------------------------------------------------


def release_hold(
    ctx: Context,
    hold_id: int,
    reason: str,
    *,
    expected_version: int | None = None,
    override_reason: str | None = None,
) -> ReleasedHold:
    """Release one hold (supervisors only); the case stays on hold while others remain.

    While another agent works the case, the supervisor writes over their lease only with
    ``override_reason`` (audited), as for any other write.
    """
    ctx.actor.require(Action.RELEASE_HOLD)
    now = ctx.now()
    text = required_reason(reason, _("releasing a hold needs a reason"))
    with ctx.db.write() as s:
        hold = s.get(CaseHold, hold_id)
        if hold is None:
            raise NotFound(_("hold {hold_id} does not exist").format(hold_id=hold_id))
        case = load_for_edit(
            s,
            hold.case_id,
            expected_version=expected_version,
            ctx=ctx,
            override_reason=override_reason,
        )
        s.refresh(hold)  # read again under the case's lock: a release may have landed
        if hold.released_at is not None:
            raise ServiceError(_("hold {hold_id} was already released").format(hold_id=hold_id))
        return release_row(s, hold, case, actor=ctx.actor, now=now, profile=ctx.profile,
                           reason=text)  # fmt: skip


def release_case_holds(
    ctx: Context,
    case_id: int,
    reason: str,
    *,
    kind: HoldKind | str | None = None,
    expected_version: int | None = None,
    override_reason: str | None = None,
) -> list[ReleasedHold]:
    """Release every hold in force on a case (or those of ``kind``); supervisors only.

    One transaction, one audit event per hold. Refused when nothing matches.
    """
    ctx.actor.require(Action.RELEASE_HOLD)
    now = ctx.now()
    text = required_reason(reason, _("releasing a hold needs a reason"))
    wanted: HoldKind | None = None
    if kind is not None:
        try:
            wanted = HoldKind(kind)
        except ValueError:
            raise ServiceError(_("unknown hold kind {value}").format(value=kind)) from None
    with ctx.db.write() as s:
        case = load_for_edit(
            s, case_id, expected_version=expected_version, ctx=ctx, override_reason=override_reason
        )
        held = [h for h in active_holds_of(s, case.id) if wanted is None or h.kind is wanted]
        if not held:
            if wanted is None:
                raise ServiceError(_("case {case_id} is not on hold").format(case_id=case.id))
            raise ServiceError(
                _("case {case_id} has no {kind} hold").format(case_id=case.id, kind=wanted.value)
            )
        return [
            release_row(s, h, case, actor=ctx.actor, now=now, profile=ctx.profile, reason=text)
            for h in held
        ]


def held_cases(
    ctx: Context, *, case_id: int | None = None, limit: int = HELD_LIST_LIMIT
) -> list[HeldCase]:
    """Holds in force, oldest first (the supervisors' list); one case's with ``case_id``."""
    ctx.actor.require(Action.VIEW_BOARD)
    setter = aliased(Agent)
    stmt = (
        select(CaseHold, Borrower.name, setter.name)
        .join(CollectionCase, CollectionCase.id == CaseHold.case_id)
        .join(Borrower, Borrower.id == CollectionCase.borrower_id)
        .outerjoin(setter, setter.id == CaseHold.set_by_id)
        .where(CaseHold.released_at.is_(None))
        .order_by(CaseHold.set_at, CaseHold.id)
        .limit(max(1, min(limit, HELD_LIST_LIMIT)))
    )
    if case_id is not None:
        stmt = stmt.where(CaseHold.case_id == case_id)
    with ctx.db.read() as s:
        return [
            HeldCase(
                hold_id=h.id,
                case_id=h.case_id,
                borrower_name=borrower,
                kind=h.kind,
                reason=h.reason,
                set_by=set_by,
                set_at=h.set_at,
                ends_at=h.ends_at,
                complaint_id=h.complaint_id,
            )
            for h, borrower, set_by in s.execute(stmt)
        ]


# --- the worker: holds whose date has come ------------------------------------------------


@dataclass(frozen=True)
class ExpiredHolds:
    holds: int
    cases: int

    def summary(self) -> str:
        return f"{self.holds} holds ended by their date on {self.cases} cases"


def _due_hold_ids(session: Session, now: dt.datetime, limit: int) -> Sequence[int]:
    return session.scalars(
        select(CaseHold.id)
        .where(
            CaseHold.released_at.is_(None),
            CaseHold.ends_at.is_not(None),
            CaseHold.ends_at <= now,
        )
        .order_by(CaseHold.ends_at, CaseHold.id)
        .limit(limit)
    ).all()


def release_expired_holds(
    db: Database,
    now: dt.datetime,
    *,
    profile: str = DEFAULT_PROFILE,
    batch_size: int = DEFAULT_BATCH_HOLDS,
) -> ExpiredHolds:
    """Worker job: release every hold whose end has come, a batch per transaction, each
    hold audited (``case.hold.expire``, no agent) with its case's flag set from the rest."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    prof = load_profile(profile)
    now = resolve_now(now)
    released = 0
    cases: set[int] = set()
    while True:
        with job_write(db) as s:
            ids = _due_hold_ids(s, now, batch_size)
            if not ids:
                break
            holds = s.scalars(select(CaseHold).where(CaseHold.id.in_(ids))).all()
            case_ids = sorted({h.case_id for h in holds})
            stmt = select(CollectionCase).where(CollectionCase.id.in_(case_ids))
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.order_by(CollectionCase.id).with_for_update()
            by_id = {c.id: c for c in s.scalars(stmt)}
            for hold in sorted(holds, key=lambda h: h.id):
                s.refresh(hold)  # under the case's lock: a supervisor may have released it
                if hold.released_at is not None:
                    continue
                assert hold.ends_at is not None
                release_row(
                    s,
                    hold,
                    by_id[hold.case_id],
                    actor=None,
                    now=now,
                    profile=prof,
                    reason=EXPIRED_REASON,
                    action="case.hold.expire",
                    extra={"ends_at": hold.ends_at.isoformat()},
                )
                released += 1
                cases.add(hold.case_id)
        if len(ids) < batch_size:
            break
    return ExpiredHolds(holds=released, cases=len(cases))


def hold_expiry_job(profile: str = DEFAULT_PROFILE) -> JobFunction:
    """The worker's job function for the deployment's policy profile."""
    load_profile(profile)  # an unknown profile fails at worker start, not at the first run

    def run(db: Database, now: dt.datetime) -> str:
        return release_expired_holds(db, now, profile=profile).summary()

    return run
