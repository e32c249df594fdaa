"""Supervisor actions from the board: reassign cases, contact-rule override requests, and
the audit trail read back (filtered, keyset-paged, before/after of every change).

Writes follow the house rule: one transaction, one audit event (a reassignment of many
cases is one batch event listing every case's previous owner). Rows are locked for the
write (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite through
``Database.write``), and a case edit goes through the ORM so its ``version`` moves on and
a form opened on the old version is refused rather than silently overwritten.

Override requests: an operator whose contact attempt a waivable rule refuses asks for a
one-time override; a supervisor (never the requester) approves it, which grants the
override to the requester in the same transaction, or rejects it with a note. A request
already decided is refused as stale, so two supervisors never both decide it.

The audit page is newest first. With an agent filter it walks ``ix_audit_agent_time``
in ``(occurred_at, id)`` order; otherwise it walks ids backwards, through ``ix_audit_case``
when a case is given, else the primary key. The action filter is a prefix applied on top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    AuditEvent,
    Borrower,
    CaseStatus,
    CollectionCase,
    FollowUp,
    FollowUpStatus,
    OverrideRequest,
    OverrideRequestStatus,
    RuleOverride,
    UtcDateTime,
)
from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.rules.permissions import Action, allowed
from tui_desk.rules.profile import MaskingPolicy, load_profile
from tui_desk.services import audit
from tui_desk.services.case_facts import scrub_text
from tui_desk.services.case_state import load_for_edit
from tui_desk.services.contact_checks import OVERRIDABLE_RULES
from tui_desk.services.contacts import (
    MAX_OVERRIDE_MINUTES,
    MAX_REASON,
    required_reason,
)
from tui_desk.services.context import Context
from tui_desk.services.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    StaleEdit,
    UnknownAgent,
)
from tui_desk.services.validation import (
    MAX_ID,
    InvalidInput,
    check_datetime,
    check_flag,
    check_id,
    check_int,
    check_optional_datetime,
    check_optional_id,
    check_required_text,
    check_text,
)
from tui_desk.views.supervision import AuditLine, AuditPage, CaseVisitLine, OverrideRequestLine

MAX_REASSIGN = 1000
"""Cases one reassignment may move (the batch event lists each one's previous owner)."""
MAX_LISTED = 10
"""Case numbers quoted in a refusal before "and N more"."""
AUDIT_PAGE_MAX = 500
ACTION_WINDOW = 20_000
"""``audit_actions`` reads the distinct names among this many newest events."""
REQUEST_LIST_LIMIT = 200

STATUS_LABELS: dict[str, str] = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideDecision:
    request_id: int
    status: str
    override_id: int | None
    expires_at: dt.datetime | None
    requested_by_login: str


@dataclass(frozen=True)
class AuditFilter:
    """Every field optional; ``action`` is a prefix ("case." finds every case action);
    ``since`` inclusive, ``until`` exclusive (UTC)."""

    agent_login: str | None = None
    case_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def is_empty(self) -> bool:
        return not (self.agent_login or self.case_id or self.action or self.since or self.until)


# --- helpers ------------------------------------------------------------------------------


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _listed(ids: Sequence[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:MAX_LISTED])
    if len(ids) > MAX_LISTED:
        shown += " " + _("and {n} more").format(n=len(ids) - MAX_LISTED)
    return shown


def _agent_by_login(session: Session, login: str) -> Agent:
    agent = session.scalars(select(Agent).where(Agent.login == login)).one_or_none()
    if agent is None:
        raise UnknownAgent(_("no agent with login {login}").format(login=login))
    return agent


def _check_rule(rule: str) -> str:
    if rule in OVERRIDABLE_RULES:
        return rule
    if rule in ("hold", "do_not_call"):
        raise InvalidInput(
            "rule",
            _(
                "the {rule} rule is not waived by an override: release the hold or "
                "clear the do-not-call flag instead"
            ).format(rule=label("rule", rule)),
        )
    raise InvalidInput(
        "rule",
        _("unknown contact rule {rule!r}; rules that can be waived: {rules}").format(
            rule=rule, rules=", ".join(OVERRIDABLE_RULES)
        ),
    )


# --- reassign -----------------------------------------------------------------------------


def reassign_cases(ctx: Context, case_ids: Iterable[int], to_login: str, *, reason: str) -> int:
    """Give open cases to another active agent; how many changed owner.

    All or nothing: an unknown or closed case refuses the whole batch (listing them).
    Cases the agent already owns are left as they are. The lease is not touched: whoever
    is on a call now finishes it, and the new owner gets the case when the lease ends.
    A "marked stale" flag is cleared, since the case has a fresh owner. One audit event
    (``case.reassign``) holds every case's previous owner.
    """
    ctx.actor.require(Action.REASSIGN)
    now = ctx.now()
    ids = sorted(set(case_ids))
    if not ids:
        raise ServiceError(_("no case selected to reassign"))
    if len(ids) > MAX_REASSIGN:
        raise ServiceError(
            _("at most {max} cases at a time ({n} selected)").format(max=MAX_REASSIGN, n=len(ids))
        )
    login = (to_login or "").strip()
    if not login:
        raise ServiceError(_("type the login of the agent the cases go to"))
    why = required_reason(reason, _("a reassignment needs a reason"))
    with ctx.db.write() as s:
        agent = _agent_by_login(s, login)
        if not agent.active:
            raise ServiceError(
                _("{login} is not an active agent; cases go to active agents only").format(
                    login=login
                )
            )
        if not allowed(agent.role, Action.WORK_CASES):
            raise ServiceError(_("{login} does not work cases").format(login=login))
        # Locked in id order, so two batches over the same cases cannot deadlock.
        stmt = select(CollectionCase).where(CollectionCase.id.in_(ids)).order_by(CollectionCase.id)
        if _is_pg(s):
            stmt = stmt.with_for_update()
        cases = list(s.scalars(stmt))
        missing = sorted(set(ids) - {c.id for c in cases})
        if missing:
            raise NotFound(
                _("no such case: {cases}; nothing was reassigned").format(cases=_listed(missing))
            )
        closed = [c.id for c in cases if c.status != CaseStatus.OPEN]
        if closed:
            raise ServiceError(
                _(
                    "closed or archived cases cannot be reassigned: {cases}; nothing was "
                    "reassigned (restore them first, or leave them out)"
                ).format(cases=_listed(closed))
            )
        owners: dict[str, int | None] = {}
        stale: list[int] = []
        for case in cases:
            if case.owner_id == agent.id:
                continue
            owners[str(case.id)] = case.owner_id
            if case.stale:
                stale.append(case.id)
                case.stale = False
            case.owner_id = agent.id
        if not owners:
            return 0
        s.flush()  # the ORM update checks and moves each case's version
        moved = [int(k) for k in owners]
        # The case's open follow-ups go with it: the new owner makes the next call.
        follow_ups: dict[str, int | None] = {}
        for follow_up in s.scalars(
            select(FollowUp).where(
                FollowUp.case_id.in_(moved),
                FollowUp.status.in_((FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED)),
                FollowUp.owner_id.is_distinct_from(agent.id),
            )
        ):
            follow_ups[str(follow_up.id)] = follow_up.owner_id
            follow_up.owner_id = agent.id
        single = moved[0] if len(moved) == 1 else None
        audit.record(
            s,
            ctx.actor,
            "case.reassign",
            "collection_case",
            single,
            (
                f"{ctx.actor.login} reassigned case {single} to {agent.login}: {why}"
                if single is not None
                else f"{ctx.actor.login} reassigned {len(moved)} cases to {agent.login}: {why}"
            ),
            now=now,
            case_id=single,
            before={"owner_id": owners, "stale": stale, "follow_up_owner_id": follow_ups},
            after={"owner_id": agent.id, "owner_login": agent.login, "case_ids": moved,
                   "follow_up_ids": [int(k) for k in follow_ups], "reason": why},
        )  # fmt: skip
        return len(moved)


# --- override requests --------------------------------------------------------------------


def request_override(ctx: Context, case_id: int, rule: str, reason: str) -> int:
    """Ask a supervisor to waive ``rule`` once for the actor on the case; the request id.

    One pending request per case, rule and agent: asking again while one waits is refused.
    """
    check_id("case_id", case_id)
    check_required_text("rule", rule, 40)
    check_required_text(
        "reason", reason, MAX_REASON, multiline=True, missing=_("say why the override is needed")
    )
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    rule = _check_rule(rule)
    why = required_reason(reason, _("say why the override is needed"), MAX_REASON)
    with ctx.db.write() as s:
        # The case lock serialises two requests of the same agent (one pending at most).
        case = load_for_edit(s, case_id)
        waiting = s.scalars(
            select(OverrideRequest).where(
                OverrideRequest.case_id == case.id,
                OverrideRequest.rule == rule,
                OverrideRequest.requested_by_id == ctx.actor.id,
                OverrideRequest.status == OverrideRequestStatus.PENDING,
            )
        ).first()
        if waiting is not None:
            raise ServiceError(
                _(
                    "you already asked for an override of {rule} on case {case_id} "
                    "(request #{id}); it is waiting for a supervisor"
                ).format(rule=label("rule", rule), case_id=case.id, id=waiting.id)
            )
        request = OverrideRequest(
            case_id=case.id,
            rule=rule,
            requested_by_id=ctx.actor.id,
            requested_at=now,
            reason=why,
            status=OverrideRequestStatus.PENDING,
        )
        s.add(request)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "override_request.create",
            "override_request",
            request.id,
            f"{ctx.actor.login} asked for an override of {rule} on case {case.id}",
            now=now,
            case_id=case.id,
            after={"rule": rule, "status": OverrideRequestStatus.PENDING.value, "reason": why},
        )
        return request.id


def request_lines(session: Session, stmt: Select[OverrideRequest]) -> list[OverrideRequestLine]:
    """The requests ``stmt`` selects as lines, with names, in the caller's session."""
    rows = list(session.scalars(stmt))
    if not rows:
        return []
    agent_ids = {r.requested_by_id for r in rows} | {
        r.decided_by_id for r in rows if r.decided_by_id
    }
    agents = {a.id: a for a in session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))}
    names: dict[int, str] = {
        case_id: name
        for case_id, name in session.execute(
            select(CollectionCase.id, Borrower.name)
            .join(Borrower, Borrower.id == CollectionCase.borrower_id)
            .where(CollectionCase.id.in_({r.case_id for r in rows}))
        )
    }
    override_ids = {r.override_id for r in rows if r.override_id}
    expiries: dict[int, dt.datetime] = {}
    if override_ids:
        for override_id, expires_at in session.execute(
            select(RuleOverride.id, RuleOverride.expires_at).where(
                RuleOverride.id.in_(override_ids)
            )
        ):
            expiries[override_id] = expires_at
    lines = []
    for r in rows:
        requester = agents[r.requested_by_id]
        decider = agents.get(r.decided_by_id) if r.decided_by_id else None
        lines.append(
            OverrideRequestLine(
                request_id=r.id,
                case_id=r.case_id,
                borrower_name=names.get(r.case_id, ""),
                rule=r.rule,
                requested_by_id=requester.id,
                requested_by_login=requester.login,
                requested_by_name=requester.name,
                requested_at=r.requested_at,
                reason=r.reason,
                status=r.status.value,
                decided_by_login=decider.login if decider else None,
                decided_at=r.decided_at,
                decision_note=r.decision_note,
                override_id=r.override_id,
                override_expires_at=expiries.get(r.override_id) if r.override_id else None,
            )
        )
    return lines


def override_requests(
    ctx: Context,
    *,
    status: OverrideRequestStatus | str = OverrideRequestStatus.PENDING,
    limit: int = REQUEST_LIST_LIMIT,
) -> list[OverrideRequestLine]:
    """Requests in one status: pending ones oldest first (who waited longest), decided
    ones newest first. A range of ``ix_override_request_status`` either way."""
    ctx.actor.require(Action.OVERRIDE_CONTACT_RULE)
    try:
        wanted = OverrideRequestStatus(status)
    except ValueError:
        raise ServiceError(_("unknown request status {status!r}").format(status=status)) from None
    order = (
        (OverrideRequest.requested_at, OverrideRequest.id)
        if wanted is OverrideRequestStatus.PENDING
        else (OverrideRequest.requested_at.desc(), OverrideRequest.id.desc())
    )
    stmt = (
        select(OverrideRequest)
        .where(OverrideRequest.status == wanted)
        .order_by(*order)
        .limit(max(1, min(limit, 1000)))
    )
    with ctx.db.read() as s:
        return request_lines(s, stmt)


def override_request(ctx: Context, request_id: int) -> OverrideRequestLine:
    """One request: for supervisors, and for the agent who asked."""
    check_id("request_id", request_id)
    with ctx.db.read() as s:
        lines = request_lines(s, select(OverrideRequest).where(OverrideRequest.id == request_id))
    if not lines:
        raise NotFound(_("override request {id} does not exist").format(id=request_id))
    line = lines[0]
    if line.requested_by_id != ctx.actor.id:
        ctx.actor.require(Action.OVERRIDE_CONTACT_RULE)
    return line


def my_answered_requests(
    ctx: Context, since: dt.datetime, after_id: int = 0
) -> list[OverrideRequestLine]:
    """The acting agent's own override requests decided after ``since`` (or at ``since``
    with an id above ``after_id``: two decisions can share a moment), oldest decision
    first: what the desk tells its operator as the answers come in (one range of
    ``ix_override_request_requester``)."""
    check_datetime("since", since)
    check_int("after_id", after_id, low=0, high=MAX_ID)
    stmt = (
        select(OverrideRequest)
        .where(
            OverrideRequest.requested_by_id == ctx.actor.id,
            OverrideRequest.decided_at >= since,
            or_(OverrideRequest.decided_at > since, OverrideRequest.id > after_id),
        )
        .order_by(OverrideRequest.decided_at, OverrideRequest.id)
        .limit(REQUEST_LIST_LIMIT)
    )
    with ctx.db.read() as s:
        return request_lines(s, stmt)


def decide_override_request(
    ctx: Context, request_id: int, *, approve: bool, note: str | None = None, minutes: int = 30
) -> OverrideDecision:
    """Approve (grant the override to the requester, same transaction) or reject (a note
    is required). A request decided meanwhile is refused as stale; nobody decides their
    own request."""
    check_id("request_id", request_id)
    check_flag("approve", approve)
    check_text("note", note, MAX_REASON, multiline=True)
    check_int("minutes", minutes, low=1, high=MAX_OVERRIDE_MINUTES)
    ctx.actor.require(Action.OVERRIDE_CONTACT_RULE)
    now = ctx.now()
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise ServiceError(_("a note has at most {n} characters").format(n=MAX_REASON))
    if not approve and not text:
        raise ServiceError(_("a rejection needs a note saying why"))
    if approve and not 1 <= minutes <= MAX_OVERRIDE_MINUTES:
        raise ServiceError(
            _("an override lasts 1 to {max} minutes").format(max=MAX_OVERRIDE_MINUTES)
        )
    with ctx.db.write() as s:
        stmt = select(OverrideRequest).where(OverrideRequest.id == request_id)
        if _is_pg(s):
            stmt = stmt.with_for_update()
        request = s.scalars(stmt).one_or_none()
        if request is None:
            raise NotFound(_("override request {id} does not exist").format(id=request_id))
        requester = s.get(Agent, request.requested_by_id)
        assert requester is not None  # a foreign key
        if request.status is not OverrideRequestStatus.PENDING:
            decider = s.get(Agent, request.decided_by_id) if request.decided_by_id else None
            raise StaleEdit(
                _("request #{id} is already {status}{by}; nothing was changed").format(
                    id=request.id,
                    status=_(STATUS_LABELS[request.status.value]),
                    by=(" " + _("by {login}").format(login=decider.login)) if decider else "",
                )
            )
        if request.requested_by_id == ctx.actor.id:
            raise PermissionDenied(
                _("you may not decide your own override request; ask another supervisor")
            )
        override: RuleOverride | None = None
        if approve:
            case = load_for_edit(s, request.case_id)
            if not requester.active:
                raise ServiceError(
                    _("{login} is no longer an active agent; reject the request instead").format(
                        login=requester.login
                    )
                )
            override = RuleOverride(
                case_id=case.id,
                rule=_check_rule(request.rule),
                granted_to_id=requester.id,
                granted_by_id=ctx.actor.id,
                reason=request.reason + (f" / {text}" if text else ""),
                granted_at=now,
                expires_at=now + dt.timedelta(minutes=minutes),
            )
            s.add(override)
            s.flush()
        request.status = (
            OverrideRequestStatus.APPROVED if approve else OverrideRequestStatus.REJECTED
        )
        request.decided_by_id = ctx.actor.id
        request.decided_at = now
        request.decision_note = text or None
        request.override_id = override.id if override is not None else None
        after: dict[str, Any] = {"status": request.status.value, "note": text or None}
        if override is not None:
            after |= {
                "override_id": override.id,
                "rule": override.rule,
                "granted_to": requester.id,
                "expires_at": override.expires_at.isoformat(),
            }
        verb = "approved" if approve else "rejected"
        audit.record(
            s,
            ctx.actor,
            f"override_request.{'approve' if approve else 'reject'}",
            "override_request",
            request.id,
            f"{ctx.actor.login} {verb} {requester.login}'s request to waive {request.rule} "
            f"on case {request.case_id}",
            now=now,
            case_id=request.case_id,
            before={"status": OverrideRequestStatus.PENDING.value},
            after=after,
        )
        return OverrideDecision(
            request_id=request.id,
            status=request.status.value,
            override_id=override.id if override is not None else None,
            expires_at=override.expires_at if override is not None else None,
            requested_by_login=requester.login,
        )


# --- the audit trail ----------------------------------------------------------------------


def _scrubbed(value: Any, policy: MaskingPolicy) -> Any:
    # Events are written masked; this is the second line, for numbers quoted in free text.

    if isinstance(value, str):
        return scrub_text(value, policy)
    if isinstance(value, dict):
        return {k: _scrubbed(v, policy) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, policy) for v in value]
    return value


def _prefix(action: str) -> str:
    return action.strip()


def audit_page(
    ctx: Context, flt: AuditFilter, *, before_id: int | None = None, limit: int = 50
) -> AuditPage:
    """Events matching ``flt``, newest first, older than the event ``before_id``."""
    if not isinstance(flt, AuditFilter):
        raise InvalidInput("flt", _("is not an audit filter"))
    check_text("agent_login", flt.agent_login, 64)
    check_optional_id("case_id", flt.case_id)
    check_text("action", flt.action, 60)
    check_optional_datetime("since", flt.since)
    check_optional_datetime("until", flt.until)
    check_optional_id("before_id", before_id)
    check_int("limit", limit, low=-MAX_ID, high=MAX_ID)  # clamped below
    ctx.actor.require(Action.VIEW_BOARD)
    policy = (ctx.profile or load_profile()).masking
    limit = max(1, min(limit, AUDIT_PAGE_MAX))
    if flt.since is not None and flt.until is not None and flt.until <= flt.since:
        raise ServiceError(_("the period ends before it starts"))
    ev = AuditEvent
    who = aliased(Agent)
    with ctx.db.read() as s:
        terms: list[Any] = []
        agent_id: int | None = None
        if flt.agent_login and flt.agent_login.strip():
            agent_id = _agent_by_login(s, flt.agent_login.strip()).id
            terms.append(ev.agent_id == agent_id)
        if flt.case_id is not None:
            terms.append(ev.case_id == flt.case_id)
        if flt.action and _prefix(flt.action):
            terms.append(ev.action.startswith(_prefix(flt.action), autoescape=True))
        if flt.since is not None:
            terms.append(ev.occurred_at >= flt.since)
        if flt.until is not None:
            terms.append(ev.occurred_at < flt.until)
        by_time = agent_id is not None and flt.case_id is None
        if before_id is not None:
            if by_time:
                at = s.scalar(select(ev.occurred_at).where(ev.id == before_id))
                if at is None:
                    raise NotFound(_("audit event {id} does not exist").format(id=before_id))
                # The plain bound keeps the index range short; the row value breaks ties.
                terms.append(ev.occurred_at <= at)
                terms.append(
                    tuple_(ev.occurred_at, ev.id)
                    < tuple_(literal(at, UtcDateTime()), literal(before_id))
                )
            else:
                terms.append(ev.id < before_id)
        order = (ev.occurred_at.desc(), ev.id.desc()) if by_time else (ev.id.desc(),)
        stmt = (
            select(ev, who.login, who.name)
            .outerjoin(who, who.id == ev.agent_id)
            .where(and_(*terms) if terms else literal(True))
            .order_by(*order)
            .limit(limit + 1)
        )
        rows = s.execute(stmt).all()
        lines = tuple(
            AuditLine(
                event_id=e.id,
                occurred_at=e.occurred_at,
                agent_login=login,
                agent_name=name,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                case_id=e.case_id,
                summary=_scrubbed(e.summary, policy),
                before=_scrubbed(e.before, policy) if e.before is not None else None,
                after=_scrubbed(e.after, policy) if e.after is not None else None,
            )
            for e, login, name in rows[:limit]
        )
        holders = {
            line.before["lease_holder_id"]
            for line in lines
            if line.before and isinstance(line.before.get("lease_holder_id"), int)
        }
        names = (
            tuple(s.execute(select(Agent.id, Agent.name).where(Agent.id.in_(holders))).tuples())
            if holders
            else ()
        )
    return AuditPage(lines=lines, more=len(rows) > limit, agent_names=names)


def audit_actions(db: Database, *, window: int = ACTION_WINDOW) -> list[str]:
    """Distinct action names among the newest ``window`` events, sorted (a primary-key
    range: cheap at any table size). A rare old action can still be typed as a prefix."""
    recent = select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(max(1, window))
    sub = recent.subquery()
    with db.read() as s:
        return sorted(s.scalars(select(sub.c.action).distinct()))


# --- a case read-only ---------------------------------------------------------------------


def case_visits(db: Database, case_id: int, *, limit: int = 50) -> list[CaseVisitLine]:
    """The case's home visits, newest first (``ix_appointment_case_time``)."""
    collector = aliased(Agent)
    stmt = (
        select(Appointment, collector.name)
        .join(collector, collector.id == Appointment.collector_id)
        .where(Appointment.case_id == case_id)
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
        .limit(max(1, limit))
    )
    with db.read() as s:
        return [
            CaseVisitLine(
                appointment_id=a.id,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                collector_name=name,
                district=a.district,
                status=a.status.value,
            )
            for a, name in s.execute(stmt)
        ]


def pending_request_count(db: Database) -> int:
    """How many override requests wait for a supervisor (a range of the status index)."""
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(OverrideRequest)
                .where(OverrideRequest.status == OverrideRequestStatus.PENDING)
            )
            or 0
        )
