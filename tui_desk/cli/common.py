"""What every command shares: settings, the database, the acting agent, one-line errors."""

from __future__ import annotations

import argparse
import datetime as dt
import grp
import os
import pwd
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui_desk.config import (
    Settings,
    data_dir,
    default_database_url,
    demo_database_url,
    load_settings,
)
from tui_desk.db.engine import Database, open_database
from tui_desk.db.migrate import ensure_schema, require_current
from tui_desk.i18n import _

if TYPE_CHECKING:
    from tui_desk.rules.profile import Profile
    from tui_desk.services.context import Actor


ADMIN_GROUP = "tui-desk-admin"


class CliError(Exception):
    """A one-line failure shown as ``tui-desk: <message>`` with exit status 1."""


def current_login() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def may_choose_agent(login: str, is_demo: bool) -> bool:
    """``--agent`` is honoured on a demo database, for root, or for the admin group."""
    if is_demo or os.getuid() == 0:
        return True
    try:
        members = grp.getgrnam(ADMIN_GROUP).gr_mem
    except KeyError:
        return False
    return login in members


def settings_for(args: argparse.Namespace, *, database_url: str | None = None) -> Settings:
    """The settings of this command; a policy profile that cannot be loaded (not a name,
    unknown, broken) is refused here, before any command starts."""
    settings = load_settings(
        database_url=database_url or args.db,
        agent=args.agent,
        language=args.lang,
        profile=args.profile,
    )
    policy_profile(settings)
    return settings


def open_raw(settings: Settings, *, create: bool = False) -> Database:
    """The settings' database as it is (``create``: a missing SQLite file is made)."""
    if create and settings.database_url in (default_database_url(), demo_database_url()):
        data_dir().mkdir(mode=0o770, parents=True, exist_ok=True)
    return open_database(settings.database_url, create=create)


def open_db(settings: Settings, *, create: bool = False, migrate: bool = False) -> Database:
    """The settings' database, its schema checked.

    Only ``db upgrade`` (and the demo, on its own database) changes the schema; every
    other command refuses an old or missing one in one line naming ``tui-desk db
    upgrade``. Only commands that create databases (``db upgrade``, ``demo``) pass
    ``create``: elsewhere a missing SQLite file is a mistyped path, refused in one line.
    The default data folder is made for them on first use; any other folder must exist."""
    db = open_raw(settings, create=create)
    try:
        if migrate:
            ensure_schema(db)
        else:
            require_current(db)
    except BaseException:
        db.dispose()
        raise
    return db


def progress_printer() -> Callable[[str, int, int], None]:
    last = {"t": 0.0}
    started: dict[str, float] = {}

    def show(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        begun = started.setdefault(phase, now)
        if done < total and now - last["t"] < 0.2:
            return
        last["t"] = now
        pct = 100 * done // total if total else 100
        rate = f"{done / (now - begun):>10,.0f}/s" if now > begun and done else ""
        print(
            f"\r  {phase:<14} {done:>10,}/{total:,} ({pct:3d}%) {rate}",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done >= total:
            print(file=sys.stderr)

    return show


def _is_demo(db: Database) -> bool:
    from tui_desk.services.meta import get_meta

    return get_meta(db, "demo") == "1"


def acting_agent(db: Database, settings: Settings, *, default_agent: str | None = None) -> Actor:
    """The agent a command runs as: the OS login, or ``--agent`` where that is honoured."""
    from tui_desk.services.agents import resolve_actor

    login = current_login()
    chosen = settings.agent or default_agent
    if settings.agent and not may_choose_agent(login, _is_demo(db)):
        raise CliError(
            _(
                "--agent is only honoured on a demo database or for administrators; you are {login}"
            ).format(login=login)
        )
    return resolve_actor(db, chosen or login)


def command_actor(db: Database, settings: Settings, *, bootstrap: bool = False) -> Actor | None:
    """The agent a command acts as; every command is an agent's act, checked and audited
    with that agent by the services.

    ``bootstrap``: on a database without an active administrator, the host's administrator
    (root or the ``tui-desk-admin`` group), not naming an agent, acts as the system (None)
    to set up the first one; the OS login is kept in the audit event.
    """
    from tui_desk.services.agents import has_administrator

    host_admin = not settings.agent and may_choose_agent(current_login(), False)
    if bootstrap and host_admin and not has_administrator(db):
        return None
    return acting_agent(db, settings)


def require_host_admin(db: Database, what: str) -> None:
    """Commands that are the host's, not an agent's (seeding): root or the admin group,
    or anyone on a demo database."""
    login = current_login()
    if not may_choose_agent(login, _is_demo(db)):
        raise CliError(
            _(
                "{what} is for the host's administrators (root or group {group}); you are {login}"
            ).format(what=what, group=ADMIN_GROUP, login=login)
        )


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(_("invalid date {text!r}: use YYYY-MM-DD").format(text=text)) from None


def policy_profile(settings: Settings) -> Profile:
    from tui_desk.rules.profile import ProfileError, load_profile

    try:
        return load_profile(settings.profile)
    except ProfileError as exc:
        raise CliError(str(exc)) from exc
