"""Contacting the borrower: may the desk contact them now, and what a logged contact gave."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk import formatting
from tui_desk.i18n import _
from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class ContactStatus(SafeText):
    """Whether the borrower may be contacted now; ``phone_id`` is the number it is for."""

    allowed: bool
    rule: str | None
    reason: str
    allowed_from: dt.datetime | None
    phone_id: int | None

    def message(self, timezone: str, now: dt.datetime | None = None) -> str:
        """The reason, with "allowed again from ..." in ``timezone`` when that is known."""
        if self.allowed or self.allowed_from is None:
            return self.reason
        return self.reason + "; " + allowed_again(self.allowed_from, timezone, now)


@dataclass(frozen=True)
class LoggedContact(SafeText):
    contact_id: int
    case_version: int
    promise_id: int | None
    override_used: bool


def allowed_again(moment: dt.datetime, timezone: str, now: dt.datetime | None = None) -> str:
    """When contact is allowed again: the time alone when it is today in ``timezone``
    ("allowed again from 08:00"), else with the date ("... from 2026-03-03 08:00")."""
    return _("allowed again from {when}").format(when=formatting.when(moment, timezone, now))
