"""Command line: run the desk, the demo, seeding, schema upgrades, agents and the worker.

Only ``db upgrade`` changes the schema (under a lock, so several at once do it once);
every other command checks it and refuses an old, missing or newer one in one line.
Database problems are reported as one line, never as a traceback.

Exit status (shown in ``--help``): 0 done; 1 refused or failed, with one line on stderr
(``import``: also when some rows were rejected; ``check``: when it found problems); 2 the command line could not be parsed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from tui_desk.cli.parser import EXIT_FAILED, build_parser, interface_language
from tui_desk.files import SHARED_UMASK
from tui_desk.i18n import set_language

if TYPE_CHECKING:
    from tui_desk.config import Settings
    from tui_desk.db.engine import Database


def dispatch(args: argparse.Namespace) -> int:
    """Run the command; each command's modules are imported when it runs, so the desk's
    start (``run``) loads only what the desk needs, with the collector already off."""
    command = args.command or "run"
    if command == "demo":
        from tui_desk.cli.desk import cmd_demo

        cmd_demo(args)
        return 0
    if command == "sms-sandbox":
        from tui_desk.cli.sandboxes import cmd_sms_sandbox

        return cmd_sms_sandbox(args)
    if command == "pbx-sandbox":
        from tui_desk.cli.sandboxes import cmd_pbx_sandbox

        return cmd_pbx_sandbox(args)
    from tui_desk.cli.common import open_db, require_host_admin, settings_for

    settings = settings_for(args)
    set_language(settings.language)
    if command == "db":
        from tui_desk.cli.schema import cmd_db

        return cmd_db(args, settings)
    db = open_db(settings)
    try:
        return _with_database(command, args, db, settings, require_host_admin)
    finally:
        db.dispose()


def _with_database(
    command: str,
    args: argparse.Namespace,
    db: Database,
    settings: Settings,
    require_host_admin: Callable[[Database, str], None],
) -> int:
    if command == "run":
        from tui_desk.cli.desk import cmd_run

        cmd_run(db, settings)
    elif command == "seed":
        from tui_desk.cli.desk import cmd_seed

        require_host_admin(db, "seed")
        cmd_seed(db, args.cases, args.seed)
    elif command == "agents":
        from tui_desk.cli.agents import cmd_agents

        cmd_agents(args, db, settings)
    elif command == "day-sheet":
        from tui_desk.cli.reports import cmd_day_sheet

        cmd_day_sheet(args, db, settings)
    elif command == "templates":
        from tui_desk.cli.templates import cmd_templates

        cmd_templates(args, db, settings)
    elif command == "import":
        from tui_desk.cli.imports import cmd_import

        return cmd_import(args, db, settings)
    elif command == "holds":
        from tui_desk.cli.holds import cmd_holds

        cmd_holds(args, db, settings)
    elif command == "report":
        from tui_desk.cli.reports import cmd_report

        cmd_report(args, db, settings)
    elif command == "check":
        from tui_desk.cli.check import cmd_check

        return cmd_check(args, db, settings)
    elif command == "worker":
        from tui_desk.cli.worker import cmd_worker

        return cmd_worker(db, settings)
    elif command == "serve-board":
        from tui_desk.cli.serve_board import cmd_serve_board

        return cmd_serve_board(args, db, settings)
    return 0


def opens_the_desk(args: argparse.Namespace) -> bool:
    """``run``, or ``demo`` without ``--no-open``: the process becomes the desk."""
    command = args.command or "run"
    return command == "run" or (command == "demo" and not getattr(args, "no_open", False))


def _refusals() -> tuple[type[Exception], ...]:
    """What a command reports as one line (never a traceback)."""
    from tui_desk.cli.common import CliError
    from tui_desk.config import ConfigError
    from tui_desk.db.engine import DatabaseUrlError
    from tui_desk.db.migrate import DatabaseUnavailable, SchemaError
    from tui_desk.services.errors import ServiceError

    return (CliError, ConfigError, DatabaseUrlError, DatabaseUnavailable, SchemaError, ServiceError)


def fail(message: str) -> NoReturn:
    print(f"tui-desk: {message}", file=sys.stderr)
    raise SystemExit(EXIT_FAILED)


def main(argv: Sequence[str] | None = None) -> int:
    # Everything a command creates (the SQLite database with its -wal and -shm, folders) is
    # shared with the desk's group and hidden from other users, whatever umask the login
    # shell or service manager left. Files with personal data are tighter still (files.py).
    os.umask(SHARED_UMASK)
    arguments = sys.argv[1:] if argv is None else list(argv)
    set_language(interface_language(arguments))
    args = build_parser().parse_args(arguments)
    if args.lang:
        set_language(args.lang)
    if opens_the_desk(args):
        from tui_desk.collector import quiet_start

        quiet_start()  # no collections until the desk's first frame (tui_desk.collector)
    refusals = _refusals()
    try:
        return dispatch(args)
    except refusals as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
