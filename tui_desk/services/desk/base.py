"""What every part of the desk facade shares: who is asking, the clock, the profile.

A part is a small class of the desk's use cases of one area; ``DeskService`` is all of
them bound to one agent. Use cases whose arguments the screens pass as they are become
one line: ``confirm_visit = use_case(visits.confirm_visit)`` binds the desk's context
as the first argument. The rest translate the screens' codes (channels, kinds, stages
travel as strings) or combine reads.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload

from sqlalchemy import select

from tui_desk.config import data_dir
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent
from tui_desk.i18n import _
from tui_desk.rules.profile import Profile
from tui_desk.services.case_facts import office_today
from tui_desk.services.case_view import database_kind
from tui_desk.services.context import Actor, Clock, Context
from tui_desk.services.errors import NotFound
from tui_desk.services.validation import (
    InvalidInput,
    check_choice,
    check_optional_id,
    check_text,
)

P = ParamSpec("P")
R = TypeVar("R")
_E = TypeVar("_E", bound=enum.Enum)


class _HasContext(Protocol):
    @property
    def ctx(self) -> Context: ...


class use_case(Generic[P, R]):  # noqa: N801 - used like a decorator
    """A use case as a method: the instance's context goes in as the first argument."""

    def __init__(self, function: Callable[Concatenate[Context, P], R]) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: _HasContext, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(self, instance: _HasContext | None, owner: type[Any]) -> Self | Callable[P, R]:
        if instance is None:
            return self
        return functools.partial(self.function, instance.ctx)


def enum_value(kind: type[_E], value: str, what: str) -> _E:
    """The code a screen sent, or a refusal naming the field (``what``) and the choices."""
    return check_choice(what, value, kind)


class DeskPart:
    """The state every part reads; ``DeskService`` declares it as dataclass fields."""

    db: Database
    actor: Actor
    profile: Profile
    clock: Clock
    export_dir: Path | None
    print_command: str
    desk_id: str

    @property
    def ctx(self) -> Context:
        """The use-case context of this desk: its database, agent, clock and profile."""
        return Context(self.db, self.actor, self.clock, self.profile)

    @property
    def timezone(self) -> str:
        return self.profile.office_timezone

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return office_today(self.now(), self.timezone)

    def database_answers(self) -> None:
        """Ask the database the smallest question; raises when it cannot answer."""
        with self.db.read() as s:
            s.execute(select(1))

    @property
    def database_kind(self) -> str:
        """The engine name shown in the desk's header line."""
        return database_kind(self.db)

    @property
    def phone_region(self) -> str:
        """The country a number typed without a country code belongs to (the profile's)."""
        return self.profile.country

    @property
    def lease_minutes(self) -> int:
        """How long a claim lasts unless renewed (the policy profile says)."""
        return self.profile.lease_minutes

    def _collector(self, collector_id: int | None, login: str | None) -> tuple[int, str]:
        check_optional_id("collector_id", collector_id)
        if collector_id is None and check_text("collector_login", login, 64) is None:
            raise InvalidInput("collector_id", _("is required"))
        with self.db.read() as s:
            stmt = select(Agent)
            if collector_id is not None:
                stmt = stmt.where(Agent.id == collector_id)
            else:
                stmt = stmt.where(Agent.login == (login or "").strip())
            agent = s.scalars(stmt).first()
            if agent is None:
                raise NotFound(_("no agent with login {login!r}").format(login=login))
            return agent.id, agent.name

    @property
    def exports_folder(self) -> Path:
        """Where this agent's exports (day sheets, agreements, reports) are written: their
        own folder under the configured exports folder, which the desk's group can read
        (an operator restricted to the desk over SSH collects them from there)."""
        return (self.export_dir or data_dir() / "exports") / self.actor.login
