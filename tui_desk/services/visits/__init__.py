"""Home visits (process steps 3-4): booking, changes with notice, and the visit report.

Every write is one transaction with one audit event. Booking is race-free on a shared
database: the case row and the collector's agent row are locked (``FOR UPDATE`` on
PostgreSQL; SQLite writers hold ``BEGIN IMMEDIATE``), and the rules are checked against
what is committed under those locks, so two operators booking one collector's slot at
the same moment get exactly one visit; the other is refused with fresh suggestions.

The rules themselves are pure (``tui_desk.rules.visits``). Lead time, spacing and notice
are rules "in principle": a supervisor may book or change a visit against them with a
reason (``override_reason``), which is stored on the visit and audited. The others
(a collector in two places, holidays, working hours, territory, eligibility) are never
waived.

Modules: ``policy`` (the visit policy and what the rules need to know, eligibility),
``suggestions`` (slot suggestions), ``booking`` (booking a visit), ``changes`` (moving,
cancelling, confirming), ``reports`` (the visit report), ``door_money`` (door
collections not yet matched by a bank payment), ``day_sheets`` (the collector's day
sheet).
"""

from __future__ import annotations

from tui_desk.services.visits.booking import BookingRefused, book_visit
from tui_desk.services.visits.changes import cancel_visit, confirm_visit, reschedule_visit
from tui_desk.services.visits.day_sheets import day_sheet
from tui_desk.services.visits.door_money import (
    DoorCollection,
    overdue_collection_count,
    unreconciled_collections,
)
from tui_desk.services.visits.policy import (
    collector_schedules,
    eligibility_problems,
    visit_policy,
)
from tui_desk.services.visits.reports import (
    MAX_MISMATCHES,
    MAX_RECEIPT,
    VisitReportInput,
    record_visit_report,
)
from tui_desk.services.visits.suggestions import suggest_slots

__all__ = [
    "MAX_MISMATCHES",
    "MAX_RECEIPT",
    "BookingRefused",
    "DoorCollection",
    "VisitReportInput",
    "book_visit",
    "cancel_visit",
    "collector_schedules",
    "confirm_visit",
    "day_sheet",
    "eligibility_problems",
    "overdue_collection_count",
    "record_visit_report",
    "reschedule_visit",
    "suggest_slots",
    "unreconciled_collections",
    "visit_policy",
]
