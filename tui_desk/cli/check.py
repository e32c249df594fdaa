"""`check`: is the database consistent? A readable list of what is not; exit 1 if anything."""

from __future__ import annotations

import argparse
import sys

import tui_desk.cli.common as common
from tui_desk.cli.common import acting_agent, policy_profile
from tui_desk.cli.parser import EXIT_FAILED
from tui_desk.clock import utcnow
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _, ngettext
from tui_desk.rules.permissions import Action


def printable(text: str) -> str:
    """Stored text (names, logins) with terminal control characters shown as ``?``."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def cmd_check(args: argparse.Namespace, db: Database, settings: Settings) -> int:
    from tui_desk.services.consistency import run_checks

    # The host's administrators (cron, root) check as the host; anyone else as an agent
    # who may see every case's figures (supervisors and administrators).
    if settings.agent or not common.may_choose_agent(common.current_login(), False):
        acting_agent(db, settings).require(Action.RUN_REPORTS)
    only = args.only or None
    report = run_checks(
        db, now=utcnow(), profile=policy_profile(settings), only=only, limit=args.limit
    )
    out = sys.stdout
    for result in report.results:
        mark = "ok " if result.count == 0 else "!! "
        line = f"{mark}{result.check:<11} {result.title}"
        if result.count:
            line += "  " + ngettext("({n} problem)", "({n} problems)", result.count).format(
                n=result.count
            )
        out.write(line + "\n")
        for problem in result.problems:
            # Stored text is untrusted on output (names, logins).
            out.write(f"    {printable(problem.message)}\n")
        hidden = result.count - len(result.problems)
        if hidden > 0:
            out.write("    " + _("... and {n} more").format(n=hidden) + "\n")
    seconds = sum(r.seconds for r in report.results)
    if report.clean:
        out.write(_("consistent: no problems found ({secs:.1f} s)").format(secs=seconds) + "\n")
        return 0
    out.write(
        ngettext(
            "{n} problem found ({secs:.1f} s)", "{n} problems found ({secs:.1f} s)",
            report.problem_count,
        ).format(n=report.problem_count, secs=seconds)
        + "\n"
    )  # fmt: skip
    return EXIT_FAILED
