"""My day (F7 on the desk): the operator's own day on one screen, keyboard only.

Callbacks due today as a timeline (the past ones marked done or missed), promises falling
due today and those broken yesterday, visits today (collectors), follow-ups due, the
day's figures so far with the time ready, paused and in wrap-up, and the operator's
override requests with their answers. One read (``DeskService.my_day``, one snapshot)
in a thread worker, again every ``POLL_SECONDS`` (the next read only once the last is
handled), so keys never wait for the database. Enter on a line goes back to the desk
with that case (the desk decides what the case in hand allows); Escape or F7 goes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui_desk.formatting import DASH, label, local, money
from tui_desk.i18n import N_, _
from tui_desk.rules.agent_time import clock
from tui_desk.screens import localise_bindings
from tui_desk.screens.failures import ForwardsWorkerErrors, failure_text, under_way
from tui_desk.screens.override_modal import rule_label
from tui_desk.services.desk import DeskService
from tui_desk.views.my_day import (
    CALLBACK_DONE,
    CALLBACK_DUE,
    CALLBACK_LATER,
    CALLBACK_MISSED,
    MyDay,
)
from tui_desk.views.supervision import OverrideRequestLine
from tui_desk.widgets.agent_state import state_label
from tui_desk.widgets.footer import DeskFooter
from tui_desk.widgets.tables import bounded_caches, fill

CALLBACK_LABELS = {
    CALLBACK_DONE: N_("done"),
    CALLBACK_MISSED: N_("not called"),
    CALLBACK_DUE: N_("due now"),
    CALLBACK_LATER: N_("later"),
}
COLUMNS = (
    ("when", N_("when")),
    ("what", N_("what")),
    ("case", N_("case")),
    ("borrower", N_("borrower name")),
    ("status", N_("status")),
)
"""The table's columns: (key, title before translation)."""

PROMISE_LABELS = {"open": N_("due today"), "broken": N_("broken"), "kept": N_("kept")}
CALLBACK_STYLES = {
    CALLBACK_DONE: "green",
    CALLBACK_MISSED: "bold red",
    CALLBACK_DUE: "bold yellow",
    CALLBACK_LATER: "",
}


def _fit(text: str, room: int | None) -> str:
    """``text`` cut to ``room`` terminal cells (CJK counted double), ``..`` marking a cut."""
    if room is None or cell_len(text) <= room:
        return text
    out = ""
    for char in text:
        if cell_len(out + char) > room - 2:
            break
        out += char
    return out + ".."


# One line of the table: its cells and the case Enter opens (None: a heading).
Line = tuple[tuple[Text, ...], int | None]


class MyDayScreen(ForwardsWorkerErrors, Screen[int | None]):
    """The operator's day; dismissed with the case to open on the desk, or None."""

    POLL_SECONDS: ClassVar[float] = 5.0
    """How often the day is read again (a modest poll: one snapshot of a few queries)."""

    DEFAULT_CSS = """
    MyDayScreen #my-day-summary { height: auto; padding: 0 1; }
    MyDayScreen #my-day-table { height: 1fr; }
    MyDayScreen #my-day-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f7", "close", N_("Back"), tooltip=N_("Back to the desk"),
                id="my_day.close", show=True),
        Binding("enter", "open_case", N_("Open case"),
                tooltip=N_("Back to the desk with this line's case"), id="my_day.open",
                show=True, priority=True),
        Binding("r,ctrl+r", "refresh_day", N_("Refresh"), tooltip=N_("Read the day again now"),
                id="my_day.refresh"),
    ]  # fmt: skip

    def __init__(self, service: DeskService) -> None:
        super().__init__(id="my-day")
        localise_bindings(self)
        self.service = service
        self.day: MyDay | None = None
        self._cases: dict[str, int] = {}
        self._timer_started = False

    def compose(self) -> ComposeResult:
        yield Header(icon="#")
        yield Static(Text(_("reading your day..."), style="dim"), id="my-day-summary")
        yield bounded_caches(
            DataTable[Text](id="my-day-table", cursor_type="row", zebra_stripes=False)
        )
        yield Static(
            Text(_("Enter opens the case | r refresh | Esc back"), style="dim"),
            id="my-day-status",
        )
        yield DeskFooter()

    def on_mount(self) -> None:
        self.title = _("My day")
        table = self.table
        fill(table, COLUMNS, [])
        table.focus()
        self._read()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#my-day-table", DataTable)

    # --- reading ---------------------------------------------------------------------

    def _poll(self) -> None:
        if under_way(self, "my-day"):
            return
        self._read()

    def action_refresh_day(self) -> None:
        self._poll()

    @work(thread=True, group="my-day", exit_on_error=False)
    def _read(self) -> None:
        try:
            day = self.service.my_day()
        except Exception as exc:
            self.app.call_from_thread(self._failed, failure_text(exc))
            return
        self.app.call_from_thread(self.show_day, day)

    def _failed(self, text: str) -> None:
        self.query_one("#my-day-status", Static).update(Text(text, style="bold red"))
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer_started and self.is_mounted:
            self._timer_started = True
            self.set_interval(self.POLL_SECONDS, self._poll)

    # --- drawing ---------------------------------------------------------------------

    def show_day(self, day: MyDay) -> None:
        old, self.day = self.day, day
        self.query_one("#my-day-summary", Static).update(self._summary(day))
        self._schedule()
        if old is not None and replace(old, as_of=day.as_of) == day:
            return  # only the clocks moved
        lines = self._lines(day)
        table = self.table
        keep = self._cursor_key()
        with self.app.batch_update():
            self._cases = {}
            filled: list[tuple[str, Sequence[Text]]] = []
            for n, (cells, case_id) in enumerate(lines):
                key = f"{n}:{case_id}" if case_id is not None else f"{n}:-"
                filled.append((key, cells))
                if case_id is not None:
                    self._cases[key] = case_id
            # Columns as wide as their widest cell from the first frame on (tables.fill).
            fill(table, COLUMNS, filled)
            rows = [f"{n}:{c if c is not None else '-'}" for n, (_cells, c) in enumerate(lines)]
            if keep in rows:
                table.move_cursor(row=rows.index(keep), animate=False)
            else:
                first = next((n for n, (_c, case_id) in enumerate(lines) if case_id), 0)
                table.move_cursor(row=first, animate=False)

    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def _summary(self, day: MyDay) -> Text:
        tz = self.service.timezone
        currency = self.service.profile.currency
        f = day.figures
        text = Text()
        text.append(_("My day"), style="bold")
        text.append(f"  {day.day.isoformat()}  ")
        text.append(_("state: {state}").format(state=state_label(day.state)), style="bold")
        if day.state_since is not None:
            held = int((day.as_of - day.state_since).total_seconds())
            text.append(
                " "
                + _("since {time} ({clock})").format(
                    time=local(day.state_since, tz, "%H:%M"), clock=clock(held)
                )
            )
        text.append("\n")
        text.append(
            _(
                "attempts {attempts} | right-party {rpc} | promises {promises}"
                " | collected {collected}"
            ).format(
                attempts=f.attempts,
                rpc=f.right_party_contacts,
                promises=f.promises,
                collected=money(f.collected_minor, currency),
            )
        )
        text.append("\n")
        text.append(
            _("ready {ready} | paused {paused} | wrap-up {wrap_up} | working {working}").format(
                ready=clock(f.ready_seconds),
                paused=clock(f.paused_seconds),
                wrap_up=clock(f.wrap_up_seconds),
                working=clock(f.working_seconds),
            ),
            style="dim",
        )
        return text

    def _lines(self, day: MyDay) -> list[Line]:
        tz = self.service.timezone
        currency = self.service.profile.currency
        lines: list[Line] = []

        def heading(title: str, n: int) -> None:
            cells = (
                Text(""),
                Text(f"{title} ({n})", style="bold"),
                Text(""),
                Text(""),
                Text(""),
            )
            lines.append((cells, None))

        # On a narrow terminal the "what" is cut so the status (the answer) stays in view.
        room = None if self.app.size.width >= 120 else 26

        def line(case_id: int, when: str, what: str, who: str, status: Text) -> None:
            cells = (Text(when), Text(_fit(what, room)), Text(str(case_id)), Text(who), status)
            lines.append((cells, case_id))

        heading(_("Callbacks today"), len(day.callbacks))
        for cb in day.callbacks:
            status = Text(_(CALLBACK_LABELS.get(cb.status, cb.status)))
            status.stylize(CALLBACK_STYLES.get(cb.status, ""))
            line(cb.case_id, local(cb.due_at, tz, "%H:%M"), _("callback"), cb.borrower, status)
        heading(_("Promises due today"), len(day.promises_due))
        for p in day.promises_due:
            what = _("promise {amount}").format(amount=money(p.amount_minor, currency))
            status = Text(_(PROMISE_LABELS.get(p.status, p.status)))
            line(p.case_id, _("today"), what, p.borrower, status)
        if day.promises_broken:
            heading(_("Promises broken yesterday"), len(day.promises_broken))
            for p in day.promises_broken:
                what = _("promise {amount}").format(amount=money(p.amount_minor, currency))
                status = Text(_(PROMISE_LABELS.get(p.status, p.status)), style="red")
                line(p.case_id, p.due_on.strftime("%m-%d"), what, p.borrower, status)
        if day.visits:
            heading(_("Visits today"), len(day.visits))
            for v in day.visits:
                what = _("visit in {district}").format(district=v.district)
                status = Text(label("appointment_status", v.status))
                line(v.case_id, local(v.starts_at, tz, "%H:%M"), what, v.borrower, status)
        heading(_("Follow-ups due"), len(day.follow_ups))
        for fu in day.follow_ups:
            what = _("follow-up by {channel}").format(channel=label("channel", fu.channel))
            late = fu.due_on < day.day
            status = Text(_("overdue") if late else _("due today"), style="red" if late else "")
            line(fu.case_id, fu.due_on.strftime("%m-%d"), what, fu.borrower, status)
        heading(_("My override requests"), len(day.requests))
        for r in day.requests:
            line(
                r.case_id,
                local(r.requested_at, tz, "%H:%M"),
                rule_label(r.rule),
                r.borrower_name,
                self._answer(r),
            )
        return lines

    def _answer(self, r: OverrideRequestLine) -> Text:
        who = r.decided_by_login or DASH
        if r.status == "pending":
            return Text(_("waiting for an answer"), style="yellow")
        if r.status == "approved":
            text = _("approved by {login}").format(login=who)
            if r.override_expires_at is not None:
                text += " " + _("until {time}").format(
                    time=local(r.override_expires_at, self.service.timezone, "%H:%M")
                )
            return Text(text, style="green")
        if r.status == "rejected":
            text = _("refused by {login}").format(login=who)
            if r.decision_note:
                text += ": " + r.decision_note
            return Text(text, style="red")
        return Text(label("override_status", r.status))

    # --- keys ------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#my-day-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_case()

    def action_open_case(self) -> None:
        key = self._cursor_key()
        case_id = self._cases.get(key) if key is not None else None
        if case_id is None:
            self.notify(_("Choose a line with a case."), severity="warning")
            return
        self.dismiss(case_id)

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def is_settled(self) -> bool:
        """Read and drawn: no read under way (tests wait for this)."""
        return self.day is not None and not under_way(self, "my-day")
