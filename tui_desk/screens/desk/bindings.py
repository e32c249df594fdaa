"""The desk's keys: one table, every binding with an id, a description and a tooltip.

Letter keys are priority bindings: they act before the next key is dispatched, so keys
that arrive together (typed ahead over a slow SSH link) keep their order. The screen's
``check_action`` hands them back to the search line while it has the focus.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from tui_desk.i18n import N_
from tui_desk.screens.paned import cycle_bindings


def _binding(
    key: str, action: str, description: str, tooltip: str, id: str, *, show: bool = False
) -> Binding:
    letter = len(key) == 1 or key in ("dollar_sign", "slash", "left_square_bracket")
    letter = letter or key in ("right_square_bracket", "r,ctrl+r")
    return Binding(key, action, description, tooltip=tooltip, show=show, id=id, priority=letter)


BINDINGS: list[BindingType] = [
    _binding(
        "f2",
        "show_pane('queue')",
        N_("Queue"),
        N_("Show the queue of the most urgent open cases"),
        "desk.pane.queue",
        show=True,
    ),
    _binding(
        "f3",
        "show_pane('contacts')",
        N_("Contacts"),
        N_("Show the selected case and its contact log"),
        "desk.pane.contacts",
        show=True,
    ),
    _binding(
        "f4",
        "show_pane('calendar')",
        N_("Calendar"),
        N_("Show the visit calendar: a week or a day, the case's collector or all"),
        "desk.pane.calendar",
    ),
    _binding(
        "f5",
        "show_pane('agreement')",
        N_("Agreement"),
        N_("Show the case's repayment plan and agreement"),
        "desk.pane.agreement",
    ),
    _binding(
        "f7",
        "my_day",
        N_("My day"),
        N_("Your day: callbacks, promises, visits, follow-ups, figures and your requests"),
        "desk.my_day",
    ),
    *cycle_bindings("desk.pane"),
    _binding(
        "r,ctrl+r",
        "refresh_desk",
        N_("Refresh"),
        N_("Read the queue and the selected case again"),
        "desk.refresh",
    ),
    # --- working cases
    _binding(
        "n",
        "take_next",
        N_("Next case"),
        N_("Take the next case to work (your due callbacks, your cases, then the pool)"),
        "desk.take_next",
        show=True,
    ),
    # --- the agent's state
    _binding(
        "B",
        "toggle_pause",
        N_("Pause/ready"),
        N_("Pause (with a reason) or be ready again; the header shows your state and its time"),
        "desk.toggle_pause",
    ),
    _binding(
        "E",
        "extend_wrap_up",
        N_("Extend wrap-up"),
        N_("Give the running wrap-up more time (once)"),
        "desk.extend_wrap_up",
    ),
    _binding(
        "N",
        "toggle_auto",
        N_("Auto/manual"),
        N_("Auto mode: when you are ready the next case comes by itself; manual: n takes it"),
        "desk.toggle_auto",
    ),
    _binding(
        "X",
        "skip_case",
        N_("Skip case"),
        N_("Skip the case auto mode just gave you, with a reason (during its preview)"),
        "desk.skip_case",
    ),
    _binding(
        "j",
        "back_to_case",
        N_("Back to case"),
        N_("Back to the case in hand: the queue cursor and the panes return to it"),
        "desk.back_to_case",
    ),
    _binding(
        "L",
        "release_case",
        N_("Release"),
        N_("Release the case in hand for the others (n, c and Enter also move on)"),
        "desk.release",
    ),
    _binding(
        "c",
        "claim",
        N_("Work this case"),
        N_("Work the case under the cursor (or Enter on it): take its lease, show it"),
        "desk.claim",
    ),
    _binding(
        "l",
        "log_contact",
        N_("Log contact"),
        N_("Log a call, SMS or email on the selected case: l then 1-9"),
        "desk.log_contact",
        show=True,
    ),
    _binding(
        "U",
        "undo_contact",
        N_("Undo outcome"),
        N_("Undo your last outcome on the case (a mis-key), within minutes of logging it"),
        "desk.undo_contact",
    ),
    _binding(
        "dollar_sign",
        "case_form('payment')",
        N_("Payment"),
        N_("Record a payment the borrower made"),
        "desk.payment",
    ),
    _binding(
        "x",
        "case_form('hold')",
        N_("Hold"),
        N_("Put the case on hold (dispute, litigation, complaint...); supervisors release one"),
        "desk.hold",
    ),
    _binding(
        "e",
        "case_form('registration')",
        N_("Register"),
        N_("Record the borrower's agreement to the home-visit service"),
        "desk.register",
    ),
    _binding(
        "u",
        "case_form('document')",
        N_("Add document"),
        N_("Record a document the borrower sent"),
        "desk.document.add",
    ),
    _binding(
        "k",
        "case_form('review')",
        N_("Review document"),
        N_("Verify or reject a received document"),
        "desk.document.review",
    ),
    _binding(
        "a",
        "case_form('phone')",
        N_("Add phone"),
        N_("Add a phone number of the borrower or a contact person"),
        "desk.phone.add",
    ),
    _binding(
        "o",
        "case_form('do_not_call')",
        N_("Do-not-call"),
        N_("Mark a phone number do-not-call"),
        "desk.phone.do_not_call",
    ),
    # --- the queue filter
    _binding(
        "slash",
        "search",
        N_("Search"),
        N_("Search the queue: name, phone number or its last digits, id:ID digits, #case"),
        "desk.queue.search",
        show=True,
    ),
    _binding(
        "b",
        "cycle_filter('bucket')",
        N_("Bucket"),
        N_("Show one DPD bucket at a time (1-30, 31-60, 61-90, 91+, all)"),
        "desk.queue.bucket",
    ),
    _binding(
        "s",
        "cycle_filter('stage')",
        N_("Stage"),
        N_("Show one stage at a time, then all"),
        "desk.queue.stage",
    ),
    _binding(
        "m",
        "cycle_filter('scope')",
        N_("Mine/unowned/all"),
        N_("Show all cases, only yours, or only unowned ones"),
        "desk.queue.scope",
    ),
    _binding(
        "p",
        "toggle_filter('broken_only')",
        N_("Broken promises"),
        N_("Only cases with a broken promise to pay"),
        "desk.queue.broken",
    ),
    _binding(
        "d",
        "toggle_filter('due_today')",
        N_("Due today"),
        N_("Only cases whose next action is due today"),
        "desk.queue.due_today",
    ),
    _binding(
        "h",
        "toggle_filter('on_hold')",
        N_("On hold"),
        N_("Only cases on hold (they are left out otherwise)"),
        "desk.queue.on_hold",
    ),
    _binding(
        "g",
        "toggle_filter('registered_only')",
        N_("Registered"),
        N_("Only cases registered for the home-visit service"),
        "desk.queue.registered",
    ),
    _binding(
        "z",
        "toggle_filter('no_next_action')",
        N_("No next action"),
        N_("Only open cases without a next action date, held ones included (none should be)"),
        "desk.queue.no_next_action",
    ),
    _binding(
        "y",
        "grant_override",
        N_("Override"),
        N_("Supervisors: let an agent make one contact attempt a rule forbids on this case"),
        "desk.override",
    ),
    _binding(
        "O",
        "ask_override",
        N_("Ask override"),
        N_("Ask a supervisor to waive a contact rule that refuses contact on this case now"),
        "desk.override.ask",
    ),
    _binding(
        "f",
        "clear_filters",
        N_("Clear filters"),
        N_("Show the whole queue again (filters and search off)"),
        "desk.queue.clear",
    ),
    # --- the calendar and personal data
    _binding(
        "left_square_bracket",
        "period(-1)",
        N_("Earlier"),
        N_("Calendar: the previous week (or day in the day view)"),
        "desk.calendar.previous",
    ),
    _binding(
        "right_square_bracket",
        "period(1)",
        N_("Later"),
        N_("Calendar: the next week (or day in the day view)"),
        "desk.calendar.next",
    ),
    _binding(
        "t",
        "today",
        N_("Today"),
        N_("Calendar: this week (or today in the day view)"),
        "desk.calendar.today",
    ),
    _binding(
        "w",
        "toggle_span",
        N_("Day/week"),
        N_("Calendar: switch between the week and the day view"),
        "desk.calendar.span",
    ),
    _binding(
        "W",
        "toggle_collectors",
        N_("All collectors"),
        N_("Calendar: every collector's visits, or only the case's collector"),
        "desk.calendar.collectors",
    ),
    _binding(
        "V",
        "book_visit",
        N_("Book visit"),
        N_("Book a home visit: V, a digit for a proposed slot, Enter"),
        "desk.visit.book",
    ),
    _binding(
        "P",
        "case_form('plan')",
        N_("Plan"),
        N_("Draft a repayment plan: live schedule, compare two plans, affordability check"),
        "desk.plan",
    ),
    _binding(
        "D",
        "dial",
        N_("Dial"),
        N_("Call the borrower through the phone system (or show the number to dial)"),
        "desk.dial",
    ),
    _binding(
        "S",
        "case_form('sms')",
        N_("SMS"),
        N_("Send a templated SMS (preview, length, contact rules; sent by the worker)"),
        "desk.sms",
    ),
    _binding(
        "H",
        "case_form('adjustment')",
        N_("Hardship"),
        N_("Ask for a hardship adjustment: suspend interest, extend the term, grace periods"),
        "desk.adjustment",
    ),
    _binding(
        "Y",
        "case_form('adjustment_decision')",
        N_("Decide"),
        N_("Supervisors: approve or reject the case's pending adjustment"),
        "desk.adjustment.decide",
    ),
    _binding(
        "C",
        "case_form('complaint')",
        N_("Complaint"),
        N_("Record a complaint about an agent's conduct (routed to supervisors)"),
        "desk.complaint",
    ),
    _binding(
        "K",
        "complaints",
        N_("Complaints"),
        N_("Supervisors: open complaints, investigate, resolve or dismiss"),
        "desk.complaints",
    ),
    _binding(
        "Z",
        "case_form('archive')",
        N_("Archive"),
        N_("Archive a paid or closed case (read-only), or restore an archived one"),
        "desk.archive",
    ),
    _binding(
        "G",
        "case_form('credit')",
        N_("Credit"),
        N_("Supervisors: refund the case's credit (paid beyond what was owed) or apply it"),
        "desk.credit",
    ),
    _binding(
        "F",
        "follow_ups",
        N_("Follow-ups"),
        N_("Follow-ups (回访) due this week and missed ones; Enter marks one done"),
        "desk.follow_ups",
    ),
    _binding(
        "A",
        "agreement",
        N_("Agreement"),
        N_("The case's agreement: draft, special terms, ready, sign, export copies"),
        "desk.agreement",
    ),
    _binding(
        "v",
        "reveal",
        N_("Reveal"),
        N_("Show one full ID number, address or phone number (recorded in the audit log)"),
        "desk.reveal",
    ),
    _binding(
        "i",
        "case_details",
        N_("Whole case"),
        N_("Scroll the case summary when it is taller than its room; again to leave it"),
        "desk.case_details",
    ),
]


_CHARACTERS = {"dollar_sign": "$", "slash": "/"}

CASE_ACTIONS = frozenset(
    {
        "log_contact",
        "dial",
        "book_visit",
        "agreement",
        "grant_override",
        "ask_override",
        *(
            b.action
            for b in BINDINGS
            if isinstance(b, Binding) and b.action.startswith("case_form(")
        ),
    }
)
"""The keys that act on the case in hand (with none, they claim the cursor's row first)."""

KEY_OF_ACTION: dict[str, tuple[str, str]] = {
    b.action: (key, _CHARACTERS.get(key, key))
    for b in BINDINGS
    if isinstance(b, Binding)
    for key in b.key.split(",")[:1]
}
"""The key (name, character) that runs each action, to type it again after a claim."""
