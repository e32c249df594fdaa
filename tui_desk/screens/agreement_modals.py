"""Agreement work on the selected case (process step 6), all by keyboard.

``A`` opens a menu of what can be done with the case's agreement now: draft one from the
bank's standard form on the current plan, write the special terms, mark it ready (refused
while a required clause is missing), sign it (both signatures, place, effective date),
export the bank and borrower copies (PDF and Markdown), compare the last two versions,
record how the borrower received their original.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from tui_desk.formatting import label
from tui_desk.i18n import N_, _
from tui_desk.rules.agreements import compare
from tui_desk.screens import localise_bindings
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.form import FieldProblem, FormModal, Save, checked
from tui_desk.screens.parsing import parse_future_date, parse_past_date
from tui_desk.services import agreements
from tui_desk.services.desk import DeskService
from tui_desk.views.agreements import AgreementRecord
from tui_desk.views.case import CaseBundle

# (key, action, label) in menu order.
MENU: tuple[tuple[str, str, str], ...] = (
    ("1", "draft", N_("Draft from the plan")),
    ("2", "terms", N_("Special terms")),
    ("3", "ready", N_("Ready to sign")),
    ("4", "sign", N_("Sign")),
    ("5", "export", N_("Export copies")),
    ("6", "print", N_("Print the two originals")),
    ("6", "compare", N_("Compare versions")),
    ("7", "delivery", N_("Copy delivered")),
)


def available(record: AgreementRecord | None) -> set[str]:
    """Which menu actions make sense for the agreement as it stands."""
    if record is None:
        return {"draft"}
    status = record.status.value
    if status == "draft":
        return {"draft", "terms", "ready", "compare", "export", "print"}
    if status == "ready":
        return {"draft", "terms", "sign", "compare", "export", "print"}
    if status == "signed":
        return {"draft", "export", "print", "delivery", "compare"}
    return {"draft"}


class AgreementMenuModal(ModalScreen[str | None]):
    """One key per action; actions that do not apply now are shown dim and refused."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Cancel"), tooltip=N_("Close"), id="agreement.close"),
        *(
            Binding(key, f"pick('{action}')", caption, tooltip=caption, id=f"agreement.{action}")
            for key, action, caption in MENU
        ),
    ]

    def __init__(self, case_title: str, record: AgreementRecord | None) -> None:
        super().__init__(classes="case-form")
        localise_bindings(self)
        self.case_title = case_title
        self.record = record
        self.allowed = available(record)

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Static(Text(_("Agreement") + "  " + self.case_title, style="bold"),
                         classes="form-title")  # fmt: skip
            yield Static(self._state(), classes="form-intro")
            menu = Text()
            for key, action, caption in MENU:
                style = "" if action in self.allowed else "dim"
                menu.append(f"{key} ", style="bold" if action in self.allowed else "dim")
                menu.append(_(caption) + "   ", style=style)
            menu.append("Esc", style="dim")
            yield Static(menu, classes="form-hint")
            yield Static(id="form-error", classes="form-error")

    def _state(self) -> Text:
        r = self.record
        if r is None:
            return Text(_("No agreement yet: 1 drafts one from the current plan."), style="dim")
        t = Text()
        t.append(f"{r.content.number}  ")
        t.append(label("agreement_status", r.status.value), style="bold")
        t.append("  " + _("text v{seq}").format(seq=r.versions), style="dim")
        if r.hash_ok is False:
            t.append("\n⚠ " + _("THE STORED TEXT DOES NOT MATCH THE HASH TAKEN AT SIGNING"),
                     style="bold reverse red")  # fmt: skip
        elif r.content_hash:
            t.append("\n" + _("hash {hash}").format(hash=r.content_hash[:16] + ".."), style="dim")
        return t

    def action_pick(self, action: str) -> None:
        if action not in self.allowed:
            self.query_one("#form-error", Static).update(
                Text(_("Not possible now for an agreement in this state."), style="bold red")
            )
            return
        self.dismiss(action)

    def action_close(self) -> None:
        self.dismiss(None)


class SpecialTermsModal(FormModal[str | None]):
    """The special terms (a free text section); ctrl+s saves a new version."""

    TEXT_LIMITS: ClassVar[dict[str, int]] = {"terms-text": agreements.MAX_SPECIAL_TERMS}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Cancel"), tooltip=N_("Close without saving"),
                id="terms.close"),
        Binding("ctrl+s", "save", N_("Save"), tooltip=N_("Save the terms as a new version"),
                id="terms.save", priority=True),
    ]  # fmt: skip

    SAVE_GROUP = "terms-save"

    def __init__(self, service: DeskService, record: AgreementRecord) -> None:
        super().__init__(classes="case-form")
        self.service = service
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(classes="form-box"):
            yield Static(
                Text(_("Special terms") + "  " + self.record.content.number, style="bold"),
                classes="form-title",
            )
            yield Static(
                Text(
                    _("Only what differs from the standard form; the standard clauses are "
                      "the bank's and change only with a supervisor."),
                    style="dim",
                ),
                classes="form-intro",
            )  # fmt: skip
            yield TextArea(self.record.content.special_terms, id="terms-text", soft_wrap=True)
            yield Static(id="form-error", classes="form-error")
            yield Static(Text(_("ctrl+s save | Esc cancel"), style="dim"), classes="form-hint")

    def on_mount(self) -> None:
        self.query_one("#terms-text", TextArea).focus()

    def action_close(self) -> None:
        self.request_close()

    def action_save(self) -> None:
        if self.saving:
            return
        text = self.query_one("#terms-text", TextArea).text
        agreement_id, version = self.record.agreement_id, self.record.record_version

        def write() -> str:
            seq = self.service.save_special_terms(agreement_id, text, version)
            return _("Special terms saved as version {seq}").format(seq=seq)

        self.start_save(write)


class SignAgreementModal(CaseFormModal):
    """Record both signatures: who for the bank (you), the borrower's confirmation, where,
    when it takes effect, how the borrower gets their original."""

    TEXT_LIMITS: ClassVar[dict[str, int]] = {
        "sign-borrower": agreements.MAX_FIELD,
        "sign-place": agreements.MAX_FIELD,
    }

    FORM_TITLE = N_("Sign the agreement")

    def __init__(self, service: DeskService, bundle: CaseBundle, record: AgreementRecord) -> None:
        super().__init__(service, bundle)
        self.record = record

    def intro(self) -> Text:
        return Text(
            _("Signing freezes text v{seq}: any later change is a new agreement.").format(
                seq=self.record.versions
            ),
            style="dim",
        )

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("Borrower"), Input(placeholder=_("how the borrower confirmed, e.g. signed"),
                                  id="sign-borrower", compact=True)),
            (_("Place"), Input(placeholder=_("where it was signed"), id="sign-place",
                               compact=True)),
            (_("Effective"), Input(value=_("today"), placeholder=_("YYYY-MM-DD or today"),
                                   id="sign-effective", compact=True)),
            (_("Copy given"), Input(placeholder=_("how the borrower got theirs (optional)"),
                                    id="sign-delivery", compact=True)),
        )  # fmt: skip

    def prepare(self) -> Save:
        confirmation = self.value("sign-borrower").strip()
        if not confirmation:
            raise FieldProblem("sign-borrower", _("record how the borrower confirmed"))
        place = self.value("sign-place").strip()
        if not place:
            raise FieldProblem("sign-place", _("record where the agreement was signed"))
        today = self.today
        raw = self.value("sign-effective")

        def effective_day() -> object:
            try:
                return parse_future_date(raw, today, max_days=60)
            except ValueError:
                return parse_past_date(raw, today, max_days=7)

        effective = checked("sign-effective", effective_day)
        delivery = self.value("sign-delivery").strip() or None
        record = self.record

        def write() -> str:
            digest = self.service.sign_agreement(
                record.agreement_id, borrower_confirmation=confirmation, place=place,
                effective_on=effective,  # type: ignore[arg-type]
                delivery=delivery, record_version=record.record_version,
            )  # fmt: skip
            return _("Agreement signed; hash {hash}").format(hash=digest[:16] + "..")

        return write


class DeliveryModal(CaseFormModal):
    """How the borrower received their signed original."""

    FORM_TITLE = N_("Borrower's copy delivered")

    def __init__(self, service: DeskService, bundle: CaseBundle, record: AgreementRecord) -> None:
        super().__init__(service, bundle)
        self.record = record

    def fields(self) -> Sequence[tuple[str, Widget]]:
        return (
            (_("How"), Input(value=self.record.borrower_copy_delivery or "",
                             placeholder=_("in person, registered post, ..."),
                             id="delivery-how", compact=True)),
        )  # fmt: skip

    def prepare(self) -> Save:
        how = self.value("delivery-how").strip()
        if not how:
            raise FieldProblem("delivery-how", _("say how the borrower received their copy"))
        agreement_id = self.record.agreement_id

        def write() -> str:
            self.service.record_agreement_delivery(agreement_id, how)
            return _("Delivery recorded")

        return write


class CompareModal(ModalScreen[None]):
    """The last two versions of the agreement's text, as a unified diff."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", N_("Close"), tooltip=N_("Close"), id="compare.close"),
    ]

    def __init__(self, record: AgreementRecord) -> None:
        super().__init__(classes="case-form")
        localise_bindings(self)
        self.record = record

    def compose(self) -> ComposeResult:
        r = self.record
        with Vertical(classes="form-box", id="compare-box"):
            yield Static(
                Text(_("Compare versions") + f"  {r.content.number}", style="bold"),
                classes="form-title",
            )
            body = Text()
            if r.previous is None:
                body.append(_("Only one version so far: nothing to compare."), style="dim")
            else:
                lines = compare(r.previous, r.content)
                if not lines:
                    body.append(_("The two versions say the same."), style="dim")
                for line in lines:
                    style = "green" if line.startswith("+") else "red" if line.startswith("-")\
                        else "dim"  # fmt: skip
                    body.append(line + "\n", style=style)
            with VerticalScroll(classes="form-rows", id="compare-rows"):
                yield Static(body, id="compare-text")
            yield Static(Text(_("Esc close"), style="dim"), classes="form-hint")

    def action_close(self) -> None:
        self.dismiss(None)
