"""Case work around the contact log: holds, the home-visit registration, the document
checklist (process step 2), and the borrower's ID number and phone numbers.

Every function is one transaction with one audit event. Audit events carry structured
facts with personal data masked; free text (reasons, notes) stays in its own row and is
not copied into the audit trail, where no masking could be trusted to catch it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tui_desk.db.models import (
    Borrower,
    CaseHold,
    Channel,
    CollectionCase,
    Document,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    HoldKind,
    Phone,
    PhoneKind,
    Relation,
    ServiceRegistration,
    Stage,
)
from tui_desk.i18n import _
from tui_desk.rules.documents import describe_missing, documents_complete
from tui_desk.rules.identity import validate_document
from tui_desk.rules.masking import mask_id, mask_phone
from tui_desk.rules.permissions import Action
from tui_desk.rules.phones import normalise_phone
from tui_desk.rules.profile import Profile
from tui_desk.rules.search import reverse_digits
from tui_desk.services import audit
from tui_desk.services.case_state import (
    guard_lease,
    load_for_edit,
    office_today,
    over_lease,
    recompute_priority,
)
from tui_desk.services.contacts import (
    MAX_REASON,
    active_holds,
    clean_note,
    ensure_next_action,
    required_reason,
    stage_at_least,
)
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.holds import hold_end
from tui_desk.services.holds import release_hold as release_hold  # where callers look for it
from tui_desk.services.search_index import index_borrower, index_phone
from tui_desk.services.validation import (
    check_flag,
    check_id,
)

MAX_DESCRIPTION = 200
MAX_HOLDER_NAME = 100
# A document "received" a little after the desk's clock is a clock skew, not the future.
_RECEIVED_SKEW = dt.timedelta(minutes=5)
_PHONE_KINDS = {"mobile": PhoneKind.MOBILE, "landline": PhoneKind.LANDLINE}


def _case_of_borrower(session: Session, borrower_id: int) -> CollectionCase | None:
    return session.scalars(
        select(CollectionCase).where(CollectionCase.borrower_id == borrower_id)
    ).first()


def _finish_case_edit(case: CollectionCase, now: dt.datetime, profile: Profile) -> None:
    ensure_next_action(case, now, profile)
    recompute_priority(case, now, profile)


def _active_registration(session: Session, case_id: int) -> ServiceRegistration | None:
    return session.scalars(
        select(ServiceRegistration)
        .where(ServiceRegistration.case_id == case_id, ServiceRegistration.cancelled_at.is_(None))
        .order_by(ServiceRegistration.id.desc())
        .limit(1)
    ).first()


# --- holds ---------------------------------------------------------------------------


def set_hold(
    ctx: Context,
    case_id: int,
    kind: HoldKind,
    reason: str,
    *,
    expected_version: int | None = None,
    override_reason: str | None = None,
    ends_on: dt.date | None = None,
) -> int:
    """Put the case on hold: it leaves the contact queue and cannot be contacted or booked.

    Any agent may set a hold (stopping contact must never wait for a supervisor); only a
    supervisor releases one (``services.holds``), unless ``ends_on`` is given: then the
    worker ends it at office midnight after that day. False documents also cancel the
    home-visit service. While another agent works the case, only a supervisor with
    ``override_reason`` may.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    try:
        kind = HoldKind(kind)
    except ValueError:
        raise ServiceError(_("unknown hold kind {value}").format(value=kind)) from None
    text = required_reason(reason, _("a hold needs a reason"))
    ends_at = hold_end(ends_on, now, prof) if ends_on is not None else None
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version)
        over = guard_lease(s, case, ctx, override_reason=override_reason)
        if any(h.kind is kind for h in active_holds(s, case.id)):
            raise ServiceError(
                _("case {case_id} is already on hold for {kind}").format(
                    case_id=case.id, kind=kind.value
                )
            )
        hold = CaseHold(
            case_id=case.id,
            kind=kind,
            reason=text,
            set_by_id=ctx.actor.id,
            set_at=now,
            ends_at=ends_at,
        )
        s.add(hold)
        was_on_hold, was_registered = case.on_hold, case.registered
        case.on_hold = True
        cancelled: int | None = None
        if kind is HoldKind.FALSE_DOCUMENTS:
            # PROCESS.md step 2: false information cancels the home-visit service.
            registration = _active_registration(s, case.id)
            if registration is not None:
                registration.cancelled_at = now
                # Stored, not shown as is: the desk renders it in the reader's language.
                registration.cancel_reason = f"hold:{kind.value}"
                cancelled = registration.id
            case.registered = False
        _finish_case_edit(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "case.hold.set",
            "case_hold",
            hold.id,
            f"{ctx.actor.login} put case {case.id} on hold: {kind.value}",
            now=now,
            case_id=case.id,
            before={"on_hold": was_on_hold, "registered": was_registered},
            after={
                "kind": kind.value,
                "ends_at": ends_at.isoformat() if ends_at else None,
                "on_hold": True,
                "registered": case.registered,
                "registration_cancelled": cancelled,
                **over_lease(over, override_reason),
            },
        )
        return hold.id


# --- registration for the home-visit service --------------------------------------------


def register_for_service(
    ctx: Context,
    case_id: int,
    *,
    consent_channel: Channel,
    note: str | None = None,
    expected_version: int | None = None,
) -> int:
    """Record the borrower's consent to the home-visit service (who, when, how)."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    channel = Channel(consent_channel)
    text = clean_note(note)
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version, ctx=ctx)
        holds = active_holds(s, case.id)
        if holds or case.on_hold:
            raise ServiceError(
                _("case {case_id} is on hold ({kinds}): it cannot be registered").format(
                    case_id=case.id, kinds=", ".join(sorted({h.kind.value for h in holds}))
                )
            )
        if _active_registration(s, case.id) is not None:
            raise ServiceError(_("the borrower is already registered for the home-visit service"))
        registration = ServiceRegistration(
            case_id=case.id,
            consent_channel=channel,
            registered_by_id=ctx.actor.id,
            registered_at=now,
            note=text,
        )
        s.add(registration)
        before = {"stage": case.stage.value, "registered": case.registered}
        case.registered = True
        stage_at_least(case, Stage.REGISTERED)
        _finish_case_edit(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "service.register",
            "service_registration",
            registration.id,
            f"{ctx.actor.login} registered case {case.id} for the home-visit service",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "stage": case.stage.value,
                "registered": True,
                "consent_channel": channel.value,
            },
        )
        return registration.id


# --- documents -------------------------------------------------------------------------


def _refresh_documents_complete(session: Session, case: CollectionCase) -> tuple[str, ...]:
    session.flush()
    rows = session.execute(
        select(Document.kind, Document.status).where(Document.case_id == case.id)
    ).all()
    complete, missing = documents_complete((kind, status) for kind, status in rows)
    case.documents_complete = complete
    return missing


def add_document(
    ctx: Context,
    case_id: int,
    *,
    kind: DocumentKind,
    channel: DocumentChannel,
    received_at: dt.datetime,
    description: str | None = None,
) -> int:
    """Log a document the borrower sent (email, post, in person), awaiting review."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    kind = DocumentKind(kind)
    channel = DocumentChannel(channel)
    if received_at.tzinfo is None:
        raise ServiceError(_("the date received needs a time zone"))
    if received_at > now + _RECEIVED_SKEW:
        raise ServiceError(_("a document cannot be received in the future"))
    text = (description or "").strip() or None
    if text is not None and len(text) > MAX_DESCRIPTION:
        raise ServiceError(_("a description has at most {n} characters").format(n=MAX_DESCRIPTION))
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, ctx=ctx)
        if _active_registration(s, case.id) is None:
            # Documents are step 2 of the service: without consent there is nothing to
            # collect them for.
            raise ServiceError(
                _("register the borrower for the home-visit service before logging documents")
            )
        document = Document(
            case_id=case.id,
            kind=kind,
            description=text,
            channel=channel,
            received_at=received_at,
            status=DocumentStatus.RECEIVED,
        )
        s.add(document)
        before = {"stage": case.stage.value}
        stage_at_least(case, Stage.DOCUMENTS)
        missing = _refresh_documents_complete(s, case)
        _finish_case_edit(case, now, prof)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "document.add",
            "document",
            document.id,
            f"{ctx.actor.login} logged a {kind.value} document by {channel.value} on case {case.id}",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "kind": kind.value,
                "channel": channel.value,
                "received_at": received_at.astimezone(dt.UTC).isoformat(),
                "stage": case.stage.value,
                "missing": list(missing),
            },
        )
        return document.id


def review_document(
    ctx: Context, document_id: int, *, verified: bool, reason: str | None = None
) -> str:
    """Mark a document verified or rejected (a rejection needs its reason).

    An identity document is verified only while the borrower's ID number on file is a
    valid 18-character number. Returns the checklist line ("documents still missing: ..."
    or "" when complete).
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    if verified:
        # A remark on a verified document is optional ("copy certified at the counter").
        text = (reason or "").strip() or None
        if text is not None and len(text) > MAX_REASON:
            raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_REASON))
    else:
        text = required_reason(reason, _("rejecting a document needs a reason"))
    with ctx.db.write() as s:
        document = s.get(Document, document_id)
        if document is None:
            raise NotFound(_("document {id} does not exist").format(id=document_id))
        case = load_for_edit(s, document.case_id, ctx=ctx)
        if verified and document.kind is DocumentKind.IDENTITY:
            borrower = s.get(Borrower, case.borrower_id)
            assert borrower is not None
            check = validate_document(borrower.id_number, prof.identity, office_today(now, prof))
            if not check.ok or check.normalized != borrower.id_number:
                # A 15-digit number passes validation (it converts) but is not stored so.
                if not check.ok:
                    problem = check.reason or ""
                elif len(borrower.id_number.strip()) == 15:
                    problem = _("it is in the old 15-digit form")
                else:
                    problem = _("it is not stored in its normal form")
                raise ServiceError(
                    _(
                        "the ID number on file is not valid ({problem}): correct it "
                        "before verifying the identity document"
                    ).format(problem=problem)
                )
        before = {
            "status": document.status.value,
            "documents_complete": case.documents_complete,
        }
        document.status = DocumentStatus.VERIFIED if verified else DocumentStatus.REJECTED
        document.reviewed_by_id = ctx.actor.id
        document.reviewed_at = now
        document.reason = text
        missing = _refresh_documents_complete(s, case)
        _finish_case_edit(case, now, prof)
        audit.record(
            s,
            ctx.actor,
            "document.verify" if verified else "document.reject",
            "document",
            document.id,
            f"{ctx.actor.login} {'verified' if verified else 'rejected'} the "
            f"{document.kind.value} document on case {case.id}",
            now=now,
            case_id=case.id,
            before=before,
            after={
                "status": document.status.value,
                "documents_complete": case.documents_complete,
                "missing": list(missing),
            },
        )
        return describe_missing(missing)


# --- the borrower's ID number and phones -------------------------------------------------


def correct_id_number(ctx: Context, borrower_id: int, raw: str) -> str:
    """Replace the borrower's ID number with a checked one; returns the message to show.

    An old 15-digit number is converted to 18 digits, and the message says so.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    check = validate_document(raw, prof.identity, office_today(now, prof))
    if not check.ok or check.normalized is None:
        raise ServiceError(
            _("the ID number is refused: {reason}").format(reason=check.reason or "")
        )
    new = check.normalized
    with ctx.db.write() as s:
        borrower = s.get(Borrower, borrower_id)
        if borrower is None:
            raise NotFound(_("borrower {id} does not exist").format(id=borrower_id))
        case = _case_of_borrower(s, borrower.id)
        if case is not None:
            load_for_edit(s, case.id, ctx=ctx)  # archived cases are read-only, their borrower too
        old = borrower.id_number
        if new == old:
            raise ServiceError(_("that is already the ID number on file"))
        other = s.scalar(
            select(Borrower.id)
            .where(Borrower.id_rev == reverse_digits(new), Borrower.id != borrower.id)
            .limit(1)
        )
        if other is not None:
            raise ServiceError(_("borrower {other} already has this ID number").format(other=other))
        borrower.id_number = new
        index_borrower(s, borrower)
        audit.record(
            s,
            ctx.actor,
            "borrower.id_number",
            "borrower",
            borrower.id,
            f"{ctx.actor.login} corrected the ID number of borrower {borrower.id}",
            now=now,
            case_id=case.id if case is not None else None,
            before={"id_number": mask_id(old, prof.masking)},
            after={"id_number": mask_id(new, prof.masking), "converted": bool(check.reason)},
        )
    masked = mask_id(new, prof.masking)
    if check.reason:
        return _("ID number changed to {number} ({note})").format(number=masked, note=check.reason)
    return _("ID number changed to {number}").format(number=masked)


def add_phone(
    ctx: Context,
    borrower_id: int,
    raw: str,
    *,
    relation: Relation,
    holder_name: str | None = None,
    kind: PhoneKind | None = None,
) -> int:
    """Add a number to the borrower, stored in E.164 whatever way it was typed.

    ``kind`` defaults to what the numbering plan says (mobile or landline), and to mobile
    where the plan cannot tell (North American numbers).
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    relation = Relation(relation)
    check = normalise_phone(raw, prof.country)
    if not check.ok or check.e164 is None:
        raise ServiceError(
            _("the phone number is refused: {reason}").format(reason=check.reason or "")
        )
    holder = (holder_name or "").strip() or None
    if holder is not None and len(holder) > MAX_HOLDER_NAME:
        raise ServiceError(_("a holder name has at most {n} characters").format(n=MAX_HOLDER_NAME))
    phone_kind = kind or (_PHONE_KINDS[check.kind] if check.kind else PhoneKind.MOBILE)
    with ctx.db.write() as s:
        borrower = s.get(Borrower, borrower_id)
        if borrower is None:
            raise NotFound(_("borrower {id} does not exist").format(id=borrower_id))
        case = _case_of_borrower(s, borrower.id)
        if case is not None:
            load_for_edit(s, case.id, ctx=ctx)
        duplicate = s.scalar(
            select(func.count())
            .select_from(Phone)
            .where(Phone.borrower_id == borrower.id, Phone.e164 == check.e164)
        )
        if duplicate:
            raise ServiceError(
                _("{number} is already a number of this borrower").format(
                    number=mask_phone(check.e164, prof.masking)
                )
            )
        phone = Phone(
            borrower_id=borrower.id,
            e164=check.e164,
            kind=phone_kind,
            relation=relation,
            holder_name=holder,
            verified=False,
            do_not_call=False,
            created_at=now,
        )
        index_phone(phone)
        s.add(phone)
        s.flush()
        audit.record(
            s,
            ctx.actor,
            "phone.add",
            "phone",
            phone.id,
            f"{ctx.actor.login} added a {relation.value} number to borrower {borrower.id}",
            now=now,
            case_id=case.id if case is not None else None,
            after={
                "number": mask_phone(phone.e164, prof.masking),
                "kind": phone_kind.value,
                "relation": relation.value,
            },
        )
        return phone.id


def _phone_for_edit(
    session: Session, phone_id: int, ctx: Context, *, do_not_call: bool = False
) -> tuple[Phone, CollectionCase | None]:
    phone = session.get(Phone, phone_id)
    if phone is None:
        raise NotFound(_("phone {phone} does not exist").format(phone=phone_id))
    case = _case_of_borrower(session, phone.borrower_id)
    if case is not None:
        load_for_edit(session, case.id, ctx=ctx, do_not_call=do_not_call)
    return phone, case


def set_do_not_call(ctx: Context, phone_id: int, do_not_call: bool) -> None:
    """Mark a number do-not-call (any agent), or clear the mark (supervisors only).

    Clearing it lifts a contact restriction for everyone, so it takes the same permission
    as overriding a contact rule; setting it must never wait for anyone.
    """
    check_id("phone_id", phone_id)
    check_flag("do_not_call", do_not_call)
    ctx.actor.require(Action.OVERRIDE_CONTACT_RULE if not do_not_call else Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.write() as s:
        # Marking a number is let through another agent's lease (audited); clearing is not.
        phone, case = _phone_for_edit(s, phone_id, ctx, do_not_call=do_not_call)
        if phone.do_not_call == do_not_call:
            return
        phone.do_not_call = do_not_call
        audit.record(
            s,
            ctx.actor,
            "phone.do_not_call",
            "phone",
            phone.id,
            f"{ctx.actor.login} set do-not-call={do_not_call} on a number of borrower "
            f"{phone.borrower_id}",
            now=now,
            case_id=case.id if case is not None else None,
            before={"do_not_call": not do_not_call},
            after={
                "do_not_call": do_not_call,
                "number": mask_phone(phone.e164, prof.masking),
            },
        )


def set_phone_verified(ctx: Context, phone_id: int, verified: bool) -> None:
    """Mark a number verified (it reached its holder) or unverified."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.write() as s:
        phone, case = _phone_for_edit(s, phone_id, ctx)
        if phone.verified == verified:
            return
        phone.verified = verified
        audit.record(
            s,
            ctx.actor,
            "phone.verified",
            "phone",
            phone.id,
            f"{ctx.actor.login} set verified={verified} on a number of borrower {phone.borrower_id}",
            now=now,
            case_id=case.id if case is not None else None,
            before={"verified": not verified},
            after={"verified": verified, "number": mask_phone(phone.e164, prof.masking)},
        )
