"""`db upgrade` and `db current`: the database schema."""

from __future__ import annotations

from tui_desk.db.engine import Database
from tui_desk.i18n import _


def cmd_db(db: Database) -> None:
    from tui_desk.db.migrate import check_schema

    # The database was upgraded when it was opened: both actions end by showing the
    # revision in force.
    print(_("schema revision {rev} on {url}").format(rev=check_schema(db), url=db.describe()))
