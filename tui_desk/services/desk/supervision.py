"""Supervision: overrides, the board, reassignment, leases, audit and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from tui_desk.db.models import Agent, BoardSnapshot, Channel, CollectionCase, Phone
from tui_desk.domain import OverrideRequestStatus
from tui_desk.files import private_folder, write_private_text
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import board as board_service
from tui_desk.services.contact_checks import OVERRIDABLE_RULES
from tui_desk.services.contacts import (
    MAX_OVERRIDE_MINUTES,
    MAX_REASON,
    contact_status,
    grant_override,
)
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.services.errors import UnknownAgent
from tui_desk.services.queue import orphan_count, release_lease
from tui_desk.services.supervision import (
    audit_actions,
    audit_page,
    case_visits,
    decide_override_request,
    my_answered_requests,
    override_request,
    override_requests,
    pending_request_count,
    reassign_cases,
    request_override,
)
from tui_desk.services.validation import (
    check_choice,
    check_code,
    check_date,
    check_id,
    check_ids,
    check_int,
    check_required_text,
)
from tui_desk.views.board import Board
from tui_desk.views.reports import ReportTable
from tui_desk.views.supervision import CaseVisitLine, OverrideRequestLine


class SupervisionDesk(DeskPart):
    # --- orphans and contact-rule overrides ---------------------------------------------

    def orphan_count(self) -> int:
        """Open cases without a next action date (an index range count; normally 0)."""
        return orphan_count(self.db)

    def require_override(self) -> None:
        """``PermissionDenied`` (its text is for the user) unless the actor may grant
        contact-rule overrides. No I/O: the screen asks before opening the form."""
        self.actor.require(Action.OVERRIDE_CONTACT_RULE)

    def override_rules(self) -> tuple[str, ...]:
        """The contact rules an override may waive, in a fixed order."""
        return tuple(OVERRIDABLE_RULES)

    @property
    def max_override_minutes(self) -> int:
        return MAX_OVERRIDE_MINUTES

    def override_grantee(self, case_id: int) -> str | None:
        """The login an override on the case is most likely for: the live lease holder,
        else the owner, whichever is an active agent other than the actor (None: none)."""
        check_id("case_id", case_id)
        now = self.now()
        with self.db.read() as s:
            row = s.execute(
                select(
                    CollectionCase.lease_holder_id,
                    CollectionCase.lease_expires_at,
                    CollectionCase.owner_id,
                ).where(CollectionCase.id == case_id)
            ).first()
            if row is None:
                return None
            holder, until, owner = row
            live = holder if until is not None and until > now else None
            for agent_id in (live, owner):
                if agent_id is None or agent_id == self.actor.id:
                    continue
                login = s.scalar(
                    select(Agent.login).where(Agent.id == agent_id, Agent.active.is_(True))
                )
                if login:
                    return login
        return None

    def grant_override(
        self, case_id: int, *, rule: str, granted_to: str, reason: str, minutes: int
    ) -> int:
        """Let the agent with login ``granted_to`` make one attempt ``rule`` forbids; the
        override's id. Checked and audited by ``contacts.grant_override``."""
        check_id("case_id", case_id)
        check_code("rule", rule, OVERRIDABLE_RULES)
        check_required_text("granted_to", granted_to, 64)
        check_required_text("reason", reason, MAX_REASON, multiline=True)
        check_int("minutes", minutes, low=1, high=MAX_OVERRIDE_MINUTES)
        self.require_override()  # before anything is looked up for someone not allowed
        login = granted_to.strip()
        with self.db.read() as s:
            agent_id = s.scalar(select(Agent.id).where(Agent.login == login))
        if agent_id is None:
            raise UnknownAgent(_("no agent with login {login}").format(login=login))
        return grant_override(self.ctx, case_id, rule, agent_id, reason, minutes=minutes)

    # --- supervisor board (live view) --------------------------------------------------------

    def can_view_board(self) -> bool:
        return self.actor.can(Action.VIEW_BOARD)

    def board_version(self) -> int:
        """The board snapshot's change marker: one small read, polled several times a second."""
        self.actor.require(Action.VIEW_BOARD)
        return board_service.board_version(self.db)

    def board(self) -> Board:
        """The snapshot the worker keeps fresh, with live presence (supervisors only)."""
        self.actor.require(Action.VIEW_BOARD)
        return board_service.read_board(self.db, self.now(), self.profile)

    def board_refreshed_at(self) -> dt.datetime | None:
        """When the worker last refreshed any board section (None: never).

        ``Board.as_of`` is the oldest section, and the heavy one is legitimately minutes
        old in a quiet office (no writes, nothing to recount); the newest refresh tells
        whether the worker is alive.
        """
        self.actor.require(Action.VIEW_BOARD)
        with self.db.read() as s:
            return s.scalar(select(func.max(BoardSnapshot.computed_at)))

    def can_release_leases(self) -> bool:
        return self.actor.can(Action.RELEASE_LEASE)

    # --- supervision: reassign, leases, override requests, audit, reports ----------------------

    def can_reassign(self) -> bool:
        return self.actor.can(Action.REASSIGN)

    def reassign(self, case_ids: Sequence[int], to_login: str, reason: str) -> int:
        """Give the cases to the agent ``to_login``; how many changed owner (one audit event)."""
        check_ids("case_ids", case_ids)
        check_required_text("to_login", to_login, 64)
        check_required_text("reason", reason, 500, multiline=True)
        return reassign_cases(self.ctx, case_ids, to_login, reason=reason)

    def release_stuck_lease(self, case_id: int) -> None:
        """End whoever's lease on the case (supervisors; audited by the queue service)."""
        check_id("case_id", case_id)
        self.actor.require(Action.RELEASE_LEASE)
        release_lease(self.ctx, case_id)

    def override_request_rules(self) -> tuple[str, ...]:
        """The contact rules an operator may ask to have waived (the override rules)."""
        return self.override_rules()

    def refused_override_rules(self, case_id: int) -> tuple[str, ...]:
        """The waivable rules that refuse a call or SMS on the case now, on any of the
        borrower's numbers that is not do-not-call (empty: none, or only unwaivable ones)."""
        check_id("case_id", case_id)
        now = self.now()
        with self.db.read() as s:
            phone_ids = list(
                s.scalars(
                    select(Phone.id)
                    .join(CollectionCase, CollectionCase.borrower_id == Phone.borrower_id)
                    .where(CollectionCase.id == case_id, Phone.do_not_call.is_(False))
                    .order_by(Phone.id)
                )
            )
        found: set[str] = set()
        checks: list[tuple[Channel, int | None]] = [(Channel.PHONE, p) for p in phone_ids]
        checks.append((Channel.SMS, None))
        for channel, phone_id in checks:
            status = contact_status(
                self.db, case_id, channel=channel, phone_id=phone_id, now=now,
                profile=self.profile,
            )  # fmt: skip
            if not status.allowed and status.rule in OVERRIDABLE_RULES:
                found.add(status.rule)
        return tuple(r for r in OVERRIDABLE_RULES if r in found)

    request_override = use_case(request_override)

    def override_requests(self, status: str = "pending") -> list[OverrideRequestLine]:
        check_choice("status", status, OverrideRequestStatus)
        return override_requests(self.ctx, status=status)

    override_request = use_case(override_request)

    def pending_override_requests(self) -> int:
        return pending_request_count(self.db)

    decide_override_request = use_case(decide_override_request)
    my_answered_requests = use_case(my_answered_requests)

    def case_visits(self, case_id: int) -> list[CaseVisitLine]:
        check_id("case_id", case_id)
        return case_visits(self.db, case_id)

    audit_page = use_case(audit_page)

    def audit_actions(self) -> list[str]:
        self.actor.require(Action.VIEW_BOARD)
        return audit_actions(self.db)

    def report_names(self) -> list[tuple[str, str]]:
        """(name, translated title) of every report, in a fixed order."""
        from tui_desk.services.reports import REPORTS  # the reports load when first asked for

        return [(name, _(report.title)) for name, report in REPORTS.items()]

    def report_period(self) -> tuple[dt.date, dt.date]:
        """The default period: the first of this month to today (office days)."""
        today = self.today()
        return today.replace(day=1), today

    def report(self, name: str, date_from: dt.date, date_to: dt.date) -> ReportTable:
        check_required_text("name", name, 60)
        check_date("date_from", date_from)
        check_date("date_to", date_to)
        from tui_desk.services.reports import report_for

        return report_for(
            self.actor,
            self.db,
            name,
            date_from=date_from,
            date_to=date_to,
            profile=self.profile,
            now=self.now(),
        )

    def report_csv(self, name: str, date_from: dt.date, date_to: dt.date) -> Path:
        """Write the report as CSV (UTF-8 with a BOM, for spreadsheet programs); the path."""
        from tui_desk.services.reports import to_csv

        table = self.report(name, date_from, date_to)
        folder = self.exports_folder
        private_folder(folder)
        path = folder / f"report-{name}-{date_from.isoformat()}-{date_to.isoformat()}.csv"
        write_private_text(path, to_csv(table), encoding="utf-8-sig")
        return path
