"""SMS reminders from the desk: templates, preview, queueing, and what became of them.

``queue_sms`` writes the contact attempt (channel sms, outcome "sent") and the outbox row
in one transaction, after the contact rules for the channel (quiet hours in the
borrower's zones, do-not-call, holds, allowed parties) and the profile's SMS cap
(``[contact] max_sms_per_day``, rule ``daily_sms_cap``) said yes. Nothing talks to the
gateway here: the worker's sender job (``services.sms_sender``) delivers the outbox, so
however many desks are open exactly one process sends, and a gateway that is down only
leaves messages waiting.

Templates are ``data/templates/sms/<key>.<language>.toml`` (``language``, ``title``,
``body`` with ``{fields}``); ones a supervisor installed (``install_sms_template``) live in
the data folder and come first. A template without the hotline or asking for payment
into a personal account is refused on install and skipped (reported) on load.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Borrower,
    CaseStatus,
    Channel,
    CollectionCase,
    ContactAttempt,
    Direction,
    InstalmentStatus,
    OutboxStatus,
    Outcome,
    Phone,
    PlanInstalment,
    PlanStatus,
    PromiseStatus,
    PromiseToPay,
    RepaymentPlan,
    SmsOutbox,
    Stage,
)
from tui_desk.formatting import amount
from tui_desk.i18n import _
from tui_desk.resources import data_path
from tui_desk.rules.contact import ContactRequest, Decision, check_contact
from tui_desk.rules.masking import mask_phone
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.rules.sms import (
    SmsLength,
    SmsPolicy,
    SmsTemplate,
    SmsTemplateError,
    check_sms_cap,
    load_template_text,
    merge,
    sms_length,
)
from tui_desk.services import audit, template_store
from tui_desk.services.case_state import load_for_edit, recompute_priority
from tui_desk.services.contact_checks import (
    candidate_zones,
    contact_policy,
    is_on_hold,
    recent_history,
)
from tui_desk.services.contacts import (
    ensure_next_action,
    stage_at_least,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, RuleRefused, ServiceError
from tui_desk.services.validation import (
    UnknownRecord,
    check_id,
    check_optional_id,
    check_optional_version,
    check_required_text,
)
from tui_desk.views.sms import OutboxLine, QueuedSms, SmsPreview

MAX_STATUS_LINES = 10


# --- templates --------------------------------------------------------------------------


def _shipped_folders() -> list[Path]:
    folders: list[Path] = []
    with contextlib.suppress(FileNotFoundError):
        folders.append(data_path("templates/sms"))
    return [f for f in folders if f.is_dir()]


def hotline_of(profile: Profile) -> str:
    return str(profile.section("agreement").get("hotline", "")).strip()


@dataclass(frozen=True)
class TemplateCatalogue:
    templates: tuple[SmsTemplate, ...]
    problems: tuple[str, ...]
    """Files that were refused, each with the rule it breaks."""

    def get(self, name: str) -> SmsTemplate:
        for template in self.templates:
            if template.name == name:
                return template
        raise UnknownRecord("template", _("no SMS template {name}").format(name=name))


def load_sms_templates(
    profile: Profile, *, folders: Sequence[Path] | None = None, db: Database | None = None
) -> TemplateCatalogue:
    """Every valid template, the profile's language first; refused ones are reported.

    The newest version installed in the shared database (``db``) comes before the
    shipped file of the same name (``<key>.<language>``)."""
    hotline = hotline_of(profile)
    found: dict[str, SmsTemplate] = {}
    problems: list[str] = []
    if db is not None:
        newest: dict[str, str] = {}
        for t in template_store.stored(db, template_store.SMS):
            newest[f"{t.name}.{t.language}"] = t.body  # oldest first: the last one wins
        for stem, body in sorted(newest.items()):
            try:
                found[stem] = load_template_text(stem, body, hotline)
            except SmsTemplateError as exc:
                problems.append(f"{stem}: {exc.rule}: {exc}")
    for folder in folders if folders is not None else _shipped_folders():
        for path in sorted(folder.glob("*.toml")):
            if path.stem in found:
                continue  # an installed template overrides the shipped one
            try:
                found[path.stem] = load_template_text(
                    path.stem, path.read_text(encoding="utf-8"), hotline
                )
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path.name}: {exc}")
            except SmsTemplateError as exc:
                problems.append(f"{path.name}: {exc.rule}: {exc}")
    first = str(profile.section("agreement").get("language", "zh_CN"))
    ordered = sorted(found.values(), key=lambda t: (t.language != first, t.language, t.name))
    return TemplateCatalogue(tuple(ordered), tuple(problems))


def install_sms_template(ctx: Context, source: Path) -> str:
    """Check a template and install it into the shared database as a new version of its
    name (supervisors and admins; audited); returns its key. At most 64 KB, named
    ``<key>.<language>.toml`` in plain ASCII; a template that lacks the hotline or
    mentions a personal account or a card number is refused."""
    ctx.actor.require(Action.EDIT_TEMPLATES)
    prof = ctx.profile
    try:
        with source.open("rb") as fh:
            raw = fh.read(template_store.MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise ServiceError(_("cannot read the template: {error}").format(error=exc)) from exc
    template_store.check_size(raw)
    key, _dot, language = source.stem.rpartition(".")
    template_store.check_name(key)
    template_store.check_language(language)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError(_("cannot read the template: {error}").format(error=exc)) from exc
    try:
        template = load_template_text(source.stem, text, hotline_of(prof))
    except SmsTemplateError as exc:
        raise RuleRefused(
            _("template refused ({rule}): {reason}").format(rule=exc.rule, reason=exc)
        ) from exc
    if template.language != language:
        raise ServiceError(
            _("name the file <key>.{language}.toml after its language").format(
                language=template.language
            )
        )
    for attempt in range(3):
        try:
            with ctx.db.write() as s:
                version = 1 + template_store.latest_stored_version(
                    s, template_store.SMS, key, language
                )
                return template_store.store(
                    s, ctx, kind=template_store.SMS, name=key, language=language,
                    version=version, body=text,
                )  # fmt: skip
        except IntegrityError:
            if attempt == 2:
                raise ServiceError(
                    _("another install of this template ran at once; try again")
                ) from None
    raise AssertionError("unreachable")


# --- the case's values ----------------------------------------------------------------------


def _money(minor: int, currency: str, language: str) -> str:
    figure = amount(minor)
    if currency == "CNY":
        return f"{figure}元" if language == "zh_CN" else f"CNY {figure}"
    return f"{currency} {figure}"


def _due_date(session: Session, case: CollectionCase) -> dt.date | None:
    """When the borrower is due to pay: an open promise, else the next instalment of the
    active plan, else the day the debt fell overdue."""
    promise = session.scalar(
        select(PromiseToPay.due_on)
        .where(PromiseToPay.case_id == case.id, PromiseToPay.status == PromiseStatus.OPEN)
        .order_by(PromiseToPay.due_on)
        .limit(1)
    )
    if promise is not None:
        return promise
    instalment = session.scalar(
        select(PlanInstalment.due_on)
        .join(RepaymentPlan, RepaymentPlan.id == PlanInstalment.plan_id)
        .where(
            RepaymentPlan.case_id == case.id,
            RepaymentPlan.status == PlanStatus.ACTIVE,
            PlanInstalment.status.in_((InstalmentStatus.DUE, InstalmentStatus.PARTIAL)),
        )
        .order_by(PlanInstalment.due_on)
        .limit(1)
    )
    return instalment if instalment is not None else case.overdue_since


def _values(
    session: Session, case: CollectionCase, borrower: Borrower, actor: Actor | None,
    profile: Profile, language: str,
) -> dict[str, str]:  # fmt: skip
    """The template's fields; without an actor (a contact strategy) the callback line is
    the bank's line without an extension."""
    agreement = profile.section("agreement")
    hotline = hotline_of(profile)
    agent = session.get(Agent, actor.id) if actor is not None else None
    extension = (agent.extension or "").strip() if agent is not None else ""
    due = _due_date(session, case)
    callback_line = str(profile.section("contact").get("sms_callback_number", "") or hotline)
    if extension:
        joiner = " 转 " if language == "zh_CN" else " ext. "
        callback = f"{callback_line}{joiner}{extension}"
    else:
        callback = callback_line
    return {
        "borrower": borrower.name,
        "amount_due": _money(case.overdue_minor, profile.currency, language),
        "due_date": due.isoformat() if due is not None else "",
        "callback": callback,
        "hotline": hotline,
        "bank": str(agreement.get("bank_name", "")),
        "case_no": str(case.id),
    }


# --- the rules ----------------------------------------------------------------------------


def sms_phone(session: Session, borrower: Borrower, phone_id: int | None) -> Phone:
    if phone_id is None:
        phones = session.scalars(
            select(Phone).where(Phone.borrower_id == borrower.id).order_by(Phone.id)
        ).all()
        mobiles = [p for p in phones if p.kind.value == "mobile" and not p.do_not_call]
        if not (mobiles or phones):
            raise ServiceError(_("the borrower has no phone number on file"))
        return (mobiles or list(phones))[0]
    phone = session.get(Phone, phone_id)
    if phone is None or phone.borrower_id != borrower.id:
        raise NotFound(_("phone {phone} is not a number of this borrower").format(phone=phone_id))
    return phone


def decide_sms(
    session: Session,
    case: CollectionCase,
    borrower: Borrower,
    phone: Phone,
    now: dt.datetime,
    profile: Profile,
) -> Decision:
    """The contact rules for an SMS to ``phone`` now, then the SMS cap."""
    if case.status != CaseStatus.OPEN:
        return Decision(False, "archived", _("case {id} is archived").format(id=case.id))
    policy = contact_policy(profile)
    zones = candidate_zones(borrower, phone)
    request = ContactRequest(
        now=now,
        channel=Channel.SMS.value,
        direction=Direction.OUTBOUND.value,
        party=phone.relation.value,
        zones=zones,
        do_not_call=phone.do_not_call,
        on_hold=is_on_hold(session, case),
    )
    history = recent_history(session, case.id, now, policy)
    decision = check_contact(request, history, policy)
    if not decision.allowed:
        return decision
    capped = check_sms_cap(
        now,
        zones[0] if zones else profile.office_timezone,
        history,
        SmsPolicy.from_section(profile.section("contact")),
    )
    if capped is not None and capped.allowed_from is not None:
        # The cap lifts at midnight, but quiet hours may still forbid an SMS then: name
        # the first moment every rule allows it ("from 08:00", not "from 00:00").
        later = check_contact(replace(request, now=capped.allowed_from), history, policy)
        if not later.allowed and later.allowed_from is not None:
            capped = replace(capped, allowed_from=later.allowed_from)
    return capped or decision


# --- preview and queueing -----------------------------------------------------------------


def _load(session: Session, case_id: int) -> tuple[CollectionCase, Borrower]:
    case = session.get(CollectionCase, case_id)
    if case is None:
        raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
    borrower = session.get(Borrower, case.borrower_id)
    assert borrower is not None  # a foreign key
    return case, borrower


def _merged(template: SmsTemplate, values: dict[str, str], hotline: str) -> str:
    try:
        return merge(template, values, hotline=hotline)
    except SmsTemplateError as exc:
        raise RuleRefused(
            _("not sent ({rule}): {reason}").format(rule=exc.rule, reason=exc)
        ) from exc


def preview_sms(
    ctx: Context,
    case_id: int,
    template: str,
    *,
    phone_id: int | None = None,
    catalogue: TemplateCatalogue | None = None,
) -> SmsPreview:
    """The merged text, its length and parts, and whether the rules let it go now."""
    now = ctx.now()
    prof = ctx.profile
    chosen = (catalogue or load_sms_templates(prof, db=ctx.db)).get(template)
    with ctx.db.read() as s:
        case, borrower = _load(s, case_id)
        phone = sms_phone(s, borrower, phone_id)
        text = _merged(
            chosen, _values(s, case, borrower, ctx.actor, prof, chosen.language), hotline_of(prof)
        )
        decision = decide_sms(s, case, borrower, phone, now, prof)
        return SmsPreview(
            template=chosen.name,
            text=text,
            length=sms_length(text),
            phone_id=phone.id,
            number=mask_phone(phone.e164, prof.masking),
            allowed=decision.allowed,
            rule=decision.rule,
            reason=decision.reason,
            allowed_from=decision.allowed_from,
        )


def queue_sms(
    ctx: Context,
    case_id: int,
    template: str,
    *,
    phone_id: int | None = None,
    expected_version: int | None = None,
    catalogue: TemplateCatalogue | None = None,
) -> QueuedSms:
    """Log the SMS as a contact and put it in the outbox, in one transaction.

    Refused (``RuleRefused``, naming the rule) when a contact rule or the SMS cap says no,
    or when the merged text lacks the hotline or asks for a personal account.
    """
    check_id("case_id", case_id)
    check_required_text("template", template, 60)
    check_optional_id("phone_id", phone_id)
    check_optional_version("expected_version", expected_version)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    chosen = (catalogue or load_sms_templates(prof, db=ctx.db)).get(template)
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version, ctx=ctx)
        borrower = s.get(Borrower, case.borrower_id)
        assert borrower is not None
        phone = sms_phone(s, borrower, phone_id)
        decision = decide_sms(s, case, borrower, phone, now, prof)
        if not decision.allowed:
            raise RuleRefused(
                _("SMS refused ({rule}): {reason}").format(
                    rule=decision.rule, reason=decision.reason
                )
            )
        attempt, outbox, length = write_sms(
            s, case, borrower, phone, chosen, ctx.actor, now, prof,
            note=_("SMS {template} queued").format(template=chosen.name),
        )  # fmt: skip
        masked = mask_phone(phone.e164, prof.masking)
        audit.record(
            s,
            ctx.actor,
            "sms.queue",
            "sms_outbox",
            outbox.id,
            f"{ctx.actor.login} queued SMS {chosen.name} to {masked} ({length.segments} parts)",
            now=now,
            case_id=case.id,
            after={
                "outbox_id": outbox.id,
                "contact_id": attempt.id,
                "template": chosen.name,
                "phone": masked,
                "segments": length.segments,
                "encoding": length.encoding,
                "status": OutboxStatus.PENDING.value,
            },
        )
        return QueuedSms(
            outbox_id=outbox.id,
            contact_id=attempt.id,
            segments=length.segments,
            number=masked,
            case_version=case.version,
        )


def write_sms(
    s: Session,
    case: CollectionCase,
    borrower: Borrower,
    phone: Phone,
    chosen: SmsTemplate,
    actor: Actor | None,
    now: dt.datetime,
    prof: Profile,
    *,
    note: str,
) -> tuple[ContactAttempt, SmsOutbox, SmsLength]:
    """The contact attempt and outbox row of an SMS the rules allowed (``decide_sms``), and
    the case's stage, next action and priority after it; the caller audits. ``actor`` None:
    a contact strategy queued it."""
    text = _merged(
        chosen, _values(s, case, borrower, actor, prof, chosen.language), hotline_of(prof)
    )
    length = sms_length(text)
    attempt = ContactAttempt(
        case_id=case.id,
        agent_id=actor.id if actor is not None else None,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        phone_id=phone.id,
        party=phone.relation,
        outcome=Outcome.SENT,
        note=note,
        started_at=now,
    )
    s.add(attempt)
    s.flush()
    outbox = SmsOutbox(
        case_id=case.id,
        contact_id=attempt.id,
        phone_id=phone.id,
        e164=phone.e164,
        template=chosen.name[:60],
        body=text,
        segments=max(1, length.segments),
        idempotency_key=f"sms-{uuid.uuid4().hex}",
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
    )
    s.add(outbox)
    stage_at_least(case, Stage.CONTACTING)
    ensure_next_action(case, now, prof)
    recompute_priority(case, now, prof)
    s.flush()
    return attempt, outbox, length


# --- what became of them ------------------------------------------------------------------


def outbox_lines(
    db: Database, case_id: int, *, profile: Profile, limit: int = MAX_STATUS_LINES
) -> list[OutboxLine]:
    """The case's latest SMS and where each one stands, newest first."""
    with db.read() as s:
        rows = s.scalars(
            select(SmsOutbox)
            .where(SmsOutbox.case_id == case_id)
            .order_by(SmsOutbox.created_at.desc(), SmsOutbox.id.desc())
            .limit(limit)
        ).all()
        return [
            OutboxLine(
                outbox_id=r.id,
                created_at=r.created_at,
                template=r.template,
                number=mask_phone(r.e164, profile.masking),
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at,
                sent_at=r.sent_at,
                delivered_at=r.delivered_at,
            )
            for r in rows
        ]
