"""The visit calendar: a week or a day, one collector or all, as a keyboard agenda.

Textual has no calendar widget. A grid of day boxes does not fit 80 columns with names
and districts in it; a day-by-day agenda (a day column followed by that day's visits)
reads well from 80 columns up, scrolls when collectors are busy, and keeps the cursor
keys meaningful: Up/Down walk the visits, Enter opens the one under the cursor. Days
without visits keep a row, so the week's shape (and its holidays) stays visible.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui_desk.clock import utcnow
from tui_desk.formatting import DASH, label, local, month_day, weekday
from tui_desk.i18n import N_, _, ngettext
from tui_desk.views.calendar import CalendarView, CalendarVisit
from tui_desk.widgets.in_place import update_in_place
from tui_desk.widgets.tables import bounded_caches, fill

COLUMNS = (
    ("day", N_("Day")),
    ("time", N_("Time")),
    ("borrower", N_("Borrower")),
    ("district", N_("District")),
    ("collector", N_("Collector")),
    ("status", N_("Status")),
)
_STATUS_STYLE = {
    "booked": "",
    "confirmed": "green",
    "done": "dim",
    "rescheduled": "dim strike",
    "cancelled": "dim strike",
    "no_show": "red",
}


class AppointmentCalendar(Vertical):
    """Title line (who and when) above the period's agenda."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: CalendarView | None = None
        self._shown: tuple[CalendarView, dt.date] | None = None
        self._visits: dict[str, CalendarVisit] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="calendar-title")
        yield bounded_caches(
            DataTable[Text](id="calendar-days", cursor_type="row", zebra_stripes=False)
        )

    def on_mount(self) -> None:
        table = self.days
        for key, title in COLUMNS:
            table.add_column(Text(_(title)), key=key)
        self.query_one("#calendar-title", Static).update(Text(_("No case selected."), "dim"))

    @property
    def days(self) -> DataTable[Text]:
        return self.query_one("#calendar-days", DataTable)

    @property
    def title_text(self) -> str:
        return str(self.query_one("#calendar-title", Static).content)

    def selected_visit(self) -> CalendarVisit | None:
        table = self.days
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
        return self._visits.get(str(key))

    def show(self, view: CalendarView) -> None:
        """Show ``view``, keeping the cursor on the same visit when it is still there."""
        today = utcnow().astimezone(ZoneInfo(view.timezone)).date()
        if (view, today) == self._shown:
            return  # the next case has the same collector's week: nothing to draw again
        self._shown = (view, today)
        previous = self.selected_visit()
        self.view = view
        update_in_place(self.query_one("#calendar-title", Static), self._title(view))
        table = self.days
        self._visits = {}
        cursor_row: int | None = None
        first_visit_row: int | None = None
        mine_row: int | None = None
        rows: list[tuple[str, tuple[Text, ...]]] = []

        def add(*cells: Text, key: str) -> None:
            rows.append((key, cells))

        for cal_day in view.days:
            day_label = Text(
                f"{weekday(cal_day.day)} {month_day(cal_day.day, today)}",
                style="bold" if cal_day.day == today else "",
            )
            if not cal_day.visits and not cal_day.follow_ups:
                add(
                    day_label,
                    Text(DASH, style="dim"),
                    Text(cal_day.holiday or _("no visits"), style="dim"),
                    Text(""),
                    Text(""),
                    Text(""),
                    key=f"d{cal_day.day.isoformat()}",
                )
                continue
            for index, visit in enumerate(cal_day.visits):
                key = f"a{visit.appointment_id}"
                self._visits[key] = visit
                mine = visit.case_id == view.case_id
                style = "bold reverse" if mine else _STATUS_STYLE.get(visit.status.value, "")
                add(
                    day_label if index == 0 else Text(""),
                    Text(
                        local(visit.starts_at, view.timezone, "%H:%M")
                        + "-"
                        + local(visit.ends_at, view.timezone, "%H:%M"),
                        style=style,
                    ),
                    Text(visit.borrower_name + (" *" if mine else ""), style=style),
                    Text(visit.district),
                    Text(visit.collector_name, style="dim" if not view.all_collectors else ""),
                    Text(
                        label("appointment_status", visit.status),
                        style=_STATUS_STYLE.get(visit.status.value, ""),
                    ),
                    key=key,
                )
                row = len(rows) - 1
                if first_visit_row is None:
                    first_visit_row = row
                if mine and mine_row is None:
                    mine_row = row
                if previous is not None and visit.appointment_id == previous.appointment_id:
                    cursor_row = row
            for index, follow in enumerate(cal_day.follow_ups):
                first = not cal_day.visits and index == 0
                mine = follow.case_id == view.case_id
                add(
                    day_label if first else Text(""),
                    Text(_("follow-up"), style="italic"),
                    Text(follow.borrower_name + (" *" if mine else ""),
                         style="bold" if mine else ""),
                    Text(label("channel", follow.channel), style="dim"),
                    Text(follow.owner_name or DASH, style="dim"),
                    Text(label("follow_up_status", follow.status),
                         style="red" if follow.status == "missed" else ""),
                    key=f"f{follow.follow_up_id}",
                )  # fmt: skip
        fill(table, COLUMNS, rows)
        target = next((r for r in (cursor_row, mine_row, first_visit_row) if r is not None), None)
        if target is not None:
            table.move_cursor(row=target, animate=False)

    def _title(self, view: CalendarView) -> Text:
        if view.span_days == 7:
            end = view.end.isoformat() if view.end.year != view.start.year else f"{view.end:%m-%d}"
            span = f"{view.start:%Y-%m-%d} ~ {end}"
        else:
            span = f"{weekday(view.start)} {view.start:%Y-%m-%d}"
        t = Text()
        if view.all_collectors:
            t.append(_("All collectors"), style="bold")
        elif view.collector_name is None:
            t.append(_("No visit booked for this case yet."), style="bold")
            t.append("  " + _("W: all collectors, V: book a visit"), style="dim")
            t.append("\n")
        else:
            t.append(_("Collector") + " ", style="dim")
            t.append(view.collector_name, style="bold")
        t.append(f"  {span}  ")
        visits = ngettext("{count} visit", "{count} visits", view.visit_count)
        t.append(visits.format(count=view.visit_count), style="dim")
        if view.case_id is not None and any(
            v.case_id == view.case_id for d in view.days for v in d.visits
        ):
            t.append(", * " + _("this case"), style="dim")
        return t
