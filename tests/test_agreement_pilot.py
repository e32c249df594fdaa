"""Pilot tests of the agreement on the desk: draft from the plan, a missing clause refused,
special terms, sign, export both copies — keys only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from textual.widgets import TextArea

from tests.factories import Factory
from tests.pilot import desk_screen, modal_text, open_case, settle, until
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agreement,
    AgreementStatus,
    AuditEvent,
    Borrower,
    PlanStatus,
    Role,
    Stage,
)
from tui_desk.rules import agreements as rules
from tui_desk.rules.profile import load_profile
from tui_desk.screens.agreement_modals import (
    AgreementMenuModal,
    SignAgreementModal,
    SpecialTermsModal,
)
from tui_desk.services import agreements
from tui_desk.services.context import Actor, Context
from tui_desk.services.search_index import index_borrower
from tui_desk.widgets.agreement_panel import AgreementPanel

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH).astimezone(dt.UTC)


pytestmark = pytest.mark.usefixtures("quick_debounce")


@dataclasses.dataclass
class World:
    db: Database
    op: Actor
    sup: Actor
    case: int

    def app(self, tmp_path: Path, actor: Actor | None = None) -> DeskApp:
        app = DeskApp(
            db=self.db,
            actor=actor or self.op,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )
        app.service = dataclasses.replace(app.service, export_dir=tmp_path)
        return app

    def status(self) -> AgreementStatus | None:
        with self.db.read() as s:
            row = s.scalars(
                select(Agreement.status)
                .where(Agreement.case_id == self.case)
                .order_by(Agreement.id.desc())
            ).first()
            return row


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    borrower = make.borrower(name="欧阳娜娜")
    case = make.case(borrower_id=borrower, stage=Stage.VISITED)
    make.plan(case, created_by_id=op, status=PlanStatus.DRAFT)
    with sqlite_db.write() as s:
        for b in s.scalars(select(Borrower)):
            index_borrower(s, b)
    return World(
        sqlite_db,
        Actor(id=op, login="op", name="王小明", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR),
        case,
    )


async def test_draft_terms_ready_sign_and_export_by_keys(world: World, tmp_path: Path) -> None:
    app = world.app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        assert "No agreement yet" in modal_text(app)
        await pilot.press("1")
        await until(pilot, lambda: world.status() is AgreementStatus.DRAFT)
        await settle(pilot)
        panel = app.query_one(AgreementPanel)
        id_line = next(x for x in panel.text_area.text.splitlines() if "身份证号" in x)
        assert "*" in id_line  # personal data stays masked on screen
        assert "第六条 违约责任" in panel.text_area.text

        # Special terms in a text area, saved with ctrl+s.
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, SpecialTermsModal))
        app.screen.query_one(TextArea).insert("乙方可随时提前还款。")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SpecialTermsModal))
        await settle(pilot)
        assert "乙方可随时提前还款" in panel.text_area.text

        # Signing a draft is not on offer; ready first.
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("4")
        await settle(pilot)
        assert "Not possible now" in modal_text(app)
        await pilot.press("3")
        await until(pilot, lambda: world.status() is AgreementStatus.READY)
        await settle(pilot)

        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, SignAgreementModal))
        await pilot.press("enter", "enter", "enter", "enter")  # nothing filled in
        await settle(pilot)
        assert "record how the borrower confirmed" in modal_text(app)
        await pilot.press(*"signed", "enter", *"home", "enter", "enter", "enter")
        await until(pilot, lambda: world.status() is AgreementStatus.SIGNED)
        await settle(pilot)
        assert "Text matches the hash" in panel.summary_text

        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("5")
        mine = tmp_path / "op"  # each agent's exports go to a folder of their own
        await until(pilot, lambda: len(list(mine.glob("*.pdf"))) == 2)
        assert len(list(mine.glob("*.md"))) == 2
        desk = desk_screen(app)
        pane = desk.pane_widget("agreement")
        await until(pilot, lambda: "copies in" in str(pane.border_subtitle))

        # Printing the two originals hands both PDFs to the configured print command.
        jobs = tmp_path / "jobs.txt"
        fake_lp = tmp_path / "lp.py"
        fake_lp.write_text(
            "import sys\n"
            f"open({str(jobs)!r}, 'a').write(sys.argv[-1] + '\\n')\n"
            "print('request id is desk-1 (1 file(s))')\n",
            encoding="utf-8",
        )
        app.service = dataclasses.replace(app.service, print_command=f"{sys.executable} {fake_lp}")
        desk.service = app.service
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("6")
        await until(pilot, lambda: jobs.exists() and len(jobs.read_text().splitlines()) == 2)
        printed = jobs.read_text().splitlines()
        assert all(line.endswith(".pdf") and "/op/" in line for line in printed)
        await until(pilot, lambda: "printed" in str(pane.border_subtitle))
        with world.db.read() as s:
            [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.print"))
            assert event.case_id == world.case and event.after is not None
            assert event.after["printer"] == ["request id is desk-1 (1 file(s))"] * 2


async def test_a_missing_clause_is_refused_on_ready(world: World, tmp_path: Path) -> None:
    agreement_id = agreements.draft_agreement(
        Context.frozen(world.db, world.op, NOW, load_profile()), world.case
    )
    clauses = [
        c if c.kind != rules.BREACH else rules.Clause(c.kind, c.heading, "")
        for c in agreements.open_agreement(world.db, agreement_id).content.clauses
    ]
    agreements.save_version(
        Context.frozen(world.db, world.sup, NOW, load_profile()),
        agreement_id,
        special_terms=None,
        clauses=clauses,
    )
    app = world.app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        notified: list[str] = []
        original = app.notify

        def spy(message: str, **kwargs: object) -> None:
            notified.append(message)
            original(message, **kwargs)  # type: ignore[arg-type]

        app.notify = spy  # type: ignore[method-assign]
        await pilot.press("3")
        await until(pilot, lambda: any("liability for breach" in m for m in notified))
        assert world.status() is AgreementStatus.DRAFT


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_the_compare_view_uses_the_screens_height(
    world: World, tmp_path: Path, size: tuple[int, int]
) -> None:
    """A long difference fills most of the screen (it showed 14 lines of a 50-row
    terminal), and the dialog's hint line stays on screen at 80x24."""
    from textual.containers import VerticalScroll
    from textual.widgets import Static

    from tui_desk.screens.agreement_modals import CompareModal

    app = world.app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await open_case(pilot, world.case)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AgreementMenuModal))
        await pilot.press("1")
        await until(pilot, lambda: world.status() is AgreementStatus.DRAFT)
        await settle(pilot)
        with world.db.read() as s:
            agreement_id = s.scalars(select(Agreement.id)).one()
        record = agreements.open_agreement(world.db, agreement_id)
        previous = dataclasses.replace(
            record.content,
            special_terms="\n".join(f"旧条款第{i}条" for i in range(60)),
        )
        await app.push_screen(CompareModal(dataclasses.replace(record, previous=previous)))
        await settle(pilot)
        rows = app.screen.query_one("#compare-rows", VerticalScroll)
        _width, height = size
        assert rows.region.height >= height * 0.7
        hint = app.screen.query(".form-hint").results(Static)
        assert all(h.region.bottom <= height for h in hint)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, CompareModal)
