"""The contact rules' inputs and the outbound check, shared by the contact log and the dialer.

Both ``contacts.log_contact`` and ``dialing.dial`` gather the same inputs for the pure rules
(``tui_desk.rules.contact``): the candidate time zones, the recent history, the number's
flags and the hold, and check an outbound attempt against them, spending a supervisor's
one-time override per refused rule. A call dialled through the phone system is logged when
it is placed: :func:`pending_dial` finds it again when the operator records its outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import NumberParseException
from phonenumbers import timezone as phone_timezone
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    AuditEvent,
    Borrower,
    CaseHold,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    Outcome,
    Phone,
    Relation,
    RuleOverride,
)
from tui_desk.formatting import label
from tui_desk.i18n import _
from tui_desk.rules.contact import (
    ContactPolicy,
    ContactRequest,
    Decision,
    PastContact,
    check_contact,
)
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor
from tui_desk.services.errors import NotFound, RuleRefused
from tui_desk.views.contacts import allowed_again

# Rules a supervisor may waive for one attempt. A hold is lifted by releasing it and a
# do-not-call number by clearing its flag (both audited acts of their own), never by a
# one-off override that would leave the restriction standing for everyone else.
OVERRIDABLE_RULES = (
    "quiet_hours",
    "daily_call_cap",
    "weekly_call_cap",
    "after_conversation",
    "third_party",
)
_UNKNOWN_ZONE = "Etc/Unknown"

SETTLE_MINUTES = 30
"""How long after dialing the operator's logged outcome still belongs to that call."""
# A dialled call is logged with this outcome until the operator records what happened.
PROVISIONAL = Outcome.NO_ANSWER
DIAL_ACTION = "contact.dial"
LOG_ACTION = "contact.log"


# --- contact rule inputs ----------------------------------------------------------------


def contact_policy(profile: Profile) -> ContactPolicy:
    return ContactPolicy.from_section(profile.section("contact"))


def is_on_hold(session: Session, case: CollectionCase) -> bool:
    """The flag, or an unreleased hold row: rows are the truth the flag is kept from."""
    if case.on_hold:
        return True
    return bool(
        session.scalar(
            select(exists().where(CaseHold.case_id == case.id, CaseHold.released_at.is_(None)))
        )
    )


def number_zones(e164: str) -> tuple[str, ...]:
    """The time zones a number may ring in (a US area code may span two; CN has one)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ()
    if phonenumbers.region_code_for_number(number) == "CN":
        return ("Asia/Shanghai",)
    return tuple(z for z in phone_timezone.time_zones_for_number(number) if _known_zone(z))


def _known_zone(zone: str) -> bool:
    if not zone or zone == _UNKNOWN_ZONE:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def candidate_zones(borrower: Borrower, phone: Phone | None) -> tuple[str, ...]:
    """The borrower's own zone first, then each zone the number may ring in."""
    zones: list[str] = []
    for zone in (borrower.timezone, *(number_zones(phone.e164) if phone else ())):
        if _known_zone(zone) and zone not in zones:
            zones.append(zone)
    return tuple(zones)


def history_days(policy: ContactPolicy) -> int:
    """How far back the rules look: 7 days for the weekly cap, the quiet period after a
    conversation, and one more day so a local "today" that began yesterday in UTC is whole."""
    return max(7, policy.quiet_days_after_conversation or 0) + 1


def recent_history(
    session: Session, case_id: int, now: dt.datetime, policy: ContactPolicy
) -> list[PastContact]:
    since = now - dt.timedelta(days=history_days(policy))
    rows = session.execute(
        select(
            ContactAttempt.started_at,
            ContactAttempt.channel,
            ContactAttempt.direction,
            ContactAttempt.outcome,
        )
        .where(
            ContactAttempt.case_id == case_id,
            ContactAttempt.started_at >= since,
            # An undone outcome was a mistake in the log: it does not count toward the caps.
            ContactAttempt.voided_at.is_(None),
        )
        .order_by(ContactAttempt.started_at)
    ).all()
    # An attempt already in the log happened no later than now, whatever the clock of the
    # desk that logged it said: the rules ignore "future" attempts, so a desk whose clock
    # runs a little ahead must not let a fourth call through.
    return [PastContact(min(at, now), ch.value, d.value, o.value) for at, ch, d, o in rows]


def contact_request(
    *,
    now: dt.datetime,
    channel: Channel,
    direction: Direction,
    borrower: Borrower,
    phone: Phone | None,
    party: str,
    on_hold: bool,
) -> ContactRequest:
    return ContactRequest(
        now=now,
        channel=channel.value,
        direction=direction.value,
        party=party,
        zones=candidate_zones(borrower, phone),
        do_not_call=bool(phone and phone.do_not_call),
        on_hold=on_hold,
    )


def target_party(phone: Phone | None, party: Relation | None) -> str:
    """Whom the attempt is aimed at: the number's holder, else the party named, else the
    borrower. Reaching someone else on the borrower's number is not contacting them."""
    if phone is not None:
        return phone.relation.value
    return (party or Relation.BORROWER).value


def phone_of(session: Session, borrower: Borrower, phone_id: int) -> Phone:
    phone = session.get(Phone, phone_id)
    if phone is None or phone.borrower_id != borrower.id:
        raise NotFound(_("phone {phone} is not a number of this borrower").format(phone=phone_id))
    return phone


def load_case(session: Session, case_id: int) -> CollectionCase:
    case = session.get(CollectionCase, case_id)
    if case is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    return case


def borrower_of(session: Session, case: CollectionCase) -> Borrower:
    borrower = session.get(Borrower, case.borrower_id)
    assert borrower is not None  # a foreign key
    return borrower


# --- checking an outbound attempt -------------------------------------------------------


def _relaxed(
    rule: str, request: ContactRequest, policy: ContactPolicy
) -> tuple[ContactRequest, ContactPolicy]:
    """The request and policy with one rule waived, so the others are still checked."""
    if rule == "quiet_hours":
        return request, replace(policy, time_rule_channels=frozenset())
    if rule == "daily_call_cap":
        return request, replace(policy, max_connected_calls_per_day=None)
    if rule == "weekly_call_cap":
        return request, replace(policy, max_call_attempts_7d=None)
    if rule == "after_conversation":
        return request, replace(policy, quiet_days_after_conversation=None)
    if rule == "third_party":
        return request, replace(policy, allowed_parties=policy.allowed_parties | {request.party})
    raise ValueError(f"rule {rule!r} cannot be waived")


def _usable_override(
    session: Session, case_id: int, rule: str, agent_id: int, now: dt.datetime
) -> RuleOverride | None:
    stmt = (
        select(RuleOverride)
        .where(
            RuleOverride.case_id == case_id,
            RuleOverride.rule == rule,
            RuleOverride.granted_to_id == agent_id,
            RuleOverride.used_at.is_(None),
            RuleOverride.expires_at > now,
        )
        .order_by(RuleOverride.expires_at, RuleOverride.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def _refusal(decision: Decision, profile: Profile, now: dt.datetime) -> RuleRefused:
    message = _("contact refused by the {rule} rule: {reason}").format(
        rule=label("rule", decision.rule), reason=decision.reason
    )
    if decision.allowed_from is not None:
        message += "; " + allowed_again(decision.allowed_from, profile.office_timezone, now)
    if decision.rule in OVERRIDABLE_RULES:
        message += "; " + _("you may ask a supervisor for a one-time override")
    return RuleRefused(message, rule=decision.rule)


def apply_rules(
    session: Session,
    actor: Actor,
    case: CollectionCase,
    request: ContactRequest,
    history: list[PastContact],
    policy: ContactPolicy,
    profile: Profile,
    now: dt.datetime,
) -> list[RuleOverride]:
    """Check an outbound attempt; returns the overrides it needs (to be consumed).

    Each refused rule needs its own override, so waiving quiet hours does not also let a
    fourth connected call through.
    """
    used: list[RuleOverride] = []
    decision = check_contact(request, history, policy)
    while not decision.allowed:
        rule = decision.rule
        override = (
            _usable_override(session, case.id, rule, actor.id, now)
            if rule in OVERRIDABLE_RULES
            else None
        )
        if rule is None or override is None:
            raise _refusal(decision, profile, now)
        used.append(override)
        request, policy = _relaxed(rule, request, policy)
        decision = check_contact(request, history, policy)
    return used


# --- the outcome of a dialled call ------------------------------------------------------


def pending_dial(
    session: Session,
    agent_id: int,
    case_id: int,
    phone_id: int | None,
    now: dt.datetime,
) -> ContactAttempt | None:
    """The attempt ``agent_id`` dialled on this case (and number) within the last
    :data:`SETTLE_MINUTES` whose outcome has not been logged yet, newest first.

    For the contact log: logging an outbound call while one is pending updates it (the
    rules were checked when it was dialled) instead of adding a second attempt.
    """
    dialled = exists().where(
        AuditEvent.entity == "contact_attempt",
        AuditEvent.entity_id == ContactAttempt.id,
        AuditEvent.action == DIAL_ACTION,
    )
    settled = exists().where(
        AuditEvent.entity == "contact_attempt",
        AuditEvent.entity_id == ContactAttempt.id,
        AuditEvent.action == LOG_ACTION,
    )
    stmt = (
        select(ContactAttempt)
        .where(
            ContactAttempt.case_id == case_id,
            ContactAttempt.agent_id == agent_id,
            ContactAttempt.channel == Channel.PHONE,
            ContactAttempt.direction == Direction.OUTBOUND,
            ContactAttempt.outcome == PROVISIONAL,
            ContactAttempt.started_at >= now - dt.timedelta(minutes=SETTLE_MINUTES),
            and_(dialled, ~settled),
        )
        .order_by(ContactAttempt.started_at.desc(), ContactAttempt.id.desc())
        .limit(1)
    )
    if phone_id is not None:
        stmt = stmt.where(ContactAttempt.phone_id == phone_id)
    return session.scalars(stmt).first()
