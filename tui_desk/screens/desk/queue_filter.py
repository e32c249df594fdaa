"""The queue's filter keys, the search line and the orphan warning above the queue.

The queue is a window paged from the database (``QueueView``); the filter keys and the
search line re-query it. Open cases without a next action are counted after each
refresh and shown on one line above the queue.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui_desk.i18n import _, ngettext
from tui_desk.screens.desk.host import DeskFilter
from tui_desk.views.queue import QueueKey
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.queue_view import Page, QueueFilterBar, QueueView, SearchInput

if TYPE_CHECKING:
    from tui_desk.services.queue import QueueFilter

SCOPES = ("all", "mine", "unowned")


def _cycle(values: tuple[str, ...], current: str | None) -> str | None:
    """None -> first -> ... -> last -> None."""
    if current is None:
        return values[0] if values else None
    index = values.index(current) if current in values else -1
    return values[index + 1] if index + 1 < len(values) else None


if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class QueueFilterKeys(_Host):
    """Filter keys (b s m p d h g z f), the search line (/) and the orphan count."""

    def apply_filter(self) -> None:
        """Re-query the queue for the current filter; the cursor keeps its case if it can."""
        state = self.filter
        flt = self.service.queue_filter(
            scope=state.scope,
            bucket=state.bucket,
            stage=state.stage,
            broken_only=state.broken_only,
            due_today=state.due_today,
            on_hold=state.on_hold,
            registered_only=state.registered_only,
            search=state.search,
        )
        if state.no_next_action:
            flt = replace(flt, no_next_action=True)
        # The filter line changes with the rows (one frame), see on_queue_view_window_changed.
        view = self.queue
        view.set_source(
            partial(self._read_page, flt), self.service.describe(flt), keep=view.case_id
        )

    def _read_page(
        self, flt: QueueFilter, after: QueueKey | None, before: QueueKey | None, limit: int
    ) -> Page:
        """Runs in the queue view's worker thread."""
        return self.service.queue_page(flt, after=after, before=before, limit=limit)

    def action_cycle_filter(self, name: str) -> None:
        state = self.filter
        if name == "bucket":
            state = replace(state, bucket=_cycle(self.service.buckets(), state.bucket))
        elif name == "stage":
            state = replace(state, stage=_cycle(self.service.stages(), state.stage))
        elif name == "scope":
            index = SCOPES.index(state.scope) if state.scope in SCOPES else 0
            state = replace(state, scope=SCOPES[(index + 1) % len(SCOPES)])
        self._set_filter(state)

    def action_toggle_filter(self, name: str) -> None:
        state = self.filter
        if name == "broken_only":
            state = replace(state, broken_only=not state.broken_only)
        elif name == "due_today":
            state = replace(state, due_today=not state.due_today)
        elif name == "on_hold":
            state = replace(state, on_hold=not state.on_hold)
        elif name == "registered_only":
            state = replace(state, registered_only=not state.registered_only)
        elif name == "no_next_action":
            state = replace(state, no_next_action=not state.no_next_action)
        else:
            return
        self._set_filter(state)

    def action_clear_filters(self) -> None:
        self.query_one(SearchInput).value = ""
        self._set_filter(DeskFilter())

    def _set_filter(self, state: DeskFilter) -> None:
        self.filter = state
        if self.pane != "queue":
            self._show("queue")
        self.apply_filter()

    def action_search(self) -> None:
        if self.pane != "queue":
            self._show("queue", focus=False)
        # Focus now, not after the next refresh: the key typed right after "/" belongs
        # to the search line.
        self.set_focus(self.query_one(SearchInput))

    def on_input_changed(self, event: Input.Changed) -> None:
        # The search line is the desk's only text field. (Handlers here go by name: ``@on``
        # registers only on Textual classes, and the key groups are plain mixins.)
        # Leading edge: a character typed after a pause is searched at once (one query
        # costs about a millisecond); while the operator keeps typing, at most one query
        # per debounce period, and always one for the last character.
        event.stop()
        idle = time.monotonic() - self._last_search >= self.SEARCH_DEBOUNCE_SECONDS
        if self._search_timer is None and idle:
            self._search_now()
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(self.SEARCH_DEBOUNCE_SECONDS, self._search_now)

    def _search_now(self) -> None:
        self._search_timer = None
        self._last_search = time.monotonic()
        text = self.query_one(SearchInput).value.strip()
        if text != self.filter.search:
            self.filter = replace(self.filter, search=text)
            self.apply_filter()

    def on_search_input_done(self, event: SearchInput.Done) -> None:
        event.stop()
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_now()

    def action_refresh_desk(self) -> None:
        self.queue.reload()
        if self._wanted is not None:
            self._select(self._wanted, immediate=True)

    def on_queue_view_window_changed(self, message: QueueView.WindowChanged) -> None:
        self.query_one(QueueFilterBar).show_filter(self.filter)
        if message.count == 0 and self.bundle is None:
            self.query_one(CaseHeader).show(None)
        # Whenever the queue is read again, so is the orphan count (an index range count),
        # once the new rows are on screen: the count must not delay the frame the
        # operator waits for, and a burst of keys reads it once.
        if self._orphan_timer is not None:
            self._orphan_timer.stop()
        self._orphan_timer = self.set_timer(self.ORPHAN_COUNT_DELAY, self._orphan_tick)

    def _orphan_tick(self) -> None:
        self._orphan_timer = None
        self._load_orphan_count()

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def _load_orphan_count(self) -> None:
        count = self.service.orphan_count()
        door = self.service.overdue_door_money()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_orphans, count, door)

    def _show_orphans(self, count: int, door: int = 0) -> None:
        """Open cases without a next action must be surfaced, not forgotten; supervisors
        also see door collections no bank payment has matched in time."""
        shown = (count, door, self.filter.no_next_action)
        if shown == self._orphans_shown:
            return  # nothing changed: no relayout
        self._orphans_shown = shown
        warning = self.query_one("#orphan-warning", Static)
        warning.display = count > 0 or door > 0
        if not count:
            if door:
                text = ngettext(
                    "{n} door collection is still unreconciled past the limit",
                    "{n} door collections are still unreconciled past the limit",
                    door,
                ).format(n=door)
                warning.update(Text(f"⚠ {text}", no_wrap=True, overflow="ellipsis"))
            return
        if self.filter.no_next_action:
            hint = _("listed below; z shows all")
        else:
            hint = ngettext("press z to list it", "press z to list them", count)
        text = ngettext(
            "{n} open case has no next action", "{n} open cases have no next action", count
        ).format(n=count)
        if door:
            text += "; " + ngettext(
                "{n} door collection unreconciled", "{n} door collections unreconciled", door
            ).format(n=door)
        warning.update(Text(f"⚠ {text} - {hint}", no_wrap=True, overflow="ellipsis"))
