"""`db upgrade` and `db current`: the database schema."""

from __future__ import annotations

import argparse
import sys

from tui_desk.cli.common import open_raw
from tui_desk.config import Settings
from tui_desk.i18n import _


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """``upgrade``: the one command that changes the schema (under the upgrade lock);
    ``current``: the revision in force, changing nothing."""
    from tui_desk.db.migrate import check_schema, head_revision, upgrade_found

    db = open_raw(settings, create=args.db_command == "upgrade")
    try:
        before = check_schema(db)
        if args.db_command == "upgrade":
            found, after = upgrade_found(db)
            if after != found:
                print(
                    _("schema upgraded from {old} to {new} on {url}").format(
                        old=found or _("(empty)"), new=after, url=db.describe()
                    )
                )
                return 0
            before = after
        print(
            _("schema revision {rev} on {url}").format(rev=before or _("(none)"), url=db.describe())
        )
        if before != head_revision():
            print(
                _("this tui-desk needs {head}: run `tui-desk db upgrade`").format(
                    head=head_revision()
                ),
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        db.dispose()
