"""An audit event as a sentence in the interface's language: who did what to which case,
amounts in yuan, times in the office's time zone, codes by their labels.

The stored summary is the record as written (English, for the log); the desk reads the
event's structured data instead, so no code, fen amount or UTC time reaches a screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from tui_desk.formatting import DASH, label, local, money
from tui_desk.i18n import _
from tui_desk.views.supervision import AuditLine

Facts = Mapping[str, Any]


def _time(value: object, timezone: str) -> str:
    if not isinstance(value, str) or not value:
        return DASH
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return DASH
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return local(moment, timezone)


def _yuan(value: object) -> str:
    return money(value) if isinstance(value, int) and not isinstance(value, bool) else DASH


def _code(kind: str, value: object) -> str:
    return label(kind, value) if isinstance(value, str) else DASH


def _payment(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} recorded a payment of {amount} on case {case}").format(
        amount=_yuan(facts.get("amount_minor")), **who
    )


def _lease_release(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} ended {holder}'s hold on case {case}").format(**who)


def _lease_renew(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} kept case {case} until {time}").format(
        time=_time(facts.get("lease_expires_at"), tz), **who
    )


def _document(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} logged a document ({kind}) on case {case}").format(
        kind=_code("document_kind", facts.get("kind")), **who
    )


def _plan(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _(
        "{who} drafted a plan on case {case}: {kind}, {count} instalments, {frequency}, "
        "{amount} a period"
    ).format(
        kind=_code("plan_kind", facts.get("kind")),
        count=facts.get("instalments", DASH),
        frequency=_code("frequency", facts.get("frequency")),
        amount=_yuan(facts.get("monthly_minor")),
        **who,
    )


def _contact(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    text = _("{who} logged a contact on case {case}: {channel}, {outcome}").format(
        channel=_code("channel", facts.get("channel")),
        outcome=_code("outcome", facts.get("outcome")),
        **who,
    )
    if isinstance(facts.get("promise_amount_minor"), int):
        text += " " + _("(promised {amount})").format(
            amount=_yuan(facts.get("promise_amount_minor"))
        )
    return text


def _visit(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} booked a visit on case {case} for {time}").format(
        time=_time(facts.get("starts_at"), tz), **who
    )


def _hold(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} put case {case} on hold: {kind}").format(
        kind=_code("hold_kind", facts.get("kind")), **who
    )


def _override_asked(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    return _("{who} asked for an override of the {rule} rule on case {case}").format(
        rule=_code("rule", facts.get("rule")), **who
    )


def _override_granted(facts: Facts, who: Mapping[str, str], tz: str) -> str:
    # The rule is in the event only when an override was granted (not on a refusal).
    if not isinstance(facts.get("rule"), str):
        return _("{who} refused an override on case {case}").format(**who)
    return _("{who} waived the {rule} rule once on case {case}, until {time}").format(
        rule=_code("rule", facts.get("rule")), time=_time(facts.get("expires_at"), tz), **who
    )


_SENTENCES: dict[str, Callable[[Facts, Mapping[str, str], str], str]] = {
    "payment.record": _payment,
    "case.lease_release": _lease_release,
    "case.lease_renew": _lease_renew,
    "document.add": _document,
    "plan.create": _plan,
    "contact.log": _contact,
    "visit.book": _visit,
    "case.hold.set": _hold,
    "override_request.create": _override_asked,
    "override_request.approve": _override_granted,
    "override_request.reject": _override_granted,
    "contact.override.grant": _override_granted,
}


def audit_sentence(line: AuditLine, timezone: str, names: Mapping[int, str] | None = None) -> str:
    """``line`` told as a sentence; ``names`` names the agents its data refers to by id."""
    who = line.agent_name or line.agent_login or _("the system")
    case = f"#{line.case_id}" if line.case_id is not None else DASH
    facts = line.after or {}
    before = line.before or {}
    holder_id = before.get("lease_holder_id")
    holder = (
        (names or {}).get(holder_id, _("another agent")) if isinstance(holder_id, int) else DASH
    )
    subject = {"who": who, "case": case, "holder": holder}
    build = _SENTENCES.get(line.action)
    if build is not None:
        return build(facts, subject, timezone)
    text = _("{who}: {action}").format(who=who, action=label("action", line.action))
    if line.case_id is not None:
        text += " " + _("(case {case})").format(case=case)
    return text
