"""How the desk spells values: money from minor units, times in the office zone, and the
translated label of every stored code. Widgets, screens, exports and the texts services
write (agreements, messages) share it, so an amount reads the same everywhere.

Labels are keyed by the stored string value (not the model enums) so that widgets stay
free of the database layer; they are marked with ``N_`` and translated when shown.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tui_desk.i18n import N_, _, current_language
from tui_desk.rules.text import safe_text as safe_text
from tui_desk.rules.text import unsafe_chars as unsafe_chars

if TYPE_CHECKING:
    from babel import Locale

DASH = "-"
NBSP = "\u00a0"
"""A no-break space (narrow, not ambiguous-width): keeps a value such as ``+86 138****8000``
on one line where text wraps."""

# The yuan is written ``¥`` in both languages (Babel's English "CN¥" reads oddly to the
# office); other currencies take Babel's symbol for the interface's language.
_SYMBOLS = {"CNY": "¥"}


@functools.cache
def _babel_locale(language: str) -> Locale:
    """Babel's locale data for an interface language, loaded on first use only (the desk
    starts without it)."""
    from babel import Locale

    return Locale.parse(language)


def _locale() -> Locale:
    return _babel_locale(current_language())


def number(value: int | Decimal, places: int | None = None) -> str:
    """A count or quantity with the language's grouping: ``12,345``; ``places`` fixes the
    decimals (``12,345.60``)."""
    return _number(value, places, current_language())


FORMATTED_KEPT = 2_048
"""Amounts and numbers kept written, per kind: a screen shows a few hundred, drawn again
on every frame. 16,384 of each grew a desk by about 7 MB over its first half hour of
work (a new case, new amounts), memory that stayed."""


@functools.lru_cache(maxsize=FORMATTED_KEPT)
def _number(value: int | Decimal, places: int | None, language: str) -> str:
    # Babel parses its pattern and walks the locale's data on every call (a fraction of a
    # millisecond): the queue draws the same amounts again on every frame, and the seed
    # writes a few million distinct ones into its agreements.
    plain = grouped(value, places, *_separators(language))
    if plain is not None:
        return plain
    from babel.numbers import format_decimal

    pattern = "#,##0" if places is None else "#,##0." + "0" * places
    if places is None and isinstance(value, Decimal) and value != value.to_integral_value():
        pattern = "#,##0.###"
    return str(format_decimal(value, format=pattern, locale=_babel_locale(language)))


# Babel's group and decimal symbols for the interface's own languages, so that drawing an
# amount needs no locale data (about 4 MB and 10 ms the desk would load on its first
# frame); a test holds them equal to Babel's. Any other language asks Babel.
_SEPARATORS = {"en": (",", "."), "zh_CN": (",", ".")}


@functools.cache
def _separators(language: str) -> tuple[str, str]:
    known = _SEPARATORS.get(language)
    if known is not None:
        return known
    from babel.numbers import get_decimal_symbol, get_group_symbol

    locale = _babel_locale(language)
    return str(get_group_symbol(locale)), str(get_decimal_symbol(locale))


def grouped(value: int | Decimal, places: int | None, group: str, point: str) -> str | None:
    """What Babel's ``#,##0`` / ``#,##0.00`` patterns make of a whole number, or of a
    decimal with at most ``places`` decimals (so nothing is rounded), with the locale's
    separators; None for any other value (Babel decides those)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        scaled, negative = value * 10 ** (places or 0), value < 0
    elif places is None or not value.is_finite():
        return None
    else:
        shifted = value.scaleb(places)
        if shifted != shifted.to_integral_value():
            return None
        scaled, negative = int(shifted), value.is_signed()
    digits = str(abs(scaled))
    if places:
        digits = digits.rjust(places + 1, "0")
        whole, fraction = digits[:-places], point + digits[-places:]
    else:
        whole, fraction = digits, ""
    text = f"{int(whole):,}"
    if group != ",":
        text = text.replace(",", group)
    return ("-" if negative else "") + text + fraction


def amount(minor: int) -> str:
    """``1234567`` fen -> ``12,345.67``; exact decimal arithmetic, never a float."""
    if type(minor) is int:
        return _amount(minor, current_language())
    return number(Decimal(minor).scaleb(-2), places=2)


@functools.lru_cache(maxsize=FORMATTED_KEPT)
def _amount(minor: int, language: str) -> str:
    # What ``number(Decimal(minor).scaleb(-2), places=2)`` writes, in integer arithmetic.
    group, point = _separators(language)
    whole, cents = divmod(abs(minor), 100)
    text = f"{whole:,}"
    if group != ",":
        text = text.replace(",", group)
    return ("-" if minor < 0 else "") + text + point + f"{cents:02d}"


def currency_symbol(currency: str = "CNY") -> str:
    symbol = _SYMBOLS.get(currency)
    if symbol is None:
        from babel.numbers import get_currency_symbol

        symbol = str(get_currency_symbol(currency, locale=_locale()))
        if symbol == currency:
            symbol += " "
    return symbol


def money(minor: int, currency: str = "CNY") -> str:
    """``1234567`` fen -> ``¥12,345.67`` (the sign before the symbol: ``-¥0.50``)."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{currency_symbol(currency)}{amount(abs(minor))}"


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal (``12.5%``), ``-`` of nothing."""
    if not whole:
        return DASH
    from babel.numbers import format_percent

    value = Decimal(part) / Decimal(whole)
    return str(format_percent(value, format="#,##0.0%", locale=_locale()))


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


# The few strftime directives the desk uses, as CLDR patterns: callers keep writing
# ``"%m-%d %H:%M"`` and Babel renders it in the interface's language.
_DIRECTIVES = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%a": "EEE",
    "%Z": "zzz",
}
_DIRECTIVE = re.compile(r"%[A-Za-z]|[A-Za-z']+")


@functools.cache
def _pattern(fmt: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("%"):
            return _DIRECTIVES[token]
        return "'" + token.replace("'", "''") + "'"

    return _DIRECTIVE.sub(one, fmt)


def local(ts: dt.datetime | None, timezone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``ts`` in the office's time zone (``timezone``), as ``fmt`` says (strftime
    directives, rendered by Babel in the interface's language)."""
    if ts is None:
        return DASH
    moment = ts.astimezone(ZoneInfo(timezone))
    digits = _digits_only(fmt)
    if digits is not None and current_language() in _SEPARATORS:
        return digits.format(moment)
    from babel.dates import format_datetime

    return str(format_datetime(moment, _pattern(fmt), tzinfo=moment.tzinfo, locale=_locale()))


# The directives whose CLDR pattern is only digits, the same in the interface's languages
# (Latin digits, zero-padded): written without Babel. A test compares them with Babel's.
_DIGITS = {
    "%Y": "{0.year:04d}",
    "%m": "{0.month:02d}",
    "%d": "{0.day:02d}",
    "%H": "{0.hour:02d}",
    "%M": "{0.minute:02d}",
    "%S": "{0.second:02d}",
}


@functools.cache
def _digits_only(fmt: str) -> str | None:
    """``fmt`` as a ``str.format`` template when every directive in it is a number (the
    rest is copied as it stands); None when one needs the language (``%a``, ``%Z``)."""
    parts: list[str] = []
    pos = 0
    for match in re.finditer(r"%[A-Za-z]", fmt):
        field = _DIGITS.get(match.group(0))
        if field is None:
            return None
        parts.append(fmt[pos : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append(field)
        pos = match.end()
    parts.append(fmt[pos:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


def short_local(ts: dt.datetime | None, timezone: str) -> str:
    return local(ts, timezone, "%m-%d %H:%M")


def time_of_day(ts: dt.datetime, timezone: str) -> str:
    return local(ts, timezone, "%H:%M")


def when(
    ts: dt.datetime | None, timezone: str, now: dt.datetime | None = None, *, short: bool = False
) -> str:
    """Office time with the date only when it is not today's: ``08:00`` today, else
    ``2026-11-29 08:00`` (``short``: ``11-29 08:00`` within ``now``'s year)."""
    if ts is None:
        return DASH
    if now is not None:
        zone = ZoneInfo(timezone)
        at, today = ts.astimezone(zone), now.astimezone(zone)
        if at.date() == today.date():
            return local(ts, timezone, "%H:%M")
        if short and at.year == today.year:
            return local(ts, timezone, "%m-%d %H:%M")
    return local(ts, timezone, "%m-%d %H:%M" if short and now is None else "%Y-%m-%d %H:%M")


def day(value: dt.date | None) -> str:
    return value.isoformat() if value else DASH


def month_day(value: dt.date, today: dt.date | None = None) -> str:
    """``12-08``, with the year when it is not ``today``'s: ``2025-12-08``."""
    if today is not None and value.year != today.year:
        return value.isoformat()
    return f"{value.month:02d}-{value.day:02d}"


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
        "adjustment.approve": N_("approved an adjustment"),
        "adjustment.reject": N_("refused an adjustment"),
        "adjustment.early_settlement": N_("settled early"),
        "agent.activate": N_("reactivated an agent"),
        "agent.add": N_("added an agent"),
        "agent.deactivate": N_("deactivated an agent"),
        "agent.schedule": N_("changed working hours"),
        "agreement.delivery": N_("recorded an original's delivery"),
        "agreement.export": N_("exported an agreement"),
        "agreement.print": N_("printed an agreement"),
        "borrower.id_number": N_("corrected an ID number"),
        "case.archive": N_("archived a case"),
        "case.restore": N_("restored a case"),
        "case.hold.expire": N_("a hold ended"),
        "complaint.investigating": N_("took up a complaint"),
        "complaint.resolved": N_("resolved a complaint"),
        "complaint.dismissed": N_("dismissed a complaint"),
        "complaint.open": N_("reopened a complaint"),
        "contact.undo": N_("undid a contact"),
        "credit.refund": N_("refunded a credit"),
        "credit.apply": N_("applied a credit"),
        "contact.dial": N_("dialled a number"),
        "contact.dial.placed": N_("a call was placed"),
        "contact.dial.failed": N_("a call failed"),
        "contact.dial.unconfirmed": N_("a call went unconfirmed"),
        "follow_up.missed": N_("a follow-up was missed"),
        "follow_up.reassign": N_("handed over a follow-up"),
        "import.batch": N_("imported cases"),
        "ledger.figures": N_("checked the ledger"),
        "meta.set": N_("changed a setting"),
        "phone.do_not_call": N_("marked do-not-call"),
        "phone.verified": N_("verified a phone"),
        "plan.missed_instalments": N_("instalments were missed"),
        "priority.refresh": N_("refreshed priorities"),
        "promise.broken": N_("a promise was broken"),
        "strategy.action": N_("a contact strategy acted"),
        "sms.defer": N_("deferred an SMS"),
        "sms.delivered": N_("an SMS was delivered"),
        "sms.failed": N_("an SMS failed"),
        "sms.retry": N_("retried an SMS"),
        "sms.sent": N_("an SMS was sent"),
        "template.install": N_("installed a template"),
        "visit.day_sheet": N_("printed a day sheet"),
        "visit.reconcile": N_("reconciled visit money"),
        "agent.state": N_("changed state"),
        "case.skip": N_("skipped a case"),
    },
    # The contact rules an override waives, in a few words.
    "rule": {
        "quiet_hours": N_("quiet hours"),
        "daily_call_cap": N_("daily call cap"),
        "weekly_call_cap": N_("weekly call cap"),
        "after_conversation": N_("rest after a conversation"),
        "third_party": N_("third party"),
        "daily_sms_cap": N_("daily SMS cap"),
        "do_not_call": N_("do not call"),
        "hold": N_("hold"),
        "daily_ceiling": N_("daily ceiling"),
        "callback_booked": N_("callback already booked"),
        "no_phone": N_("no phone number"),
        "template": N_("SMS template"),
        "archived": N_("archived"),
    },
    # What a contact strategy does (profile [[strategies]] actions).
    "strategy_action": {
        "sms": N_("SMS"),
        "callback": N_("callback"),
        "raise_priority": N_("raise priority"),
    },
    "strategy_status": {"done": N_("done"), "refused": N_("refused")},
    "complaint_status": {
        "open": N_("open"),
        "investigating": N_("investigating"),
        "resolved": N_("resolved"),
        "dismissed": N_("dismissed"),
    },
    # The parts of a case's priority score ("why" it ranks there: ``dpd+100 amount+45``).
    "why": {
        "dpd": N_("days overdue"),
        "amount": N_("amount"),
        "broken": N_("broken promises"),
        "due": N_("due"),
        "strategy": N_("contact strategy"),
    },
    # The bank's standard agreement forms, by their stored name.
    "template": {"repayment": N_("repayment form")},
    "adjustment_kind": {
        "suspend_interest": N_("suspend interest"),
        "extend_term": N_("extend the term"),
        "grace_period": N_("grace period"),
        "early_settlement": N_("early settlement"),
    },
    # Agent states (``agent_state_span``), pause and skip reasons (profile ``[states]``).
    "agent_state": {
        "ready": N_("ready"),
        "paused": N_("paused"),
        "working": N_("working"),
        "wrap_up": N_("wrap-up"),
        "offline": N_("offline"),
    },
    "pause_reason": {
        "break": N_("break"),
        "meal": N_("meal"),
        "training": N_("training"),
        "meeting": N_("meeting"),
        "coaching": N_("coaching"),
        "system_problem": N_("system problem"),
    },
    "skip_reason": {
        "needs_supervisor": N_("needs a supervisor"),
        "borrower_asked_later": N_("borrower asked for later"),
        "wrong_queue": N_("wrong queue"),
        "other": N_("other"),
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
    # An unknown code still reads as words, never as ``a.b_c``.
    return value.replace(".", " ").replace("_", " ")


def why(reason: str | None) -> str:
    """A priority reason (``dpd+100 amount+45``) in words: ``days overdue +100, amount +45``."""
    if not reason:
        return DASH
    parts = []
    for part in reason.split():
        name, plus, value = part.partition("+")
        parts.append(f"{label('why', name)} +{value}" if plus else label("why", part))
    return _(", ").join(parts)


def labels(kind: str, values: str | Sequence[str]) -> str:
    """Several codes (a list, or a comma-separated string) as their labels, comma-joined."""
    items = values.split(",") if isinstance(values, str) else list(values)
    return _(", ").join(label(kind, v.strip()) for v in items if v.strip())
