"""Errors a service raises; each message is a clear sentence for the operator."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused or failed action; ``str(error)`` is shown to the user as is."""


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
