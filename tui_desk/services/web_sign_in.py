"""Signing in to the wallboard in a browser: passwords, sign-ins and session tokens.

Only supervisors and administrators sign in, each with a password set by
``tui-desk agents password LOGIN`` and kept as an Argon2id hash (``argon2-cffi``) in
``agent.password_hash``. Every sign-in, granted or refused, is one write transaction
with its audit event.

A session token names the agent and its expiry and is signed (HMAC-SHA256) with a key
derived from the agent's current password hash, so the database stays the only judge:
every check reads the agent again (active, a supervisor or administrator, a password
set) and a new password, a deactivation or a change of role ends every session at once.
The same token is what the web server hands to the viewer process it starts, so that
process can be started only by someone holding a valid session.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select

from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Role
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.context import Actor
from tui_desk.services.errors import PermissionDenied, ServiceError, UnknownAgent
from tui_desk.services.validation import check_text

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
SESSION_LENGTH = dt.timedelta(hours=12)
BOARD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
_TOKEN_KEY_LABEL = b"tui-desk wallboard session v1\x00"


class SignInRefused(ServiceError):
    """The login or the password is wrong, or the agent may not sign in (one sentence
    for all, so a stranger learns nothing about which)."""


class SessionRefused(ServiceError):
    """The session token is missing, malformed, expired or no longer valid."""


@dataclass(frozen=True)
class WebSession:
    """A granted sign-in: who, the token for the cookie, and when it runs out."""

    actor: Actor
    token: str
    expires_at: dt.datetime


@cache
def _hasher() -> PasswordHasher:
    # Imported on first use: the desk's start-up never needs it.
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _decoy_hash() -> str:
    """A hash to verify against when the login is unknown, so a refusal takes as long
    whether or not the agent exists."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _may_sign_in(agent: Agent | None) -> bool:
    return (
        agent is not None
        and agent.active
        and agent.role in BOARD_ROLES
        and Actor.of(agent).can(Action.VIEW_BOARD)
        and agent.password_hash is not None
    )


def set_password(
    db: Database,
    login: str,
    password: str,
    *,
    actor: Actor | None,
    now: dt.datetime,
    host_login: str | None = None,
) -> None:
    """Set (or replace) the wallboard password of a supervisor or administrator.

    Agent management: ``actor`` needs ``MANAGE_AGENTS`` (``MANAGE_ADMINS`` for an
    administrator's password); None is the host's administrator. Replacing a password
    ends the agent's open sessions (their tokens were signed with the old hash).
    """
    if actor is not None:
        actor.require(Action.MANAGE_AGENTS)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(
            _("a password needs at least {n} characters").format(n=MIN_PASSWORD_LENGTH)
        )
    check_text("password", password, MAX_PASSWORD_LENGTH)
    hashed = _hasher().hash(password)
    with db.write() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login).with_for_update())
        if agent is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        if agent.role not in BOARD_ROLES:
            raise PermissionDenied(
                _("only supervisors and administrators sign in to the wallboard")
            )
        if actor is not None and agent.role is Role.ADMIN:
            actor.require(Action.MANAGE_ADMINS)
        replaced = agent.password_hash is not None
        agent.password_hash = hashed
        after: dict[str, object] = {"password": "replaced" if replaced else "set"}
        if actor is None and host_login:
            after["host_login"] = host_login
        audit.record(
            s,
            actor,
            "agent.password",
            "agent",
            agent.id,
            f"wallboard password {'replaced' if replaced else 'set'} for {login}",
            now=now,
            after=after,
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(password_hash: str, body: str) -> str:
    key = hashlib.sha256(_TOKEN_KEY_LABEL + password_hash.encode("utf-8")).digest()
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def _token(agent: Agent, expires_at: dt.datetime) -> str:
    assert agent.password_hash is not None
    body = ".".join(
        (
            _b64(agent.login.encode("utf-8")),
            str(int(expires_at.timestamp())),
            secrets.token_urlsafe(12),
        )
    )
    return f"{body}.{_signature(agent.password_hash, body)}"


def _clean_address(address: str | None) -> str | None:
    if not address:
        return None
    return "".join(ch for ch in address[:64] if ch.isprintable())


def sign_in(
    db: Database,
    login: str,
    password: str,
    *,
    now: dt.datetime,
    address: str | None = None,
    session_length: dt.timedelta = SESSION_LENGTH,
) -> WebSession:
    """Check a login and password; audited whether granted or refused.

    Refused (``SignInRefused``, one sentence whatever the reason): an unknown or
    inactive login, an agent who is not a supervisor or administrator, no password set,
    a wrong password. The refusal's audit event is committed before it is raised.
    """
    login = "".join(ch for ch in login.strip()[:64] if ch.isprintable())
    where = _clean_address(address)
    hasher = _hasher()
    from argon2.exceptions import InvalidHashError, VerificationError

    with db.write() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        granted = False
        if _may_sign_in(agent):
            assert agent is not None and agent.password_hash is not None
            try:
                granted = hasher.verify(agent.password_hash, password)
            except (VerificationError, InvalidHashError):
                granted = False
            if granted and hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = hasher.hash(password)
        else:
            with contextlib.suppress(VerificationError, InvalidHashError):
                hasher.verify(_decoy_hash(), password)
        details: dict[str, object] = {"login": login, "address": where}
        if granted:
            assert agent is not None
            actor = Actor.of(agent)
            expires_at = now + session_length
            token = _token(agent, expires_at)
            audit.record(
                s,
                actor,
                "agent.web_sign_in",
                "agent",
                agent.id,
                f"{login} signed in to the wallboard from {where or '?'}",
                now=now,
                after=details,
            )
            return WebSession(actor=actor, token=token, expires_at=expires_at)
        audit.record(
            s,
            None,
            "agent.web_sign_in_refused",
            "agent",
            agent.id if agent is not None else None,
            f"wallboard sign-in refused for {login!r} from {where or '?'}",
            now=now,
            after=details,
        )
    raise SignInRefused(_("wrong login or password"))


def record_throttled(db: Database, login: str, *, now: dt.datetime, address: str | None) -> None:
    """Audit that sign-ins for ``login`` from ``address`` are being turned away unchecked
    (too many failures); the server records it once per hold, not per attempt."""
    login = "".join(ch for ch in login.strip()[:64] if ch.isprintable())
    where = _clean_address(address)
    with db.write() as s:
        agent_id = s.scalar(select(Agent.id).where(Agent.login == login))
        audit.record(
            s,
            None,
            "agent.web_sign_in_throttled",
            "agent",
            agent_id,
            f"wallboard sign-ins for {login!r} from {where or '?'} held back",
            now=now,
            after={"login": login, "address": where},
        )


def check_session(db: Database, token: str | None, *, now: dt.datetime) -> Actor:
    """The agent a session token belongs to, read again from the database.

    Refused (``SessionRefused``): no token, a malformed or forged one, an expired one,
    or an agent who may no longer sign in (inactive, another role, password changed).
    """
    refused = SessionRefused(_("please sign in"))
    if not token or len(token) > 400:
        raise refused
    parts = token.split(".")
    if len(parts) != 4:
        raise refused
    try:
        login = _unb64(parts[0]).decode("utf-8")
        expires = int(parts[1])
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    if expires <= now.timestamp():
        raise refused
    with db.read() as s:
        agent = s.scalar(select(Agent).where(Agent.login == login))
        if not _may_sign_in(agent):
            raise refused
        assert agent is not None and agent.password_hash is not None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(_signature(agent.password_hash, body), parts[3]):
            raise refused
        return Actor.of(agent)
