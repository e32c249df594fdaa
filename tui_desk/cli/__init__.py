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
from collections.abc import Sequence
from typing import NoReturn

from tui_desk.cli.agents import cmd_agents
from tui_desk.cli.check import cmd_check
from tui_desk.cli.common import (
    EXIT_FAILED,
    CliError,
    open_db,
    require_host_admin,
    settings_for,
)
from tui_desk.cli.desk import cmd_demo, cmd_run, cmd_seed
from tui_desk.cli.holds import cmd_holds
from tui_desk.cli.imports import cmd_import
from tui_desk.cli.parser import build_parser, interface_language
from tui_desk.cli.reports import cmd_day_sheet, cmd_report
from tui_desk.cli.sandboxes import cmd_pbx_sandbox, cmd_sms_sandbox
from tui_desk.cli.schema import cmd_db
from tui_desk.cli.serve_board import cmd_serve_board
from tui_desk.cli.templates import cmd_templates
from tui_desk.cli.worker import cmd_worker
from tui_desk.config import ConfigError
from tui_desk.db.engine import DatabaseUrlError
from tui_desk.db.migrate import DatabaseUnavailable, SchemaError
from tui_desk.files import SHARED_UMASK
from tui_desk.i18n import set_language
from tui_desk.services.errors import ServiceError


def dispatch(args: argparse.Namespace) -> int:
    command = args.command or "run"
    if command == "demo":
        cmd_demo(args)
        return 0
    if command == "sms-sandbox":
        return cmd_sms_sandbox(args)
    if command == "pbx-sandbox":
        return cmd_pbx_sandbox(args)
    settings = settings_for(args)
    set_language(settings.language)
    if command == "db":
        return cmd_db(args, settings)
    db = open_db(settings)
    try:
        if command == "run":
            cmd_run(db, settings)
        elif command == "seed":
            require_host_admin(db, "seed")
            cmd_seed(db, args.cases, args.seed)
        elif command == "agents":
            cmd_agents(args, db, settings)
        elif command == "day-sheet":
            cmd_day_sheet(args, db, settings)
        elif command == "templates":
            cmd_templates(args, db, settings)
        elif command == "import":
            return cmd_import(args, db, settings)
        elif command == "holds":
            cmd_holds(args, db, settings)
        elif command == "report":
            cmd_report(args, db, settings)
        elif command == "check":
            return cmd_check(args, db, settings)
        elif command == "worker":
            return cmd_worker(db, settings)
        elif command == "serve-board":
            return cmd_serve_board(args, db, settings)
    finally:
        db.dispose()
    return 0


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
    try:
        return dispatch(args)
    except (
        CliError,
        ConfigError,
        DatabaseUrlError,
        DatabaseUnavailable,
        SchemaError,
        ServiceError,
    ) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
