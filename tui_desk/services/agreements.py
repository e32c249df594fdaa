"""Agreements (process step 6): draft from the standard form, versions, ready, sign, copies.

The standard clauses come from a versioned template in ``data/templates/agreements``;
the operator fills nothing by hand that the case already knows (variables are merged
from the case, borrower, accounts and plan) and may write special terms. Changing a
standard clause is a deviation: only an agent who may edit templates (a supervisor)
may save one, and it is audited as such. A draft with a required clause missing or empty
cannot be marked ready. Signing freezes the latest version: its content hash is stored,
printed on both copies and checked again whenever the agreement is opened; any later
change is a new agreement, never an edit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    Borrower,
    CollectionCase,
    LoanAccount,
    Phone,
    PlanInstalment,
    PlanStatus,
    Relation,
    RepaymentPlan,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.exports.agreement_document import (
    AgreementDocument,
    CopyKind,
    Party,
    ScheduleLine,
    Section,
    SectionKind,
    Signatures,
    render_markdown,
)
from tui_desk.files import private_folder, write_private_bytes, write_private_text
from tui_desk.formatting import amount
from tui_desk.i18n import _
from tui_desk.integrations.printing import PrintFailed, print_file
from tui_desk.resources import data_path
from tui_desk.rules import agreements as rules
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile
from tui_desk.services import audit, template_store
from tui_desk.services.case_state import (
    guard_case,
    load_for_edit,
    office_today,
    recompute_priority,
)
from tui_desk.services.contacts import (
    MAX_REASON,
    stage_at_least,
)
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError, StaleEdit
from tui_desk.services.followups import schedule_for_agreement
from tui_desk.services.plans import activate_plan
from tui_desk.services.validation import (
    check_id,
    check_optional_version,
    check_required_text,
    check_text,
)
from tui_desk.views.agreements import AgreementRecord

MAX_SPECIAL_TERMS = 4000
MAX_FIELD = 200
_OPEN = (AgreementStatus.DRAFT, AgreementStatus.READY)


class TamperedAgreement(ServiceError):
    """The stored text of a signed agreement no longer matches its hash."""


# --- templates ---------------------------------------------------------------------------


# What the desk can merge into a template (a template using anything else is refused).
KNOWN_VARIABLES = frozenset(
    {
        "bank_name", "hotline", "accounts", "borrower_name", "id_number", "address", "phone",
        "as_of", "principal", "interest", "penalty", "fees", "total_owed", "waiver",
        "to_repay", "first_due", "last_due", "instalments", "frequency", "down_payment",
        "interest_clause", "negotiation",
    }
)  # fmt: skip


def _shipped_folder() -> Path | None:
    with contextlib.suppress(FileNotFoundError):
        folder = data_path("templates/agreements")
        if folder.is_dir():
            return folder
    return None


def _shipped_versions(name: str, language: str) -> dict[int, Path]:
    folder = _shipped_folder()
    if folder is None:
        return {}
    found: dict[int, Path] = {}
    for p in folder.glob(f"{name}.v*.{language}.toml"):
        version = p.name.split(".")[1][1:]
        if version.isascii() and version.isdigit():
            found[int(version)] = p
    return found


def _stored_versions(db: Database | Session | None, name: str, language: str) -> dict[int, str]:
    if db is None:
        return {}
    found = template_store.stored(db, template_store.AGREEMENT, name=name, language=language)
    return {t.version: t.body for t in found}


def template_versions(name: str, language: str, db: Database | None = None) -> list[str]:
    """The versions of a form: shipped with tui-desk, and installed in the database."""
    versions = set(_shipped_versions(name, language)) | set(_stored_versions(db, name, language))
    return [str(v) for v in sorted(versions)]


def latest_template_version(name: str, language: str, db: Database | None = None) -> str:
    versions = template_versions(name, language, db)
    if not versions:
        raise NotFound(
            _("no agreement template {name} in {language}").format(name=name, language=language)
        )
    return versions[-1]


def load_template(
    name: str, language: str, version: str | None = None, db: Database | Session | None = None
) -> rules.Template:
    """One version of a form (the newest by default); one installed in the database comes
    before a shipped file of the same version."""
    stored = _stored_versions(db, name, language)  # read once for the version and body
    if version is None:
        versions = set(_shipped_versions(name, language)) | set(stored)
        if not versions:
            raise NotFound(
                _("no agreement template {name} in {language}").format(name=name, language=language)
            )
        version = str(max(versions))
    missing = NotFound(
        _("no agreement template {name} v{version} in {language}").format(
            name=name, version=version, language=language
        )
    )
    if not (version.isascii() and version.isdigit()):
        raise missing
    body = stored.get(int(version))
    if body is not None:
        return rules.parse_template(tomllib.loads(body))
    path = _shipped_versions(name, language).get(int(version))
    if path is None:
        raise missing
    with path.open("rb") as fh:
        return rules.parse_template(tomllib.load(fh))


def install_template(ctx: Context, source: Path) -> str:
    """Install a new version of a standard form into the shared database (supervisors and
    admins; audited); returns its key (``name.vN.language``).

    Checked before it is accepted: at most 64 KB; a plain name, language and version; it
    parses, names only variables the desk can fill, holds every clause the profile
    requires, and is newer than every version of its name and language (old versions
    stay, for agreements signed on them).
    """
    ctx.actor.require(Action.EDIT_TEMPLATES)
    prof = ctx.profile
    try:
        with source.open("rb") as fh:
            raw = fh.read(template_store.MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise ServiceError(_("cannot read the template: {error}").format(error=exc)) from exc
    template_store.check_size(raw)
    try:
        text = raw.decode("utf-8")
        template = rules.parse_template(tomllib.loads(text))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ServiceError(_("cannot read the template: {error}").format(error=exc)) from exc
    except rules.TemplateError as exc:
        raise ServiceError(str(exc)) from exc
    template_store.check_name(template.name)
    template_store.check_language(template.language)
    version = template_store.check_version(template.version)
    unknown = sorted(rules.template_variables(template) - KNOWN_VARIABLES)
    if unknown:
        raise ServiceError(
            _("the template uses values the desk cannot fill: {names}").format(
                names=", ".join(unknown)
            )
        )
    sample = rules.merge(template, {name: "x" for name in KNOWN_VARIABLES}, number="check")
    missing = rules.missing_required(sample, prof.name)
    if missing:
        raise ServiceError(
            _("the template lacks required clauses: {names}").format(names=", ".join(missing))
        )
    shipped = max(_shipped_versions(template.name, template.language), default=0)
    try:
        with ctx.db.write() as s:
            latest = max(
                shipped,
                template_store.latest_stored_version(
                    s, template_store.AGREEMENT, template.name, template.language
                ),
            )
            if version <= latest:
                raise ServiceError(
                    _("version {version} is not newer than the installed v{latest}").format(
                        version=version, latest=latest
                    )
                )
            return template_store.store(
                s,
                ctx,
                kind=template_store.AGREEMENT,
                name=template.name,
                language=template.language,
                version=version,
                body=text,
            )
    except IntegrityError as exc:
        raise ServiceError(
            _("version {version} is not newer than the installed v{latest}").format(
                version=version, latest=version
            )
        ) from exc


def _settings(profile: Profile) -> dict[str, str]:
    section = profile.section("agreement")
    return {
        "template": str(section.get("template", "repayment")),
        "language": str(section.get("language", "zh_CN")),
        "bank_name": str(section.get("bank_name", "")),
        "hotline": str(section.get("hotline", "")),
        "number_prefix": str(section.get("number_prefix", "HK")),
    }


# --- merging the case into the template ----------------------------------------------------


_FREQUENCY = {
    "zh_CN": {"monthly": "按月", "quarterly": "按季", "weekly": "按周", "biweekly": "每两周"},
    "en": {"monthly": "monthly", "quarterly": "quarterly", "weekly": "weekly",
           "biweekly": "every two weeks"},
}  # fmt: skip
# Where the plan was agreed, as the preamble says it: at a home visit only when a collector
# discussed it (or took money) at the borrower's door, otherwise without naming a place.
_NEGOTIATION = {
    "zh_CN": ("经上门协商", "经协商"),
    "en": ("After consultation at a home visit", "After consultation"),
}
_AGREED_AT_THE_DOOR = (VisitOutcome.PLAN_DISCUSSED, VisitOutcome.PAID_AT_DOOR)

_INTEREST_CLAUSE = {
    "zh_CN": (
        "甲方停止计收罚息及其他费用，利息按本协议所附还款计划表计收，不再另行计收。",
        "甲方停止计收利息、罚息及其他费用。",
    ),
    "en": (
        "Party A stops charging penalty interest and fees; interest is charged only as set "
        "out in the schedule attached.",
        "Party A charges no further interest, penalty interest or fees.",
    ),
}


def _plan_for(session: Session, case_id: int) -> RepaymentPlan:
    plans = session.scalars(
        select(RepaymentPlan)
        .where(
            RepaymentPlan.case_id == case_id,
            RepaymentPlan.status.in_((PlanStatus.DRAFT, PlanStatus.ACTIVE)),
        )
        .order_by(RepaymentPlan.id.desc())
    ).all()
    drafts = [p for p in plans if p.status is PlanStatus.DRAFT]
    plan = drafts[0] if drafts else (plans[0] if plans else None)
    if plan is None:
        raise ServiceError(_("draft a repayment plan first: the agreement is built on it"))
    return plan


def _agreed_at_the_door(session: Session, case_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    VisitReport.case_id == case_id, VisitReport.outcome.in_(_AGREED_AT_THE_DOOR)
                )
            )
        )
    )


@dataclass(frozen=True)
class AccountFigures:
    """What one account contributes to an agreement: its number and outstanding parts."""

    label: str
    principal_minor: int
    interest_minor: int
    penalty_minor: int
    fees_minor: int


@dataclass(frozen=True)
class ScheduleFigures:
    """One instalment line as printed in the agreement's schedule."""

    seq: int
    due_on: dt.date
    principal_minor: int
    interest_minor: int
    amount_minor: int


def merge_figures(
    template: rules.Template,
    profile: Profile,
    *,
    number: str,
    as_of: dt.date,
    borrower_name: str,
    id_number: str,
    address: str,
    phone: str,
    accounts: Sequence[AccountFigures],
    account_fallback: str,
    plan_frequency: str,
    plan_rate: Decimal,
    waiver_minor: int,
    down_payment_minor: int,
    lines: Sequence[ScheduleFigures],
    special_terms: str = "",
    agreed_at_the_door: bool = False,
) -> rules.Content:
    """The standard form filled with a case's figures (pure: the seeder uses it too).

    ``agreed_at_the_door``: a collector discussed the plan (or took money) at the
    borrower's door, and the preamble says the plan was reached at a home visit."""
    settings = _settings(profile)
    lang = template.language if template.language in _FREQUENCY else "en"
    principal = sum(a.principal_minor for a in accounts)
    interest = sum(a.interest_minor for a in accounts)
    penalty = sum(a.penalty_minor for a in accounts)
    fees = sum(a.fees_minor for a in accounts)
    total = principal + interest + penalty + fees
    if not lines:
        raise ServiceError(_("the repayment plan has no schedule"))
    regular = [line for line in lines if line.seq > 0]
    free = plan_rate == 0
    variables = {
        "bank_name": settings["bank_name"],
        "hotline": settings["hotline"],
        "accounts": ", ".join(a.label for a in accounts) or account_fallback,
        "borrower_name": borrower_name,
        "id_number": id_number,
        "address": address,
        "phone": phone,
        "as_of": as_of.isoformat(),
        "principal": amount(principal),
        "interest": amount(interest),
        "penalty": amount(penalty),
        "fees": amount(fees),
        "total_owed": amount(total),
        "waiver": amount(waiver_minor),
        "to_repay": amount(total - waiver_minor),
        "first_due": (regular or lines)[0].due_on.isoformat(),
        "last_due": lines[-1].due_on.isoformat(),
        "instalments": str(len(regular) or len(lines)),
        "frequency": _FREQUENCY[lang].get(plan_frequency, plan_frequency),
        "down_payment": amount(down_payment_minor),
        "interest_clause": _INTEREST_CLAUSE[lang][1 if free else 0],
        "negotiation": _NEGOTIATION[lang][0 if agreed_at_the_door else 1],
    }
    schedule = tuple(
        (
            str(line.seq),
            line.due_on.isoformat(),
            amount(line.principal_minor),
            amount(line.interest_minor),
            amount(line.amount_minor),
        )
        for line in lines
    )
    totals = (
        "合计" if lang == "zh_CN" else "Total",
        "",
        amount(sum(line.principal_minor for line in lines)),
        amount(sum(line.interest_minor for line in lines)),
        amount(sum(line.amount_minor for line in lines)),
    )
    return rules.merge(
        template, variables, number=number, schedule=schedule, schedule_total=totals,
        special_terms=special_terms,
    )  # fmt: skip


def _account_figures(a: LoanAccount) -> AccountFigures:
    return AccountFigures(
        a.external_id or str(a.id),
        a.outstanding_principal_minor,
        a.outstanding_interest_minor,
        a.outstanding_penalty_minor,
        a.outstanding_fees_minor,
    )


def _merge_case(
    session: Session,
    case: CollectionCase,
    plan: RepaymentPlan,
    template: rules.Template,
    *,
    number: str,
    now: dt.datetime,
    profile: Profile,
    special_terms: str = "",
) -> rules.Content:
    borrower = session.get(Borrower, case.borrower_id)
    assert borrower is not None
    accounts = session.scalars(
        select(LoanAccount).where(LoanAccount.case_id == case.id).order_by(LoanAccount.id)
    ).all()
    phone = session.scalars(
        select(Phone.e164)
        .where(Phone.borrower_id == borrower.id, Phone.relation == Relation.BORROWER)
        .order_by(Phone.verified.desc(), Phone.id)
        .limit(1)
    ).first()
    lines = session.scalars(
        select(PlanInstalment).where(PlanInstalment.plan_id == plan.id).order_by(PlanInstalment.seq)
    ).all()
    return merge_figures(
        template,
        profile,
        number=number,
        as_of=office_today(now, profile),
        borrower_name=borrower.name,
        id_number=borrower.id_number,
        address=borrower.address,
        phone=phone or "",
        accounts=[_account_figures(a) for a in accounts],
        account_fallback=str(case.id),
        plan_frequency=plan.frequency.value,
        plan_rate=Decimal(plan.annual_rate),
        waiver_minor=plan.waiver_minor,
        down_payment_minor=plan.down_payment_minor,
        lines=[
            ScheduleFigures(
                li.seq, li.due_on, li.principal_minor, li.interest_minor, li.amount_minor
            )
            for li in lines
        ],
        special_terms=special_terms,
        agreed_at_the_door=_agreed_at_the_door(session, case.id),
    )


def agreement_number(profile: Profile, case_id: int, agreement_id: int, day: dt.date) -> str:
    """The agreement's number: the profile's prefix, the year it was drafted, case, id."""
    prefix = _settings(profile)["number_prefix"]
    return f"{prefix}-{day:%Y}-{case_id:06d}-{agreement_id}"


def _number(profile: Profile, case_id: int, agreement_id: int, now: dt.datetime) -> str:
    return agreement_number(profile, case_id, agreement_id, office_today(now, profile))


def _terms(text: str | None) -> str:
    value = (text or "").strip()
    if len(value) > MAX_SPECIAL_TERMS:
        raise ServiceError(
            _("special terms have at most {max} characters (these have {n})").format(
                max=MAX_SPECIAL_TERMS, n=len(value)
            )
        )
    return value


def _latest(session: Session, agreement_id: int) -> AgreementVersion | None:
    return session.scalars(
        select(AgreementVersion)
        .where(AgreementVersion.agreement_id == agreement_id)
        .order_by(AgreementVersion.seq.desc())
        .limit(1)
    ).first()


def _content(version: AgreementVersion | None) -> rules.Content:
    if version is None:
        raise ServiceError(_("the agreement has no text yet"))
    try:
        return rules.Content.from_json(version.content)
    except rules.TemplateError as exc:
        raise ServiceError(
            _("agreement {id} cannot be opened: {error}").format(id=version.agreement_id, error=exc)
        ) from exc


# --- drafting -----------------------------------------------------------------------------


def draft_agreement(
    ctx: Context,
    case_id: int,
    *,
    language: str | None = None,
    special_terms: str | None = None,
    expected_version: int | None = None,
) -> int:
    """A new draft on the case's plan from the standard form; older drafts are voided."""
    check_id("case_id", case_id)
    check_text("language", language, 10)
    check_text("special_terms", special_terms, MAX_SPECIAL_TERMS, multiline=True)
    check_optional_version("expected_version", expected_version)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    settings = _settings(prof)
    template = load_template(settings["template"], language or settings["language"], db=ctx.db)
    terms = _terms(special_terms)
    with ctx.db.write() as s:
        case = load_for_edit(s, case_id, expected_version=expected_version, ctx=ctx)
        plan = _plan_for(s, case.id)
        for old in s.scalars(
            select(Agreement).where(Agreement.case_id == case.id, Agreement.status.in_(_OPEN))
        ):
            old.status = AgreementStatus.VOID
        agreement = Agreement(
            case_id=case.id,
            plan_id=plan.id,
            template_name=template.name,
            template_version=template.version,
            language=template.language,
            status=AgreementStatus.DRAFT,
            created_by_id=ctx.actor.id,
            created_at=now,
        )
        s.add(agreement)
        s.flush()
        content = _merge_case(
            s, case, plan, template, number=_number(prof, case.id, agreement.id, now), now=now,
            profile=prof, special_terms=terms,
        )  # fmt: skip
        s.add(
            AgreementVersion(
                agreement_id=agreement.id,
                seq=1,
                content=content.to_json(),
                special_terms=terms or None,
                created_by_id=ctx.actor.id,
                created_at=now,
                note="drafted from the standard form",
            )
        )
        before = case.stage.value
        stage_at_least(case, Stage.AGREEMENT)
        recompute_priority(case, now, prof)
        audit.record(
            s, ctx.actor, "agreement.draft", "agreement", agreement.id,
            f"{ctx.actor.login} drafted agreement {content.number} on case {case.id} "
            f"({template.key}, plan {plan.id})",
            now=now, case_id=case.id,
            before={"stage": before},
            after={"stage": case.stage.value, "template": template.key, "plan_id": plan.id},
        )  # fmt: skip
        return agreement.id


def _open_agreement(session: Session, agreement_id: int, record_version: int | None) -> Agreement:
    # Locked on PostgreSQL, so a concurrent edit waits and then sees the new version.
    agreement = session.get(
        Agreement, agreement_id, with_for_update=session.get_bind().dialect.name == "postgresql"
    )
    if agreement is None:
        raise NotFound(_("agreement {id} does not exist").format(id=agreement_id))
    if record_version is not None and agreement.version != record_version:
        raise StaleEdit(
            _(
                "agreement {id} was changed by someone else since you opened it; "
                "reload it and try again"
            ).format(id=agreement_id)
        )
    if agreement.status not in _OPEN:
        raise ServiceError(
            _(
                "agreement {id} is {status}: a signed or void agreement never changes; "
                "draft a new one"
            ).format(id=agreement_id, status=agreement.status.value)
        )
    if record_version is not None:
        # Every edit made against a version moves it on, even one that leaves the row as
        # it is (a new text version): the next edit against the old version is refused.
        flag_modified(agreement, "status")
    return agreement


def save_version(
    ctx: Context,
    agreement_id: int,
    *,
    special_terms: str | None,
    clauses: Sequence[rules.Clause] | None = None,
    note: str | None = None,
    record_version: int | None = None,
) -> int:
    """A new version (special terms, or clause text); returns its number.

    Changed standard clauses are a deviation: refused unless the actor may edit the
    bank's templates (a supervisor), and audited with the clauses named.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    terms = _terms(special_terms)
    why = (note or "").strip()[:MAX_FIELD] or None
    with ctx.db.write() as s:
        agreement = _open_agreement(s, agreement_id, record_version)
        case = load_for_edit(s, agreement.case_id, ctx=ctx)
        latest = _latest(s, agreement.id)
        current = _content(latest)
        template = load_template(
            agreement.template_name, agreement.language, agreement.template_version, db=s
        )
        plan = s.get(RepaymentPlan, agreement.plan_id) if agreement.plan_id else None
        if plan is None:
            raise ServiceError(_("the agreement's repayment plan is gone"))
        standard = _merge_case(
            s, case, plan, template, number=current.number, now=now, profile=prof
        )
        new = current.with_special_terms(terms)
        if clauses is not None:
            new = rules.Content(**{**new.__dict__, "clauses": tuple(clauses)})
        changed = rules.deviations(new, replace_terms(standard, new))
        if changed and not ctx.actor.can(Action.EDIT_TEMPLATES):
            raise PermissionDenied(
                _(
                    "changing a standard clause ({clauses}) is a deviation from the bank's "
                    "form: a supervisor must make it"
                ).format(clauses=", ".join(changed))
            )
        if new.to_json() == current.to_json():
            raise ServiceError(_("nothing changed: no new version saved"))
        seq = (latest.seq if latest else 0) + 1
        s.add(
            AgreementVersion(
                agreement_id=agreement.id,
                seq=seq,
                content=new.to_json(),
                special_terms=terms or None,
                created_by_id=ctx.actor.id,
                created_at=now,
                note=why,
            )
        )
        status_before = agreement.status
        agreement.status = AgreementStatus.DRAFT  # a changed text is checked again
        audit.record(
            s, ctx.actor, "agreement.version", "agreement", agreement.id,
            f"{ctx.actor.login} saved version {seq} of agreement {agreement.id}"
            + (f" with deviations: {', '.join(changed)}" if changed else ""),
            now=now, case_id=case.id,
            before={"version": seq - 1, "status": status_before.value},
            after={"version": seq, "status": "draft", "deviations": changed,
                   "special_terms": bool(terms)},
        )  # fmt: skip
        return seq


def replace_terms(standard: rules.Content, new: rules.Content) -> rules.Content:
    """The standard text with the draft's special terms (those are never a deviation)."""
    return standard.with_special_terms(new.special_terms)


def mark_ready(ctx: Context, agreement_id: int, *, record_version: int | None = None) -> None:
    """Ready to sign: refused, naming them, while a required clause is missing or empty."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.write() as s:
        agreement = _open_agreement(s, agreement_id, record_version)
        guard_case(s, agreement.case_id, ctx)
        if agreement.status is AgreementStatus.READY:
            raise ServiceError(_("the agreement is already ready to sign"))
        content = _content(_latest(s, agreement.id))
        missing = rules.missing_required(content, prof.name)
        if missing:
            raise ServiceError(
                _("not ready to sign: required clauses missing or empty: {names}").format(
                    names=", ".join(missing)
                )
            )
        agreement.status = AgreementStatus.READY
        audit.record(
            s, ctx.actor, "agreement.ready", "agreement", agreement.id,
            f"{ctx.actor.login} marked agreement {agreement.id} ready to sign",
            now=now, case_id=agreement.case_id,
            before={"status": "draft"}, after={"status": "ready"},
        )  # fmt: skip


# --- signing ---------------------------------------------------------------------------------


def sign_agreement(
    ctx: Context,
    agreement_id: int,
    *,
    borrower_confirmation: str,
    place: str,
    effective_on: dt.date | None = None,
    borrower_copy_delivery: str | None = None,
    record_version: int | None = None,
) -> str:
    """Both signatures recorded, the text frozen by its hash; returns the hash.

    The plan becomes active, follow-ups are scheduled, and the case leaves the contact
    queue while the agreement is honoured.
    """
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    confirmation = (borrower_confirmation or "").strip()
    where = (place or "").strip()
    if not confirmation:
        raise ServiceError(
            _("record how the borrower confirmed (signature, thumbprint, e-signature...)")
        )
    if not where:
        raise ServiceError(_("record where the agreement was signed"))
    if len(confirmation) > MAX_FIELD or len(where) > MAX_FIELD:
        raise ServiceError(_("at most {n} characters per field").format(n=MAX_FIELD))
    today = office_today(now, prof)
    effective = effective_on or today
    if effective < today - dt.timedelta(days=7):
        raise ServiceError(_("the effective date cannot be more than a week in the past"))
    delivery = (borrower_copy_delivery or "").strip()[:MAX_REASON] or None
    with ctx.db.write() as s:
        agreement = s.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(_("agreement {id} does not exist").format(id=agreement_id))
        if record_version is not None and agreement.version != record_version:
            raise StaleEdit(_("the agreement changed since you opened it; reload it"))
        if agreement.status is not AgreementStatus.READY:
            raise ServiceError(
                _("only an agreement marked ready can be signed (this one is {status})").format(
                    status=agreement.status.value
                )
            )
        case = load_for_edit(s, agreement.case_id, ctx=ctx)
        latest = _latest(s, agreement.id)
        content = _content(latest)
        missing = rules.missing_required(content, prof.name)
        if missing:
            raise ServiceError(
                _("not ready to sign: required clauses missing or empty: {names}").format(
                    names=", ".join(missing)
                )
            )
        assert latest is not None
        digest = rules.content_hash(latest.content)
        agreement.status = AgreementStatus.SIGNED
        agreement.content_hash = digest
        agreement.signed_at = now
        agreement.signed_place = where
        agreement.bank_signatory_id = ctx.actor.id
        agreement.borrower_confirmation = confirmation
        agreement.borrower_copy_delivery = delivery
        agreement.effective_on = effective
        plan = s.get(RepaymentPlan, agreement.plan_id) if agreement.plan_id else None
        followups: list[int] = []
        if plan is not None:
            _activate(s, plan, case, now, prof)
            followups = _schedule_followups(
                s, case, agreement, plan, effective, ctx.actor, now, prof
            )
        stage_before = case.stage.value
        case.stage = Stage.FOLLOW_UP
        recompute_priority(case, now, prof)
        audit.record(
            s, ctx.actor, "agreement.sign", "agreement", agreement.id,
            f"{ctx.actor.login} signed agreement {content.number} on case {case.id}, "
            f"effective {effective.isoformat()}",
            now=now, case_id=case.id,
            before={"status": "ready", "stage": stage_before},
            after={"status": "signed", "stage": case.stage.value, "content_hash": digest,
                   "version": latest.seq, "effective_on": effective.isoformat(),
                   "follow_ups": len(followups)},
        )  # fmt: skip
        return digest


def _activate(
    session: Session, plan: RepaymentPlan, case: CollectionCase, now: dt.datetime, prof: Profile
) -> None:
    activate_plan(session, plan, now, profile=prof)


def _schedule_followups(
    session: Session,
    case: CollectionCase,
    agreement: Agreement,
    plan: RepaymentPlan,
    effective: dt.date,
    actor: Actor,
    now: dt.datetime,
    prof: Profile,
) -> list[int]:
    last_due = session.scalar(
        select(PlanInstalment.due_on)
        .where(PlanInstalment.plan_id == plan.id)
        .order_by(PlanInstalment.seq.desc())
        .limit(1)
    )
    owner = case.owner_id or actor.id
    return list(
        schedule_for_agreement(
            session, case_id=case.id, agreement_id=agreement.id, effective_on=effective,
            payoff_on=last_due or effective, owner_id=owner, now=now, profile=prof,
        )
    )  # fmt: skip


# --- reading, checking, exporting ---------------------------------------------------------


def open_agreement(db: Database, agreement_id: int) -> AgreementRecord:
    """The agreement with its latest text; a signed one is checked against its hash."""
    with db.read() as s:
        agreement = s.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(_("agreement {id} does not exist").format(id=agreement_id))
        versions = s.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.agreement_id == agreement.id)
            .order_by(AgreementVersion.seq.desc())
            .limit(2)
        ).all()
        if not versions:
            raise ServiceError(_("the agreement has no text yet"))
        count = s.scalar(
            select(AgreementVersion.seq)
            .where(AgreementVersion.agreement_id == agreement.id)
            .order_by(AgreementVersion.seq.desc())
            .limit(1)
        )
        signatory = (
            s.scalar(select(Agent.name).where(Agent.id == agreement.bank_signatory_id))
            if agreement.bank_signatory_id
            else None
        )
        hash_ok = None
        if agreement.content_hash is not None:
            hash_ok = rules.content_hash(versions[0].content) == agreement.content_hash
        try:
            content = rules.Content.from_json(versions[0].content)
            previous = rules.Content.from_json(versions[1].content) if len(versions) > 1 else None
        except rules.TemplateError as exc:
            raise ServiceError(
                _("agreement {id} cannot be opened: {error}").format(id=agreement.id, error=exc)
            ) from exc
        return AgreementRecord(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            status=agreement.status,
            record_version=agreement.version,
            content=content,
            versions=count or 1,
            content_hash=agreement.content_hash,
            hash_ok=hash_ok,
            signed_at=agreement.signed_at,
            signed_place=agreement.signed_place,
            bank_signatory=signatory,
            borrower_confirmation=agreement.borrower_confirmation,
            borrower_copy_delivery=agreement.borrower_copy_delivery,
            effective_on=agreement.effective_on,
            previous=previous,
        )


def _label_value(text: str) -> tuple[str, str]:
    for sep in ("：", ": "):
        if sep in text:
            label, value = text.split(sep, 1)
            return label.strip(), value.strip()
    return "", text


def _role_name(text: str) -> tuple[str, str]:
    label, value = _label_value(text)
    return (label or text), value


def document(record: AgreementRecord, copy: CopyKind, profile: Profile) -> AgreementDocument:
    """The printable document of one copy (bank or borrower) of the agreement."""
    c = record.content
    language: Literal["zh_CN", "en"] = "zh_CN" if c.language == "zh_CN" else "en"
    bank_role, bank_name = _role_name(c.bank)
    borrower_role, borrower_name = _role_name(c.borrower)
    known = {k.value for k in SectionKind}
    sections = tuple(
        Section(SectionKind(cl.kind) if cl.kind in known else SectionKind.OTHER, cl.heading,
                cl.body)
        for cl in c.all_clauses
    )  # fmt: skip
    zone = ZoneInfo(profile.office_timezone)
    signed = record.signed_at.astimezone(zone) if record.signed_at else None
    signatures = Signatures(
        bank_signatory=record.bank_signatory or "",
        borrower_confirmation=record.borrower_confirmation or "",
        place=record.signed_place or "",
        date=signed.strftime("%Y-%m-%d") if signed else "",
    )
    return AgreementDocument(
        title=c.title,
        number=c.number,
        copy=copy,
        parties=(
            Party(bank_role, bank_name),
            Party(borrower_role, borrower_name, tuple(_label_value(d) for d in c.borrower_details)),
        ),
        sections=sections,
        schedule=tuple(ScheduleLine(*row) for row in c.schedule),
        schedule_total=ScheduleLine(*c.schedule_total) if c.schedule_total else None,
        signatures=signatures,
        content_sha256=record.content_hash or rules.content_hash(c.to_json()),
        language=language,
        prepared_on=signed.date() if signed else dt.date(2000, 1, 1),
        profile=profile.name,
        issuer=c.issuer,
        form_code=c.form_code,
        preamble=c.preamble,
    )


@dataclass(frozen=True)
class ExportedCopies:
    files: tuple[Path, ...]
    content_hash: str


@dataclass(frozen=True)
class PrintedCopies:
    files: tuple[Path, ...]
    printer: tuple[str, ...]
    """What the print command said for each file (``lp``: the job id)."""


def export_copies(ctx: Context, agreement_id: int, folder: Path) -> ExportedCopies:
    """Bank and borrower copies as PDF and Markdown (an audited read: full personal data)."""
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    prof = ctx.profile
    record = open_agreement(ctx.db, agreement_id)
    if record.hash_ok is False:
        raise TamperedAgreement(
            _("agreement {id}: the stored text does not match the signed hash; not exported")
            .format(id=agreement_id)
        )  # fmt: skip
    # The PDF and font libraries load on the first export, not with the desk.
    from tui_desk.exports.agreement_pdf import render_pdf

    private_folder(folder)
    files: list[Path] = []
    for copy in (CopyKind.BANK, CopyKind.BORROWER):
        doc = document(record, copy, prof)
        stem = folder / f"agreement-{record.content.number}-{copy.value}"
        pdf = stem.with_suffix(".pdf")
        write_private_bytes(pdf, render_pdf(doc))
        md = stem.with_suffix(".md")
        write_private_text(md, render_markdown(doc))
        files += [pdf, md]
    with ctx.db.write() as s:
        audit.record(
            s, ctx.actor, "agreement.export", "agreement", agreement_id,
            f"{ctx.actor.login} exported the bank and borrower copies of agreement "
            f"{record.content.number}",
            now=now, case_id=record.case_id,
            after={"files": [f.name for f in files], "content_hash": record.content_hash},
        )  # fmt: skip
    return ExportedCopies(tuple(files), record.content_hash or "")


def print_copies(
    ctx: Context, agreement_id: int, folder: Path, print_command: str
) -> PrintedCopies:
    """Export the two originals (bank and borrower) and hand their PDFs to the host's
    print command; audited with the files and what the printer said."""
    copies = export_copies(ctx, agreement_id, folder)
    pdfs = [f for f in copies.files if f.suffix == ".pdf"]
    jobs: list[str] = []
    try:
        for pdf in pdfs:
            jobs.append(print_file(print_command, pdf))
    except PrintFailed as exc:
        raise ServiceError(
            _("not printed: {reason}; the copies are in {folder}").format(reason=exc, folder=folder)
        ) from exc
    with ctx.db.write() as s:
        agreement = s.get(Agreement, agreement_id)
        audit.record(
            s, ctx.actor, "agreement.print", "agreement", agreement_id,
            f"{ctx.actor.login} printed the two originals of agreement {agreement_id}",
            now=ctx.now(), case_id=agreement.case_id if agreement else None,
            after={"files": [p.name for p in pdfs], "printer": jobs},
        )  # fmt: skip
    return PrintedCopies(tuple(pdfs), tuple(jobs))


def record_delivery(ctx: Context, agreement_id: int, how: str) -> None:
    """How the borrower received their signed original (in person, post, ...)."""
    check_id("agreement_id", agreement_id)
    check_required_text("how", how, 100)
    ctx.actor.require(Action.WORK_CASES)
    now = ctx.now()
    text = (how or "").strip()
    if not text:
        raise ServiceError(_("say how the borrower received their copy"))
    with ctx.db.write() as s:
        agreement = s.get(Agreement, agreement_id)
        if agreement is None:
            raise NotFound(_("agreement {id} does not exist").format(id=agreement_id))
        guard_case(s, agreement.case_id, ctx)
        if agreement.status is not AgreementStatus.SIGNED:
            raise ServiceError(_("only a signed agreement has a copy to deliver"))
        before = agreement.borrower_copy_delivery
        agreement.borrower_copy_delivery = text[:MAX_REASON]
        audit.record(
            s, ctx.actor, "agreement.delivery", "agreement", agreement.id,
            f"{ctx.actor.login} recorded how the borrower received agreement {agreement.id}",
            now=now, case_id=agreement.case_id,
            before={"delivery": before}, after={"delivery": agreement.borrower_copy_delivery},
        )  # fmt: skip


def current_agreement_id(db: Database, case_id: int) -> int | None:
    """The case's agreement the desk works on: the open draft, else the latest signed."""
    with db.read() as s:
        rows = s.execute(
            select(Agreement.id, Agreement.status)
            .where(Agreement.case_id == case_id)
            .order_by(Agreement.id.desc())
        ).all()
    for wanted in (_OPEN, (AgreementStatus.SIGNED,)):
        for agreement_id, status in rows:
            if status in wanted:
                return int(agreement_id)
    return None
