"""Holds in force for supervisors (the board's ``h``): read them, release one with a reason.

Up/Down move, type the reason and ``ctrl+s`` releases the selected hold (audited; a case
stays on hold while it has others), ``o`` selects its case, Escape closes. From the
board the supervisor works no case, so the release's reason also covers writing over an
operator's lease (audited as such). Reads and writes run in thread workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from tui_desk.formatting import label, local
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.failures import ForwardsWorkerErrors, WorkerFailure
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.holds import HeldCase, ReleasedHold


class HoldListModal(ForwardsWorkerErrors, ModalScreen[int | None]):
    """Holds in force, oldest first; dismisses with a case id (``o``) or None."""

    DEFAULT_CSS = """
    HoldListModal { align: center middle; background: $background 60%; }
    HoldListModal > #hl-box {
        width: 110; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HoldListModal #hl-table { height: auto; max-height: 12; }
    HoldListModal Static { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), tooltip=N_("Close the hold list"),
                id="holds.close"),
        Binding("o", "open_case", N_("Open case"), tooltip=N_("Select the hold's case"),
                id="holds.open_case"),
        Binding("ctrl+s", "release", N_("Release"),
                tooltip=N_("Release the selected hold with the reason typed"),
                id="holds.release", priority=True),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.lines: list[HeldCase] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="hl-box"):
            yield Static(Text(_("Holds in force"), style="bold"), id="hl-title")
            yield DataTable[str | Text](id="hl-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="hl-detail")
            yield Input(placeholder=_("reason for the release (required)"), id="hl-reason")
            yield Static(id="hl-status")
            yield Static(
                Text(_("type the reason, ctrl+s release | o open case | Esc"), style="dim"),
                id="hl-hint",
            )

    def on_mount(self) -> None:
        table = self.table
        for key, title in (
            ("since", _("Since")),
            ("until", _("Until")),
            ("kind", _("Kind")),
            ("borrower", _("Borrower")),
            ("case", _("Case")),
            ("by", _("Set by")),
        ):
            table.add_column(title, key=key)
        table.focus()
        self._load()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#hl-table", DataTable)

    @work(thread=True, group="holds", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            lines = self.service.held_cases()
        except ServiceError as exc:
            self.app.call_from_thread(self._status, str(exc), "bold red")
            return
        self.app.call_from_thread(self.show, lines)

    def show(self, lines: Sequence[HeldCase]) -> None:
        self.lines = list(lines)
        table = self.table
        table.clear()
        tz = self.service.timezone
        for line in self.lines:
            table.add_row(
                local(line.set_at, tz, "%m-%d %H:%M"),
                local(line.ends_at, tz, "%m-%d %H:%M") if line.ends_at else _("until released"),
                label("hold_kind", line.kind.value),
                Text(line.borrower_name),
                f"#{line.case_id}",
                Text(line.set_by or "-"),
                key=str(line.hold_id),
            )
        self._status(
            _("{n} in force").format(n=len(self.lines)) if self.lines else _("No holds in force."),
            "dim",
        )
        self._detail()

    @property
    def selected(self) -> HeldCase | None:
        if not self.lines:
            return None
        row = self.table.cursor_row
        return self.lines[row] if 0 <= row < len(self.lines) else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        line = self.selected
        self.query_one("#hl-detail", Static).update(
            Text(line.reason if line else "", style="italic")
        )

    def _status(self, text: str, style: str) -> None:
        self.query_one("#hl-status", Static).update(Text(text, style=style))

    def worker_failed(self, failure: WorkerFailure) -> bool:
        # What was typed stays: the reason is cleared only once the release is saved.
        self._status(failure.reason, "bold red")
        return False

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_case(self) -> None:
        if isinstance(self.focused, Input):
            return
        line = self.selected
        if line is not None:
            self.dismiss(line.case_id)

    def action_release(self) -> None:
        line = self.selected
        if line is None:
            return
        reason = self.query_one("#hl-reason", Input).value.strip()
        if not reason:
            self._status(_("releasing a hold needs a reason"), "bold red")
            self.query_one("#hl-reason", Input).focus()
            return
        self._release(line.hold_id, reason)

    @work(thread=True, group="holds", exclusive=True, exit_on_error=False)
    def _release(self, hold_id: int, reason: str) -> None:
        try:
            released = self.service.release_hold(hold_id, reason, over_lease=True)
            lines = self.service.held_cases()
        except ServiceError as exc:
            self.app.call_from_thread(self._status, str(exc), "bold red")
            return
        self.app.call_from_thread(self._released, released, lines)

    def _released(self, released: ReleasedHold, lines: Sequence[HeldCase]) -> None:
        self.query_one("#hl-reason", Input).value = ""
        self.show(lines)
        self._status(released_text(released), "green")
        self.table.focus()


def released_text(released: ReleasedHold) -> str:
    """What a release did, in words (the case may still be held by another hold)."""
    text = _("Hold released: {kind} (case #{case_id})").format(
        kind=label("hold_kind", released.kind.value), case_id=released.case_id
    )
    if released.case_still_on_hold:
        text += "; " + _("the case is still on hold")
    return text
