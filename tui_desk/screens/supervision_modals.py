"""Supervisor dialogs opened from the board, and the operator's override request.

``ReassignModal``: give one or many cases to another agent (login, reason; Enter moves
on and saves on the last field). ``OverrideRequestModal``: an operator's pending request
to waive a contact rule; ``y`` approves it for the minutes typed, ``n`` rejects it with
the note typed. ``CaseViewModal``: any case, read-only and scrollable; opening it takes no
lease. ``OverrideAskModal``: on the desk, an operator asks for an override of a rule that
refuses contact now.

Every form keeps what was typed when the service refuses, and shows the refusal under
the fields. All reads and writes run in thread workers; Escape closes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_desk.formatting import DASH, day, label, local, money, schedule_amounts
from tui_desk.i18n import N_, _, ngettext
from tui_desk.screens import localise_bindings
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.failures import ForwardsWorkerErrors, WorkerFailure
from tui_desk.screens.form import FieldFormModal, FieldProblem, FormModal, Save, form_bindings
from tui_desk.screens.override_modal import rule_label
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.agreements import AgreementView
from tui_desk.views.case import CaseBundle
from tui_desk.views.supervision import CaseVisitLine, OverrideRequestLine
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.choice import Choice
from tui_desk.widgets.contact_log import ContactLogPanel

DEFAULT_MINUTES = 30

REQUEST_STATUS = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}

VISIT_STATUS = {
    "booked": N_("booked"),
    "confirmed": N_("confirmed"),
    "done": N_("done"),
    "rescheduled": N_("rescheduled"),
    "cancelled": N_("cancelled"),
    "no_show": N_("no show"),
}


# --- a form that is not about one case -------------------------------------------------------


class SupervisionForm(FieldFormModal):
    """Fields one per line, Enter next/save, Escape cancel; the save runs in a worker and
    dismisses with the line to show, or leaves the form open with the refusal."""

    SAVE_GROUP = "supervision-save"
    FORM_HINT = N_("Enter next/save | Esc cancel")

    BINDINGS: ClassVar[list[BindingType]] = form_bindings("supervision.form")

    def __init__(self, service: DeskService) -> None:
        super().__init__(classes="case-form")
        self.service = service


class ReassignModal(SupervisionForm):
    """Give the cases to another agent: their login and a reason (one audited batch)."""

    FORM_TITLE = N_("Reassign cases")

    def __init__(self, service: DeskService, case_ids: list[int]) -> None:
        super().__init__(service)
        self.case_ids = list(dict.fromkeys(case_ids))

    def intro(self) -> Text:
        n = len(self.case_ids)
        shown = ", ".join(f"#{i}" for i in self.case_ids[:8])
        if n > 8:
            shown += ", ..."
        text = Text()
        text.append(ngettext("{n} case", "{n} cases", n).format(n=n), style="bold")
        text.append(f"  {shown}\n", style="dim")
        text.append(
            _("The new owner gets them in the queue; a lease held now runs out as usual."),
            style="dim",
        )
        return text

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("To agent"), Input(placeholder=_("login"), id="reassign-login", compact=True)),
            (
                _("Reason"),
                Input(placeholder=_("why (required)"), id="reassign-reason", compact=True),
            ),
        )

    def prepare(self) -> Save:
        if not self.case_ids:
            raise FieldProblem("reassign-login", _("no case selected to reassign"))
        login = self.value("reassign-login").strip()
        if not login:
            raise FieldProblem("reassign-login", _("type the login of the agent the cases go to"))
        reason = self.value("reassign-reason").strip()
        if not reason:
            raise FieldProblem("reassign-reason", _("a reassignment needs a reason"))
        case_ids = list(self.case_ids)

        def write() -> str:
            n = self.service.reassign(case_ids, login, reason)
            if n == 0:
                return _("{login} already owns these cases; nothing changed").format(login=login)
            return ngettext(
                "{n} case reassigned to {login}", "{n} cases reassigned to {login}", n
            ).format(n=n, login=login)

        return write


# --- deciding an override request ------------------------------------------------------------


class OverrideRequestModal(FormModal[str | None]):
    """One request: ``y`` approves (for the minutes typed), ``n`` rejects (note needed)."""

    AUTO_FOCUS = ""  # y and n act at once; Tab reaches the minutes and the note

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            N_("Close"),
            tooltip=N_("Close without deciding"),
            id="override_request.close",
        ),
        Binding(
            "y,ctrl+y",
            "decide(True)",
            N_("Approve"),
            tooltip=N_("Grant the override to the agent who asked, for the minutes given"),
            id="override_request.approve",
        ),
        Binding(
            "n,ctrl+n",
            "decide(False)",
            N_("Reject"),
            tooltip=N_("Reject the request; the note says why"),
            id="override_request.reject",
        ),
    ]

    SAVE_GROUP = "override-request"

    def __init__(self, service: DeskService, request_id: int) -> None:
        super().__init__(classes="case-form")
        self.service = service
        self.request_id = request_id
        self.line: OverrideRequestLine | None = None
        self.busy = True

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Static(
                Text(_("Override request #{id}").format(id=self.request_id), style="bold"),
                classes="form-title",
            )
            yield Static(Text(_("Reading the request..."), style="dim"), id="orq-detail")
            with Horizontal(classes="form-row"):
                yield Static(_("Minutes"), classes="form-label")
                yield Input(
                    value=str(DEFAULT_MINUTES),
                    placeholder=_("1 to {max}").format(max=self.service.max_override_minutes),
                    id="orq-minutes",
                    compact=True,
                )
            with Horizontal(classes="form-row"):
                yield Static(_("Note"), classes="form-label")
                yield Input(placeholder=_("needed to reject"), id="orq-note", compact=True)
            yield Static(id="form-error", classes="form-error")
            yield Static(
                Text(_("y approve | n reject | Tab minutes, note | Esc close"), style="dim"),
                classes="form-hint",
            )

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, group="override-request", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            line = self.service.override_request(self.request_id)
        except ServiceError as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        self.app.call_from_thread(self.show_request, line)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.worker.name == "_load":
            self._problem(failure.reason)
        return super().worker_failed(failure)

    def _problem(self, text: str) -> None:
        self.query_one("#orq-detail", Static).update(Text(text, style="bold red"))

    def show_request(self, line: OverrideRequestLine) -> None:
        self.line = line
        self.busy = False
        tz = self.service.timezone
        t = Text()
        t.append(f"#{line.case_id} {line.borrower_name}\n", style="bold")
        t.append(_("Rule") + " ", style="dim")
        t.append(rule_label(line.rule) + "\n")
        t.append(_("Asked by") + " ", style="dim")
        t.append(f"{line.requested_by_name} ({line.requested_by_login})  ")
        t.append(local(line.requested_at, tz, "%m-%d %H:%M") + "\n")
        t.append(_("Reason") + " ", style="dim")
        t.append(line.reason + "\n")
        t.append(_("Status") + " ", style="dim")
        status = _(REQUEST_STATUS.get(line.status, line.status))
        t.append(status, style="bold" if line.status == "pending" else "bold yellow")
        if line.decided_by_login:
            t.append(
                "  "
                + _("by {login} {time}").format(
                    login=line.decided_by_login, time=local(line.decided_at, tz, "%m-%d %H:%M")
                )
            )
        if line.decision_note:
            t.append(f"  ({line.decision_note})", style="dim")
        self.query_one("#orq-detail", Static).update(t)

    def action_close(self) -> None:
        self.request_close()

    def action_decide(self, approve: bool) -> None:
        if self.busy or self.line is None:
            return
        note = self.query_one("#orq-note", Input).value.strip()
        minutes = DEFAULT_MINUTES
        if approve:
            text = self.query_one("#orq-minutes", Input).value.strip()
            longest = self.service.max_override_minutes
            if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= longest:
                self.error(_("minutes: a whole number from 1 to {max}").format(max=longest))
                self.query_one("#orq-minutes", Input).focus()
                return
            minutes = int(text)
        elif not note:
            self.error(_("a rejection needs a note saying why"))
            self.query_one("#orq-note", Input).focus()
            return
        line = self.line

        def write() -> str:
            decision = self.service.decide_override_request(
                self.request_id, approve=approve, note=note, minutes=minutes
            )
            if decision.override_id is not None:
                return _(
                    "{rule} waived once for {login} on case {case_id}, for {minutes} minutes"
                ).format(
                    rule=rule_label(line.rule),
                    login=decision.requested_by_login,
                    case_id=line.case_id,
                    minutes=minutes,
                )
            return _("Request #{id} rejected").format(id=decision.request_id)

        self.start_save(write)
        self.busy = self.saving

    def _refused(self, reason: str) -> None:
        super()._refused(reason)
        self.busy = False
        # A request decided meanwhile: show how it stands now.
        self._load()


# --- a case, read-only -------------------------------------------------------------------


class CaseViewModal(ForwardsWorkerErrors, ModalScreen[None]):
    """Header, accounts, masked phones, holds, visits, plan and agreement, contact log.

    Read-only: it takes no lease and writes nothing. Up/Down/PgUp/PgDn scroll, Tab
    reaches the contact log (its full note shows under it), Escape closes.
    """

    DEFAULT_CSS = """
    CaseViewModal { align: center middle; background: $background 60%; }
    CaseViewModal > #cv-box {
        width: 120; max-width: 100%; height: 100%; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    CaseViewModal #cv-body { height: 1fr; scrollbar-size-vertical: 1; }
    CaseViewModal #cv-body > Static { height: auto; margin: 0 0 1 0; }
    CaseViewModal #cv-title, CaseViewModal #cv-hint { height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close"), tooltip=N_("Close the case view"), id="caseview.close"),
    ]  # fmt: skip

    def __init__(self, service: DeskService, case_id: int) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.case_id = case_id
        self.bundle: CaseBundle | None = None

    def compose(self) -> ComposeResult:
        tz = self.service.timezone
        with Vertical(id="cv-box"):
            yield Static(
                Text(_("Case #{id} (read-only)").format(id=self.case_id), style="bold"),
                id="cv-title",
            )
            with VerticalScroll(id="cv-body"):
                yield Static(Text(_("Reading the case..."), style="dim"), id="cv-status")
                yield CaseHeader(timezone=tz, id="cv-header")
                yield Static(id="cv-visits")
                yield Static(id="cv-plan")
                yield ContactLogPanel(timezone=tz, id="cv-contacts")
            yield Static(
                Text(_("Up/Down/PgUp/PgDn scroll | Tab contact log | Esc close"), style="dim"),
                id="cv-hint",
            )

    def on_mount(self) -> None:
        # Inline: the app stylesheet sizes these widgets for the desk's panes, and it
        # outranks a screen's default CSS. Here the whole header shows and the body scrolls.
        header = self.query_one("#cv-header", CaseHeader)
        header.styles.max_height = 500
        header.styles.margin = (0, 0, 1, 0)
        panel = self.query_one("#cv-contacts", ContactLogPanel)
        panel.styles.height = "auto"
        panel.table.styles.height = "auto"
        panel.table.styles.max_height = 14
        self.query_one("#cv-body", VerticalScroll).focus()
        self._load()

    @work(thread=True, group="case-view", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            bundle = self.service.case(self.case_id)
            visits = self.service.case_visits(self.case_id)
        except ServiceError as exc:
            self.app.call_from_thread(self._problem, str(exc))
            return
        self.app.call_from_thread(self.show_case, bundle, visits)

    def _problem(self, text: str) -> None:
        self.query_one("#cv-status", Static).update(Text(text, style="bold red"))

    def worker_failed(self, failure: WorkerFailure) -> bool:
        self._problem(failure.reason)
        return False

    def show_case(self, bundle: CaseBundle, visits: Sequence[CaseVisitLine]) -> None:
        self.bundle = bundle
        self.query_one("#cv-status", Static).display = False
        self.query_one("#cv-header", CaseHeader).show_bundle(
            bundle, in_hand=None, now=self.service.now()
        )
        self.query_one("#cv-visits", Static).update(self._visits(visits))
        self.query_one("#cv-plan", Static).update(
            plan_text(bundle.agreement, bundle.detail.currency, self.service.timezone)
        )
        self.query_one("#cv-contacts", ContactLogPanel).show(bundle.contacts)

    def _visits(self, visits: Sequence[CaseVisitLine]) -> Text:
        tz = self.service.timezone
        t = Text()
        t.append(_("Visits") + " ", style="dim")
        if not visits:
            t.append(_("none"))
            return t
        for v in visits:
            t.append("\n")
            t.append(local(v.starts_at, tz, "%Y-%m-%d %H:%M") + "-" + local(v.ends_at, tz, "%H:%M"))
            t.append(f"  {_(VISIT_STATUS.get(v.status, v.status))}", style="bold")
            t.append(f"  {v.collector_name}  {v.district}", style="dim")
        return t

    def action_close(self) -> None:
        self.dismiss(None)


def plan_text(view: AgreementView, currency: str, timezone: str) -> Text:
    """The plan and agreement in a few lines (the desk's pane shows the whole text)."""
    t = Text()
    t.append(_("Plan") + " ", style="dim")
    plan = view.plan
    if plan is None:
        t.append(_("no repayment plan yet"))
    else:
        t.append(f"{label('plan_kind', plan.kind)}, {label('frequency', plan.frequency)}  ")
        t.append(label("plan_status", plan.status), style="bold")
        t.append("  " + schedule_amounts(plan.amounts_minor, currency) + "  ")
        t.append(_("last {day}").format(day=day(plan.last_due_on)))
        t.append(
            "\n"
            + _("total")
            + f" {money(plan.total_minor, currency)}  "
            + _("Paid")
            + f" {money(plan.paid_minor, currency)}  "
        )
        nxt = plan.next_due
        t.append(_("Next due") + " ", style="dim")
        t.append(
            f"#{nxt.seq} {day(nxt.due_on)} {money(nxt.open_minor, currency)} "
            f"({label('instalment_status', nxt.shown)})"
            if nxt
            else _("nothing open")
        )
    t.append("\n")
    t.append(_("Agreement") + " ", style="dim")
    a = view.agreement
    if a is None:
        t.append(_("none yet"))
    else:
        t.append(label("agreement_status", a.status), style="bold")
        t.append(f"  {a.template_name} {a.template_version}  ", style="dim")
        t.append(_("Signed") + " ", style="dim")
        t.append(local(a.signed_at, timezone) if a.signed_at else DASH)
        if a.hash_ok is False:
            t.append(
                "\n" + _("THE STORED TEXT DOES NOT MATCH THE HASH TAKEN AT SIGNING"),
                style="bold red",
            )
    return t


# --- the operator asks for an override -------------------------------------------------------


class OverrideAskModal(CaseFormModal):
    """Ask a supervisor to waive a rule that refuses contact on this case now."""

    FORM_TITLE = N_("Ask for a contact-rule override")

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        status = bundle.contact_status
        known = service.override_request_rules()
        self.rules: tuple[str, ...] = (
            (status.rule,)
            if status is not None and not status.allowed and status.rule in known
            else ()
        )
        self.checked = False

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("Rule"), Choice(self._options(), id="ask-rule")),
            (_("Reason"), Input(placeholder=_("why (required)"), id="ask-reason", compact=True)),
        )

    def _options(self) -> list[tuple[str, str]]:
        if not self.rules:
            return [("", _("(checking which rules refuse contact...)"))]
        return [(rule, rule_label(rule)) for rule in self.rules]

    def intro(self) -> Text:
        return Text(
            _("A supervisor approves or rejects it; when approved, you may make one attempt."),
            style="dim",
        )

    def on_mount(self) -> None:
        self._load_rules()

    @work(thread=True, group="override-ask", exclusive=True, exit_on_error=False)
    def _load_rules(self) -> None:
        try:
            rules = self.service.refused_override_rules(self.bundle.case_id)
        except ServiceError as exc:
            self.app.call_from_thread(self.error, str(exc))
            return
        self.app.call_from_thread(self._rules_arrived, rules)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "override-ask":
            self.error(failure.reason)
        return super().worker_failed(failure)

    def _rules_arrived(self, rules: tuple[str, ...]) -> None:
        self.checked = True
        self.rules = rules
        choice = self.query_one("#ask-rule", Choice)
        current = choice.value
        choice.options = (
            self._options()
            if rules
            else [("", _("nothing an override can waive refuses contact now"))]
        )
        choice.index = rules.index(current) if current in rules else 0
        choice.refresh()

    def prepare(self) -> Save:
        rule = self.choice("ask-rule")
        if not rule:
            raise FieldProblem(
                "ask-rule",
                _("nothing an override can waive refuses contact now")
                if self.checked
                else _("still checking the rules; try again in a moment"),
            )
        reason = self.value("ask-reason").strip()
        if not reason:
            raise FieldProblem("ask-reason", _("say why the override is needed"))
        case_id = self.bundle.case_id

        def write() -> str:
            request_id = self.service.request_override(case_id, rule, reason)
            return _("Override of {rule} asked for (request #{id}); a supervisor decides").format(
                rule=rule_label(rule), id=request_id
            )

        return write
