"""Dial a borrower's number: pick it from the case's numbers, ``Enter`` dials.

With a phone system configured the PBX rings the operator's extension and then the
borrower; the attempt is logged at once (with the moment the PBX accepted and its
recording reference) and the operator logs how it went with ``l``. Without one the
number is shown formatted for dialing by hand. Either way the contact rules decide
first, and a refusal names the rule. Numbers are listed masked; do-not-call is marked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.contact_modal import preferred_phone
from tui_desk.screens.failures import ForwardsWorkerErrors, WorkerFailure
from tui_desk.services.desk import DeskService
from tui_desk.services.dialing import DialFailed
from tui_desk.services.errors import ServiceError
from tui_desk.views.case import CaseBundle, PhoneLine

if TYPE_CHECKING:
    from tui_desk.services.dialing import Dialer
    from tui_desk.views.dialing import DialPlan, DialResult


def _number_bindings() -> list[BindingType]:
    return [
        Binding(
            str(n),
            f"choose({n})",
            N_("Pick number"),
            tooltip=N_("Pick this number (Enter dials it)"),
            show=False,
            id=f"dial.number.{n}",
        )
        for n in range(1, 10)
    ]


class DialModal(ForwardsWorkerErrors, ModalScreen["DialResult | None"]):
    """Dial one of the case's numbers; dismissed with the dialled call, or None."""

    AUTO_FOCUS = "#dial-numbers"

    BINDINGS: ClassVar[list[BindingType]] = [
        *_number_bindings(),
        Binding(
            "escape",
            "close",
            N_("Close"),
            tooltip=N_("Close the dialog (a call already placed goes on)"),
            id="dial.close",
        ),
    ]

    def __init__(self, service: DeskService, bundle: CaseBundle, dialer: Dialer | None) -> None:
        super().__init__(id="dial-modal")
        localise_bindings(self)
        self.service = service
        self.bundle = bundle
        self.dialer = dialer
        self.phones: tuple[PhoneLine, ...] = bundle.detail.phones
        self.busy = False
        self.result: DialResult | None = None
        self.plan: DialPlan | None = None

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        d = self.bundle.detail
        with Vertical(id="dial-box", classes="form-box"):
            yield Static(
                Text(
                    _("Dial: {name} (case {case_id})").format(
                        name=d.borrower_name, case_id=d.case_id
                    ),
                    style="bold",
                ),
                id="dial-title",
            )
            if self.dialer is not None:
                how = _("through the phone system at {where}").format(where=self.dialer.where)
            else:
                how = _("no phone system configured: the number is shown to dial by hand")
            yield Static(Text(how, style="dim"), id="dial-how")
            yield OptionList(
                *(
                    Option(self._number_text(i, p), id=str(p.phone_id))
                    for i, p in enumerate(self.phones, 1)
                ),
                id="dial-numbers",
                compact=True,
            )
            yield Static(id="dial-status")
            yield Static(id="dial-error", classes="form-error")
            yield Static(
                Text(_("1-9 picks a number | Enter dials | Esc closes"), style="dim"),
                id="dial-hint",
                classes="form-hint",
            )

    def _number_text(self, n: int, phone: PhoneLine) -> Text:
        t = Text(f"{n}  " if n <= 9 else "   ")
        t.append(phone.number)
        t.append(f"  {label('phone_kind', phone.kind)}, {label('relation', phone.relation)}")
        if phone.do_not_call:
            t.append("  " + _("do not call"), style="bold red")
        return t

    def on_mount(self) -> None:
        numbers = self.query_one("#dial-numbers", OptionList)
        if not self.phones:
            self._error(_("no phone number on file"))
            return
        chosen = preferred_phone(self.phones)
        numbers.highlighted = self.phones.index(chosen) if chosen is not None else 0

    @property
    def phone(self) -> PhoneLine | None:
        index = self.query_one("#dial-numbers", OptionList).highlighted
        if index is None or not 0 <= index < len(self.phones):
            return None
        return self.phones[index]

    # --- keys --------------------------------------------------------------------------

    def action_choose(self, n: int) -> None:
        if self.busy or self.result is not None or not 1 <= n <= len(self.phones):
            return
        self.query_one("#dial-numbers", OptionList).highlighted = n - 1
        self._error("")

    @on(OptionList.OptionSelected, "#dial-numbers")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.result is not None:
            self.dismiss(self.result)
            return
        self._go()

    def action_close(self) -> None:
        self.dismiss(self.result)

    def _go(self) -> None:
        phone = self.phone
        if phone is None or self.busy:
            return
        self.busy = True
        self._error("")
        if self.dialer is not None:
            self._status(Text(_("dialing {number}...").format(number=phone.number), "dim"))
            self._dial(phone, self.dialer)
        else:
            self._status(Text(_("checking the contact rules..."), "dim"))
            self._plan(phone)

    # --- workers -----------------------------------------------------------------------

    @work(thread=True, group="dial", exclusive=True, exit_on_error=False)
    def _dial(self, phone: PhoneLine, dialer: Dialer) -> None:
        try:
            result = self.service.dial(self.bundle.case_id, phone.phone_id, dialer)
        except DialFailed as exc:
            # The PBX's own sentence: it says whether anything was logged.
            self.app.call_from_thread(self._refused, str(exc))
            return
        except ServiceError as exc:
            self.app.call_from_thread(self._refused, _not_dialled(str(exc)))
            return
        self.app.call_from_thread(self._dialled, result)

    @work(thread=True, group="dial", exclusive=True, exit_on_error=False)
    def _plan(self, phone: PhoneLine) -> None:
        try:
            plan = self.service.dial_plan(self.bundle.case_id, phone.phone_id)
        except ServiceError as exc:
            self.app.call_from_thread(self._refused, _not_dialled(str(exc)))
            return
        self.app.call_from_thread(self._planned, plan)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        self._refused(_not_dialled(failure.reason))
        return False

    # --- results -----------------------------------------------------------------------

    def _dialled(self, result: DialResult) -> None:
        self.busy = False
        self.result = result
        t = Text(_("calling {number}... ({ref})").format(number=result.masked, ref=result.call_ref))
        t.stylize("bold green")
        if result.overrides_used:
            t.append(
                "  " + _("override used: {rules}").format(rules=", ".join(result.overrides_used)),
                style="yellow",
            )
        self._status(t)
        self._hint(_("the attempt is logged: close (Esc) and log the outcome with l"))

    def _planned(self, plan: DialPlan) -> None:
        self.busy = False
        self.plan = plan
        self._status(
            Text(_("dial by hand: {number}").format(number=plan.display), style="bold green")
        )
        self._hint(_("then log the call with l | Esc closes"))

    def _refused(self, message: str) -> None:
        self.busy = False
        self._status(Text(""))
        self._error(message)

    def _status(self, text: Text) -> None:
        self.query_one("#dial-status", Static).update(text)

    def _hint(self, text: str) -> None:
        self.query_one("#dial-hint", Static).update(Text(text, style="dim"))

    def _error(self, text: str) -> None:
        self.query_one("#dial-error", Static).update(Text(text, style="bold red"))


def _not_dialled(reason: str) -> str:
    return _("Not dialled: {reason}").format(reason=reason)
