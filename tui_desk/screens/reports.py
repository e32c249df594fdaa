"""Reports on screen: pick one, set the period (office days, this month by default), read
the table; ``e`` writes it as CSV under the exports folder and says where.

The reports themselves (definitions, one SQL aggregate each) live in services/reports.py
and are the same ones the ``tui-desk report`` command prints.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.failures import ForwardsWorkerErrors, failure_text
from tui_desk.screens.parsing import InputProblem, parse_past_date
from tui_desk.services.desk import DeskService
from tui_desk.views.reports import ReportTable
from tui_desk.widgets.footer import DeskFooter


def _numeric(value: object) -> bool:
    if isinstance(value, int):
        return True
    text = str(value)
    text = text.replace(":", "") if text.count(":") == 2 else text  # H:MM:SS
    return bool(text) and text.replace(".", "", 1).replace("-", "", 1).replace("%", "").isdigit()


class ReportsScreen(ForwardsWorkerErrors, Screen[None]):
    """The report list, the period, and the chosen report as a table."""

    DEFAULT_CSS = """
    ReportsScreen { layout: vertical; }
    ReportsScreen #reports-title, ReportsScreen #reports-status { height: auto; padding: 0 1; }
    ReportsScreen #reports-period { height: 1; padding: 0 1; }
    ReportsScreen #reports-period Static { width: auto; color: $text-muted; margin: 0 1 0 0; }
    ReportsScreen #reports-period Input { width: 14; margin: 0 2 0 0; background: $boost; }
    ReportsScreen #reports-period Input:focus { background: $primary 30%; }
    ReportsScreen #reports-list {
        height: auto; max-height: 9; border: none; scrollbar-size-vertical: 1;
    }
    ReportsScreen #reports-body { height: 1fr; }
    ReportsScreen #reports-heading { height: 1; padding: 0 1; }
    ReportsScreen #reports-table { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Back"), tooltip=N_("Close the reports"), id="reports.close"),
        Binding("e", "export", N_("Export CSV"),
                tooltip=N_("Write the report shown as CSV under the exports folder"),
                id="reports.export"),
        Binding("ctrl+t", "to_table", N_("Table"), tooltip=N_("Move to the report's rows"),
                id="reports.table"),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.names = service.report_names()
        self.shown: tuple[str, dt.date, dt.date] | None = None
        self.table_data: ReportTable | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        start, end = self.service.report_period()
        yield Static(Text(_("Reports"), style="bold"), id="reports-title")
        with Horizontal(id="reports-period"):
            yield Static(_("From"))
            yield Input(value=start.isoformat(), id="reports-from", compact=True)
            yield Static(_("To"))
            yield Input(value=end.isoformat(), id="reports-to", compact=True)
        yield OptionList(
            *(Option(title, id=name) for name, title in self.names),
            id="reports-list",
        )
        with Vertical(id="reports-body"):
            yield Static(id="reports-heading")
            yield DataTable[Text](id="reports-table", cursor_type="row", zebra_stripes=True)
        yield Static(
            Text(_("Enter runs the report | e export CSV | Tab moves | Esc back"), style="dim"),
            id="reports-status",
        )
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#reports-list", OptionList).focus()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#reports-table", DataTable)

    def _status(self, text: str, style: str = "dim") -> None:
        self.query_one("#reports-status", Static).update(Text(text, style=style))

    def period(self) -> tuple[dt.date, dt.date] | None:
        """The period typed, or None after saying what is wrong (the field takes the focus)."""
        today = self.service.today()
        days: list[dt.date] = []
        for field_id, caption in (("reports-from", _("from")), ("reports-to", _("to"))):
            field = self.query_one(f"#{field_id}", Input)
            try:
                days.append(parse_past_date(field.value, today))
            except InputProblem as problem:
                self._clear_result()
                self._status(f"{caption}: {problem}", "bold red")
                field.focus()
                return None
        start, end = days
        if end < start:
            self._clear_result()
            self._status(_("the period ends before it starts"), "bold red")
            self.query_one("#reports-to", Input).focus()
            return None
        return start, end

    def _clear_result(self) -> None:
        """A refused period takes the last result away: it was not for the dates shown."""
        self.shown = None
        self.query_one("#reports-heading", Static).update("")
        self.table.clear(columns=True)

    @property
    def selected(self) -> str | None:
        option_list = self.query_one("#reports-list", OptionList)
        index = option_list.highlighted
        if index is None:
            return None
        return option_list.get_option_at_index(index).id

    @on(OptionList.OptionSelected, "#reports-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.run_report()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_report()

    def run_report(self) -> None:
        name = self.selected
        if name is None:
            self._status(_("Pick a report from the list first."), "bold red")
            self.query_one("#reports-list", OptionList).focus()
            return
        period = self.period()
        if period is None or self.busy:
            return
        self.busy = True
        self._status(_("running {name}...").format(name=name))
        self._run(name, *period)

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def _run(self, name: str, start: dt.date, end: dt.date) -> None:
        try:
            table = self.service.report(name, start, end)
        except Exception as exc:
            self.app.call_from_thread(self._failed, failure_text(exc))
            return
        self.app.call_from_thread(self.show_report, name, start, end, table)

    def _failed(self, text: str) -> None:
        self.busy = False
        self._status(text, "bold red")

    def show_report(self, name: str, start: dt.date, end: dt.date, table: ReportTable) -> None:
        self.busy = False
        self.shown = (name, start, end)
        self.table_data = table
        heading = Text(table.title, style="bold")
        heading.append(f"  {start.isoformat()} - {end.isoformat()}", style="dim")
        self.query_one("#reports-heading", Static).update(heading)
        grid = self.table
        rows = [*table.rows, *([table.total] if table.total else [])]
        numeric = [all(_numeric(r[i]) for r in table.rows) if table.rows else False
                   for i in range(len(table.columns))]  # fmt: skip
        with self.app.batch_update():
            grid.clear(columns=True)
            for i, column in enumerate(table.columns):
                grid.add_column(Text(column, justify="right" if numeric[i] else "left"), key=str(i))
            for n, row in enumerate(rows):
                total = table.total is not None and n == len(rows) - 1
                grid.add_row(
                    *(
                        Text(
                            str(cell),
                            justify="right" if numeric[i] else "left",
                            style="bold" if total else "",
                        )
                        for i, cell in enumerate(row)
                    )
                )
        if table.rows:
            self._status(_("{n} rows | e export CSV | Enter runs again").format(n=len(table.rows)))
        else:
            self._status(_("(nothing in this period)"))

    def action_export(self) -> None:
        if self.shown is None:
            self._status(_("Run a report first (Enter on its name)."), "bold red")
            return
        if self.busy:
            return
        self.busy = True
        self._export(*self.shown)

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def _export(self, name: str, start: dt.date, end: dt.date) -> None:
        try:
            path = self.service.report_csv(name, start, end)
        except Exception as exc:
            self.app.call_from_thread(self._failed, failure_text(exc))
            return
        self.app.call_from_thread(self._exported, path)

    def _exported(self, path: Path) -> None:
        self.busy = False
        self._status(_("CSV written to {path}").format(path=path), "bold green")
        self.notify(str(path), title=_("Report exported"), markup=False)

    def action_to_table(self) -> None:
        self.table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
