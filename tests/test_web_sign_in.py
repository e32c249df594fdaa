"""Wallboard passwords, sign-ins and session tokens, on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, AuditEvent, Role
from tui_desk.services.agents import set_active
from tui_desk.services.context import Actor
from tui_desk.services.errors import PermissionDenied, ServiceError
from tui_desk.services.web_sign_in import (
    SESSION_LENGTH,
    SessionRefused,
    SignInRefused,
    check_session,
    set_password,
    sign_in,
)

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
SECRET = "correct horse battery"


@pytest.fixture
def office(db: Database) -> dict[str, int]:
    f = Factory(db, now=NOW)
    return {
        "sue": f.agent(login="sue", name="Sue", role=Role.SUPERVISOR),
        "ada": f.agent(login="ada", name="Ada", role=Role.ADMIN),
        "ann": f.agent(login="ann", name="Ann"),
    }


def actor(db: Database, login: str) -> Actor:
    with db.read() as s:
        return Actor.of(s.scalars(select(Agent).where(Agent.login == login)).one())


def events(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        found = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
        return found


def test_password_is_stored_as_an_argon2_hash_and_audited(
    db: Database, office: dict[str, int]
) -> None:
    set_password(db, "sue", SECRET, actor=None, now=NOW, host_login="root")
    with db.read() as s:
        stored = s.scalars(select(Agent.password_hash).where(Agent.login == "sue")).one()
    assert stored is not None and stored.startswith("$argon2id$")
    assert SECRET not in stored
    (event,) = events(db, "agent.password")
    assert event.entity_id == office["sue"]
    assert SECRET not in str(event.after) + event.summary


def test_only_supervisors_and_admins_get_a_password(db: Database, office: dict[str, int]) -> None:
    with pytest.raises(PermissionDenied):
        set_password(db, "ann", SECRET, actor=None, now=NOW)
    with pytest.raises(ServiceError, match="at least"):
        set_password(db, "sue", "short", actor=None, now=NOW)
    # A supervisor manages agents but not an administrator's password.
    with pytest.raises(PermissionDenied):
        set_password(db, "ada", SECRET, actor=actor(db, "sue"), now=NOW)
    set_password(db, "ada", SECRET, actor=actor(db, "ada"), now=NOW)
    with pytest.raises(PermissionDenied):
        set_password(db, "sue", SECRET, actor=actor(db, "ann"), now=NOW)


def test_sign_in_grants_a_session_the_database_keeps_judging(
    db: Database, office: dict[str, int]
) -> None:
    set_password(db, "sue", SECRET, actor=None, now=NOW)
    session = sign_in(db, "sue", SECRET, now=NOW, address="127.0.0.1")
    assert session.actor.login == "sue"
    assert session.expires_at == NOW + SESSION_LENGTH
    assert check_session(db, session.token, now=NOW).id == office["sue"]
    (granted,) = events(db, "agent.web_sign_in")
    assert granted.agent_id == office["sue"]
    assert granted.after == {"login": "sue", "address": "127.0.0.1"}

    # Expired, forged, tampered or missing: refused.
    with pytest.raises(SessionRefused):
        check_session(db, session.token, now=session.expires_at)
    body, _sep, signature = session.token.rpartition(".")
    for bad in (None, "", "x", f"{body}.{signature[::-1]}", "a.b.c.d", session.token + "x"):
        with pytest.raises(SessionRefused):
            check_session(db, bad, now=NOW)
    # A new password ends the session; so does a deactivation.
    set_password(db, "sue", SECRET + "!", actor=None, now=NOW)
    with pytest.raises(SessionRefused):
        check_session(db, session.token, now=NOW)
    again = sign_in(db, "sue", SECRET + "!", now=NOW)
    set_active(db, "sue", False, now=NOW)
    with pytest.raises(SessionRefused):
        check_session(db, again.token, now=NOW)


def test_refused_sign_ins_are_audited_and_say_nothing_more(
    db: Database, office: dict[str, int]
) -> None:
    set_password(db, "sue", SECRET, actor=None, now=NOW)
    attempts = [("sue", "wrong password!"), ("nobody", SECRET), ("ann", SECRET), ("ada", SECRET)]
    messages = set()
    for login, password in attempts:
        with pytest.raises(SignInRefused) as refused:
            sign_in(db, login, password, now=NOW, address="10.0.0.9")
        messages.add(str(refused.value))
    assert messages == {"wrong login or password"}
    refusals = events(db, "agent.web_sign_in_refused")
    assert [e.after["login"] for e in refusals if e.after] == [a[0] for a in attempts]
    assert all(e.agent_id is None for e in refusals)
    assert all(SECRET not in str(e.after) + e.summary for e in refusals)
    assert events(db, "agent.web_sign_in") == []
