"""How the desk spells values: money from minor units, times in the office zone, and the
translated label of every stored code. Widgets, screens, exports and the texts services
write (agreements, messages) share it, so an amount reads the same everywhere.

Labels are keyed by the stored string value (not the model enums) so that widgets stay
free of the database layer; they are marked with ``N_`` and translated when shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from tui_desk.i18n import N_, _
from tui_desk.rules.text import safe_text as safe_text
from tui_desk.rules.text import unsafe_chars as unsafe_chars

DASH = "-"

_SYMBOLS = {"CNY": "¥", "USD": "$"}


def amount(minor: int) -> str:
    """``1234567`` fen -> ``12,345.67``; integer arithmetic, no float rounding."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    return f"{sign}{units:,}.{cents:02d}"


def money(minor: int, currency: str = "CNY") -> str:
    """``1234567`` fen -> ``¥12,345.67`` (the sign before the symbol: ``-¥0.50``)."""
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{amount(abs(minor))}"


def schedule_amounts(amounts_minor: Sequence[int], currency: str = "CNY") -> str:
    """The regular instalments in a few words, never hiding that the amounts change:
    ``12 x ¥4,303.61``, ``11 x ¥4,303.61 + ¥4,303.66``, ``12, ¥4,800.00 down to ¥4,170.00``."""
    if not amounts_minor:
        return DASH
    first, last = amounts_minor[0], amounts_minor[-1]
    count = len(amounts_minor)
    if all(a == first for a in amounts_minor[:-1]):
        if last == first or count == 1:
            return _("{count} x {amount}").format(count=count, amount=money(first, currency))
        return _("{count} x {amount} + {last}").format(
            count=count - 1, amount=money(first, currency), last=money(last, currency)
        )
    return (
        _("{count}, {first} down to {last}").format(
            count=count, first=money(first, currency), last=money(last, currency)
        )
        if last < first
        else _("{count}, {first} up to {last}").format(
            count=count, first=money(first, currency), last=money(last, currency)
        )
    )


def local(ts: dt.datetime | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ts is None:
        return DASH
    return ts.astimezone(ZoneInfo(timezone)).strftime(fmt)


def short_local(ts: dt.datetime | None, timezone: str) -> str:
    return local(ts, timezone, "%m-%d %H:%M")


def day(value: dt.date | None) -> str:
    return value.isoformat() if value else DASH


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def weekday(value: dt.date) -> str:
    return _(WEEKDAYS[value.weekday()])


_LABELS: dict[str, dict[str, str]] = {
    "stage": {
        "new": N_("new"),
        "contacting": N_("contacting"),
        "registered": N_("registered"),
        "documents": N_("documents"),
        "visit_booked": N_("visit booked"),
        "visited": N_("visited"),
        "plan": N_("plan"),
        "agreement": N_("agreement"),
        "follow_up": N_("follow-up"),
        "paid": N_("paid"),
        "archived": N_("archived"),
    },
    "case_status": {"open": N_("open"), "closed": N_("closed")},
    "channel": {
        "phone": N_("phone"),
        "sms": N_("SMS"),
        "email": N_("email"),
        "visit": N_("visit"),
        "letter": N_("letter"),
        "post": N_("post"),
        "in_person": N_("in person"),
    },
    "direction": {"outbound": N_("out"), "inbound": N_("in")},
    "relation": {
        "borrower": N_("borrower"),
        "spouse": N_("spouse"),
        "guarantor": N_("guarantor"),
        "employer": N_("employer"),
        "relative": N_("relative"),
        "other": N_("other"),
    },
    "phone_kind": {"mobile": N_("mobile"), "landline": N_("landline"), "work": N_("work")},
    # Where an SMS is: queued in the outbox until the worker hands it to the gateway.
    "sms_status": {
        "pending": N_("queued"),
        "sending": N_("sending"),
        "sent": N_("sent"),
        "delivered": N_("delivered"),
        "failed": N_("failed"),
    },
    "outcome": {
        "no_answer": N_("no answer"),
        "busy": N_("busy"),
        "left_message": N_("left message"),
        "wrong_number": N_("wrong number"),
        "third_party": N_("third party"),
        "refused": N_("refused"),
        "promise": N_("promise to pay"),
        "agrees_visit": N_("agrees to visit"),
        "callback": N_("call back"),
        "sent": N_("sent"),
        "delivered": N_("delivered"),
        "failed": N_("failed"),
    },
    "appointment_status": {
        "booked": N_("booked"),
        "confirmed": N_("confirmed"),
        "done": N_("done"),
        "rescheduled": N_("rescheduled"),
        "cancelled": N_("cancelled"),
        "no_show": N_("no show"),
    },
    "product": {
        "consumer_loan": N_("consumer loan"),
        "credit_card": N_("credit card"),
        "auto_loan": N_("auto loan"),
        "mortgage": N_("mortgage"),
        "cash_advance": N_("cash advance"),
    },
    "account_status": {
        "current": N_("current"),
        "overdue": N_("overdue"),
        "settled": N_("settled"),
        "written_off": N_("written off"),
    },
    "hold_kind": {
        "dispute": N_("dispute"),
        "litigation": N_("litigation"),
        "deceased": N_("deceased"),
        "bankruptcy": N_("bankruptcy"),
        "complaint": N_("complaint"),
        "cease_contact": N_("cease contact"),
        "false_documents": N_("false documents"),
    },
    "document_kind": {
        "identity": N_("identity"),
        "residence": N_("residence"),
        "income": N_("income"),
        "other": N_("other"),
    },
    "document_status": {
        "received": N_("received"),
        "verified": N_("verified"),
        "rejected": N_("rejected"),
    },
    "plan_kind": {
        "annuity": N_("annuity"),
        "equal_principal": N_("equal principal"),
        "interest_free": N_("interest free"),
    },
    "frequency": {
        "weekly": N_("weekly"),
        "biweekly": N_("every two weeks"),
        "monthly": N_("monthly"),
        "quarterly": N_("quarterly"),
    },
    "grace_mode": {
        "none": N_("no grace"),
        "interest_only": N_("interest only"),
        "capitalised": N_("capitalised"),
    },
    "plan_status": {
        "draft": N_("draft"),
        "active": N_("active"),
        "superseded": N_("superseded"),
        "completed": N_("completed"),
        "broken": N_("broken"),
    },
    "instalment_status": {
        "due": N_("due"),
        "paid": N_("paid"),
        "partial": N_("partly paid"),
        "missed": N_("missed"),
        "upcoming": N_("upcoming"),
    },
    "agreement_status": {
        "draft": N_("draft"),
        "ready": N_("ready to sign"),
        "signed": N_("signed"),
        "void": N_("void"),
    },
    "payment_channel": {
        "bank_transfer": N_("bank transfer"),
        "direct_debit": N_("direct debit"),
        "counter": N_("at the counter"),
        "door": N_("at the door"),
        "card": N_("card"),
        "import": N_("imported"),
    },
    "scope": {"all": N_("all"), "mine": N_("mine"), "unowned": N_("unowned")},
    "side": {"borrower": N_("the borrower"), "bank": N_("the bank")},
    "visit_outcome": {
        "plan_discussed": N_("met: repayment plan discussed"),
        "paid_at_door": N_("met: paid at the door"),
        "borrower_absent": N_("borrower absent"),
        "refused": N_("met: refused"),
        "wrong_address": N_("wrong address"),
    },
    "yes_no": {"yes": N_("yes"), "no": N_("no")},
    "component": {
        "fees": N_("fees"),
        "penalty": N_("penalty"),
        "interest": N_("interest"),
        "principal": N_("principal"),
    },
    "follow_up_status": {
        "scheduled": N_("scheduled"),
        "done": N_("done"),
        "missed": N_("missed"),
        "cancelled": N_("cancelled"),
    },
    "claim_reason": {
        "callback": N_("your callback is due"),
        "owned": N_("your most urgent case"),
        "pool": N_("most urgent unowned case"),
        "stale": N_("stale case, free to take"),
        "opened": N_("opened from the queue"),
    },
    # What an agent did last (audit actions), as the supervisor board shows it.
    "action": {
        "case.claim": N_("took a case"),
        "case.release": N_("released a case"),
        "case.lease_renew": N_("kept a case"),
        "case.lease_release": N_("freed a lease"),
        "case.reassign": N_("reassigned cases"),
        "case.hold.set": N_("put on hold"),
        "case.hold.release": N_("released a hold"),
        "contact.log": N_("logged a contact"),
        "contact.override.grant": N_("granted an override"),
        "override_request.create": N_("asked for an override"),
        "override_request.approve": N_("approved an override"),
        "override_request.reject": N_("refused an override"),
        "payment.record": N_("recorded a payment"),
        "visit.book": N_("booked a visit"),
        "visit.reschedule": N_("moved a visit"),
        "visit.cancel": N_("cancelled a visit"),
        "visit.confirm": N_("confirmed a visit"),
        "visit.report": N_("reported a visit"),
        "plan.create": N_("drafted a plan"),
        "plan.activate": N_("activated a plan"),
        "agreement.draft": N_("drafted an agreement"),
        "agreement.version": N_("edited an agreement"),
        "agreement.ready": N_("readied an agreement"),
        "agreement.sign": N_("signed an agreement"),
        "document.add": N_("added a document"),
        "document.verify": N_("verified a document"),
        "document.reject": N_("rejected a document"),
        "service.register": N_("registered for visits"),
        "phone.add": N_("added a phone"),
        "personal.reveal": N_("revealed data"),
        "sms.queue": N_("sent an SMS"),
        "follow_up.done": N_("did a follow-up"),
        "adjustment.request": N_("asked an adjustment"),
        "complaint.record": N_("recorded a complaint"),
    },
    "role": {
        "operator": N_("operator"),
        "collector": N_("collector"),
        "supervisor": N_("supervisor"),
        "admin": N_("admin"),
    },
}


def label(kind: str, value: str | None) -> str:
    """The translated label of a stored code, e.g. ``label("stage", "visit_booked")``."""
    if value is None:
        return DASH
    text = _LABELS.get(kind, {}).get(value)
    if text:
        return _(text)
    return value if kind == "action" else value.replace("_", " ")
