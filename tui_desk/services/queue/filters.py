"""What the operator asks the queue for: the scope, the filters and the search text."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from tui_desk.db.models import Stage
from tui_desk.i18n import _
from tui_desk.rules.phones import normalise_phone
from tui_desk.rules.search import parse_query, reverse_digits

# Fewer digits than this match too many numbers to be a search (and "8" is not a query).
MIN_SUFFIX = 4


class Scope(enum.StrEnum):
    ALL = "all"
    MINE = "mine"
    UNOWNED = "unowned"


SearchKind = Literal["none", "case_id", "phone", "phone_suffix", "id_tail", "name", "too_short"]


@dataclass(frozen=True)
class Search:
    kind: SearchKind
    text: str  # the case id, reversed digits, or the name, by kind
    shown: str  # what describe() quotes


def read_search(raw: str, region: str) -> Search:
    parsed = parse_query(raw)
    if parsed.kind == "empty":
        return Search("none", "", "")
    if parsed.kind == "case_id":
        return Search("case_id", str(int(parsed.text)), parsed.text)
    if parsed.kind == "id_tail":
        rev = reverse_digits(parsed.text)
        if len(rev) < MIN_SUFFIX:
            return Search("too_short", "id", parsed.text)
        return Search("id_tail", rev, parsed.text)
    if parsed.kind == "phone":
        check = normalise_phone(parsed.text, region)
        if check.ok and check.e164:
            return Search("phone", reverse_digits(check.e164), check.e164)
        digits = "".join(ch for ch in parsed.text if ch.isdigit())
        if len(digits) < MIN_SUFFIX:
            return Search("too_short", "phone", digits)
        return Search("phone_suffix", digits[::-1], digits)
    return Search("name", parsed.text, parsed.text)


@dataclass(frozen=True)
class QueueFilter:
    """What the operator asked to see. With ``search`` set, only ``on_hold`` still applies."""

    scope: Scope = Scope.ALL
    bucket: str | None = None
    stage: Stage | None = None
    broken_only: bool = False
    due_today: bool = False
    # False: held cases are left out (a held case leaves the contact queue); True: only
    # held cases. Cases in follow-up are left out like held ones unless ``stage`` (or
    # ``on_hold``) asks for them.
    on_hold: bool = False
    registered_only: bool = False
    # Only open cases without a next action date (orphans), held ones included.
    no_next_action: bool = False
    search: str = ""

    def describe(self, *, region: str = "CN") -> str:
        """A short summary for the status line (says when a search needs more input).

        ``region``: the profile's country, which numbers typed without a country code
        belong to (the same reading the search itself makes).
        """
        if self.search.strip():
            found = read_search(self.search, region)
            if found.kind == "too_short":
                what = (
                    _("type at least {n} digits").format(n=MIN_SUFFIX)
                    if found.text == "phone"
                    else _("type at least {n} characters of the ID").format(n=MIN_SUFFIX)
                )
            elif found.kind == "case_id":
                what = _("case #{case_id}").format(case_id=found.shown)
            elif found.kind == "phone":
                what = _("phone {number}").format(number=found.shown)
            elif found.kind == "phone_suffix":
                what = _("phone ending {digits}").format(digits=found.shown)
            elif found.kind == "id_tail":
                what = _("ID ending {tail}").format(tail=found.shown)
            else:
                what = _('name "{name}"').format(name=found.shown)
            parts = [_("search: {what}").format(what=what)]
            if self.on_hold:
                parts.append(_("on hold only"))
            return " | ".join(parts)
        scope = {
            Scope.ALL: _("all open cases"),
            Scope.MINE: _("my cases"),
            Scope.UNOWNED: _("unowned cases"),
        }[self.scope]
        parts = [scope]
        if self.bucket:
            parts.append(_("{bucket} days past due").format(bucket=self.bucket))
        if self.stage is not None:
            parts.append(_("stage: {stage}").format(stage=self.stage.value))
        if self.broken_only:
            parts.append(_("broken promises"))
        if self.due_today:
            parts.append(_("due today"))
        if self.registered_only:
            parts.append(_("registered"))
        if self.no_next_action:
            parts.append(_("no next action"))
        if self.on_hold:
            parts.append(_("on hold only"))
        return " | ".join(parts)
