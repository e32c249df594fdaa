"""The case keys: log a contact, the small case forms (payment, hold, registration,
documents, phones, plan, SMS, adjustments, complaint, archive), contact-rule
overrides, dialing, the complaint and follow-up lists, and revealing personal data.
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import work

from tui_desk.formatting import label, local
from tui_desk.i18n import _
from tui_desk.messages import PersonalDataRevealed
from tui_desk.services.errors import ServiceError
from tui_desk.views.case import CaseBundle

if TYPE_CHECKING:
    from tui_desk.screens.casework_modals import CaseFormModal
    from tui_desk.screens.contact_modal import ContactSaved
    from tui_desk.screens.reveal_modal import RevealChoice
    from tui_desk.views.dialing import DialResult


if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


def form_class(module: str, name: str) -> type[CaseFormModal]:
    """The case form ``name`` of ``tui_desk.screens.<module>``, imported on first use."""
    found: type[CaseFormModal] = getattr(
        importlib.import_module(f"tui_desk.screens.{module}"), name
    )
    return found


class CaseActions(_Host):
    """Keys that open a form or a list on the case in hand."""

    FORMS: ClassVar[dict[str, tuple[str, str]]] = {
        "payment": ("casework_modals", "PaymentModal"),
        "hold": ("casework_modals", "HoldModal"),
        "registration": ("casework_modals", "RegistrationModal"),
        "document": ("casework_modals", "DocumentModal"),
        "review": ("casework_modals", "ReviewModal"),
        "phone": ("casework_modals", "PhoneModal"),
        "do_not_call": ("casework_modals", "DoNotCallModal"),
        "plan": ("plan_modals", "PlanModal"),
        "complaint": ("casework_modals", "ComplaintModal"),
        "archive": ("casework_modals", "ArchiveModal"),
        "adjustment": ("adjustment_modals", "AdjustmentModal"),
        "adjustment_decision": ("adjustment_modals", "AdjustmentDecisionModal"),
        "sms": ("sms_modal", "SmsModal"),
        "credit": ("casework_modals", "CreditModal"),
    }
    """Each case form by the name its key passes: the module under ``tui_desk.screens``
    and the class. The forms are imported when first opened, not before the first frame
    (see tests/test_startup.py)."""

    def action_log_contact(self) -> None:
        self._with_case("log_contact", self._open_contact)

    def _open_contact(self, bundle: CaseBundle) -> None:
        from tui_desk.screens.contact_modal import ContactModal

        self.app.push_screen(
            ContactModal(self.service, bundle, case_changed=self._case_changed),
            self._contact_saved,
        )

    def _contact_saved(self, result: ContactSaved | None) -> None:
        if result is None:
            return
        self.notify(result.summary, title=_("Contact logged"), markup=False)
        self._state_on_outcome(result.case_id)
        self._after_write(result.case_id)

    def action_undo_contact(self) -> None:
        self._with_case("undo_contact", self._ask_undo)

    def _ask_undo(self, bundle: CaseBundle) -> None:
        me = self.service.actor.id
        mine = [c for c in bundle.contacts if c.agent_id == me]
        line = mine[0] if mine else None  # the log is newest first
        if line is None or line.voided:
            self.notify(
                _("You have no outcome on case {case_id} to undo.").format(case_id=bundle.case_id),
                title=_("Undo outcome"),
                severity="warning",
            )
            return
        question = _('Undo "{outcome}" logged at {time} on case {case_id}?').format(
            outcome=label("outcome", line.outcome),
            time=local(line.started_at, self.service.timezone, "%H:%M"),
            case_id=bundle.case_id,
        )
        question += "\n" + _("It stays in the log, struck out, and no longer counts.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._undo_in_worker(bundle.case_id, line.contact_id)

        from tui_desk.screens.confirm import ConfirmModal

        self.app.push_screen(ConfirmModal(question), answered)

    @work(thread=True, group="undo", exit_on_error=False)
    def _undo_in_worker(self, case_id: int, contact_id: int) -> None:
        try:
            self.service.undo_contact(contact_id)
        except ServiceError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=_("Undo outcome"), severity="error", markup=False
            )
            return
        self.app.call_from_thread(self._undone, case_id)

    def _undone(self, case_id: int) -> None:
        self.notify(_("The outcome was undone."), title=_("Undo outcome"))
        self._after_write(case_id)

    def action_case_form(self, name: str) -> None:
        if name in self.FORMS:
            self._with_case(f"case_form('{name}')", partial(self._open_form, name))

    def _open_form(self, name: str, bundle: CaseBundle) -> None:
        form = form_class(*self.FORMS[name])
        if name == "review" and not bundle.documents:
            self.notify(_("No document received yet: add one with u."), severity="warning")
            return
        if name == "credit":
            try:
                self.service.require_credit_rights()  # the role alone decides
            except ServiceError as exc:
                self.notify(str(exc), title=_("Credit"), severity="error", markup=False)
                return
            if bundle.detail.credit_minor <= 0:
                self.notify(_("The case has no credit."), severity="warning")
                return
        if name == "do_not_call" and not bundle.detail.phones:
            self.notify(_("No phone number on file: add one with a."), severity="warning")
            return
        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Saved"), markup=False)
                self._after_write(case_id)

        self.app.push_screen(form(self.service, bundle, case_changed=self._case_changed), saved)

    # --- contact-rule overrides (supervisors) --------------------------------------------

    def action_grant_override(self) -> None:
        try:
            self.service.require_override()  # the role alone decides; no database call
        except ServiceError as exc:
            self.notify(str(exc), title=_("Override"), severity="error", markup=False)
            return
        self._with_case("grant_override", self._open_override)

    def _open_override(self, bundle: CaseBundle) -> None:
        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Override granted"), markup=False)

        from tui_desk.screens.override_modal import OverrideModal

        self.app.push_screen(
            OverrideModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    def action_ask_override(self) -> None:
        self._with_case("ask_override", self._open_override_ask)

    def _open_override_ask(self, bundle: CaseBundle) -> None:
        from tui_desk.screens.supervision_modals import OverrideAskModal

        def saved(summary: str | None) -> None:
            if summary is not None:
                self.notify(summary, title=_("Override asked for"), markup=False)

        self.app.push_screen(
            OverrideAskModal(self.service, bundle, case_changed=self._case_changed), saved
        )

    # --- dialing -----------------------------------------------------------------------

    def action_dial(self) -> None:
        self._with_case("dial", self._open_dial)

    def _open_dial(self, bundle: CaseBundle) -> None:
        case_id = bundle.case_id

        def dialled(result: DialResult | None) -> None:
            if result is not None:
                self._after_write(case_id)

        from tui_desk.screens.dial_modal import DialModal

        dialer = getattr(self.app, "dialer", None)
        self.app.push_screen(DialModal(self.service, bundle, dialer), dialled)

    # --- complaints (supervisors) ---------------------------------------------------------

    def action_complaints(self) -> None:
        if not self.service.handles_complaints():
            self.notify(
                _("Complaints are handled by supervisors."), title=_("Complaints"),
                severity="warning",
            )  # fmt: skip
            return

        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                self._select(case_id, immediate=True)

        from tui_desk.screens.complaint_modal import ComplaintListModal

        self.app.push_screen(ComplaintListModal(self.service), chosen)

    # --- follow-ups --------------------------------------------------------------------

    def action_follow_ups(self) -> None:
        def chosen(case_id: int | None) -> None:
            if case_id is not None:
                self._select(case_id, immediate=True)
                if self.has_class("-narrow"):
                    self._show("contacts")
            elif self._wanted is not None:
                self._after_write(self._wanted)

        from tui_desk.screens.followup_modal import FollowUpListModal

        self.app.push_screen(FollowUpListModal(self.service), chosen)

    # --- reveal --------------------------------------------------------------------------

    def action_reveal(self) -> None:
        if self.bundle is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        detail = self.bundle.detail

        def chosen(choice: RevealChoice | None) -> None:
            if choice is not None:
                self._load_revealed_value(detail.borrower_id, choice)

        from tui_desk.screens.reveal_modal import RevealModal

        self.app.push_screen(RevealModal(detail), chosen)

    @work(thread=True, group="reveal", exclusive=True, exit_on_error=False)
    def _load_revealed_value(self, borrower_id: int, choice: RevealChoice) -> None:
        value = self.service.reveal(borrower_id, choice.field, choice.phone_id)
        self.post_message(PersonalDataRevealed(choice.label, value))

    def on_personal_data_revealed(self, message: PersonalDataRevealed) -> None:
        # A toast rather than a pane: the full value disappears again by itself.
        self.notify(
            f"{message.label}: {message.value}",
            title=_("Revealed (recorded in the audit log)"),
            timeout=12,
            markup=False,
        )
