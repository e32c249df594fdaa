"""`run`, `demo` and `seed`: open the desk, and fill a database with demo data."""

from __future__ import annotations

import argparse
import sys

from tui_desk.cli.common import CliError, acting_agent, open_db, progress_printer, settings_for
from tui_desk.clock import utcnow
from tui_desk.config import Settings, demo_database_url
from tui_desk.db.engine import Database
from tui_desk.i18n import _


def cmd_seed(db: Database, cases: int, seed: int) -> None:
    from tui_desk.demo.seeder import seed_database

    if cases < 1:
        raise CliError(_("--cases must be at least 1"))
    summary = seed_database(db, cases=cases, seed=seed, progress=progress_printer())
    print(
        _("seeded {cases:,} cases ({rows:,} rows) in {secs:.1f} s, {rate:,.0f} rows/s").format(
            cases=cases,
            rows=summary.total_rows,
            secs=summary.elapsed_seconds,
            rate=summary.total_rows / max(summary.elapsed_seconds, 1e-9),
        )
    )


def require_terminal() -> None:
    """The desk draws on a terminal and reads keys from it; without one it cannot work.

    ``ssh -T`` or ``ssh host command`` against the desk's forced command gives it pipes:
    refuse at once, before the desk takes anything, rather than run blind.
    """
    streams = (sys.stdin, sys.stdout, sys.stderr)
    if not all(stream is not None and stream.isatty() for stream in streams):
        raise CliError(
            _("the desk needs a terminal: connect with ssh -t (not -T), from a terminal window")
        )


def cmd_run(db: Database, settings: Settings, *, default_agent: str | None = None) -> None:
    actor = acting_agent(db, settings, default_agent=default_agent)
    require_terminal()
    from tui_desk.collector import quiet_start

    quiet_start()  # until the first frame (see tui_desk.collector)
    from tui_desk.app import run_desk

    run_desk(db, actor, settings)


def cmd_demo(args: argparse.Namespace) -> None:
    from tui_desk.services.agents import list_agents
    from tui_desk.services.meta import set_meta

    if not args.no_open:
        require_terminal()
    settings = settings_for(args, database_url=args.db or demo_database_url())
    db = open_db(settings, create=True, migrate=True)  # the demo keeps its own database current
    if not list_agents(db):
        print(_("creating the demo database at {url}").format(url=db.describe()), file=sys.stderr)
        cmd_seed(db, args.cases, 42)
        set_meta(db, "demo", "1", now=utcnow())
    if args.no_open:
        return
    cmd_run(db, settings, default_agent="demo")
