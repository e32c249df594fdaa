"""The seeded tables: column order of every row tuple, constant columns, write order."""

from __future__ import annotations

from typing import Any

Row = tuple[Any, ...]


# Column order of every row tuple, per table, in an order that satisfies foreign keys.
COLUMNS: dict[str, tuple[str, ...]] = {
    "agent": ("id", "login", "name", "role", "active", "extension", "created_at"),
    "collector_schedule": (
        "agent_id", "timezone", "work_start", "work_end", "work_weekdays", "updated_at",
    ),
    "collector_district": ("agent_id", "district"),
    "borrower": (
        "id", "external_id", "name", "id_number", "address", "city", "district",
        "region_code", "created_at",
    ),
    "phone": (
        "id", "borrower_id", "e164", "kind", "relation", "holder_name", "verified",
        "do_not_call", "created_at",
    ),
    "collection_case": (
        "id", "borrower_id", "status", "stage", "owner_id", "on_hold", "priority",
        "overdue_since", "overdue_minor", "broken_promises", "next_action_at", "opened_at",
        "closed_at", "close_reason", "callback_at", "callback_agent_id", "registered",
        "documents_complete", "dpd_bucket",
    ),
    "loan_account": (
        "id", "external_id", "borrower_id", "case_id", "product", "status",
        "principal_minor", "outstanding_principal_minor", "outstanding_interest_minor",
        "outstanding_penalty_minor", "outstanding_fees_minor", "overdue_minor", "annual_rate",
        "opened_on", "overdue_since",
    ),
    "case_hold": (
        "id", "case_id", "kind", "reason", "set_by_id", "set_at", "released_by_id",
        "released_at", "release_reason", "ends_at", "complaint_id",
    ),
    "contact_attempt": (
        "id", "case_id", "agent_id", "channel", "phone_id", "party", "outcome", "note",
        "started_at", "callback_at",
    ),
    "promise_to_pay": (
        "id", "case_id", "contact_id", "amount_minor", "due_on", "status", "created_by_id",
        "created_at", "resolved_at",
    ),
    "service_registration": (
        "id", "case_id", "consent_channel", "registered_by_id", "registered_at", "note",
        "cancelled_at", "cancel_reason",
    ),
    "document": (
        "id", "case_id", "kind", "description", "channel", "received_at", "status",
        "reviewed_by_id", "reviewed_at", "reason",
    ),
    "appointment": (
        "id", "case_id", "collector_id", "starts_at", "ends_at", "place", "district",
        "status", "booked_by_id", "booked_at", "rescheduled_from_id", "override_by_id",
        "override_reason", "note",
    ),
    "appointment_change": (
        "id", "appointment_id", "kind", "requested_by_side", "agent_id", "requested_at",
        "notified_at", "notified_how", "old_starts_at", "new_starts_at", "reason",
    ),
    "payment": (
        "id", "external_id", "case_id", "account_id", "amount_minor", "paid_on", "channel",
        "reference", "recorded_by_id", "recorded_at",
    ),
    "visit_report": (
        "id", "appointment_id", "case_id", "collector_id", "work_id_shown", "name_checked",
        "contact_checked", "address_checked", "documents_ok", "mismatches",
        "declared_income_minor", "obligations_minor", "affordable_monthly_minor",
        "collected_minor", "collected_method", "receipt_no", "reconciled_payment_id",
        "outcome", "note", "created_at",
    ),
    "repayment_plan": (
        "id", "case_id", "kind", "frequency", "principal_minor", "annual_rate",
        "instalments", "down_payment_minor", "waiver_minor", "grace_periods", "grace_mode",
        "first_due_on", "status", "created_by_id", "created_at", "approved_by_id",
    ),
    "plan_instalment": (
        "id", "plan_id", "seq", "due_on", "principal_minor", "interest_minor",
        "amount_minor", "paid_minor", "status",
    ),
    "agreement": (
        "id", "case_id", "plan_id", "template_name", "template_version", "language",
        "status", "effective_on", "signed_at", "signed_place", "bank_signatory_id",
        "borrower_confirmation", "borrower_copy_delivery", "content_hash", "created_by_id",
        "created_at", "version",
    ),
    "agreement_version": (
        "id", "agreement_id", "seq", "content", "special_terms", "created_by_id",
        "created_at", "note",
    ),
    "follow_up": (
        "id", "case_id", "agreement_id", "due_on", "channel", "owner_id", "status",
        "done_at", "note",
    ),
    "adjustment": (
        "id", "case_id", "plan_id", "kinds", "details", "reason", "status",
        "requested_by_id", "requested_at", "decided_by_id", "decided_at", "decision_note",
    ),
    "complaint": (
        "id", "case_id", "against_agent_id", "appointment_id", "contact_id", "channel",
        "description", "status", "received_at", "recorded_by_id", "resolution",
        "resolved_by_id", "resolved_at",
    ),
}  # fmt: skip
# Columns with one value in every seeded row: written as SQL literals on SQLite (fewer
# values to generate, ship between processes and bind), added to each row for COPY.
CONSTANTS: dict[str, dict[str, Any]] = {
    "agent": {"password_hash": None},
    "borrower": {"timezone": "Asia/Shanghai"},
    "collection_case": {
        "lease_holder_id": None, "lease_expires_at": None, "stale": False, "version": 1,
        "priority_boost": 0,
    },
    "loan_account": {"currency": "CNY"},
    "contact_attempt": {
        "direction": "outbound", "address_used": None, "override_by_id": None,
        "override_reason": None, "call_ref": None,
        "voided_at": None, "voided_by_id": None, "void_reason": None,
    },
}  # fmt: skip
# Written once with the team, not per chunk; no id column of their own.
TEAM_TABLES: tuple[str, ...] = ("collector_schedule", "collector_district")
TABLES: tuple[str, ...] = tuple(t for t in COLUMNS if t not in TEAM_TABLES)
ON_HOLD = COLUMNS["collection_case"].index("on_hold")
OPENED_AT = COLUMNS["collection_case"].index("opened_at")
STARTED_AT = COLUMNS["contact_attempt"].index("started_at")
DATA_TABLES: tuple[str, ...] = TABLES[1:]
