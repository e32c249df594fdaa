"""Open complaints for supervisors (process step 10): read, investigate, resolve, dismiss.

Up/Down move, ``i`` marks the complaint under investigation, ``ctrl+s`` resolves or
dismisses it with the resolution written down, ``o`` selects its case on the desk, Escape
closes. Deciding a complaint that put its case on hold asks whether the hold ends with it
(the answer goes to the service; no answer keeps it). Reads and writes go through the
desk service in thread workers.
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
from tui_desk.screens.confirm import ConfirmModal
from tui_desk.screens.failures import ForwardsWorkerErrors, WorkerFailure
from tui_desk.screens.hold_modal import released_text
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.complaints import ComplaintLine
from tui_desk.views.holds import ReleasedHold
from tui_desk.widgets.choice import Choice

STATUS = {
    "open": N_("open"),
    "investigating": N_("investigating"),
    "resolved": N_("resolved"),
    "dismissed": N_("dismissed"),
}


class ComplaintListModal(ForwardsWorkerErrors, ModalScreen[int | None]):
    """Open complaints, newest first; dismisses with a case id (``o``) or None."""

    DEFAULT_CSS = """
    ComplaintListModal { align: center middle; background: $background 60%; }
    ComplaintListModal > #cl-box {
        width: 110; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ComplaintListModal #cl-table { height: auto; max-height: 12; }
    ComplaintListModal Static { height: auto; }
    ComplaintListModal .cl-row { height: 1; }
    ComplaintListModal .cl-row Input, ComplaintListModal .cl-row Choice { width: 1fr; }
    ComplaintListModal .cl-label { width: 12; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), tooltip=N_("Close the complaint list"),
                id="complaints.close"),
        Binding("i", "investigate", N_("Investigate"),
                tooltip=N_("Mark the complaint under investigation"), id="complaints.investigate"),
        Binding("o", "open_case", N_("Open case"), tooltip=N_("Select the complaint's case"),
                id="complaints.open_case"),
        Binding("ctrl+s", "decide", N_("Decide"),
                tooltip=N_("Resolve or dismiss with the resolution written"),
                id="complaints.decide", priority=True),
        Binding("tab", "next_field", N_("Next field"),
                tooltip=N_("Between the resolution and the decision; the text typed stays"),
                id="complaints.next_field", show=False, priority=True),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.lines: list[ComplaintLine] = []
        self._warned = False

    def compose(self) -> ComposeResult:
        with Vertical(id="cl-box"):
            yield Static(Text(_("Open complaints"), style="bold"), id="cl-title")
            yield DataTable[str | Text](id="cl-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="cl-detail")
            with Vertical(classes="cl-row"):
                yield Choice(
                    [("resolved", _(STATUS["resolved"])), ("dismissed", _(STATUS["dismissed"]))],
                    id="cl-outcome",
                )
            # Coming back to the resolution must not select it: the next key would replace it.
            yield Input(
                placeholder=_("resolution: what was found and done"),
                id="cl-resolution",
                select_on_focus=False,
            )
            yield Static(id="cl-status")
            yield Static(
                Text(
                    _("i investigate | type the resolution, ctrl+s decide | o open case | Esc"),
                    style="dim",
                ),
                id="cl-hint",
            )

    def on_mount(self) -> None:
        table = self.table
        for key, title in (
            ("received", _("Received")),
            ("status", _("Status")),
            ("borrower", _("Borrower")),
            ("case", _("Case")),
            ("against", _("Against")),
            ("channel", _("Channel")),
        ):
            table.add_column(title, key=key)
        table.focus()
        self._load()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#cl-table", DataTable)

    @work(thread=True, group="complaints", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            lines = self.service.complaints()
        except ServiceError as exc:
            self.app.call_from_thread(self._status, str(exc), "bold red")
            return
        self.app.call_from_thread(self.show, lines)

    def show(self, lines: Sequence[ComplaintLine]) -> None:
        self.lines = list(lines)
        table = self.table
        table.clear()
        tz = self.service.timezone
        for line in self.lines:
            status = _(STATUS[line.status.value])
            table.add_row(
                local(line.received_at, tz, "%m-%d %H:%M"),
                status + (", " + _("case held") if line.held else ""),
                line.borrower_name,
                f"#{line.case_id}",
                line.against or "-",
                label("channel", line.channel.value),
                key=str(line.complaint_id),
            )
        self._status(
            _("{n} open").format(n=len(self.lines)) if self.lines else _("No open complaints."),
            "dim",
        )
        self._detail()

    @property
    def selected(self) -> ComplaintLine | None:
        if not self.lines:
            return None
        row = self.table.cursor_row
        return self.lines[row] if 0 <= row < len(self.lines) else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        line = self.selected
        text = Text(line.description if line else "", style="italic")
        if line is not None and line.held:
            text.append(
                "\n"
                + _("It holds case #{case_id}: deciding it asks whether the hold ends too.").format(
                    case_id=line.case_id
                ),
                style="dim",
            )
        self.query_one("#cl-detail", Static).update(text)

    def _status(self, text: str, style: str) -> None:
        self.query_one("#cl-status", Static).update(Text(text, style=style))

    def worker_failed(self, failure: WorkerFailure) -> bool:
        # What was typed stays: the resolution is cleared only once the decision is saved.
        self._status(failure.reason, "bold red")
        return False

    @property
    def typed(self) -> str:
        """The resolution typed and not yet saved."""
        return self.query_one("#cl-resolution", Input).value.strip()

    def action_next_field(self) -> None:
        """Tab goes from the resolution to the decision and back (and from the list into
        them): it never lands where the next letters typed would act on the list."""
        resolution = self.query_one("#cl-resolution", Input)
        outcome = self.query_one("#cl-outcome", Choice)
        if self.focused is resolution:
            outcome.focus()
        elif self.focused is outcome or self.typed:
            resolution.focus()
        else:
            self.focus_next()

    def _keeps_typed(self) -> bool:
        """Whether a resolution typed and unsaved holds the dialog open (said once)."""
        if not self.typed or self._warned:
            return False
        self._warned = True
        self._status(
            _("The resolution typed is not saved: ctrl+s decides; press again to leave it"),
            "bold yellow",
        )
        self.query_one("#cl-resolution", Input).focus()
        return True

    def action_close(self) -> None:
        if self._keeps_typed():
            return
        self.dismiss(None)

    def action_open_case(self) -> None:
        if isinstance(self.focused, Input) or self._keeps_typed():
            return
        line = self.selected
        if line is not None:
            self.dismiss(line.case_id)

    def action_investigate(self) -> None:
        if isinstance(self.focused, Input | Choice):
            return
        line = self.selected
        if line is not None:
            self._decide(line.complaint_id, "investigating", None)

    def action_decide(self) -> None:
        line = self.selected
        if line is None:
            return
        text = self.query_one("#cl-resolution", Input).value.strip()
        if not text:
            self._status(_("write down how it was resolved"), "bold red")
            self.query_one("#cl-resolution", Input).focus()
            return
        status = self.query_one("#cl-outcome", Choice).value
        if not (line.held and self.service.releases_holds()):
            self._decide(line.complaint_id, status, text)
            return

        def answered(release: bool | None) -> None:
            self._decide(line.complaint_id, status, text, bool(release))

        self.app.push_screen(
            ConfirmModal(
                _("This complaint put case #{case_id} on hold. Release the hold with it?").format(
                    case_id=line.case_id
                )
            ),
            answered,
        )

    @work(thread=True, group="complaints", exclusive=True, exit_on_error=False)
    def _decide(
        self, complaint_id: int, status: str, resolution: str | None, release: bool = False
    ) -> None:
        try:
            released = self.service.decide_complaint(
                complaint_id, status, resolution, release_hold=release
            )
            lines = self.service.complaints()
        except ServiceError as exc:
            self.app.call_from_thread(self._status, str(exc), "bold red")
            return
        self.app.call_from_thread(self._decided, lines, released)

    def _decided(self, lines: Sequence[ComplaintLine], released: Sequence[ReleasedHold]) -> None:
        self.query_one("#cl-resolution", Input).value = ""
        self._warned = False
        self.show(lines)
        if released:
            self._status("; ".join(released_text(r) for r in released), "green")
        self.table.focus()
