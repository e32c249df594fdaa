"""Desk read models on both engines: queue row facts, case detail masking, contact
log, plan and agreement summary, and a whole case read at once."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AuditEvent,
    Borrower,
    CollectionCase,
    DocumentKind,
    DocumentStatus,
    HoldKind,
    Outcome,
    PlanStatus,
    Role,
)
from tui_desk.rules.masking import mask_address, mask_id, mask_phone
from tui_desk.rules.profile import load_profile
from tui_desk.services import case_view
from tui_desk.services.agents import resolve_actor
from tui_desk.services.context import stopped_at
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import NotFound, UnknownAgent
from tui_desk.services.validation import InvalidInput

NOW = dt.datetime(2024, 5, 8, 6, 0, tzinfo=dt.UTC)  # Wednesday 14:00 in Shanghai
TZ = "Asia/Shanghai"
PROFILE = load_profile("cn")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make(db: Database) -> Factory:
    return Factory(db, now=NOW)


def _full_values(db: Database, borrower_id: int) -> tuple[str, str, list[str]]:
    with db.read() as s:
        b = s.get(Borrower, borrower_id)
        assert b is not None
        return b.id_number, b.address, [p.e164 for p in b.phones]


# --- queue ---------------------------------------------------------------------------


def test_queue_row_facts(db: Database, make: Factory) -> None:
    owner = make.agent(name="李四")
    case_id = make.case(
        name="欧阳娜娜",
        priority=1234,
        owner_id=owner,
        overdue_days=45,
        overdue_minor=1_234_567,
        broken_promises=1,
        next_action_at=NOW - dt.timedelta(hours=1),
    )
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE, clock=stopped_at(NOW))
    (row,) = service.queue_page(service.queue_filter()).rows
    assert row.case_id == case_id
    assert row.borrower_name == "欧阳娜娜"
    assert row.owner_name == "李四"
    assert (row.dpd, row.bucket) == (45, "31-60")
    assert row.overdue_minor == 1_234_567
    assert row.currency == "CNY"
    assert row.why == "dpd+450 amount+60 broken+150 due+200"
    _, _, phones = _full_values(db, make.borrower_of(case_id))
    assert row.phone_masked == mask_phone(phones[0].removeprefix("+86"), PROFILE.masking)
    assert phones[0] not in repr(row)


# --- case detail ---------------------------------------------------------------------


def test_an_unknown_bucket_is_refused_naming_the_field(db: Database, make: Factory) -> None:
    owner = make.agent(name="李四")
    make.case(owner_id=owner, overdue_days=45, priority=1)
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE, clock=stopped_at(NOW))
    for search in ("", "张"):  # a search once skipped the bucket's check
        with pytest.raises(InvalidInput) as err:
            service.queue_filter(bucket="0-30", search=search)
        assert err.value.field == "bucket"
    for label in ("1-30", "31-60", "61-90", "91+", ""):  # the profile's labels; "" = any
        service.queue_page(service.queue_filter(bucket=label, search=""))


def test_case_detail_is_masked_unless_asked(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator)
    make.hold(case_id, set_by_id=operator, kind=HoldKind.DISPUTE)
    make.registration(case_id, agent_id=operator)
    make.document(case_id, kind=DocumentKind.IDENTITY, status=DocumentStatus.VERIFIED)
    make.document(case_id, kind=DocumentKind.INCOME, status=DocumentStatus.RECEIVED)
    full_id, full_address, phones = _full_values(db, make.borrower_of(case_id))

    masked = case_view.case_detail(db, case_id, profile=PROFILE, now=NOW)
    assert masked.masked
    assert masked.id_number == mask_id(full_id, PROFILE.masking)
    assert masked.address == mask_address(full_address, PROFILE.masking)
    assert [p.number for p in masked.phones] == [mask_phone(n, PROFILE.masking) for n in phones]
    text = repr(masked)
    assert full_id not in text and full_address not in text
    assert not any(n in text or n[3:] in text for n in phones)

    clear = case_view.case_detail(db, case_id, profile=PROFILE, now=NOW, masked=False)
    assert clear.id_number == full_id
    assert clear.address == full_address
    assert [p.number for p in clear.phones] == phones


def test_case_detail_accounts_holds_and_status(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator, overdue_days=95)
    make.hold(case_id, set_by_id=operator, kind=HoldKind.COMPLAINT)
    make.registration(case_id, agent_id=operator)
    make.document(case_id, kind=DocumentKind.RESIDENCE, status=DocumentStatus.REJECTED)
    detail = case_view.case_detail(db, case_id, profile=PROFILE, now=NOW)
    assert detail.owner_name == "王五"
    assert (detail.dpd, detail.bucket) == (95, "91+")
    (account,) = detail.accounts
    assert (
        account.outstanding_principal_minor,
        account.outstanding_interest_minor,
        account.outstanding_penalty_minor,
        account.outstanding_fees_minor,
    ) == (1_000_000, 200_000, 30_000, 4_567)
    assert detail.outstanding_minor == 1_234_567
    assert [h.kind for h in detail.holds] == [HoldKind.COMPLAINT]
    assert detail.registration is not None and detail.registration.cancelled_at is None
    assert [(d.kind, d.status) for d in detail.documents] == [
        (DocumentKind.RESIDENCE, DocumentStatus.REJECTED)
    ]


def test_case_detail_of_missing_case(db: Database) -> None:
    with pytest.raises(NotFound):
        case_view.case_detail(db, 424242, profile=PROFILE, now=NOW)


# --- contact log ---------------------------------------------------------------------


def test_contact_log_newest_first_and_masked(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    case_id = make.case()
    borrower_id = make.borrower_of(case_id)
    full_id, _, phones = _full_values(db, borrower_id)
    (phone_id,) = make.phone_ids(borrower_id)
    make.contact(case_id, agent_id=operator, phone_id=phone_id, minutes_ago=300)
    make.contact(
        case_id,
        agent_id=operator,
        phone_id=phone_id,
        outcome=Outcome.PROMISE,
        note=f"借款人确认身份证 {full_id}，可拨 {phones[0][3:]} 或 13900001111",
        minutes_ago=10,
    )
    other = make.case()
    make.contact(other, agent_id=operator)

    log = case_view.contact_log(db, case_id, profile=PROFILE)
    assert [c.outcome for c in log] == [Outcome.PROMISE, Outcome.NO_ANSWER]
    assert log[0].agent_name == "王五"
    assert log[0].number == mask_phone(phones[0], PROFILE.masking)
    assert log[0].note is not None
    assert mask_id(full_id, PROFILE.masking) in log[0].note
    text = repr(log)
    assert full_id not in text
    assert phones[0][3:] not in text
    assert "13900001111" not in text and "139****1111" in text


# --- calendar ------------------------------------------------------------------------


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(TZ))


def test_agreement_view_summarises_plan_and_latest_text(db: Database, make: Factory) -> None:
    operator = make.agent()
    case_id = make.case()
    full_id, _, _ = _full_values(db, make.borrower_of(case_id))
    make.plan(case_id, created_by_id=operator, status=PlanStatus.SUPERSEDED, instalments=3)
    plan_id = make.plan(case_id, created_by_id=operator, instalments=6, paid=2)
    make.agreement(
        case_id,
        created_by_id=operator,
        plan_id=plan_id,
        texts=("第一版", f"第二版 甲方身份证号 {full_id}"),
        status=AgreementStatus.SIGNED,
        signed=True,
    )
    view = case_view.agreement_view(db, case_id, profile=PROFILE, now=NOW)
    assert view.plan is not None and view.plan.plan_id == plan_id
    assert view.plan.instalment_count == 6
    assert view.plan.total_minor == 600_000 and view.plan.paid_minor == 200_000
    nxt = view.plan.next_due
    assert nxt is not None and nxt.seq == 3 and nxt.open_minor == 100_000
    agreement = view.agreement
    assert agreement is not None
    assert agreement.status is AgreementStatus.SIGNED
    assert (agreement.text_version, agreement.text_versions) == (2, 2)
    assert agreement.signed_at is not None and agreement.effective_on == NOW.date()
    assert agreement.text.startswith("第二版")
    assert full_id not in agreement.text
    assert mask_id(full_id, PROFILE.masking) in agreement.text


def test_agreement_view_without_plan_or_with_empty_draft(db: Database, make: Factory) -> None:
    operator = make.agent()
    case_id = make.case()
    nothing = case_view.agreement_view(db, case_id, profile=PROFILE, now=NOW)
    assert nothing.plan is None and nothing.agreement is None
    make.agreement(case_id, created_by_id=operator, texts=())
    draft = case_view.agreement_view(db, case_id, profile=PROFILE, now=NOW).agreement
    assert draft is not None and draft.text_version is None and draft.text == ""


# --- the desk's entry point -------------------------------------------------------------


def test_desk_service_reads_a_whole_case_and_reveals_through_the_audit(
    db: Database, make: Factory
) -> None:
    operator = make.agent(name="王五")
    collector = make.agent(name="赵六", role=Role.COLLECTOR)
    case_id = make.case(owner_id=operator)
    make.contact(case_id, agent_id=operator)
    make.appointment(
        case_id,
        collector_id=collector,
        booked_by_id=operator,
        starts_at=_at(dt.date(2024, 5, 9), 10),
    )
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE)
    bundle = service.case(case_id)
    assert bundle.detail.case_id == case_id and len(bundle.contacts) == 1
    assert bundle.calendar.collector_name == "赵六"
    assert bundle.agreement.plan is None
    full_id, _, _ = _full_values(db, bundle.detail.borrower_id)
    assert service.reveal(bundle.detail.borrower_id, "id_number") == full_id
    with db.read() as s:
        assert s.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
            "personal.reveal"
        )


def test_a_case_calendar_opens_on_its_next_visit_or_this_week(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    collector = make.agent(name="赵六", role=Role.COLLECTOR)
    past, ahead, none_ahead = (make.case(owner_id=operator) for _ in range(3))
    for case_id, day in (
        (past, dt.date(2023, 5, 10)),  # a year ago ...
        (past, dt.date(2024, 6, 12)),  # ... and next month: the next one counts
        (ahead, dt.date(2024, 6, 12)),
        (none_ahead, dt.date(2023, 5, 10)),  # only a year ago: this week
    ):
        make.appointment(
            case_id, collector_id=collector, booked_by_id=operator, starts_at=_at(day, 10)
        )
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE, clock=lambda: NOW)
    this_monday = dt.date(2024, 5, 6)
    assert service.case(past).calendar.start == dt.date(2024, 6, 10)
    assert service.case(ahead).calendar.start == dt.date(2024, 6, 10)
    assert service.case(none_ahead).calendar.start == this_monday


def test_a_snapshot_sees_one_committed_state(db: Database, make: Factory) -> None:
    case_id = make.case()

    def version(s: Session) -> int | None:
        return s.scalar(select(CollectionCase.version).where(CollectionCase.id == case_id))

    with db.snapshot() as s:
        before = version(s)
        with db.write() as w:
            w.execute(
                update(CollectionCase)
                .where(CollectionCase.id == case_id)
                .values(version=CollectionCase.version + 1)
            )
        assert version(s) == before  # what another desk committed meanwhile is not seen
    with db.read() as s:
        assert version(s) == (before or 0) + 1


def test_a_whole_case_is_read_in_one_snapshot(
    db: Database, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator)
    make.contact(case_id, agent_id=operator)
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE, clock=stopped_at(NOW))
    opened: list[str] = []
    real_read, real_snapshot = db.read, db.snapshot

    def read() -> Any:
        opened.append("read")
        return real_read()

    def snapshot() -> Any:
        opened.append("snapshot")
        return real_snapshot()

    monkeypatch.setattr(db, "read", read)
    monkeypatch.setattr(db, "snapshot", snapshot)
    bundle = service.case(case_id)
    assert opened == ["snapshot"]
    assert bundle.version == service.case_version(case_id)
    assert bundle.contacts and bundle.detail.case_id == case_id


def test_a_whole_case_reads_the_case_and_its_borrower_once(db: Database, make: Factory) -> None:
    """Every part of the case's read gets the case and its borrower again: from the
    session's identity map, not from the database (it holds them only weakly)."""
    from sqlalchemy import event

    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator)
    make.contact(case_id, agent_id=operator)
    service = DeskService(db, resolve_actor(db, "agent1"), PROFILE, clock=stopped_at(NOW))
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        bundle = service.case(case_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert bundle.detail.case_id == case_id and bundle.version == service.case_version(case_id)
    for table in ("collection_case", "borrower"):
        whole_rows = [q for q in statements if q.startswith(f"SELECT {table}.id, ")]
        assert len(whole_rows) == 1, (table, whole_rows)


# --- identity and house rules -----------------------------------------------------------


def test_unknown_agent_is_refused(db: Database) -> None:
    with pytest.raises(UnknownAgent, match="nobody"):
        resolve_actor(db, "nobody")


def test_database_kind(db: Database) -> None:
    assert case_view.database_kind(db) in ("sqlite", "postgresql")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_widgets_and_screens_never_touch_the_database_layer() -> None:
    for folder in ("widgets", "screens"):
        for path in (ROOT / "tui_desk" / folder).glob("*.py"):
            bad = {
                n
                for n in _imports(path)
                if n == "sqlalchemy" or n.startswith(("sqlalchemy.", "tui_desk.db"))
            }
            assert not bad, f"{path.name} imports {sorted(bad)}"


def test_services_never_import_textual() -> None:
    for path in (ROOT / "tui_desk" / "services").glob("*.py"):
        bad = {n for n in _imports(path) if n == "textual" or n.startswith("textual.")}
        assert not bad, f"{path.name} imports {sorted(bad)}"
