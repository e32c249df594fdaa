"""The SMS sender: a job of `tui-desk worker` that delivers the outbox and follows it up.

Nothing lost, nothing sent twice:

- A message is claimed (``sending``, one more attempt) in its own fenced transaction, then
  posted with its idempotency key *outside* any transaction (no lock is held over the
  network), then the answer is recorded in a second transaction. A worker that dies or
  loses the lease between the two leaves the row ``sending``; it is due again after
  ``claim_for`` and is posted again with the same key, which the gateway dedupes.
- Retryable failures (refused connection, timeout, 5xx, 429/503, an answer that is not
  the JSON agreed) put the message back to ``pending`` with exponential backoff, or after
  the ``Retry-After`` the gateway asked for when that is longer. After ``max_attempts`` it
  is ``failed`` with the last reason; a final answer (4xx) fails it at once. A gateway
  that does not answer at all ends the batch: the rest wait, untouched, for the next run.
- The contact rules are checked again just before sending: a case put on hold or a
  number marked do-not-call since it was queued fails the message (naming the rule), and
  a message that would arrive in quiet hours waits until they end.
- Sent messages are polled (``GET /v1/messages/{id}``) until delivered or failed, and the
  contact attempt's outcome follows (``delivered`` / ``failed``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tui_desk.config import Settings, load_settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Borrower,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    OutboxStatus,
    Outcome,
    Phone,
    Relation,
    SmsOutbox,
)
from tui_desk.i18n import _
from tui_desk.integrations.sms_gateway import DEFAULT_TIMEOUT, GatewayError, SmsGateway
from tui_desk.rules.contact import ContactRequest, check_contact
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import audit
from tui_desk.services.contact_checks import candidate_zones, contact_policy, is_on_hold
from tui_desk.services.jobs import JobFunction, job_write

SMS_SENDER_EVERY = dt.timedelta(seconds=10)
_ERROR_LEN = 300  # sms_outbox.last_error


@dataclass(frozen=True)
class SenderPolicy:
    max_attempts: int = 8
    backoff_base: dt.timedelta = dt.timedelta(seconds=30)
    backoff_max: dt.timedelta = dt.timedelta(hours=1)
    # What the gateway may ask us to wait at most (a wild Retry-After must not park mail).
    max_retry_after: dt.timedelta = dt.timedelta(hours=2)
    # A claimed message not recorded within this time is posted again (same key).
    claim_for: dt.timedelta = dt.timedelta(minutes=2)
    poll_every: dt.timedelta = dt.timedelta(seconds=30)
    # Stop asking about a message the gateway keeps calling "queued" after this long.
    poll_for: dt.timedelta = dt.timedelta(days=3)
    batch: int = 50
    timeout: float = DEFAULT_TIMEOUT


def backoff(attempts: int, policy: SenderPolicy) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: base, 2x base, 4x base, ... capped."""
    factor: int = 2 ** max(0, min(attempts - 1, 30))
    wait: dt.timedelta = min(policy.backoff_base * factor, policy.backoff_max)
    return wait


@dataclass
class SenderReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0
    delivered: int = 0
    undelivered: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = _(
            "sent {sent}, retrying {retrying}, failed {failed}, deferred {deferred}, "
            "delivered {delivered}, undelivered {undelivered}; {waiting} waiting"
        ).format(
            sent=self.sent,
            retrying=self.retrying,
            failed=self.failed,
            deferred=self.deferred,
            delivered=self.delivered,
            undelivered=self.undelivered,
            waiting=self.waiting,
        )
        if self.errors:
            text += "; " + _("last error: {error}").format(error=self.errors[-1])
        return text


def _short(text: str) -> str:
    return " ".join(text.split())[:_ERROR_LEN]


def _set_outcome(session: Session, row: SmsOutbox, outcome: Outcome) -> None:
    if row.contact_id is None:
        return
    attempt = session.get(ContactAttempt, row.contact_id)
    if attempt is not None and attempt.outcome != outcome:
        attempt.outcome = outcome


def _fail(session: Session, row: SmsOutbox, reason: str, now: dt.datetime) -> None:
    row.status = OutboxStatus.FAILED
    row.last_error = _short(reason)
    row.next_attempt_at = None
    _set_outcome(session, row, Outcome.FAILED)
    audit.record(
        session, None, "sms.failed", "sms_outbox", row.id,
        f"SMS {row.id} failed: {row.last_error}",
        now=now, case_id=row.case_id,
        after={"status": row.status.value, "attempts": row.attempts, "error": row.last_error},
    )  # fmt: skip


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    outbox_id: int
    e164: str
    body: str
    key: str


def _rules_now(
    session: Session, row: SmsOutbox, now: dt.datetime, profile: Profile
) -> tuple[str, str, dt.datetime | None] | None:
    """(rule, reason, allowed_from) when the contact rules forbid sending right now."""
    case = session.get(CollectionCase, row.case_id)
    if case is None:
        return ("archived", _("the case no longer exists"), None)
    borrower = session.get(Borrower, case.borrower_id)
    phone = session.get(Phone, row.phone_id) if row.phone_id is not None else None
    assert borrower is not None
    request = ContactRequest(
        now=now,
        channel=Channel.SMS.value,
        direction=Direction.OUTBOUND.value,
        party=(phone.relation if phone else Relation.BORROWER).value,
        zones=candidate_zones(borrower, phone),
        do_not_call=bool(phone and phone.do_not_call),
        on_hold=is_on_hold(session, case),
    )
    # The caps were counted when the message was queued; what can change since is the
    # hour, a hold and the number's flag.
    decision = check_contact(request, [], contact_policy(profile))
    if decision.allowed:
        return None
    return (decision.rule or "rule", decision.reason, decision.allowed_from)


def _claim(db: Database, outbox_id: int, now: dt.datetime, policy: SenderPolicy,
           profile: Profile, report: SenderReport) -> _Claimed | None:  # fmt: skip
    with job_write(db) as s:
        row = s.get(SmsOutbox, outbox_id)
        if row is None or row.status not in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            return None
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return None  # another run took it meanwhile
        refusal = _rules_now(s, row, now, profile)
        if refusal is not None:
            rule, reason, allowed_from = refusal
            if rule == "quiet_hours" and allowed_from is not None:
                row.status = OutboxStatus.PENDING
                row.next_attempt_at = allowed_from
                row.last_error = _short(_("waiting: {reason}").format(reason=reason))
                report.deferred += 1
                audit.record(
                    s, None, "sms.defer", "sms_outbox", row.id,
                    f"SMS {row.id} waits for the end of quiet hours",
                    now=now, case_id=row.case_id,
                    after={"next_attempt_at": allowed_from.isoformat(), "rule": rule},
                )  # fmt: skip
            else:
                _fail(s, row, _("not sent ({rule}): {reason}").format(rule=rule, reason=reason),
                      now)  # fmt: skip
                report.failed += 1
            return None
        row.status = OutboxStatus.SENDING
        row.attempts += 1
        row.next_attempt_at = now + policy.claim_for
        return _Claimed(row.id, row.e164, row.body, row.idempotency_key)


def _record_sent(db: Database, claimed: _Claimed, provider_id: str, now: dt.datetime,
                 policy: SenderPolicy) -> None:  # fmt: skip
    with job_write(db) as s:
        row = s.get(SmsOutbox, claimed.outbox_id)
        if row is None or row.status is not OutboxStatus.SENDING:
            return
        row.status = OutboxStatus.SENT
        row.provider_id = provider_id[:64]
        row.sent_at = now
        row.last_error = None
        row.next_attempt_at = now + policy.poll_every
        audit.record(
            s, None, "sms.sent", "sms_outbox", row.id,
            f"SMS {row.id} accepted by the gateway as {row.provider_id}",
            now=now, case_id=row.case_id,
            after={"status": row.status.value, "attempts": row.attempts,
                   "provider_id": row.provider_id},
        )  # fmt: skip


def _record_error(db: Database, claimed: _Claimed, error: GatewayError, now: dt.datetime,
                  policy: SenderPolicy, report: SenderReport) -> None:  # fmt: skip
    with job_write(db) as s:
        row = s.get(SmsOutbox, claimed.outbox_id)
        if row is None or row.status is not OutboxStatus.SENDING:
            return
        reason = _short(str(error))
        if not error.retryable or row.attempts >= policy.max_attempts:
            if error.retryable:
                reason = _("gave up after {n} attempts: {error}").format(
                    n=row.attempts, error=reason
                )
            _fail(s, row, reason, now)
            report.failed += 1
            return
        wait = backoff(row.attempts, policy)
        if error.retry_after is not None:
            asked = dt.timedelta(seconds=error.retry_after)
            wait = max(wait, min(asked, policy.max_retry_after))
        row.status = OutboxStatus.PENDING
        row.last_error = reason
        row.next_attempt_at = now + wait
        report.retrying += 1
        audit.record(
            s, None, "sms.retry", "sms_outbox", row.id,
            f"SMS {row.id} attempt {row.attempts} failed ({reason}); retry in "
            f"{int(wait.total_seconds())} s",
            now=now, case_id=row.case_id,
            after={"status": row.status.value, "attempts": row.attempts, "error": reason,
                   "next_attempt_at": row.next_attempt_at.isoformat()},
        )  # fmt: skip


def send_due(
    db: Database,
    gateway: SmsGateway,
    now: dt.datetime,
    *,
    policy: SenderPolicy,
    profile: Profile,
    report: SenderReport,
) -> None:
    with db.read() as s:
        due = s.scalars(
            select(SmsOutbox.id)
            .where(
                SmsOutbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                or_(SmsOutbox.next_attempt_at.is_(None), SmsOutbox.next_attempt_at <= now),
            )
            .order_by(SmsOutbox.next_attempt_at, SmsOutbox.id)
            .limit(policy.batch)
        ).all()
    for outbox_id in due:
        claimed = _claim(db, outbox_id, now, policy, profile, report)
        if claimed is None:
            continue
        try:
            accepted = gateway.send(
                to=claimed.e164,
                body=claimed.body,
                reference=f"outbox-{claimed.outbox_id}",
                idempotency_key=claimed.key,
            )
        except GatewayError as exc:
            report.errors.append(_short(str(exc)))
            _record_error(db, claimed, exc, now, policy, report)
            if exc.unreachable:
                break  # the gateway is away: the rest wait for the next run
            continue
        _record_sent(db, claimed, accepted.provider_id, now, policy)
        report.sent += 1


# --- delivery reports ------------------------------------------------------------------------


def poll_delivery(
    db: Database,
    gateway: SmsGateway,
    now: dt.datetime,
    *,
    policy: SenderPolicy,
    report: SenderReport,
) -> None:
    with db.read() as s:
        rows = s.execute(
            select(SmsOutbox.id, SmsOutbox.provider_id)
            .where(
                SmsOutbox.status == OutboxStatus.SENT,
                SmsOutbox.provider_id.is_not(None),
                SmsOutbox.next_attempt_at.is_not(None),
                SmsOutbox.next_attempt_at <= now,
            )
            .order_by(SmsOutbox.next_attempt_at, SmsOutbox.id)
            .limit(policy.batch)
        ).all()
    for outbox_id, provider_id in rows:
        assert provider_id is not None
        try:
            answer = gateway.status(provider_id)
        except GatewayError as exc:
            report.errors.append(_short(str(exc)))
            with job_write(db) as s:
                row = s.get(SmsOutbox, outbox_id)
                if row is not None and row.status is OutboxStatus.SENT:
                    row.last_error = _short(_("delivery status unknown: {error}").format(error=exc))
                    row.next_attempt_at = now + policy.poll_every if exc.retryable else None
            if exc.unreachable:
                break
            continue
        with job_write(db) as s:
            row = s.get(SmsOutbox, outbox_id)
            if row is None or row.status is not OutboxStatus.SENT:
                continue
            if answer.status == "delivered":
                row.status = OutboxStatus.DELIVERED
                row.delivered_at = now
                row.next_attempt_at = None
                row.last_error = None
                _set_outcome(s, row, Outcome.DELIVERED)
                report.delivered += 1
                audit.record(
                    s, None, "sms.delivered", "sms_outbox", row.id,
                    f"SMS {row.id} delivered", now=now, case_id=row.case_id,
                    after={"status": row.status.value, "contact_id": row.contact_id},
                )  # fmt: skip
            elif answer.status == "failed":
                _fail(s, row, _("undeliverable: {error}").format(
                    error=answer.error or _("no reason given")), now)  # fmt: skip
                report.undelivered += 1
            elif row.sent_at is not None and now - row.sent_at > policy.poll_for:
                row.next_attempt_at = None  # stop asking; it stays "sent"
                row.last_error = _("no delivery report")
            else:
                row.next_attempt_at = now + policy.poll_every


# --- the job ----------------------------------------------------------------------------------


def waiting_count(db: Database) -> int:
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(SmsOutbox)
                .where(SmsOutbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            )
            or 0
        )


def run_sender(
    db: Database,
    gateway: SmsGateway,
    now: dt.datetime,
    *,
    policy: SenderPolicy | None = None,
    profile: Profile,
) -> SenderReport:
    """One pass: send what is due, then ask about what was sent."""
    policy = policy or SenderPolicy()
    prof = profile or load_profile()
    report = SenderReport()
    send_due(db, gateway, now, policy=policy, profile=prof, report=report)
    poll_delivery(db, gateway, now, policy=policy, report=report)
    report.waiting = waiting_count(db)
    return report


def sms_sender_job(
    profile: str = "cn",
    *,
    settings: Callable[[], Settings] = load_settings,
    policy: SenderPolicy | None = None,
) -> JobFunction:
    """The worker's job: the gateway's URL and token are read at each run (config file,
    ``TUI_DESK_SMS_GATEWAY_URL`` / ``TUI_DESK_SMS_GATEWAY_TOKEN``); without a URL the
    messages stay queued."""
    prof = load_profile(profile)  # an unknown profile fails at worker start
    chosen = policy or SenderPolicy()

    def run(db: Database, now: dt.datetime) -> str:
        current = settings()
        if not current.sms_gateway_url:
            return _("no SMS gateway configured; {n} waiting").format(n=waiting_count(db))
        with SmsGateway(
            current.sms_gateway_url, current.sms_gateway_token, timeout=chosen.timeout
        ) as gateway:
            return run_sender(db, gateway, now, policy=chosen, profile=prof).summary()

    return run
