"""The supervisor board: queue depth, agents, the day's figures, deadlines at risk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.rules.roles import Role
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class DepthLine(SafeText):
    """Open cases in one DPD bucket or one stage."""

    key: str  # bucket label ("1-30", ...) or stage value
    open_cases: int
    unowned: int
    on_hold: int
    broken_promise: int
    overdue_minor: int
    # Buckets only: today's callbacks on the bucket's cases, and how many are done.
    callbacks_due: int = 0
    callbacks_done: int = 0


@dataclass(frozen=True)
class AgentLine(SafeText):
    """One agent: presence (live) plus today's counts (from the snapshot)."""

    agent_id: int
    login: str
    name: str
    role: Role
    online: bool
    last_seen: dt.datetime | None
    case_id: int | None
    on_case_for: dt.timedelta | None
    last_action: str | None
    last_action_at: dt.datetime | None
    cases_held: int  # leases held now
    cases_owned: int
    contacts_today: int
    promises_today: int
    visits_booked_today: int
    collected_today_minor: int
    # The agent's state now (an AgentState value; None: no state kept, or offline),
    # since when, the pause reason, a wrap-up past its time, and ready with no case
    # that take-next would give.
    state: str | None = None
    state_since: dt.datetime | None = None
    pause_reason: str | None = None
    wrap_up_over: bool = False
    nothing_to_take: bool = False


@dataclass(frozen=True)
class TodayCounts(SafeText):
    """The office's day so far (office time zone)."""

    contacts: int
    right_party_contacts: int
    promises: int
    promised_minor: int
    visits_booked: int
    visits_done: int
    agreements_signed: int
    payments: int
    collected_minor: int
    # Today's SMS by where they stand in the outbox (queued: not yet at the gateway).
    sms_queued: int = 0
    sms_sent: int = 0
    sms_delivered: int = 0
    sms_failed: int = 0


@dataclass(frozen=True)
class RiskLine(SafeText):
    """One deadline at risk. ``kind`` is one of RISK_KINDS."""

    kind: str
    case_id: int | None
    ref_id: int  # the follow-up, callback case, appointment, complaint ... id
    who: str | None  # login of the responsible agent
    due_at: dt.datetime | None
    detail: str


RISK_KINDS = (
    "follow_up_due",
    "follow_up_missed",
    "callback_stale",
    "lease_overdue",
    "visit_unconfirmed",
    "complaint_open",
    "override_request",
    "adjustment_pending",
)


@dataclass(frozen=True)
class Trend(SafeText):
    """Counts per hour of the office day so far (index 0 = 00:00-01:00 office time)."""

    name: str  # "contacts", "promises", "payments", ...
    points: tuple[int, ...]


@dataclass(frozen=True)
class Board(SafeText):
    version: int  # the snapshot's marker (max section version); 0 = never computed
    as_of: dt.datetime | None  # oldest section's computed_at; None = never computed
    buckets: tuple[DepthLine, ...]
    stages: tuple[DepthLine, ...]
    agents: tuple[AgentLine, ...]
    today: TodayCounts
    risks: tuple[RiskLine, ...]  # the most urgent first, capped
    risk_counts: dict[str, int]  # every kind in RISK_KINDS, uncapped
    trends: tuple[Trend, ...]
    orphans: int
