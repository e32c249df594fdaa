"""One operator, one supervisor and one indexed case on SQLite: the world of the Pilot
tests that work a single case through its forms (complaints, holds, payments...)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from tests.factories import Factory
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import Borrower, CollectionCase, Role
from tui_desk.rules.profile import load_profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.search_index import index_borrower

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class OneCaseDesk:
    db: Database
    op: Actor
    sup: Actor
    case: int

    def app(self, actor: Actor) -> DeskApp:
        return DeskApp(
            db=self.db,
            actor=actor,
            settings=Settings(database_url=str(self.db.url)),
            clock=lambda: NOW,
        )

    def ctx(self, actor: Actor) -> Context:
        return Context.frozen(self.db, actor, NOW, load_profile())

    def case_row(self) -> CollectionCase:
        with self.db.read() as s:
            row = s.get(CollectionCase, self.case)
            assert row is not None
            s.expunge(row)
            return row


def one_case_fields(db: Database, *, collector: bool = False) -> tuple[Database, Actor, Actor, int]:
    """Seed the world: agents ``op`` and ``sup`` (and ``col`` when asked), the case of
    欧阳娜娜 owing ¥12,345.67, searchable by name. Returns the fields of a ``OneCaseDesk``."""
    make = Factory(db, now=NOW)
    op = make.agent(login="op")
    sup = make.agent(login="sup", role=Role.SUPERVISOR)
    if collector:
        make.agent(login="col", role=Role.COLLECTOR)
    case = make.case(name="欧阳娜娜")
    with db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
    return (
        db,
        Actor(id=op, login="op", name="op", role=Role.OPERATOR),
        Actor(id=sup, login="sup", name="sup", role=Role.SUPERVISOR),
        case,
    )
