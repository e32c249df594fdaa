"""Facts about the database itself (e.g. that it is a demo database)."""

from __future__ import annotations

import datetime as dt

from tui_desk.db.engine import Database
from tui_desk.db.models import DeskMeta
from tui_desk.services import audit
from tui_desk.services.context import Actor


def get_meta(db: Database, key: str) -> str | None:
    with db.read() as s:
        row = s.get(DeskMeta, key)
        return row.value if row else None


def set_meta(
    db: Database, key: str, value: str, *, now: dt.datetime, actor: Actor | None = None
) -> None:
    with db.write() as s:
        row = s.get(DeskMeta, key)
        before = row.value if row else None
        if row is None:
            s.add(DeskMeta(key=key, value=value))
        else:
            row.value = value
        audit.record(
            s,
            actor,
            "meta.set",
            "desk_meta",
            None,
            f"{key}={value}",
            now=now,
            before={key: before},
            after={key: value},
        )
