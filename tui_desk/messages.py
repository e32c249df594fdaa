"""Messages that cross widget boundaries, named in the past tense.

Workers post the ``*Loaded`` messages from their thread (``post_message`` is thread-safe);
they carry only the plain dataclasses of ``tui_desk.services.desk``.
"""

from __future__ import annotations

from textual.message import Message

from tui_desk.services.desk import CalendarWeek, CaseBundle, QueueRow


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
    """Another week of the collector's calendar."""

    def __init__(self, week: CalendarWeek) -> None:
        super().__init__()
        self.week = week


class PersonalDataRevealed(Message):
    """A full personal value came back from the audited reveal."""

    def __init__(self, label: str, value: str) -> None:
        super().__init__()
        self.label = label
        self.value = value
