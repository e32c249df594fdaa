"""Drafting a repayment plan (PROCESS.md step 5) with a live schedule preview.

The plan's basis (what is owed, the rate, what the borrower can afford) is read once in a
worker; from then on every keystroke recomputes the schedule with the pure calculator,
never the database. ``ctrl+k`` (or F6) pins the current preview as "A" and shows it
beside the draft being edited (count, instalment, interest, total), so two options can
be weighed in front of the borrower. Enter on the last field saves the draft.

An instalment above the monthly amount the visit report found affordable is shown as a
warning; only a supervisor may save it, and then with a reason (the row appears when it
is needed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Input, Static

from tui_desk.formatting import label, money, schedule_amounts
from tui_desk.i18n import N_, _
from tui_desk.rules.plans import (
    DOWN_PAYMENT,
    FREQUENCIES,
    GRACE_MODES,
    GRACE_NONE,
    INTEREST_FREE,
    MONTHLY,
    PLAN_KINDS,
    PlanRequest,
    Schedule,
    to_minor,
)
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.form import FieldProblem, Save, checked
from tui_desk.screens.parsing import (
    InputProblem,
    parse_amount,
    parse_future_date,
    parse_percent,
    parse_whole,
)
from tui_desk.services import plans
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.services.plans import PlanBasis, PlanCheck, check
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.choice import Choice

MAX_INSTALMENTS = 999
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlanFigures:
    """What the comparison shows of one option."""

    title: str
    count: int
    instalment_minor: int
    interest_minor: int
    total_minor: int
    monthly_minor: int

    @classmethod
    def of(cls, request: PlanRequest, schedule: Schedule) -> PlanFigures:
        title = label("plan_kind", request.kind)
        return cls(
            title=title,
            count=schedule.count,
            instalment_minor=to_minor(schedule.regular_amount),
            interest_minor=to_minor(schedule.interest_cost),
            total_minor=to_minor(schedule.total_amount),
            monthly_minor=to_minor(schedule.monthly_amount),
        )


def _options(kind: str, values: Sequence[str]) -> list[tuple[str, str]]:
    return [(v, label(kind, v)) for v in values]


def _whole(field: str, text: str, *, what: str, low: int, high: int) -> int:
    try:
        return parse_whole(text, low=low, high=high)
    except InputProblem:
        raise FieldProblem(
            field,
            _("the {what} must be from {low} to {high}").format(what=what, low=low, high=high),
        ) from None


def _money_or_zero(field: str, text: str) -> Decimal:
    raw = text.strip()
    if raw in ("", "0", "0.0", "0.00"):
        return _ZERO
    try:
        return Decimal(parse_amount(raw)).scaleb(-2)
    except InputProblem as problem:
        raise FieldProblem(field, str(problem)) from None


MAX_RATE_PERCENT = Decimal(100)
"""A sane bound on what the form reads; the plan rules refuse above the profile's limit."""


def _rate(field: str, text: str, default: Decimal) -> Decimal:
    if not text.strip().rstrip("%").strip():
        return default
    return checked(field, lambda: parse_percent(text, high=MAX_RATE_PERCENT))


class PlanModal(CaseFormModal):
    """Draft a repayment plan on the selected case, with a live preview and a comparison."""

    FORM_TITLE = N_("Draft a repayment plan")
    TEXT_LIMITS: ClassVar[dict[str, int]] = {"plan-reason": plans.MAX_REASON}
    SCROLLING = True

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: a focused Input would take ctrl+k (delete to the end of the line).
        Binding(
            "ctrl+k,f6",
            "pin",
            N_("Compare"),
            tooltip=N_("Keep the current preview as A and compare the draft with it"),
            priority=True,
            id="plan.compare",
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
        self.basis: PlanBasis | None = None
        self.pinned: PlanFigures | None = None
        self.current: PlanCheck | None = None
        self.current_request: PlanRequest | None = None

    # --- the form -------------------------------------------------------------------------

    def fields(self) -> Sequence[tuple[str, Widget]]:
        def box(widget_id: str, value: str = "", placeholder: str = "") -> Input:
            return Input(value=value, placeholder=placeholder, id=widget_id, compact=True)

        rows: list[tuple[str, Widget]] = [
            (_("Kind"), Choice(_options("plan_kind", PLAN_KINDS), id="plan-kind")),
            (_("Instalments"), box("plan-count", "12", _("how many (grace included)"))),
            (
                _("Frequency"),
                Choice(_options("frequency", FREQUENCIES), value=MONTHLY, id="plan-frequency"),
            ),
            (_("First due"), box("plan-first", "", _("YYYY-MM-DD or +N days"))),
            (_("Rate %/year"), box("plan-rate", "", _("e.g. 12"))),
            (_("Down pay"), box("plan-down", "0", _("paid first, e.g. 1000"))),
            (_("Waiver"), box("plan-waiver", "0", _("overdue interest forgiven"))),
            (_("Grace count"), box("plan-grace", "0", _("periods before repaying"))),
            (
                _("Grace mode"),
                Choice(_options("grace_mode", GRACE_MODES), value=GRACE_NONE, id="plan-grace-mode"),
            ),
        ]
        if self.service.can_approve_above_means():
            rows.append(
                (
                    _("Approval"),
                    box("plan-reason", "", _("supervisor: why above the borrower's means")),
                )
            )
        return rows

    def intro(self) -> Text:
        return Text(_("Reading what the case owes..."), style="dim")

    def on_mount(self) -> None:
        box = self.query_one(".form-box")
        preview = VerticalScroll(
            Static(id="plan-summary"), Static(id="plan-schedule"), id="plan-preview"
        )
        preview.styles.height = "auto"
        box.mount(preview, before=self.query_one("#form-error"))
        self._show_reason(False)
        self._fit()
        self._load_basis()

    def on_resize(self, event: Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        """Wider at a large terminal; the preview scrolls in what the fields leave."""
        width, height = self.app.size
        box = self.query_one(".form-box")
        box.styles.width = 76 if width < 110 else min(110, width - 4)
        rows = min(14, len(self.field_widgets))
        preview = self.query("#plan-preview")
        if preview:
            preview.first().styles.max_height = max(4, height - rows - 8)

    @property
    def field_widgets(self) -> list[Widget]:
        # The approval row is a field only while it is shown.
        return [
            w
            for w in self.query(".form-field").results(Widget)
            if w.parent is None or w.parent.display
        ]

    def _show_reason(self, shown: bool) -> None:
        for widget in self.query("#plan-reason"):
            if widget.parent is not None and widget.parent.display != shown:
                widget.parent.display = shown

    # --- the basis, once -------------------------------------------------------------------

    @work(thread=True, group="plan-basis", exclusive=True, exit_on_error=False)
    def _load_basis(self) -> None:
        try:
            basis = self.service.plan_basis(self.bundle.case_id)
        except ServiceError as exc:  # shown: the form says why it cannot preview
            self.app.call_from_thread(self._basis_problem, str(exc))
            return
        self.app.call_from_thread(self.show_basis, basis)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "plan-basis":
            self._basis_problem(failure.reason)
        return super().worker_failed(failure)

    def _basis_problem(self, text: str) -> None:
        self.query_one(".form-intro", Static).update(Text(text, style="red"))

    def show_basis(self, basis: PlanBasis) -> None:
        self.basis = basis
        cur = basis.currency
        affordable = (
            money(basis.affordable_monthly_minor, cur)
            if basis.affordable_monthly_minor is not None
            else _("not assessed")
        )
        self.query_one(".form-intro", Static).update(
            Text(
                _(
                    "Principal {principal}, overdue charges {charges}, rate {rate} %;"
                    " affordable a month {affordable}. ctrl+k or F6: compare"
                ).format(
                    principal=money(basis.principal_minor, cur),
                    charges=money(basis.overdue_charges_minor, cur),
                    rate=f"{(basis.annual_rate * 100).normalize():f}",
                    affordable=affordable,
                ),
                style="dim",
            )
        )
        rate = self.query_one("#plan-rate", Input)
        if not rate.value.strip():
            rate.value = f"{(basis.annual_rate * 100).normalize():f}"
            self.remember_values("plan-rate")  # proposed, not typed
        first = self.query_one("#plan-first", Input)
        if not first.value.strip():
            first.value = basis.default_first_due.isoformat()
            self.remember_values("plan-first")
        self.refresh_preview()

    # --- reading the fields ----------------------------------------------------------------

    def read_request(self) -> PlanRequest:
        """The request the fields describe; ``FieldProblem`` names the first bad field."""
        basis = self.basis
        if basis is None:
            raise FieldProblem("plan-count", _("still reading what the case owes; a moment"))
        kind = self.choice("plan-kind")
        frequency = self.choice("plan-frequency")
        count = _whole(
            "plan-count", self.value("plan-count"), what=_("number of instalments"), low=1,
            high=min(MAX_INSTALMENTS, basis.limits.max_instalments(frequency)),
        )  # fmt: skip
        raw_first = self.value("plan-first").strip()
        today = self.today
        first = (
            checked("plan-first", lambda: parse_future_date(raw_first, today, max_days=366))
            if raw_first
            else basis.default_first_due
        )
        assert isinstance(first, dt.date)
        rate = (
            Decimal(0)
            if kind == INTEREST_FREE
            else _rate("plan-rate", self.value("plan-rate"), basis.annual_rate)
        )
        down = _money_or_zero("plan-down", self.value("plan-down"))
        waiver = _money_or_zero("plan-waiver", self.value("plan-waiver"))
        grace = _whole(
            "plan-grace", self.value("plan-grace") or "0", what=_("number of grace periods"),
            low=0, high=MAX_INSTALMENTS,
        )  # fmt: skip
        return basis.request(
            kind=kind, instalments=count, frequency=frequency, first_due=first, annual_rate=rate,
            down_payment=down, waiver=waiver, grace_periods=grace,
            grace_mode=self.choice("plan-grace-mode"),
        )  # fmt: skip

    # --- the preview -------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Choice.Changed)
    def _changed(self) -> None:
        if self.basis is not None:
            self.refresh_preview()

    def refresh_preview(self) -> None:
        basis = self.basis
        if basis is None:
            return
        summary = Text()
        schedule_text = Text()
        self.current = None
        self.current_request = None
        try:
            request = self.read_request()
        except FieldProblem as problem:
            summary.append(_("No preview: {problem}").format(problem=problem), style="yellow")
            self._show_reason(False)
        else:
            result = check(basis, request)
            self.current, self.current_request = result, request
            if result.schedule is None:
                summary.append(
                    _("No preview: {problems}").format(problems="; ".join(result.problems)),
                    style="yellow",
                )
                self._show_reason(False)
            else:
                self._summary(summary, basis, request, result, result.schedule)
                schedule_text = self._lines(result.schedule, basis.currency)
                self._show_reason(result.above_means is not None)
        if self.pinned is not None:
            summary.append("\n")
            summary.append_text(self._comparison(self.pinned))
        self.query_one("#plan-summary", Static).update(summary)
        self.query_one("#plan-schedule", Static).update(schedule_text)
        self._fit()

    def _summary(
        self,
        out: Text,
        basis: PlanBasis,
        request: PlanRequest,
        result: PlanCheck,
        schedule: Schedule,
    ) -> None:
        cur = basis.currency
        head = (
            schedule_amounts([to_minor(line.amount) for line in schedule.regular], cur)
            + " "
            + label("frequency", request.frequency)
        )
        out.append(head, style="bold")
        out.append(
            "  "
            + _("total {total}, interest {interest}").format(
                total=money(to_minor(schedule.total_amount), cur),
                interest=money(to_minor(schedule.interest_cost), cur),
            )
        )
        out.append("\n")
        affordable = basis.affordable_monthly_minor
        out.append(
            _("A month {monthly}; affordable {affordable}").format(
                monthly=money(to_minor(schedule.monthly_amount), cur),
                affordable=money(affordable, cur) if affordable is not None else _("not assessed"),
            ),
            style="dim" if result.above_means is None else "",
        )
        if result.above_means is not None:
            out.append("\n")
            if basis.can_approve_above_means:
                advice = _("give the approval reason to save it")
            else:
                advice = _("only a supervisor may approve it")
            out.append(
                _("Above means: {problem}; {advice}").format(
                    problem=result.above_means, advice=advice
                ),
                style="bold red",
            )

    def _lines(self, schedule: Schedule, currency: str) -> Text:
        # Widths in terminal cells, so that Chinese headers line up with the figures.
        widths = (4, 10, 13, 11, 13)

        def row(*cells: str) -> str:
            return " ".join(
                _cell_pad(c, w, left=n == 1)
                for n, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        text = Text()
        text.append(
            row(_("No."), _("Due"), _("Principal"), _("Interest"), _("Amount")),
            style="bold dim",
        )
        for line in schedule.lines:
            seq = _("down") if line.kind == DOWN_PAYMENT else str(line.seq)
            text.append("\n")
            text.append(
                row(
                    seq,
                    line.due_on.isoformat(),
                    money(to_minor(line.principal), currency),
                    money(to_minor(line.interest), currency),
                    money(to_minor(line.amount), currency),
                )
            )
        text.append("\n")
        text.append(
            row(
                _("Total"),
                "",
                money(to_minor(schedule.total_principal), currency),
                money(to_minor(schedule.total_interest), currency),
                money(to_minor(schedule.total_amount), currency),
            ),
            style="bold",
        )
        return text

    # --- compare ------------------------------------------------------------------------------

    def action_pin(self) -> None:
        result, request = self.current, self.current_request
        if result is None or result.schedule is None or request is None:
            self.error(_("Nothing to compare yet: the draft has no preview"))
            return
        self.pinned = PlanFigures.of(request, result.schedule)
        self.error("")
        self.refresh_preview()

    def _comparison(self, pinned: PlanFigures) -> Text:
        cur = self.basis.currency if self.basis else "CNY"
        now = None
        if self.current is not None and self.current.schedule is not None:
            assert self.current_request is not None
            now = PlanFigures.of(self.current_request, self.current.schedule)
        text = Text()
        a_head = f"A: {pinned.title}"[:18]
        b_head = f"{_('draft')}: {now.title}"[:18] if now else _("draft")
        caption = _("compare")
        text.append(f"{caption:<12} {a_head:>18} {b_head:>18}", style="bold")

        def row(caption: str, a: str, b: str) -> None:
            text.append("\n")
            style = "" if a == b else "bold"
            text.append(f"{caption:<12} {a:>18} ")
            text.append(f"{b:>18}", style=style)

        dash = "-"
        row(_("count"), str(pinned.count), str(now.count) if now else dash)
        row(
            _("instalment"),
            money(pinned.instalment_minor, cur),
            money(now.instalment_minor, cur) if now else dash,
        )
        row(
            _("interest"),
            money(pinned.interest_minor, cur),
            money(now.interest_minor, cur) if now else dash,
        )
        row(
            _("total"), money(pinned.total_minor, cur), money(now.total_minor, cur) if now else dash
        )
        return text

    # --- saving ----------------------------------------------------------------------------

    def prepare(self) -> Save:
        request = self.read_request()
        basis = self.basis
        assert basis is not None
        result = check(basis, request)
        if result.schedule is None:
            raise FieldProblem("plan-count", "; ".join(result.problems))
        reason: str | None = None
        if result.above_means is not None:
            if not basis.can_approve_above_means:
                raise FieldProblem(
                    "plan-count",
                    _("{problem}; only a supervisor may approve it").format(
                        problem=result.above_means
                    ),
                )
            reason = self.value("plan-reason").strip() or None
            if reason is None:
                raise FieldProblem(
                    "plan-reason",
                    _("{problem}; give the reason you approve it").format(
                        problem=result.above_means
                    ),
                )
        schedule = result.schedule
        case_id, version, cur = self.bundle.case_id, self.version, basis.currency

        def write() -> str:
            self.service.create_plan(
                case_id, request, approval_reason=reason, expected_version=version
            )
            return _("Plan drafted: {amounts} {frequency}").format(
                amounts=schedule_amounts([to_minor(line.amount) for line in schedule.regular], cur),
                frequency=label("frequency", request.frequency),
            )

        return write


def _cell_pad(text: str, width: int, *, left: bool = False) -> str:
    """``text`` padded to ``width`` terminal cells (never cut: a wide value pushes on)."""
    gap = " " * max(0, width - cell_len(text))
    return text + gap if left else gap + text
