"""A tiny builder for targeted tests: agents, borrowers, cases, contacts, visits, plans.

Every method writes in its own transaction and returns plain ids, so a test reads like
the situation it sets up and nothing ORM-shaped leaks into the assertions.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import upgrade
from tui_desk.db.models import (
    AccountStatus,
    Agent,
    Agreement,
    AgreementStatus,
    AgreementVersion,
    Appointment,
    AppointmentStatus,
    Borrower,
    CaseHold,
    CaseStatus,
    Channel,
    CollectionCase,
    CollectorDayOff,
    CollectorDistrict,
    CollectorSchedule,
    ContactAttempt,
    Direction,
    Document,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    Frequency,
    GraceMode,
    HoldKind,
    InstalmentStatus,
    LoanAccount,
    Outcome,
    Payment,
    PaymentChannel,
    Phone,
    PhoneKind,
    PlanInstalment,
    PlanKind,
    PlanStatus,
    Product,
    Relation,
    RepaymentPlan,
    Role,
    ServiceRegistration,
    Stage,
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def cn_id_number(region: str, birth: dt.date, seq: int) -> str:
    """A well-formed resident ID number (GB 11643 check character)."""
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


class Factory:
    """Builds rows with sensible defaults; ``now`` anchors every relative date."""

    def __init__(self, db: Database, *, now: dt.datetime | None = None) -> None:
        self.db = db
        self.now = now or utcnow()
        self._seq = itertools.count(1)

    def _next(self) -> int:
        return next(self._seq)

    # --- people ------------------------------------------------------------------------

    def agent(
        self, *, login: str | None = None, name: str | None = None, role: Role = Role.OPERATOR
    ) -> int:
        n = self._next()
        with self.db.write() as s:
            agent = Agent(
                login=login or f"agent{n}",
                name=name or f"坐席{n}",
                role=role,
                active=True,
                created_at=self.now,
            )
            s.add(agent)
            s.flush()
            return agent.id

    def collector(
        self,
        *,
        login: str | None = None,
        name: str | None = None,
        districts: Sequence[str] = ("朝阳区",),
        hours: tuple[dt.time, dt.time] = (dt.time(9), dt.time(18)),
        weekdays: str = "12345",
        days_off: Sequence[dt.date] = (),
    ) -> int:
        """A field collector with a territory, working hours and days off."""
        agent_id = self.agent(login=login, name=name, role=Role.COLLECTOR)
        with self.db.write() as s:
            s.add(
                CollectorSchedule(
                    agent_id=agent_id,
                    timezone="Asia/Shanghai",
                    work_start=hours[0],
                    work_end=hours[1],
                    work_weekdays=weekdays,
                    updated_at=self.now,
                )
            )
            s.add_all(CollectorDistrict(agent_id=agent_id, district=d) for d in districts)
            s.add_all(CollectorDayOff(agent_id=agent_id, day=d) for d in days_off)
        return agent_id

    def borrower(
        self,
        *,
        name: str = "张三",
        id_number: str | None = None,
        address: str = "北京市朝阳区建国路88号3单元1201室",
        district: str = "朝阳区",
        phones: Sequence[str] | None = None,
    ) -> int:
        n = self._next()
        with self.db.write() as s:
            borrower = Borrower(
                external_id=f"B{n:06d}",
                name=name,
                id_number=id_number or cn_id_number("110105", dt.date(1985, 3, 14), n),
                address=address,
                city="北京市",
                district=district,
                region_code="110105",
                timezone="Asia/Shanghai",
                created_at=self.now,
            )
            s.add(borrower)
            s.flush()
            for number in phones if phones is not None else [f"+86138{n:08d}"]:
                s.add(
                    Phone(
                        borrower_id=borrower.id,
                        e164=number,
                        kind=PhoneKind.MOBILE,
                        relation=Relation.BORROWER,
                        verified=True,
                        do_not_call=False,
                        created_at=self.now,
                    )
                )
            return borrower.id

    def phone_ids(self, borrower_id: int) -> list[int]:
        with self.db.read() as s:
            borrower = s.get(Borrower, borrower_id)
            assert borrower is not None
            return [p.id for p in borrower.phones]

    # --- the debt ----------------------------------------------------------------------

    def case(
        self,
        *,
        borrower_id: int | None = None,
        name: str = "张三",
        priority: int = 100,
        status: CaseStatus = CaseStatus.OPEN,
        stage: Stage = Stage.CONTACTING,
        owner_id: int | None = None,
        overdue_days: int = 45,
        overdue_minor: int = 1_234_567,
        broken_promises: int = 0,
        next_action_at: dt.datetime | None = None,
        registered: bool = False,
        documents_complete: bool = False,
    ) -> int:
        if borrower_id is None:
            borrower_id = self.borrower(name=name)
        overdue_since = self.now.date() - dt.timedelta(days=overdue_days)
        with self.db.write() as s:
            case = CollectionCase(
                borrower_id=borrower_id,
                status=status,
                stage=stage,
                owner_id=owner_id,
                priority=priority,
                overdue_since=overdue_since,
                overdue_minor=overdue_minor,
                broken_promises=broken_promises,
                next_action_at=next_action_at,
                opened_at=self.now - dt.timedelta(days=overdue_days),
                registered=registered,
                documents_complete=documents_complete,
            )
            s.add(case)
            s.flush()
            s.add(
                LoanAccount(
                    external_id=f"LN{case.id:08d}-{self._next()}",
                    borrower_id=borrower_id,
                    case_id=case.id,
                    product=Product.CONSUMER_LOAN,
                    status=AccountStatus.OVERDUE,
                    currency="CNY",
                    principal_minor=5_000_000,
                    outstanding_principal_minor=1_000_000,
                    outstanding_interest_minor=200_000,
                    outstanding_penalty_minor=30_000,
                    outstanding_fees_minor=4_567,
                    overdue_minor=overdue_minor,
                    annual_rate=Decimal("0.1200"),
                    opened_on=overdue_since - dt.timedelta(days=400),
                    overdue_since=overdue_since,
                )
            )
            return case.id

    def borrower_of(self, case_id: int) -> int:
        with self.db.read() as s:
            case = s.get(CollectionCase, case_id)
            assert case is not None
            return case.borrower_id

    def hold(self, case_id: int, *, set_by_id: int, kind: HoldKind = HoldKind.DISPUTE) -> int:
        with self.db.write() as s:
            hold = CaseHold(
                case_id=case_id,
                kind=kind,
                reason="borrower disputes the penalty",
                set_by_id=set_by_id,
                set_at=self.now,
            )
            s.add(hold)
            s.flush()
            return hold.id

    # --- steps 1-2 ---------------------------------------------------------------------

    def contact(
        self,
        case_id: int,
        *,
        agent_id: int | None = None,
        phone_id: int | None = None,
        outcome: Outcome = Outcome.NO_ANSWER,
        channel: Channel = Channel.PHONE,
        note: str | None = None,
        minutes_ago: int = 60,
    ) -> int:
        with self.db.write() as s:
            attempt = ContactAttempt(
                case_id=case_id,
                agent_id=agent_id,
                channel=channel,
                direction=Direction.OUTBOUND,
                phone_id=phone_id,
                party=Relation.BORROWER,
                outcome=outcome,
                note=note,
                started_at=self.now - dt.timedelta(minutes=minutes_ago),
            )
            s.add(attempt)
            s.flush()
            return attempt.id

    def registration(self, case_id: int, *, agent_id: int) -> int:
        with self.db.write() as s:
            reg = ServiceRegistration(
                case_id=case_id,
                consent_channel=Channel.PHONE,
                registered_by_id=agent_id,
                registered_at=self.now - dt.timedelta(days=2),
            )
            s.add(reg)
            s.flush()
            return reg.id

    def document(
        self,
        case_id: int,
        *,
        kind: DocumentKind = DocumentKind.IDENTITY,
        status: DocumentStatus = DocumentStatus.VERIFIED,
    ) -> int:
        with self.db.write() as s:
            doc = Document(
                case_id=case_id,
                kind=kind,
                channel=DocumentChannel.EMAIL,
                received_at=self.now - dt.timedelta(days=1),
                status=status,
            )
            s.add(doc)
            s.flush()
            return doc.id

    # --- step 3 ------------------------------------------------------------------------

    def appointment(
        self,
        case_id: int,
        *,
        collector_id: int,
        booked_by_id: int,
        starts_at: dt.datetime,
        district: str = "朝阳区",
        status: AppointmentStatus = AppointmentStatus.BOOKED,
    ) -> int:
        with self.db.write() as s:
            appt = Appointment(
                case_id=case_id,
                collector_id=collector_id,
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=1),
                place="北京市朝阳区建国路88号",
                district=district,
                status=status,
                booked_by_id=booked_by_id,
                booked_at=self.now,
            )
            s.add(appt)
            s.flush()
            return appt.id

    # --- steps 5-6 ---------------------------------------------------------------------

    def plan(
        self,
        case_id: int,
        *,
        created_by_id: int,
        instalments: int = 6,
        amount_minor: int = 100_000,
        paid: int = 0,
        status: PlanStatus = PlanStatus.ACTIVE,
        first_due_on: dt.date | None = None,
    ) -> int:
        first = first_due_on or (self.now.date() + dt.timedelta(days=10))
        with self.db.write() as s:
            plan = RepaymentPlan(
                case_id=case_id,
                kind=PlanKind.INTEREST_FREE,
                frequency=Frequency.MONTHLY,
                principal_minor=amount_minor * instalments,
                annual_rate=Decimal("0"),
                instalments=instalments,
                grace_mode=GraceMode.NONE,
                first_due_on=first,
                status=status,
                created_by_id=created_by_id,
                created_at=self.now,
            )
            s.add(plan)
            s.flush()
            for seq in range(1, instalments + 1):
                s.add(
                    PlanInstalment(
                        plan_id=plan.id,
                        seq=seq,
                        due_on=first + dt.timedelta(days=30 * (seq - 1)),
                        principal_minor=amount_minor,
                        interest_minor=0,
                        amount_minor=amount_minor,
                        paid_minor=amount_minor if seq <= paid else 0,
                        status=InstalmentStatus.PAID if seq <= paid else InstalmentStatus.DUE,
                    )
                )
            if paid:
                # Lines are paid by payments in the ledger, never by a figure alone.
                s.add(
                    Payment(
                        case_id=case_id,
                        amount_minor=amount_minor * paid,
                        paid_on=self.now.astimezone(ZoneInfo("Asia/Shanghai")).date(),
                        channel=PaymentChannel.BANK_TRANSFER,
                        recorded_at=self.now,
                    )
                )
            return plan.id

    def agreement(
        self,
        case_id: int,
        *,
        created_by_id: int,
        plan_id: int | None = None,
        texts: Sequence[str] = ("还款协议 第一版",),
        status: AgreementStatus = AgreementStatus.DRAFT,
        signed: bool = False,
    ) -> int:
        with self.db.write() as s:
            agreement = Agreement(
                case_id=case_id,
                plan_id=plan_id,
                template_name="repayment",
                template_version="2024.1",
                language="zh_CN",
                status=status,
                effective_on=self.now.date() if signed else None,
                signed_at=self.now if signed else None,
                signed_place="北京市朝阳区" if signed else None,
                created_by_id=created_by_id,
                created_at=self.now,
            )
            s.add(agreement)
            s.flush()
            for seq, text in enumerate(texts, start=1):
                s.add(
                    AgreementVersion(
                        agreement_id=agreement.id,
                        seq=seq,
                        content=text,
                        created_by_id=created_by_id,
                        created_at=self.now,
                    )
                )
            return agreement.id


def new_database(path: Path) -> str:
    """A new SQLite database at ``path`` with the current schema (as ``db upgrade`` makes
    it); its URL. Commands other than the creating ones refuse a file that is not there."""
    url = f"sqlite:///{path}"
    db = open_database(url, create=True)
    try:
        upgrade(db)
    finally:
        db.dispose()
    return url
