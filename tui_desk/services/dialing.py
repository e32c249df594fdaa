"""Dialing a borrower through the phone system (PBX), or showing the number to dial by hand.

One key dials: the PBX rings the operator's extension, then the borrower's number. The
same contact rules as a logged call gate it (quiet hours in the borrower's zone, caps,
do-not-call, holds, a supervisor's one-time override), and a refusal names the rule
before anything is dialled.

Every dial is a logged attempt, written in three steps so that caps stay right when
several desks dial at once and no transaction is held while the PBX answers:

1. *reserve*: one write transaction checks the rules under the case's lock (PostgreSQL
   row lock, SQLite's serialised writers) and inserts the attempt (phone, outbound) with
   the provisional outcome ``no_answer``; a second desk dialling the same borrower at the
   same moment already counts it. ``no_answer`` is the neutral outcome: it counts as a
   call attempt (weekly attempt caps) but not as a connected call or a conversation.
2. *call*: the PBX originates the call.
3. *confirm*: the attempt gets ``started_at`` = the moment the PBX accepted and
   ``call_ref`` = the PBX's recording reference. If the PBX refused or could not be
   reached the attempt is deleted and any override it spent is given back: nothing was
   dialled, nothing is logged. A PBX that took the request but did not answer in time
   leaves the attempt logged (the phone may be ringing): better one attempt too many in
   the caps than a call that is nowhere.

The operator then records what happened (``l`` and an outcome). :func:`pending_dial`
finds the dialled attempt still waiting for its outcome (same agent, case and number,
within :data:`SETTLE_MINUTES`), so the contact log can update that attempt rather than
add a second one; the rules were checked when it was dialled. Dialing never changes the
case row, so a contact form opened before the dial still saves.

Without a PBX, :func:`dial_plan` shows the number formatted for dialing by hand (national
form for numbers of the office's country, international otherwise), after the same rule
check; showing the full number is an audited reveal, and no attempt is logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException
from sqlalchemy.orm import Session

from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Phone,
    RuleOverride,
)
from tui_desk.i18n import _
from tui_desk.integrations.pbx import PbxClient, PbxConfig, PbxError
from tui_desk.rules.masking import mask_phone
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit, personal
from tui_desk.services.case_state import CaseArchived, load_for_edit
from tui_desk.services.contact_checks import (
    DIAL_ACTION,
    PROVISIONAL,
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
from tui_desk.services.contacts import resolve_now
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import ServiceError
from tui_desk.services.validation import (
    check_id,
    check_optional_id,
)
from tui_desk.views.dialing import DialPlan, DialResult


class DialFailed(ServiceError):
    """The PBX did not place the call; the message says why in one line."""


class NoExtension(ServiceError):
    """The operator has no phone extension on file, so the PBX has nothing to ring."""


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialer:
    """The configured phone system. ``from_settings`` gives None when there is none."""

    client: PbxClient

    @classmethod
    def from_settings(cls, settings: Settings) -> Dialer | None:
        if not settings.pbx_url:
            return None
        return cls(
            PbxClient(
                PbxConfig(
                    url=settings.pbx_url,
                    user=settings.pbx_user,
                    password=settings.pbx_password,
                    context=settings.pbx_context,
                )
            )
        )

    @property
    def where(self) -> str:
        return self.client.config.where


# --- the number in dialing form --------------------------------------------------------


def dialling_form(e164: str, home_region: str) -> tuple[str, str]:
    """(display, digits) to dial ``e164`` from ``home_region``.

    ``+8613812345678`` from CN: ("138 1234 5678", "13812345678"); a Beijing landline
    ``+861012345678``: ("010 1234 5678", "01012345678"); ``+14155550123`` from CN:
    ("00 1 415-555-0123", "0014155550123").
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise ServiceError(_("{number} is not a phone number").format(number=e164)) from exc
    if phonenumbers.region_code_for_number(number) == home_region:
        display = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        display = phonenumbers.format_out_of_country_calling_number(number, home_region)
    digits = "".join(c for c in display if c.isdigit())
    if not digits:
        raise ServiceError(_("{number} cannot be dialled").format(number=e164))
    return display, digits


# --- the rules --------------------------------------------------------------------------


def _check_rules(
    session: Session,
    actor: Actor,
    case: CollectionCase,
    phone: Phone,
    now: dt.datetime,
    profile: Profile,
) -> list[RuleOverride]:
    """The overrides the call needs (refuses, naming the rule, when none lets it through)."""
    policy = contact_policy(profile)
    borrower = borrower_of(session, case)
    request = contact_request(
        now=now,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        borrower=borrower,
        phone=phone,
        party=target_party(phone, None),
        on_hold=is_on_hold(session, case),
    )
    history = recent_history(session, case.id, now, policy)
    return apply_rules(session, actor, case, request, history, policy, profile, now)


def _extension(session: Session, actor: Actor) -> str:
    agent = session.get(Agent, actor.id)
    extension = (agent.extension or "").strip() if agent is not None else ""
    if not extension:
        raise NoExtension(
            _(
                "{login} has no phone extension on file: ask an administrator to set it "
                "before dialing through the phone system"
            ).format(login=actor.login)
        )
    return extension


# --- dialing through the PBX ------------------------------------------------------------


def dial(
    ctx: Context,
    case_id: int,
    phone_id: int,
    *,
    dialer: Dialer,
    clock: Callable[[], dt.datetime] | None = None,
) -> DialResult:
    """Dial ``phone_id`` of the case's borrower from the operator's extension.

    Raises ``RuleRefused`` (naming the rule; nothing dialled), ``NoExtension``,
    ``DialFailed`` (the PBX's one-line reason; nothing logged unless the PBX may have
    placed the call) and the usual ``NotFound``/``CaseArchived``. ``clock`` reads the
    moment the PBX accepted (default: ``now``).
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile

    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, ctx=ctx)
        phone = phone_of(s, borrower_of(s, case), phone_id)
        extension = _extension(s, ctx.actor)
        overrides = _check_rules(s, ctx.actor, case, phone, now, prof)
        _display, digits = dialling_form(phone.e164, prof.country)
        for override in overrides:
            override.used_at = now
        attempt = ContactAttempt(
            case_id=case.id,
            agent_id=ctx.actor.id,
            channel=Channel.PHONE,
            direction=Direction.OUTBOUND,
            phone_id=phone.id,
            party=None,
            outcome=PROVISIONAL,
            started_at=now,
            override_by_id=overrides[0].granted_by_id if overrides else None,
            override_reason="; ".join(o.reason for o in overrides) or None,
        )
        s.add(attempt)
        s.flush()
        masked = mask_phone(phone.e164, prof.masking)
        used = tuple(o.rule for o in overrides)
        audit.record(
            s,
            ctx.actor,
            DIAL_ACTION,
            "contact_attempt",
            attempt.id,
            f"{ctx.actor.login} dials {masked} from extension {extension} on case {case.id}",
            now=now,
            case_id=case.id,
            after={
                "contact_id": attempt.id,
                "phone": masked,
                "extension": extension,
                "overrides": [{"id": o.id, "rule": o.rule} for o in overrides],
            },
        )
        attempt_id, override_ids = attempt.id, [o.id for o in overrides]

    try:
        call = dialer.client.originate(extension, digits, caller_id=f"case {case_id}")
    except PbxError as exc:
        if exc.maybe_placed:
            _unconfirmed(ctx.db, ctx.actor, case_id, attempt_id, str(exc), now)
            raise DialFailed(
                _("{error}; the attempt is logged, record how it went").format(error=exc)
            ) from exc
        _withdraw(ctx.db, ctx.actor, case_id, attempt_id, override_ids, str(exc), now)
        raise DialFailed(_("Not dialled: {error}").format(error=exc)) from exc

    accepted = max(now, resolve_now(clock())) if clock is not None else now
    with ctx.db.write() as s:
        placed = s.get(ContactAttempt, attempt_id)
        assert placed is not None  # written above; attempts are never deleted by others
        placed.started_at = accepted
        placed.call_ref = call.call_ref
        audit.record(
            s,
            ctx.actor,
            DIAL_ACTION + ".placed",
            "contact_attempt",
            attempt_id,
            f"the phone system placed the call of contact {attempt_id} ({call.call_ref})",
            now=accepted,
            case_id=case_id,
            after={"call_ref": call.call_ref, "channel_id": call.channel_id},
        )
    return DialResult(
        contact_id=attempt_id,
        phone_id=phone_id,
        masked=masked,
        call_ref=call.call_ref,
        channel_id=call.channel_id,
        started_at=accepted,
        overrides_used=used,
    )


def _withdraw(
    db: Database,
    actor: Actor,
    case_id: int,
    attempt_id: int,
    override_ids: list[int],
    reason: str,
    now: dt.datetime,
) -> None:
    """Nothing was dialled: take the reserved attempt back, and the overrides it spent."""
    with db.write() as s:
        attempt = s.get(ContactAttempt, attempt_id)
        if attempt is not None:
            s.delete(attempt)
        for override_id in override_ids:
            override = s.get(RuleOverride, override_id)
            if override is not None:
                override.used_at = None
        audit.record(
            s,
            actor,
            DIAL_ACTION + ".failed",
            "contact_attempt",
            attempt_id,
            f"not dialled, attempt {attempt_id} withdrawn: {reason}",
            now=now,
            case_id=case_id,
            after={"reason": reason[:300], "overrides_returned": override_ids},
        )


def _unconfirmed(
    db: Database, actor: Actor, case_id: int, attempt_id: int, reason: str, now: dt.datetime
) -> None:
    with db.write() as s:
        audit.record(
            s,
            actor,
            DIAL_ACTION + ".unconfirmed",
            "contact_attempt",
            attempt_id,
            f"the phone system did not confirm contact {attempt_id}: {reason}",
            now=now,
            case_id=case_id,
            after={"reason": reason[:300]},
        )


# --- the outcome of a dialled call ------------------------------------------------------


def pending_dial_id(ctx: Context, case_id: int, phone_id: int | None) -> int | None:
    """:func:`pending_dial`'s attempt id, in a read of its own."""
    check_id("case_id", case_id)
    check_optional_id("phone_id", phone_id)
    with ctx.db.read() as s:
        attempt = pending_dial(s, ctx.actor.id, case_id, phone_id, ctx.now())
        return attempt.id if attempt is not None else None


# --- dialing by hand ----------------------------------------------------------------------


def dial_plan(ctx: Context, case_id: int, phone_id: int) -> DialPlan:
    """The number formatted for dialing by hand, if the rules allow a call now.

    Logs no attempt (the operator logs the call with its outcome); the full number is
    shown through the audited reveal. An override that would let the call through is
    not spent here but when the call is logged.
    """
    check_id("case_id", case_id)
    check_id("phone_id", phone_id)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.read() as s:
        case = load_case(s, case_id)
        if case.status != CaseStatus.OPEN:
            raise CaseArchived(
                _("case {case_id} is archived and read-only").format(case_id=case_id)
            )
        borrower_id = case.borrower_id
        phone = phone_of(s, borrower_of(s, case), phone_id)
        _check_rules(s, ctx.actor, case, phone, now, prof)
        masked = mask_phone(phone.e164, prof.masking)
    e164 = personal.reveal(ctx, borrower_id, "phone", phone_id)
    display, digits = dialling_form(e164, prof.country)
    return DialPlan(phone_id=phone_id, masked=masked, display=display, digits=digits)
