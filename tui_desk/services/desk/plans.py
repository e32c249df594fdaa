"""Repayment plans, adjustments, agreements and follow-ups."""

from __future__ import annotations

import datetime as dt

from tui_desk.rules.permissions import Action
from tui_desk.services import adjustments, agreements, plans
from tui_desk.services.case_facts import office_today
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.services.followups import (
    complete_follow_up,
    follow_up_list,
    follow_up_policy,
    reassign_follow_up,
)
from tui_desk.services.validation import (
    LONG_TEXT,
    check_flag,
    check_id,
    check_optional_date,
    check_optional_id,
    check_required_text,
    check_text,
    check_version,
)
from tui_desk.views.adjustments import PendingAdjustment
from tui_desk.views.agreements import AgreementRecord, PlanOverview
from tui_desk.views.followups import FollowUpLine


class PlanDesk(DeskPart):
    # --- plans: repayment plans and the payment ledger ------------------------------------

    def plan_basis(self, case_id: int) -> plans.PlanBasis:
        """What a plan on the case starts from (read once; previews are pure from then on)."""
        check_id("case_id", case_id)
        return plans.plan_basis(
            self.db, case_id, actor=self.actor, now=self.now(), profile=self.profile
        )

    def can_approve_above_means(self) -> bool:
        return self.actor.can(Action.APPROVE_ABOVE_MEANS)

    create_plan = use_case(plans.create_plan)

    def plan_overview(self, plan_id: int) -> PlanOverview:
        check_id("plan_id", plan_id)
        return plans.plan_overview(self.db, plan_id)

    # adjustments (PROCESS.md step 8): hardship requests, supervisors' decisions, early
    # settlement.

    def adjustment_basis(self, case_id: int) -> adjustments.AdjustmentBasis:
        """The active plan as it stands (read once; the form's preview is pure)."""
        check_id("case_id", case_id)
        return adjustments.adjustment_basis(self.db, case_id, now=self.now(), profile=self.profile)

    request_adjustment = use_case(adjustments.request_adjustment)

    def can_approve_adjustments(self) -> bool:
        return self.actor.can(Action.APPROVE_ADJUSTMENT)

    def pending_adjustments(self, case_id: int | None = None) -> list[PendingAdjustment]:
        check_optional_id("case_id", case_id)
        rows = adjustments.pending_adjustments(self.db, case_id=case_id)
        if case_id is None:
            return rows  # the supervisors' list: its terms are read when one is opened
        return adjustments.with_terms(self.db, rows, now=self.now(), profile=self.profile)

    def decide_adjustment(
        self, adjustment_id: int, *, approve: bool, note: str | None
    ) -> adjustments.Decision:
        check_id("adjustment_id", adjustment_id)
        check_flag("approve", approve)
        check_text("note", note, 500, multiline=True)
        return adjustments.decide_adjustment(self.ctx, adjustment_id, approve, note)  # fmt: skip

    def early_settlement(self, case_id: int) -> adjustments.SettlementOffer:
        check_id("case_id", case_id)
        return adjustments.early_settlement(self.db, case_id, now=self.now(), profile=self.profile)

    accept_early_settlement = use_case(adjustments.accept_early_settlement)

    # --- follow-ups ------------------------------------------------------------------------

    def follow_ups(self, *, mine: bool = True, case_id: int | None = None) -> list[FollowUpLine]:
        """Follow-ups due within the profile's ``list_ahead_days`` and the missed ones.

        ``mine=False`` (every agent's) is for supervisors; others always get their own.
        """
        check_flag("mine", mine)
        check_optional_id("case_id", case_id)
        ahead = follow_up_policy(self.profile).list_ahead_days
        now = self.now()
        everyone = not mine and self.can_see_all_follow_ups()
        return follow_up_list(
            self.db, owner_id=None if everyone else self.actor.id, case_id=case_id,
            due_before=office_today(now, self.timezone) + dt.timedelta(days=ahead),
            now=now, profile=self.profile,
        )  # fmt: skip

    def can_see_all_follow_ups(self) -> bool:
        return self.actor.can(Action.REASSIGN)

    def complete_follow_up(self, follow_up_id: int, *, note: str) -> dt.date | None:
        """Mark it done; the date of the next follow-up when this one scheduled it."""
        check_id("follow_up_id", follow_up_id)
        check_required_text("note", note, LONG_TEXT, multiline=True)
        done = complete_follow_up(self.ctx, follow_up_id, note=note)
        return done.next_due_on

    def reassign_follow_up(self, follow_up_id: int, owner_login: str) -> str:
        """Supervisors: give it to another agent; returns their name."""
        check_id("follow_up_id", follow_up_id)
        check_required_text("owner_login", owner_login, 64)
        agent_id, name = self._collector(None, owner_login)
        reassign_follow_up(self.ctx, follow_up_id, agent_id)
        return name

    # --- agreements ------------------------------------------------------------------------

    # --- agreements ---------------------------------------------------------------------

    def agreement_id(self, case_id: int) -> int | None:
        check_id("case_id", case_id)
        return agreements.current_agreement_id(self.db, case_id)

    def open_agreement(self, agreement_id: int) -> AgreementRecord:
        check_id("agreement_id", agreement_id)
        return agreements.open_agreement(self.db, agreement_id)

    draft_agreement = use_case(agreements.draft_agreement)

    def save_special_terms(self, agreement_id: int, terms: str, record_version: int) -> int:
        check_id("agreement_id", agreement_id)
        check_text("terms", terms, agreements.MAX_SPECIAL_TERMS, multiline=True)
        check_version("record_version", record_version)
        return agreements.save_version(
            self.ctx,
            agreement_id,
            special_terms=terms,
            note="special terms",
            record_version=record_version,
        )

    def mark_agreement_ready(self, agreement_id: int, record_version: int) -> None:
        check_id("agreement_id", agreement_id)
        check_version("record_version", record_version)
        agreements.mark_ready(self.ctx, agreement_id, record_version=record_version)  # fmt: skip

    def sign_agreement(
        self,
        agreement_id: int,
        *,
        borrower_confirmation: str,
        place: str,
        effective_on: dt.date | None,
        delivery: str | None,
        record_version: int,
    ) -> str:
        check_id("agreement_id", agreement_id)
        check_required_text("borrower_confirmation", borrower_confirmation, 200)
        check_required_text("place", place, 200)
        check_optional_date(
            "effective_on", effective_on, latest=self.today() + dt.timedelta(days=366)
        )
        check_text("delivery", delivery, 100)
        check_version("record_version", record_version)
        return agreements.sign_agreement(
            self.ctx,
            agreement_id,
            borrower_confirmation=borrower_confirmation,
            place=place,
            effective_on=effective_on,
            borrower_copy_delivery=delivery,
            record_version=record_version,
        )

    def export_agreement(self, agreement_id: int) -> agreements.ExportedCopies:
        check_id("agreement_id", agreement_id)
        return agreements.export_copies(self.ctx, agreement_id, self.exports_folder)

    def print_agreement(self, agreement_id: int) -> agreements.PrintedCopies:
        """The two originals to the host's printer (exported to this agent's folder)."""
        check_id("agreement_id", agreement_id)
        return agreements.print_copies(
            self.ctx, agreement_id, self.exports_folder, self.print_command
        )

    record_agreement_delivery = use_case(agreements.record_delivery)
