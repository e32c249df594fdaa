"""The follow-up list (回访, step 7): what falls due within a week, and what was missed.

All by keyboard: Up/Down move, Enter opens a small form to mark the follow-up done (a note
is required), ``o`` closes the list and selects that case on the desk, ``a`` switches
between my follow-ups and everyone's (supervisors), ``r`` reads the list again, Escape
closes. The list is read in a thread worker; nothing here touches the database.
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
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from tui_desk.formatting import label, month_day
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.failures import ForwardsWorkerErrors
from tui_desk.screens.form import FieldProblem, Save
from tui_desk.services.desk import DeskService
from tui_desk.views.case import CaseBundle
from tui_desk.views.followups import FollowUpLine

STATUS_LABELS = {
    "scheduled": N_("scheduled"),
    "done": N_("done"),
    "missed": N_("missed"),
    "cancelled": N_("cancelled"),
}


def status_label(value: str) -> str:
    text = STATUS_LABELS.get(value)
    return _(text) if text else value


class FollowUpDoneModal(CaseFormModal):
    """Mark one follow-up done, with a note on what was found."""

    FORM_TITLE = N_("Follow-up done")

    def __init__(self, service: DeskService, bundle: CaseBundle, line: FollowUpLine) -> None:
        super().__init__(service, bundle)
        self.line = line

    def intro(self) -> Text:
        line = self.line
        text = _("{channel} follow-up due {day} ({status}), owner {owner}").format(
            channel=label("channel", line.channel),
            day=line.due_on.isoformat(),
            status=status_label(line.status),
            owner=line.owner_name or "-",
        )
        return Text(text, style="yellow" if line.status == "missed" else "dim")

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (
                _("Note"),
                Input(placeholder=_("what was found (required)"), id="fu-note", compact=True),
            ),
        )

    def prepare(self) -> Save:
        note = self.value("fu-note").strip()
        if not note:
            raise FieldProblem("fu-note", _("a follow-up needs a note on what was found"))
        follow_up_id = self.line.follow_up_id

        def write() -> str:
            next_due = self.service.complete_follow_up(follow_up_id, note=note)
            done = _("Follow-up done")
            if next_due is not None:
                return done + "; " + _("next on {day}").format(day=next_due.isoformat())
            return done

        return write


class FollowUpListModal(ForwardsWorkerErrors, ModalScreen[int | None]):
    """The agent's follow-ups due within a week plus missed ones; dismisses with a case id
    (``o``: select that case on the desk) or None."""

    DEFAULT_CSS = """
    FollowUpListModal {
        align: center middle;
        background: $background 60%;
    }
    FollowUpListModal > #fu-box {
        width: 100;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    FollowUpListModal #fu-title, FollowUpListModal #fu-status, FollowUpListModal #fu-hint {
        height: auto;
    }
    FollowUpListModal #fu-table {
        height: auto;
        max-height: 16;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), tooltip=N_("Close the follow-up list"),
                id="followups.close"),
        Binding("o", "open_case", N_("Open case"),
                tooltip=N_("Close the list and select the follow-up's case"),
                id="followups.open_case"),
        Binding("a", "toggle_scope", N_("Mine/all"),
                tooltip=N_("Supervisors: my follow-ups or everyone's"),
                id="followups.toggle_scope"),
        Binding("r", "reload", N_("Refresh"), tooltip=N_("Read the list again"),
                id="followups.reload"),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.mine = True
        self.lines: list[FollowUpLine] = []
        self.loaded = False
        self.opening = False

    def compose(self) -> ComposeResult:
        with Vertical(id="fu-box"):
            yield Static(id="fu-title")
            table: DataTable[str | Text] = DataTable(
                id="fu-table", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static(Text(_("Reading follow-ups..."), style="dim"), id="fu-status")
            hint = _("Enter mark done | o open case | r refresh | Esc close")
            if self.service.can_see_all_follow_ups():
                hint = _("Enter mark done | o open case | a mine/all | r refresh | Esc close")
            yield Static(Text(hint, style="dim"), id="fu-hint")

    def on_mount(self) -> None:
        table = self.table
        table.add_column(_("Due"), key="due")
        table.add_column(_("Late"), key="late")
        table.add_column(_("Status"), key="status")
        table.add_column(_("Borrower"), key="borrower")
        table.add_column(_("Case"), key="case")
        table.add_column(_("Type"), key="channel")
        table.add_column(_("Owner"), key="owner")
        self._title()
        table.focus()
        self._load_follow_ups()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#fu-table", DataTable)

    def _title(self) -> None:
        scope = _("mine") if self.mine else _("everyone's")
        self.query_one("#fu-title", Static).update(
            Text(_("Follow-ups (回访): due within a week and missed - {scope}").format(scope=scope),
                 style="bold")
        )  # fmt: skip

    # --- data ---------------------------------------------------------------------------

    @work(thread=True, group="followups-load", exclusive=True, exit_on_error=False)
    def _load_follow_ups(self) -> None:
        try:
            lines = self.service.follow_ups(mine=self.mine)
        except Exception as exc:  # shown, never raised: the list stays usable
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            self.app.call_from_thread(self._problem, first)
            return
        self.app.call_from_thread(self.show, lines)

    def show(self, lines: Sequence[FollowUpLine]) -> None:
        table = self.table
        keep = self.selected
        table.clear()
        self.lines = list(lines)
        for line in self.lines:
            late_style = "bold red" if line.status == "missed" else "yellow"
            table.add_row(
                month_day(line.due_on),
                Text(str(line.days_overdue), style=late_style) if line.days_overdue else "",
                Text(status_label(line.status), style=late_style)
                if line.status == "missed"
                else status_label(line.status),
                line.borrower_name,
                f"#{line.case_id}",
                label("channel", line.channel),
                line.owner_name or "-",
                key=str(line.follow_up_id),
            )
        if keep is not None:
            for row, line in enumerate(self.lines):
                if line.follow_up_id == keep.follow_up_id:
                    table.move_cursor(row=row)
                    break
        missed = sum(1 for line in self.lines if line.status == "missed")
        if self.lines:
            status = Text(
                _("{n} follow-ups, {missed} missed").format(n=len(self.lines), missed=missed),
                style="dim",
            )
        else:
            status = Text(_("No follow-up due within a week, none missed."), style="dim")
        self.query_one("#fu-status", Static).update(status)
        self.loaded = True

    def _problem(self, text: str) -> None:
        self.loaded = True
        self.query_one("#fu-status", Static).update(
            Text(_("The database did not answer: {error}").format(error=text), style="red")
        )

    @property
    def selected(self) -> FollowUpLine | None:
        if not self.lines:
            return None
        row = self.table.cursor_row
        return self.lines[row] if 0 <= row < len(self.lines) else None

    # --- keys ---------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_case(self) -> None:
        line = self.selected
        if line is not None:
            self.dismiss(line.case_id)

    def action_toggle_scope(self) -> None:
        if not self.service.can_see_all_follow_ups():
            self.notify(_("Only a supervisor sees everyone's follow-ups"), severity="warning")
            return
        self.mine = not self.mine
        self._title()
        self.action_reload()

    def action_reload(self) -> None:
        self.loaded = False
        self._load_follow_ups()

    @on(DataTable.RowSelected, "#fu-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        line = self.selected
        if line is None or self.opening:
            return
        self.opening = True
        self._load_case(line)

    @work(thread=True, group="followups-case", exclusive=True, exit_on_error=False)
    def _load_case(self, line: FollowUpLine) -> None:
        try:
            bundle = self.service.case(line.case_id)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            self.app.call_from_thread(self._case_problem, first)
            return
        self.app.call_from_thread(self._open_form, bundle, line)

    def _case_problem(self, text: str) -> None:
        self.opening = False
        self._problem(text)

    def _open_form(self, bundle: CaseBundle, line: FollowUpLine) -> None:
        self.app.push_screen(FollowUpDoneModal(self.service, bundle, line), self._form_closed)

    def _form_closed(self, summary: str | None) -> None:
        self.opening = False
        if summary:
            self.notify(summary)
            self.action_reload()
