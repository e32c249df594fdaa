"""Agents: add, list, and resolve the login a desk runs as; field collectors' schedules.

A collector's schedule (hours, weekdays, time zone), territory (districts) and days off are
what visit booking checks a slot against (``tui_desk.rules.visits``). Changing them is
agent management: an administrator's job, or the host's shell admin (``actor`` None).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    CollectorDayOff,
    CollectorDistrict,
    CollectorSchedule,
    Role,
)
from tui_desk.i18n import _
from tui_desk.rules import visits as visit_rules
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import audit
from tui_desk.services.context import Actor
from tui_desk.services.errors import ServiceError, UnknownAgent
from tui_desk.services.validation import check_date, check_text

LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AgentInfo:
    id: int
    login: str
    name: str
    role: Role
    active: bool


def _info(a: Agent) -> AgentInfo:
    return AgentInfo(id=a.id, login=a.login, name=a.name, role=a.role, active=a.active)


def has_administrator(db: Database) -> bool:
    """An active administrator exists (else the host's administrator sets one up)."""
    with db.read() as s:
        found = s.scalar(
            select(Agent.id).where(Agent.role == Role.ADMIN, Agent.active.is_(True)).limit(1)
        )
    return found is not None


def list_agents(db: Database) -> list[AgentInfo]:
    with db.read() as s:
        return [_info(a) for a in s.scalars(select(Agent).order_by(Agent.login))]


def add_agent(
    db: Database,
    login: str,
    name: str,
    role: Role,
    *,
    actor: Actor | None = None,
    now: dt.datetime,
    profile: Profile,
    host_login: str | None = None,
) -> AgentInfo:
    """Create an agent. ``actor`` None means the system: the host's administrator
    (``host_login``, kept in the audit event) setting up the first administrator.
    Only an administrator adds another administrator.

    A collector gets the default schedule (Monday-Friday, the profile's visit hours, the
    office time zone) and no districts: they can be booked once a territory is set.
    """

    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
        if role is Role.ADMIN:
            actor.require(Action.MANAGE_ADMINS)
    if not LOGIN_RE.match(login):
        raise ServiceError(
            _("invalid login {login!r}: use lower-case letters, digits, _ . -").format(login=login)
        )
    check_text("name", name, 100)
    if not name.strip():
        raise ServiceError(_("an agent needs a name"))
    try:
        with db.write() as s:
            if s.scalar(select(Agent.id).where(Agent.login == login)) is not None:
                raise ServiceError(_("agent {login} already exists").format(login=login))
            agent = Agent(login=login, name=name.strip(), role=role, active=True, created_at=now)
            s.add(agent)
            s.flush()
            after: dict[str, object] = {"login": login, "name": agent.name, "role": role.value}
            if actor is None and host_login:
                after["host_login"] = host_login
            if role is Role.COLLECTOR:
                # Bookable hours from day one; no territory until an admin sets one.
                schedule = _default_schedule(agent.id, now, profile)
                s.add(schedule)
                after["schedule"] = _schedule_dict(schedule, [])
            audit.record(
                s,
                actor,
                "agent.add",
                "agent",
                agent.id,
                f"added agent {login} ({role.value})",
                now=now,
                after=after,
            )
            return _info(agent)
    except IntegrityError as exc:
        raise ServiceError(_("agent {login} already exists").format(login=login)) from exc


def set_active(
    db: Database, login: str, active: bool, *, actor: Actor | None = None, now: dt.datetime
) -> AgentInfo:

    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    with db.write() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        if actor is not None and agent.role is Role.ADMIN:
            actor.require(Action.MANAGE_ADMINS)
        before = agent.active
        agent.active = active
        audit.record(
            s,
            actor,
            "agent.activate" if active else "agent.deactivate",
            "agent",
            agent.id,
            f"{login} active={active}",
            now=now,
            before={"active": before},
            after={"active": active},
        )
        return _info(agent)


def resolve_actor(db: Database, login: str) -> Actor:
    """The agent a desk runs as; unknown or inactive logins get a clear refusal."""
    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(
                _(
                    "login {login!r} is not a tui-desk agent; ask a supervisor to add you "
                    "(tui-desk agents add)"
                ).format(login=login)
            )
        if not agent.active:
            raise UnknownAgent(
                _("agent {login!r} is inactive; ask a supervisor").format(login=login)
            )
        return Actor.of(agent)


def find_agent(db: Database, login: str) -> AgentInfo:
    """The agent with ``login`` (active or not); a clear refusal when there is none."""
    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        return _info(agent)


# --- field collectors: schedule, territory, days off ------------------------------------

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
MAX_DISTRICT = 50
MAX_DAY_OFF_REASON = 200
DEFAULT_WEEKDAYS = "12345"


@dataclass(frozen=True)
class ScheduleInfo:
    """A collector's working pattern, territory and coming days off."""

    login: str
    name: str
    timezone: str
    work_start: dt.time
    work_end: dt.time
    weekdays: str  # ISO weekdays, e.g. "123456" = Monday to Saturday
    districts: tuple[str, ...]
    days_off: tuple[tuple[dt.date, str | None], ...]
    # Open visits from now on that the schedule no longer covers (to move or reassign).
    stranded_visits: tuple[int, ...] = ()


def _default_schedule(
    agent_id: int, now: dt.datetime, profile: Profile | None = None
) -> CollectorSchedule:
    prof = profile if profile is not None else load_profile()
    visits = prof.section("visits")
    return CollectorSchedule(
        agent_id=agent_id,
        timezone=prof.office_timezone,
        work_start=parse_hhmm(str(visits.get("work_start", "09:00"))),
        work_end=parse_hhmm(str(visits.get("work_end", "18:00"))),
        work_weekdays=DEFAULT_WEEKDAYS,
        updated_at=now,
    )


def _schedule_dict(schedule: CollectorSchedule, districts: Iterable[str]) -> dict[str, object]:
    return {
        "timezone": schedule.timezone,
        "work_start": schedule.work_start.strftime("%H:%M"),
        "work_end": schedule.work_end.strftime("%H:%M"),
        "weekdays": schedule.work_weekdays,
        "districts": sorted(districts),
    }


def parse_hhmm(value: str | dt.time) -> dt.time:
    """``"09:00"`` -> 09:00; anything but HH:MM (00:00-23:59) is refused clearly."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _HHMM.match(value.strip())
    if match is None:
        raise ServiceError(_("invalid time {value!r}: use HH:MM, e.g. 09:00").format(value=value))
    return dt.time(int(match.group(1)), int(match.group(2)))


def clean_weekdays(value: str) -> str:
    """ISO weekday digits 1 (Monday) to 7 (Sunday), each at most once, in order."""
    text = value.strip()
    if not text or any(ch not in "1234567" for ch in text):
        raise ServiceError(
            _("invalid weekdays {value!r}: use digits 1 (Monday) to 7 (Sunday), e.g. 12345").format(
                value=value
            )
        )
    if len(set(text)) != len(text):
        raise ServiceError(
            _("invalid weekdays {value!r}: each day at most once").format(value=value)
        )
    return "".join(sorted(text))


def clean_timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(
            _("unknown time zone {value!r}: use an IANA name such as Asia/Shanghai").format(
                value=value
            )
        ) from None
    return name


def clean_districts(values: Iterable[str]) -> list[str]:
    """Distinct, non-empty district names in the order given; at least one."""
    out: list[str] = []
    for raw in values:
        name = check_text("district", raw, MAX_DISTRICT) or ""
        if not name:
            continue
        if len(name) > MAX_DISTRICT:
            raise ServiceError(
                _("a district name has at most {n} characters").format(n=MAX_DISTRICT)
            )
        if name not in out:
            out.append(name)
    if not out:
        raise ServiceError(_("a collector's territory needs at least one district"))
    return out


def _collector_for_update(session: Session, login: str) -> Agent:
    """The collector's agent row, locked like a booking locks it (bookings wait for us)."""
    stmt = select(Agent).where(Agent.login == login)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    agent = session.scalar(stmt)
    if agent is None:
        raise UnknownAgent(_("no agent with login {login}").format(login=login))
    if agent.role is not Role.COLLECTOR:
        raise ServiceError(
            _("{login} is not a field collector ({role}): only collectors have schedules").format(
                login=login, role=agent.role.value
            )
        )
    return agent


def _load_schedule(
    session: Session, agent: Agent, now: dt.datetime, *, create: bool
) -> tuple[CollectorSchedule, list[str], bool]:
    """The collector's schedule row, districts, and whether the row is new. A collector
    without a row (added before schedules existed) gets the default one; it is added to
    the session only when ``create`` (inside a write)."""
    schedule = session.get(CollectorSchedule, agent.id)
    created = schedule is None
    if schedule is None:
        schedule = _default_schedule(agent.id, now)
        if create:
            session.add(schedule)
    districts = list(
        session.scalars(
            select(CollectorDistrict.district)
            .where(CollectorDistrict.agent_id == agent.id)
            .order_by(CollectorDistrict.district)
        )
    )
    return schedule, districts, created


def _schedule_info(
    session: Session, agent: Agent, schedule: CollectorSchedule, districts: Iterable[str],
    today: dt.date | None = None, stranded: Iterable[int] = (),
) -> ScheduleInfo:  # fmt: skip
    stmt = select(CollectorDayOff).where(CollectorDayOff.agent_id == agent.id)
    if today is not None:
        stmt = stmt.where(CollectorDayOff.day >= today)
    days_off = tuple((d.day, d.reason) for d in session.scalars(stmt.order_by(CollectorDayOff.day)))
    return ScheduleInfo(
        login=agent.login,
        name=agent.name,
        timezone=schedule.timezone,
        work_start=schedule.work_start,
        work_end=schedule.work_end,
        weekdays=schedule.work_weekdays,
        districts=tuple(sorted(districts)),
        days_off=days_off,
        stranded_visits=tuple(stranded),
    )


_OPEN = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def _open_visits(session: Session, agent_id: int, now: dt.datetime) -> list[Appointment]:
    stmt = select(Appointment).where(
        Appointment.collector_id == agent_id,
        Appointment.status.in_(_OPEN),
        Appointment.starts_at >= now,
    )
    return list(session.scalars(stmt.order_by(Appointment.starts_at, Appointment.id)))


def _stranded(
    session: Session, agent: Agent, schedule: CollectorSchedule, districts: Iterable[str],
    now: dt.datetime, profile: Profile | None = None,
) -> list[int]:  # fmt: skip
    """Open visits ahead that the schedule now set no longer covers: a day not worked (the
    same test booking makes: weekdays, holidays, adjusted working days, days off), hours
    or territory."""
    prof = profile if profile is not None else load_profile()
    calendar = visit_rules.work_calendar(prof.holidays_country)
    days_off = frozenset(
        session.scalars(select(CollectorDayOff.day).where(CollectorDayOff.agent_id == agent.id))
    )
    pattern = visit_rules.CollectorSchedule(
        collector_id=agent.id,
        name=agent.name,
        timezone=schedule.timezone,
        districts=frozenset(districts),
        work_start=schedule.work_start,
        work_end=schedule.work_end,
        work_weekdays=frozenset(int(d) for d in schedule.work_weekdays),
        days_off=days_off,
    )
    zone = ZoneInfo(schedule.timezone)
    out = []
    for appt in _open_visits(session, agent.id, now):
        start, end = appt.starts_at.astimezone(zone), appt.ends_at.astimezone(zone)
        outside_hours = (
            start.time() < schedule.work_start
            or end.date() != start.date()
            or end.time() > schedule.work_end
        )
        worked = pattern.works_on(start.date(), calendar)
        if outside_hours or not worked or appt.district not in pattern.districts:
            out.append(appt.id)
    return out


def collector_schedule(db: Database, login: str, *, now: dt.datetime) -> ScheduleInfo:
    """A collector's schedule, territory and days off from today (office time) on."""

    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if agent is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        if agent.role is not Role.COLLECTOR:
            raise ServiceError(
                _(
                    "{login} is not a field collector ({role}): only collectors have schedules"
                ).format(login=login, role=agent.role.value)
            )
        schedule, districts, _created = _load_schedule(s, agent, now, create=False)
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        return _schedule_info(s, agent, schedule, districts, today)


def set_collector_schedule(
    db: Database,
    actor: Actor | None,
    login: str,
    *,
    work_start: str | dt.time | None = None,
    work_end: str | dt.time | None = None,
    weekdays: str | None = None,
    districts: Iterable[str] | None = None,
    timezone: str | None = None,
    now: dt.datetime,
) -> ScheduleInfo:
    """Change a collector's hours, weekdays, territory or time zone (None: unchanged).

    One transaction, one audit event. Visits already booked are not moved: the result
    names the open visits ahead that the new schedule no longer covers.
    """

    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    start = parse_hhmm(work_start) if work_start is not None else None
    end = parse_hhmm(work_end) if work_end is not None else None
    days = clean_weekdays(weekdays) if weekdays is not None else None
    zone = clean_timezone(timezone) if timezone is not None else None
    territory = clean_districts(districts) if districts is not None else None
    if all(v is None for v in (start, end, days, zone, territory)):
        raise ServiceError(_("nothing to change: give hours, weekdays, districts or a time zone"))
    with db.write() as s:
        agent = _collector_for_update(s, login)
        schedule, current, created = _load_schedule(s, agent, now, create=True)
        before = None if created else _schedule_dict(schedule, current)
        new_start = start if start is not None else schedule.work_start
        new_end = end if end is not None else schedule.work_end
        if new_start >= new_end:
            raise ServiceError(
                _("working hours must start before they end ({start}-{end})").format(
                    start=new_start.strftime("%H:%M"), end=new_end.strftime("%H:%M")
                )
            )
        schedule.work_start, schedule.work_end = new_start, new_end
        if days is not None:
            schedule.work_weekdays = days
        if zone is not None:
            schedule.timezone = zone
        schedule.updated_at = now
        if territory is not None and set(territory) != set(current):
            s.execute(delete(CollectorDistrict).where(CollectorDistrict.agent_id == agent.id))
            s.add_all(CollectorDistrict(agent_id=agent.id, district=d) for d in territory)
            current = territory
        s.flush()
        after = _schedule_dict(schedule, current)
        stranded = _stranded(s, agent, schedule, current, now)
        audit.record(
            s,
            actor,
            "agent.schedule",
            "agent",
            agent.id,
            f"schedule of {login}: {after['work_start']}-{after['work_end']} "
            f"weekdays {after['weekdays']} {after['timezone']}, "
            f"districts {','.join(sorted(current)) or '-'}",
            now=now,
            before=before,
            after={**after, "stranded_visits": stranded},
        )
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        return _schedule_info(s, agent, schedule, current, today, stranded)


def set_day_off(
    db: Database,
    actor: Actor | None,
    login: str,
    day: dt.date,
    *,
    reason: str | None = None,
    remove: bool = False,
    now: dt.datetime,
) -> ScheduleInfo:
    """Give a collector a day off (leave, training, sickness), or take one back.

    A day with open visits of the collector is refused: move or reassign them first.
    Giving the same day again updates its reason.
    """

    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    check_date("day", day)
    why = check_text("reason", reason, MAX_DAY_OFF_REASON)
    if why is not None and len(why) > MAX_DAY_OFF_REASON:
        raise ServiceError(_("a reason has at most {n} characters").format(n=MAX_DAY_OFF_REASON))
    with db.write() as s:
        agent = _collector_for_update(s, login)
        schedule, districts, _created = _load_schedule(s, agent, now, create=False)
        row = s.get(CollectorDayOff, (agent.id, day))
        before = None if row is None else {"day": day.isoformat(), "reason": row.reason}
        if remove:
            if row is None:
                raise ServiceError(
                    _("{login} has no day off on {day}").format(login=login, day=day.isoformat())
                )
            s.delete(row)
            action, after, summary = "agent.day_off_remove", None, f"{login} works on {day}"
        else:
            zone = ZoneInfo(schedule.timezone)
            start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            end = start + dt.timedelta(days=1)
            booked = [
                a for a in _open_visits(s, agent.id, start.astimezone(dt.UTC))
                if a.starts_at < end.astimezone(dt.UTC)
            ]  # fmt: skip
            if booked:
                raise ServiceError(
                    _(
                        "{login} has {n} open visits on {day} (visit {ids}): move or reassign "
                        "them before giving the day off"
                    ).format(
                        login=login,
                        n=len(booked),
                        day=day.isoformat(),
                        ids=", ".join(str(a.id) for a in booked),
                    )
                )
            if row is None:
                s.add(CollectorDayOff(agent_id=agent.id, day=day, reason=why))
            else:
                row.reason = why
            action = "agent.day_off"
            after = {"day": day.isoformat(), "reason": why}
            summary = f"{login} off on {day}" + (f": {why}" if why else "")
        s.flush()
        audit.record(
            s, actor, action, "agent", agent.id, summary, now=now, before=before, after=after
        )
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        return _schedule_info(s, agent, schedule, districts, today)


def collector_territories(db: Database) -> dict[str, tuple[str, ...]]:
    """Each collector's districts by login (collectors without a territory included)."""
    with db.read() as s:
        rows = s.execute(
            select(Agent.login, CollectorDistrict.district)
            .outerjoin(CollectorDistrict, CollectorDistrict.agent_id == Agent.id)
            .where(Agent.role == Role.COLLECTOR)
            .order_by(Agent.login, CollectorDistrict.district)
        )
        out: dict[str, tuple[str, ...]] = {}
        for login, district in rows:
            out[login] = out.get(login, ()) + ((district,) if district else ())
        return out
