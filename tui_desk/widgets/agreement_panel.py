"""The plan and agreement of the selected case: schedule summary above the latest text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from tui_desk.formatting import DASH, day, label, local, money, schedule_amounts
from tui_desk.i18n import _
from tui_desk.views.agreements import AgreementSummary, AgreementView, PlanSummary
from tui_desk.widgets.in_place import update_in_place


class AgreementPanel(Vertical):
    """Read-only for now: editing agreements is its own screen."""

    def __init__(self, *, timezone: str, currency: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timezone = timezone
        self.currency = currency
        self.view: AgreementView | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="agreement-summary")
        yield TextArea(id="agreement-text", read_only=True, soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        self.query_one("#agreement-summary", Static).update(Text(_("No case selected."), "dim"))

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#agreement-text", TextArea)

    @property
    def summary_text(self) -> str:
        return str(self.query_one("#agreement-summary", Static).content)

    def show(self, view: AgreementView) -> None:
        self.view = view
        summary = Text()
        self._plan(summary, view.plan)
        summary.append("\n")
        self._agreement(summary, view.agreement)
        update_in_place(self.query_one("#agreement-summary", Static), summary)
        if view.agreement is None:
            body = _("No agreement yet.")
        elif not view.agreement.text:
            body = _("Empty draft: no text has been written yet.")
        else:
            body = view.agreement.text
            if view.agreement.special_terms:
                body += "\n\n" + _("Special terms") + "\n" + view.agreement.special_terms
        area = self.text_area
        if area.text == body:
            # The same text (most cases have no agreement yet): as loading it again
            # leaves it, cursor at the top, without drawing it again.
            area.move_cursor((0, 0))
        else:
            area.load_text(body)

    def _plan(self, t: Text, plan: PlanSummary | None) -> None:
        t.append(_("Plan") + " ", style="dim")
        if plan is None:
            t.append(_("no repayment plan yet"), style="bold")
            return
        t.append(f"{label('plan_kind', plan.kind)}, {label('frequency', plan.frequency)}  ")
        t.append(label("plan_status", plan.status), style="bold")
        t.append("\n")
        t.append(schedule_amounts(plan.amounts_minor, self.currency))
        t.append("  " + _("last {day}").format(day=day(plan.last_due_on)))
        t.append("  " + _("total") + " ", style="dim")
        t.append(money(plan.total_minor, self.currency))
        t.append("\n")
        t.append(_("Paid") + " ", style="dim")
        t.append(money(plan.paid_minor, self.currency))
        if plan.missed_count:
            t.append("  " + _("Missed") + " ", style="dim")
            t.append(
                _("{n} instalments, {amount}").format(
                    n=plan.missed_count, amount=money(plan.missed_minor, self.currency)
                ),
                style="bold red",
            )
        if plan.down_payment_minor or plan.waiver_minor:
            t.append("  " + _("down payment") + " ", style="dim")
            t.append(money(plan.down_payment_minor, self.currency))
            t.append("  " + _("waived") + " ", style="dim")
            t.append(money(plan.waiver_minor, self.currency))
        if plan.allocated:
            t.append("\n")
            t.append(_("Applied to") + " ", style="dim")
            t.append(
                "  ".join(
                    f"{label('component', name)} {money(amount, self.currency)}"
                    for name, amount in plan.allocated
                )
            )
        t.append("\n")
        t.append(_("Next due") + " ", style="dim")
        nxt = plan.next_due
        if nxt is None:
            t.append(_("nothing open"))
            return
        t.append(
            f"#{nxt.seq} {day(nxt.due_on)} {money(nxt.open_minor, self.currency)}", style="bold"
        )
        t.append(f" ({label('instalment_status', nxt.shown)})")

    def _agreement(self, t: Text, a: AgreementSummary | None) -> None:
        t.append(_("Agreement") + " ", style="dim")
        if a is None:
            t.append(_("none yet"), style="bold")
            return
        t.append(label("agreement_status", a.status), style="bold")
        version = (
            _("text v{seq} of {count}").format(seq=a.text_version, count=a.text_versions)
            if a.text_version is not None
            else _("empty draft")
        )
        t.append(f"  {version}  ")
        t.append(f"{label('template', a.template_name)} {a.template_version}", style="dim")
        t.append("\n")
        if a.hash_ok is False:
            t.append(
                "⚠ " + _("THE STORED TEXT DOES NOT MATCH THE HASH TAKEN AT SIGNING"),
                style="bold reverse red",
            )
            t.append("\n")
        elif a.hash_ok:
            t.append(_("Text matches the hash taken at signing"), style="green")
            t.append("\n")
        t.append(_("Signed") + " ", style="dim")
        t.append(local(a.signed_at, self.timezone) if a.signed_at else DASH)
        t.append("  " + _("Effective") + " ", style="dim")
        t.append(day(a.effective_on))
        if a.signed_place:
            t.append("\n")
            t.append(_("Place") + " ", style="dim")
            t.append(a.signed_place)
