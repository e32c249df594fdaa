"""Contact strategies: an action that follows an event by itself (pure: facts in, actions out).

A strategy is declared in the policy profile (``[[strategies]]``) as a name, an event
(``when``) and the actions that follow it (``then``)::

    [[strategies]]
    name = "broken promise"
    when = { event = "promise_broken" }
    then = [{ action = "callback", at = "next_working_day" }]

Events: ``no_answer_count`` (``count`` unanswered calls within ``within_days`` days),
``promise_broken``, ``no_contact_days`` (no contact attempt for ``days`` days) and
``instalment_missed`` (an instalment of a plan under a signed agreement was missed).
Actions: ``sms`` (a ``template``), ``callback`` (``at = "next_working_day"``, at the
borrower's usual answering hour) and ``raise_priority`` (by ``amount``).

Each event has a key (the promise, the instalment, the unanswered call that completed
the count, the last contact before a silence): a strategy fires once per key, so a rerun
over the same facts plans nothing. At most ``[strategy] daily_ceiling`` automatic actions
are done per case and office day; the rest are refused by the ``daily_ceiling`` rule.
Whether an action may be done at all (quiet hours, caps, holds, do-not-call) is the
contact rules' decision, made by the service that applies it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui_desk.rules.followups import WorkingDays

NO_ANSWER_COUNT = "no_answer_count"
PROMISE_BROKEN = "promise_broken"
NO_CONTACT_DAYS = "no_contact_days"
INSTALMENT_MISSED = "instalment_missed"
EVENTS = (NO_ANSWER_COUNT, PROMISE_BROKEN, NO_CONTACT_DAYS, INSTALMENT_MISSED)

SMS = "sms"
CALLBACK = "callback"
RAISE_PRIORITY = "raise_priority"
ACTIONS = (SMS, CALLBACK, RAISE_PRIORITY)
NEXT_WORKING_DAY = "next_working_day"

DAILY_CEILING = "daily_ceiling"
MAX_NAME = 60
MAX_AMOUNT = 100_000
# How far ahead a next working day is looked for (a long holiday is at most ~9 days).
_SEARCH_DAYS = 30

_WHEN_KEYS = {
    NO_ANSWER_COUNT: {"event", "count", "within_days"},
    PROMISE_BROKEN: {"event"},
    NO_CONTACT_DAYS: {"event", "days"},
    INSTALMENT_MISSED: {"event"},
}
_THEN_KEYS = {
    SMS: {"action", "template"},
    CALLBACK: {"action", "at"},
    RAISE_PRIORITY: {"action", "amount"},
}
_STRATEGY_KEYS = {"name", "when", "then"}
_SETTINGS_KEYS = {"daily_ceiling", "callback_at", "run_from", "run_until", "lookback_days"}


@dataclass(frozen=True)
class When:
    event: str
    count: int = 0
    within_days: int = 0
    days: int = 0


@dataclass(frozen=True)
class Then:
    action: str
    template: str | None = None
    at: str | None = None
    amount: int = 0


@dataclass(frozen=True)
class Strategy:
    name: str
    when: When
    then: tuple[Then, ...]


@dataclass(frozen=True)
class StrategyPolicy:
    strategies: tuple[Strategy, ...] = ()
    daily_ceiling: int = 3
    """Automatic actions done per case and office day, at most."""
    callback_at: dt.time = dt.time(10, 0)
    """A callback's hour when the borrower has never answered (borrower-local)."""
    run_from: dt.time = dt.time(9, 0)
    run_until: dt.time = dt.time(20, 0)
    """Office hours in which the worker fires strategies; events wait outside them."""
    lookback_days: int = 3
    """A broken promise, missed instalment or silence counts as an event this many days."""

    @classmethod
    def from_profile(cls, raw: Mapping[str, Any]) -> StrategyPolicy:
        """The profile's ``[strategy]`` settings and ``[[strategies]]``; a ValueError names
        the strategy and the key that is wrong or unknown."""
        settings = raw.get("strategy", {})
        if not isinstance(settings, Mapping):
            raise ValueError("[strategy] must be a table")
        unknown = sorted(set(settings) - _SETTINGS_KEYS)
        if unknown:
            raise ValueError(
                f"[strategy]: unknown key(s) {', '.join(unknown)}; "
                f"the keys are {', '.join(sorted(_SETTINGS_KEYS))}"
            )
        entries = raw.get("strategies", [])
        if not isinstance(entries, list):
            raise ValueError("strategies must be an array of tables ([[strategies]])")
        strategies = tuple(_strategy(i, entry) for i, entry in enumerate(entries, start=1))
        names = [s.name for s in strategies]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"strategies: the name {repeated[0]!r} is used twice")
        policy = cls(
            strategies=strategies,
            daily_ceiling=_int(settings, "daily_ceiling", 3, "[strategy]", low=0),
            callback_at=_time(settings.get("callback_at", "10:00"), "[strategy] callback_at"),
            run_from=_time(settings.get("run_from", "09:00"), "[strategy] run_from"),
            run_until=_time(settings.get("run_until", "20:00"), "[strategy] run_until"),
            lookback_days=_int(settings, "lookback_days", 3, "[strategy]", low=1),
        )
        if policy.run_until <= policy.run_from:
            raise ValueError("[strategy]: run_until must be after run_from")
        return policy

    def runs_at(self, office_time: dt.time) -> bool:
        return self.run_from <= office_time < self.run_until


def _int(table: Mapping[str, Any], key: str, default: int, where: str, *, low: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {key} must be a whole number")
    if not low <= value <= MAX_AMOUNT:
        raise ValueError(f"{where}: {key} must be between {low} and {MAX_AMOUNT}")
    return value


def _time(value: object, where: str) -> dt.time:
    try:
        hh, mm = str(value).split(":")
        return dt.time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"{where} must be a time as HH:MM") from None


def _strategy(number: int, entry: object) -> Strategy:
    if not isinstance(entry, Mapping):
        raise ValueError(f"strategy {number} must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError(f"strategy {number}: name must be a text of 1 to {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError(f"strategy {number}: name has a control character")
    where = f"strategy {name!r}"
    unknown = sorted(set(entry) - _STRATEGY_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; the keys are name, when, then"
        )
    when_raw = entry.get("when")
    if not isinstance(when_raw, Mapping):
        raise ValueError(f"{where}: when must be a table with an event")
    event = when_raw.get("event")
    if event not in _WHEN_KEYS:
        raise ValueError(f"{where}: unknown event {event!r}; the events are {', '.join(EVENTS)}")
    unknown = sorted(set(when_raw) - _WHEN_KEYS[str(event)])
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} for event {event}")
    when = When(event=str(event))
    if event == NO_ANSWER_COUNT:
        when = When(
            event=str(event),
            count=_int(when_raw, "count", 2, where, low=1),
            within_days=_int(when_raw, "within_days", 1, where, low=1),
        )
    elif event == NO_CONTACT_DAYS:
        when = When(event=str(event), days=_int(when_raw, "days", 7, where, low=1))
    then_raw = entry.get("then")
    if isinstance(then_raw, Mapping):
        then_raw = [then_raw]
    if not isinstance(then_raw, list) or not then_raw:
        raise ValueError(f"{where}: then must list at least one action")
    return Strategy(name=name.strip(), when=when, then=tuple(_then(where, t) for t in then_raw))


def _then(where: str, raw: object) -> Then:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: each action must be a table")
    action = raw.get("action")
    if action not in _THEN_KEYS:
        raise ValueError(
            f"{where}: unknown action {action!r}; the actions are {', '.join(ACTIONS)}"
        )
    unknown = sorted(set(raw) - _THEN_KEYS[str(action)])
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} for action {action}")
    if action == SMS:
        template = raw.get("template")
        if not isinstance(template, str) or not template.strip() or len(template) > MAX_NAME:
            raise ValueError(f"{where}: an sms action names its template")
        return Then(action=SMS, template=template.strip())
    if action == CALLBACK:
        at = raw.get("at", NEXT_WORKING_DAY)
        if at != NEXT_WORKING_DAY:
            raise ValueError(f"{where}: a callback is at {NEXT_WORKING_DAY!r}")
        return Then(action=CALLBACK, at=NEXT_WORKING_DAY)
    return Then(action=RAISE_PRIORITY, amount=_int(raw, "amount", 100, where, low=1))


# --- the facts of one case ----------------------------------------------------------------


@dataclass(frozen=True)
class CaseEvents:
    """What the strategies look at on one case, as of ``now``."""

    opened_at: dt.datetime
    no_answers: tuple[tuple[int, dt.datetime], ...] = ()
    """Unanswered outbound calls (attempt id, time), oldest first."""
    last_contact_at: dt.datetime | None = None
    """The newest contact attempt of any kind (None: never contacted)."""
    broken_promises: tuple[tuple[int, dt.datetime], ...] = ()
    """(promise id, when it was found broken)."""
    missed_instalments: tuple[int, ...] = ()
    """Instalments of a plan under a signed agreement found missed lately."""
    fired: frozenset[tuple[str, str]] = frozenset()
    """(strategy name, event key) already fired on this case."""
    done_today: int = 0
    """Automatic actions done on this case today (office day)."""


@dataclass(frozen=True)
class Planned:
    """One action a strategy calls for; ``refused_rule`` set when the ceiling forbids it."""

    strategy: str
    event_key: str
    seq: int
    """The action's place in the strategy's ``then`` list (0 first)."""
    then: Then
    refused_rule: str | None = None


def event_keys(
    strategy: Strategy, facts: CaseEvents, now: dt.datetime, lookback_days: int
) -> list[str]:
    """The keys of the strategy's events that stand on the case now and have not fired."""
    when = strategy.when
    fired = {key for name, key in facts.fired if name == strategy.name}
    lookback = now - dt.timedelta(days=lookback_days)
    keys: list[str] = []
    if when.event == NO_ANSWER_COUNT:
        since = now - dt.timedelta(days=when.within_days)
        window = [(i, at) for i, at in facts.no_answers if since < at <= now]
        # Counting starts again after the call that fired last: every ``count`` unanswered
        # calls are one event, not each call after the count was first reached.
        last = max(
            (n for n, (i, _at) in enumerate(window) if f"no_answer:{i}" in fired), default=-1
        )
        if len(window) - (last + 1) >= when.count:
            keys.append(f"no_answer:{window[-1][0]}")
    elif when.event == PROMISE_BROKEN:
        keys += [f"promise:{i}" for i, at in facts.broken_promises if lookback <= at <= now]
    elif when.event == NO_CONTACT_DAYS:
        since = facts.last_contact_at or facts.opened_at
        reached = since + dt.timedelta(days=when.days)
        if lookback <= reached <= now:
            keys.append(f"no_contact:{since.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%S')}")
    elif when.event == INSTALMENT_MISSED:
        keys += [f"instalment:{i}" for i in facts.missed_instalments]
    return [k for k in keys if k not in fired]


def evaluate(facts: CaseEvents, now: dt.datetime, policy: StrategyPolicy) -> list[Planned]:
    """Every action the strategies call for on this case now, in the profile's order.

    Actions beyond what the daily ceiling leaves are refused by ``daily_ceiling``: they
    are recorded (the event fired) but not done.
    """
    left = max(0, policy.daily_ceiling - facts.done_today)
    out: list[Planned] = []
    for strategy in policy.strategies:
        for key in event_keys(strategy, facts, now, policy.lookback_days):
            for seq, then in enumerate(strategy.then):
                if left > 0:
                    left -= 1
                    out.append(Planned(strategy.name, key, seq, then))
                else:
                    out.append(Planned(strategy.name, key, seq, then, DAILY_CEILING))
    return out


# --- the callback's moment ----------------------------------------------------------------


def usual_hour(answered_local: Sequence[dt.datetime], default: dt.time) -> dt.time:
    """The hour the borrower answers most often (local times of answered calls; the
    earliest such hour on a tie), else ``default``."""
    if not answered_local:
        return default
    counts = Counter(at.hour for at in answered_local)
    best = max(counts.values())
    return dt.time(min(h for h, n in counts.items() if n == best), 0)


def next_working_day_at(
    now: dt.datetime, zone: dt.tzinfo, at: dt.time, calendar: WorkingDays
) -> dt.datetime:
    """``at`` on the first working day after today (in ``zone``), in UTC."""
    day = now.astimezone(zone).date()
    for _step in range(_SEARCH_DAYS):
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
            break
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)
