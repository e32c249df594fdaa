"""Desk read models on both engines: queue window and keyset, case detail masking,
contact log, the collector's week, plan and agreement summary."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    AgreementStatus,
    AppointmentStatus,
    AuditEvent,
    Borrower,
    CaseStatus,
    DocumentKind,
    DocumentStatus,
    HoldKind,
    Outcome,
    PlanStatus,
    Role,
)
from tui_desk.rules.masking import mask_address, mask_id, mask_phone
from tui_desk.rules.profile import load_profile
from tui_desk.services import desk
from tui_desk.services.agents import resolve_actor
from tui_desk.services.errors import NotFound, UnknownAgent

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


def _queue_fixture(make: Factory) -> list[tuple[int, int]]:
    """Open cases with ties in priority, plus closed ones that must never show."""
    keys = []
    for priority in (500, 300, 300, 300, 900, 100, 700, 300, 0, 650):
        case_id = make.case(priority=priority)
        keys.append((priority, case_id))
    make.case(priority=10_000, status=CaseStatus.CLOSED)
    make.case(priority=10_000, status=CaseStatus.CLOSED)
    return sorted(keys, reverse=True)


def test_queue_window_is_ordered_and_bounded(db: Database, make: Factory) -> None:
    expected = _queue_fixture(make)
    window = desk.queue_window(db, limit=4, profile=PROFILE, now=NOW)
    assert [r.key for r in window] == expected[:4]
    everything = desk.queue_window(db, limit=200, profile=PROFILE, now=NOW)
    assert [r.key for r in everything] == expected


def test_queue_keyset_continues_after_the_last_row(db: Database, make: Factory) -> None:
    expected = _queue_fixture(make)
    seen: list[tuple[int, int]] = []
    after = None
    while True:
        page = desk.queue_window(db, limit=3, after=after, profile=PROFILE, now=NOW)
        if not page:
            break
        assert len(page) <= 3
        seen.extend(r.key for r in page)
        after = page[-1].key
    assert seen == expected
    # Starting inside a run of equal priorities keeps the id order.
    tie = next(k for k in expected if k[0] == 300)
    rest = desk.queue_window(db, limit=50, after=tie, profile=PROFILE, now=NOW)
    assert [r.key for r in rest] == expected[expected.index(tie) + 1 :]


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
    (row,) = desk.queue_window(db, limit=10, profile=PROFILE, now=NOW)
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


def test_queue_limit_is_clamped(db: Database, make: Factory) -> None:
    make.case()
    assert len(desk.queue_window(db, limit=0, profile=PROFILE, now=NOW)) == 1
    assert desk.queue_window(db, limit=10, after=(-1, 0), profile=PROFILE, now=NOW) == []


# --- case detail ---------------------------------------------------------------------


def test_case_detail_is_masked_unless_asked(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator)
    make.hold(case_id, set_by_id=operator, kind=HoldKind.DISPUTE)
    make.registration(case_id, agent_id=operator)
    make.document(case_id, kind=DocumentKind.IDENTITY, status=DocumentStatus.VERIFIED)
    make.document(case_id, kind=DocumentKind.INCOME, status=DocumentStatus.RECEIVED)
    full_id, full_address, phones = _full_values(db, make.borrower_of(case_id))

    masked = desk.case_detail(db, case_id, profile=PROFILE, now=NOW)
    assert masked.masked
    assert masked.id_number == mask_id(full_id, PROFILE.masking)
    assert masked.address == mask_address(full_address, PROFILE.masking)
    assert [p.number for p in masked.phones] == [mask_phone(n, PROFILE.masking) for n in phones]
    text = repr(masked)
    assert full_id not in text and full_address not in text
    assert not any(n in text or n[3:] in text for n in phones)

    clear = desk.case_detail(db, case_id, profile=PROFILE, now=NOW, masked=False)
    assert clear.id_number == full_id
    assert clear.address == full_address
    assert [p.number for p in clear.phones] == phones


def test_case_detail_accounts_holds_and_status(db: Database, make: Factory) -> None:
    operator = make.agent(name="王五")
    case_id = make.case(owner_id=operator, overdue_days=95)
    make.hold(case_id, set_by_id=operator, kind=HoldKind.COMPLAINT)
    make.registration(case_id, agent_id=operator)
    make.document(case_id, kind=DocumentKind.RESIDENCE, status=DocumentStatus.REJECTED)
    detail = desk.case_detail(db, case_id, profile=PROFILE, now=NOW)
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
        desk.case_detail(db, 424242, profile=PROFILE, now=NOW)


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

    log = desk.contact_log(db, case_id, profile=PROFILE)
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


def test_collector_week_groups_visits_by_local_day(db: Database, make: Factory) -> None:
    operator = make.agent()
    collector = make.agent(name="赵六", role=Role.COLLECTOR)
    other_collector = make.agent(role=Role.COLLECTOR)
    monday = dt.date(2024, 5, 6)
    case_a = make.case(name="张三")
    case_b = make.case(name="李小龙")
    make.appointment(
        case_a, collector_id=collector, booked_by_id=operator, starts_at=_at(monday, 9)
    )
    make.appointment(
        case_b,
        collector_id=collector,
        booked_by_id=operator,
        starts_at=_at(monday + dt.timedelta(days=2), 14, 30),
        district="海淀区",
        status=AppointmentStatus.CONFIRMED,
    )
    # 00:30 on the next Monday in Shanghai is still Sunday in UTC: belongs to next week.
    make.appointment(
        case_a,
        collector_id=collector,
        booked_by_id=operator,
        starts_at=_at(monday + dt.timedelta(days=7), 0, 30),
    )
    make.appointment(
        case_b, collector_id=other_collector, booked_by_id=operator, starts_at=_at(monday, 10)
    )

    week = desk.collector_week(db, collector, week_start=monday + dt.timedelta(days=3), timezone=TZ)
    assert week.week_start == monday and week.week_end == monday + dt.timedelta(days=6)
    assert week.collector_name == "赵六"
    assert [d.day for d in week.days] == [monday + dt.timedelta(days=i) for i in range(7)]
    assert [(v.borrower_name, v.district) for v in week.days[0].visits] == [("张三", "朝阳区")]
    (wednesday,) = week.days[2].visits
    assert (wednesday.borrower_name, wednesday.status) == ("李小龙", AppointmentStatus.CONFIRMED)
    assert week.visit_count == 2

    nxt = desk.collector_week(db, collector, week_start=monday + dt.timedelta(days=7), timezone=TZ)
    assert nxt.visit_count == 1 and len(nxt.days[0].visits) == 1


def test_case_calendar_follows_latest_appointment(db: Database, make: Factory) -> None:
    operator = make.agent()
    first = make.agent(name="赵六", role=Role.COLLECTOR)
    latest = make.agent(name="孙七", role=Role.COLLECTOR)
    case_id = make.case()
    early = dt.date(2024, 4, 29)
    later = dt.date(2024, 5, 16)
    make.appointment(case_id, collector_id=first, booked_by_id=operator, starts_at=_at(early, 9))
    make.appointment(case_id, collector_id=latest, booked_by_id=operator, starts_at=_at(later, 15))

    week = desk.case_calendar(db, case_id, timezone=TZ, now=NOW)
    assert week.collector_name == "孙七"
    assert week.week_start == dt.date(2024, 5, 13)
    assert [v.case_id for v in week.days[3].visits] == [case_id]

    before = desk.case_calendar(db, case_id, timezone=TZ, week_start=early, now=NOW)
    assert before.collector_name == "孙七" and before.visit_count == 0

    lonely = make.case()
    empty = desk.case_calendar(db, lonely, timezone=TZ, now=NOW)
    assert empty.collector_id is None and empty.visit_count == 0
    assert empty.week_start == dt.date(2024, 5, 6)
    assert len(empty.days) == 7


# --- plan and agreement ----------------------------------------------------------------


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
    view = desk.agreement_view(db, case_id, profile=PROFILE)
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
    nothing = desk.agreement_view(db, case_id, profile=PROFILE)
    assert nothing.plan is None and nothing.agreement is None
    make.agreement(case_id, created_by_id=operator, texts=())
    draft = desk.agreement_view(db, case_id, profile=PROFILE).agreement
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
    service = desk.DeskService(db, resolve_actor(db, "agent1"), PROFILE, queue_limit=5)
    assert [r.case_id for r in service.queue()] == [case_id]
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
    assert service.this_week().weekday() == 0


# --- identity and house rules -----------------------------------------------------------


def test_unknown_agent_is_refused(db: Database) -> None:
    with pytest.raises(UnknownAgent, match="nobody"):
        resolve_actor(db, "nobody")


def test_database_kind(db: Database) -> None:
    assert desk.database_kind(db) in ("sqlite", "postgresql")


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
