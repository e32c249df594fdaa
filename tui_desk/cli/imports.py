"""`import`: borrowers, accounts and payments from the loan system (CSV files or a feed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import tui_desk.cli.common as common
from tui_desk.cli.common import (
    ADMIN_GROUP,
    CliError,
    acting_agent,
    policy_profile,
    progress_printer,
)
from tui_desk.cli.parser import EXIT_FAILED
from tui_desk.clock import utcnow
from tui_desk.collector import paced_for_import
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action

if TYPE_CHECKING:
    from tui_desk.services.context import Actor
    from tui_desk.services.importer import ImportSummary


def _import_progress() -> Callable[[int, int | None], None]:
    show = progress_printer()

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
    """Exit status 0: every row went in; 1: some rows were rejected, or the import stopped."""
    from pathlib import Path

    from tui_desk.services import importer
    from tui_desk.services.agents import resolve_actor
    from tui_desk.services.errors import UnknownAgent

    login = common.current_login()
    actor: Actor | None
    if settings.agent:
        actor = acting_agent(db, settings)
    else:
        # Imports are administrators' work. The bank's batch account may run them as the
        # system when the host lets it (root or the admin group): recorded as who
        # started it. An agent's login acts as the agent.
        try:
            actor = resolve_actor(db, login)
        except UnknownAgent:
            if not common.may_choose_agent(login, False):
                raise CliError(
                    _(
                        "{login} is not a tui-desk agent: imports are run by administrators "
                        "(or by a batch account in group {group})"
                    ).format(login=login, group=ADMIN_GROUP)
                ) from None
            actor = None
    if actor is not None:
        actor.require(Action.IMPORT_DATA)
    profile = policy_profile(settings)
    sources: list[str] = [f"csv:{f}" for f in args.csv] if args.csv else [args.url]
    # What exists now (modules, metadata, the engine) lives until the process ends: out of
    # the collector's sight, each full collection walks only what the import holds (at
    # 100,000 rows, 26 full collections of the ~130,000 objects loaded cost 3 s), and the
    # young collections are spaced for an import's chunks (``paced_for_import``).
    with paced_for_import():
        rejected = 0
        for source in sources:
            try:
                if source.startswith("csv:"):
                    summary = importer.import_csv(
                        db,
                        Path(source[4:]),
                        actor=actor,
                        started_by=login,
                        now=utcnow(),
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
                        now=utcnow(),
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
    return EXIT_FAILED if rejected else 0
