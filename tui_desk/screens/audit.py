"""The audit viewer: every recorded change, newest first, with its before and after.

Filter fields across the top (agent login, case number, action prefix, from and to as
office days); Enter in a field runs the query. The table pages from the database by
keyset as the cursor nears its end (Down, PgDn, End), never loading the whole trail.
Enter on a row shows the event's before and after side by side, changed values bold.
A filter that cannot be read says why under the fields and takes the focus back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, Static

from tui_desk.formatting import label, local
from tui_desk.i18n import N_, _
from tui_desk.screens import localise_bindings
from tui_desk.screens.failures import ForwardsWorkerErrors, failure_text
from tui_desk.screens.parsing import InputProblem, parse_past_date
from tui_desk.services.desk import DeskService
from tui_desk.services.errors import UnknownAgent
from tui_desk.services.supervision import AuditFilter
from tui_desk.views.audit_text import audit_sentence
from tui_desk.views.supervision import AuditLine, AuditPage
from tui_desk.widgets.footer import DeskFooter

PAGE_SIZE = 50
PREFETCH_ROWS = 5
"""Fetch the next page when the cursor comes this close to the last row."""
SUMMARY_WIDTH = 60

FILTER_FIELDS = ("audit-agent", "audit-case", "audit-action", "audit-from", "audit-to")


class FilterProblem(InputProblem):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_case(text: str) -> int | None:
    raw = text.strip().lstrip("#").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise InputProblem(_("case: its number, e.g. 1234 or #1234"))
    return int(raw)


def office_day_start(day: dt.date, timezone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested before/after values as ``path -> text`` (``owner_id.12``, ``case_ids``)."""
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, dict) and item:
                out |= flatten(item, path)
            else:
                out[path] = _scalar(item)
        return out
    return {prefix or "value": _scalar(value)}


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def change_text(before: dict[str, Any] | None, after: dict[str, Any] | None, width: int) -> Text:
    """Before and after side by side, one row per field; a changed value is bold."""
    old = flatten(before) if before is not None else {}
    new = flatten(after) if after is not None else {}
    keys = list(dict.fromkeys([*old, *new]))
    key_width = min(max([cell_len(k) for k in keys] + [cell_len(_("field"))]), 24)
    column = max(8, (width - key_width - 4) // 2)
    t = Text()
    t.append(_fit(_("field"), key_width) + "  ", style="bold dim")
    t.append(_fit(_("before"), column) + "  ", style="bold dim")
    t.append(_("after"), style="bold dim")
    if not keys:
        t.append("\n" + _("(no before/after recorded)"), style="dim")
    for key in keys:
        a, b = old.get(key, ""), new.get(key, "")
        changed = a != b
        t.append("\n")
        t.append(_fit(key, key_width) + "  ", style="dim")
        for i, part in enumerate(_wrap(a, column)):
            if i:
                t.append("\n" + " " * (key_width + 2))
            t.append(_fit(part, column), style="red" if changed and a else "")
        t.append("  ")
        lines = _wrap(b, column)
        t.append(lines[0], style="bold green" if changed else "")
        for part in lines[1:]:
            t.append("\n" + " " * (key_width + column + 4))
            t.append(part, style="bold green" if changed else "")
    return t


def _fit(text: str, width: int) -> str:
    if cell_len(text) > width:
        return set_cell_size(text, width - 2) + ".."
    return set_cell_size(text, width)


def _wrap(text: str, width: int) -> list[str]:
    """Cut ``text`` into lines of at most ``width`` cells (CJK characters count two)."""
    if not text:
        return [""]
    lines: list[str] = []
    line = ""
    for ch in text:
        if cell_len(line + ch) > width:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    return lines[:12]


class AuditEventModal(ModalScreen[None]):
    """One event: who, when, what, and its before/after side by side."""

    DEFAULT_CSS = """
    AuditEventModal { align: center middle; background: $background 60%; }
    AuditEventModal > #ae-box {
        width: 120; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AuditEventModal #ae-body { height: auto; max-height: 18; scrollbar-size-vertical: 1; }
    AuditEventModal Static { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", N_("Close"), tooltip=N_("Back to the audit list"),
                id="audit.event.close"),
    ]  # fmt: skip

    def __init__(self, line: AuditLine, timezone: str, names: dict[int, str] | None = None) -> None:
        super().__init__()
        localise_bindings(self)
        self.line = line
        self.timezone = timezone
        self.names = names or {}

    def compose(self) -> ComposeResult:
        e = self.line
        head = Text()
        head.append(f"#{e.event_id}  {label('action', e.action)}", style="bold")
        head.append("  " + _local(e.occurred_at, self.timezone, "%Y-%m-%d %H:%M:%S"))
        head.append("\n" + _("Agent") + " ", style="dim")
        head.append(f"{e.agent_name} ({e.agent_login})" if e.agent_login else _("the system"))
        head.append("  " + _("Case") + " ", style="dim")
        head.append(f"#{e.case_id}" if e.case_id is not None else "-")
        head.append("  " + _("Record") + " ", style="dim")
        head.append(
            f"{label('entity', e.entity)} {e.entity_id if e.entity_id is not None else ''}".strip()
        )
        head.append("\n")
        head.append(audit_sentence(e, self.timezone, self.names), style="italic")
        with Vertical(id="ae-box"):
            yield Static(head, id="ae-head")
            with VerticalScroll(id="ae-body"):
                yield Static(id="ae-change")
            yield Static(Text(_("Up/Down scroll | Esc or Enter back"), style="dim"))

    def on_mount(self) -> None:
        width = max(40, min(self.app.size.width, 120) - 6)
        self.query_one("#ae-change", Static).update(
            change_text(self.line.before, self.line.after, width)
        )
        self.query_one("#ae-body", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _local(ts: dt.datetime, timezone: str, fmt: str) -> str:
    return local(ts, timezone, fmt)


class AuditScreen(ForwardsWorkerErrors, Screen[None]):
    """The audit trail, filtered, newest first; pushed from the board (or the command list)."""

    DEFAULT_CSS = """
    AuditScreen { layout: vertical; }
    AuditScreen #audit-title, AuditScreen #audit-status { height: 1; padding: 0 1; }
    AuditScreen #audit-filters { height: 2; padding: 0 1; }
    AuditScreen .audit-field { width: 1fr; height: 2; margin: 0 1 0 0; }
    AuditScreen .audit-field Static { height: 1; color: $text-muted; }
    AuditScreen .audit-field Input { background: $boost; }
    AuditScreen .audit-field Input:focus { background: $primary 30%; }
    AuditScreen #audit-error { height: auto; padding: 0 1; }
    AuditScreen #audit-table { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Back"), tooltip=N_("Close the audit viewer"),
                id="audit.close"),
        Binding("ctrl+r", "reload", N_("Reload"),
                tooltip=N_("Run the query again from the newest event"), id="audit.reload"),
        Binding("ctrl+l", "clear", N_("Clear filters"), tooltip=N_("Empty every filter field"),
                id="audit.clear"),
        Binding("ctrl+t", "to_table", N_("Events"), tooltip=N_("Move to the list of events"),
                id="audit.table"),
    ]  # fmt: skip

    def __init__(self, service: DeskService, *, case_id: int | None = None) -> None:
        super().__init__()
        localise_bindings(self)
        self.service = service
        self.initial_case = case_id
        self.filter = AuditFilter(case_id=case_id)
        self.lines: list[AuditLine] = []
        self.names: dict[int, str] = {}
        self.more = False
        self.loading = False
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(_("Audit trail"), style="bold"), id="audit-title")
        with Horizontal(id="audit-filters"):
            for field_id, caption, hint in (
                ("audit-agent", _("Agent"), _("login")),
                ("audit-case", _("Case"), _("#number")),
                ("audit-action", _("Action"), _("prefix, e.g. case.")),
                ("audit-from", _("From"), _("YYYY-MM-DD")),
                ("audit-to", _("To"), _("YYYY-MM-DD")),
            ):
                with Vertical(classes="audit-field"):
                    yield Static(caption)
                    value = (
                        str(self.initial_case)
                        if field_id == "audit-case" and self.initial_case is not None
                        else ""
                    )
                    yield Input(value=value, placeholder=hint, id=field_id, compact=True)
        yield Static(id="audit-error")
        yield DataTable[Text](id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="audit-status")
        yield DeskFooter()

    def on_mount(self) -> None:
        table = self.table
        for key, title in (
            ("time", _("Time")),
            ("agent", _("Agent")),
            ("action", _("Action")),
            ("case", _("Case")),
            ("summary", _("Summary")),
        ):
            table.add_column(Text(title), key=key)
        self.query_one("#audit-agent", Input).focus()
        self._load_actions()
        self.run_query()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#audit-table", DataTable)

    # --- filter --------------------------------------------------------------------------

    def read_filter(self) -> AuditFilter:
        """The fields as a filter; ``FilterProblem`` names the field that is wrong."""

        def text(field_id: str) -> str:
            return self.query_one(f"#{field_id}", Input).value.strip()

        try:
            case_id = parse_case(text("audit-case"))
        except InputProblem as problem:
            raise FilterProblem("audit-case", str(problem)) from None
        tz = self.service.timezone
        today = self.service.today()
        bounds: list[dt.datetime | None] = []
        for field_id, caption in (("audit-from", _("from")), ("audit-to", _("to"))):
            raw = text(field_id)
            if not raw:
                bounds.append(None)
                continue
            try:
                day = parse_past_date(raw, today)
            except InputProblem as problem:
                raise FilterProblem(field_id, f"{caption}: {problem}") from None
            if field_id == "audit-to":
                day += dt.timedelta(days=1)
            bounds.append(office_day_start(day, tz))
        since, until = bounds
        if since is not None and until is not None and until <= since:
            raise FilterProblem("audit-to", _("the period ends before it starts"))
        return AuditFilter(
            agent_login=text("audit-agent") or None,
            case_id=case_id,
            action=text("audit-action") or None,
            since=since,
            until=until,
        )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_query()

    def run_query(self) -> None:
        try:
            flt = self.read_filter()
        except FilterProblem as problem:
            self._error(str(problem))
            self.query_one(f"#{problem.field}", Input).focus()
            return
        self._error("")
        self.filter = flt
        self.generation += 1
        self.lines = []
        self.more = False
        self.table.clear()
        self._status(_("reading..."))
        self.loading = True
        self._load_page(self.generation, flt, None)

    def action_reload(self) -> None:
        self.run_query()

    def action_clear(self) -> None:
        for field_id in FILTER_FIELDS:
            self.query_one(f"#{field_id}", Input).value = ""
        self.run_query()

    def action_to_table(self) -> None:
        self.table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    # --- reading ---------------------------------------------------------------------------

    @work(thread=True, group="audit-actions", exclusive=True, exit_on_error=False)
    def _load_actions(self) -> None:
        try:
            actions = self.service.audit_actions()
        except Exception:  # the picker is a convenience; the field still takes any prefix
            return
        self.app.call_from_thread(self._actions_arrived, actions)

    def _actions_arrived(self, actions: Sequence[str]) -> None:
        # Typing shows the first matching action in grey; Right takes it.
        self.query_one("#audit-action", Input).suggester = SuggestFromList(
            actions, case_sensitive=False
        )

    @work(thread=True, group="audit-page", exclusive=True, exit_on_error=False)
    def _load_page(self, generation: int, flt: AuditFilter, before_id: int | None) -> None:
        try:
            page = self.service.audit_page(flt, before_id=before_id, limit=PAGE_SIZE)
        except Exception as exc:
            # An unknown login is a problem of the agent field: the focus goes back there.
            field = "audit-agent" if isinstance(exc, UnknownAgent) else None
            self.app.call_from_thread(self._failed, generation, failure_text(exc), field)
            return
        self.app.call_from_thread(self._page_arrived, generation, page)

    def _failed(self, generation: int, text: str, field: str | None = None) -> None:
        if generation != self.generation:
            return
        self.loading = False
        self._status("")
        self._error(text)
        if field is not None:
            self.query_one(f"#{field}", Input).focus()

    def _page_arrived(self, generation: int, page: AuditPage) -> None:
        if generation != self.generation:
            return  # an older query's page: the filter changed meanwhile
        self.loading = False
        self.more = page.more
        tz = self.service.timezone
        table = self.table
        with self.app.batch_update():
            self.names.update(page.names)
            for line in page.lines:
                self.lines.append(line)
                table.add_row(
                    Text(_local(line.occurred_at, tz, "%m-%d %H:%M:%S")),
                    Text(line.agent_login or "-"),
                    Text(label("action", line.action)),
                    Text(f"#{line.case_id}" if line.case_id is not None else "-"),
                    Text(
                        _fit(
                            " ".join(audit_sentence(line, tz, self.names).split()), SUMMARY_WIDTH
                        ).rstrip()
                    ),
                    key=str(line.event_id),
                )
        self._show_count()

    def _show_count(self) -> None:
        n = len(self.lines)
        if n == 0:
            self._status(_("No event matches the filter."))
        elif self.more:
            self._status(
                _(
                    "{n} events shown, older ones follow as you scroll | Enter shows a change"
                ).format(n=n)
            )
        else:
            self._status(_("{n} events, all shown | Enter shows a change").format(n=n))

    def load_more(self) -> None:
        if self.loading or not self.more or not self.lines:
            return
        self.loading = True
        self._load_page(self.generation, self.filter, self.lines[-1].event_id)

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= len(self.lines) - PREFETCH_ROWS:
            self.load_more()

    @on(DataTable.RowSelected, "#audit-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        row = event.cursor_row
        if 0 <= row < len(self.lines):
            self.app.push_screen(
                AuditEventModal(self.lines[row], self.service.timezone, self.names)
            )

    # --- lines -----------------------------------------------------------------------------

    def _status(self, text: str) -> None:
        self.query_one("#audit-status", Static).update(Text(text, style="dim"))

    def _error(self, text: str) -> None:
        error = self.query_one("#audit-error", Static)
        error.update(Text(text, style="bold red"))
        error.display = bool(text)
