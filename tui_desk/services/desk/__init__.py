"""The desk's use cases bound to the agent at the desk: ``DeskService``.

Screens hold this instead of a ``Database`` so that nothing above the service layer can
open a session. Every method is blocking: call it from a thread worker. It is made of
one small part per area (``queue``, ``case``, ``casework``, ``visits``, ``plans``,
``supervision``, ``states``), each a class of this package over ``DeskPart``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tui_desk.clock import utcnow
from tui_desk.db.engine import Database
from tui_desk.rules.profile import Profile
from tui_desk.services.context import Actor, Clock
from tui_desk.services.desk.case import CaseDesk
from tui_desk.services.desk.casework import CaseworkDesk
from tui_desk.services.desk.plans import PlanDesk
from tui_desk.services.desk.queue import QueueDesk
from tui_desk.services.desk.states import StateDesk
from tui_desk.services.desk.supervision import SupervisionDesk
from tui_desk.services.desk.visits import VisitDesk

__all__ = ["DeskService"]


@dataclass(frozen=True)
class DeskService(
    QueueDesk, CaseDesk, CaseworkDesk, VisitDesk, PlanDesk, SupervisionDesk, StateDesk
):
    """What the desk screen may ask of the database, bound to who is asking.

    Codes (channels, kinds, stages...) cross this boundary as their string values, so the
    UI never imports the model enums; ``clock`` is the one place the desk reads the time
    (tests freeze it).
    """

    db: Database
    actor: Actor
    profile: Profile
    clock: Clock = utcnow
    export_dir: Path | None = None
    """Where exports are written (a folder per agent under it); default: the data
    folder's exports/."""
    print_command: str = "lp"
    """The command that prints a file (the file is its last argument)."""
    desk_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This desk (one process per SSH session) in the presence table."""
