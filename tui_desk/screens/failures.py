"""Worker failures have one home: the App's handler of ``Worker.StateChanged``.

A worker reports its state only to the node that started it (the message does not
bubble), so screens mix in ``ForwardsWorkerErrors`` to hand a failed worker on to the
App. The App logs the traceback, shows a notification that names the task in plain words
(``TASKS``, by worker group) and calls the owner's ``worker_failed`` hook, so a form
leaves its saving state and keeps what was typed. A refusal the service explains
(``ServiceError``) is shown as the service wrote it; screens that expect a refusal catch
it in the worker and show it in place, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.worker import Worker, WorkerState

from tui_desk.i18n import N_, _
from tui_desk.services.errors import ServiceError, database_unavailable

if TYPE_CHECKING:
    from textual.dom import DOMNode

    _Node = DOMNode
else:
    _Node = object

TASKS: dict[str, str] = {
    # the desk
    "presence": N_("Telling the boards you are here"),
    "orphans": N_("Counting cases without a next action"),
    "case": N_("Reading the case"),
    "claim": N_("Taking the case"),
    "lease": N_("Keeping the case's lease"),
    "lease-poll": N_("Following who holds the case in hand"),
    "answers": N_("Reading the answers to your override requests"),
    "my-day": N_("Reading your day"),
    "agent-state": N_("Changing your state"),
    "state-poll": N_("Reading your state (another desk of yours may have changed it)"),
    "calendar-poll": N_("Looking for visits booked or changed elsewhere"),
    "calendar": N_("Reading the visit calendar"),
    "visit-action": N_("Working on the visit"),
    "agreement": N_("Working on the agreement"),
    "undo": N_("Undoing the outcome"),
    "reveal": N_("Revealing personal data"),
    "queue-window": N_("Reading the queue"),
    "queue-page": N_("Reading the queue"),
    # forms and dialogs
    "form-save": N_("Saving the form"),
    "supervision-save": N_("Saving the form"),
    "terms-save": N_("Saving the special terms"),
    "contact-save": N_("Logging the contact"),
    "contact-status": N_("Checking the contact rules"),
    "complaints": N_("Working on the complaints"),
    "holds": N_("Working on the holds"),
    "override-grantee": N_("Finding who the override is for"),
    "override-ask": N_("Checking which rules refuse contact"),
    "override-request": N_("Working on the override request"),
    "visit-slots": N_("Looking for free slots"),
    "plan-basis": N_("Reading what the case owes"),
    "adjustment-basis": N_("Reading the repayment plan"),
    "adjustment-pending": N_("Reading the pending adjustment"),
    "sms-preview": N_("Preparing the SMS preview"),
    "sms-outbox": N_("Reading the SMS sent"),
    "dial": N_("Dialing"),
    "followups-load": N_("Reading the follow-ups"),
    "followups-case": N_("Reading the follow-up's case"),
    "case-view": N_("Reading the case"),
    # the board and its screens
    "board-poll": N_("Reading the board"),
    "board-action": N_("Working on the board's case"),
    "audit-page": N_("Reading the audit log"),
    "audit-actions": N_("Reading the audit actions"),
    "report": N_("Preparing the report"),
    # the app
    "db-probe": N_("Asking whether the database is back"),
}
"""What a worker of each group does, in words an operator reads in a notification."""


def task_of(worker: Worker[Any]) -> str:
    text = TASKS.get(worker.group)
    return _(text) if text else _("A background task")


def first_line(error: BaseException | None, limit: int = 200) -> str:
    """The first line of an error's text (its type's name when it has none), cut short."""
    if error is None:
        return "?"
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]


def failure_text(exc: BaseException) -> str:
    """A refusal as the service wrote it; anything else as one line about the database."""
    if isinstance(exc, ServiceError):
        return str(exc)
    if database_unavailable(exc):
        return _("The database is unavailable; try again when it is back.")
    return _("The database did not answer: {error}").format(error=first_line(exc, 160))


@dataclass(frozen=True)
class WorkerFailure:
    """A worker that raised: what it was doing, and what to tell the operator."""

    worker: Worker[Any]
    error: BaseException | None
    task: str
    """What the worker was doing (translated), e.g. "Saving the form"."""
    reason: str
    """Why, in a few words: the service's refusal, "the database is busy, try again", or
    the first line of the error."""
    text: str
    """The notification's sentence: "<task> failed: <reason>" (a refusal as it is)."""
    outage: bool = False
    """The database did not answer (the desk's outage line already says so)."""

    @property
    def group(self) -> str:
        return self.worker.group


@runtime_checkable
class HandlesWorkerFailures(Protocol):
    def worker_failed(self, failure: WorkerFailure) -> bool:
        """Put the screen right after ``failure`` (leave the saving state, say what
        happened in place); True when the screen has shown it so the App need not."""
        ...


class ForwardsWorkerErrors(_Node):
    """Hands every failed worker of this node to the App's one handler."""

    def _on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.post_message(Worker.StateChanged(event.worker, event.state))


OUTAGE_PROBLEM = N_(
    "the database is unavailable; the figures shown are from before it stopped answering"
)
"""A board's poll in an outage: a read, so not "nothing was saved" (the header's outage
line says since when)."""


def under_way(node: DOMNode, group: str) -> bool:
    """A worker of ``group`` started by ``node`` is still running: the polls read one at a
    time, so a slow database is not asked again before it answered."""
    return any(w.group == group and not w.is_finished for w in node.workers)
