"""`agents`: add, list, (de)activate agents; field collectors' schedules and days off."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import tui_desk.cli.common as common
from tui_desk.cli.common import CliError, command_actor, parse_day
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Role
from tui_desk.i18n import N_, _
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import load_profile

if TYPE_CHECKING:
    from tui_desk.services.agents import ScheduleInfo
    from tui_desk.services.context import Actor


def cmd_agents(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from tui_desk.services import agents

    # Accounts are managed by administrators and supervisors, as on the desk; the first
    # administrator is set up by the host's administrator.
    actor = command_actor(db, settings, bootstrap=True)
    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    if args.agents_command == "add":
        info = agents.add_agent(
            db,
            args.login,
            args.name,
            Role(args.role),
            actor=actor,
            now=utcnow(),
            profile=load_profile(),
            host_login=common.current_login(),
        )
        print(_("added {login} ({role})").format(login=info.login, role=info.role.value))
        if info.role is Role.COLLECTOR:
            print(
                _(
                    "default schedule Monday-Friday; set the territory before booking: "
                    "tui-desk agents schedule {login} --districts DISTRICT,..."
                ).format(login=info.login)
            )
    elif args.agents_command == "list":
        rows = agents.list_agents(db)
        territories = agents.collector_territories(db)
        width = max([len(a.login) for a in rows] + [5])
        for a in rows:
            state = "" if a.active else _(" (inactive)")
            where = ""
            if a.role is Role.COLLECTOR:
                districts = territories.get(a.login, ())
                where = "  [" + (", ".join(districts) or _("no districts")) + "]"
            print(f"{a.login:<{width}}  {a.role.value:<10}  {a.name}{state}{where}")
        if not rows:
            print(_("no agents yet: tui-desk agents add LOGIN --name NAME --role ROLE"))
    elif args.agents_command == "schedule":
        cmd_schedule(args, db, actor)
    elif args.agents_command == "password":
        cmd_password(args, db, actor)
    elif args.agents_command == "day-off":
        schedule = agents.set_day_off(
            db,
            actor,
            args.login,
            parse_day(args.date),
            reason=args.reason,
            remove=args.remove,
            now=utcnow(),
        )
        print(describe_schedule(schedule))
    else:
        info = agents.set_active(
            db, args.login, args.agents_command == "activate", actor=actor, now=utcnow()
        )
        print(f"{info.login}: {'active' if info.active else 'inactive'}")


_WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def describe_schedule(info: ScheduleInfo) -> str:
    days = " ".join(_(_WEEKDAY_NAMES[int(d) - 1]) for d in info.weekdays)
    lines = [
        _("{login} ({name}): {start}-{end} {zone}, weekdays {weekdays} ({names})").format(
            login=info.login,
            name=info.name,
            start=info.work_start.strftime("%H:%M"),
            end=info.work_end.strftime("%H:%M"),
            zone=info.timezone,
            weekdays=info.weekdays,
            names=days,
        ),
        "  "
        + _("districts: {districts}").format(
            districts=", ".join(info.districts) or _("none yet (cannot be booked)")
        ),
    ]
    if info.days_off:
        off = ", ".join(
            day.isoformat() + (f" ({reason})" if reason else "") for day, reason in info.days_off
        )
        lines.append("  " + _("days off: {days}").format(days=off))
    if info.stranded_visits:
        lines.append(
            _(
                "warning: {n} open visits no longer fit this schedule (visit {ids}): "
                "move or reassign them"
            ).format(
                n=len(info.stranded_visits), ids=", ".join(str(i) for i in info.stranded_visits)
            )
        )
    return "\n".join(lines)


def cmd_schedule(args: argparse.Namespace, db: Database, actor: Actor | None) -> None:
    from tui_desk.services import agents

    wanted = (args.hours, args.weekdays, args.districts, args.timezone)
    if all(value is None for value in wanted):
        print(describe_schedule(agents.collector_schedule(db, args.login, now=utcnow())))
        return
    start = end = None
    if args.hours is not None:
        parts = args.hours.split("-")
        if len(parts) != 2:
            raise CliError(
                _("invalid hours {text!r}: use HH:MM-HH:MM, e.g. 09:00-18:00").format(
                    text=args.hours
                )
            )
        start, end = parts
    districts = None
    if args.districts is not None:
        districts = [d for d in args.districts.replace("，", ",").replace("、", ",").split(",")]
    info = agents.set_collector_schedule(
        db,
        actor,
        args.login,
        work_start=start,
        work_end=end,
        weekdays=args.weekdays,
        districts=districts,
        timezone=args.timezone,
        now=utcnow(),
    )
    print(describe_schedule(info))


def read_new_password() -> str:
    """The new password: typed twice without echo on a terminal, else the first line of
    standard input (scripts)."""
    import getpass
    import sys

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(_("New password: "))
    second = getpass.getpass(_("Again: "))
    if first != second:
        raise CliError(_("the two passwords differ; nothing was changed"))
    return first


def cmd_password(args: argparse.Namespace, db: Database, actor: Actor | None) -> None:
    from tui_desk.services.web_sign_in import set_password

    password = read_new_password()
    set_password(
        db, args.login, password, actor=actor, now=utcnow(), host_login=common.current_login()
    )
    print(_("wallboard password set for {login}").format(login=args.login))
