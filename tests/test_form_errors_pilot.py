"""Every form that reads or writes through the service survives a failing database.

For each form the service method it calls is made to raise, first ``DatabaseBusy`` (a
write that gave way to others) and then an unexpected ``RuntimeError``. Each time the
form is submitted with values typed in, and then: a notification names what failed,
the form has left its saving state, what was typed is still in its fields, and the desk
is still running (the App's one handler of worker errors, ``tui_desk.screens.failures``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TextArea

from tests.factories import Factory
from tests.pilot import settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database, DatabaseBusy
from tui_desk.db.models import (
    AppointmentStatus,
    Borrower,
    DocumentStatus,
    PlanStatus,
    RepaymentPlan,
    Role,
    Stage,
)
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.profile import load_profile
from tui_desk.screens.adjustment_modals import AdjustmentDecisionModal, AdjustmentModal
from tui_desk.screens.agreement_modals import (
    DeliveryModal,
    SignAgreementModal,
    SpecialTermsModal,
)
from tui_desk.screens.casework_modals import (
    ArchiveModal,
    ComplaintModal,
    CreditModal,
    DocumentModal,
    DoNotCallModal,
    HoldModal,
    PaymentModal,
    PhoneModal,
    RegistrationModal,
    ReviewModal,
)
from tui_desk.screens.complaint_modal import ComplaintListModal
from tui_desk.screens.contact_modal import ContactModal
from tui_desk.screens.dial_modal import DialModal
from tui_desk.screens.followup_modal import FollowUpDoneModal
from tui_desk.screens.form import FieldFormModal, FormModal
from tui_desk.screens.override_modal import OverrideModal
from tui_desk.screens.plan_modals import PlanModal
from tui_desk.screens.sms_modal import SmsModal
from tui_desk.screens.supervision_modals import (
    CaseViewModal,
    OverrideAskModal,
    OverrideRequestModal,
    ReassignModal,
)
from tui_desk.screens.visit_modals import (
    BookVisitModal,
    CancelVisitModal,
    RescheduleVisitModal,
    VisitReportModal,
)
from tui_desk.services import complaints, plans
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.search_index import index_borrower
from tui_desk.views.calendar import CalendarVisit
from tui_desk.views.followups import FollowUpLine
from tui_desk.views.supervision import OverrideRequestLine

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")

pytestmark = pytest.mark.usefixtures("quick_debounce")


@dataclasses.dataclass
class World:
    db: Database
    sup: Actor
    op: Actor
    case: int
    """A case with a document received, phones and an active plan."""
    drafting: int
    """A case whose plan is a draft (its agreement is drafted in the test)."""
    adjusting: int
    """A case with an active plan and a hardship adjustment awaiting a decision."""
    appointment: int
    collector: int

    def app(self) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=self.sup,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )


def _plan(db: Database, operator: Actor, case: int, *, active: bool) -> int:
    basis = plans.plan_basis(db, case, now=NOW, profile=CN)
    request = basis.request(waiver=basis.overdue_charges, first_due=dt.date(2026, 4, 2))
    plan_id = plans.create_plan(Context.frozen(db, operator, NOW, CN), case, request)
    if active:
        with db.write() as s:
            plan = s.get(RepaymentPlan, plan_id)
            assert plan is not None
            plans.activate_plan(s, plan, NOW, profile=CN)
    return plan_id


@pytest.fixture
def world(sqlite_db: Database) -> World:
    return make_world(sqlite_db)


def make_world(sqlite_db: Database) -> World:
    """Data for every form (also used by the Escape and fuzz tests of the forms)."""
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    collector = make.collector(login="col", name="李外访")
    operator = Actor(id=op, login="op", name="王小明", role=Role.OPERATOR)
    case = make.case(borrower_id=make.borrower(name="张三"), stage=Stage.VISITED)
    make.document(case, status=DocumentStatus.RECEIVED)
    _plan(sqlite_db, operator, case, active=True)
    appointment = make.appointment(
        case,
        collector_id=collector,
        booked_by_id=op,
        starts_at=NOW + dt.timedelta(days=3),
        status=AppointmentStatus.BOOKED,
    )
    drafting = make.case(borrower_id=make.borrower(name="李四"), stage=Stage.VISITED)
    make.plan(drafting, created_by_id=op, status=PlanStatus.DRAFT)
    adjusting = make.case(borrower_id=make.borrower(name="王五"), stage=Stage.VISITED)
    _plan(sqlite_db, operator, adjusting, active=True)
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    return World(
        sqlite_db,
        Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR),
        operator,
        case,
        drafting,
        adjusting,
        appointment,
        collector,
    )


# --- the forms --------------------------------------------------------------------------

Make = Callable[[World, DeskService, pytest.MonkeyPatch], Screen[Any]]
Submit = Callable[[Pilot[None], Screen[Any]], Awaitable[None]]


async def focus_on(pilot: Pilot[None], screen: Screen[Any], widget: Widget | None) -> None:
    """Focus ``widget`` (``None``: nothing) and see that it holds.

    A form's own first focus (``focus()`` in its mount) is applied later, from the app's
    queue: under load it can land after this one, and the typing would go to the keys.
    """
    for _ in range(100):
        screen.set_focus(widget)
        await pilot.pause()
        if screen.focused is widget:
            return
    raise AssertionError(f"{widget} did not take the focus")


async def type_into(pilot: Pilot[None], screen: Screen[Any], selector: str, text: str) -> None:
    widget = screen.query_one(selector)
    await focus_on(pilot, screen, widget)
    if isinstance(widget, Input):
        await pilot.press("end", "ctrl+u")  # what the form proposed gives way to the typing
    await pilot.press(*text)


def fields(*typed: tuple[str, str]) -> Submit:
    """Type into the fields, then Enter on the last field (which saves)."""

    async def submit(pilot: Pilot[None], screen: Screen[Any]) -> None:
        assert isinstance(screen, FieldFormModal)
        for selector, text in typed:
            await type_into(pilot, screen, selector, text)
        await focus_on(pilot, screen, screen.field_widgets[-1])
        await pilot.press("enter")

    return submit


def keys(*typed: tuple[str, str], then: tuple[str, ...], unfocus: bool = False) -> Submit:
    """Type into the fields, then press ``then`` (with no field focused if ``unfocus``)."""

    async def submit(pilot: Pilot[None], screen: Screen[Any]) -> None:
        for selector, text in typed:
            await type_into(pilot, screen, selector, text)
        if unfocus:
            await focus_on(pilot, screen, None)
        await pilot.press(*then)

    return submit


def visit(w: World, service: DeskService) -> CalendarVisit:
    return CalendarVisit(
        appointment_id=w.appointment,
        case_id=w.case,
        collector_id=w.collector,
        collector_name="李外访",
        starts_at=NOW + dt.timedelta(days=3),
        ends_at=NOW + dt.timedelta(days=3, hours=1),
        borrower_name="张三",
        district="朝阳区",
        status=AppointmentStatus.BOOKED,
    )


def agreement_record(w: World, service: DeskService) -> Any:
    agreement_id = service.draft_agreement(w.drafting)
    return service.open_agreement(agreement_id)


def pending_adjustment(w: World, service: DeskService) -> None:
    service.request_adjustment(w.adjusting, Changes(extend_by=2), "lost his job")


def override_request(w: World) -> OverrideRequestLine:
    return OverrideRequestLine(
        request_id=7, case_id=w.case, borrower_name="张三", rule="quiet_hours",
        requested_by_id=w.op.id, requested_by_login="op", requested_by_name="王小明",
        requested_at=NOW, reason="borrower asked for an evening call", status="pending",
        decided_by_login=None, decided_at=None, decision_note=None, override_id=None,
    )  # fmt: skip


def follow_up(w: World) -> FollowUpLine:
    return FollowUpLine(
        follow_up_id=1, case_id=w.case, agreement_id=None, borrower_name="张三",
        due_on=NOW.date(), channel="phone", owner_id=w.op.id, owner_name="王小明",
        status="scheduled", days_overdue=0,
    )  # fmt: skip


def _case_form(cls: Any, **kwargs: Any) -> Make:
    def make(w: World, service: DeskService, _mp: pytest.MonkeyPatch) -> Screen[Any]:
        return cls(service, service.case(w.case), **kwargs)  # type: ignore[no-any-return]

    return make


@dataclasses.dataclass(frozen=True)
class FormSpec:
    cls: type[Screen[Any]]
    form: str
    method: str
    """The service method the form calls (made to fail)."""
    make: Make
    submit: Submit
    ready: Callable[[Screen[Any]], bool] = lambda _screen: True
    """The form has read what it needs (proposals, the plan) and can be submitted."""


def _adjustment_decision(w: World, service: DeskService, _mp: pytest.MonkeyPatch) -> Screen[Any]:
    pending_adjustment(w, service)
    return AdjustmentDecisionModal(service, service.case(w.adjusting))


def _override_request(w: World, service: DeskService, mp: pytest.MonkeyPatch) -> Screen[Any]:
    line = override_request(w)
    mp.setattr(DeskService, "override_request", lambda _self, _id: line)
    return OverrideRequestModal(service, line.request_id)


def _override_ask(w: World, service: DeskService, mp: pytest.MonkeyPatch) -> Screen[Any]:
    mp.setattr(DeskService, "refused_override_rules", lambda _self, _case: ("quiet_hours",))
    return OverrideAskModal(service, service.case(w.case))


def _complaint_list(w: World, service: DeskService, _mp: pytest.MonkeyPatch) -> Screen[Any]:
    complaints.record_complaint(
        Context.frozen(w.db, w.op, NOW, load_profile()),
        w.case,
        description="催收员言语不当",
        against_login="col",
    )
    return ComplaintListModal(service)


def _report_any_time(w: World, s: DeskService, mp: pytest.MonkeyPatch) -> VisitReportModal:
    """The visit of these forms lies ahead: let the report form reach the (failing) save."""
    mp.setattr(VisitReportModal, "too_early", property(lambda _self: None))
    return VisitReportModal(s, s.case(w.case), visit(w, s))


FORMS = [
    FormSpec(PaymentModal, "payment", "record_payment", _case_form(PaymentModal),
             fields(("#pay-amount", "1200"), ("#pay-reference", "R1"))),
    FormSpec(HoldModal, "hold", "set_hold", _case_form(HoldModal), fields(("#hold-reason", "dispute"))),
    FormSpec(RegistrationModal, "registration", "register", _case_form(RegistrationModal),
             fields(("#reg-note", "agreed"))),
    FormSpec(DocumentModal, "document", "add_document", _case_form(DocumentModal),
             fields(("#doc-description", "ID card"))),
    FormSpec(ReviewModal, "review", "review_document", _case_form(ReviewModal),
             fields(("#review-reason", "clear copy"))),
    FormSpec(PhoneModal, "phone", "add_phone", _case_form(PhoneModal),
             fields(("#phone-number", "13912345678"), ("#phone-holder", "wife"))),
    FormSpec(DoNotCallModal, "do-not-call", "set_do_not_call", _case_form(DoNotCallModal), fields()),
    FormSpec(ComplaintModal, "complaint", "record_complaint", _case_form(ComplaintModal),
             fields(("#complaint-text", "rude"), ("#complaint-against", "col"))),
    FormSpec(CreditModal, "credit", "move_credit", _case_form(CreditModal),
             fields(("#credit-amount", "10"), ("#credit-reason", "refund by transfer"))),
    FormSpec(ArchiveModal, "archive", "archive_case", _case_form(ArchiveModal),
             fields(("#archive-reason", "paid"))),
    FormSpec(PlanModal, "plan", "create_plan", _case_form(PlanModal),
             fields(("#plan-down", "100")),
             ready=lambda s: isinstance(s, PlanModal) and s.basis is not None),
    FormSpec(AdjustmentModal, "adjustment", "request_adjustment", _case_form(AdjustmentModal),
             fields(("#adj-extend", "2"), ("#adj-reason", "illness")),
             ready=lambda s: isinstance(s, AdjustmentModal) and s.basis is not None),
    FormSpec(AdjustmentDecisionModal, "adjustment-decision", "decide_adjustment", _adjustment_decision,
             keys(("#adj-note", "ok"), then=("y",), unfocus=True),
             ready=lambda s: isinstance(s, AdjustmentDecisionModal) and s.pending is not None),
    FormSpec(SmsModal, "sms", "queue_sms", _case_form(SmsModal), fields()),
    FormSpec(OverrideModal, "override", "grant_override", _case_form(OverrideModal),
             fields(("#override-agent", "op"), ("#override-reason", "evening call"))),
    FormSpec(OverrideAskModal, "override-ask", "request_override", _override_ask,
             fields(("#ask-reason", "evening call")),
             ready=lambda s: isinstance(s, OverrideAskModal) and s.checked),
    FormSpec(OverrideRequestModal, "override-request", "decide_override_request", _override_request,
             keys(("#orq-note", "not now"), then=("ctrl+n",)),
             ready=lambda s: isinstance(s, OverrideRequestModal) and s.line is not None),
    FormSpec(BookVisitModal, "book-visit", "book_visit", _case_form(BookVisitModal),
             fields(("#visit-slot", "03-06 10:00"), ("#visit-collector", "col")),
             ready=lambda s: isinstance(s, BookVisitModal)
             and (s.slots_loaded or s.blocked())),
    FormSpec(RescheduleVisitModal, "move-visit", "reschedule_visit",
             lambda w, s, _mp: RescheduleVisitModal(s, s.case(w.case), visit(w, s)),
             fields(("#visit-slot", "03-07 10:00"), ("#visit-collector", "col"),
                    ("#visit-reason", "borrower away")),
             ready=lambda s: isinstance(s, RescheduleVisitModal) and s.slots_loaded),
    FormSpec(CancelVisitModal, "cancel-visit", "cancel_visit",
             lambda w, s, _mp: CancelVisitModal(s, s.case(w.case), visit(w, s)),
             fields(("#visit-reason", "borrower away"))),
    FormSpec(VisitReportModal, "visit-report", "record_visit_report",
             _report_any_time,
             fields(("#rep-affordable", "800"), ("#rep-note", "calm"))),
    FormSpec(SpecialTermsModal, "special-terms", "save_special_terms",
             lambda w, s, _mp: SpecialTermsModal(s, agreement_record(w, s)),
             keys(("#terms-text", "early"), then=("ctrl+s",))),
    FormSpec(SignAgreementModal, "sign", "sign_agreement",
             lambda w, s, _mp: SignAgreementModal(s, s.case(w.drafting), agreement_record(w, s)),
             fields(("#sign-borrower", "signed"), ("#sign-place", "home"))),
    FormSpec(DeliveryModal, "delivery", "record_agreement_delivery",
             lambda w, s, _mp: DeliveryModal(s, s.case(w.drafting), agreement_record(w, s)),
             fields(("#delivery-how", "post"))),
    FormSpec(FollowUpDoneModal, "follow-up", "complete_follow_up",
             lambda w, s, _mp: FollowUpDoneModal(s, s.case(w.case), follow_up(w)),
             fields(("#fu-note", "paying"))),
    FormSpec(ReassignModal, "reassign", "reassign", lambda w, s, _mp: ReassignModal(s, [w.case]),
             fields(("#reassign-login", "op"), ("#reassign-reason", "leave"))),
    FormSpec(ContactModal, "contact", "log_contact",
             lambda w, s, _mp: ContactModal(s, s.case(w.case)),
             keys(("#contact-note-input", "busy"), then=("enter", "1")),
             ready=lambda s: isinstance(s, ContactModal)
             and (s.status is not None or s.status_problem is not None)),
    FormSpec(ComplaintListModal, "complaint-list", "decide_complaint", _complaint_list,
             keys(("#cl-resolution", "apologised"), then=("ctrl+s",)),
             ready=lambda s: isinstance(s, ComplaintListModal) and len(s.lines) == 1),
    FormSpec(DialModal, "dial", "dial_plan", lambda w, s, _mp: DialModal(s, s.case(w.case), None),
             keys(then=("enter",))),
    FormSpec(CaseViewModal, "case-view", "case_visits", lambda w, s, _mp: CaseViewModal(s, w.case),
             keys(then=())),
]  # fmt: skip


def _inputs(screen: Screen[Any]) -> dict[str, str]:
    values = {f"#{w.id}": w.value for w in screen.query(Input) if w.id}
    values |= {f"#{w.id}": w.text for w in screen.query(TextArea) if w.id}
    return values


def _busy(screen: Screen[Any]) -> bool:
    """Whether the form is still in its saving (or dialing, deciding) state."""
    if isinstance(screen, FormModal) and screen.saving:
        return True
    return bool(getattr(screen, "busy", False))


def _notes(app: App[None]) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


@pytest.mark.parametrize("spec", FORMS, ids=[f.form for f in FORMS])
async def test_a_failing_database_leaves_the_form_usable(
    world: World, spec: FormSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[Exception] = [
        DatabaseBusy("database is locked: the write gave way"),
        RuntimeError("disk on fire"),
    ]
    raised: list[Exception] = []

    def fail(*_args: object, **_kwargs: object) -> object:
        raised.append(failures[len(raised)])
        raise raised[-1]

    app = world.app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = spec.make(world, app.service, monkeypatch)
        monkeypatch.setattr(DeskService, spec.method, fail)
        await app.push_screen(form)
        await until(pilot, lambda: app.screen is form and spec.ready(form))
        for attempt, expected in enumerate(("the database is busy, try again", "disk on fire")):
            app.clear_notifications()
            if attempt == 0 or spec.form != "case-view":
                await spec.submit(pilot, form)
            else:
                form._load()  # type: ignore[attr-defined]  # read again
            typed = _inputs(form)
            await until(pilot, lambda n=attempt: len(raised) > n)  # type: ignore[misc]
            await until(pilot, lambda e=expected: any(e in note for note in _notes(app)))  # type: ignore[misc]
            note = next(n for n in _notes(app) if expected in n)
            assert "failed" in note, note
            assert app.is_running
            assert app.screen is form, "the form stays open"
            assert not _busy(form), "the form has left its saving state"
            assert _inputs(form) == typed, "what was typed stays"
            if typed:
                assert any(typed.values()), "something was typed"
    assert len(raised) == 2


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    found: set[type[Any]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_every_form_is_tried() -> None:
    """Every form class (the bases aside) is in ``FORMS``."""
    from tui_desk.screens.casework_modals import CaseFormModal
    from tui_desk.screens.supervision_modals import SupervisionForm
    from tui_desk.screens.visit_modals import _SlotForm

    bases = {FieldFormModal, CaseFormModal, SupervisionForm, _SlotForm}
    forms = {c for c in _subclasses(FormModal) if c.__module__.startswith("tui_desk.")} - bases
    covered = {spec.cls for spec in FORMS}
    assert forms - covered == set(), sorted(c.__name__ for c in forms - covered)


def test_every_worker_group_has_a_description() -> None:
    """A new worker group gets words for its failure notice (else "A background task")."""
    import ast
    from pathlib import Path

    import tui_desk
    from tui_desk.screens.failures import TASKS

    groups: set[str] = set()
    for path in Path(tui_desk.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "work":
                for kw in node.keywords:
                    if kw.arg == "group" and isinstance(kw.value, ast.Constant):
                        groups.add(str(kw.value.value))
    save_groups = {"form-save", "supervision-save", "terms-save", "contact-save"}
    assert groups | save_groups <= set(TASKS), sorted(groups - set(TASKS))
