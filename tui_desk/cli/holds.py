"""`holds`: list the holds in force, release one case's holds (supervisors; audited)."""

from __future__ import annotations

import argparse
import unicodedata
from zoneinfo import ZoneInfo

from tui_desk import clock
from tui_desk.cli.common import acting_agent, policy_profile
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.services.context import Context


def _printable(text: str | None) -> str:
    """Stored text on a terminal: control and format characters become spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in (text or ""))


def cmd_holds(args: argparse.Namespace, db: Database, settings: Settings) -> None:
    from tui_desk.services import holds

    profile = policy_profile(settings)
    ctx = Context(db, acting_agent(db, settings), clock.utcnow, profile)
    zone = ZoneInfo(profile.office_timezone)
    if args.holds_command == "list":
        rows = holds.held_cases(ctx, case_id=args.case)
        for h in rows:
            ends = (
                h.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if h.ends_at
                else _("until released")
            )
            print(
                f"#{h.case_id:<8} {h.kind.value:<16} "
                f"{h.set_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')}  {ends:<16}  "
                f"{_printable(h.borrower_name)}: {_printable(h.reason)}"
            )
        if not rows:
            print(_("no holds in force"))
        return
    released = holds.release_case_holds(
        ctx,
        args.case,
        args.reason,
        kind=args.kind,
        # From the command line the supervisor holds no lease: the release's reason also
        # covers writing over an operator's (audited as an override).
        override_reason=args.reason,
    )
    for r in released:
        print(
            _("released the {kind} hold on case {case_id}").format(
                kind=r.kind.value, case_id=r.case_id
            )
        )
    if released and released[-1].case_still_on_hold:
        print(_("case {case_id} is still on hold").format(case_id=args.case))
