"""Errors a service raises; each message is a clear sentence for the operator."""

from __future__ import annotations

from tui_desk.errors import ServiceError as ServiceError  # the base, free of the services


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class StaleEdit(ServiceError):
    """Someone else changed the record since it was read (version check)."""


class RuleRefused(ServiceError):
    """A policy rule forbids the action; the message names the rule."""


class UnknownAgent(ServiceError):
    pass
