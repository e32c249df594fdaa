"""A compact week calendar: one collector's visits, Monday to Sunday, day by day.

Textual has no calendar widget. A day-by-day agenda (a day column followed by that day's
visits) reads well from 80 columns up, scrolls when a collector is busy, and keeps the
cursor keys meaningful, so it is built on a DataTable rather than a grid of day boxes.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tui_desk.clock import utcnow
from tui_desk.i18n import N_, _, ngettext
from tui_desk.services.desk import CalendarWeek
from tui_desk.widgets.formatting import DASH, label, local, weekday

COLUMNS = (
    ("day", N_("Day")),
    ("time", N_("Time")),
    ("borrower", N_("Borrower")),
    ("district", N_("District")),
    ("status", N_("Status")),
)


class AppointmentCalendar(Vertical):
    """Title line (collector and week) above the week's agenda."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.week: CalendarWeek | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="calendar-title")
        yield DataTable[Text](id="calendar-days", cursor_type="row", zebra_stripes=False)

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

    def show(self, week: CalendarWeek) -> None:
        self.week = week
        self.query_one("#calendar-title", Static).update(self._title(week))
        table = self.days
        today = utcnow().astimezone(ZoneInfo(week.timezone)).date()
        with self.app.batch_update():
            table.clear()
            for cal_day in week.days:
                day_label = Text(
                    f"{weekday(cal_day.day)} {cal_day.day:%m-%d}",
                    style="bold" if cal_day.day == today else "",
                )
                if not cal_day.visits:
                    table.add_row(
                        day_label,
                        Text(DASH, style="dim"),
                        Text(_("no visits"), style="dim"),
                        Text(""),
                        Text(""),
                        key=f"d{cal_day.day.isoformat()}",
                    )
                    continue
                for index, visit in enumerate(cal_day.visits):
                    mine = visit.case_id == week.case_id
                    style = "bold reverse" if mine else ""
                    table.add_row(
                        day_label if index == 0 else Text(""),
                        Text(
                            local(visit.starts_at, week.timezone, "%H:%M")
                            + "-"
                            + local(visit.ends_at, week.timezone, "%H:%M"),
                            style=style,
                        ),
                        Text(visit.borrower_name + (" *" if mine else ""), style=style),
                        Text(visit.district),
                        Text(label("appointment_status", visit.status)),
                        key=f"a{visit.appointment_id}",
                    )

    def _title(self, week: CalendarWeek) -> Text:
        span = f"{week.week_start:%Y-%m-%d} ~ {week.week_end:%m-%d}"
        t = Text()
        if week.collector_name is None:
            t.append(_("No visit booked for this case: no collector to show."), style="bold")
            t.append("\n")
            t.append(_("{span}. Book a visit to see that collector's week.").format(span=span))
            return t
        t.append(_("Collector") + " ", style="dim")
        t.append(week.collector_name, style="bold")
        t.append(f"  {span}  ")
        visits = ngettext("{count} visit", "{count} visits", week.visit_count)
        t.append(visits.format(count=week.visit_count), style="dim")
        if week.case_id is not None:
            t.append(", * " + _("this case"), style="dim")
        return t
