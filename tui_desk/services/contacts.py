"""The contact log (process step 1): may this borrower be contacted now, and logging it.

``contact_status`` answers, for the desk's header, whether the borrower may be contacted
*now* and if not which rule says no and from when. ``log_contact`` records one attempt in
one transaction: the contact rules decide outbound attempts (a supervisor's override lets
exactly one refused attempt through), and the case keeps a next action, its callback,
its promise to pay and its stage in step with what happened.

The rules themselves are pure (``tui_desk.rules.contact``); their inputs (the candidate
time zones, the recent history, the number's flags) are gathered, and an outbound attempt
checked, in ``contact_checks``, which the dialer shares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseHold,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Outcome,
    Phone,
    PhoneKind,
    PromiseStatus,
    PromiseToPay,
    Relation,
    RuleOverride,
    Stage,
)
from tui_desk.formatting import label
from tui_desk.i18n import _
from tui_desk.rules.contact import (
    ContactPolicy,
    ContactRequest,
    PastContact,
    check_contact,
)
from tui_desk.rules.masking import mask_phone
from tui_desk.rules.outcomes import impossible_contact, needs_of, party_for
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import (
    guard_lease,
    load_for_edit,
    office_today,
    over_lease,
    recompute_priority,
)
from tui_desk.services.contact_checks import (
    DIAL_ACTION,
    OVERRIDABLE_RULES,
    apply_rules,
    borrower_of,
    contact_policy,
    contact_request,
    is_on_hold,
    load_case,
    pending_dial,
    phone_of,
    recent_history,
    target_party,
)
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, PermissionDenied, RuleRefused, ServiceError
from tui_desk.services.validation import (
    check_id,
    check_text,
)
from tui_desk.views.contacts import ContactStatus, LoggedContact

MAX_NOTE = 2000
# How long after logging it an agent may undo an outcome they logged by mistake
# (profile key ``contact.undo_minutes``).
UNDO_MINUTES = 2
# Audit events that record no work on a case: a lease moving does not block an undo.
_LEASE_ACTIONS = frozenset({"case.claim", "case.lease_renew", "case.release", "case.lease_release"})
MAX_REASON = 1000
MAX_OVERRIDE_MINUTES = 240
_DIALLED = (Channel.PHONE, Channel.SMS)
_STAGE_ORDER = {stage: i for i, stage in enumerate(Stage)}


# --- small shared helpers (casework and promises use them too) ----------------------------


def resolve_now(now: dt.datetime) -> dt.datetime:
    """``now`` in UTC; a naive time is a programming error."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def profile_int(profile: Profile, section: str, key: str, default: int) -> int:
    value = profile.section(section).get(key, default)
    return int(value)


def office_moment(day: dt.date, at: dt.time, profile: Profile) -> dt.datetime:
    """``day`` at ``at`` office time, in UTC."""
    zone = ZoneInfo(profile.office_timezone)
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def stage_at_least(case: CollectionCase, stage: Stage) -> bool:
    """Move the case forward to ``stage`` if it is earlier; True when it moved."""
    if _STAGE_ORDER[case.stage] < _STAGE_ORDER[stage]:
        case.stage = stage
        return True
    return False


def active_holds(session: Session, case_id: int) -> list[CaseHold]:
    return list(
        session.scalars(
            select(CaseHold)
            .where(CaseHold.case_id == case_id, CaseHold.released_at.is_(None))
            .order_by(CaseHold.id)
        )
    )


def _cadence_time(profile: Profile) -> dt.time:
    hh, mm = str(profile.section("next_action").get("at", "10:00")).split(":")
    return dt.time(int(hh), int(mm))


def cadence_days(profile: Profile, outcome: str) -> int:
    section = profile.section("next_action")
    days = section.get("days", {})
    assert isinstance(days, dict)
    return int(days.get(outcome, section.get("default_days", 1)))


def default_next_action(now: dt.datetime, profile: Profile, days: int | None = None) -> dt.datetime:
    """``days`` office days from today at the profile's cadence time, always after ``now``."""
    if days is None:
        days = profile_int(profile, "next_action", "default_days", 1)
    moment = office_moment(
        office_today(now, profile) + dt.timedelta(days=max(0, days)),
        _cadence_time(profile),
        profile,
    )
    if moment <= now:
        moment = office_moment(
            office_today(now, profile) + dt.timedelta(days=1), _cadence_time(profile), profile
        )
    return moment


def ensure_next_action(case: CollectionCase, now: dt.datetime, profile: Profile) -> None:
    """An open case always has a next action: a case without one would be forgotten."""
    if case.status == CaseStatus.OPEN and case.next_action_at is None:
        case.next_action_at = default_next_action(now, profile)


def outstanding_minor(
    session: Session, case: CollectionCase, now: dt.datetime, profile: Profile
) -> int:
    """What the borrower owes on the case now: the ledger's balance (``services/ledger.py``)."""
    return ledger.read_balance(session, case.id, now, profile).outstanding_minor


# --- the borrower's numbers, in dialing order -------------------------------------------


def _phone_preference(phone: Phone, policy: ContactPolicy) -> tuple[bool, bool, bool, bool, int]:
    return (
        phone.do_not_call,
        phone.relation.value not in policy.allowed_parties,
        phone.relation is not Relation.BORROWER,
        phone.kind is not PhoneKind.MOBILE,
        phone.id,
    )


def borrower_phones(session: Session, borrower_id: int, policy: ContactPolicy) -> list[Phone]:
    phones = session.scalars(select(Phone).where(Phone.borrower_id == borrower_id)).all()
    return sorted(phones, key=lambda p: _phone_preference(p, policy))


# --- may the borrower be contacted now? -------------------------------------------------


def contact_status(
    db: Database,
    case_id: int,
    *,
    channel: Channel = Channel.PHONE,
    phone_id: int | None = None,
    now: dt.datetime,
    profile: Profile,
) -> ContactStatus:
    """May this borrower be contacted on ``channel`` now, and if not, which rule and when.

    Without ``phone_id`` a call or SMS is judged on the borrower's numbers in the order an
    operator would dial them (own mobile first, do-not-call last): the first number that
    may be used now is the answer, else the refusal for the preferred number.
    """
    with db.read() as s:
        return read_contact_status(
            s, case_id, channel=channel, phone_id=phone_id, now=now, profile=profile
        )


def read_contact_status(
    s: Session,
    case_id: int,
    *,
    channel: Channel = Channel.PHONE,
    phone_id: int | None = None,
    now: dt.datetime,
    profile: Profile,
) -> ContactStatus:
    now = resolve_now(now)
    prof = profile
    policy = contact_policy(prof)
    case = load_case(s, case_id)
    if case.status != CaseStatus.OPEN:
        return ContactStatus(
            False,
            "archived",
            _("case {case_id} is archived and read-only").format(case_id=case_id),
            None,
            phone_id,
        )
    borrower = borrower_of(s, case)
    phones: Sequence[Phone | None]
    if phone_id is not None:
        phones = [phone_of(s, borrower, phone_id)]
    elif channel in _DIALLED:
        phones = borrower_phones(s, borrower.id, policy) or [None]
    else:
        phones = [None]
    on_hold = is_on_hold(s, case)
    history = recent_history(s, case.id, now, policy)
    first: ContactStatus | None = None
    for phone in phones:
        request = contact_request(
            now=now,
            channel=channel,
            direction=Direction.OUTBOUND,
            borrower=borrower,
            phone=phone,
            party=target_party(phone, None),
            on_hold=on_hold,
        )
        decision = check_contact(request, history, policy)
        status = ContactStatus(
            decision.allowed,
            decision.rule,
            decision.reason,
            decision.allowed_from,
            phone.id if phone is not None else None,
        )
        if decision.allowed:
            return status
        first = first or status
    assert first is not None
    return first


# --- overrides --------------------------------------------------------------------------


def grant_override(
    ctx: Context, case_id: int, rule: str, granted_to: int, reason: str, *, minutes: int = 30
) -> int:
    """Let ``granted_to`` make one attempt that ``rule`` forbids, within ``minutes``."""
    ctx.actor.require(Action.OVERRIDE_CONTACT_RULE)
    now = ctx.now()
    if granted_to == ctx.actor.id:
        raise PermissionDenied(
            _("a supervisor may not grant an override to themselves; ask another supervisor")
        )
    if rule not in OVERRIDABLE_RULES:
        if rule in ("hold", "do_not_call"):
            raise ServiceError(
                _(
                    "the {rule} rule is not waived by an override: release the hold or "
                    "clear the do-not-call flag instead"
                ).format(rule=label("rule", rule))
            )
        raise ServiceError(
            _("unknown contact rule {rule!r}; rules that can be waived: {rules}").format(
                rule=rule, rules=", ".join(OVERRIDABLE_RULES)
            )
        )
    reason = _required_text(reason, _("an override needs a reason"), MAX_REASON)
    if not 1 <= minutes <= MAX_OVERRIDE_MINUTES:
        raise ServiceError(
            _("an override lasts 1 to {max} minutes").format(max=MAX_OVERRIDE_MINUTES)
        )
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id)
        agent = s.get(Agent, granted_to)
        if agent is None or not agent.active:
            raise NotFound(
                _("agent {agent_id} does not exist or is inactive").format(agent_id=granted_to)
            )
        override = RuleOverride(
            case_id=case.id,
            rule=rule,
            granted_to_id=agent.id,
            granted_by_id=ctx.actor.id,
            reason=reason,
            granted_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
        s.add(override)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "contact.override.grant",
            "rule_override",
            override.id,
            f"{ctx.actor.login} waived {rule} once for {agent.login} on case {case.id}",
            now=now,
            case_id=case.id,
            after={
                "rule": rule,
                "granted_to": agent.id,
                "expires_at": override.expires_at.isoformat(),
            },
        )
        return override.id


# --- logging a contact ------------------------------------------------------------------


def _required_text(value: str | None, missing: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(missing)
    if len(text) > limit:
        raise ServiceError(_("at most {n} characters, please").format(n=limit))
    return text


def required_reason(value: str | None, missing: str, limit: int = MAX_REASON) -> str:
    """A reason a write must carry: ``missing`` when empty, at most ``limit`` characters."""
    text = (value or "").strip()
    if not text:
        raise ServiceError(missing)
    if len(text) > limit:
        raise ServiceError(_("a reason has at most {n} characters").format(n=limit))
    return text


def clean_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if not text:
        return None
    if len(text) > MAX_NOTE:
        raise ServiceError(
            _("a note has at most {max} characters (this one has {n})").format(
                max=MAX_NOTE, n=len(text)
            )
        )
    return text


def _as_outcome(value: Outcome | str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError as exc:
        raise ServiceError(_("unknown contact outcome {value!r}").format(value=value)) from exc


_CALL_ONLY = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.LEFT_MESSAGE})
_MESSAGE_ONLY = frozenset({Outcome.SENT, Outcome.DELIVERED, Outcome.FAILED})


def _check_fits(channel: Channel, outcome: Outcome) -> None:
    if outcome in _CALL_ONLY and channel is not Channel.PHONE:
        raise ServiceError(
            _("the outcome {outcome} is for phone calls, not {channel}").format(
                outcome=outcome.value, channel=channel.value
            )
        )
    if outcome in _MESSAGE_ONLY and channel in (Channel.PHONE, Channel.VISIT):
        raise ServiceError(
            _("the outcome {outcome} is for messages, not {channel}").format(
                outcome=outcome.value, channel=channel.value
            )
        )


def _check_callback(
    callback_at: dt.datetime | None,
    request: ContactRequest,
    policy: ContactPolicy,
    profile: Profile,
    now: dt.datetime,
) -> dt.datetime:
    if callback_at is None:
        raise ServiceError(_("a callback needs the time to call back"))
    if callback_at.tzinfo is None:
        raise ServiceError(_("the callback time needs a time zone"))
    callback_at = callback_at.astimezone(dt.UTC)
    if callback_at <= now:
        raise ServiceError(_("the callback time must be in the future"))
    max_days = profile_int(profile, "contact", "callback_max_days", 30)
    if callback_at > now + dt.timedelta(days=max_days):
        raise ServiceError(_("a callback is at most {days} days ahead").format(days=max_days))
    # A callback promised inside quiet hours could not be made when it falls due.
    probe = replace(
        request,
        now=callback_at,
        channel=Channel.PHONE.value,
        direction=Direction.OUTBOUND.value,
        party=Relation.BORROWER.value,
        do_not_call=False,
        on_hold=False,
    )
    at_callback = check_contact(probe, [], policy)
    if at_callback.rule == "quiet_hours":
        raise ServiceError(
            _("the callback time falls in quiet hours: {reason}").format(reason=at_callback.reason)
        )
    return callback_at


def _check_promise(
    session: Session,
    case: CollectionCase,
    amount_minor: int | None,
    due: dt.date | None,
    profile: Profile,
    now: dt.datetime,
) -> tuple[int, dt.date]:
    if amount_minor is None or due is None:
        raise ServiceError(_("a promise to pay needs an amount and a date"))
    if amount_minor <= 0:
        raise ServiceError(_("the promised amount must be positive"))
    owed = outstanding_minor(session, case, now, profile)
    if amount_minor > owed:
        # PROCESS.md step 10: never push a borrower to promise more than is owed.
        raise ServiceError(
            _("the promised amount is more than the borrower owes ({owed} {currency})").format(
                owed=f"{owed / 100:.2f}", currency=profile.currency
            )
        )
    today = office_today(now, profile)
    if due < today:
        raise ServiceError(_("the promised date is in the past"))
    max_days = profile_int(profile, "contact", "promise_max_days", 30)
    if due > today + dt.timedelta(days=max_days):
        raise ServiceError(
            _(
                "a promise to pay is at most {days} days ahead; agree a repayment plan instead"
            ).format(days=max_days)
        )
    return amount_minor, due


def _next_action(
    *,
    outcome: Outcome,
    callback_at: dt.datetime | None,
    promise_due: dt.date | None,
    request: ContactRequest,
    history: list[PastContact],
    policy: ContactPolicy,
    profile: Profile,
    now: dt.datetime,
) -> dt.datetime:
    if callback_at is not None:
        return callback_at
    if promise_due is not None:
        after = profile_int(profile, "next_action", "after_promise_due_days", 1)
        moment = office_moment(
            promise_due + dt.timedelta(days=after), _cadence_time(profile), profile
        )
    else:
        moment = default_next_action(now, profile, cadence_days(profile, outcome.value))
    # Not before the rules allow the next call: a case due "now" that may not be called
    # would sit at the top of the queue for nothing. Hard refusals (hold, do-not-call)
    # do not move it; a person has to act on those.
    probe = replace(
        request,
        now=moment,
        channel=Channel.PHONE.value,
        direction=Direction.OUTBOUND.value,
        party=Relation.BORROWER.value,
        do_not_call=False,
        on_hold=False,
    )
    decision = check_contact(probe, history, policy)
    if not decision.allowed and decision.allowed_from is not None:
        moment = max(moment, decision.allowed_from)
    return moment


def _without(history: list[PastContact], attempt: ContactAttempt) -> list[PastContact]:
    """``history`` less the provisional row of ``attempt`` (counted again as logged)."""
    out = list(history)
    for index, past in enumerate(out):
        if past.at == attempt.started_at and past.channel == attempt.channel.value:
            del out[index]
            break
    return out


def log_contact(
    ctx: Context,
    case_id: int,
    *,
    channel: Channel,
    direction: Direction,
    outcome: Outcome | str,
    phone_id: int | None = None,
    party: Relation | None = None,
    note: str | None = None,
    callback_at: dt.datetime | None = None,
    promise_amount_minor: int | None = None,
    promise_due: dt.date | None = None,
    expected_version: int | None = None,
    override_reason: str | None = None,
) -> LoggedContact:
    """Record one contact attempt and everything it implies for the case, in one go.

    Outbound attempts must pass the contact rules (or use a supervisor's override granted
    to this agent for the refusing rule, which is then spent); inbound contacts are always
    logged and never count toward caps. ``outcome`` may be the ``Outcome`` or its value
    (the quick-outcome table in ``rules.outcomes`` holds values).

    While another agent works the case (a live lease), an inbound contact is still logged
    by whoever answered it; anything else takes a supervisor's ``override_reason``. Both
    are audited (``guard_lease``).
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    policy = contact_policy(prof)
    channel = Channel(channel)
    direction = Direction(direction)
    result = _as_outcome(outcome)
    note = clean_note(note)
    _check_fits(channel, result)
    impossible = impossible_contact(direction.value, result.value)
    if impossible is not None:
        raise RuleRefused(impossible)
    needs = needs_of(result.value)
    if needs != "callback" and callback_at is not None:
        raise ServiceError(_("a callback time goes with the callback outcome only"))
    if needs != "promise" and (promise_amount_minor is not None or promise_due is not None):
        raise ServiceError(_("a promised amount and date go with the promise outcome only"))

    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version)
        over = guard_lease(
            s,
            case,
            ctx,
            override_reason=override_reason,
            inbound=direction is Direction.INBOUND,
        )
        borrower = borrower_of(s, case)
        phone: Phone | None = None
        if phone_id is not None:
            phone = phone_of(s, borrower, phone_id)
        elif channel in _DIALLED and direction is Direction.OUTBOUND:
            # The number contact_status judged: the one an operator would dial first.
            phones = borrower_phones(s, borrower.id, policy)
            if not phones:
                raise ServiceError(_("the borrower has no phone number on file"))
            phone = phones[0]
        request = contact_request(
            now=now,
            channel=channel,
            direction=direction,
            borrower=borrower,
            phone=phone,
            party=target_party(phone, party),
            on_hold=is_on_hold(s, case),
        )
        history = recent_history(s, case.id, now, policy)
        if needs == "callback":
            callback_at = _check_callback(callback_at, request, policy, prof, now)
        promise_terms = (
            _check_promise(s, case, promise_amount_minor, promise_due, prof, now)
            if needs == "promise"
            else None
        )
        # A call dialled through the phone system was checked and logged when it was
        # placed (provisional outcome): its outcome now completes that attempt.
        dialled: ContactAttempt | None = None
        if channel is Channel.PHONE and direction is Direction.OUTBOUND:
            dialled = pending_dial(s, ctx.actor.id, case.id, phone.id if phone else None, now)
        overrides: list[RuleOverride] = []
        if dialled is not None:
            history = _without(history, dialled)
        elif direction is Direction.OUTBOUND:
            overrides = apply_rules(s, ctx.actor, case, request, history, policy, prof, now)
        for override in overrides:
            override.used_at = now

        before = {
            "stage": case.stage.value,
            "next_action_at": _iso(case.next_action_at),
            "callback_at": _iso(case.callback_at),
        }
        reached = (
            party
            if party is not None
            else party_for(result.value, phone.relation.value if phone else None)
        )
        if dialled is not None:
            attempt = dialled
            attempt.party = Relation(reached) if reached is not None else None
            attempt.outcome = result
            attempt.note = note
            attempt.callback_at = callback_at
        else:
            attempt = ContactAttempt(
                case_id=case.id,
                agent_id=ctx.actor.id,
                channel=channel,
                direction=direction,
                phone_id=phone.id if phone else None,
                party=Relation(reached) if reached is not None else None,
                outcome=result,
                note=note,
                started_at=now,
                callback_at=callback_at,
                override_by_id=overrides[0].granted_by_id if overrides else None,
                override_reason="; ".join(o.reason for o in overrides) or None,
            )
            s.add(attempt)
        s.flush()

        promise_id: int | None = None
        superseded: list[int] = []
        if promise_terms is not None:
            amount, due = promise_terms
            # One promise stands at a time: a new one replaces the open one, which is
            # then neither kept nor broken (it must not count as a broken promise).
            for old in s.scalars(
                select(PromiseToPay).where(
                    PromiseToPay.case_id == case.id, PromiseToPay.status == PromiseStatus.OPEN
                )
            ):
                old.status = PromiseStatus.CANCELLED
                old.resolved_at = now
                superseded.append(old.id)
            promise = PromiseToPay(
                case_id=case.id,
                contact_id=attempt.id,
                amount_minor=amount,
                due_on=due,
                status=PromiseStatus.OPEN,
                created_by_id=ctx.actor.id,
                created_at=now,
            )
            s.add(promise)
            s.flush()
            promise_id = promise.id

        if callback_at is not None:
            case.callback_at = callback_at
            case.callback_agent_id = ctx.actor.id
        elif case.callback_at is not None and case.callback_at <= now:
            # The case was worked at or after its callback time: the callback is done.
            case.callback_at = None
            case.callback_agent_id = None
        counted = [*history, PastContact(now, channel.value, direction.value, result.value)]
        next_at = _next_action(
            outcome=result,
            callback_at=callback_at,
            promise_due=promise_terms[1] if promise_terms else None,
            request=request,
            history=counted,
            policy=policy,
            profile=prof,
            now=now,
        )
        if case.callback_at is not None and case.callback_at > now:
            next_at = min(next_at, case.callback_at)
        case.next_action_at = next_at
        stage_at_least(case, Stage.CONTACTING)
        # The case was worked: what a contact strategy added to its priority has done its job.
        case.priority_boost = 0
        recompute_priority(case, now, prof)
        s.flush()

        after: dict[str, object] = {
            "contact_id": attempt.id,
            "channel": channel.value,
            "direction": direction.value,
            "outcome": result.value,
            "party": reached,
            "phone": mask_phone(phone.e164, prof.masking) if phone else None,
            "stage": case.stage.value,
            "next_action_at": _iso(case.next_action_at),
            "callback_at": _iso(case.callback_at),
            **over_lease(over, override_reason),
        }
        if promise_id is not None and promise_terms is not None:
            after.update(
                promise_id=promise_id,
                promise_amount_minor=promise_terms[0],
                promise_due=promise_terms[1].isoformat(),
                superseded_promises=superseded,
            )
        if overrides:
            after["overrides"] = [
                {"id": o.id, "rule": o.rule, "granted_by": o.granted_by_id} for o in overrides
            ]
        summary = f"{ctx.actor.login} logged {direction.value} {channel.value}: {result.value}"
        if result is Outcome.AGREES_VISIT:
            # Registration is its own explicit step (consent: who, when, how).
            summary += " (agrees to a home visit; register the borrower for the service)"
            after["agrees_visit"] = True
        audit.record(
            s,
            ctx.actor,
            "contact.log",
            "contact_attempt",
            attempt.id,
            summary,
            now=now,
            case_id=case.id,
            before=before,
            after=after,
        )
        return LoggedContact(
            contact_id=attempt.id,
            case_version=case.version,
            promise_id=promise_id,
            override_used=bool(overrides),
        )


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


# --- undoing the last outcome ----------------------------------------------------------------


def undo_window(profile: Profile) -> dt.timedelta:
    return dt.timedelta(minutes=profile_int(profile, "contact", "undo_minutes", UNDO_MINUTES))


def undo_contact(ctx: Context, contact_id: int, reason: str | None = None) -> None:
    """Undo an outcome logged by mistake: the attempt is voided, never deleted.

    Only the agent who logged it, within ``undo_window`` of logging it, only their newest
    attempt on the case and only while nothing else was recorded on the case since. The
    case goes back to what it was before the attempt (stage, next action, callback), a
    promise the attempt created is cancelled and the one it replaced stands again; the
    voided attempt stays in the log, marked, and no longer counts toward the caps. One
    audited ``contact.undo`` event.
    """
    check_id("contact_id", contact_id)
    check_text("reason", reason, 500)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    why = clean_note(reason)
    window = undo_window(prof)
    with ctx.db.write() as s:
        attempt = s.get(ContactAttempt, contact_id)
        if attempt is None:
            raise NotFound(_("contact {id} does not exist").format(id=contact_id))
        case = load_for_edit(
            s, attempt.case_id, ctx=ctx, inbound=attempt.direction is Direction.INBOUND
        )
        if attempt.voided_at is not None:
            raise ServiceError(_("this contact was already undone"))
        if attempt.agent_id != ctx.actor.id:
            raise PermissionDenied(_("only the agent who logged a contact may undo it"))
        logged = s.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == "contact.log",
                AuditEvent.entity == "contact_attempt",
                AuditEvent.entity_id == attempt.id,
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).first()
        if logged is None or _dialled(s, attempt.id):
            raise RuleRefused(
                _("only an outcome logged at the desk can be undone; this contact was not")
            )
        if now - logged.occurred_at > window:
            raise RuleRefused(
                _("an outcome can be undone within {n} minutes of logging it only").format(
                    n=int(window.total_seconds() // 60)
                )
            )
        newest = s.scalar(
            select(ContactAttempt.id)
            .where(
                ContactAttempt.case_id == case.id,
                ContactAttempt.agent_id == ctx.actor.id,
                ContactAttempt.voided_at.is_(None),
            )
            .order_by(ContactAttempt.started_at.desc(), ContactAttempt.id.desc())
            .limit(1)
        )
        if newest != attempt.id:
            raise RuleRefused(_("only your newest contact on the case can be undone"))
        later = s.scalar(
            select(AuditEvent.action)
            .where(
                AuditEvent.case_id == case.id,
                AuditEvent.id > logged.id,
                AuditEvent.action.not_in(_LEASE_ACTIONS),
            )
            .order_by(AuditEvent.id)
            .limit(1)
        )
        if later is not None:
            raise RuleRefused(
                _(
                    "something else was recorded on the case since ({action}); "
                    "the contact can no longer be undone"
                ).format(action=later)
            )

        before_log = logged.before or {}
        after_log = logged.after or {}
        before = {
            "outcome": attempt.outcome.value,
            "stage": case.stage.value,
            "next_action_at": _iso(case.next_action_at),
            "callback_at": _iso(case.callback_at),
            "voided": False,
        }
        attempt.voided_at = now
        attempt.voided_by_id = ctx.actor.id
        attempt.void_reason = why
        cancelled: list[int] = []
        for promise in s.scalars(
            select(PromiseToPay).where(
                PromiseToPay.contact_id == attempt.id, PromiseToPay.status == PromiseStatus.OPEN
            )
        ):
            promise.status = PromiseStatus.CANCELLED
            promise.resolved_at = now
            cancelled.append(promise.id)
        reopened: list[int] = []
        superseded = after_log.get("superseded_promises")
        for promise_id in superseded if isinstance(superseded, list) else []:
            old = s.get(PromiseToPay, promise_id)
            if old is not None and old.status is PromiseStatus.CANCELLED:
                old.status = PromiseStatus.OPEN
                old.resolved_at = None
                reopened.append(old.id)
        # Nothing was recorded since (checked above), so the case as it stood before the
        # attempt is the case without it.
        if isinstance(before_log.get("stage"), str):
            case.stage = Stage(before_log["stage"])
        case.next_action_at = _parse(before_log.get("next_action_at"))
        if case.callback_at is not None and case.callback_at == attempt.callback_at:
            case.callback_at = None
            case.callback_agent_id = None
        ensure_next_action(case, now, prof)
        recompute_priority(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "contact.undo",
            "contact_attempt",
            attempt.id,
            f"{ctx.actor.login} undid contact {attempt.id} ({attempt.outcome.value}) "
            f"on case {case.id}",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "voided": True,
                "reason": why,
                "stage": case.stage.value,
                "next_action_at": _iso(case.next_action_at),
                "callback_at": _iso(case.callback_at),
                "promises_cancelled": cancelled,
                "promises_reopened": reopened,
            },
        )


def _dialled(session: Session, contact_id: int) -> bool:
    """Whether the attempt was placed through the phone system (the call happened)."""
    found = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.action == DIAL_ACTION,
            AuditEvent.entity == "contact_attempt",
            AuditEvent.entity_id == contact_id,
        )
        .limit(1)
    )
    return found is not None
