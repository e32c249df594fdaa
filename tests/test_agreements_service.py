"""Agreements on both engines: draft from the form, versions, deviations, ready, sign,
the hash checked on open, bank and borrower copies exported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    AppointmentStatus,
    AuditEvent,
    CollectionCase,
    FollowUp,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
    VisitOutcome,
    VisitReport,
)
from tui_desk.rules import agreements as rules
from tui_desk.rules.profile import load_profile
from tui_desk.services import agreements
from tui_desk.services.agreements import TamperedAgreement
from tui_desk.services.calendar import calendar_view
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import PermissionDenied, ServiceError, StaleEdit
from tui_desk.views.agreements import AgreementRecord

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op"))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        borrower = self.make.borrower(name="欧阳娜娜", phones=["+8613812348000"])
        self.case = self.make.case(borrower_id=borrower, stage=Stage.VISITED)
        self.plan = self.make.plan(
            self.case, created_by_id=self.op.id, status=PlanStatus.DRAFT, instalments=6
        )

    def draft(self) -> int:
        return agreements.draft_agreement(
            Context.frozen(self.db, self.op, NOW, load_profile()), self.case
        )

    def record(self, agreement_id: int) -> AgreementRecord:
        return agreements.open_agreement(self.db, agreement_id)

    def ready(self, agreement_id: int) -> None:
        rec = self.record(agreement_id)
        agreements.mark_ready(
            Context.frozen(self.db, self.op, NOW, load_profile()),
            agreement_id,
            record_version=rec.record_version,
        )

    def sign(self, agreement_id: int) -> str:
        rec = self.record(agreement_id)
        return agreements.sign_agreement(
            Context.frozen(self.db, self.op, NOW, load_profile()),
            agreement_id,
            borrower_confirmation="本人签字并按手印",
            place="借款人家中",
            record_version=rec.record_version,
            borrower_copy_delivery="当面交付",
        )


@pytest.fixture
def w(db: Database) -> World:
    return World(db)


def test_draft_merges_the_case_into_the_standard_form(w: World) -> None:
    agreement_id = w.draft()
    rec = w.record(agreement_id)
    assert rec.status is AgreementStatus.DRAFT and rec.versions == 1
    c = rec.content
    assert c.template == "repayment v2 (zh_CN)"
    # No collector discussed the plan at the door: the preamble names no home visit.
    assert c.preamble.startswith("甲、乙双方经协商，") and "上门" not in c.preamble
    assert c.issuer == "示例银行"
    assert "欧阳娜娜" in c.borrower
    assert c.number.startswith("HK-2026-")
    assert len(c.schedule) == 6 and c.schedule_total is not None
    assert c.schedule_total[-1] == "6,000.00"
    text = rules.as_text(c)
    assert "400-800-9595" in text  # the profile's hotline
    assert rules.missing_required(c, "cn") == []
    with w.db.read() as s:
        case = s.get(CollectionCase, w.case)
        assert case is not None and case.stage is Stage.AGREEMENT
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.draft")).one()


def test_no_plan_no_agreement(w: World) -> None:
    other = w.make.case(name="张三")
    with pytest.raises(ServiceError, match="repayment plan first"):
        agreements.draft_agreement(Context.frozen(w.db, w.op, NOW, load_profile()), other)


def test_special_terms_make_versions_and_a_new_draft_voids_the_old(w: World) -> None:
    first = w.draft()
    rec = w.record(first)
    seq = agreements.save_version(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        first,
        special_terms="乙方可随时提前还款，不收违约金。",
        record_version=rec.record_version,
    )
    assert seq == 2
    rec = w.record(first)
    assert rec.content.special_terms.startswith("乙方可随时")
    assert rec.previous is not None and rec.previous.special_terms == ""
    with pytest.raises(ServiceError, match="nothing changed"):
        agreements.save_version(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            first,
            special_terms=rec.content.special_terms,
        )
    with pytest.raises(StaleEdit):
        agreements.save_version(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            first,
            special_terms="x",
            record_version=rec.record_version - 1,
        )
    second = w.draft()
    assert w.record(first).status is AgreementStatus.VOID
    assert agreements.current_agreement_id(w.db, w.case) == second


def test_changing_a_standard_clause_needs_a_supervisor(w: World) -> None:
    agreement_id = w.draft()
    clauses = [
        rules.Clause(c.kind, c.heading, c.body + "（逾期九十日方可提前到期）")
        if c.kind == rules.BREACH
        else c
        for c in w.record(agreement_id).content.clauses
    ]
    with pytest.raises(PermissionDenied, match="deviation"):
        agreements.save_version(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            agreement_id,
            special_terms=None,
            clauses=clauses,
        )
    agreements.save_version(
        Context.frozen(w.db, w.sup, NOW, load_profile()),
        agreement_id,
        special_terms=None,
        clauses=clauses,
        note="approved: hardship case",
    )
    with w.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.version")).one()
        assert event.after is not None and event.after["deviations"] == ["第六条 违约责任"]


def test_a_missing_required_clause_blocks_ready(w: World) -> None:
    agreement_id = w.draft()
    clauses = [
        c if c.kind != rules.REMEDIES else rules.Clause(c.kind, c.heading, " ")
        for c in w.record(agreement_id).content.clauses
    ]
    agreements.save_version(
        Context.frozen(w.db, w.sup, NOW, load_profile()),
        agreement_id,
        special_terms=None,
        clauses=clauses,
    )
    with pytest.raises(ServiceError, match="legal remedies"):
        w.ready(agreement_id)
    assert w.record(agreement_id).status is AgreementStatus.DRAFT


def test_signing_freezes_the_text_and_moves_the_case(w: World) -> None:
    agreement_id = w.draft()
    with pytest.raises(ServiceError, match="marked ready"):
        w.sign(agreement_id)
    w.ready(agreement_id)
    digest = w.sign(agreement_id)
    rec = w.record(agreement_id)
    assert rec.status is AgreementStatus.SIGNED and rec.content_hash == digest
    assert rec.hash_ok is True
    assert rec.bank_signatory is not None and rec.borrower_confirmation == "本人签字并按手印"
    assert rec.effective_on == dt.date(2026, 11, 30)
    with w.db.read() as s:
        case = s.get(CollectionCase, w.case)
        plan = s.get(RepaymentPlan, w.plan)
        assert case is not None and case.stage is Stage.FOLLOW_UP
        assert plan is not None and plan.status is PlanStatus.ACTIVE
    # Follow-ups: the first within a month of the effective date, then every 3 months.
    with w.db.read() as s:
        dues = list(
            s.scalars(
                select(FollowUp.due_on).where(FollowUp.case_id == w.case).order_by(FollowUp.due_on)
            )
        )
    assert dues and dues[0] <= dt.date(2026, 12, 30)
    view = calendar_view(w.db, start=dues[0], span_days=1, timezone="Asia/Shanghai", case_id=w.case)
    assert [f.case_id for f in view.days[0].follow_ups] == [w.case]
    # A signed agreement never changes: any change is a new agreement.
    with pytest.raises(ServiceError, match="never changes"):
        agreements.save_version(
            Context.frozen(w.db, w.op, NOW, load_profile()), agreement_id, special_terms="late edit"
        )


def test_a_tampered_text_is_shouted_and_not_exported(w: World, tmp_path: Path) -> None:
    agreement_id = w.draft()
    w.ready(agreement_id)
    w.sign(agreement_id)
    with w.db.write() as s:
        version = s.scalars(
            select(AgreementVersion).where(AgreementVersion.agreement_id == agreement_id)
        ).one()
        s.execute(
            update(AgreementVersion)
            .where(AgreementVersion.id == version.id)
            .values(content=version.content.replace("6,000.00", "600.00"))
        )
    assert w.record(agreement_id).hash_ok is False
    with pytest.raises(TamperedAgreement):
        agreements.export_copies(
            Context.frozen(w.db, w.op, NOW, load_profile()), agreement_id, tmp_path
        )


def test_both_copies_are_exported_with_chinese_text_and_the_hash(w: World, tmp_path: Path) -> None:
    agreement_id = w.draft()
    w.ready(agreement_id)
    digest = w.sign(agreement_id)
    copies = agreements.export_copies(
        Context.frozen(w.db, w.op, NOW, load_profile()), agreement_id, tmp_path
    )
    pdfs = [f for f in copies.files if f.suffix == ".pdf"]
    assert {f.stat().st_mode & 0o777 for f in copies.files} == {0o640}
    assert len(pdfs) == 2 and {f.name.rsplit("-", 1)[-1] for f in pdfs} == {
        "bank.pdf",
        "borrower.pdf",
    }
    for pdf in pdfs:
        text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
        assert "欧阳娜娜" in text and "违约责任" in text
        assert digest in text
    with w.db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.export")).one()
    agreements.record_delivery(
        Context.frozen(w.db, w.op, NOW, load_profile()), agreement_id, "挂号信寄出"
    )
    assert w.record(agreement_id).borrower_copy_delivery == "挂号信寄出"


def test_sign_needs_the_borrowers_confirmation_and_a_place(w: World) -> None:
    agreement_id = w.draft()
    w.ready(agreement_id)
    with pytest.raises(ServiceError, match="borrower confirmed"):
        agreements.sign_agreement(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            agreement_id,
            borrower_confirmation=" ",
            place="家中",
        )
    with pytest.raises(ServiceError, match="where"):
        agreements.sign_agreement(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            agreement_id,
            borrower_confirmation="签字",
            place="",
        )
    with w.db.read() as s:
        row = s.get(Agreement, agreement_id)
        assert row is not None and row.status is AgreementStatus.READY


def test_only_a_supervisor_installs_a_checked_newer_form(
    w: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = agreements._shipped_versions("repayment", "zh_CN")[2].read_text(encoding="utf-8")
    assert rules.template_variables(agreements.load_template("repayment", "zh_CN")) <= (
        agreements.KNOWN_VARIABLES
    )

    def form(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    v3 = form("v3.toml", shipped.replace('version = "2"', 'version = "3"'))
    with pytest.raises(PermissionDenied):
        agreements.install_template(Context.frozen(w.db, w.op, NOW, load_profile()), v3)
    same = form("same.toml", shipped)
    with pytest.raises(ServiceError, match="not newer"):
        agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), same)
    odd = form("odd.toml", shipped.replace('version = "2"', 'version = "4"') + "\n")
    odd.write_text(odd.read_text(encoding="utf-8").replace("{hotline}", "{salary}"), "utf-8")
    with pytest.raises(ServiceError, match="salary"):
        agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), odd)
    broken = form(
        "broken.toml",
        shipped.replace('version = "2"', 'version = "4"').replace(
            'kind = "legal_remedies"', 'kind = "other"'
        ),
    )
    with pytest.raises(ServiceError, match="legal remedies"):
        agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), broken)
    installed = agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), v3)
    assert installed == "repayment.v3.zh_CN"
    # In the shared database: every desk on it sees v3; the shipped files alone do not.
    assert agreements.latest_template_version("repayment", "zh_CN", w.db) == "3"
    assert agreements.latest_template_version("repayment", "zh_CN") == "2"
    agreement_id = w.draft()
    assert w.record(agreement_id).content.template == "repayment v3 (zh_CN)"
    with w.db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "template.install")).one()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('name = "repayment"', 'name = "../../etc/x"', "no dots or slashes"),
        ('name = "repayment"', 'name = "Repayment"', "lower-case ASCII"),
        ('language = "zh_CN"', 'language = "../zh"', "like zh_CN or en"),
        ('version = "1"', 'version = "٩٩"', "ASCII digits"),
        ('version = "1"', 'version = "0"', "whole number 1-9999"),
        ('version = "1"', 'version = "99999"', "whole number 1-9999"),
    ],
)
def test_template_names_languages_and_versions_are_plain(
    w: World, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    shipped = agreements._shipped_versions("repayment", "zh_CN")[1].read_text(encoding="utf-8")
    text = shipped.replace('version = "1"', 'version = "2"') if "version" not in old else shipped
    assert old in text
    path = tmp_path / "form.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ServiceError, match=expected):
        agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), path)
    with w.db.read() as s:
        assert (
            s.scalars(select(AuditEvent).where(AuditEvent.action == "template.install")).all() == []
        )


def test_an_oversized_template_is_refused_unread(w: World, tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_bytes(b"# " + b"x" * (70 * 1024))
    with pytest.raises(ServiceError, match="at most 64 KB"):
        agreements.install_template(Context.frozen(w.db, w.sup, NOW, load_profile()), path)


def test_payments_are_shown_applied_in_the_profile_order(w: World) -> None:
    from tui_desk.db.models import PaymentChannel
    from tui_desk.services.case_view import agreement_view
    from tui_desk.services.promises import record_payment

    record_payment(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        w.case,
        amount_minor=50_000,
        paid_on=dt.date(2026, 11, 30),
        channel=PaymentChannel.BANK_TRANSFER,
    )
    view = agreement_view(w.db, w.case, profile=load_profile(), now=NOW)
    assert view.plan is not None
    # The factory's account owes fees 45.67, penalty 300.00, interest 2,000.00, ...
    assert view.plan.allocated == (("fees", 4_567), ("penalty", 30_000), ("interest", 15_433))


def test_two_edits_from_one_version_the_second_is_refused(w: World) -> None:
    """A new text version moves the record's version on, though the agreement row itself
    does not change: two operators saving from the same version never both apply."""
    first = w.draft()
    opened = w.record(first).record_version
    agreements.save_version(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        first,
        special_terms="甲",
        record_version=opened,
    )
    with pytest.raises(StaleEdit):
        agreements.save_version(
            Context.frozen(w.db, w.op, NOW, load_profile()),
            first,
            special_terms="乙",
            record_version=opened,
        )
    assert w.record(first).content.special_terms == "甲"


def test_the_preamble_names_a_home_visit_only_when_the_plan_was_agreed_at_the_door(
    w: World,
) -> None:
    collector = w.make.collector()
    appt = w.make.appointment(
        w.case,
        collector_id=collector,
        booked_by_id=w.op.id,
        starts_at=NOW - dt.timedelta(days=2),
        status=AppointmentStatus.DONE,
    )
    with w.db.write() as s:
        s.add(
            VisitReport(
                appointment_id=appt, case_id=w.case, collector_id=collector,
                work_id_shown=True, name_checked=True, contact_checked=True,
                address_checked=True, documents_ok=True, collected_minor=0,
                outcome=VisitOutcome.PLAN_DISCUSSED, created_at=NOW - dt.timedelta(days=2),
            )
        )  # fmt: skip
    c = w.record(w.draft()).content
    assert c.preamble.startswith("甲、乙双方经上门协商，")
