"""The one place the wall clock is read; services accept ``now`` so tests can freeze time."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
