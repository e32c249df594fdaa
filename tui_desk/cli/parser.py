"""The argument parser. Built after the interface language is set, so help is translated."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import Any

from tui_desk import __version__
from tui_desk.cli.serve_board import add_serve_board, serve_board_help
from tui_desk.config import language_from_env, load_settings
from tui_desk.domain import HoldKind
from tui_desk.i18n import _
from tui_desk.rules.roles import Role

EXIT_FAILED = 1
"""A command that was refused or failed; 0 is done, and argparse exits 2 on a usage error."""

DEMO_CASES = 5000
# The checks of `tui-desk check` (services.consistency.CHECKS; a test keeps them equal).
CHECK_NAMES = (
    "balance",
    "agreement",
    "lease",
    "hold",
    "orphan",
    "follow_up",
    "door_money",
    "board_count",
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("not a whole number: {text}").format(text=text)
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1: {text}").format(text=text))
    return value


def interface_language(argv: Sequence[str]) -> str:
    """The language to build the parser in: ``--lang``, else the settings' (file, env, LANG).

    Read before parsing, since the help texts are translated when the parser is built.
    """
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    try:
        return load_settings().language
    except (OSError, ValueError, TypeError):
        # A broken config file is reported by the command itself, as before.
        return language_from_env()


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """A parser whose own words (usage, section titles, -h) are in the interface language.

    Sub-command parsers are made with the same class, so they are translated too.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs.setdefault(
            "epilog", _("exit status:\n  0  done\n  1  refused or failed\n  2  usage error")
        )
        super().__init__(*args, **kwargs)
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = _("show this help message and exit")


def _common(*, top: bool) -> _Parser:
    # Sub-commands repeat the global options; SUPPRESS keeps a value given before the
    # sub-command from being reset to None by the sub-parser's own default.
    default = None if top else argparse.SUPPRESS
    common = _Parser(add_help=False)
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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tui-desk",
        description=_("Terminal desk for overdue-loan collection."),
        parents=[_common(top=True)],
    )
    common = _common(top=False)
    p.add_argument(
        "--version",
        action="version",
        version=f"tui-desk {__version__}",
        help=_("show the version and exit"),
    )
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

    password = agsub.add_parser(
        "password",
        parents=[common],
        help=_("set a supervisor's or administrator's wallboard password (stdin when piped)"),
    )
    password.add_argument("login")

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

    tpl = sub.add_parser("templates", help=_("agreement forms and SMS templates"))
    tplsub = tpl.add_subparsers(dest="templates_command", required=True)
    tplsub.add_parser("list", parents=[common], help=_("list installed forms and versions"))
    install = tplsub.add_parser(
        "install",
        parents=[common],
        help=_("install a new version of a form (supervisors and admins; audited)"),
    )
    install.add_argument("file", metavar="FILE")
    install.add_argument(
        "--sms",
        action="store_true",
        help=_("an SMS template (FILE named <key>.<language>.toml), not an agreement form"),
    )

    chk = sub.add_parser(
        "check",
        parents=[common],
        help=_("check the database is consistent (exit 1 and a list when it is not)"),
    )
    chk.add_argument(
        "--only",
        metavar="CHECK",
        action="append",
        choices=CHECK_NAMES,
        help=_("run only this check (repeatable): {names}").format(names=", ".join(CHECK_NAMES)),
    )
    chk.add_argument(
        "--limit",
        type=_positive,
        default=50,
        help=_("problems listed per check (default 50)"),
    )
    sub.add_parser("worker", parents=[common], help=_("run the time-driven jobs (one leader)"))
    add_serve_board(sub.add_parser("serve-board", parents=[common], help=serve_board_help()))

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
    holds = sub.add_parser("holds", help=_("holds in force and their release (supervisors)"))
    holdsub = holds.add_subparsers(dest="holds_command", required=True)
    hold_list = holdsub.add_parser("list", parents=[common], help=_("list the holds in force"))
    hold_list.add_argument("--case", type=int, metavar="CASE", help=_("only this case's holds"))
    release = holdsub.add_parser(
        "release", parents=[common], help=_("release a case's holds with a reason (audited)")
    )
    release.add_argument("case", type=int, metavar="CASE")
    release.add_argument("--reason", required=True, help=_("why the hold ends (required)"))
    release.add_argument(
        "--kind",
        choices=[k.value for k in HoldKind],
        help=_("only the hold of this kind (default: every hold on the case)"),
    )
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
