"""Visit-booking rules (PROCESS.md step 3): may this visit be booked, and which slots are free?

Pure functions of (now, the case, the collector, the visits already booked, policy). Each
refusal names its rule and the facts behind it, in one short line for the terminal.

- Eligibility: the borrower is registered for the home-visit service, every document is
  verified, the case is not on hold.
- Lead time: a visit booked on day B is on B + lead_days or later (office-local dates).
- Spacing: two active visits of one case are at least spacing_days apart (office-local
  dates, |D1 - D2| >= spacing_days).
- Notice: a reschedule or cancellation is made at least notice_hours before the original
  start (``check_notice``; it judges the change, not the new slot).
- Calendar: the collector-local day is a working day (public holidays and adjusted working
  weekend days from the ``holidays`` package), one of the collector's weekdays and not one
  of their days off; the visit lies wholly inside the collector's hours.
- Collector: the case's district is in the collector's territory; the visit overlaps none
  of the collector's active visits and leaves travel_buffer_minutes to and from any of them
  in another district (visits in the same district may touch).

Lead time, spacing and notice hold "in principle": a supervisor may waive them
(``OVERRIDABLE_RULES``). The others are never waived. All datetimes are tz-aware.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tui_desk.i18n import N_, _, current_language
from tui_desk.rules.holiday_tables import YearTable, year_table

ACTIVE_STATUSES = frozenset({"booked", "confirmed", "done"})

_DEFAULTS: Mapping[str, object] = {
    "slot_step_minutes": 30,
    "suggestions": 9,
    "horizon_days": 30,
    "unreconciled_alert_days": 3,
    "work_start": "09:00",
    "work_end": "18:00",
}
_WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_ZERO = dt.timedelta(0)


def _parse_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    hh, mm = str(value).split(":")[:2]
    return dt.time(int(hh), int(mm))


@dataclass(frozen=True)
class VisitPolicy:
    lead_days: int
    spacing_days: int
    notice_hours: int
    travel_buffer_minutes: int
    duration_minutes: int
    slot_step_minutes: int
    suggestions: int
    horizon_days: int
    unreconciled_alert_days: int
    # Default collector hours; a collector can have their own (CollectorSchedule).
    work_start: dt.time
    work_end: dt.time

    def __post_init__(self) -> None:
        if self.duration_minutes <= 0 or self.slot_step_minutes <= 0:
            raise ValueError("visits: duration_minutes and slot_step_minutes must be positive")
        if self.work_start >= self.work_end:
            raise ValueError("visits: work_start must be before work_end")

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> VisitPolicy:
        """Build from ``profile.section("visits")``; newer keys fall back to defaults."""

        def get(key: str) -> object:
            return section[key] if key in section else _DEFAULTS[key]

        def num(key: str) -> int:
            return int(str(get(key)))

        return cls(
            lead_days=num("lead_days"),
            spacing_days=num("spacing_days"),
            notice_hours=num("notice_hours"),
            travel_buffer_minutes=num("travel_buffer_minutes"),
            duration_minutes=num("duration_minutes"),
            slot_step_minutes=num("slot_step_minutes"),
            suggestions=num("suggestions"),
            horizon_days=num("horizon_days"),
            unreconciled_alert_days=num("unreconciled_alert_days"),
            work_start=_parse_time(get("work_start")),
            work_end=_parse_time(get("work_end")),
        )

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes)

    @property
    def travel_buffer(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.travel_buffer_minutes)


class BookingRule(enum.StrEnum):
    """Every rule a booking can break, in the order refusals are reported."""

    NOT_REGISTERED = "not_registered"
    DOCUMENTS = "documents_incomplete"
    ON_HOLD = "on_hold"
    IN_PAST = "in_past"
    LEAD_TIME = "lead_time"
    SPACING = "spacing"
    NOTICE = "notice"
    WORKING_DAY = "working_day"
    WORKING_HOURS = "working_hours"
    TERRITORY = "territory"
    OVERLAP = "collector_overlap"
    TRAVEL = "travel_buffer"


# "In principle" rules a supervisor may waive, with a reason; all others never.
OVERRIDABLE_RULES: frozenset[BookingRule] = frozenset(
    {BookingRule.LEAD_TIME, BookingRule.SPACING, BookingRule.NOTICE}
)


@dataclass(frozen=True)
class Refusal:
    rule: BookingRule
    message: str

    @property
    def overridable(self) -> bool:
        return self.rule in OVERRIDABLE_RULES


class WorkCalendar:
    """Public holidays and adjusted working days of one country.

    For CN this includes the adjusted working weekend days (调休). The shipped profiles'
    countries are read from tables built from the `holidays` package
    (``rules.holiday_tables``); other countries and years load the package on first use.
    """

    def __init__(self, country: str) -> None:
        self.country = country
        self._years: dict[int, YearTable] = {}

    def _year(self, year: int) -> YearTable:
        table = self._years.get(year)
        if table is None:
            table = year_table(self.country, year)
            self._years[year] = table
        return table

    def is_working_day(self, day: dt.date) -> bool:
        return self._year(day.year).is_working_day(day)

    def holiday_name(self, day: dt.date) -> str | None:
        """The holiday's name in the desk's language where the calendar has it."""
        wanted = "zh_CN" if current_language() == "zh_CN" else "en_US"
        return self._year(day.year).name(day, wanted)


@functools.lru_cache(maxsize=16)
def work_calendar(country: str) -> WorkCalendar:
    return WorkCalendar(country)


@dataclass(frozen=True)
class CollectorSchedule:
    collector_id: int
    name: str
    timezone: str
    districts: frozenset[str]
    work_start: dt.time
    work_end: dt.time
    work_weekdays: frozenset[int]  # ISO weekdays 1..7 normally worked
    days_off: frozenset[dt.date]

    def works_on(self, day: dt.date, calendar: WorkCalendar) -> bool:
        """Never on public holidays or days off; adjusted working weekend days (调休) by
        everyone; otherwise on the collector's own weekdays."""
        return _day_problem(self, day, calendar) is None


@dataclass(frozen=True)
class BookedVisit:
    appointment_id: int
    case_id: int
    collector_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    district: str
    status: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class CaseFacts:
    case_id: int
    district: str
    registered: bool
    documents_complete: bool
    on_hold: bool


@dataclass(frozen=True)
class Slot:
    collector_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime


# --- helpers ----------------------------------------------------------------------------


def _hm(at: dt.datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%H:%M")


def _weekday(day: dt.date) -> str:
    return _(_WEEKDAYS[day.weekday()])


def _span(delta: dt.timedelta) -> str:
    minutes = int(abs(delta).total_seconds()) // 60
    return _("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)


def _day_problem(collector: CollectorSchedule, day: dt.date, calendar: WorkCalendar) -> str | None:
    """Why the collector does not work on ``day`` (collector-local date), or None.

    Public holidays (and the days off in lieu the calendar lists) are never worked.
    Adjusted working weekend days (调休) are worked by everyone. Otherwise the
    collector's own weekday pattern decides, so a team that works Saturdays can.
    """
    name = calendar.holiday_name(day)
    if name is not None:
        return _("working day: {date} is a public holiday ({name})").format(
            date=day.isoformat(), name=name
        )
    if day in collector.days_off:
        return _("working day: {date} is {name}'s day off").format(
            date=day.isoformat(), name=collector.name
        )
    weekend = day.isoweekday() >= 6
    if weekend and calendar.is_working_day(day):
        return None  # an adjusted working day
    if day.isoweekday() in collector.work_weekdays:
        return None
    if weekend:
        return _("working day: {date} is a weekend day ({weekday})").format(
            date=day.isoformat(), weekday=_weekday(day)
        )
    return _("working day: {name} does not work on {weekday} ({date})").format(
        name=collector.name, weekday=_weekday(day), date=day.isoformat()
    )


def _eligibility(case: CaseFacts) -> list[Refusal]:
    out: list[Refusal] = []
    if not case.registered:
        out.append(
            Refusal(
                BookingRule.NOT_REGISTERED,
                _("not registered: the borrower has not agreed to the home-visit service"),
            )
        )
    if not case.documents_complete:
        out.append(
            Refusal(
                BookingRule.DOCUMENTS,
                _("documents incomplete: every document must be verified before a visit"),
            )
        )
    if case.on_hold:
        out.append(
            Refusal(
                BookingRule.ON_HOLD,
                _("on hold: no visit until a supervisor releases the case"),
            )
        )
    return out


def _others(
    visits: Sequence[BookedVisit],
    replacing: int | None,
    *,
    case_id: int | None = None,
    collector_id: int | None = None,
) -> Iterator[BookedVisit]:
    """Active visits, without the one being moved, of one case or one collector."""
    for v in visits:
        if not v.active or (replacing is not None and v.appointment_id == replacing):
            continue
        if case_id is not None and v.case_id != case_id:
            continue
        if collector_id is not None and v.collector_id != collector_id:
            continue
        yield v


def _by_start(v: BookedVisit) -> tuple[dt.datetime, int]:
    return (v.starts_at, v.appointment_id)


def earliest_day(now: dt.datetime, policy: VisitPolicy, timezone: str) -> dt.date:
    """The first office-local date the lead time allows for a visit booked at ``now``."""
    return now.astimezone(ZoneInfo(timezone)).date() + dt.timedelta(days=policy.lead_days)


# --- the rules --------------------------------------------------------------------------


def check_notice(
    original_start: dt.datetime, *, now: dt.datetime, policy: VisitPolicy
) -> Refusal | None:
    """A reschedule or cancellation made at ``now`` needs notice_hours before the original
    start (exactly notice_hours is enough)."""
    left = original_start - now
    if left >= dt.timedelta(hours=policy.notice_hours):
        return None
    if left < _ZERO:
        message = _("notice: the visit was due {ago} ago; changes need {hours} hours' notice")
        return Refusal(
            BookingRule.NOTICE, message.format(ago=_span(left), hours=policy.notice_hours)
        )
    message = _("notice: changes need {hours} hours' notice; the visit starts in {left}")
    return Refusal(BookingRule.NOTICE, message.format(hours=policy.notice_hours, left=_span(left)))


def check_booking(
    case: CaseFacts,
    slot: Slot,
    *,
    now: dt.datetime,
    policy: VisitPolicy,
    collector: CollectorSchedule,
    collector_visits: Sequence[BookedVisit],
    case_visits: Sequence[BookedVisit],
    calendar: WorkCalendar,
    timezone: str,
    replacing: int | None = None,
) -> list[Refusal]:
    """Every rule booking ``slot`` for ``case`` at ``now`` would break, in BookingRule order;
    [] means bookable.

    Inactive visits, visits of other cases (``case_visits``) or other collectors
    (``collector_visits``) and the visit being moved (``replacing``) are ignored. Notice for
    a move is ``check_notice``'s business: it concerns the old slot, not this one.
    """
    if slot.collector_id != collector.collector_id:
        raise ValueError("slot and collector schedule belong to different collectors")
    out = _eligibility(case)
    office = ZoneInfo(timezone)
    zone = ZoneInfo(collector.timezone)
    start, end = slot.starts_at, slot.ends_at
    local_start = start.astimezone(zone)

    if start < now:
        out.append(
            Refusal(
                BookingRule.IN_PAST,
                _("in the past: the slot starts {date} {time}, before now").format(
                    date=local_start.date().isoformat(), time=local_start.strftime("%H:%M")
                ),
            )
        )
    booked_on = now.astimezone(office).date()
    visit_on = start.astimezone(office).date()
    if (visit_on - booked_on).days < policy.lead_days:
        earliest = booked_on + dt.timedelta(days=policy.lead_days)
        message = _(
            "lead time: a visit booked on {booked} can be on {earliest} at the earliest"
            " ({days} days)"
        )
        out.append(
            Refusal(
                BookingRule.LEAD_TIME,
                message.format(
                    booked=booked_on.isoformat(),
                    earliest=earliest.isoformat(),
                    days=policy.lead_days,
                ),
            )
        )
    spaced = [
        other_on
        for v in _others(case_visits, replacing, case_id=case.case_id)
        if abs(((other_on := v.starts_at.astimezone(office).date()) - visit_on).days)
        < policy.spacing_days
    ]
    if spaced:
        message = _(
            "spacing: this case already has a visit on {date};"
            " visits must be at least {days} days apart"
        )
        out.append(
            Refusal(
                BookingRule.SPACING,
                message.format(date=min(spaced).isoformat(), days=policy.spacing_days),
            )
        )

    day = local_start.date()
    problem = _day_problem(collector, day, calendar)
    if problem is not None:
        out.append(Refusal(BookingRule.WORKING_DAY, problem))
    if end <= start:
        out.append(
            Refusal(
                BookingRule.WORKING_HOURS,
                _("working hours: the visit must end after it starts"),
            )
        )
    else:
        day_start = dt.datetime.combine(day, collector.work_start, tzinfo=zone)
        day_end = dt.datetime.combine(day, collector.work_end, tzinfo=zone)
        if start < day_start or end > day_end:
            message = _(
                "working hours: {start}-{end} on {date} is outside {name}'s hours {open}-{close}"
            )
            out.append(
                Refusal(
                    BookingRule.WORKING_HOURS,
                    message.format(
                        start=_hm(start, zone),
                        end=_hm(end, zone),
                        date=day.isoformat(),
                        name=collector.name,
                        open=collector.work_start.strftime("%H:%M"),
                        close=collector.work_end.strftime("%H:%M"),
                    ),
                )
            )
    if case.district not in collector.districts:
        out.append(
            Refusal(
                BookingRule.TERRITORY,
                _("territory: {district} is not in {name}'s territory").format(
                    district=case.district, name=collector.name
                ),
            )
        )

    buffer = policy.travel_buffer
    clashes: list[BookedVisit] = []
    too_close: list[BookedVisit] = []  # another district, not overlapping, within the buffer
    for v in _others(collector_visits, replacing, collector_id=collector.collector_id):
        if v.starts_at < end and start < v.ends_at:
            clashes.append(v)
        elif v.district != case.district and (
            v.starts_at - buffer < end and start < v.ends_at + buffer
        ):
            too_close.append(v)
    if clashes:
        clash = min(clashes, key=_by_start)
        local = clash.starts_at.astimezone(zone)
        out.append(
            Refusal(
                BookingRule.OVERLAP,
                _("collector overlap: {name} already has a visit {start}-{end} on {date}").format(
                    name=collector.name,
                    start=local.strftime("%H:%M"),
                    end=_hm(clash.ends_at, zone),
                    date=local.date().isoformat(),
                ),
            )
        )
    if too_close:
        near = min(too_close, key=_by_start)
        if near.ends_at <= start:
            message = _(
                "travel buffer: {minutes} minutes needed after the visit in {district}"
                " ending {time}"
            )
            time = _hm(near.ends_at, zone)
        else:
            message = _(
                "travel buffer: {minutes} minutes needed before the visit in {district}"
                " starting {time}"
            )
            time = _hm(near.starts_at, zone)
        out.append(
            Refusal(
                BookingRule.TRAVEL,
                message.format(
                    minutes=policy.travel_buffer_minutes, district=near.district, time=time
                ),
            )
        )
    return out


# --- proposals --------------------------------------------------------------------------


def _spacing_blocked(
    case: CaseFacts,
    case_visits: Sequence[BookedVisit],
    replacing: int | None,
    office: ZoneInfo,
    spacing_days: int,
) -> frozenset[dt.date]:
    """Office-local dates on which this case may not have another visit."""
    blocked: set[dt.date] = set()
    for v in _others(case_visits, replacing, case_id=case.case_id):
        day = v.starts_at.astimezone(office).date()
        for k in range(-spacing_days + 1, spacing_days):
            blocked.add(day + dt.timedelta(days=k))
    return frozenset(blocked)


def _first_grid_at_or_after(
    origin: dt.datetime, step: dt.timedelta, at: dt.datetime
) -> dt.datetime:
    if at <= origin:
        return origin
    return origin + step * -((origin - at) // step)


def _collector_candidates(
    case: CaseFacts,
    collector: CollectorSchedule,
    visits: Sequence[BookedVisit],
    *,
    now: dt.datetime,
    policy: VisitPolicy,
    calendar: WorkCalendar,
    office: ZoneInfo,
    first: dt.date,
    last: dt.date,
    blocked_days: frozenset[dt.date],
    replacing: int | None,
    limit: int,
    per_day: int,
) -> list[Slot]:
    """The collector's first ``limit`` free grid slots, at most ``per_day`` a day."""
    zone = ZoneInfo(collector.timezone)
    duration, step = policy.duration, dt.timedelta(minutes=policy.slot_step_minutes)
    # A start s is blocked by visit v iff v.start - buffer - duration < s < v.end + buffer
    # (buffer 0 in the case's own district). Starts only grow, so one pointer walks them.
    travel = policy.travel_buffer
    busy: list[tuple[dt.datetime, dt.datetime]] = []
    for v in visits:
        if v.status not in ACTIVE_STATUSES or v.collector_id != collector.collector_id:
            continue
        if replacing is not None and v.appointment_id == replacing:
            continue
        pad = _ZERO if v.district == case.district else travel
        busy.append((v.starts_at - pad - duration, v.ends_at + pad))
    busy.sort()
    i = 0
    out: list[Slot] = []
    # Collector-local days around the office-local window (the zones may differ).
    day = first - dt.timedelta(days=1)
    while day <= last + dt.timedelta(days=1) and len(out) < limit:
        current, day = day, day + dt.timedelta(days=1)
        if not collector.works_on(current, calendar):
            continue
        open_at = dt.datetime.combine(current, collector.work_start, tzinfo=zone).astimezone(dt.UTC)
        close_at = dt.datetime.combine(current, collector.work_end, tzinfo=zone).astimezone(dt.UTC)
        latest = close_at - duration
        if latest < open_at or latest < now:
            continue
        first_on = open_at.astimezone(office).date()
        last_on = latest.astimezone(office).date()
        if last_on < first or first_on > last or (first_on == last_on and first_on in blocked_days):
            continue
        taken = 0
        s = _first_grid_at_or_after(open_at, step, now)
        while s <= latest and taken < per_day:
            # Intervals are sorted by low end: if the first one still open at s starts at or
            # after s, no later one covers s either.
            while i < len(busy) and busy[i][1] <= s:
                i += 1
            if i < len(busy) and busy[i][0] < s:
                s = _first_grid_at_or_after(open_at, step, busy[i][1])
                continue
            on = s.astimezone(office).date()
            if first <= on <= last and on not in blocked_days:
                out.append(Slot(collector.collector_id, s, s + duration))
                taken += 1
                if len(out) >= limit:
                    break
            s += step
    return out


def propose_slots(
    case: CaseFacts,
    *,
    now: dt.datetime,
    policy: VisitPolicy,
    collectors: Sequence[CollectorSchedule],
    visits_by_collector: Mapping[int, Sequence[BookedVisit]],
    case_visits: Sequence[BookedVisit],
    calendar: WorkCalendar,
    timezone: str,
    replacing: int | None = None,
    limit: int | None = None,
    per_collector_day: int = 2,
) -> list[Slot]:
    """The next free slots for ``case``, ordered by start then collector id.

    Candidates: office-local days from ``earliest_day`` through today + horizon_days; every
    collector whose territory holds the case's district; a grid from the collector's
    work_start every slot_step_minutes, duration_minutes long; at most ``per_collector_day``
    per (collector, collector-local day). Each returned slot passes ``check_booking``.
    An ineligible case (not registered, documents, hold) gets none.
    """
    if _eligibility(case):
        return []
    wanted = policy.suggestions if limit is None else limit
    if wanted <= 0 or per_collector_day <= 0:
        return []
    office = ZoneInfo(timezone)
    first = earliest_day(now, policy, timezone)
    last = now.astimezone(office).date() + dt.timedelta(days=policy.horizon_days)
    blocked_days = _spacing_blocked(case, case_visits, replacing, office, policy.spacing_days)
    schedules: dict[int, CollectorSchedule] = {}
    candidates: list[Slot] = []
    for collector in collectors:
        if collector.collector_id in schedules or case.district not in collector.districts:
            continue
        schedules[collector.collector_id] = collector
        candidates += _collector_candidates(
            case,
            collector,
            visits_by_collector.get(collector.collector_id, ()),
            now=now,
            policy=policy,
            calendar=calendar,
            office=office,
            first=first,
            last=last,
            blocked_days=blocked_days,
            replacing=replacing,
            limit=wanted,
            per_day=per_collector_day,
        )
    candidates.sort(key=lambda s: (s.starts_at, s.collector_id))
    out: list[Slot] = []
    for slot in candidates:
        if len(out) >= wanted:
            break
        refusals = check_booking(
            case,
            slot,
            now=now,
            policy=policy,
            collector=schedules[slot.collector_id],
            collector_visits=visits_by_collector.get(slot.collector_id, ()),
            case_visits=case_visits,
            calendar=calendar,
            timezone=timezone,
            replacing=replacing,
        )
        if not refusals:  # always, unless the fast search and the rules disagree
            out.append(slot)
    return out
