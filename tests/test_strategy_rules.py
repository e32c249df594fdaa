"""Contact strategies as pure rules: the profile format, events, the daily ceiling, and the
callback's moment."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules import strategies as rules
from tui_desk.rules.profile import ProfileError, load_profile, parse_profile
from tui_desk.rules.strategies import CaseEvents, StrategyPolicy

NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)  # Monday 14:00 in Shanghai
OPENED = NOW - dt.timedelta(days=60)


def policy_of(raw: dict[str, Any]) -> StrategyPolicy:
    return StrategyPolicy.from_profile(raw)


def one(when: dict[str, Any], *then: dict[str, Any], name: str = "s") -> dict[str, Any]:
    return {"name": name, "when": when, "then": list(then) or [{"action": "raise_priority"}]}


# --- the profile format -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cn", "us-regf"])
def test_each_shipped_profile_carries_a_strategy_for_every_event(name: str) -> None:
    policy = load_profile(name).strategies
    assert {s.when.event for s in policy.strategies} == set(rules.EVENTS)
    assert {t.action for s in policy.strategies for t in s.then} == set(rules.ACTIONS)
    assert policy.daily_ceiling >= 1


def test_the_us_profile_is_gentler_than_the_cn_one() -> None:
    cn, us = load_profile("cn").strategies, load_profile("us-regf").strategies
    assert us.daily_ceiling < cn.daily_ceiling
    templates = {t.template for s in us.strategies for t in s.then if t.template}
    assert all(t.endswith(".en") for t in templates)


def test_a_strategy_is_read_from_its_table() -> None:
    policy = policy_of(
        {
            "strategy": {"daily_ceiling": 2, "callback_at": "11:30"},
            "strategies": [
                one(
                    {"event": "no_answer_count", "count": 3, "within_days": 2},
                    {"action": "sms", "template": "callback.zh_CN"},
                    {"action": "callback", "at": "next_working_day"},
                )
            ],
        }
    )
    [strategy] = policy.strategies
    assert strategy.when == rules.When("no_answer_count", count=3, within_days=2)
    assert [t.action for t in strategy.then] == ["sms", "callback"]
    assert policy.daily_ceiling == 2 and policy.callback_at == dt.time(11, 30)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"strategy": {"ceiling": 2}}, "ceiling"),
        ({"strategies": [{**one({"event": "promise_broken"}), "colour": "red"}]}, "colour"),
        ({"strategies": [one({"event": "promise_broken", "days": 3})]}, "days"),
        ({"strategies": [one({"event": "promise_kept"})]}, "promise_kept"),
        ({"strategies": [one({"event": "promise_broken"}, {"action": "email"})]}, "email"),
        (
            {"strategies": [one({"event": "promise_broken"}, {"action": "sms", "at": "x"})]},
            "at",
        ),
        ({"strategies": [one({"event": "no_contact_days", "days": 0})]}, "days"),
        ({"strategies": [one({"event": "promise_broken"}), one({"event": "promise_broken"})]},
         "used twice"),
        ({"strategy": {"run_from": "20:00", "run_until": "09:00"}}, "run_until"),
    ],
)  # fmt: skip
def test_a_wrong_or_unknown_key_is_refused_by_name(raw: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        policy_of(raw)


def test_the_profile_loader_refuses_a_bad_strategy() -> None:
    raw = dict(load_profile("cn").raw)
    raw["strategies"] = [one({"event": "promise_broken"}, {"action": "fax"})]
    with pytest.raises(ProfileError, match="fax"):
        parse_profile(raw)


# --- events ----------------------------------------------------------------------------

BROKEN = policy_of({"strategies": [one({"event": "promise_broken"}, name="broken")]})


def test_a_broken_promise_fires_once() -> None:
    facts = CaseEvents(opened_at=OPENED, broken_promises=((7, NOW - dt.timedelta(hours=2)),))
    [planned] = rules.evaluate(facts, NOW, BROKEN)
    assert (planned.strategy, planned.event_key) == ("broken", "promise:7")
    fired = replace(facts, fired=frozenset({("broken", "promise:7")}))
    assert rules.evaluate(fired, NOW, BROKEN) == []


def test_an_old_broken_promise_is_no_event() -> None:
    facts = CaseEvents(opened_at=OPENED, broken_promises=((7, NOW - dt.timedelta(days=4)),))
    assert rules.evaluate(facts, NOW, BROKEN) == []


def test_no_contact_fires_when_the_silence_reaches_its_length() -> None:
    silent = policy_of({"strategies": [one({"event": "no_contact_days", "days": 7}, name="q")]})
    last = NOW - dt.timedelta(days=7, hours=1)
    [planned] = rules.evaluate(CaseEvents(opened_at=OPENED, last_contact_at=last), NOW, silent)
    assert planned.event_key.startswith("no_contact:")
    recent = CaseEvents(opened_at=OPENED, last_contact_at=NOW - dt.timedelta(days=6))
    assert rules.evaluate(recent, NOW, silent) == []
    # A case never contacted is silent since it opened.
    fresh = CaseEvents(opened_at=NOW - dt.timedelta(days=8))
    assert len(rules.evaluate(fresh, NOW, silent)) == 1


def test_every_count_of_no_answers_is_one_event() -> None:
    policy = policy_of(
        {"strategies": [one({"event": "no_answer_count", "count": 2, "within_days": 1}, name="n")]}
    )
    calls = tuple((i, NOW - dt.timedelta(hours=5 - i)) for i in range(1, 5))
    fired: frozenset[tuple[str, str]] = frozenset()
    keys = []
    for n in range(1, 5):
        planned = rules.evaluate(CaseEvents(OPENED, no_answers=calls[:n], fired=fired), NOW, policy)
        keys += [p.event_key for p in planned]
        fired |= {("n", p.event_key) for p in planned}
    assert keys == ["no_answer:2", "no_answer:4"]


_moments = st.integers(min_value=0, max_value=6 * 24 * 60).map(
    lambda m: NOW - dt.timedelta(minutes=m)
)
_facts = st.builds(
    CaseEvents,
    opened_at=st.just(OPENED),
    no_answers=st.lists(_moments, max_size=6).map(lambda ts: tuple(enumerate(sorted(ts), start=1))),
    last_contact_at=st.none() | _moments,
    broken_promises=st.lists(_moments, max_size=3).map(lambda ts: tuple(enumerate(ts, start=1))),
    missed_instalments=st.lists(st.integers(1, 50), max_size=3, unique=True).map(tuple),
    done_today=st.integers(0, 6),
)
_policies = st.builds(
    lambda ceiling, count, days, then: policy_of(
        {
            "strategy": {"daily_ceiling": ceiling},
            "strategies": [
                one(
                    {"event": "no_answer_count", "count": count, "within_days": 1}, *then, name="a"
                ),
                one({"event": "promise_broken"}, *then, name="b"),
                one({"event": "no_contact_days", "days": days}, *then, name="c"),
                one({"event": "instalment_missed"}, *then, name="d"),
            ],
        }
    ),
    st.integers(0, 5),
    st.integers(1, 4),
    st.integers(1, 5),
    st.lists(
        st.sampled_from(
            [
                {"action": "sms", "template": "t"},
                {"action": "callback"},
                {"action": "raise_priority", "amount": 5},
            ]
        ),
        min_size=1,
        max_size=3,
    ),
)


@given(_facts, _policies)
def test_the_daily_ceiling_is_never_exceeded(facts: CaseEvents, policy: StrategyPolicy) -> None:
    planned = rules.evaluate(facts, NOW, policy)
    allowed = [p for p in planned if p.refused_rule is None]
    assert len(allowed) <= max(0, policy.daily_ceiling - facts.done_today)
    refused = [p for p in planned if p.refused_rule is not None]
    assert all(p.refused_rule == rules.DAILY_CEILING for p in refused)
    # The ceiling refuses only what comes after what it let through.
    assert planned == allowed + refused


@given(_facts, _policies)
def test_an_event_fires_a_strategy_once(facts: CaseEvents, policy: StrategyPolicy) -> None:
    planned = rules.evaluate(facts, NOW, policy)
    keys = [(p.strategy, p.event_key, p.seq) for p in planned]
    assert len(keys) == len(set(keys))
    fired = facts.fired | {(p.strategy, p.event_key) for p in planned}
    assert rules.evaluate(replace(facts, fired=fired), NOW, policy) == []


@given(_facts, _policies)
def test_each_event_calls_for_all_its_actions(facts: CaseEvents, policy: StrategyPolicy) -> None:
    planned = rules.evaluate(facts, NOW, policy)
    by_event: dict[tuple[str, str], list[int]] = {}
    for p in planned:
        by_event.setdefault((p.strategy, p.event_key), []).append(p.seq)
    lengths = {s.name: len(s.then) for s in policy.strategies}
    assert all(seqs == list(range(lengths[name])) for (name, _k), seqs in by_event.items())


# --- the callback's moment ------------------------------------------------------------------

SH = ZoneInfo("Asia/Shanghai")


def test_the_usual_hour_is_the_most_frequent_answered_hour() -> None:
    answered = [dt.datetime(2026, 3, d, h, 20, tzinfo=SH) for d, h in [(1, 19), (2, 19), (3, 9)]]
    assert rules.usual_hour(answered, dt.time(10)) == dt.time(19)
    assert rules.usual_hour([], dt.time(10, 30)) == dt.time(10, 30)
    tie = [dt.datetime(2026, 3, 1, h, tzinfo=SH) for h in (15, 11)]
    assert rules.usual_hour(tie, dt.time(10)) == dt.time(11)


class Weekdays:
    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() <= 5


@given(st.integers(0, 60 * 24 * 14), st.integers(0, 23))
def test_a_callback_goes_to_the_next_working_day(minutes: int, hour: int) -> None:
    now = NOW + dt.timedelta(minutes=minutes)
    at = rules.next_working_day_at(now, SH, dt.time(hour), Weekdays())
    local = at.astimezone(SH)
    assert at > now
    assert local.isoweekday() <= 5 and local.hour == hour
    assert local.date() > now.astimezone(SH).date()
    days = (local.date() - now.astimezone(SH).date()).days
    assert days <= 3  # Friday -> Monday at most


def test_the_cn_calendar_skips_a_holiday() -> None:
    from tui_desk.rules.visits import work_calendar

    eve = dt.datetime(2026, 9, 30, 14, tzinfo=SH)  # the National Day week follows
    at = rules.next_working_day_at(eve, SH, dt.time(10), work_calendar("CN")).astimezone(SH)
    assert at.date() > dt.date(2026, 10, 7)
