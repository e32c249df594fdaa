"""Home visits: booking, changes, reports, calendars and day sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tui_desk.db.models import Channel, Role, Side
from tui_desk.exports.day_sheet import render_markdown, render_text
from tui_desk.files import private_folder, write_private_text
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.rules.visits import CaseFacts as VisitCaseFacts
from tui_desk.services import visits
from tui_desk.services.calendar import (
    empty_view,
    read_calendar_view,
    read_case_collector,
    read_next_visit_start,
)
from tui_desk.services.case_facts import office_today
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.services.validation import (
    InvalidInput,
    check_choice,
    check_date,
    check_flag,
    check_id,
    check_int,
    check_optional_date,
    check_optional_id,
    check_optional_version,
    check_required_text,
    check_text,
    check_visit_start,
)
from tui_desk.views.calendar import CalendarView
from tui_desk.views.case import CaseBundle
from tui_desk.views.visits import SlotOption


class VisitDesk(DeskPart):
    # --- visits --------------------------------------------------------------------------

    def can_override_booking(self) -> bool:
        return self.actor.can(Action.OVERRIDE_BOOKING_RULE)

    def notice_hours(self) -> int:
        return visits.visit_policy(self.profile).notice_hours

    def booking_problems(self, bundle: CaseBundle) -> list[str]:
        d = bundle.detail
        return visits.eligibility_problems(
            VisitCaseFacts(
                case_id=d.case_id,
                district=d.district,
                registered=d.registered,
                documents_complete=d.documents_complete,
                on_hold=d.on_hold,
            )
        )

    def visit_suggestions(self, case_id: int, *, replacing: int | None = None) -> list[SlotOption]:
        check_id("case_id", case_id)
        check_optional_id("replacing", replacing)
        return visits.suggest_slots(
            self.db, case_id, replacing=replacing, now=self.now(), profile=self.profile
        )

    def book_visit(
        self,
        case_id: int,
        *,
        collector_id: int | None,
        collector_login: str | None,
        starts_at: dt.datetime,
        override_reason: str | None = None,
        expected_version: int | None = None,
    ) -> str:
        """Book; returns the collector's name (for the line shown to the operator)."""
        check_id("case_id", case_id)
        check_visit_start("starts_at", starts_at, now=self.now(), profile=self.profile)
        check_text("override_reason", override_reason, 500)
        check_optional_version("expected_version", expected_version)
        cid, name = self._collector(collector_id, collector_login)
        visits.book_visit(
            self.ctx,
            case_id,
            collector_id=cid,
            starts_at=starts_at,
            override_reason=override_reason,
            expected_version=expected_version,
        )
        return name

    def reschedule_visit(
        self,
        appointment_id: int,
        *,
        collector_id: int | None,
        collector_login: str | None,
        starts_at: dt.datetime,
        side: str,
        notified_how: str,
        reason: str,
        override_reason: str | None = None,
    ) -> int:
        check_id("appointment_id", appointment_id)
        check_visit_start("starts_at", starts_at, now=self.now(), profile=self.profile)
        check_choice(
            "side",
            side,
            Side,
            problem=_("say who asked for the change and how the other side was told"),
        )
        check_choice(
            "notified_how",
            notified_how,
            Channel,
            problem=_("say who asked for the change and how the other side was told"),
        )
        check_required_text("reason", reason, 500)
        check_text("override_reason", override_reason, 500)
        cid = None
        if collector_id is not None or collector_login:
            cid, _name = self._collector(collector_id, collector_login)
        return visits.reschedule_visit(
            self.ctx,
            appointment_id,
            starts_at=starts_at,
            collector_id=cid,
            side=side,
            notified_how=notified_how,
            reason=reason,
            override_reason=override_reason,
        )

    cancel_visit = use_case(visits.cancel_visit)

    confirm_visit = use_case(visits.confirm_visit)

    record_visit_report = use_case(visits.record_visit_report)

    def calendar_view(
        self,
        *,
        case_id: int | None,
        start: dt.date | None,
        span_days: int,
        all_collectors: bool,
    ) -> CalendarView:
        """A week or day of the case's collector (or of all collectors)."""
        check_optional_id("case_id", case_id)
        check_optional_date("start", start)
        if check_int("span_days", span_days, low=1, high=7) not in (1, 7):
            raise InvalidInput("span_days", _("is a day (1) or a week (7)"))
        check_flag("all_collectors", all_collectors)
        with self.db.read() as s:
            return self.read_calendar(
                s, case_id=case_id, start=start, span_days=span_days,
                all_collectors=all_collectors, now=self.now(),
            )  # fmt: skip

    def feed_marker(self) -> int:
        """The change feed's marker: it moves whenever another write was committed (the
        calendar reads its week again only then)."""
        from tui_desk.services.changes import change_marker

        return change_marker(self.db)

    def read_calendar(
        self,
        s: Session,
        *,
        case_id: int | None,
        start: dt.date | None,
        span_days: int,
        all_collectors: bool,
        now: dt.datetime,
    ) -> CalendarView:
        """``calendar_view`` inside the caller's read transaction."""
        collector_id: int | None = None
        anchor = start
        country = self.profile.holidays_country
        if not all_collectors and self.actor.role is Role.COLLECTOR:
            # A field collector's calendar is their own round, whatever case is selected.
            return read_calendar_view(
                s, start=anchor or office_today(now, self.timezone), span_days=span_days,
                timezone=self.timezone, collector_id=self.actor.id, case_id=case_id,
                holidays_country=country,
            )  # fmt: skip
        if not all_collectors and case_id is not None:
            collector_id, _latest = read_case_collector(s, case_id)
            if anchor is None:
                # The week of the case's next visit; this week when none is ahead (a visit
                # a year ago is no reason to open on that week).
                today = office_today(now, self.timezone)
                midnight = dt.datetime.combine(today, dt.time(0), tzinfo=ZoneInfo(self.timezone))
                upcoming = read_next_visit_start(s, case_id, midnight)
                if upcoming is not None:
                    anchor = office_today(upcoming, self.timezone)
        if anchor is None:
            anchor = office_today(now, self.timezone)
        if not all_collectors and collector_id is None:
            # No visit yet: the case's collector is unknown, so the period stays empty.
            return empty_view(
                start=anchor, span_days=span_days, timezone=self.timezone, case_id=case_id,
                holidays_country=country,
            )  # fmt: skip
        return read_calendar_view(
            s, start=anchor, span_days=span_days, timezone=self.timezone,
            collector_id=collector_id, case_id=case_id, holidays_country=country,
        )  # fmt: skip

    def overdue_door_money(self) -> int:
        """For supervisors: door collections still unmatched past the profile's limit."""
        if not self.actor.can(Action.VIEW_BOARD):
            return 0
        return visits.overdue_collection_count(self.db, now=self.now(), profile=self.profile)

    def export_day_sheet(self, collector_id: int, day: dt.date) -> Path:
        """Write the collector's day sheet (Markdown and printable text); the .txt path."""
        check_id("collector_id", collector_id)
        check_date("day", day)
        sheet = self.day_sheet(collector_id, day)
        folder = self.exports_folder
        private_folder(folder)
        stem = folder / f"day-sheet-{sheet.collector_login}-{day.isoformat()}"
        region = self.profile.country
        printed = self.now()
        write_private_text(
            stem.with_suffix(".md"), render_markdown(sheet, printed_at=printed, home_region=region)
        )
        text_path = stem.with_suffix(".txt")
        write_private_text(text_path, render_text(sheet, printed_at=printed, home_region=region))
        return text_path

    day_sheet = use_case(visits.day_sheet)
