"""Contact rules: may this borrower be contacted now, on this channel, and if not, when?

Pure functions of (now, history, policy). Each refusal names its rule and, where the
rule will lift by itself, the first moment it allows contact again.

CN profile: no collection contact 22:00-08:00 borrower-local; at most N connected calls
per debtor per local day; only the debtor and guarantor. US Regulation F: 08:00-21:00 in
every candidate zone; at most 7 call attempts in 7 days; no call for 7 days after a
conversation. Both: do-not-call numbers; inbound contacts are always allowed and never
count toward caps; a case on hold is never contacted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tui_desk.i18n import _

CALL = "phone"
INBOUND = "inbound"
OUTBOUND = "outbound"
# Outcomes where a person picked up; "promise", "refused", ... are right-party contacts.
CONNECTED_OUTCOMES = frozenset(
    {"third_party", "refused", "promise", "agrees_visit", "callback", "wrong_number"}
)
CONVERSATION_OUTCOMES = frozenset({"refused", "promise", "agrees_visit", "callback"})
_SEARCH_DAYS = 15


@dataclass(frozen=True)
class ContactPolicy:
    quiet_start: dt.time
    quiet_end: dt.time
    time_rule_channels: frozenset[str]
    max_connected_calls_per_day: int | None
    max_call_attempts_7d: int | None
    quiet_days_after_conversation: int | None
    allowed_parties: frozenset[str]

    @classmethod
    def from_section(cls, section: dict[str, object]) -> ContactPolicy:
        def t(value: object) -> dt.time:
            hh, mm = str(value).split(":")
            return dt.time(int(hh), int(mm))

        def opt_int(key: str) -> int | None:
            value = section.get(key)
            return None if value is None else int(str(value))

        channels = section.get("time_rule_channels", ["phone", "sms", "email", "visit"])
        parties = section.get("allowed_parties", ["borrower"])
        assert isinstance(channels, list) and isinstance(parties, list)
        return cls(
            quiet_start=t(section["quiet_start"]),
            quiet_end=t(section["quiet_end"]),
            time_rule_channels=frozenset(str(c) for c in channels),
            max_connected_calls_per_day=opt_int("max_connected_calls_per_day"),
            max_call_attempts_7d=opt_int("max_call_attempts_7d"),
            quiet_days_after_conversation=opt_int("quiet_days_after_conversation"),
            allowed_parties=frozenset(str(p) for p in parties),
        )


@dataclass(frozen=True)
class PastContact:
    at: dt.datetime
    channel: str
    direction: str
    outcome: str


@dataclass(frozen=True)
class ContactRequest:
    now: dt.datetime
    channel: str
    direction: str
    party: str
    # The borrower's address zone first, then the zones the number may ring in.
    zones: tuple[str, ...]
    do_not_call: bool = False
    on_hold: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str | None
    reason: str
    allowed_from: dt.datetime | None = None


ALLOWED = "allowed"


def _in_window(at: dt.datetime, zone: str, policy: ContactPolicy) -> bool:
    local = at.astimezone(ZoneInfo(zone)).time()
    start, end = policy.quiet_end, policy.quiet_start  # allowed between quiet end and start
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def _local_day(at: dt.datetime, zone: str) -> dt.date:
    return at.astimezone(ZoneInfo(zone)).date()


def _counted(history: Iterable[PastContact]) -> list[PastContact]:
    return [h for h in history if h.direction != INBOUND]


def _hard_refusal(req: ContactRequest, policy: ContactPolicy) -> Decision | None:
    """Rules that time alone never lifts."""
    if req.on_hold:
        return Decision(
            False, "hold", _("the case is on hold: no contact until a supervisor releases it")
        )
    if req.do_not_call and req.channel in (CALL, "sms"):
        return Decision(False, "do_not_call", _("this number is marked do-not-call"))
    if req.party not in policy.allowed_parties:
        return Decision(
            False,
            "third_party",
            _("collection contact with a {party} is not allowed; only {allowed}").format(
                party=req.party, allowed=", ".join(sorted(policy.allowed_parties))
            ),
        )
    return None


def _timed_refusal(
    at: dt.datetime, req: ContactRequest, history: Sequence[PastContact], policy: ContactPolicy
) -> tuple[str, str] | None:
    """(rule, reason) of the first rule that forbids contact at ``at``, or None."""
    if req.channel in policy.time_rule_channels:
        for zone in req.zones:
            if not _in_window(at, zone, policy):
                return (
                    "quiet_hours",
                    _("{start}-{end} is quiet time in {zone}").format(
                        start=policy.quiet_start.strftime("%H:%M"),
                        end=policy.quiet_end.strftime("%H:%M"),
                        zone=zone,
                    ),
                )
    if req.channel != CALL:
        return None
    calls = [h for h in _counted(history) if h.channel == CALL and h.at <= at]
    cap = policy.max_connected_calls_per_day
    if cap is not None and req.zones:
        day = _local_day(at, req.zones[0])
        connected = [
            h
            for h in calls
            if h.outcome in CONNECTED_OUTCOMES and _local_day(h.at, req.zones[0]) == day
        ]
        if len(connected) >= cap:
            return (
                "daily_call_cap",
                _("{n} connected calls today already (at most {cap} a day)").format(
                    n=len(connected), cap=cap
                ),
            )
    cap7 = policy.max_call_attempts_7d
    if cap7 is not None:
        recent = [h for h in calls if at - h.at < dt.timedelta(days=7)]
        if len(recent) >= cap7:
            return (
                "weekly_call_cap",
                _("{n} call attempts in the last 7 days (at most {cap})").format(
                    n=len(recent), cap=cap7
                ),
            )
    days = policy.quiet_days_after_conversation
    if days is not None:
        talks = [h for h in calls if h.outcome in CONVERSATION_OUTCOMES]
        if talks and at - max(h.at for h in talks) < dt.timedelta(days=days):
            return (
                "after_conversation",
                _("no call for {days} days after a conversation").format(days=days),
            )
    return None


def _candidates(
    req: ContactRequest, history: Sequence[PastContact], policy: ContactPolicy
) -> list[dt.datetime]:
    """Every moment at which some timed rule can start to allow contact."""
    now = req.now
    out = {now}
    for zone in req.zones:
        tz = ZoneInfo(zone)
        local_today = now.astimezone(tz).date()
        for d in range(_SEARCH_DAYS):
            day = local_today + dt.timedelta(days=d)
            for t in (policy.quiet_end, dt.time(0, 0)):
                moment = dt.datetime.combine(day, t, tzinfo=tz).astimezone(dt.UTC)
                if moment > now:
                    out.add(moment)
    for h in _counted(history):
        for days in (7, policy.quiet_days_after_conversation or 0):
            if days:
                moment = h.at + dt.timedelta(days=days)
                if moment > now:
                    out.add(moment)
    return sorted(out)


def check_contact(
    req: ContactRequest, history: Sequence[PastContact], policy: ContactPolicy
) -> Decision:
    """May the operator make this contact at ``req.now``? If not, which rule and until when."""
    if req.direction == INBOUND:
        return Decision(True, None, _("inbound contact is always allowed"))
    hard = _hard_refusal(req, policy)
    if hard is not None:
        return hard
    refusal = _timed_refusal(req.now, req, history, policy)
    if refusal is None:
        return Decision(True, None, _("contact allowed"))
    rule, reason = refusal
    for moment in _candidates(req, history, policy):
        if moment > req.now and _timed_refusal(moment, req, history, policy) is None:
            return Decision(False, rule, reason, allowed_from=moment)
    return Decision(False, rule, reason)
