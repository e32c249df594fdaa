"""A supervisor waives one contact rule for one attempt: the override form (``y`` on the desk).

The form works like the other case forms (Enter next/save, Left/Right change a choice,
Escape cancels; a problem is shown under the fields and everything typed stays). The
rule is also picked by its number, 1-5, while the focus is not in a text field. The
agent is typed as a login; the form proposes whoever holds the case's lease, else its
owner, when that is someone other than the supervisor. Only the service decides who may
grant (the desk asks it before opening the form) and what is valid; the form checks the
input it can check alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import get_current_worker

from tui_desk.i18n import N_, _
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.form import FieldProblem, Save
from tui_desk.services.desk import DeskService
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.choice import Choice

DEFAULT_MINUTES = 30

# Readable names of the rules an override may waive (codes from services.contacts).
RULE_LABELS: dict[str, str] = {
    "quiet_hours": N_("Quiet hours: contact outside the allowed hours"),
    "daily_call_cap": N_("Daily cap: one more connected call today"),
    "weekly_call_cap": N_("Weekly cap: one more call attempt in 7 days"),
    "after_conversation": N_("Rest after a conversation: call again sooner"),
    "third_party": N_("Third party: call a number of someone else"),
}


def rule_label(rule: str) -> str:
    text = RULE_LABELS.get(rule)
    return _(text) if text else rule.replace("_", " ")


def _number_bindings() -> list[BindingType]:
    # Not priority bindings: a digit typed in a text field (the minutes) stays text.
    return [
        Binding(
            str(n),
            f"pick_rule({n})",
            N_("Pick rule"),
            tooltip=N_("Choose the rule with this number"),
            show=False,
            id=f"override.rule.{n}",
        )
        for n in range(1, 10)
    ]


class OverrideModal(CaseFormModal):
    """Let one agent make one contact attempt on this case that one rule forbids."""

    FORM_TITLE = N_("Override a contact rule")

    BINDINGS: ClassVar[list[BindingType]] = _number_bindings()

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        self.add_class("override-form")
        self.rules = service.override_rules()
        status = bundle.contact_status
        # The rule that refuses contact right now is the likely one to waive.
        self.first_rule = (
            status.rule
            if status is not None and not status.allowed and status.rule in self.rules
            else None
        )

    def fields(self) -> Sequence[tuple[str, Widget]]:
        options = [(rule, f"{n}  {rule_label(rule)}") for n, rule in enumerate(self.rules, 1)]
        return (
            (_("Rule"), Choice(options, value=self.first_rule, id="override-rule")),
            (
                _("For agent"),
                Input(placeholder=_("login"), id="override-agent", compact=True),
            ),
            (
                _("Minutes"),
                Input(
                    value=str(DEFAULT_MINUTES),
                    placeholder=_("1 to {max}").format(max=self.service.max_override_minutes),
                    id="override-minutes",
                    compact=True,
                ),
            ),
            (
                _("Reason"),
                Input(placeholder=_("why (required)"), id="override-reason", compact=True),
            ),
        )

    def intro(self) -> Text:
        return Text(
            _(
                "One attempt by that agent on this case, within the minutes given; "
                "recorded in the audit log. 1-{n} pick the rule."
            ).format(n=len(self.rules)),
            style="dim",
        )

    def on_mount(self) -> None:
        self._load_grantee()

    @work(thread=True, group="override-grantee", exclusive=True, exit_on_error=False)
    def _load_grantee(self) -> None:
        login = self.service.override_grantee(self.bundle.case_id)
        if login and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._propose_grantee, login)

    def _propose_grantee(self, login: str) -> None:
        field = self.query_one("#override-agent", Input)
        if not field.value.strip():  # never replace what the supervisor typed
            field.value = login

    def action_pick_rule(self, number: int) -> None:
        if 1 <= number <= len(self.rules):
            self.query_one("#override-rule", Choice).select(self.rules[number - 1])

    def prepare(self) -> Save:
        rule = self.choice("override-rule")
        login = self.value("override-agent").strip()
        if not login:
            raise FieldProblem("override-agent", _("type the login of the agent it is for"))
        longest = self.service.max_override_minutes
        text = self.value("override-minutes").strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= longest:
            raise FieldProblem(
                "override-minutes",
                _("minutes: a whole number from 1 to {max}").format(max=longest),
            )
        minutes = int(text)
        reason = self.value("override-reason").strip()
        if not reason:
            raise FieldProblem("override-reason", _("an override needs a reason"))
        case_id = self.bundle.case_id

        def write() -> str:
            self.service.grant_override(
                case_id, rule=rule, granted_to=login, reason=reason, minutes=minutes
            )
            return _(
                "{rule} waived once for {login} on case {case_id}, for {minutes} minutes"
            ).format(rule=rule_label(rule), login=login, case_id=case_id, minutes=minutes)

        return write
