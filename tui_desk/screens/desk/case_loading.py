"""The case in hand: which case the panes show, reading it, and the keys typed ahead.

With a case in hand (the operator holds its lease) the panes show that case and the
case keys act on it, wherever the queue cursor goes; searching, filtering and paging
move only the cursor. With none, the panes follow the cursor (holding an arrow key
reads only where it comes to rest) and a case key on a row first claims that row.

Keys typed while a claim or the case in hand's read is under way are kept, in order,
and replayed once it is there, so ``n l 1`` typed in one go logs the contact on the
case ``n`` took; a key that can no longer apply (the claim failed) is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import events, work
from textual.widgets import Input
from textual.worker import get_current_worker

from tui_desk.domain import CaseStatus
from tui_desk.i18n import _, ngettext
from tui_desk.messages import CaseLoaded, CaseSelected
from tui_desk.screens.desk.bindings import KEY_OF_ACTION
from tui_desk.screens.desk.host import Typed
from tui_desk.views.case import CaseBundle
from tui_desk.widgets.agreement_panel import AgreementPanel
from tui_desk.widgets.case_header import CaseHeader
from tui_desk.widgets.contact_log import ContactLogPanel


class ReplayedKey(events.Key):
    """A key typed while the desk waited for a case, typed again now that it is there.

    Handled as any key (``on_key``); the desk knows not to keep it a second time.
    """

    handler_name = events.Key.handler_name


if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class CaseLoading(_Host):
    """Select, read and show the case; run keys on it once it is there."""

    def on_case_selected(self, message: CaseSelected) -> None:
        if message.opened:
            # Enter on a row works the case, as ``c`` does.
            if self.in_hand is not None and self.in_hand.case_id == message.case_id:
                self.action_back_to_case()
            else:
                self._claim(message.case_id)
            return
        if self.in_hand is not None or self.claim_in_flight:
            return  # the cursor moves; the panes stay on the case in hand
        self._select(message.case_id, immediate=False)

    # --- keys typed ahead ----------------------------------------------------------------

    @property
    def load_in_flight(self) -> bool:
        """The case in hand is being read (after its claim, or for a key on it)."""
        return self._hand_loading and self.in_hand is not None

    @property
    def waiting_for_case(self) -> bool:
        """A claim or the case in hand's read is under way: case keys must wait."""
        return self.claim_in_flight or self.load_in_flight

    @property
    def typing_ahead(self) -> bool:
        """Keys are kept for later: the desk waits for a case or replays kept keys."""
        return (self.waiting_for_case or self._replaying) and not self._replaying_key

    def on_key(self, event: events.Key) -> None:
        # The search line's own keys (Escape, Enter) are its business, typed ahead or not.
        if isinstance(event, ReplayedKey) or isinstance(self.focused, Input):
            return
        if self.typing_ahead:
            event.stop()
            event.prevent_default()
            self._typeahead.append(Typed(event.key, event.character))

    def take_typed(self, keys: list[tuple[str, str | None]]) -> None:
        """Keys typed while a form on this desk saved: typed again, in order, after it."""
        self._typeahead.extend(Typed(key, character) for key, character in keys)
        self.call_later(self._replay_typeahead)

    def _replay_typeahead(self) -> None:
        """Type the kept keys again, in order, now that the case in hand is there.

        One at a time: a form a key opens gets the keys after it; while that form saves,
        the rest wait (a saving form takes no keys), then go to it or to the desk.
        """
        if self._replaying or not self._typeahead:
            return
        self._replaying = True
        self._replay_next()

    def _replay_next(self) -> None:
        if not self.is_attached or self not in self.app.screen_stack:
            self._typeahead = []  # the desk is closing: nothing more to type
        if self.waiting_for_case or not self._typeahead:
            # A replayed n (or a case key on another case) started a claim: the keys
            # still kept wait for it, and the replay starts again when it is there.
            self._replaying = False
            return
        top = self.app.screen_stack[-1]
        if top is not self:
            self._replay_in_form = True
            if getattr(top, "saving", False):
                self.set_timer(self.REPLAY_WAIT_SECONDS, self._replay_next)
                return
        elif self._replay_in_form:
            # The form just closed: let it go and its saved callback run (which reads
            # the case again) before the next key reaches the desk.
            self._replay_in_form = False
            self.set_timer(self.REPLAY_WAIT_SECONDS, self._replay_next)
            return
        typed = self._typeahead.pop(0)
        self._replaying_key = True
        self.app.post_message(ReplayedKey(typed.key, typed.character))
        self.app.call_later(self._replayed)

    def _replayed(self) -> None:
        self._replaying_key = False
        if self.is_attached:
            self.call_later(self._replay_next)

    def _drop_typeahead(self, reason: str) -> None:
        typed, self._typeahead = self._typeahead, []
        if typed:
            keys = " ".join(k.character or k.key for k in typed)
            self.notify(
                _("Keys typed ahead not applied ({reason}): {keys}").format(
                    reason=reason, keys=keys
                ),
                severity="warning",
                markup=False,
            )

    def action_case_details(self) -> None:
        """The case summary takes the focus, so its lines out of sight can be scrolled to."""
        header = self.query_one(CaseHeader)
        if header.has_focus:
            self._show("contacts")
            return
        self._show("contacts", focus=False)
        header.focus_details(True)

    def _with_case(self, action: str, run: Callable[[CaseBundle], None]) -> None:
        """Run ``run`` on the case in hand as it is now (the key's moment).

        With no case in hand, the cursor's row is claimed first and the key acts on it
        once it has been read; a refused claim says why.
        """
        hand, bundle = self.in_hand, self.bundle
        if hand is None:
            case_id = self.queue.case_id
            if case_id is None:
                self.notify(_("Select a case first."), severity="warning")
                return
            if (
                bundle is not None
                and bundle.case_id == case_id
                and bundle.detail.status is not CaseStatus.OPEN
            ):
                run(bundle)  # a closed case is read, not worked: archive and restore it
                return
            key = KEY_OF_ACTION.get(action)
            if key is not None:
                self._typeahead.insert(0, Typed(key[0], key[1]))
            self._claim(case_id)
            return
        if bundle is None or bundle.case_id != hand.case_id:
            # The panes show another case (opened from a list): read the case in hand
            # again and let the key act on it then.
            key = KEY_OF_ACTION.get(action)
            if key is not None:
                self._typeahead.append(Typed(key[0], key[1]))
            self._hand_loading = True
            self._select(hand.case_id, immediate=True)
            return
        run(bundle)

    def _select(self, case_id: int, *, immediate: bool) -> None:
        if case_id == self._wanted and not immediate:
            return
        hand = self.in_hand
        if self.load_in_flight and hand is not None and case_id != hand.case_id:
            return  # keys typed ahead wait for the case in hand: it is read first
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
        self._start_loading_notice()
        self._load_case(case_id)

    def _start_loading_notice(self) -> None:
        # "loading..." only if the read is slow: repainting the side panes' borders for
        # nothing costs more than most reads.
        if self._loading_timer is not None:
            self._loading_timer.stop()
        self._loading_timer = self.set_timer(self.LOADING_NOTICE_SECONDS, self._show_loading)

    def _show_loading(self) -> None:
        self._loading_timer = None
        for name in self.pane_names()[1:]:
            self.set_pane_subtitle(name, _("loading..."))

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
        if self._claim_frame_pending:
            self._held_back = message  # drawn once the claim is on screen (_claim_drawn)
            return
        self._loaded()
        self.bundle = bundle
        after_load, self._after_load = self._after_load, None
        hand = self.in_hand
        if hand is not None and hand.case_id == bundle.case_id:
            self.in_hand = replace(hand, borrower_name=bundle.detail.borrower_name)
            self._hand_loading = False
        if self._held_writes:
            # After the frame that shows the case (drawn within a few frame periods):
            # ``call_after_refresh`` may run before it, the screen's updates being paced.
            if self._held_timer is not None:
                self._held_timer.stop()
            self._held_timer = self.set_timer(
                self.HELD_AFTER_LOAD_SECONDS, self._release_held_writes
            )
        self.query_one(CaseHeader).show_bundle(bundle, in_hand=self.in_hand, now=self.service.now())
        self.query_one(ContactLogPanel).show(bundle.contacts)
        self._calendar_for_case(bundle)
        self.query_one(AgreementPanel).show(bundle.agreement)
        # A strategy's own lines (a callback booked, a refusal) are not contact attempts.
        count = sum(1 for c in bundle.contacts if c.auto_id is None)
        self.set_pane_subtitle(
            "contacts",
            ngettext(
                "case {case_id}, {count} contact attempt",
                "case {case_id}, {count} contact attempts",
                count,
            ).format(case_id=bundle.case_id, count=count)
            if count
            else _("case {case_id}, no contact attempts yet").format(case_id=bundle.case_id),
        )
        self._calendar_subtitle()
        subtitle = _("case {case_id}").format(case_id=bundle.case_id)
        files = self.files_went
        if files is not None and files[0] == bundle.case_id:
            subtitle += " | " + files[1]  # where the case's exported copies went
        self.set_pane_subtitle("agreement", subtitle)
        if after_load is not None and after_load[0] == bundle.case_id:
            after_load[1](bundle)
        if not self.waiting_for_case:
            self._replay_typeahead()

    # --- background writes while the claimed case is read --------------------------------

    def _after_claimed_case(self, run: Callable[[], None]) -> None:
        """Run ``run`` (a background write a claim starts: presence, the agent's state)
        once the claimed case's panes are drawn, or now when no claimed case is being read.

        Those writes are not waited for by anyone, but run beside the case's read they
        slow it down (one interpreter lock, one database): the case comes first. They
        wait ``HOLD_WRITES_SECONDS`` at most, and run in the order they were asked for.
        """
        if not self.load_in_flight:
            run()
            return
        self._held_writes.append(run)
        if self._held_timer is None:
            self._held_timer = self.set_timer(self.HOLD_WRITES_SECONDS, self._release_held_writes)

    def _release_held_writes(self) -> None:
        if self._held_timer is not None:
            self._held_timer.stop()
            self._held_timer = None
        held, self._held_writes = self._held_writes, []
        for run in held:
            run()

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
        """Show what the write changed: the case panes and the queue rows on screen.

        Keys typed meanwhile on the case in hand wait for it to be read again (they
        would act on the version before the write and be refused as stale).
        """
        hand = self.in_hand
        if hand is not None and hand.case_id == case_id:
            self._hand_loading = True
            self._select(case_id, immediate=True)
        elif case_id == self._wanted:
            self._select(case_id, immediate=True)
        self.queue.reload()
