"""The case in hand: which case the operator chose, reading it, and showing it.

The queue cursor chooses the case; holding an arrow key reads only where it comes to
rest. A key pressed before the case has been read acts once it is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from tui_desk.i18n import _, ngettext
from tui_desk.messages import CaseLoaded, CaseSelected
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.contact_log import ContactLogPanel

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class CaseLoading(_Host):
    """Select, read and show the case; run keys on it once it is there."""

    def on_case_selected(self, message: CaseSelected) -> None:
        self._select(message.case_id, immediate=message.opened)
        if message.opened and self.has_class("-narrow"):
            self._show("contacts")

    def _select(self, case_id: int, *, immediate: bool) -> None:
        if case_id == self._wanted and not immediate:
            return
        self._wanted = case_id
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        if immediate:
            self._start_case_load(case_id)
        else:
            self._debounce = self.set_timer(
                self.DEBOUNCE_SECONDS, lambda: self._start_case_load(case_id)
            )

    def _start_case_load(self, case_id: int) -> None:
        self._debounce = None
        if self.lease is not None and self.lease.case_id != case_id:
            # Moving on to another case frees the one we held for the others.
            self._release_lease()
        # "loading..." only if the read is slow: repainting the side panes' borders for
        # nothing costs more than most reads.
        if self._loading_timer is not None:
            self._loading_timer.stop()
        self._loading_timer = self.set_timer(self.LOADING_NOTICE_SECONDS, self._show_loading)
        self._load_case(case_id)

    def _show_loading(self) -> None:
        self._loading_timer = None
        for name in self.pane_names()[1:]:
            self.pane_widget(name).border_subtitle = _("loading...")

    def _loaded(self) -> None:
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None

    def _case_changed(self, case_id: int) -> None:
        """A write was refused as stale: show what the case looks like now."""
        if case_id == self._wanted:
            self._select(case_id, immediate=True)
        self.queue.reload()

    @work(thread=True, group="case", exclusive=True, exit_on_error=False)
    def _load_case(self, case_id: int) -> None:
        bundle = self.service.case(case_id)
        if not get_current_worker().is_cancelled:
            self.post_message(CaseLoaded(bundle))

    def on_case_loaded(self, message: CaseLoaded) -> None:
        bundle = message.bundle
        if bundle.case_id != self._wanted:
            return
        self._loaded()
        self.bundle = bundle
        after_load, self._after_load = self._after_load, None
        self.query_one(CaseHeader).show_bundle(bundle, now=self.service.now())
        self.query_one(ContactLogPanel).show(bundle.contacts)
        self._calendar_for_case(bundle)
        self.query_one(AgreementPanel).show(bundle.agreement)
        count = len(bundle.contacts)
        self.pane_widget("contacts").border_subtitle = (
            ngettext(
                "case {case_id}, {count} contact attempt",
                "case {case_id}, {count} contact attempts",
                count,
            ).format(case_id=bundle.case_id, count=count)
            if count
            else _("case {case_id}, no contact attempts yet").format(case_id=bundle.case_id)
        )
        self._calendar_subtitle()
        self.pane_widget("agreement").border_subtitle = _("case {case_id}").format(
            case_id=bundle.case_id
        )
        if after_load is not None and after_load[0] == bundle.case_id:
            after_load[1](bundle)

    def _with_bundle(self, run: Callable[[CaseBundle], None]) -> None:
        """Run ``run`` on the selected case, now or as soon as it has been read.

        So ``n`` ``l`` ``1`` typed in one go works: the dialog opens when the case is there.
        """
        bundle = self.bundle
        if self._wanted is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        if bundle is not None and bundle.case_id == self._wanted:
            run(bundle)
            return
        self._after_load = (self._wanted, run)

    def _after_write(self, case_id: int) -> None:
        """Show what the write changed: the case panes and the queue rows on screen."""
        if case_id == self._wanted:
            self._select(case_id, immediate=True)
        self.queue.reload()
