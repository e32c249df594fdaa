"""`report` and `day-sheet`: reports of a period, a field collector's visits of one day."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tui_desk.cli.common import CliError, acting_agent, parse_day, policy_profile
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Role
from tui_desk.files import write_private_text
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services.context import Context


def cmd_day_sheet(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from tui_desk.clock import utcnow
    from tui_desk.exports.day_sheet import render_markdown, render_text
    from tui_desk.services import visits
    from tui_desk.services.agents import find_agent

    profile = policy_profile(settings)
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
    sheet = visits.day_sheet(Context.frozen(db, actor, now, profile), collector.id, day)
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
        write_private_text(Path(args.out), text)
    except OSError as exc:
        raise CliError(
            _("cannot write {path}: {error}").format(path=args.out, error=exc.strerror or exc)
        ) from exc
    print(
        _("wrote the day sheet of {login} for {day} ({n} visits) to {path}").format(
            login=collector.login, day=day.isoformat(), n=len(sheet.visits), path=args.out
        )
    )


def cmd_report(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    """``report list`` | ``report NAME --from DAY --to DAY [--csv FILE]`` (office days)."""
    from tui_desk.services import reports

    actor = acting_agent(db, settings)
    actor.require(Action.RUN_REPORTS)
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
    table = reports.report_for(
        actor,
        db,
        args.name,
        date_from=parse_day(args.date_from),
        date_to=parse_day(args.date_to),
        profile=policy_profile(settings),
        now=utcnow(),
    )
    if not args.csv:
        sys.stdout.write(reports.render_text(table))
        return
    try:
        # The BOM lets spreadsheet programs recognise UTF-8 (Chinese names) on opening.
        write_private_text(Path(args.csv), reports.to_csv(table), encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(
            _("cannot write {path}: {error}").format(path=args.csv, error=exc.strerror or exc)
        ) from exc
    print(
        _("wrote {name} ({n} rows) to {path}").format(
            name=args.name, n=len(table.rows), path=args.csv
        )
    )
