"""The error a refused or failed action raises; its message is shown to the user as is.

It lives apart from the services so that a widget can tell it from an unexpected failure
without importing the service layer; ``tui_desk.services.errors`` builds its kinds on it.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refused or failed action; ``str(error)`` is shown to the user as is."""
