"""What every modal form shares: saving in a worker, refusals, and failures.

``FormModal``: a form saves once at a time (``saving``), in a thread worker of its
``SAVE_GROUP``; the worker dismisses the form with the result, or leaves it open with
the service's refusal shown on the form's error line and everything typed kept. A stale
edit (someone changed the case meanwhile) is a refusal too; case forms read the case
again (``stale_in_worker``). Any other error reaches the App's handler
(``tui_desk.screens.failures``), which calls ``worker_failed``: the form leaves its
saving state and says "Not saved" with the reason.

Escape leaves every form the same way (``request_close``): at once when nothing was
changed, after "Discard what you typed?" (``y``) when something was. What a form shows
when it opens (and what it fills in itself later, ``remember_values``) is not a change.

Before any save, every text field is checked (``check_typed``): no control characters
(newlines only in a multi-line field) and at most the service's length for it.

``lease_lost``: the desk lost its lease on the case; the form keeps everything typed (to
copy) but can no longer save, and Escape closes it without asking.

``FieldFormModal``: a form of fields, one per line, all by keyboard: Enter (or Tab) moves
to the next field, Enter on the last one saves, Escape cancels. ``prepare`` checks the
input before anything is sent (a ``FieldProblem`` puts the focus in its field, its
caption named in the message) and returns the write to run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from tui_desk.formatting import currency_symbol
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.confirm import DiscardModal
from tui_desk.screens.failures import ForwardsWorkerErrors, WorkerFailure
from tui_desk.screens.parsing import InputProblem, check_name, check_text
from tui_desk.services.errors import ServiceError, StaleEdit
from tui_desk.widgets.choice import Choice

ResultT = TypeVar("ResultT")
T = TypeVar("T")

Save = Callable[[], str]
"""A blocking write, run in a worker; returns the line shown to the operator."""

SAVE_WORKER = "save"
"""The name of a form's save worker (a form's other workers are its reads)."""

MAX_TEXT = 2000
# Fields holding a name, a login or a reference (checked by ``check_name`` too).
NAME_FIELDS = frozenset(
    {
        "phone-holder",
        "pay-reference",
        "rep-receipt",
        "sign-place",
        "override-agent",
        "reassign-login",
        "visit-collector",
    }
)
"""The longest text a field takes unless its form says otherwise (``TEXT_LIMITS``): the
longest note the service keeps."""


class FieldProblem(InputProblem):
    """An input problem tied to the field that holds it (that field takes the focus)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def checked(field: str, parse: Callable[[], T]) -> T:
    """``parse()``, any problem with what was typed tied to ``field``: a parser's
    ``InputProblem``, and any ``ValueError`` or arithmetic error (an overflow, a decimal
    out of range) a parse let through, so no typed text reaches the App as a crash."""
    try:
        return parse()
    except FieldProblem:
        raise
    except InputProblem as problem:
        raise FieldProblem(field, str(problem)) from None
    except (ValueError, ArithmeticError):
        raise FieldProblem(field, _("this value cannot be read; check what was typed")) from None


async def drain_typeahead(screen: Screen[Any]) -> None:
    """Let the focused field take the keys still waiting in its queue.

    Enter is a priority binding, so it can overtake keys typed just before it (typing
    ahead over SSH, a paste ending in a newline); a form calls this before it moves on
    or saves, so nothing typed is lost. Bounded: a stuck field does not hold the form.
    """
    focused = screen.focused
    if focused is None:
        return
    drained = asyncio.Event()
    focused.call_later(drained.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drained.wait(), 0.5)


def form_bindings(prefix: str) -> list[BindingType]:
    """Escape cancels, Enter moves on or saves; ids ``<prefix>.cancel``, ``<prefix>.advance``."""
    return [
        Binding(
            "escape",
            "cancel",
            N_("Cancel"),
            tooltip=N_("Close the form without saving"),
            id=f"{prefix}.cancel",
        ),
        # Priority: the focus moves on before the next key is dispatched, so a number
        # typed (or sent by a terminal) right after Enter lands in the next field.
        Binding(
            "enter",
            "advance",
            N_("Next / save"),
            tooltip=N_("Go to the next field; on the last field, save"),
            show=False,
            priority=True,
            id=f"{prefix}.advance",
        ),
    ]


NOTICE_ID = "form-notice"
"""The id of a form's notice line (``FormModal.show_notice``)."""


class FormModal(ForwardsWorkerErrors, ModalScreen[ResultT]):
    """A modal form that saves in a worker and shows refusals on its error line."""

    SAVE_GROUP: ClassVar[str] = "form-save"
    ERROR_ID: ClassVar[str] = "form-error"
    """The id of the Static that shows problems, refusals and "saving..."."""
    TEXT_LIMITS: ClassVar[dict[str, int]] = {}
    """The longest text of a field (by id) where the service keeps less than ``MAX_TEXT``."""

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        localise_bindings(self)
        self.saving = False
        self.lease_message: str | None = None
        """Set by ``lease_lost``: why the form can no longer save."""
        self._baseline: dict[str, str] = {}
        self._asking = False
        self._notice_timer: Timer | None = None
        self.typed_while_saving: list[tuple[str, str | None]] = []
        """Keys typed while the save was under way (``keep_typed``): they belong to what
        comes after the form, so they go to the screen below once it closes."""

    def on_mount(self) -> None:
        self.call_after_refresh(self.remember_values)

    # --- what was typed ------------------------------------------------------------------

    def typed_values(self) -> dict[str, str]:
        """Every field's value by id: inputs, text areas and choices."""
        values: dict[str, str] = {}
        for widget in self.query(Input):
            if widget.id:
                values[widget.id] = widget.value
        for area in self.query(TextArea):
            if area.id:
                values[area.id] = area.text
        for choice in self.query(Choice):
            if choice.id:
                values[choice.id] = str(choice.value)
        return values

    def remember_values(self, *ids: str) -> None:
        """What the fields hold now (or only ``ids``) is what the form proposed, not a change."""
        values = self.typed_values()
        if not ids:
            self._baseline = values
            return
        for widget_id in ids:
            if widget_id in values:
                self._baseline[widget_id] = values[widget_id]

    @property
    def dirty(self) -> bool:
        """Something was typed or changed since the form opened."""
        return any(
            self._baseline.get(key, "") != value for key, value in self.typed_values().items()
        )

    def check_typed(self) -> None:
        """Refuse control characters and overlong texts in any field (``FieldProblem``)."""
        fields: list[tuple[str, str, bool]] = [
            (w.id, w.value, False) for w in self.query(Input) if w.id
        ]
        fields += [(a.id, a.text, True) for a in self.query(TextArea) if a.id]
        for widget_id, text, multiline in fields:
            limit = self.TEXT_LIMITS.get(widget_id, MAX_TEXT)
            checked(widget_id, partial(check_text, text, max_length=limit, multiline=multiline))
            if widget_id in NAME_FIELDS:
                checked(widget_id, partial(check_name, text))

    def show_problem(self, problem: FieldProblem) -> None:
        """The problem on the error line, the focus in its field."""
        self.error(str(problem))
        with contextlib.suppress(Exception):
            self.set_focus(self.query_one(f"#{problem.field}"))

    # --- leaving --------------------------------------------------------------------------

    def request_close(self) -> None:
        """Escape: close at once if nothing was changed (or the form can no longer save),
        else ask "Discard what you typed?" first."""
        if self._asking:
            return
        if self.lease_message is not None or not self.dirty:
            self.close_form()
            return
        self._asking = True

        def answered(discard: bool | None) -> None:
            self._asking = False
            if discard:
                self.close_form()

        self.app.push_screen(DiscardModal(), answered)

    def close_form(self) -> None:
        """Close without saving."""
        self.dismiss(None)

    def lease_lost(self, message: str) -> None:
        """The desk lost the case: saving is refused with ``message``; what was typed stays
        (to copy) and Escape closes the form without asking."""
        self.lease_message = message
        self.error(message)

    def may_save(self) -> bool:
        """False (with the reason shown) once the lease is lost."""
        if self.lease_message is not None:
            self.error(self.lease_message)
            return False
        return True

    def error(self, text: str, style: str = "bold red") -> None:
        self.query_one(f"#{self.ERROR_ID}", Static).update(Text(text, style=style))

    def show_notice(self, message: Text, severity: str, timeout: float) -> bool:
        """A notification that arrives while the form is open, on the form's own notice
        line: a toast would cover its fields (the form's toasts are hidden; the desk's
        still show it once the form closes). False when the form has no notice line."""
        lines = self.query(f"#{NOTICE_ID}").results(Static)
        line = next(iter(lines), None)
        if line is None:
            return False
        if severity == "error":
            message.stylize("bold red")
        elif severity == "warning":
            message.stylize("yellow")
        line.update(message)
        line.display = True
        self.add_class("-notice-line")
        if self._notice_timer is not None:
            self._notice_timer.stop()
        self._notice_timer = self.set_timer(timeout, self._clear_notice)
        return True

    def _clear_notice(self) -> None:
        self._notice_timer = None
        for line in self.query(f"#{NOTICE_ID}").results(Static):
            line.update("")
            line.display = False

    def clear_error(self) -> None:
        """A refusal no longer holds (the choice changed); the lost lease still does."""
        if self.lease_message is not None:
            self.error(self.lease_message)
        else:
            self.error("")

    def show_saving(self) -> None:
        self.error(_("saving..."), "dim")

    def start_save(self, write: Callable[[], ResultT]) -> None:
        """Run ``write`` in the save worker; the form is dismissed with what it returns.

        Not once the lease is lost, nor while a field holds what the service cannot keep."""
        if self.saving or not self.may_save():
            return
        try:
            self.check_typed()
        except FieldProblem as problem:
            self.show_problem(problem)
            return
        self.saving = True
        self.show_saving()
        self.run_worker(
            partial(self._save_in_worker, write),
            name=SAVE_WORKER,
            group=self.SAVE_GROUP,
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _save_in_worker(self, write: Callable[[], ResultT]) -> None:
        try:
            result = write()
        except StaleEdit as exc:
            self.stale_in_worker(exc)
            return
        except ServiceError as exc:
            self.app.call_from_thread(self._refused, str(exc))
            return
        self.app.call_from_thread(self._saved, result)

    def keep_typed(self, key: str, character: str | None) -> None:
        """A key typed while saving: kept, in order, for the screen below the form."""
        self.typed_while_saving.append((key, character))

    def _saved(self, result: ResultT) -> None:
        typed, self.typed_while_saving = self.typed_while_saving, []
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else None
        self.dismiss(result)
        take = getattr(below, "take_typed", None)
        if typed and callable(take):
            take(typed)

    def _drop_typed(self) -> None:
        typed, self.typed_while_saving = self.typed_while_saving, []
        if typed:
            keys = " ".join(character or key for key, character in typed)
            self.notify(
                _("Keys typed while saving not applied (the form stays open): {keys}").format(
                    keys=keys
                ),
                severity="warning",
                markup=False,
            )

    def stale_in_worker(self, exc: StaleEdit) -> None:
        """Runs in the save worker when the write was refused as stale: a refusal here;
        forms on a case read its version again."""
        self.app.call_from_thread(self._refused, str(exc))

    def _refused(self, reason: str) -> None:
        self.saving = False
        self._drop_typed()
        self.error(_("Not saved: {reason}").format(reason=reason))

    def _stale(self, reason: str) -> None:
        self.saving = False
        self._drop_typed()
        self.error(
            _("Not saved: {reason}. The case was read again; check it and save again.").format(
                reason=reason.rstrip(".")
            )
        )

    def worker_failed(self, failure: WorkerFailure) -> bool:
        """The App's call after a worker of this form raised: a failed save leaves the
        saving state with the reason on the error line (the notification says it too)."""
        if failure.worker.name == SAVE_WORKER:
            self._refused(failure.reason)
        return False


class FieldFormModal(FormModal[str | None]):
    """A titled form of fields; subclasses give the fields and the save."""

    AUTO_FOCUS = ".form-field"
    FORM_TITLE: ClassVar[str] = ""
    FORM_HINT: ClassVar[str] = N_("Enter next/save | Left/Right change a choice | Esc cancel")
    SCROLLING: ClassVar[bool] = False
    # The unit after a field's value, by widget id ("money": the currency's symbol).
    UNITS: ClassVar[dict[str, str]] = {}
    # Captions are as wide as the longest (in terminal cells), within these bounds.
    LABEL_WIDTH: ClassVar[tuple[int, int]] = (8, 24)
    """Long forms scroll their fields (the focused one is kept in view) at 80x24."""

    # --- what subclasses give --------------------------------------------------------

    def title_text(self) -> str:
        return _(self.FORM_TITLE)

    def fields(self) -> Sequence[tuple[str, Widget]]:
        raise NotImplementedError

    def intro(self) -> Text | None:
        return None

    def prepare(self) -> Save:
        """Check the input (raise ``FieldProblem``) and return the write to run."""
        raise NotImplementedError

    # --- the form ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self._captions: dict[str, str] = {}
        with Vertical(classes="form-box"):
            yield Static(Text(self.title_text(), style="bold"), classes="form-title")
            intro = self.intro()
            if intro is not None:
                yield Static(intro, classes="form-intro")
            # The rows scroll to the focused field by themselves: not a focus stop of their own.
            rows = (
                VerticalScroll(classes="form-rows", can_focus=False)
                if self.SCROLLING
                else Vertical()
            )
            rows.styles.height = "auto"
            fields = list(self.fields())
            low, high = self.LABEL_WIDTH
            # One cell between the longest caption and its value: "Name matches yes".
            width = min(high, max([low - 1, *(cell_len(c) for c, _w in fields)]) + 1)
            with rows:
                for caption, widget in fields:
                    widget.add_class("form-field")
                    if widget.id:
                        self._captions[widget.id] = caption
                    unit = self.UNITS.get(widget.id or "")
                    if unit:
                        widget.add_class("with-unit")
                    with Horizontal(classes="form-row"):
                        label = Static(caption, classes="form-label")
                        label.styles.width = width
                        yield label
                        yield widget
                        if unit:
                            yield Static(
                                " " + (currency_symbol() if unit == "money" else _(unit)),
                                classes="form-unit",
                            )
            yield Static(id=self.ERROR_ID, classes="form-error")
            yield Static(id=NOTICE_ID, classes="form-notice")
            yield Static(Text(_(self.FORM_HINT), style="dim"), classes="form-hint")

    @property
    def field_widgets(self) -> list[Widget]:
        return list(self.query(".form-field").results(Widget))

    def action_cancel(self) -> None:
        self.request_close()

    def show_problem(self, problem: FieldProblem) -> None:
        caption = getattr(self, "_captions", {}).get(problem.field, "").strip().rstrip(":：")
        if caption:
            problem = FieldProblem(
                problem.field,
                _("{field}: {problem}").format(field=caption, problem=str(problem)),
            )
        super().show_problem(problem)

    async def action_advance(self) -> None:
        await drain_typeahead(self)
        self.advance()

    def advance(self) -> None:
        widgets = self.field_widgets
        focused = self.focused
        if focused in widgets and widgets.index(focused) < len(widgets) - 1:
            self.set_focus(widgets[widgets.index(focused) + 1])
            return
        self.save()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.advance()

    def save(self) -> None:
        if self.saving or not self.may_save():
            return
        try:
            self.check_typed()
            write = self.prepare()
        except FieldProblem as problem:
            self.show_problem(problem)
            return
        self.start_save(write)

    # --- helpers for subclasses --------------------------------------------------------

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def choice(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Choice).value
