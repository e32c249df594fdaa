"""My day (services/my_day.py) on both engines, against a scripted day."""

from __future__ import annotations

import datetime as dt

from tests.factories import Factory
from tests.my_day_world import NOW, at, build_my_day
from tui_desk.db.engine import Database
from tui_desk.db.models import Role
from tui_desk.rules.profile import load_profile
from tui_desk.services import day_counts
from tui_desk.services.context import Actor, Context
from tui_desk.services.my_day import my_day

PROFILE = load_profile("cn")


def _ctx(db: Database, agent_id: int, login: str = "op") -> Context:
    return Context.frozen(db, Actor(agent_id, login, login, Role.OPERATOR), NOW, PROFILE)


def test_the_scripted_day(db: Database) -> None:
    w = build_my_day(db)
    day = my_day(_ctx(db, w.op))
    assert day.day == dt.date(2026, 3, 10)
    assert [(c.case_id, c.due_at, c.status) for c in day.callbacks] == [
        (w.done, at(9, 30), "done"),
        (w.missed, at(11), "missed"),
        (w.due, at(13, 50), "due"),
        (w.later, at(16), "later"),
    ]
    assert day.callbacks[0].borrower == "陈一"
    assert [(p.case_id, p.amount_minor) for p in day.promises_due] == [(w.promise_case, 50_000)]
    assert [(p.case_id, p.status) for p in day.promises_broken] == [(w.broken_case, "broken")]
    assert [(v.case_id, v.starts_at) for v in day.visits] == [(w.visit_case, at(15))]
    assert [f.case_id for f in day.follow_ups] == [w.follow_up_case]
    figures = day.figures
    assert (figures.attempts, figures.right_party_contacts, figures.promises) == (3, 2, 1)
    assert figures.collected_minor == 12_300
    # ready 09:00-09:30 and 10:00-14:00 (open); working 09:30-09:40; wrap-up 1 min; break 19.
    assert figures.ready_seconds == 30 * 60 + 4 * 3600
    assert figures.working_seconds == 600
    assert figures.wrap_up_seconds == 60
    assert figures.paused_seconds == 19 * 60
    assert day.state == "ready" and day.state_since == at(10)
    assert [(r.case_id, r.status) for r in day.requests] == [
        (w.due, "pending"),
        (w.missed, "rejected"),
    ]
    assert day.requests[1].decision_note == "not today"


def test_figures_from_the_running_totals_match_the_rows(db: Database) -> None:
    w = build_my_day(db)
    from_rows = my_day(_ctx(db, w.op)).figures
    start = day_counts.slot_of(at(0))
    day_counts.count_slots(db, start, day_counts.slot_of(at(24)), NOW)
    assert my_day(_ctx(db, w.op)).figures == from_rows


def test_another_agent_sees_nothing_of_it(db: Database) -> None:
    build_my_day(db)
    stranger = Factory(db, now=NOW).agent(login="stranger")
    day = my_day(_ctx(db, stranger, "stranger"))
    assert day.callbacks == () and day.promises_due == () and day.requests == ()
    assert day.state is None
    assert day.figures.attempts == 0 and day.figures.ready_seconds == 0
