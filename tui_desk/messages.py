"""Messages that cross widget boundaries, named in the past tense.

Workers post the ``*Loaded`` messages from their thread (``post_message`` is thread-safe);
they carry only the plain dataclasses of ``tui_desk.views``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

from tui_desk.views.calendar import CalendarView
from tui_desk.views.case import CaseBundle
from tui_desk.views.queue import QueueRow

if TYPE_CHECKING:
    from tui_desk.views.agent_state import AgentStatus
    from tui_desk.views.contacts import ContactStatus, LoggedContact
    from tui_desk.views.hand import LeaseState
    from tui_desk.views.queue import Claim
    from tui_desk.views.supervision import OverrideRequestLine


class CaseSelected(Message):
    """The queue cursor rests on a case (``opened``: the operator pressed Enter on it)."""

    def __init__(self, case_id: int, *, opened: bool = False) -> None:
        super().__init__()
        self.case_id = case_id
        self.opened = opened


class QueueLoaded(Message):
    """A window of the queue arrived from the database."""

    def __init__(self, rows: list[QueueRow], *, limit: int) -> None:
        super().__init__()
        self.rows = rows
        self.limit = limit


class CaseLoaded(Message):
    """Everything the side panes show about one case."""

    def __init__(self, bundle: CaseBundle) -> None:
        super().__init__()
        self.bundle = bundle


class CalendarLoaded(Message):
    """Another day or week of the visit calendar."""

    def __init__(self, view: CalendarView) -> None:
        super().__init__()
        self.view = view


class PersonalDataRevealed(Message):
    """A full personal value came back from the audited reveal."""

    def __init__(self, label: str, value: str) -> None:
        super().__init__()
        self.label = label
        self.value = value


class CaseClaimed(Message):
    """This desk now holds the lease on a case (take next, or claim the selected case)."""

    def __init__(
        self, claim: Claim, *, taken_next: bool, drawn: threading.Event | None = None
    ) -> None:
        super().__init__()
        self.claim = claim
        self.taken_next = taken_next
        # Set once the claim is on screen: the claim's worker reads the case after that,
        # so the read does not compete with drawing the claim.
        self.drawn = drawn or threading.Event()


class NothingToTake(Message):
    """Take next found no case this operator may work now."""


class LeaseRenewed(Message):
    def __init__(self, case_id: int, expires_at: dt.datetime) -> None:
        super().__init__()
        self.case_id = case_id
        self.expires_at = expires_at


class LeaseLost(Message):
    """Renewing the lease failed: someone else holds the case now, or it was released."""

    def __init__(self, case_id: int, reason: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.reason = reason


class ContactStatusLoaded(Message):
    """Whether the borrower may be contacted now on one channel and number."""

    def __init__(self, case_id: int, status: ContactStatus | None, problem: str | None) -> None:
        super().__init__()
        self.case_id = case_id
        self.status = status
        self.problem = problem


class ContactLogged(Message):
    def __init__(self, case_id: int, logged: LoggedContact, summary: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.logged = logged
        self.summary = summary


class CaseWorkSaved(Message):
    """A write on a case went through (payment, hold, registration, document, phone)."""

    def __init__(self, case_id: int, summary: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.summary = summary


class CaseChanged(Message):
    """The case changed under us (a refused stale edit): the desk reads it again."""

    def __init__(self, case_id: int) -> None:
        super().__init__()
        self.case_id = case_id


class LeaseChecked(Message):
    """Who holds the case in hand's lease now (the desk's poll of the case row)."""

    def __init__(self, state: LeaseState, claims: int) -> None:
        super().__init__()
        self.state = state
        self.claims = claims
        """How many claims the desk had made when it asked (a later claim makes it stale)."""


class OverridesAnswered(Message):
    """A supervisor decided some of this operator's override requests."""

    def __init__(self, lines: Sequence[OverrideRequestLine]) -> None:
        super().__init__()
        self.lines = tuple(lines)


class AgentStateChanged(Message):
    """The agent's state as the service stored it after a change the desk asked for
    (``request``: what was asked; ``skipped``: the case a skip recorded, if one did)."""

    def __init__(self, status: AgentStatus, request: str, *, skipped: int | None = None) -> None:
        super().__init__()
        self.status = status
        self.request = request
        self.skipped = skipped


class AgentStateRefused(Message):
    """The service refused a change of state (its reason, a sentence)."""

    def __init__(self, request: str, reason: str) -> None:
        super().__init__()
        self.request = request
        self.reason = reason
