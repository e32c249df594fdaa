"""Sign-in throttling: failed attempts counted per login and per address in a window."""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field


@dataclass
class SignInThrottle:
    """At most ``per_login`` failures per login and ``per_address`` per address within
    ``window``; a further attempt is refused before the password is even checked.

    Kept in the server's memory: one server per host answers the wallboard's sign-ins
    (a restart forgets the counts; every attempt stays in the audit trail).
    """

    per_login: int = 5
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    _failures: dict[tuple[str, str], deque[dt.datetime]] = field(default_factory=dict)

    def _recent(self, key: tuple[str, str], now: dt.datetime) -> deque[dt.datetime]:
        found = self._failures.get(key)
        if found is None:
            return deque()
        while found and now - found[0] >= self.window:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def retry_after(self, login: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """None when an attempt may go ahead, else how long until one may."""
        waits = []
        for key, limit in (
            (("login", login), self.per_login),
            (("addr", address), self.per_address),
        ):
            recent = self._recent(key, now)
            if len(recent) >= limit:
                waits.append(recent[len(recent) - limit] + self.window - now)
        return max(waits) if waits else None

    def failed(self, login: str, address: str, now: dt.datetime) -> None:
        for key in (("login", login), ("addr", address)):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 100_000:  # a flood of made-up logins: forget the oldest
            for key in list(self._failures)[:50_000]:
                del self._failures[key]

    def succeeded(self, login: str) -> None:
        self._failures.pop(("login", login), None)
