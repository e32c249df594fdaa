"""Pilot tests of the supervisor board (F6): refusal for operators, figures, the live loop
with its keyed diff, actions on the selected row, at 80x24 and 160x50.

Two kinds of test: with a scripted board (``ScriptedBoard`` stands in for the board
service, so the diff can be driven one change at a time) and end to end, where writes go
through the services as another agent and ``refresh_snapshot`` plays the worker.
Time is frozen at 2026-03-02 14:00 Beijing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from sqlalchemy import select, update
from textual.pilot import Pilot

from tests.factories import Factory
from tests.pilot import screen_text
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import CollectionCase, Role, Stage
from tui_desk.i18n import _ as tr
from tui_desk.i18n import ngettext
from tui_desk.rules.profile import load_profile
from tui_desk.screens.supervisor import ConfirmModal, SupervisorScreen
from tui_desk.services import board as board_service
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.views.board import (
    RISK_KINDS,
    AgentLine,
    Board,
    DepthLine,
    RiskLine,
    TodayCounts,
    Trend,
)
from tui_desk.widgets.board import AGENT_COLUMNS, KeyedTable, risk_key

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
NARROW = (80, 24)
WIDE = (160, 50)
CN = load_profile("cn")

pytestmark = pytest.mark.usefixtures("quick_debounce", "quick_board")


@pytest.fixture
def quick_board(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SupervisorScreen, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(SupervisorScreen, "RETRY_SECONDS", 0.05)


# --- helpers ------------------------------------------------------------------------------


def board_screen(app: DeskApp) -> SupervisorScreen:
    screen = app.screen
    assert isinstance(screen, SupervisorScreen), type(screen).__name__
    return screen


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], *, seconds: float = 5
) -> None:
    """Let the board's own loop run until ``condition`` holds (never waits on workers:
    the board always has its next poll scheduled)."""
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


async def open_board(pilot: Pilot[None]) -> SupervisorScreen:
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SupervisorScreen))
    screen = board_screen(pilot.app)  # type: ignore[arg-type]
    await wait_for(pilot, lambda: screen.repaints > 0)
    await pilot.pause()
    return screen


def text_of(app: DeskApp) -> str:
    return screen_text(app, legacy_windows=False)


# --- a scripted board ---------------------------------------------------------------------


def _agent(agent_id: int, login: str, name: str, **changes: object) -> AgentLine:
    line = AgentLine(
        agent_id=agent_id, login=login, name=name, role=Role.OPERATOR, online=True,
        last_seen=NOW, case_id=None, on_case_for=None, last_action=None, last_action_at=None,
        cases_held=0, cases_owned=3, contacts_today=0, promises_today=0,
        visits_booked_today=0, collected_today_minor=0,
    )  # fmt: skip
    return dataclasses.replace(line, **changes)  # type: ignore[arg-type]


def _risk(kind: str, ref_id: int, case_id: int, who: str = "op") -> RiskLine:
    return RiskLine(kind, case_id, ref_id, who, NOW - dt.timedelta(hours=1), f"{kind} {ref_id}")


def _board(version: int, *, agents: tuple[AgentLine, ...], risks: tuple[RiskLine, ...]) -> Board:
    counts = dict.fromkeys(RISK_KINDS, 0)
    for r in risks:
        counts[r.kind] += 1
    return Board(
        version=version,
        as_of=NOW - dt.timedelta(seconds=5),
        buckets=(DepthLine("1-30", 4, 1, 0, 0, 400_000), DepthLine("31-60", 2, 0, 1, 1, 9_900)),
        stages=(DepthLine("new", 3, 1, 0, 0, 100), DepthLine("contacting", 3, 0, 1, 1, 200)),
        agents=agents,
        today=TodayCounts(
            contacts=7 + version,
            right_party_contacts=3,
            promises=2,
            promised_minor=150_000,
            visits_booked=1,
            visits_done=0,
            agreements_signed=1,
            payments=2,
            collected_minor=88_800,
        ),
        risks=risks,
        risk_counts=counts,
        trends=(Trend("contacts", (0,) * 9 + (1, 3, 2, 4, 5)), Trend("payments", (0,) * 14)),
        orphans=0,
    )


@dataclass
class ScriptedBoard:
    """Stands in for the board service: the test sets the next board, the screen reads it."""

    current: Board
    reads: int = 0
    polls: int = 0
    history: list[int] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def version(_db: Database) -> int:
            self.polls += 1
            return self.current.version

        def read(_db: Database, _now: dt.datetime, _profile: object, **_kw: object) -> Board:
            self.reads += 1
            self.history.append(self.current.version)
            return self.current

        monkeypatch.setattr(board_service, "board_version", version)
        monkeypatch.setattr(board_service, "read_board", read)
        monkeypatch.setattr(DeskService, "board_refreshed_at", lambda _svc: self.current.as_of)


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    db: Database
    op: Actor
    op2: Actor
    sup: Actor
    cases: list[int]

    def app(self, actor: Actor) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )


@pytest.fixture
def world(sqlite_db: Database) -> World:
    make = Factory(sqlite_db, now=NOW)
    op = make.agent(login="op", name="王小明")
    op2 = make.agent(login="lee", name="Lee")
    sup = make.agent(login="sup", name="周主管", role=Role.SUPERVISOR)
    cases = [
        make.case(name="张三", owner_id=op, overdue_days=20, priority=900),
        make.case(name="李四", owner_id=op2, overdue_days=45, stage=Stage.NEW, priority=800),
        make.case(name="王五", overdue_days=100, priority=700),
    ]
    # The priority refresh keeps the bucket number (0 = not yet past due, 1 = 1-30 ...).
    with sqlite_db.write() as s:
        for case_id, bucket in zip(cases, (1, 2, 4), strict=True):
            s.execute(
                update(CollectionCase).where(CollectionCase.id == case_id).values(dpd_bucket=bucket)
            )
    return World(
        sqlite_db,
        Actor(id=op, login="op", name="王小明", role=Role.OPERATOR),
        Actor(id=op2, login="lee", name="Lee", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="周主管", role=Role.SUPERVISOR),
        cases,
    )


# --- tests: refusal -----------------------------------------------------------------------


async def test_an_operator_is_refused_the_board(world: World) -> None:
    app = world.app(world.op)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        assert not isinstance(app.screen, SupervisorScreen)
        notes = [str(n.message) for n in app._notifications]
        assert any("for supervisors" in n for n in notes), notes


# --- tests: the scripted board --------------------------------------------------------------


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x50"])
async def test_a_change_updates_rows_in_place_and_keeps_the_cursor(
    world: World, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    agents = (
        _agent(1, "op", "王小明"),
        _agent(2, "lee", "Lee", online=False),
        _agent(3, "zhao", "赵六", case_id=12, on_case_for=dt.timedelta(minutes=7)),
    )
    risks = (_risk("follow_up_missed", 5, 11), _risk("lease_overdue", 12, 12, "zhao"))
    script = ScriptedBoard(_board(1, agents=agents, risks=risks))
    script.install(monkeypatch)
    cleared: list[str] = []
    clear = KeyedTable.clear

    def counted_clear(self: KeyedTable, columns: bool = False) -> KeyedTable:
        cleared.append(str(self.id))
        return clear(self, columns)

    # Laying the columns out for the table's width clears it once; a new board does not.
    monkeypatch.setattr(KeyedTable, "clear", counted_clear)
    app = world.app(world.sup)
    async with app.run_test(size=size) as pilot:
        screen = await open_board(pilot)
        text = text_of(app)
        assert "as of 13:59:55" in text
        if size == WIDE:
            for title in ("Today (F2)", "Queues (F3)", "Agents (F4)", "At risk (F5)"):
                assert title in text, title
        await pilot.press("f4")
        table = screen.table("agents")
        assert table.has_focus
        assert table.keys == ["1", "3", "2"]  # online first
        await pilot.press("down")
        assert table.selected_key == "3"
        before = table.changes
        reads = script.reads
        cleared.clear()

        # Another desk logs a contact: agent 1's count changes, agent 3 leaves its case,
        # a new agent appears, the missed follow-up is done and a complaint comes in.
        script.current = _board(
            2,
            agents=(
                _agent(1, "op", "王小明", contacts_today=1, last_action="contact.log",
                       last_action_at=NOW),
                _agent(2, "lee", "Lee", online=False),
                _agent(3, "zhao", "赵六", case_id=12, on_case_for=dt.timedelta(minutes=7)),
                _agent(4, "new", "新人"),
            ),
            risks=(_risk("lease_overdue", 12, 12, "zhao"), _risk("complaint_open", 9, 13)),
        )  # fmt: skip
        await wait_for(pilot, lambda: table.row_count == 4)
        assert script.reads == reads + 1  # one read per change, not per poll
        assert table.keys == ["1", "3", "4", "2"]
        assert table.selected_key == "3"  # the cursor stayed on its agent
        # Agent 1: contacts and last action (2 cells, the action only where its column
        # has room); agent 4 added (1 row); moved rows are reordered, not rewritten.
        assert table.changes - before == 2 + ("action" not in table.hidden_columns)
        assert screen.table("risks").keys == ["lease_overdue:12", "complaint_open:9"]
        assert cleared == []

        # Nothing changes: the polls go on, nothing is read or repainted.
        polls, reads, repaints = script.polls, script.reads, screen.repaints
        await wait_for(pilot, lambda: script.polls >= polls + 5)
        assert script.reads == reads
        assert screen.repaints == repaints
        await pilot.press("f2")
        assert "9 (RPC 3)" in text_of(app)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_a_narrow_board_leaves_whole_columns_out_and_says_how_many(
    world: World, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    from tui_desk.i18n import set_language

    set_language(language)
    agents = (
        _agent(1, "op", "诸葛孔明", collected_today_minor=10_000_000, contacts_today=12,
               last_action="contact.log", last_action_at=NOW, case_id=11,
               on_case_for=dt.timedelta(minutes=3)),
        _agent(2, "lee", "Lee", online=False, collected_today_minor=0),
    )  # fmt: skip
    long_detail = dataclasses.replace(
        _risk("follow_up_missed", 5, 11), detail="follow-up by phone missed " * 4
    )
    ScriptedBoard(_board(1, agents=agents, risks=(long_detail,))).install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        await pilot.press("f4")
        await pilot.pause()
        table = screen.table("agents")
        hidden = table.hidden_columns
        # Columns go by priority: what an agent collected and their calls stay.
        assert hidden and {"state", "name", "collected", "contacts"}.isdisjoint(hidden)
        assert hidden[-1] == "login"
        text = text_of(app)
        marker = ngettext("{title} ({n} hidden)", "{title} ({n} hidden)", len(hidden))
        last_shown = next(t for k, t in AGENT_COLUMNS[::-1] if k not in hidden)
        assert marker.format(title=tr(last_shown), n=len(hidden)) in text
        # Money and names whole; nothing runs off the right edge.
        assert "¥100,000.00" in text and "诸葛孔明" in text
        assert table.max_scroll_x == 0
        await pilot.press("f5")
        await pilot.pause()
        risks = screen.table("risks")
        assert risks.max_scroll_x == 0
        detail = risks.get_cell(risk_key(long_detail), "detail")
        shown = detail.plain if hasattr(detail, "plain") else str(detail)
        assert shown.endswith("..") and cell_len(shown) < cell_len(long_detail.detail)
        assert shown in text_of(app)


async def test_a_board_never_computed_asks_for_the_worker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = dataclasses.replace(_board(0, agents=(), risks=()), as_of=None)
    ScriptedBoard(empty).install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        await open_board(pilot)
        assert "waiting for the worker: start `tui-desk worker`" in text_of(app)


async def test_an_old_snapshot_is_flagged(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    old = dataclasses.replace(_board(3, agents=(), risks=()), as_of=NOW - dt.timedelta(minutes=9))
    ScriptedBoard(old).install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        await open_board(pilot)
        assert "as of 13:51:00, 9m old: is `tui-desk worker` running?" in text_of(app)


async def test_polling_stops_while_covered_and_when_closed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = ScriptedBoard(_board(1, agents=(_agent(1, "op", "王小明"),), risks=()))
    script.install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        app.push_screen(ConfirmModal("?"))
        await pilot.pause(0.1)
        polls = script.polls
        await pilot.pause(0.2)
        assert script.polls <= polls + 1  # at most the poll already under way
        await pilot.press("escape")
        await wait_for(pilot, lambda: script.polls > polls + 3)
        await pilot.press("escape")  # back to the desk
        await wait_for(pilot, lambda: not isinstance(app.screen, SupervisorScreen))
        await pilot.pause(0.1)
        polls = script.polls
        await pilot.pause(0.2)
        assert script.polls <= polls + 1
        assert not screen._polling


async def test_chinese_names_keep_the_columns_aligned(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = (
        _agent(1, "op", "王小明", case_id=11, on_case_for=dt.timedelta(minutes=3)),
        _agent(2, "lee", "Lee", case_id=12, on_case_for=dt.timedelta(minutes=4)),
        _agent(3, "ou", "欧阳慕容长名字", case_id=13, on_case_for=dt.timedelta(minutes=5)),
    )
    ScriptedBoard(_board(1, agents=agents, risks=())).install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        await open_board(pilot)
        await pilot.press("3")
        lines = text_of(app).splitlines()
        rows = [next(line for line in lines if f"#{case}" in line) for case in (11, 12, 13)]
        starts = {cell_len(row[: row.index("#")]) for row in rows}
        assert len(starts) == 1, rows
        assert "欧阳慕容.." in rows[2]  # cut to the column, by cells


async def test_narrow_board_keeps_collected_money_whole_beside_a_long_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = (
        _agent(1, "op", "欧阳慕容长名字", collected_today_minor=10_000_000,
               last_action="phone.do_not_call", last_action_at=NOW),
        _agent(2, "lee", "Lee", collected_today_minor=0),
    )  # fmt: skip
    ScriptedBoard(_board(1, agents=agents, risks=())).install(monkeypatch)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        await open_board(pilot)
        await pilot.press("3")
        text = text_of(app)
        assert "Collected" in text
        assert "¥100,000.00" in text and "¥0.00" in text


# --- tests: end to end (services write, refresh_snapshot plays the worker) --------------------


def service_of(world: World, actor: Actor, *, at: dt.datetime = NOW) -> DeskService:
    return DeskService(db=world.db, actor=actor, profile=CN, clock=lambda: at)


def refresh(world: World) -> None:
    board_service.refresh_snapshot(world.db, NOW, CN)


def cell(table: KeyedTable, row: str, column: str) -> str:
    value = table.value(row, column)  # shown or left out for want of room
    return value.plain if hasattr(value, "plain") else str(value)


async def select_row(pilot: Pilot[None], table: KeyedTable, key: str) -> None:
    await wait_for(pilot, lambda: key in table.keys)
    table.move_cursor(row=table.keys.index(key))
    await pilot.pause()
    assert table.selected_key == key


def lease_holder(world: World, case_id: int) -> int | None:
    with world.db.read() as s:
        return s.scalar(select(CollectionCase.lease_holder_id).where(CollectionCase.id == case_id))


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "160x50"])
async def test_a_supervisor_sees_the_seeded_figures(world: World, size: tuple[int, int]) -> None:
    make = Factory(world.db, now=NOW)
    make.contact(world.cases[0], agent_id=world.op.id, minutes_ago=30)
    make.contact(world.cases[1], agent_id=world.op2.id, minutes_ago=20)
    service_of(world, world.op).heartbeat(world.cases[0])
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=size) as pilot:
        screen = await open_board(pilot)
        text = text_of(app)
        assert "as of 14:00:00" in text
        if size == NARROW:
            assert "Today (F2)" in text and "Agents (F4)" not in text
        assert "2 (RPC 0)" in text
        depth = screen.table("queues")
        assert cell(depth, "bucket:1-30", "open") == "1"
        assert cell(depth, "bucket:31-60", "open") == "1"
        assert cell(depth, "bucket:91+", "open") == "1"
        assert "bucket:0" not in depth.keys  # shown only when some case is in it
        assert cell(depth, "stage:new", "open") == "1"
        assert "stage:paid" not in depth.keys
        assert screen.pane_widget("queues").border_subtitle == "3 open cases"
        agents = screen.table("agents")
        op = str(world.op.id)
        assert cell(agents, op, "state") == "on"
        assert cell(agents, op, "case") == f"#{world.cases[0]}"
        assert cell(agents, op, "contacts") == "1"
        assert cell(agents, str(world.op2.id), "state") == "off"
        await pilot.press("f4")
        text = text_of(app)
        assert "王小明" in text and f"#{world.cases[0]}" in text


async def test_a_write_at_another_desk_shows_without_reopening(world: World) -> None:
    make = Factory(world.db, now=NOW)
    make.contact(world.cases[0], agent_id=world.op.id, minutes_ago=30)
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        agents = screen.table("agents")
        await pilot.press("3")
        op = str(world.op.id)
        await select_row(pilot, agents, op)
        keys = agents.keys
        assert cell(agents, op, "contacts") == "1"
        version = board_service.board_version(world.db)

        # Another desk logs a call; the worker refreshes the snapshot.
        phone = make.phone_ids(make.borrower_of(world.cases[0]))[0]
        service_of(world, world.op).log_contact(
            world.cases[0], channel="phone", direction="outbound", outcome="no_answer",
            phone_id=phone,
        )  # fmt: skip
        refresh(world)
        assert board_service.board_version(world.db) > version
        await wait_for(pilot, lambda: cell(agents, op, "contacts") == "2")
        assert agents.keys == keys  # updated in place, same rows
        assert agents.selected_key == op  # the cursor did not move
        await pilot.press("1")
        assert "2 (RPC 0)" in text_of(app)


async def test_releasing_an_overdue_lease_from_its_row(world: World) -> None:
    from tui_desk.services.queue import claim_case

    case = world.cases[0]
    claim_case(Context.frozen(world.db, world.op, NOW - dt.timedelta(hours=2), CN), case)
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        await pilot.press("4")
        risks = screen.table("risks")
        key = f"lease_overdue:{case}"
        await select_row(pilot, risks, key)
        assert "lease overdue" in text_of(app)
        await pilot.press("enter")  # the natural action on an overdue lease
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "Release op's lease on case" in text_of(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: lease_holder(world, case) is None)
        with world.db.read() as s:
            from tui_desk.db.models import AuditEvent

            actions = list(s.scalars(select(AuditEvent.action)))
        assert "case.lease_release" in actions
        refresh(world)
        await wait_for(pilot, lambda: key not in risks.keys)
        assert isinstance(app.screen, SupervisorScreen)


async def test_marked_rows_are_reassigned_together(world: World) -> None:
    from tui_desk.services.queue import claim_case

    old = NOW - dt.timedelta(hours=2)
    claim_case(Context.frozen(world.db, world.op, old, CN), world.cases[0])
    claim_case(Context.frozen(world.db, world.op2, old, CN), world.cases[1])
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        await pilot.press("4")
        risks = screen.table("risks")
        await select_row(pilot, risks, f"lease_overdue:{world.cases[0]}")
        await pilot.press("space")
        await select_row(pilot, risks, f"lease_overdue:{world.cases[1]}")
        await pilot.press("space")
        assert cell(risks, f"lease_overdue:{world.cases[1]}", "kind").startswith("✓")
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReassignModal")
        assert f"#{world.cases[0]}, #{world.cases[1]}" in text_of(app)
        await pilot.press(*"lee", "enter", *"cover", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorScreen))
        with world.db.read() as s:
            owners = set(
                s.scalars(
                    select(CollectionCase.owner_id).where(CollectionCase.id.in_(world.cases[:2]))
                )
            )
        assert owners == {world.op2.id}
        assert screen.marked == set()


async def test_viewing_a_case_read_only_from_the_board(world: World) -> None:
    from tui_desk.services.queue import claim_case

    case = world.cases[1]
    claim_case(Context.frozen(world.db, world.op2, NOW - dt.timedelta(hours=2), CN), case)
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_board(pilot)
        await pilot.press("f5")
        await select_row(pilot, screen.table("risks"), f"lease_overdue:{case}")
        await pilot.press("o")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CaseViewModal")
        await wait_for(pilot, lambda: "李四" in text_of(app))
        assert f"Case #{case} (read-only)" in text_of(app)
        assert lease_holder(world, case) == world.op2.id  # viewing took nothing
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorScreen))


async def test_enter_on_an_open_complaint_opens_the_complaints(world: World) -> None:
    service_of(world, world.op).record_complaint(
        world.cases[2], description="called at night", channel="phone", against_login="op",
        hold=False,
    )  # fmt: skip
    refresh(world)
    app = world.app(world.sup)
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_board(pilot)
        await pilot.press("f5")
        risks = screen.table("risks")
        key = next(k for k in risks.keys if k.startswith("complaint_open:"))
        await select_row(pilot, risks, key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ComplaintListModal")
        await wait_for(pilot, lambda: "called at night" in text_of(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorScreen))
