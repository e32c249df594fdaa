"""A fixed office for tests that look at whole screens (the zh_CN walk, the snapshots):
the same rows, ids and clock every run, so what is drawn depends on the code alone.

``NOW`` is a Monday, 10:00 in Shanghai; ``office(db)`` fills a fresh database; ``desk_app``
opens the desk on it with the clock frozen at ``NOW``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.factories import Factory
from tui_desk.app import DeskApp
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import AgreementStatus, Role
from tui_desk.services.context import Actor

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
NAMES = ("欧阳娜娜", "张三", "诸葛孔明明", "王五", "李小龙", "赵敏")


@dataclass(frozen=True)
class Office:
    db: Database
    operator: Actor
    supervisor: Actor
    first: int
    second: int


def office(db: Database) -> Office:
    make = Factory(db, now=NOW)
    operator = make.agent(login="op", name="王小明")
    supervisor = make.agent(login="sup", name="李主管", role=Role.SUPERVISOR)
    zhao = make.collector(login="zhao", name="赵六")
    sun = make.collector(login="sun", name="孙七")
    cases = [
        make.case(
            name=name,
            priority=900 - 100 * i,
            owner_id=operator if i % 2 == 0 else None,
            overdue_minor=99 * 10 ** (i + 2),
            overdue_days=10 + 17 * i,
        )
        for i, name in enumerate(NAMES)
    ]
    first, second = cases[0], cases[1]
    phone = make.phone_ids(make.borrower_of(first))[0]
    make.contact(first, agent_id=operator, phone_id=phone, note="答应周五还款")
    make.contact(second, agent_id=operator, note="无人接听")
    make.appointment(
        first, collector_id=zhao, booked_by_id=operator, starts_at=NOW + dt.timedelta(days=2)
    )
    make.appointment(
        second, collector_id=sun, booked_by_id=operator, starts_at=NOW + dt.timedelta(days=3)
    )
    plan = make.plan(first, created_by_id=operator, paid=1)
    make.agreement(
        first,
        created_by_id=operator,
        plan_id=plan,
        texts=("草稿", "第二版协议：分六期还款"),
        status=AgreementStatus.SIGNED,
        signed=True,
    )
    return Office(
        db=db,
        operator=Actor(id=operator, login="op", name="王小明", role=Role.OPERATOR),
        supervisor=Actor(id=supervisor, login="sup", name="李主管", role=Role.SUPERVISOR),
        first=first,
        second=second,
    )


def desk_app(place: Office, *, supervisor: bool = False) -> DeskApp:
    return DeskApp(
        db=place.db,
        actor=place.supervisor if supervisor else place.operator,
        settings=Settings(database_url=str(place.db.url)),
        clock=lambda: NOW,
    )


def freeze_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The few places that read the wall clock themselves read ``NOW``."""
    import tui_desk.widgets.appointment_calendar as calendar

    monkeypatch.setattr(calendar, "utcnow", lambda: NOW)
