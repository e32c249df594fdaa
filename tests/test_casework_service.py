"""Holds, registration, documents, ID correction and phone numbers, on both engines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory, cn_id_number
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    Borrower,
    CaseHold,
    CaseStatus,
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
    Role,
    ServiceRegistration,
    Stage,
)
from tui_desk.rules.profile import load_profile
from tui_desk.rules.search import reverse_digits
from tui_desk.services import casework
from tui_desk.services.case_state import CaseArchived
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import NotFound, PermissionDenied, ServiceError, StaleEdit

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
VALID_ID = "11010519491231002X"
OLD_ID = "110105491231002"  # the same person's 15-digit number


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class Setup:
    def __init__(self, db: Database, *, id_number: str | None = None) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        self.op = actor_of(db, self.make.agent(login="op"))
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.borrower = self.make.borrower(phones=["+8613812348000"], id_number=id_number)
        self.case = self.make.case(borrower_id=self.borrower)
        [self.phone] = self.make.phone_ids(self.borrower)

    def another(self, *, id_number: str | None = None) -> tuple[int, int]:
        """A second borrower and case in the same database (borrower id, case id)."""
        borrower = self.make.borrower(phones=[], id_number=id_number)
        return borrower, self.make.case(borrower_id=borrower)

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            case = s.get(CollectionCase, self.case)
            assert case is not None
            s.expunge_all()
            return case

    def borrower_row(self) -> Borrower:
        with self.db.read() as s:
            borrower = s.get(Borrower, self.borrower)
            assert borrower is not None
            s.expunge_all()
            return borrower

    def events(self, action: str) -> list[AuditEvent]:
        with self.db.read() as s:
            events = list(
                s.scalars(
                    select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
                )
            )
            s.expunge_all()
            return events

    def register(self) -> int:
        return casework.register_for_service(
            Context.frozen(self.db, self.op, NOW, load_profile()),
            self.case,
            consent_channel=Channel.PHONE,
        )

    def document(self, kind: DocumentKind) -> int:
        return casework.add_document(
            Context.frozen(self.db, self.op, NOW, load_profile()),
            self.case,
            kind=kind,
            channel=DocumentChannel.EMAIL,
            received_at=NOW - dt.timedelta(hours=2),
        )


@pytest.fixture
def it(db: Database) -> Setup:
    return Setup(db)


# --- holds ---------------------------------------------------------------------------


def test_any_agent_sets_a_hold(it: Setup) -> None:
    version = it.case_row().version
    hold_id = casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        it.case,
        HoldKind.DISPUTE,
        "disputes the penalty",
        expected_version=version,
    )
    case = it.case_row()
    assert case.on_hold and case.version > version and case.next_action_at is not None
    with it.db.read() as s:
        hold = s.get(CaseHold, hold_id)
        assert (
            hold is not None
            and hold.set_by_id == it.op.id
            and hold.reason == "disputes the penalty"
        )
    [event] = it.events("case.hold.set")
    assert (event.entity_id, event.case_id, event.agent_id) == (hold_id, it.case, it.op.id)
    assert event.after is not None and event.after["kind"] == "dispute"


def test_hold_refusals(it: Setup) -> None:
    with pytest.raises(ServiceError, match="needs a reason"):
        casework.set_hold(
            Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.DISPUTE, " "
        )
    casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.DISPUTE, "fee"
    )
    with pytest.raises(ServiceError, match="already on hold for dispute"):
        casework.set_hold(
            Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.DISPUTE, "again"
        )
    with pytest.raises(StaleEdit):
        casework.set_hold(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.case,
            HoldKind.COMPLAINT,
            "x",
            expected_version=1,
        )
    closed = it.make.case(status=CaseStatus.CLOSED)
    with pytest.raises(CaseArchived):
        casework.set_hold(
            Context.frozen(it.db, it.op, NOW, load_profile()), closed, HoldKind.DECEASED, "x"
        )


def test_false_documents_cancel_the_service(it: Setup) -> None:
    registration = it.register()
    assert it.case_row().registered
    casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        it.case,
        HoldKind.FALSE_DOCUMENTS,
        "forged payslip",
    )
    case = it.case_row()
    assert case.on_hold and not case.registered
    with it.db.read() as s:
        reg = s.get(ServiceRegistration, registration)
        assert reg is not None and reg.cancelled_at == NOW and reg.cancel_reason
    [event] = it.events("case.hold.set")
    assert event.after is not None and event.after["registration_cancelled"] == registration


def test_only_a_supervisor_releases_a_hold(it: Setup) -> None:
    first = casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.DISPUTE, "fee"
    )
    second = casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.COMPLAINT, "rude call"
    )
    with pytest.raises(PermissionDenied, match="may not release"):
        casework.release_hold(Context.frozen(it.db, it.op, NOW, load_profile()), first, "resolved")
    with pytest.raises(ServiceError, match="needs a reason"):
        casework.release_hold(Context.frozen(it.db, it.sup, NOW, load_profile()), first, "")
    casework.release_hold(Context.frozen(it.db, it.sup, NOW, load_profile()), first, "resolved")
    assert it.case_row().on_hold  # the complaint still holds it
    with pytest.raises(ServiceError, match="already released"):
        casework.release_hold(Context.frozen(it.db, it.sup, NOW, load_profile()), first, "again")
    casework.release_hold(
        Context.frozen(it.db, it.sup, NOW, load_profile()), second, "investigated"
    )
    assert not it.case_row().on_hold
    with pytest.raises(NotFound):
        casework.release_hold(Context.frozen(it.db, it.sup, NOW, load_profile()), 999_999, "x")
    events = it.events("case.hold.release")
    assert [e.after["on_hold"] for e in events if e.after] == [True, False]
    assert all(e.agent_id == it.sup.id for e in events)


# --- registration --------------------------------------------------------------------


def test_register_for_service(it: Setup) -> None:
    registration = casework.register_for_service(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        it.case,
        consent_channel=Channel.PHONE,
        note="agreed on the phone",
    )
    case = it.case_row()
    assert case.registered and case.stage is Stage.REGISTERED
    with it.db.read() as s:
        reg = s.get(ServiceRegistration, registration)
        assert reg is not None
        assert (reg.registered_by_id, reg.registered_at, reg.consent_channel) == (
            it.op.id,
            NOW,
            Channel.PHONE,
        )
    [event] = it.events("service.register")
    assert event.before == {"stage": "contacting", "registered": False}
    with pytest.raises(ServiceError, match="already registered"):
        it.register()


def test_registration_is_refused_on_hold(it: Setup) -> None:
    casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.BANKRUPTCY, "filed"
    )
    with pytest.raises(ServiceError, match=r"on hold \(bankruptcy\)"):
        it.register()
    assert it.events("service.register") == []


def test_registration_keeps_a_later_stage_and_checks_the_version(db: Database) -> None:
    it = Setup(db)
    with db.write() as s:
        case = s.get(CollectionCase, it.case)
        assert case is not None
        case.stage = Stage.DOCUMENTS
    with pytest.raises(StaleEdit):
        casework.register_for_service(
            Context.frozen(db, it.op, NOW, load_profile()),
            it.case,
            consent_channel=Channel.SMS,
            expected_version=1,
        )
    it.register()
    assert it.case_row().stage is Stage.DOCUMENTS


# --- documents -----------------------------------------------------------------------


def test_documents_need_a_registration_first(it: Setup) -> None:
    with pytest.raises(ServiceError, match="register the borrower"):
        it.document(DocumentKind.IDENTITY)


def test_add_document(it: Setup) -> None:
    it.register()
    doc = it.document(DocumentKind.INCOME)
    case = it.case_row()
    assert case.stage is Stage.DOCUMENTS and not case.documents_complete
    with it.db.read() as s:
        row = s.get(Document, doc)
        assert row is not None and row.status is DocumentStatus.RECEIVED
    [event] = it.events("document.add")
    assert event.after is not None
    assert event.after["missing"] == ["identity", "residence", "income"]


def test_add_document_refusals(it: Setup) -> None:
    it.register()
    with pytest.raises(ServiceError, match="in the future"):
        casework.add_document(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.case,
            kind=DocumentKind.OTHER,
            channel=DocumentChannel.POST,
            received_at=NOW + dt.timedelta(hours=1),
        )
    with pytest.raises(ServiceError, match="time zone"):
        casework.add_document(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.case,
            kind=DocumentKind.OTHER,
            channel=DocumentChannel.POST,
            received_at=dt.datetime(2026, 3, 1, 9, 0),
        )
    with pytest.raises(ServiceError, match="at most 200 characters"):
        casework.add_document(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.case,
            kind=DocumentKind.OTHER,
            channel=DocumentChannel.POST,
            received_at=NOW,
            description="x" * 201,
        )


def test_review_completes_the_checklist(db: Database) -> None:
    it = Setup(db, id_number=VALID_ID)
    it.register()
    docs = {
        kind: it.document(kind)
        for kind in (DocumentKind.IDENTITY, DocumentKind.RESIDENCE, DocumentKind.INCOME)
    }
    rejected = it.document(DocumentKind.INCOME)
    assert (
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()),
            rejected,
            verified=False,
            reason="blurred scan",
        )
        == "documents still missing: identity proof, household or residence proof, income or asset proof"
    )
    casework.review_document(
        Context.frozen(db, it.op, NOW, load_profile()), docs[DocumentKind.IDENTITY], verified=True
    )
    casework.review_document(
        Context.frozen(db, it.op, NOW, load_profile()), docs[DocumentKind.RESIDENCE], verified=True
    )
    assert not it.case_row().documents_complete
    assert (
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()), docs[DocumentKind.INCOME], verified=True
        )
        == ""
    )
    assert it.case_row().documents_complete
    with db.read() as s:
        row = s.get(Document, rejected)
        assert row is not None
        assert (row.status, row.reason, row.reviewed_by_id) == (
            DocumentStatus.REJECTED,
            "blurred scan",
            it.op.id,
        )
    assert len(it.events("document.verify")) == 3
    [reject] = it.events("document.reject")
    assert reject.before == {"status": "received", "documents_complete": False}
    # Finding a verified proof false undoes completeness.
    casework.review_document(
        Context.frozen(db, it.op, NOW, load_profile()),
        docs[DocumentKind.INCOME],
        verified=False,
        reason="forged",
    )
    assert not it.case_row().documents_complete


def test_review_refusals(db: Database) -> None:
    it = Setup(db, id_number="110105194912310021")  # wrong check digit (should be X)
    it.register()
    identity = it.document(DocumentKind.IDENTITY)
    with pytest.raises(ServiceError, match="needs a reason"):
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()), identity, verified=False
        )
    with pytest.raises(ServiceError, match=r"not valid \(the check digit should be X\)"):
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()), identity, verified=True
        )
    with pytest.raises(NotFound):
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()), 999_999, verified=True
        )
    _, old_case = it.another(id_number=OLD_ID)
    casework.register_for_service(
        Context.frozen(db, it.op, NOW, load_profile()), old_case, consent_channel=Channel.PHONE
    )
    old_doc = casework.add_document(
        Context.frozen(db, it.op, NOW, load_profile()),
        old_case,
        kind=DocumentKind.IDENTITY,
        channel=DocumentChannel.IN_PERSON,
        received_at=NOW,
    )
    with pytest.raises(ServiceError, match="old 15-digit form"):
        casework.review_document(
            Context.frozen(db, it.op, NOW, load_profile()), old_doc, verified=True
        )


# --- ID number ----------------------------------------------------------------------


def test_correcting_an_old_15_digit_number_converts_it(db: Database) -> None:
    it = Setup(db, id_number="110105198503140011")
    message = casework.correct_id_number(
        Context.frozen(db, it.op, NOW, load_profile()), it.borrower, OLD_ID
    )
    assert message == (
        "ID number changed to 110105********002X "
        "(converted from the old 15-digit number to 18 digits)"
    )
    borrower = it.borrower_row()
    assert borrower.id_number == VALID_ID and borrower.id_rev == reverse_digits(VALID_ID)
    [event] = it.events("borrower.id_number")
    assert event.before == {"id_number": "110105********0011"}
    assert event.after == {"id_number": "110105********002X", "converted": True}
    assert VALID_ID not in str(event.after) + event.summary


def test_id_correction_refusals(db: Database) -> None:
    it = Setup(db, id_number=VALID_ID)
    with pytest.raises(ServiceError, match="check digit should be X"):
        casework.correct_id_number(
            Context.frozen(db, it.op, NOW, load_profile()), it.borrower, "110105194912310021"
        )
    with pytest.raises(ServiceError, match="99 is not a province code"):
        casework.correct_id_number(
            Context.frozen(db, it.op, NOW, load_profile()), it.borrower, "990105194912310021"
        )
    with pytest.raises(ServiceError, match="already the ID number"):
        casework.correct_id_number(
            Context.frozen(db, it.op, NOW, load_profile()), it.borrower, VALID_ID.lower()
        )
    other_borrower, _ = it.another()
    fresh = cn_id_number("310101", dt.date(1990, 1, 1), 7)
    casework.correct_id_number(Context.frozen(db, it.op, NOW, load_profile()), it.borrower, fresh)
    with pytest.raises(ServiceError, match=f"borrower {it.borrower} already has"):
        casework.correct_id_number(
            Context.frozen(db, it.op, NOW, load_profile()), other_borrower, fresh
        )
    with pytest.raises(NotFound):
        casework.correct_id_number(
            Context.frozen(db, it.op, NOW, load_profile()), 999_999, VALID_ID
        )
    assert len(it.events("borrower.id_number")) == 1


# --- phones ------------------------------------------------------------------------


def test_three_spellings_are_one_number(it: Setup) -> None:
    new_borrower = it.make.borrower(phones=[])
    phone = casework.add_phone(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        new_borrower,
        "+86 138 1234 8000",
        relation=Relation.BORROWER,
        holder_name="张三",
    )
    for spelling in ("0086-138-1234-8000", "13812348000"):
        with pytest.raises(ServiceError, match=r"\+86 138\*\*\*\*8000 is already a number"):
            casework.add_phone(
                Context.frozen(it.db, it.op, NOW, load_profile()),
                new_borrower,
                spelling,
                relation=Relation.SPOUSE,
            )
    with it.db.read() as s:
        row = s.get(Phone, phone)
        assert row is not None
        assert (row.e164, row.digits_rev, row.kind, row.relation, row.verified) == (
            "+8613812348000",
            "0008432183168",
            PhoneKind.MOBILE,
            Relation.BORROWER,
            False,
        )
    [event] = it.events("phone.add")
    assert event.after == {"number": "+86 138****8000", "kind": "mobile", "relation": "borrower"}
    assert event.case_id is None  # a borrower without a case yet


def test_invalid_number_is_refused_with_the_reason(it: Setup) -> None:
    with pytest.raises(ServiceError, match="the number is too short"):
        casework.add_phone(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.borrower,
            "+86 138",
            relation=Relation.BORROWER,
        )
    with pytest.raises(ServiceError, match="not a valid number in CN"):
        casework.add_phone(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            it.borrower,
            "100 0000 0000",
            relation=Relation.BORROWER,
        )
    with pytest.raises(NotFound):
        casework.add_phone(
            Context.frozen(it.db, it.op, NOW, load_profile()),
            999_999,
            "13912348000",
            relation=Relation.BORROWER,
        )
    assert it.events("phone.add") == []


def test_landline_kind_and_case_link(it: Setup) -> None:
    phone = casework.add_phone(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        it.borrower,
        "(010) 8847-2768",
        relation=Relation.EMPLOYER,
    )
    with it.db.read() as s:
        row = s.get(Phone, phone)
        assert row is not None and row.kind is PhoneKind.LANDLINE
    [event] = it.events("phone.add")
    assert event.case_id == it.case


def test_do_not_call_set_by_anyone_cleared_by_a_supervisor(it: Setup) -> None:
    casework.set_do_not_call(Context.frozen(it.db, it.op, NOW, load_profile()), it.phone, True)
    casework.set_do_not_call(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.phone, True
    )  # no change, no event
    with pytest.raises(PermissionDenied):
        casework.set_do_not_call(Context.frozen(it.db, it.op, NOW, load_profile()), it.phone, False)
    casework.set_do_not_call(Context.frozen(it.db, it.sup, NOW, load_profile()), it.phone, False)
    events = it.events("phone.do_not_call")
    assert [(e.agent_id, e.after["do_not_call"] if e.after else None) for e in events] == [
        (it.op.id, True),
        (it.sup.id, False),
    ]
    assert all(e.after and e.after["number"] == "+86 138****8000" for e in events)
    with pytest.raises(NotFound):
        casework.set_do_not_call(Context.frozen(it.db, it.op, NOW, load_profile()), 999_999, True)


def test_phone_verified(it: Setup) -> None:
    casework.set_phone_verified(Context.frozen(it.db, it.op, NOW, load_profile()), it.phone, False)
    with it.db.read() as s:
        row = s.get(Phone, it.phone)
        assert row is not None and not row.verified
    [event] = it.events("phone.verified")
    assert event.before == {"verified": True}


def test_every_casework_write_is_audited_once(it: Setup) -> None:
    with it.db.read() as s:
        before = len(s.scalars(select(AuditEvent.id)).all())
    hold = casework.set_hold(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.case, HoldKind.COMPLAINT, "x"
    )
    casework.release_hold(Context.frozen(it.db, it.sup, NOW, load_profile()), hold, "done")
    it.register()
    doc = it.document(DocumentKind.OTHER)
    casework.review_document(Context.frozen(it.db, it.op, NOW, load_profile()), doc, verified=True)
    casework.correct_id_number(
        Context.frozen(it.db, it.op, NOW, load_profile()), it.borrower, VALID_ID
    )
    phone = casework.add_phone(
        Context.frozen(it.db, it.op, NOW, load_profile()),
        it.borrower,
        "13912348000",
        relation=Relation.GUARANTOR,
    )
    casework.set_do_not_call(Context.frozen(it.db, it.op, NOW, load_profile()), phone, True)
    casework.set_phone_verified(Context.frozen(it.db, it.op, NOW, load_profile()), phone, True)
    with it.db.read() as s:
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()[before:]
    assert actions == [
        "case.hold.set",
        "case.hold.release",
        "service.register",
        "document.add",
        "document.verify",
        "borrower.id_number",
        "phone.add",
        "phone.do_not_call",
        "phone.verified",
    ]
