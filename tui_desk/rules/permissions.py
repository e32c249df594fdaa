"""The permission matrix, role x action, in one place. Services enforce it."""

from __future__ import annotations

import enum

from tui_desk.i18n import N_
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
    APPROVE_ABOVE_MEANS = "approve_above_means"
    WRITE_LEASED_CASE = "write_leased_case"
    RUN_REPORTS = "run_reports"
    IMPORT_DATA = "import_data"
    MANAGE_ADMINS = "manage_admins"
    MANAGE_CREDIT = "manage_credit"


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
    Action.APPROVE_ABOVE_MEANS,
    Action.WRITE_LEASED_CASE,
    Action.RUN_REPORTS,
    Action.MANAGE_AGENTS,
    Action.MANAGE_CREDIT,
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


# What each action is called in a refusal ("operator wang may not release a hold").
ACTION_LABELS: dict[Action, str] = {
    Action.WORK_CASES: N_("work cases"),
    Action.OVERRIDE_CONTACT_RULE: N_("override a contact rule"),
    Action.OVERRIDE_BOOKING_RULE: N_("override a booking rule"),
    Action.APPROVE_ADJUSTMENT: N_("approve an adjustment"),
    Action.WAIVE_ABOVE_LIMIT: N_("waive above the limit"),
    Action.RESTORE_FROM_ARCHIVE: N_("restore a case from the archive"),
    Action.REVEAL_PERSONAL_DATA: N_("reveal personal data"),
    Action.REASSIGN: N_("reassign cases"),
    Action.RELEASE_LEASE: N_("release another agent's lease"),
    Action.EDIT_TEMPLATES: N_("edit templates"),
    Action.RELEASE_HOLD: N_("release a hold"),
    Action.MANAGE_AGENTS: N_("manage agents"),
    Action.RECORD_VISIT_REPORT: N_("record a visit report"),
    Action.VIEW_BOARD: N_("view the supervisor board"),
    Action.APPROVE_ABOVE_MEANS: N_("approve an instalment above the borrower's means"),
    Action.WRITE_LEASED_CASE: N_("write to a case another agent is working"),
    Action.RUN_REPORTS: N_("run reports"),
    Action.IMPORT_DATA: N_("import data from the loan system"),
    Action.MANAGE_ADMINS: N_("add or change an administrator"),
    Action.MANAGE_CREDIT: N_("refund or apply a case's credit"),
}

ROLE_LABELS: dict[Role, str] = {
    Role.OPERATOR: N_("operator"),
    Role.COLLECTOR: N_("collector"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.ADMIN: N_("admin"),
}
