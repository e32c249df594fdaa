"""Contact combinations that cannot happen: the pure rule, and the service refusing them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Channel, ContactAttempt, Direction, Outcome
from tui_desk.rules.outcomes import QUICK_OUTCOMES, impossible_contact
from tui_desk.rules.profile import load_profile
from tui_desk.services import contacts
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import RuleRefused

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(dt.UTC)

# (direction, outcome) -> possible?
TABLE = {
    ("inbound", "no_answer"): False,
    ("inbound", "busy"): False,
    ("inbound", "left_message"): False,
    ("inbound", "sent"): False,
    ("inbound", "delivered"): False,
    ("inbound", "failed"): False,
    ("inbound", "wrong_number"): True,
    ("inbound", "third_party"): True,
    ("inbound", "refused"): True,
    ("inbound", "promise"): True,
    ("inbound", "agrees_visit"): True,
    ("inbound", "callback"): True,
}


@pytest.mark.parametrize(("pair", "possible"), sorted(TABLE.items()))
def test_the_table_of_inbound_pairs(pair: tuple[str, str], possible: bool) -> None:
    direction, outcome = pair
    assert (impossible_contact(direction, outcome) is None) is possible


def test_the_table_covers_every_outcome() -> None:
    assert {outcome for _direction, outcome in TABLE} == {o.value for o in Outcome}


@given(st.sampled_from([o.value for o in Outcome]))
def test_every_outbound_outcome_is_possible(outcome: str) -> None:
    assert impossible_contact("outbound", outcome) is None


def test_the_reason_names_the_outcome_as_the_operator_sees_it() -> None:
    reason = impossible_contact("inbound", "left_message")
    assert reason is not None and "left a message" in reason
    # The quick keys the desk offers for an inbound call: all but the unanswered ones.
    allowed = [q.key for q in QUICK_OUTCOMES if impossible_contact("inbound", q.outcome) is None]
    assert allowed == ["4", "5", "6", "7", "8", "9"]


@pytest.mark.parametrize("outcome", [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.LEFT_MESSAGE])
def test_the_service_refuses_an_impossible_inbound_contact(db: Database, outcome: Outcome) -> None:
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    case = make.case()
    with db.read() as s:
        agent = s.get(Agent, op)
        assert agent is not None
        actor = Actor.of(agent)
    ctx = Context.frozen(db, actor, NOW, load_profile("cn"))
    with pytest.raises(RuleRefused, match="inbound contact was answered"):
        contacts.log_contact(
            ctx, case, channel=Channel.PHONE, direction=Direction.INBOUND, outcome=outcome
        )
    with db.read() as s:
        assert s.query(ContactAttempt).count() == 0
    # The same outcome outbound is an ordinary attempt.
    contacts.log_contact(
        ctx, case, channel=Channel.PHONE, direction=Direction.OUTBOUND, outcome=outcome
    )
