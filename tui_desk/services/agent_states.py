"""Agent states: ready, paused (with a reason), working a case, wrap-up, offline.

An agent's day is a chain of ``agent_state_span`` rows with no gap and no overlap: a
change ends the open span at the change's time and opens the next in the same
transaction, with its audit event (``agent.state``). At most one span per agent is open
(a unique partial index); no span at all means offline. Going offline opens an
``offline`` span, so the time away counts too, until the next change.

A change of state is an event of the agent, not of the case worked: its audit event
names the case in ``after`` but not in ``case_id``, so a case's history (and the rules
that read it, such as undoing an outcome) sees only what was done to the case.

The service checks again what the desk checks: the role (``work_cases``), the change
(``rules.states.check_change``), the pause reason against the profile, the case's lease
for a skip. A desk that stops beating is taken offline by the worker
(``stale_states_job``) at its last heartbeat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AgentPresence,
    AgentState,
    AgentStateSpan,
    CollectionCase,
)
from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.rules import states as rules
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, RuleRefused, ServiceError
from tui_desk.services.jobs import job_write
from tui_desk.services.presence import DEFAULT_STALE_AFTER
from tui_desk.services.validation import InvalidInput, check_code, check_id, check_optional_id
from tui_desk.views.agent_state import OFFLINE_STATUS, AgentStatus, SkippedCase

STALE_STATES_EVERY = dt.timedelta(seconds=30)
"""How often the worker looks for desks that stopped beating with a state still open."""

REFUSALS: dict[str, str] = {
    "same_state": N_("you are already {state}"),
    "not_allowed": N_("you cannot go from {current} to {state}"),
    "reason_required": N_("a pause needs a reason"),
    "unknown_reason": N_("{reason} is not one of the profile's pause reasons"),
    "reason_not_expected": N_("only a pause has a reason"),
    "case_required": N_("{state} is on a case: give the case"),
    "not_wrap_up": N_("you are not wrapping up"),
    "already_extended": N_("this wrap-up was already extended once"),
    "no_extension": N_("the profile allows no wrap-up extension"),
    "ended": N_("this wrap-up has already ended"),
}
"""A refusal of ``rules.states`` in words (``{state}``, ``{current}``, ``{reason}``)."""


def _refused(code: str, **names: str) -> RuleRefused:
    return RuleRefused(_(REFUSALS[code]).format(**names))


def status_of(span: AgentStateSpan | None) -> AgentStatus:
    """The view of an agent's open span (offline with no ``since`` when there is none)."""
    if span is None:
        return OFFLINE_STATUS
    return AgentStatus(
        state=span.state,
        since=span.started_at,
        reason=span.reason,
        case_id=span.case_id,
        wrap_up_until=span.wrap_up_until,
        extended=bool(span.extended),
    )


def _open_span(session: Session, agent_id: int) -> AgentStateSpan | None:
    return session.scalars(
        select(AgentStateSpan).where(
            AgentStateSpan.agent_id == agent_id, AgentStateSpan.ended_at.is_(None)
        )
    ).first()


def _lock_agent(session: Session, agent_id: int) -> None:
    """Two desks of one agent change its state one after the other (PostgreSQL row lock;
    SQLite's write transaction is already the only one)."""
    found = session.scalar(select(Agent.id).where(Agent.id == agent_id).with_for_update())
    if found is None:
        raise NotFound(_("no agent {agent_id}").format(agent_id=agent_id))


def current_state(ctx: Context) -> AgentStatus:
    """The actor's state now (their open span), read once."""
    with ctx.db.read() as s:
        return status_of(_open_span(s, ctx.actor.id))


def _switch(
    session: Session,
    actor: Actor,
    span: AgentStateSpan | None,
    state: AgentState,
    now: dt.datetime,
    *,
    reason: str | None = None,
    case_id: int | None = None,
    wrap_up_until: dt.datetime | None = None,
    why: str = "",
) -> AgentStateSpan:
    """End ``span`` (the open one) at ``now`` and open ``state``'s, with the audit event."""
    before = None
    start = now
    if span is not None:
        # A change never ends a span before it began (two desks' clocks a little apart).
        start = max(now, span.started_at)
        span.ended_at = start
        before = {"state": span.state.value, "reason": span.reason, "case_id": span.case_id}
        session.flush()  # the open span is closed before the next one opens (unique index)
    new = AgentStateSpan(
        agent_id=actor.id,
        state=state,
        reason=reason,
        case_id=case_id,
        started_at=start,
        wrap_up_until=wrap_up_until,
        extended=False,
    )
    session.add(new)
    session.flush()
    after: dict[str, object] = {"state": state.value, "reason": reason, "case_id": case_id}
    if wrap_up_until is not None:
        after["wrap_up_until"] = wrap_up_until.isoformat()
    summary = f"{actor.login} is {state.value}"
    if reason:
        summary += f" ({reason})"
    if why:
        summary += f": {why}"
    audit.record(
        session, actor, rules.STATE_ACTION, "agent", actor.id, summary, now=now,
        before=before, after=after,
    )  # fmt: skip
    return new


def _check_case(session: Session, case_id: int) -> None:
    if session.get(CollectionCase, case_id) is None:
        raise NotFound(_("case {case_id} not found").format(case_id=case_id))


def change_state(
    ctx: Context, state: AgentState | str, *, reason: str | None = None, case_id: int | None = None
) -> AgentStatus:
    """The actor goes to ``state`` now: the open span ends, the next opens, audited.

    ``reason`` is a pause's reason (one of the profile's ``[states] pause_reasons``);
    ``case_id`` the case worked or wrapped up. A wrap-up ends by itself after the
    profile's ``wrap_up_seconds`` (the desk turns it into ready). Refused (``RuleRefused``)
    when the rules forbid the change.
    """
    ctx.actor.require(Action.WORK_CASES)
    try:
        target = AgentState(state)
    except ValueError:
        raise InvalidInput("state", _("is not an agent state")) from None
    policy = ctx.profile.states
    if reason is not None:
        if target is not AgentState.PAUSED:
            raise InvalidInput("reason", _(REFUSALS["reason_not_expected"]))
        reason = check_code("reason", reason, policy.pause_reasons)
    check_optional_id("case_id", case_id)
    now = ctx.now()
    with ctx.db.write() as s:
        _lock_agent(s, ctx.actor.id)
        span = _open_span(s, ctx.actor.id)
        current = span.state if span is not None else AgentState.OFFLINE
        refusal = rules.check_change(
            current, target, policy=policy, reason=reason,
            current_reason=span.reason if span is not None else None,
            case_id=case_id, current_case_id=span.case_id if span is not None else None,
        )  # fmt: skip
        if refusal is not None:
            raise _refused(
                refusal.code,
                state=label("agent_state", target.value),
                current=label("agent_state", current.value),
                reason=label("pause_reason", reason) if reason else "",
            )
        if case_id is not None:
            _check_case(s, case_id)
        until = rules.wrap_up_until(now, policy) if target is AgentState.WRAP_UP else None
        new = _switch(
            s, ctx.actor, span, target, now, reason=reason, case_id=case_id, wrap_up_until=until
        )
        return status_of(new)


def extend_wrap_up(ctx: Context) -> AgentStatus:
    """The running wrap-up lasts the profile's ``wrap_up_extend_seconds`` longer; once."""
    ctx.actor.require(Action.WORK_CASES)
    policy = ctx.profile.states
    now = ctx.now()
    with ctx.db.write() as s:
        _lock_agent(s, ctx.actor.id)
        span = _open_span(s, ctx.actor.id)
        state = span.state if span is not None else AgentState.OFFLINE
        result = rules.extend_wrap_up(
            state,
            span.wrap_up_until if span is not None else None,
            bool(span.extended) if span is not None else False,
            now,
            policy,
        )
        if isinstance(result, rules.Refusal):
            raise _refused(result.code)
        assert span is not None  # a wrap-up is open
        before = span.wrap_up_until
        span.wrap_up_until = result
        span.extended = True
        audit.record(
            s, ctx.actor, rules.STATE_ACTION, "agent", ctx.actor.id,
            f"{ctx.actor.login} extended the wrap-up", now=now,
            before={"state": span.state.value, "wrap_up_until": before.isoformat() if before else None},
            after={"state": span.state.value, "wrap_up_until": result.isoformat(), "extended": True},
        )  # fmt: skip
        return status_of(span)


def go_offline(ctx: Context) -> AgentStatus:
    """The actor leaves (quits the desk, hangs up): the open span ends now and an offline
    one opens. Nothing happens when they are offline already (a second desk closing)."""
    now = ctx.now()
    with ctx.db.write() as s:
        _lock_agent(s, ctx.actor.id)
        span = _open_span(s, ctx.actor.id)
        if span is None or span.state is AgentState.OFFLINE:
            return status_of(span)
        return status_of(_switch(s, ctx.actor, span, AgentState.OFFLINE, now, why="left the desk"))


def skip_case(ctx: Context, case_id: int, reason: str) -> SkippedCase:
    """In auto mode's preview the actor skips the case they were given, with one of the
    profile's ``[states] skip_reasons``: recorded (``case.skip``, with the reason) and the
    actor is ready again, in one transaction.

    The lease is left to the next claim, which releases it in its own transaction (so
    the skipped case is not given straight back), or to a release when nothing is left
    to take. Refused unless the actor holds the case's lease and works it.
    """
    ctx.actor.require(Action.WORK_CASES)
    check_id("case_id", case_id)
    policy = ctx.profile.states
    code = check_code("reason", reason, policy.skip_reasons)
    now = ctx.now()
    with ctx.db.write() as s:
        _lock_agent(s, ctx.actor.id)
        row = s.get(CollectionCase, case_id)
        if row is None:
            raise NotFound(_("case {case_id} not found").format(case_id=case_id))
        expires = row.lease_expires_at
        if row.lease_holder_id != ctx.actor.id or expires is None or expires <= now:
            raise ServiceError(
                _("case {case_id} is not in your hands: nothing to skip").format(case_id=case_id)
            )
        span = _open_span(s, ctx.actor.id)
        audit.record(
            s, ctx.actor, rules.SKIP_ACTION, "collection_case", case_id,
            f"{ctx.actor.login} skipped case {case_id} ({code})", now=now, case_id=case_id,
            after={"reason": code},
        )  # fmt: skip
        if span is not None and span.state is AgentState.READY:
            return SkippedCase(case_id, code, status_of(span))
        new = _switch(s, ctx.actor, span, AgentState.READY, now, why=f"skipped case {case_id}")
        return SkippedCase(case_id, code, status_of(new))


# --- the worker: desks that stopped beating ------------------------------------------


def close_stale_states(
    db: Database, now: dt.datetime, *, stale_after: dt.timedelta = DEFAULT_STALE_AFTER
) -> int:
    """Agents whose open span is not offline and whose desk has not beaten for
    ``stale_after`` go offline at their last heartbeat (or when the span began, with no
    heartbeat at all). One transaction, an audit event each; how many were closed."""
    closed = 0
    with job_write(db) as s:
        candidates = s.scalars(
            select(AgentStateSpan.agent_id).where(
                AgentStateSpan.ended_at.is_(None), AgentStateSpan.state != AgentState.OFFLINE
            )
        ).all()
        for agent_id in sorted(candidates):
            # The agent's row first, as a desk's change takes it: the two never wait on
            # each other in opposite orders.
            agent = s.scalars(select(Agent).where(Agent.id == agent_id).with_for_update()).one()
            span = _open_span(s, agent_id)
            if span is None or span.state is AgentState.OFFLINE:
                continue
            last_seen = s.scalar(
                select(AgentPresence.last_seen).where(AgentPresence.agent_id == agent_id)
            )
            at = rules.stale_offline_at(last_seen, span.started_at, now, stale_after)
            if at is None:
                continue
            actor = Actor.of(agent)
            before = {"state": span.state.value, "reason": span.reason, "case_id": span.case_id}
            span.ended_at = at
            s.flush()
            s.add(
                AgentStateSpan(
                    agent_id=agent_id, state=AgentState.OFFLINE, reason=None, case_id=None,
                    started_at=at, wrap_up_until=None, extended=False,
                )
            )  # fmt: skip
            s.flush()
            audit.record(
                s, None, rules.STATE_ACTION, "agent", agent_id,
                f"{actor.login} is offline: the desk stopped answering", now=now,
                before=before, after={"state": AgentState.OFFLINE.value, "at": at.isoformat()},
            )  # fmt: skip
            closed += 1
    return closed


def stale_states_job(profile: str = "cn") -> Callable[[Database, dt.datetime], str]:
    """The worker's job: take the agents of silent desks offline."""
    del profile  # the stale time is presence's, the same for every profile

    def run(db: Database, now: dt.datetime) -> str:
        closed = close_stale_states(db, now)
        return f"{closed} agent(s) taken offline"

    return run
