"""Orphaned cases surfaced on the desk (filter ``z``, warning line) and the supervisor's
contact-rule override form (``y``): services on both engines, query plans on both
engines, the screen through Pilot on SQLite."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text, update
from textual.widgets import Input

from tests.conftest import _pg_admin as pg_admin
from tests.conftest import _pg_dsn as pg_dsn
from tests.conftest import make_sqlite_db
from tests.factories import Factory
from tests.pilot import desk_screen, screen_text, settle
from tests.test_query_plans import POPULATE, VARIETY, _no_case_scan, _plan, _sql
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database, open_database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    CaseStatus,
    CollectionCase,
    ContactAttempt,
    Outcome,
    Role,
    RuleOverride,
)
from tui_desk.rules.profile import load_profile
from tui_desk.screens.desk import DeskScreen
from tui_desk.screens.override_modal import OverrideModal
from tui_desk.services import queue
from tui_desk.services.context import Actor, Context
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import PermissionDenied, RuleRefused, UnknownAgent
from tui_desk.services.queue import QueueFilter, Scope, queue_page
from tui_desk.services.queue import access as queue_access
from tui_desk.views.queue import QueueKey
from tui_desk.widgets.queue_view import QueueView

CN = load_profile("cn")
# Wednesday 2026-11-25 11:00 in Shanghai (contact allowed) and 23:00 (quiet hours).
DAYTIME = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
NIGHT = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)
WIDE = (160, 50)
NARROW = (80, 24)


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


def service(db: Database, actor: Actor, now: dt.datetime = NIGHT) -> DeskService:
    return DeskService(db=db, actor=actor, profile=CN, clock=lambda: now)


# --- the "no next action" filter (service, both engines) ---------------------------------


@dataclass(frozen=True)
class Orphans:
    db: Database
    me: Actor
    orphans: list[int]  # in queue order
    mine: list[int]


@pytest.fixture
def orphan_queue(db: Database) -> Orphans:
    make = Factory(db, now=DAYTIME)
    me = actor_of(db, make.agent(login="op"))
    other = make.agent(login="li")
    later = DAYTIME + dt.timedelta(days=2)
    # Orphans at tied and distinct priorities, owned, unowned and held; plus cases that
    # are not orphans: a next action set (due or not), closed without one.
    orphan_specs = [(900, None), (700, me.id), (700, other), (700, None), (300, me.id), (100, None)]
    ids = [make.case(priority=p, owner_id=o, next_action_at=None) for p, o in orphan_specs]
    for priority in (950, 800, 700, 200):
        make.case(priority=priority, next_action_at=later)
    make.case(priority=650, next_action_at=DAYTIME - dt.timedelta(hours=1), owner_id=me.id)
    make.case(priority=999, next_action_at=None, status=CaseStatus.CLOSED)
    held = ids[3]
    with db.write() as s:
        s.execute(update(CollectionCase).where(CollectionCase.id == held).values(on_hold=True))
    spec = dict(zip(ids, orphan_specs, strict=True))
    ordered = sorted(ids, key=lambda i: (spec[i][0], i), reverse=True)
    mine = [i for i in ordered if spec[i][1] == me.id]
    return Orphans(db, me, ordered, mine)


def page_through(db: Database, actor: Actor, flt: QueueFilter, limit: int) -> list[int]:
    """Every case of the filter, page by page downwards, then checked upwards."""
    seen: list[int] = []
    after: QueueKey | None = None
    pages = []
    while True:
        page = queue_page(Context.frozen(db, actor, DAYTIME, CN), flt, after=after, limit=limit)
        pages.append(page)
        seen += [r.case_id for r in page.rows]
        if not page.more_after:
            break
        last = page.rows[-1]
        after = (last.priority, last.case_id)
    assert not pages[0].more_before
    # Upwards from the last page gives the same rows back.
    up: list[int] = []
    before: QueueKey | None = None
    first = pages[-1].rows[0] if pages[-1].rows else None
    if first is not None:
        before = (first.priority, first.case_id)
        up = [r.case_id for r in pages[-1].rows]
        while before is not None:
            page = queue_page(
                Context.frozen(db, actor, DAYTIME, CN), flt, before=before, limit=limit
            )
            up = [r.case_id for r in page.rows] + up
            if not page.more_before:
                break
            top = page.rows[0]
            before = (top.priority, top.case_id)
        assert up == seen
    return seen


@pytest.mark.parametrize("limit", [1, 2, 50])
def test_no_next_action_filter_lists_exactly_the_orphans(orphan_queue: Orphans, limit: int) -> None:
    o = orphan_queue
    flt = QueueFilter(no_next_action=True)
    assert page_through(o.db, o.me, flt, limit) == o.orphans
    assert sorted(queue.orphans(o.db)) == sorted(o.orphans)
    assert queue.orphan_count(o.db) == len(o.orphans)
    mine = QueueFilter(no_next_action=True, scope=Scope.MINE)
    assert page_through(o.db, o.me, mine, limit) == o.mine


def test_many_orphans_are_walked_in_queue_order(
    orphan_queue: Orphans, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the threshold the queue order is walked instead of ranking: same answer.
    monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: 0)
    o = orphan_queue
    assert page_through(o.db, o.me, QueueFilter(no_next_action=True), 2) == o.orphans


def test_orphan_rows_show_held_cases_marked(orphan_queue: Orphans) -> None:
    o = orphan_queue
    page = queue_page(Context.frozen(o.db, o.me, DAYTIME, CN), QueueFilter(no_next_action=True))
    held = [r.case_id for r in page.rows if r.on_hold]
    assert len(held) == 1 and held[0] in o.orphans
    assert all(r.next_action_at is None for r in page.rows)
    # The plain queue still leaves held cases out.
    plain = queue_page(Context.frozen(o.db, o.me, DAYTIME, CN), QueueFilter())
    assert held[0] not in [r.case_id for r in plain.rows]


def test_the_filter_description_names_it() -> None:
    assert QueueFilter(no_next_action=True).describe() == "all open cases | no next action"
    assert "no next action" not in QueueFilter().describe()


# --- overrides (service, both engines) --------------------------------------------------


@dataclass(frozen=True)
class Team:
    db: Database
    op: Actor
    sup: Actor
    case: int
    phone: int


@pytest.fixture
def team(db: Database) -> Team:
    make = Factory(db, now=DAYTIME)
    op = actor_of(db, make.agent(login="op", name="王小明"))
    sup = actor_of(db, make.agent(login="sup", name="周主管", role=Role.SUPERVISOR))
    borrower = make.borrower(phones=["+8613812348000"])
    case = make.case(borrower_id=borrower, owner_id=op.id, next_action_at=DAYTIME)
    [phone] = make.phone_ids(borrower)
    return Team(db, op, sup, case, phone)


def call(desk: DeskService, team: Team) -> bool:
    logged = desk.log_contact(
        team.case,
        channel="phone",
        direction="outbound",
        outcome=Outcome.NO_ANSWER.value,
        phone_id=team.phone,
    )
    return logged.override_used


def test_supervisor_override_lets_the_refused_attempt_through(team: Team) -> None:
    op, sup = service(team.db, team.op), service(team.db, team.sup)
    with pytest.raises(RuleRefused, match="quiet hours") as refused:
        call(op, team)
    assert "ask a supervisor for a one-time override" in str(refused.value)
    assert refused.value.rule == "quiet_hours"
    assert sup.override_grantee(team.case) == "op"
    sup.grant_override(
        team.case, rule="quiet_hours", granted_to=" op ", reason="borrower asked", minutes=30
    )
    assert call(op, team)
    with team.db.read() as s:
        [grant] = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "contact.override.grant")
        ).all()
        assert grant.agent_id == team.sup.id


def test_rules_an_override_cannot_waive_do_not_mention_one(team: Team) -> None:
    make = Factory(team.db, now=DAYTIME)
    make.hold(team.case, set_by_id=team.op.id)
    with team.db.write() as s:
        s.execute(update(CollectionCase).where(CollectionCase.id == team.case).values(on_hold=True))
    with pytest.raises(RuleRefused) as refused:
        call(service(team.db, team.op, DAYTIME), team)
    assert "override" not in str(refused.value)


def test_override_refusals_save_nothing(team: Team) -> None:
    op, sup = service(team.db, team.op), service(team.db, team.sup)
    with pytest.raises(PermissionDenied, match="may not override a contact rule"):
        op.require_override()
    with pytest.raises(PermissionDenied):
        op.grant_override(team.case, rule="quiet_hours", granted_to="sup", reason="x", minutes=5)
    with pytest.raises(UnknownAgent, match="nobody"):
        sup.grant_override(
            team.case, rule="quiet_hours", granted_to="nobody", reason="x", minutes=5
        )
    with pytest.raises(PermissionDenied, match="themselves"):
        sup.grant_override(team.case, rule="quiet_hours", granted_to="sup", reason="x", minutes=5)
    with team.db.read() as s:
        assert s.scalars(select(RuleOverride)).all() == []


def test_the_proposed_agent_is_the_lease_holder_then_the_owner(team: Team) -> None:
    make = Factory(team.db, now=DAYTIME)
    li = make.agent(login="li")
    sup = service(team.db, team.sup)
    with team.db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == team.case)
            .values(lease_holder_id=li, lease_expires_at=NIGHT + dt.timedelta(minutes=5))
        )
    assert sup.override_grantee(team.case) == "li"
    assert (
        service(team.db, team.sup, NIGHT + dt.timedelta(minutes=10)).override_grantee(team.case)
        == "op"
    )  # the lease ran out
    with team.db.write() as s:
        s.execute(
            update(CollectionCase)
            .where(CollectionCase.id == team.case)
            .values(owner_id=team.sup.id)
        )
    # Never the supervisor themselves.
    assert (
        service(team.db, team.sup, NIGHT + dt.timedelta(minutes=10)).override_grantee(team.case)
        is None
    )


# --- query plans (both engines) ----------------------------------------------------------

# Open cases only (every tenth case is closed in POPULATE): 60 orphans out of 2,700.
ORPHANED = "UPDATE collection_case SET next_action_at = NULL WHERE id % 50 = 7"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def orphaned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """The plan tests' populated table, with a few open cases that lost their next action."""
    name: str | None = None
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        db = make_sqlite_db(template, tmp_path_factory.mktemp("orphan-plans"))
    else:
        pg_template = request.getfixturevalue("pg_template")
        name = f"tdt_{uuid.uuid4().hex[:12]}"
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
        db = open_database(pg_dsn(name))
    with db.engine.begin() as conn:
        for stmt in [*POPULATE, *VARIETY, ORPHANED]:
            conn.execute(text(stmt))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    yield db
    db.dispose()
    if name is not None:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


PLAN_ACTOR = Actor(id=3, login="a3", name="A3", role=Role.OPERATOR)


def _orphan_page_sql(
    db: Database, flt: QueueFilter, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, object]:
    monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: threshold)
    ctx = queue._Context(actor=PLAN_ACTOR, now=DAYTIME, profile=CN, limit=60)
    with db.read() as s:
        access = queue._access(s, flt, ctx)
    assert isinstance(access, queue._Walk | queue._Ranked), access
    stmt = queue.page_statement(access, after=(500, 10), before=None, limit=61)
    return _sql(db, stmt), access


@pytest.mark.parametrize(
    "flt",
    [QueueFilter(no_next_action=True), QueueFilter(no_next_action=True, scope=Scope.UNOWNED)],
    ids=["orphans", "unowned orphans"],
)
def test_few_orphans_are_read_through_the_next_action_index(
    orphaned: Database, flt: QueueFilter, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql, access = _orphan_page_sql(orphaned, flt, 10**6, monkeypatch)
    assert isinstance(access, queue._Ranked) and access.index == "ix_case_next_action"
    plan = _plan(orphaned, sql, allow_sort=True)  # a few candidates, then ranked
    assert "ix_case_next_action" in plan, plan
    _no_case_scan(plan)


def test_many_orphans_walk_the_queue_index(
    orphaned: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql, access = _orphan_page_sql(orphaned, QueueFilter(no_next_action=True), 0, monkeypatch)
    assert isinstance(access, queue._Walk) and access.index == "ix_case_queue"
    plan = _plan(orphaned, sql)
    assert "ix_case_queue" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan


def test_orphan_count_and_probe_use_the_next_action_index(orphaned: Database) -> None:
    count = select(func.count()).select_from(CollectionCase).where(*queue._orphan_terms())
    plan = _plan(orphaned, _sql(orphaned, count))
    assert "ix_case_next_action" in plan, plan
    _no_case_scan(plan)
    probe = _plan(orphaned, _sql(orphaned, queue._orphan_keys().limit(100)))
    assert "ix_case_next_action" in probe, probe
    _no_case_scan(probe)
    assert queue.orphan_count(orphaned) == len(queue.orphans(orphaned, limit=1000)) == 60


# --- the desk (Pilot, SQLite) ------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    db: Database
    op: Actor
    sup: Actor
    cases: dict[str, int]
    phones: dict[str, int]

    def app(self, actor: Actor, now: dt.datetime = DAYTIME) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: now,
        )


pytestmark = pytest.mark.usefixtures("quick_debounce")


@pytest.fixture
def desk(sqlite_db: Database) -> Desk:
    make = Factory(sqlite_db, now=DAYTIME)
    op = actor_of(sqlite_db, make.agent(login="op", name="王小明"))
    sup = actor_of(sqlite_db, make.agent(login="sup", name="周主管", role=Role.SUPERVISOR))
    later = DAYTIME + dt.timedelta(days=1)
    top_borrower = make.borrower(name="欧阳娜娜", phones=["+8613812348000"])
    cases = {
        "top": make.case(
            borrower_id=top_borrower, priority=900, owner_id=op.id, next_action_at=later
        ),
        "orphan_a": make.case(name="张三", priority=800, next_action_at=None),
        "busy": make.case(name="李小龙", priority=700, next_action_at=later),
        "orphan_b": make.case(name="王五", priority=600, owner_id=op.id, next_action_at=None),
        "quiet": make.case(name="赵六", priority=500, next_action_at=later),
    }
    return Desk(sqlite_db, op, sup, cases, {"top": make.phone_ids(top_borrower)[0]})


@dataclass(frozen=True)
class Granted:
    rule: str
    granted_to_id: int
    granted_by_id: int
    reason: str
    expires_at: dt.datetime


def overrides(db: Database) -> list[Granted]:
    o = RuleOverride
    with db.read() as s:
        rows = s.execute(
            select(o.rule, o.granted_to_id, o.granted_by_id, o.reason, o.expires_at)
        ).all()
        return [Granted(*row) for row in rows]


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_the_desk_warns_of_orphans_and_z_lists_them(
    desk: Desk, size: tuple[int, int]
) -> None:
    app = desk.app(desk.op)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "2 open cases have no next action - press z to list them" in text
        view = app.query_one(QueueView)
        assert len(view.rows_held) == 5
        await pilot.press("z")
        await settle(pilot)
        assert [r.case_id for r in view.rows_held] == [
            desk.cases["orphan_a"],
            desk.cases["orphan_b"],
        ]
        assert "no next action" in view.status_text()
        assert "listed below" in screen_text(app)
        await pilot.press("z")
        await settle(pilot)
        assert len(view.rows_held) == 5
        await pilot.press("z", "f")  # clear filters turns it off too
        await settle(pilot)
        assert len(view.rows_held) == 5 and "no next action" not in view.status_text()


async def test_the_warning_goes_when_no_case_is_orphaned(desk: Desk) -> None:
    with desk.db.write() as s:
        s.execute(update(CollectionCase).values(next_action_at=DAYTIME))
    app = desk.app(desk.op)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert not desk_screen(app).query_one("#orphan-warning").display
        assert "no next action" not in screen_text(app)
        # A refresh reads the count again.
        with desk.db.write() as s:
            s.execute(
                update(CollectionCase)
                .where(CollectionCase.id == desk.cases["busy"])
                .values(next_action_at=None)
            )
        await pilot.press("r")
        await settle(pilot)
        assert "1 open case has no next action - press z to list it" in screen_text(app)


async def test_an_operator_pressing_y_is_refused(desk: Desk) -> None:
    app = desk.app(desk.op, NIGHT)
    notes: list[str] = []
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, OverrideModal)
        assert notes == ["operator op may not override a contact rule"]
    assert overrides(desk.db) == []


async def test_supervisor_grants_an_override_and_the_refused_call_goes_through(
    desk: Desk,
) -> None:
    op = service(desk.db, desk.op)
    attempt = {
        "channel": "phone",
        "direction": "outbound",
        "outcome": Outcome.NO_ANSWER.value,
        "phone_id": desk.phones["top"],
    }
    with pytest.raises(RuleRefused, match="ask a supervisor"):
        op.log_contact(desk.cases["top"], **attempt)  # type: ignore[arg-type]
    app = desk.app(desk.sup, NIGHT)
    notes: list[str] = []
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("y")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, OverrideModal)
        text = screen_text(app)
        # The rule refusing contact now is proposed, and the case's owner as the agent.
        assert "1  Quiet hours" in text
        assert modal.query_one("#override-agent", Input).value == "op"
        assert modal.query_one("#override-minutes", Input).value == "30"
        await pilot.press("2", "1")  # numbers pick the rule
        await pilot.press("enter", "enter", "enter", *"borrower asked for 23:00", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, OverrideModal)
        assert any("waived once for op" in n for n in notes), notes
    [granted] = overrides(desk.db)
    assert granted.rule == "quiet_hours" and granted.granted_to_id == desk.op.id
    assert granted.granted_by_id == desk.sup.id and granted.reason == "borrower asked for 23:00"
    assert granted.expires_at.replace(tzinfo=dt.UTC) == NIGHT + dt.timedelta(minutes=30)
    logged = op.log_contact(desk.cases["top"], **attempt)  # type: ignore[arg-type]
    assert logged.override_used
    with desk.db.read() as s:
        contact = s.get(ContactAttempt, logged.contact_id)
        assert contact is not None and contact.override_by_id == desk.sup.id


async def test_bad_override_input_is_refused_inline_and_kept(desk: Desk) -> None:
    app = desk.app(desk.sup, NIGHT)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, OverrideModal)
        agent = modal.query_one("#override-agent", Input)
        minutes = modal.query_one("#override-minutes", Input)
        reason = modal.query_one("#override-reason", Input)

        # Empty reason.
        await pilot.press("enter", "enter", "enter", "enter")
        await settle(pilot)
        assert app.screen is modal and isinstance(modal, OverrideModal)
        assert "an override needs a reason" in screen_text(app)
        assert modal.focused is reason

        # Minutes that are not a number: the message, the focus there, the rest kept.
        minutes.value = "abc"
        reason.value = "borrower asked"
        modal.save()
        await settle(pilot)
        assert "minutes: a whole number from 1 to 240" in screen_text(app)
        assert modal.focused is minutes
        assert (agent.value, minutes.value, reason.value) == ("op", "abc", "borrower asked")

        # A login nobody has: refused by the service, shown under the fields.
        minutes.value = "15"
        agent.value = "nobody"
        modal.save()
        await settle(pilot)
        assert app.screen is modal and isinstance(modal, OverrideModal)
        assert "Not saved: no agent with login nobody" in screen_text(app)
        assert (agent.value, minutes.value, reason.value) == ("nobody", "15", "borrower asked")

        # No login at all.
        agent.value = ""
        modal.save()
        await settle(pilot)
        assert "type the login of the agent it is for" in screen_text(app)
        assert modal.focused is agent

        await pilot.press("escape")  # something typed: asked first
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DeskScreen)
    assert overrides(desk.db) == []
