"""The contact log's quick outcomes: one key each, so the common results take <= 3 keys.

Pure data. Outcomes and relations are the string values of ``tui_desk.db.models.Outcome``
and ``Relation`` (both ``StrEnum``): rules never import the database layer, and a
``StrEnum`` member equals its value, so either side can be compared with the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui_desk.i18n import N_, _
from tui_desk.rules.contact import CONNECTED_OUTCOMES

Needs = Literal["none", "promise", "callback"]

BORROWER = "borrower"
OTHER = "other"

# Nobody was reached: there is no party to record.
UNREACHED_OUTCOMES = frozenset({"no_answer", "busy", "failed"})
# Outcomes only an outbound attempt can have. An inbound contact is somebody calling or
# writing in: it was answered, so nobody "did not answer", "was busy" or "was left a
# message", and the delivery states of a message sent by the desk do not apply.
OUTBOUND_ONLY_OUTCOMES = frozenset(
    {"no_answer", "busy", "left_message", "sent", "delivered", "failed"}
)
INBOUND = "inbound"
# The person the number belongs to was reached (or the message was addressed to them).
RIGHT_PARTY_OUTCOMES = frozenset({"refused", "promise", "agrees_visit", "callback"})


@dataclass(frozen=True)
class QuickOutcome:
    """One row of the quick-outcome table.

    ``label`` is marked for translation, not translated: the table is built at import
    time, before the desk has chosen its language; :meth:`text` translates at call time.
    """

    key: str
    outcome: str
    label: str
    connected: bool
    needs: Needs

    def text(self) -> str:
        return _(self.label)


def _quick(key: str, outcome: str, label: str, needs: Needs = "none") -> QuickOutcome:
    # "Connected" is the contact rules' own notion, so the daily cap counts what the
    # operator sees marked as connected here.
    return QuickOutcome(key, outcome, label, outcome in CONNECTED_OUTCOMES, needs)


QUICK_OUTCOMES: tuple[QuickOutcome, ...] = (
    _quick("1", "no_answer", N_("no answer")),
    _quick("2", "busy", N_("busy")),
    _quick("3", "left_message", N_("left a message")),
    _quick("4", "wrong_number", N_("wrong number")),
    _quick("5", "third_party", N_("reached a third party")),
    _quick("6", "refused", N_("reached - refused to pay")),
    _quick("7", "promise", N_("reached - promise to pay"), "promise"),
    _quick("8", "agrees_visit", N_("reached - agrees to a home visit")),
    _quick("9", "callback", N_("callback at a time"), "callback"),
)

_BY_KEY = {q.key: q for q in QUICK_OUTCOMES}
_BY_OUTCOME = {q.outcome: q for q in QUICK_OUTCOMES}


def by_key(key: str) -> QuickOutcome | None:
    """The quick outcome bound to ``key`` ("1".."9"), or None."""
    return _BY_KEY.get(key)


def by_outcome(outcome: str) -> QuickOutcome | None:
    return _BY_OUTCOME.get(outcome)


def needs_of(outcome: str) -> Needs:
    """What else an outcome must come with: a promise (amount, date) or a callback time."""
    quick = _BY_OUTCOME.get(outcome)
    return quick.needs if quick is not None else "none"


def party_for(outcome: str, relation: str | None) -> str | None:
    """Who a contact reached, given its outcome and whose number was used.

    ``relation`` is the number's holder (None when no number was used: the borrower is
    addressed). Nobody is reached by an unanswered call; a wrong number reaches a
    stranger; a third party on the borrower's own number is someone else in the
    household, while on a relative's number it is that relative.
    """
    holder = relation or BORROWER
    if outcome in UNREACHED_OUTCOMES:
        return None
    if outcome == "wrong_number":
        return OTHER
    if outcome == "third_party":
        return OTHER if holder == BORROWER else holder
    return holder


def impossible_contact(direction: str, outcome: str) -> str | None:
    """Why a contact with this direction and outcome cannot have happened, or None."""
    if direction == INBOUND and outcome in OUTBOUND_ONLY_OUTCOMES:
        quick = _BY_OUTCOME.get(outcome)
        shown = quick.text() if quick is not None else outcome
        return _("an inbound contact was answered, so its outcome cannot be {outcome}").format(
            outcome=shown
        )
    return None
