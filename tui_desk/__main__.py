"""Command line: run the desk, the demo, seeding, schema upgrades, agents and the worker.

Every command first upgrades an empty (or older) database and refuses one newer than
this code. Database problems are reported as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import grp
import os
import pwd
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from tui_desk import __version__
from tui_desk.config import Settings, demo_database_url, load_settings
from tui_desk.db.engine import Database, DatabaseUrlError, open_database
from tui_desk.db.migrate import DatabaseUnavailable, SchemaError, ensure_schema
from tui_desk.db.models import Role
from tui_desk.i18n import N_, _, set_language
from tui_desk.services.errors import ServiceError

if TYPE_CHECKING:
    from tui_desk.rules.profile import Profile
    from tui_desk.services.agents import ScheduleInfo
    from tui_desk.services.context import Actor
    from tui_desk.services.importer import ImportSummary

ADMIN_GROUP = "tui-desk-admin"
DEMO_CASES = 5000


class CliError(Exception):
    """A one-line failure shown as ``tui-desk: <message>`` with exit status 2."""


def current_login() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def may_choose_agent(login: str, is_demo: bool) -> bool:
    """``--agent`` is honoured on a demo database, for root, or for the admin group."""
    if is_demo or os.getuid() == 0:
        return True
    try:
        members = grp.getgrnam(ADMIN_GROUP).gr_mem
    except KeyError:
        return False
    return login in members


def _common(*, top: bool) -> argparse.ArgumentParser:
    # Sub-commands repeat the global options; SUPPRESS keeps a value given before the
    # sub-command from being reset to None by the sub-parser's own default.
    default = None if top else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help=_("database URL (default: embedded SQLite file)"),
    )
    common.add_argument(
        "--agent", metavar="LOGIN", default=default, help=_("open as this agent (demo/admin only)")
    )
    common.add_argument(
        "--lang", choices=["en", "zh_CN"], default=default, help=_("interface language")
    )
    common.add_argument("--profile", default=default, help=_("policy profile (cn, us-regf)"))
    return common


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tui-desk",
        description=_("Terminal desk for overdue-loan collection."),
        parents=[_common(top=True)],
    )
    common = _common(top=False)
    p.add_argument("--version", action="version", version=f"tui-desk {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", parents=[common], help=_("open the desk as the current agent (default)"))
    demo = sub.add_parser(
        "demo", parents=[common], help=_("open the desk on a demo database (seeded on first use)")
    )
    demo.add_argument(
        "--cases", type=int, default=DEMO_CASES, help=_("cases to seed the first time")
    )
    demo.add_argument("--no-open", action="store_true", help=_("seed only, do not open the desk"))

    seed = sub.add_parser("seed", parents=[common], help=_("add realistic demo data"))
    seed.add_argument("--cases", type=int, required=True, help=_("number of cases"))
    seed.add_argument("--seed", type=int, default=42, help=_("random seed (deterministic)"))

    dbp = sub.add_parser("db", help=_("database schema"))
    dbsub = dbp.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbsub.add_parser("upgrade", parents=[common], help=_("upgrade the schema to this version"))
    dbsub.add_parser("current", parents=[common], help=_("show the schema revision"))

    ag = sub.add_parser("agents", help=_("manage agents"))
    agsub = ag.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    add = agsub.add_parser("add", parents=[common], help=_("add an agent"))
    add.add_argument("login")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OPERATOR.value)
    agsub.add_parser("list", parents=[common], help=_("list agents"))
    for action in ("activate", "deactivate"):
        a = agsub.add_parser(
            action, parents=[common], help=_("{action} an agent").format(action=action)
        )
        a.add_argument("login")

    schedule = agsub.add_parser(
        "schedule",
        parents=[common],
        help=_("show or set a field collector's hours, weekdays, districts and time zone"),
    )
    schedule.add_argument("login")
    schedule.add_argument(
        "--hours", metavar="HH:MM-HH:MM", help=_("working hours, e.g. 09:00-18:00")
    )
    schedule.add_argument(
        "--weekdays", metavar="DIGITS", help=_("ISO weekdays worked, 1=Monday, e.g. 123456")
    )
    schedule.add_argument(
        "--districts", metavar="LIST", help=_("the territory, comma-separated, e.g. 朝阳区,海淀区")
    )
    schedule.add_argument("--timezone", metavar="ZONE", help=_("e.g. Asia/Shanghai"))
    day_off = agsub.add_parser(
        "day-off", parents=[common], help=_("give a field collector a day off (or take it back)")
    )
    day_off.add_argument("login")
    day_off.add_argument("date", metavar="DATE", help=_("YYYY-MM-DD"))
    day_off.add_argument("--reason", help=_("leave, training, sickness, ..."))
    day_off.add_argument("--remove", action="store_true", help=_("the collector works that day"))

    sheet = sub.add_parser(
        "day-sheet",
        parents=[common],
        help=_("print a field collector's visits of one day (full addresses; audited)"),
    )
    sheet.add_argument("--collector", metavar="LOGIN", required=True)
    sheet.add_argument(
        "--date", metavar="YYYY-MM-DD", help=_("the day (default: today, office time)")
    )
    sheet.add_argument(
        "--format",
        choices=["md", "txt"],
        help=_("Markdown or plain text (default: from --out's suffix, else txt)"),
    )
    sheet.add_argument("--out", metavar="FILE", help=_("write to FILE instead of the screen"))

    tpl = sub.add_parser("templates", help=_("the bank's standard agreement forms"))
    tplsub = tpl.add_subparsers(dest="templates_command", required=True)
    tplsub.add_parser("list", parents=[common], help=_("list installed forms and versions"))
    install = tplsub.add_parser(
        "install",
        parents=[common],
        help=_("install a new version of a form (supervisors and admins; audited)"),
    )
    install.add_argument("file", metavar="FILE")

    sub.add_parser("worker", parents=[common], help=_("run the time-driven jobs (one leader)"))

    imp = sub.add_parser(
        "import",
        parents=[common],
        help=_("import borrowers, accounts and payments from the loan system (CSV or JSON feed)"),
    )
    imp_source = imp.add_mutually_exclusive_group(required=True)
    imp_source.add_argument(
        "--csv",
        metavar="FILE",
        action="append",
        help=_("an accounts or a payments CSV file (repeatable; accounts first)"),
    )
    imp_source.add_argument(
        "--url", metavar="URL", help=_("a paginated JSON feed: {items: [...], next: URL|null}")
    )
    imp.add_argument(
        "--batch-size", type=int, default=500, help=_("rows per transaction (1-1000, default 500)")
    )
    sms_box = sub.add_parser(
        "sms-sandbox",
        parents=[common],
        help=_("run a local stand-in for the SMS gateway (demo and tests)"),
    )
    sms_box.add_argument("--port", type=int, default=8025, help=_("port on 127.0.0.1"))
    sms_box.add_argument(
        "--fail-rate", type=float, default=0.0, help=_("share of sends answered 503 (0-1)")
    )
    sms_box.add_argument(
        "--deliver-after", type=float, default=2.0, help=_("seconds until a message is delivered")
    )
    sms_box.add_argument("--token", help=_("require this bearer token"))
    pbx = sub.add_parser(
        "pbx-sandbox",
        help=_("run a local stand-in for the phone system (ARI subset) and print its calls"),
    )
    pbx.add_argument("--port", type=int, default=8088, help=_("port (default 8088; 0: any)"))
    pbx.add_argument("--host", default="127.0.0.1", help=_("address (default 127.0.0.1)"))
    pbx.add_argument("--user", default="desk", help=_("the user the desk logs in as"))
    rep = sub.add_parser(
        "report",
        parents=[common],
        help=_("print a report of a period, or write it as CSV ('report list' names them)"),
    )
    rep.add_argument("name", metavar="NAME", help=_("the report, or 'list'"))
    rep.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help=_("first day"))
    rep.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help=_("last day (included)"))
    rep.add_argument("--csv", metavar="FILE", help=_("write CSV (UTF-8 with BOM) to FILE instead"))
    return p


def _settings(args: argparse.Namespace, *, database_url: str | None = None) -> Settings:
    return load_settings(
        database_url=database_url or args.db,
        agent=args.agent,
        language=args.lang,
        profile=args.profile,
    )


def _open(settings: Settings) -> Database:
    db = open_database(settings.database_url)
    ensure_schema(db)
    return db


def _progress_printer() -> Callable[[str, int, int], None]:
    last = {"t": 0.0}

    def show(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last["t"] < 0.2:
            return
        last["t"] = now
        pct = 100 * done // total if total else 100
        print(
            f"\r  {phase:<14} {done:>10,}/{total:,} ({pct:3d}%)",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done >= total:
            print(file=sys.stderr)

    return show


def cmd_seed(db: Database, cases: int, seed: int) -> None:
    from tui_desk.demo.seeder import seed_database

    if cases < 1:
        raise CliError(_("--cases must be at least 1"))
    summary = seed_database(db, cases=cases, seed=seed, progress=_progress_printer())
    print(
        _("seeded {cases:,} cases in {secs:.1f} s").format(
            cases=cases, secs=summary.elapsed_seconds
        )
    )


def _is_demo(db: Database) -> bool:
    from tui_desk.services.meta import get_meta

    return get_meta(db, "demo") == "1"


def acting_agent(db: Database, settings: Settings, *, default_agent: str | None = None) -> Actor:
    """The agent a command runs as: the OS login, or ``--agent`` where that is honoured."""
    from tui_desk.services.agents import resolve_actor

    login = current_login()
    chosen = settings.agent or default_agent
    if settings.agent and not may_choose_agent(login, _is_demo(db)):
        raise CliError(
            _(
                "--agent is only honoured on a demo database or for administrators; you are {login}"
            ).format(login=login)
        )
    return resolve_actor(db, chosen or login)


def cmd_run(db: Database, settings: Settings, *, default_agent: str | None = None) -> None:
    actor = acting_agent(db, settings, default_agent=default_agent)
    from tui_desk.app import run_desk

    run_desk(db, actor, settings)


def cmd_demo(args: argparse.Namespace) -> None:
    from tui_desk.services.agents import list_agents
    from tui_desk.services.meta import set_meta

    settings = _settings(args, database_url=args.db or demo_database_url())
    db = _open(settings)
    if not list_agents(db):
        print(_("creating the demo database at {url}").format(url=db.describe()), file=sys.stderr)
        cmd_seed(db, args.cases, 42)
        set_meta(db, "demo", "1")
    if args.no_open:
        return
    cmd_run(db, settings, default_agent="demo")


def cmd_agents(args: argparse.Namespace, db: Database) -> None:
    from tui_desk.services import agents

    if args.agents_command == "add":
        info = agents.add_agent(db, args.login, args.name, Role(args.role))
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
        cmd_schedule(args, db)
    elif args.agents_command == "day-off":
        schedule = agents.set_day_off(
            db, None, args.login, parse_day(args.date), reason=args.reason, remove=args.remove
        )
        print(describe_schedule(schedule))
    else:
        info = agents.set_active(db, args.login, args.agents_command == "activate")
        print(f"{info.login}: {'active' if info.active else 'inactive'}")


_WEEKDAY_NAMES = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(_("invalid date {text!r}: use YYYY-MM-DD").format(text=text)) from None


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


def cmd_schedule(args: argparse.Namespace, db: Database) -> None:
    from tui_desk.services import agents

    wanted = (args.hours, args.weekdays, args.districts, args.timezone)
    if all(value is None for value in wanted):
        print(describe_schedule(agents.collector_schedule(db, args.login)))
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
        None,
        args.login,
        work_start=start,
        work_end=end,
        weekdays=args.weekdays,
        districts=districts,
        timezone=args.timezone,
    )
    print(describe_schedule(info))


def _profile(settings: Settings) -> Profile:
    from tui_desk.rules.profile import ProfileError, load_profile

    try:
        return load_profile(settings.profile)
    except ProfileError as exc:
        raise CliError(str(exc)) from exc


def cmd_day_sheet(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from tui_desk.clock import utcnow
    from tui_desk.exports.day_sheet import render_markdown, render_text
    from tui_desk.services import visits
    from tui_desk.services.agents import find_agent

    profile = _profile(settings)
    actor = acting_agent(db, settings)
    collector = find_agent(db, args.collector)
    if collector.role is not Role.COLLECTOR:
        raise CliError(
            _("{login} is not a field collector ({role})").format(
                login=collector.login, role=collector.role.value
            )
        )
    now = utcnow()
    day = (
        parse_day(args.date)
        if args.date
        else now.astimezone(ZoneInfo(profile.office_timezone)).date()
    )
    fmt = args.format or ("md" if args.out and args.out.lower().endswith(".md") else "txt")
    if args.out:
        # Producing the sheet is an audited reveal: refuse before it, not after.
        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise CliError(
                _("cannot write {path}: {error}").format(
                    path=args.out, error=_("no such folder, or not writable")
                )
            )
    sheet = visits.day_sheet(db, actor, collector.id, day, now=now, profile=profile)
    region = profile.country
    text = (
        render_markdown(sheet, printed_at=now, home_region=region)
        if fmt == "md"
        else render_text(sheet, printed_at=now, home_region=region)
    )
    if not args.out:
        sys.stdout.write(text)
        return
    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise CliError(
            _("cannot write {path}: {error}").format(path=args.out, error=exc.strerror or exc)
        ) from exc
    print(
        _("wrote the day sheet of {login} for {day} ({n} visits) to {path}").format(
            login=collector.login, day=day.isoformat(), n=len(sheet.visits), path=args.out
        )
    )


def cmd_templates(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from pathlib import Path

    from tui_desk.services import agreements

    if args.templates_command == "install":
        actor = acting_agent(db, settings)
        target = agreements.install_template(db, actor, Path(args.file), profile=_profile(settings))
        print(_("installed {path}").format(path=target))
        return
    for language in ("zh_CN", "en"):
        versions = agreements.template_versions("repayment", language)
        print(f"repayment  {language:<6} " + ", ".join(f"v{v}" for v in versions))


def cmd_report(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    """``report list`` | ``report NAME --from DAY --to DAY [--csv FILE]`` (office days)."""
    from tui_desk.services import reports

    if args.name == "list":
        width = max(len(name) for name in reports.REPORTS)
        for name, report in reports.REPORTS.items():
            print(f"{name:<{width}}  {_(report.title)}")
        return
    if args.name not in reports.REPORTS:
        raise CliError(
            _("unknown report {name!r}; the reports are: {names}").format(
                name=args.name, names=", ".join(reports.REPORTS)
            )
        )
    if not args.date_from or not args.date_to:
        raise CliError(_("a report needs --from YYYY-MM-DD and --to YYYY-MM-DD"))
    table = reports.run_report(
        db,
        args.name,
        date_from=parse_day(args.date_from),
        date_to=parse_day(args.date_to),
        profile=_profile(settings),
    )
    if not args.csv:
        sys.stdout.write(reports.render_text(table))
        return
    try:
        # The BOM lets spreadsheet programs recognise UTF-8 (Chinese names) on opening.
        with open(args.csv, "w", encoding="utf-8-sig", newline="") as fh:
            fh.write(reports.to_csv(table))
    except OSError as exc:
        raise CliError(
            _("cannot write {path}: {error}").format(path=args.csv, error=exc.strerror or exc)
        ) from exc
    print(
        _("wrote {name} ({n} rows) to {path}").format(
            name=args.name, n=len(table.rows), path=args.csv
        )
    )


def cmd_pbx_sandbox(args: argparse.Namespace) -> int:
    """The PBX stand-in in the foreground; no database is opened."""
    from tui_desk.integrations.pbx_sandbox import PbxSandbox

    # The password the desk sends (pbx_password); a fixed one is fine on 127.0.0.1 only.
    password = os.environ.get("TUI_DESK_PBX_PASSWORD") or "sandbox"
    try:
        sandbox = PbxSandbox(
            host=args.host,
            port=args.port,
            user=args.user,
            password=password,
            echo=lambda line: print(line, flush=True),
        )
    except OSError as exc:
        raise CliError(
            _("cannot listen on {host}:{port}: {error}").format(
                host=args.host, port=args.port, error=exc.strerror or exc
            )
        ) from exc
    print(
        _(
            "PBX sandbox at {url} (user {user}); point the desk at it with "
            "TUI_DESK_PBX_URL={url} TUI_DESK_PBX_USER={user} TUI_DESK_PBX_PASSWORD=...; "
            "Ctrl+C stops it"
        ).format(url=sandbox.url, user=args.user),
        flush=True,
    )
    sandbox.serve_forever()
    return 0


def cmd_sms_sandbox(args: argparse.Namespace) -> int:
    from tui_desk.integrations.sms_sandbox import SmsSandbox

    if not 0.0 <= args.fail_rate <= 1.0:
        raise CliError(_("--fail-rate is a share between 0 and 1"))
    box = SmsSandbox(
        port=args.port,
        token=args.token,
        fail_rate=args.fail_rate,
        deliver_after=args.deliver_after,
        echo=lambda line: print(line, flush=True),
    )
    print(
        _(
            "SMS sandbox on http://127.0.0.1:{port}/ (messages at /); point the worker at it: "
            "TUI_DESK_SMS_GATEWAY_URL=http://127.0.0.1:{port}"
        ).format(port=args.port),
        flush=True,
    )
    try:
        box.serve_forever()
    except OSError as exc:
        raise CliError(
            _("cannot listen on port {port}: {error}").format(port=args.port, error=exc)
        ) from exc
    return 0


def _import_progress() -> Callable[[int, int | None], None]:
    show = _progress_printer()

    def report(done: int, total: int | None) -> None:
        # A feed that does not announce its size: show the rows so far, no percentage.
        if total is None:
            print(f"\r  {_('import'):<14} {done:>10,}", end="", file=sys.stderr, flush=True)
        else:
            show(_("import"), done, max(total, done))

    return report


def _print_import_summary(summary: ImportSummary) -> None:
    print(
        _(
            "import from {source}: {created} created, {updated} updated, "
            "{unchanged} unchanged, {rejected} rejected ({secs:.1f} s)"
        ).format(
            source=summary.source,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
            secs=summary.elapsed_seconds,
        )
    )
    for r in summary.rejections:
        print(
            "  "
            + _("rejected row {row} ({id}): {reason}").format(
                row=r.row_no, id=r.external_id or "-", reason=r.reason
            )
        )
    if summary.rejected > len(summary.rejections):
        print(
            "  "
            + _("... {n} more rejected rows: see import batch {batch}").format(
                n=summary.rejected - len(summary.rejections), batch=summary.batch_id
            )
        )
    if summary.cases_opened or summary.cases_reopened or summary.cases_toward_archive:
        print(
            "  "
            + _(
                "cases: {opened} opened, {reopened} reopened, {toward} moved toward the archive"
            ).format(
                opened=len(summary.cases_opened),
                reopened=len(summary.cases_reopened),
                toward=len(summary.cases_toward_archive),
            )
        )
    if summary.payments_applied:
        print("  " + _("payments applied: {n}").format(n=summary.payments_applied))
    if summary.unmatched_door_total:
        print(
            "  "
            + _("door collections not matched by a bank payment: {n}").format(
                n=summary.unmatched_door_total
            )
        )
        for d in summary.unmatched_door[:20]:
            print(
                "    "
                + _(
                    "visit report {report}, case {case}: {amount} collected {day} (receipt {receipt})"
                ).format(
                    report=d.report_id,
                    case=d.case_id,
                    amount=f"{d.amount_minor / 100:.2f}",
                    day=d.collected_at.date().isoformat(),
                    receipt=d.receipt_no or "-",
                )
            )


def cmd_import(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    """Exit status 0: every row went in; 1: some rows were rejected; 2: the import stopped."""
    from pathlib import Path

    from tui_desk.services import importer
    from tui_desk.services.agents import resolve_actor
    from tui_desk.services.errors import UnknownAgent

    login = current_login()
    actor: Actor | None
    if settings.agent:
        actor = acting_agent(db, settings)
    else:
        # Imports run from the bank's batch accounts too: an OS login that is no agent
        # still imports (recorded as who started it); an agent's login acts as the agent.
        try:
            actor = resolve_actor(db, login)
        except UnknownAgent:
            actor = None
    profile = _profile(settings)
    sources: list[str] = [f"csv:{f}" for f in args.csv] if args.csv else [args.url]
    rejected = 0
    for source in sources:
        try:
            if source.startswith("csv:"):
                summary = importer.import_csv(
                    db,
                    Path(source[4:]),
                    actor=actor,
                    started_by=login,
                    profile=profile,
                    batch_size=args.batch_size,
                    progress=_import_progress(),
                )
            else:
                summary = importer.import_url(
                    db,
                    source,
                    actor=actor,
                    started_by=login,
                    profile=profile,
                    batch_size=args.batch_size,
                    progress=_import_progress(),
                )
        except importer.ImportFailed as exc:
            print(file=sys.stderr)
            _print_import_summary(exc.summary)
            raise CliError(_("the import stopped: {error}").format(error=exc)) from exc
        print(file=sys.stderr)
        _print_import_summary(summary)
        rejected += summary.rejected
    return 1 if rejected else 0


def dispatch(args: argparse.Namespace) -> int:
    command = args.command or "run"
    if command == "demo":
        cmd_demo(args)
        return 0
    if command == "sms-sandbox":
        return cmd_sms_sandbox(args)
    if command == "pbx-sandbox":
        return cmd_pbx_sandbox(args)
    settings = _settings(args)
    set_language(settings.language)
    db = _open(settings)
    try:
        if command == "run":
            cmd_run(db, settings)
        elif command == "seed":
            cmd_seed(db, args.cases, args.seed)
        elif command == "db":
            from tui_desk.db.migrate import check_schema

            # _open() has already upgraded: both actions end by showing the revision in force.
            print(
                _("schema revision {rev} on {url}").format(rev=check_schema(db), url=db.describe())
            )
        elif command == "agents":
            cmd_agents(args, db)
        elif command == "day-sheet":
            cmd_day_sheet(args, db, settings)
        elif command == "templates":
            cmd_templates(args, db, settings)
        elif command == "import":
            return cmd_import(args, db, settings)
        elif command == "report":
            cmd_report(args, db, settings)
        elif command == "worker":
            from tui_desk.worker.process import run_worker

            return run_worker(db, profile=settings.profile)
    finally:
        db.dispose()
    return 0


def fail(message: str) -> NoReturn:
    print(f"tui-desk: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.lang:
        set_language(args.lang)
    else:
        from tui_desk.config import language_from_env

        set_language(language_from_env())
    try:
        return dispatch(args)
    except (CliError, DatabaseUrlError, DatabaseUnavailable, SchemaError, ServiceError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
