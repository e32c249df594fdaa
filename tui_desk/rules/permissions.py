"""The permission matrix, role x action, in one place. Services enforce it."""

from __future__ import annotations

import enum

from tui_desk.rules.roles import Role


class Action(enum.StrEnum):
    WORK_CASES = "work_cases"
    OVERRIDE_CONTACT_RULE = "override_contact_rule"
    OVERRIDE_BOOKING_RULE = "override_booking_rule"
    APPROVE_ADJUSTMENT = "approve_adjustment"
    WAIVE_ABOVE_LIMIT = "waive_above_limit"
    RESTORE_FROM_ARCHIVE = "restore_from_archive"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"
    REASSIGN = "reassign"
    RELEASE_LEASE = "release_lease"
    EDIT_TEMPLATES = "edit_templates"
    RELEASE_HOLD = "release_hold"
    MANAGE_AGENTS = "manage_agents"
    RECORD_VISIT_REPORT = "record_visit_report"
    VIEW_BOARD = "view_board"


_SUPERVISOR_ONLY = {
    Action.OVERRIDE_CONTACT_RULE,
    Action.OVERRIDE_BOOKING_RULE,
    Action.APPROVE_ADJUSTMENT,
    Action.WAIVE_ABOVE_LIMIT,
    Action.RESTORE_FROM_ARCHIVE,
    Action.REASSIGN,
    Action.RELEASE_LEASE,
    Action.RELEASE_HOLD,
    Action.VIEW_BOARD,
}

MATRIX: dict[Role, frozenset[Action]] = {
    Role.OPERATOR: frozenset(
        {Action.WORK_CASES, Action.REVEAL_PERSONAL_DATA, Action.RECORD_VISIT_REPORT}
    ),
    Role.COLLECTOR: frozenset(
        {Action.WORK_CASES, Action.REVEAL_PERSONAL_DATA, Action.RECORD_VISIT_REPORT}
    ),
    Role.SUPERVISOR: frozenset(
        {Action.WORK_CASES, Action.REVEAL_PERSONAL_DATA, Action.RECORD_VISIT_REPORT}
        | _SUPERVISOR_ONLY
        | {Action.EDIT_TEMPLATES}
    ),
    Role.ADMIN: frozenset(Action),
}


def allowed(role: Role, action: Action) -> bool:
    return action in MATRIX[role]
