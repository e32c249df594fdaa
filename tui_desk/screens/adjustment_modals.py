"""Adjusting the active repayment plan (PROCESS.md step 8).

``AdjustmentModal``: an agent asks for a hardship adjustment (suspend interest for N
periods, extend the term by N instalments, N grace periods paying interest only or
capitalising it; several at once) with a reason. The plan as it stands is read once in a
worker; from then on the before/after comparison (instalment, count, last due date,
interest) is computed by the pure rules on every keystroke. Enter on the last field saves
the request, which then awaits a supervisor.

``AdjustmentDecisionModal``: a supervisor sees the case's pending request with its
before/after and presses ``y`` to approve or ``n`` to reject (a note is needed to reject).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_desk.formatting import label, labels, money, schedule_amounts
from tui_desk.i18n import N_, _, ngettext
from tui_desk.rules.adjustments import Changes, Comparison, Figures, compare
from tui_desk.rules.plans import GRACE_MODES, GRACE_NONE, to_minor
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.form import FieldProblem, Save
from tui_desk.screens.parsing import InputProblem, parse_whole
from tui_desk.services import adjustments
from tui_desk.services.adjustments import AdjustmentBasis
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.adjustments import PendingAdjustment
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.choice import Choice

MAX_PERIODS = 120


def _count(field: str, text: str, what: str) -> int:
    try:
        return parse_whole(text.strip() or "0", low=0, high=MAX_PERIODS)
    except InputProblem:
        raise FieldProblem(
            field, _("the {what} must be from 0 to {high}").format(what=what, high=MAX_PERIODS)
        ) from None


def comparison_text(comparison: Comparison, currency: str) -> Text:
    """Before and after, one row per figure; what changes is bold."""
    text = Text()

    def left(value: str, width: int) -> str:  # in cells: a Chinese glyph takes two
        return value + " " * max(0, width - cell_len(value))

    def right(value: str, width: int) -> str:
        return " " * max(0, width - cell_len(value)) + value

    text.append(f"{left('', 14)} {right(_('before'), 16)} {right(_('after'), 16)}", style="bold")

    def row(caption: str, a: str, b: str) -> None:
        text.append("\n")
        text.append(f"{left(caption, 14)} {right(a, 16)} ")
        text.append(right(b, 16), style="" if a == b else "bold")

    def cash(amount: Decimal) -> str:
        return money(to_minor(amount), currency)

    before, after = comparison.before, comparison.after
    row(_("instalment"), cash(before.instalment), cash(after.instalment))
    row(_("count"), str(before.count), str(after.count))
    row(_("last due"), before.last_due.isoformat(), after.last_due.isoformat())
    row(_("interest"), cash(before.total_interest), cash(after.total_interest))
    row(_("total"), cash(before.total_amount), cash(after.total_amount))
    return text


def changes_text(changes: Changes) -> str:
    """The terms asked for, in words: "no interest for 3 periods; 6 more instalments"."""
    parts: list[str] = []
    if changes.suspend_periods:
        n = changes.suspend_periods
        words = ngettext("no interest for {n} period", "no interest for {n} periods", n)
        parts.append(words.format(n=n))
    if changes.extend_by:
        n = changes.extend_by
        parts.append(ngettext("{n} more instalment", "{n} more instalments", n).format(n=n))
    if changes.grace_periods:
        n = changes.grace_periods
        parts.append(
            ngettext("{n} grace period ({mode})", "{n} grace periods ({mode})", n).format(
                n=n, mode=label("grace_mode", changes.grace_mode)
            )
        )
    return "; ".join(parts)


def _kinds(kinds: Sequence[str]) -> str:
    return labels("adjustment_kind", kinds)


class AdjustmentModal(CaseFormModal):
    """Ask for a hardship adjustment of the case's active plan (a supervisor decides)."""

    FORM_TITLE = N_("Adjust the repayment plan")
    UNITS: ClassVar[dict[str, str]] = {
        "adj-suspend": N_("periods"),
        "adj-extend": N_("instalments"),
        "adj-grace": N_("periods"),
    }
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"adj-reason": adjustments.MAX_REASON}

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        self.basis: AdjustmentBasis | None = None

    def fields(self) -> Sequence[tuple[str, Widget]]:
        def box(widget_id: str, value: str, placeholder: str) -> Input:
            return Input(value=value, placeholder=placeholder, id=widget_id, compact=True)

        return (
            (_("Suspend interest"), box("adj-suspend", "0", _("periods without interest"))),
            (_("Extend by"), box("adj-extend", "0", _("instalments added"))),
            (_("Grace count"), box("adj-grace", "0", _("periods before repaying"))),
            (
                _("Grace mode"),
                Choice(
                    [(m, label("grace_mode", m)) for m in GRACE_MODES],
                    value=GRACE_NONE,
                    id="adj-grace-mode",
                ),
            ),
            (_("Reason"), box("adj-reason", "", _("the borrower's hardship"))),
        )

    def intro(self) -> Text:
        return Text(_("Reading the plan as it stands..."), style="dim")

    def on_mount(self) -> None:
        self.query_one(".form-box").mount(
            Static(id="adj-preview"), before=self.query_one("#form-error")
        )
        self._load_basis()

    @work(thread=True, group="adjustment-basis", exclusive=True, exit_on_error=False)
    def _load_basis(self) -> None:
        try:
            basis = self.service.adjustment_basis(self.bundle.case_id)
        except ServiceError as exc:  # shown in the form
            self.app.call_from_thread(self._basis_problem, str(exc))
            return
        self.app.call_from_thread(self.show_basis, basis)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "adjustment-basis":
            self._basis_problem(failure.reason)
        return super().worker_failed(failure)

    def _basis_problem(self, text: str) -> None:
        self.query_one(".form-intro", Static).update(Text(text, style="red"))

    def show_basis(self, basis: AdjustmentBasis) -> None:
        self.basis = basis
        r = basis.remaining
        intro = Text(
            _("Left {balance} in {count} {frequency} instalments from {due}").format(
                balance=money(to_minor(r.balance), basis.currency),
                count=r.instalments,
                frequency=label("frequency", r.frequency),
                due=r.next_due.isoformat(),
            ),
            style="dim",
        )
        if basis.pending_id is not None:
            intro.append("\n")
            intro.append(
                _("A request on this plan already awaits a supervisor's decision"), style="bold red"
            )
        self.query_one(".form-intro", Static).update(intro)
        self.refresh_preview()

    def read_changes(self) -> Changes:
        suspend = _count("adj-suspend", self.value("adj-suspend"), _("number of periods"))
        extend = _count("adj-extend", self.value("adj-extend"), _("number of instalments"))
        grace = _count("adj-grace", self.value("adj-grace"), _("number of grace periods"))
        mode = self.choice("adj-grace-mode")
        return Changes(
            suspend_periods=suspend, extend_by=extend, grace_periods=grace, grace_mode=mode
        )

    @on(Input.Changed)
    @on(Choice.Changed)
    def _changed(self) -> None:
        if self.basis is not None:
            self.refresh_preview()

    def refresh_preview(self) -> None:
        basis = self.basis
        if basis is None:
            return
        try:
            changes = self.read_changes()
        except FieldProblem as problem:
            text = Text(_("No preview: {problem}").format(problem=problem), style="yellow")
        else:
            text = self._preview(basis, changes)
        self.query_one("#adj-preview", Static).update(text)

    def _preview(self, basis: AdjustmentBasis, changes: Changes) -> Text:
        if not changes.kinds:
            if basis.before is None:
                return Text()
            figures = Figures.of(basis.before)
            return Text(
                _("Now: {amounts}, last due {last}").format(
                    amounts=schedule_amounts(
                        [to_minor(line.amount) for line in basis.before.regular], basis.currency
                    ),
                    last=figures.last_due.isoformat(),
                ),
                style="dim",
            )
        after, problems = basis.preview(changes)
        if after is None or basis.before is None:
            return Text(
                _("No preview: {problems}").format(problems="; ".join(problems)), style="yellow"
            )
        return comparison_text(compare(basis.before, after), basis.currency)

    def prepare(self) -> Save:
        basis = self.basis
        if basis is None:
            raise FieldProblem("adj-suspend", _("still reading the plan; a moment"))
        if basis.pending_id is not None:
            raise FieldProblem(
                "adj-suspend", _("a request on this plan already awaits a supervisor's decision")
            )
        changes = self.read_changes()
        after, problems = basis.preview(changes)
        if after is None:
            raise FieldProblem("adj-suspend", "; ".join(problems))
        reason = self.value("adj-reason").strip()
        if not reason:
            raise FieldProblem("adj-reason", _("give the reason for the adjustment"))
        case_id = self.bundle.case_id

        def write() -> str:
            self.service.request_adjustment(case_id, changes, reason)
            return _("Adjustment requested ({kinds}): awaiting supervisor approval").format(
                kinds=_kinds(changes.kinds)
            )

        return write


class AdjustmentDecisionModal(CaseFormModal):
    """Supervisors: approve (``y``) or reject (``n``, with a note) the case's pending request."""

    FORM_TITLE = N_("Decide an adjustment")
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"adj-note": adjustments.MAX_REASON}
    AUTO_FOCUS = ""  # y and n are keys of the screen until the note is chosen

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide(True)", N_("Approve"), tooltip=N_("Approve the request"), id="adj.y"),
        Binding(
            "n",
            "decide(False)",
            N_("Reject"),
            tooltip=N_("Reject the request (with a note)"),
            id="adj.n",
        ),
    ]

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        self.pending: PendingAdjustment | None = None
        self.loaded = False
        self.approve: bool | None = None

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (
                _("Note"),
                Input(placeholder=_("why (needed to reject)"), id="adj-note", compact=True),
            ),
        )

    def intro(self) -> Text:
        return Text(_("Reading the pending request..."), style="dim")

    def on_mount(self) -> None:
        self.query_one(".form-box").mount(
            Static(id="adj-decision"), before=self.query_one("#form-error")
        )
        self.query_one(".form-hint", Static).update(
            Text(_("y approve | n reject | Tab note | Esc close"), style="dim")
        )
        self._load()

    @work(thread=True, group="adjustment-pending", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            rows = self.service.pending_adjustments(self.bundle.case_id)
        except ServiceError as exc:  # shown in the form
            self.app.call_from_thread(self._problem, str(exc))
            return
        self.app.call_from_thread(self.show_pending, rows[0] if rows else None)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "adjustment-pending":
            self._problem(failure.reason)
        return super().worker_failed(failure)

    def _problem(self, text: str) -> None:
        self.query_one(".form-intro", Static).update(Text(text, style="red"))

    def show_pending(self, pending: PendingAdjustment | None) -> None:
        self.pending = pending
        self.loaded = True
        intro = self.query_one(".form-intro", Static)
        body = self.query_one("#adj-decision", Static)
        if pending is None:
            intro.update(Text(_("No adjustment of this case awaits a decision"), style="yellow"))
            body.update("")
            return
        head = Text()
        head.append(
            _("{kinds}, asked by {who} on {day}").format(
                kinds=_kinds(pending.kinds),
                who=pending.requested_by,
                day=pending.requested_at.date().isoformat(),
            ),
            style="bold",
        )
        if pending.changes is not None and pending.changes.kinds:
            head.append("\n" + _("Terms: {terms}").format(terms=changes_text(pending.changes)))
        head.append("\n" + _("Reason: {reason}").format(reason=pending.reason))
        if not self.service.can_approve_adjustments():
            head.append("\n" + _("Only a supervisor may decide it"), style="bold red")
        intro.update(head)
        currency = self.bundle.detail.currency
        if pending.comparison is not None:
            body.update(comparison_text(pending.comparison, currency))
        elif pending.reward_minor is not None:
            body.update(
                Text(
                    _("Early settlement; reward {reward}").format(
                        reward=money(pending.reward_minor, currency)
                    )
                )
            )

    def action_decide(self, approve: bool) -> None:
        self.approve = approve
        if not approve and not self.value("adj-note").strip():
            self.set_focus(self.query_one("#adj-note", Input))
            self.error(_("type why it is rejected, then Enter"))
            return
        self.save()

    def advance(self) -> None:
        if self.approve is None:
            self.set_focus(None)
            self.error(_("press y to approve or n to reject"))
            return
        self.save()

    def prepare(self) -> Save:
        pending = self.pending
        if pending is None:
            raise FieldProblem("adj-note", _("no adjustment of this case awaits a decision"))
        if not self.service.can_approve_adjustments():
            raise FieldProblem("adj-note", _("only a supervisor may decide an adjustment"))
        approve = bool(self.approve)
        note = self.value("adj-note").strip() or None
        adjustment_id = pending.adjustment_id

        def write() -> str:
            self.service.decide_adjustment(adjustment_id, approve=approve, note=note)
            if approve:
                return _("Adjustment approved: the new plan is in effect")
            return _("Adjustment rejected: the plan is unchanged")

        return write
