"""Send a templated SMS reminder: choose the template and the number, check the preview,
Enter queues it (the worker sends it). The preview shows the merged text, its length and
parts, and whether the contact rules let it go now; the case's recent SMS and where each
stands (queued, sent, delivered, failed: reason) are listed below.

Keys: a digit picks a template, Left/Right change the focused choice, Enter moves on and
on the last field queues; Escape cancels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from tui_desk.formatting import label, short_local
from tui_desk.i18n import N_, _
from tui_desk.screens.casework_modals import CaseFormModal
from tui_desk.screens.failures import WorkerFailure
from tui_desk.screens.form import FieldProblem, Save
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import ServiceError
from tui_desk.views.case import CaseBundle
from tui_desk.views.sms import OutboxLine, SmsPreview
from tui_desk.widgets.choice import Choice

_STATUS_STYLE = {"delivered": "green", "sent": "cyan", "failed": "red"}


def outbox_text(lines: Sequence[OutboxLine], timezone: str) -> Text:
    text = Text()
    if not lines:
        text.append(_("No SMS sent on this case yet."), style="dim")
        return text
    text.append(_("Recent SMS:") + "\n", style="bold")
    for index, line in enumerate(lines[:5]):
        if index:
            text.append("\n")
        text.append(f"{short_local(line.created_at, timezone)}  {line.number}  ")
        text.append(line.describe(), style=_STATUS_STYLE.get(line.status.value, "yellow"))
        text.append(f"  {line.template}", style="dim")
    return text


def preview_text(preview: SmsPreview, timezone: str) -> Text:
    text = Text()
    text.append(preview.text + "\n")
    text.append(preview.length.describe() + "\n", style="dim")
    if preview.allowed:
        text.append(_("May be sent now to {number}").format(number=preview.number), style="green")
    else:
        reason = preview.reason
        if preview.allowed_from is not None:
            reason += "; " + _("allowed again from {when}").format(
                when=short_local(preview.allowed_from, timezone)
            )
        text.append(
            _("Refused ({rule}): {reason}").format(rule=preview.rule, reason=reason),
            style="bold red",
        )
    return text


class SmsModal(CaseFormModal):
    """Queue a templated SMS on the selected case (``SmsModal(service, bundle)``)."""

    FORM_TITLE = N_("Send an SMS")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            str(n),
            f"pick({n})",
            N_("Pick template"),
            tooltip=N_("Choose the template with this number"),
            show=False,
            id=f"sms.pick{n}",
        )
        for n in range(1, 10)
    ]

    def __init__(
        self,
        service: DeskService,
        bundle: CaseBundle,
        *,
        case_changed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(service, bundle, case_changed=case_changed)
        self.templates: list[tuple[str, str]] = []
        self.preview: SmsPreview | None = None

    def fields(self) -> Sequence[tuple[str, Widget]]:
        self.templates = self.service.sms_templates()
        template_options = [
            (name, f"{i}. {title}") for i, (name, title) in enumerate(self.templates, start=1)
        ]
        phone_options = [
            (
                str(p.phone_id),
                f"{p.number} ({label('relation', p.relation)})"
                + (" - " + _("do not call") if p.do_not_call else ""),
            )
            for p in self.bundle.detail.phones
        ]
        return (
            (_("Template"), Choice(template_options, id="sms-template")),
            (_("Number"), Choice(phone_options, id="sms-phone")),
        )

    def intro(self) -> Text:
        return Text(
            _("1-9 pick a template; the worker sends it with the bank's hotline."), style="dim"
        )

    def on_mount(self) -> None:
        box = self.query_one(".form-box")
        box.mount(
            Static(Text(_("Preparing the preview..."), style="dim"), id="sms-preview"),
            before=self.query_one("#form-error"),
        )
        box.mount(Static(id="sms-outbox"), before=self.query_one("#form-error"))
        self._refresh_preview()
        self._load_outbox()

    # --- choosing -------------------------------------------------------------------------

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.templates):
            self.query_one("#sms-template", Choice).select(self.templates[number - 1][0])

    @on(Choice.Changed)
    def _choice_changed(self) -> None:
        self._refresh_preview()

    def _refresh_preview(self) -> None:
        template = self.choice("sms-template")
        phone = self.choice("sms-phone")
        if not template:
            self._show_problem(_("no SMS template is installed"))
            return
        if not phone:
            self._show_problem(_("the borrower has no phone number on file"))
            return
        self.preview = None
        self._load_preview(template, int(phone))

    @work(thread=True, group="sms-preview", exclusive=True, exit_on_error=False)
    def _load_preview(self, template: str, phone_id: int) -> None:
        try:
            preview = self.service.sms_preview(self.bundle.case_id, template, phone_id)
        except ServiceError as exc:  # shown: the form stays usable
            self.app.call_from_thread(self._show_problem, str(exc))
            return
        self.app.call_from_thread(self._show_preview, preview)

    def _show_preview(self, preview: SmsPreview) -> None:
        self.preview = preview
        self.query_one("#sms-preview", Static).update(preview_text(preview, self.service.timezone))

    def _show_problem(self, text: str) -> None:
        self.query_one("#sms-preview", Static).update(Text(text, style="bold red"))

    @work(thread=True, group="sms-outbox", exclusive=True, exit_on_error=False)
    def _load_outbox(self) -> None:
        try:
            lines = self.service.sms_outbox(self.bundle.case_id)
        except ServiceError as exc:
            self.app.call_from_thread(self._show_outbox, Text(str(exc), style="red"))
            return
        self.app.call_from_thread(self._show_outbox, outbox_text(lines, self.service.timezone))

    def _show_outbox(self, text: Text) -> None:
        self.query_one("#sms-outbox", Static).update(text)

    def worker_failed(self, failure: WorkerFailure) -> bool:
        if failure.group == "sms-preview":
            self._show_problem(failure.reason)
        elif failure.group == "sms-outbox":
            self._show_outbox(Text(failure.reason, style="red"))
        return super().worker_failed(failure)

    # --- queueing ---------------------------------------------------------------------------

    def prepare(self) -> Save:
        template = self.choice("sms-template")
        if not template:
            raise FieldProblem("sms-template", _("no SMS template is installed"))
        phone = self.choice("sms-phone")
        if not phone:
            raise FieldProblem("sms-phone", _("the borrower has no phone number on file"))
        case_id = self.bundle.case_id
        version = self.version

        def write() -> str:
            queued = self.service.queue_sms(
                case_id, template, phone_id=int(phone), expected_version=version
            )
            return _("SMS queued to {number} ({n} parts); the worker sends it").format(
                number=queued.number, n=queued.segments
            )

        return write
