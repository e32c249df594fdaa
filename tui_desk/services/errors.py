"""Errors a service raises; each message is a clear sentence for the operator."""

from __future__ import annotations

import datetime as dt

from tui_desk.errors import ServiceError as ServiceError  # the base, free of the services


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached (an outage to wait out,
    shown as such), as opposed to a refusal or a fault; for the screens, which do not
    import the database layer. The check loads it only when an error is judged: this
    module stays light for the widgets' and views' imports."""
    from tui_desk.db.engine import database_unreachable

    return database_unreachable(error)


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class StaleEdit(ServiceError):
    """Someone else changed the record since it was read (version check)."""


class RuleRefused(ServiceError):
    """A policy rule forbids the action; the message names the rule in words and
    ``rule`` holds its code, where there is one (``daily_call_cap``), for the program."""

    def __init__(self, message: str = "", *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class UnknownAgent(ServiceError):
    pass


class LeaseHeld(ServiceError):
    """Someone else is working the case right now (the desk may still show it read-only)."""

    def __init__(self, message: str, *, holder_name: str, until: dt.datetime) -> None:
        super().__init__(message)
        self.holder_name = holder_name
        self.until = until


class Overpayment(ServiceError):
    """A payment above what the case owes, not confirmed as an overpayment."""

    def __init__(self, message: str, *, owed_minor: int, excess_minor: int) -> None:
        super().__init__(message)
        self.owed_minor = owed_minor
        self.excess_minor = excess_minor
