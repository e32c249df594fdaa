"""Dialling a number: the number in dialling form and the call that was placed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tui_desk.views.safe import SafeText


@dataclass(frozen=True)
class DialPlan(SafeText):
    """A number to dial by hand: ``display`` to read, ``digits`` to key in."""

    phone_id: int
    masked: str
    display: str
    digits: str


@dataclass(frozen=True)
class DialResult(SafeText):
    contact_id: int
    phone_id: int
    masked: str
    call_ref: str
    channel_id: str
    started_at: dt.datetime
    overrides_used: tuple[str, ...]
