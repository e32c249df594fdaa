"""The visit calendar's keys: earlier/later, today, day/week, every collector, booking
a visit (``V``) and what Enter does on a visit (confirm, move, cancel, report, day sheet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from textual import work
from textual.widgets import DataTable
from textual.worker import get_current_worker

from tui_desk.i18n import _
from tui_desk.messages import CalendarLoaded
from tui_desk.screens.failures import under_way
from tui_desk.services.errors import ServiceError
from tui_desk.views.calendar import CalendarVisit
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.appointment_calendar import AppointmentCalendar

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class CalendarKeys(_Host):
    """The calendar pane's keys and the visit forms opened from it."""

    @property
    def calendar(self) -> AppointmentCalendar:
        return self.query_one(AppointmentCalendar)

    def _calendar_default(self) -> bool:
        """The calendar follows the case: its collector's week around its latest visit."""
        return self.cal_span == 7 and not self.cal_all and self.cal_start is None

    def _calendar_for_case(self, bundle: CaseBundle) -> None:
        if self._calendar_default():
            self.calendar.show(bundle.calendar)
        elif self.cal_all and self.calendar.view is not None:
            # Every collector's visits do not depend on the case: mark its visits only.
            self.calendar.show(replace(self.calendar.view, case_id=bundle.case_id))
        else:
            self.cal_start = None if not self.cal_all else self.cal_start
            self._reload_calendar()

    def _reload_calendar(self) -> None:
        self._load_calendar(self._wanted, self.cal_start, self.cal_span, self.cal_all)

    def _period_start(self) -> dt.date:
        view = self.calendar.view
        if self.cal_start is not None:
            return self.cal_start
        if view is not None:
            return view.start
        return self.service.today()

    def action_period(self, step: int) -> None:
        self.cal_start = self._period_start() + dt.timedelta(days=self.cal_span * step)
        self._reload_calendar()

    def action_today(self) -> None:
        self.cal_start = self.service.today()
        self._reload_calendar()

    def action_toggle_span(self) -> None:
        view = self.calendar.view
        if self.cal_span == 7:
            today = self.service.today()
            start = self._period_start()
            # Into the day view: today when it is in the week shown, else the week's Monday.
            in_week = view is not None and start <= today < start + dt.timedelta(days=7)
            self.cal_start = today if in_week else start
            self.cal_span = 1
        else:
            self.cal_start = self._period_start()
            self.cal_span = 7
        self._reload_calendar()

    def action_toggle_collectors(self) -> None:
        self.cal_all = not self.cal_all
        if self.cal_start is None:
            self.cal_start = self._period_start()
        self._reload_calendar()
        self._show("calendar")

    @work(thread=True, group="calendar", exclusive=True, exit_on_error=False)
    def _load_calendar(
        self, case_id: int | None, start: dt.date | None, span: int, all_collectors: bool
    ) -> None:
        view = self.service.calendar_view(
            case_id=case_id, start=start, span_days=span, all_collectors=all_collectors
        )
        if not get_current_worker().is_cancelled:
            self.post_message(CalendarLoaded(view))

    def on_calendar_loaded(self, message: CalendarLoaded) -> None:
        view = message.view
        if view.case_id == self._wanted and view.span_days == self.cal_span:
            self.calendar.show(view)
            self._calendar_subtitle()

    def _poll_calendar(self) -> None:
        """The calendar follows writes made elsewhere (a visit booked for this collector at
        another desk, a move, a report): while it is on screen, the feed's marker is read
        every few seconds and the period is read again only when the marker moved."""
        if self.calendar.view is None or self.pane_widget("calendar").region.area == 0:
            return
        if under_way(self, "calendar-poll"):
            return  # a slow database: one read at a time
        self._check_calendar(self._calendar_marker)

    @work(thread=True, group="calendar-poll", exit_on_error=False)
    def _check_calendar(self, seen: int | None) -> None:
        # Advisory like the lease poll: a read that fails is tried again next tick.
        try:
            marker = self.service.feed_marker()
        except Exception:
            return
        if marker != seen:
            self.app.call_from_thread(self._calendar_marker_moved, seen, marker)

    def _calendar_marker_moved(self, seen: int | None, marker: int) -> None:
        if self._calendar_marker != seen:
            return  # two checks crossed: the later one decides
        self._calendar_marker = marker
        if seen is not None:
            self._reload_calendar()

    def _calendar_subtitle(self) -> None:
        self.set_pane_subtitle(
            "calendar", _("[ ] earlier/later, t today, w day/week, W all, Enter visit, V book")
        )

    def action_book_visit(self) -> None:
        self._with_case("book_visit", self._open_booking)

    def _open_booking(self, bundle: CaseBundle) -> None:
        from tui_desk.screens.visit_modals import BookVisitModal

        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Visit booked"), markup=False)
                self.cal_start = None
                self._after_write(case_id)

        self.app.push_screen(
            BookVisitModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "calendar-days":  # Enter on a visit in the calendar
            return
        event.stop()
        visit = self.calendar.selected_visit()
        if visit is None:
            self.notify(_("No visit on this line: V books one."), severity="information")
            return
        from tui_desk.screens.visit_modals import VisitMenuModal

        self.app.push_screen(
            VisitMenuModal(visit, self.service.timezone), partial(self._visit_action, visit)
        )

    def _visit_action(self, visit: CalendarVisit, action: str | None) -> None:
        if action is None:
            return
        if action == "open":
            self._select(visit.case_id, immediate=True)
            return
        if action == "confirm":
            self._confirm_visit(visit)
            return
        if action == "sheet":
            self._export_day_sheet(visit)
            return
        self._load_visit_case(visit, action)

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _confirm_visit(self, visit: CalendarVisit) -> None:
        try:
            self.service.confirm_visit(visit.appointment_id)
        except ServiceError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=_("Not saved"), severity="error", markup=False
            )
            return
        self.app.call_from_thread(self._visit_saved, visit.case_id, _("Visit confirmed"))

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _export_day_sheet(self, visit: CalendarVisit) -> None:
        day = visit.starts_at.astimezone(ZoneInfo(self.service.timezone)).date()
        try:
            path = self.service.export_day_sheet(visit.collector_id, day)
        except (ServiceError, OSError) as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=_("Not exported"), severity="error", markup=False
            )
            return
        self.app.call_from_thread(
            self.notify,
            _("{collector}, {day}: {path} (and .md)").format(
                collector=visit.collector_name, day=day.isoformat(), path=path
            ),
            title=_("Day sheet written"),
            markup=False,
        )

    @work(thread=True, group="visit-action", exclusive=True, exit_on_error=False)
    def _load_visit_case(self, visit: CalendarVisit, action: str) -> None:
        bundle = self.service.case(visit.case_id)
        self.app.call_from_thread(self._open_visit_form, visit, action, bundle)

    def _open_visit_form(self, visit: CalendarVisit, action: str, bundle: CaseBundle) -> None:
        from tui_desk.screens.visit_modals import (
            CancelVisitModal,
            RescheduleVisitModal,
            VisitReportModal,
        )

        forms = {
            "move": RescheduleVisitModal,
            "cancel": CancelVisitModal,
            "report": VisitReportModal,
        }
        form = forms[action](self.service, bundle, visit)

        def saved(summary: str | None) -> None:
            if summary is not None:
                self._visit_saved(visit.case_id, summary)

        self.app.push_screen(form, saved)

    def _visit_saved(self, case_id: int, summary: str) -> None:
        self.notify(summary, title=_("Saved"), markup=False)
        if self._wanted is not None and case_id != self._wanted:
            self._reload_calendar()
        self._after_write(case_id)
