"""The case header: who the borrower is (masked), what is owed, and where the case stands."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_desk.formatting import DASH, NBSP, day, label, local, money, time_of_day
from tui_desk.formatting import when as formatting_when
from tui_desk.formatting import why as why_text
from tui_desk.i18n import N_, _
from tui_desk.views.case import CaseBundle, CaseDetail
from tui_desk.views.hand import CaseInHand
from tui_desk.widgets.bindings import localise_bindings
from tui_desk.widgets.in_place import update_in_place

if TYPE_CHECKING:
    from tui_desk.views.contacts import ContactStatus


def when_text(at: dt.datetime, timezone: str, now: dt.datetime | None = None) -> str:
    """``08:00`` today, ``tomorrow 08:00``, else ``11-29 08:00`` (office time)."""
    if now is not None:
        zone = ZoneInfo(timezone)
        days = (at.astimezone(zone).date() - now.astimezone(zone).date()).days
        if days == 1:
            return _("tomorrow {time}").format(time=time_of_day(at, timezone))
    return formatting_when(at, timezone, now, short=True)


def contact_status_text(
    status: ContactStatus, timezone: str, now: dt.datetime | None = None
) -> Text:
    """ "may contact now", or "not now: <reason> until <time> (<rule>)"."""
    t = Text()
    if status.allowed:
        t.append(_("may contact now"), style="bold green")
        return t
    t.append(_("not now") + ": ", style="bold red")
    t.append(status.reason or DASH)
    if status.allowed_from is not None:
        t.append(" " + _("until {time}").format(time=when_text(status.allowed_from, timezone, now)))
    if status.rule:
        t.append(f" ({label('rule', status.rule)})", style="dim")
    return t


class CaseHeader(VerticalScroll):
    """A compact, read-only summary of the selected case, below the case in hand.

    The case in hand has a line of its own: moving the pin from one case to the next
    draws that line again, not the whole summary.

    On a small terminal the summary can be taller than its room (phones, several loans):
    it then scrolls, and its bottom edge says so and names the key that reaches the rest
    (the desk's ``i`` gives it the focus; the arrows scroll it).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "leave_details",
            N_("Back to the contact log"),
            tooltip=N_("Leave the case summary for the contact log"),
            show=False,
            id="desk.case_details.leave",
        ),
    ]

    def __init__(self, *, timezone: str, id: str | None = None) -> None:
        super().__init__(id=id, can_focus=False)
        localise_bindings(self)
        self.timezone = timezone
        self.detail: CaseDetail | None = None
        self.bundle: CaseBundle | None = None
        self.now: dt.datetime | None = None
        self.in_hand: CaseInHand | None = None
        self.lost: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="case-pin")
        yield Static(id="case-detail")

    def on_mount(self) -> None:
        self.show(None)

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_cue)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._show_cue()

    def focus_details(self, on: bool) -> None:
        """Give the summary the focus (``on``) so the arrows scroll it, or take it back."""
        self.can_focus = on
        if on:
            self.focus()
        self._show_cue()

    def action_leave_details(self) -> None:
        self.screen.focus_next()

    def on_blur(self) -> None:
        self.can_focus = False
        self._show_cue()

    def _show_cue(self) -> None:
        """Name what is out of sight on the bottom edge: nothing when everything shows."""
        below = self.max_scroll_y - round(self.scroll_y)
        above = round(self.scroll_y)
        if self.has_focus:
            cue = _("arrows scroll, i or Esc returns")
            if below > 0:
                cue = _("{n} more lines below").format(n=below) + " | " + cue
        elif below > 0:
            cue = _("{n} more lines below: i shows them").format(n=below)
        elif above > 0:
            cue = _("{n} lines above: i shows them").format(n=above)
        else:
            cue = ""
        if cue != self.border_subtitle:
            self.border_subtitle = cue

    def pin(
        self, in_hand: CaseInHand | None, now: dt.datetime | None = None, lost: str | None = None
    ) -> None:
        """The case in hand, on the header's first line whatever case is shown below
        (``lost``: why the case in hand was dropped)."""
        self.in_hand = in_hand
        self.lost = lost if in_hand is None else None
        if now is not None:
            self.now = now
        detail = self.detail
        if in_hand is not None and detail is not None and detail.case_id != in_hand.case_id:
            # A claim of another case: its own summary follows in a moment, and the one
            # shown reads the same either way (the lease it names is the one it read).
            self._show_pin()
            return
        self.show(detail)

    def show(self, detail: CaseDetail | None) -> None:
        if self.scroll_y and (detail and detail.case_id) != (self.detail and self.detail.case_id):
            self.scroll_home(animate=False)  # another case: its summary from the top
        self.detail = detail
        self._show_pin()  # the name on it comes from the detail
        # The summary says who works the case and until when, which the pin can change;
        # most moves of the pin leave it as it is, and then it is not drawn again.
        update_in_place(
            self.query_one("#case-detail", Static),
            self._render_detail(detail) if detail else Text(_("No case selected."), "dim"),
        )
        self.call_after_refresh(self._show_cue)

    def _show_pin(self) -> None:
        line = self._pinned_line()
        pin = self.query_one("#case-pin", Static)
        if bool(line.plain) != pin.display:
            pin.display = bool(line.plain)
        update_in_place(pin, line)

    def _pinned_line(self) -> Text:
        t = Text()
        hand = self.in_hand
        if hand is None:
            if self.lost:
                t.append(self.lost, style="bold red")
            return t
        t.append(_("In hand") + " ", style="dim")
        name = hand.borrower_name or (
            self.detail.borrower_name
            if self.detail is not None and self.detail.case_id == hand.case_id
            else ""
        )
        t.append(f"#{hand.case_id} {name}".rstrip(), style="bold reverse")
        t.append(
            " "
            + _("until {time}").format(time=when_text(hand.lease_until, self.timezone, self.now))
        )
        if hand.reason:
            t.append(" | " + label("claim_reason", hand.reason), style="dim")
        return t

    def show_bundle(
        self, bundle: CaseBundle, *, in_hand: CaseInHand | None, now: dt.datetime | None = None
    ) -> None:
        """The case with its contact status line (whether the borrower may be called now),
        below the case in hand (``pin``)."""
        self.bundle = bundle
        self.now = now
        self.in_hand = in_hand
        if in_hand is not None:
            self.lost = None
        self.show(bundle.detail)

    @property
    def text(self) -> str:
        """What the header shows, line by line (the case in hand first, when there is one)."""
        parts = [self._pinned_line().plain]
        parts.append(str(self.query_one("#case-detail", Static).content))
        return "\n".join(p for p in parts if p)

    def _contact_line(self, t: Text) -> None:
        bundle = self.bundle
        if bundle is None or self.detail is None or bundle.case_id != self.detail.case_id:
            return
        t.append(_("Contact") + " ", style="dim")
        if bundle.contact_status is not None:
            t.append_text(contact_status_text(bundle.contact_status, self.timezone, self.now))
        else:
            t.append(bundle.status_problem or _("unknown"), style="bold red")
        t.append("\n")

    def _render_detail(self, d: CaseDetail) -> Text:
        t = Text()

        def field(name: str, value: str, style: str = "") -> None:
            t.append(name + " ", style="dim")
            t.append(value, style=style)
            t.append("  ")

        t.append(f"#{d.case_id} ", style="bold")
        t.append(d.borrower_name, style="bold")
        t.append("  ")
        # A profile may file a borrower without an identity document (the US one does).
        field(_("ID"), d.id_number or DASH)
        field(_("Stage"), label("stage", d.stage), "bold")
        field(_("DPD"), f"{d.dpd} ({d.bucket})")
        t.append("\n")
        self._contact_line(t)
        # Who works the case right now (the lease) is not who owns it (the allocation).
        # The case in hand's lease is followed live; another case's as it was read.
        hand = self.in_hand if self.in_hand and self.in_hand.case_id == d.case_id else None
        mine = self.lost is None or hand is not None
        lease_live = (
            mine
            and d.lease_holder_name
            and (self.now is None or d.lease_expires_at is None or d.lease_expires_at > self.now)
        )
        until = hand.lease_until if hand is not None else d.lease_expires_at
        if lease_live:
            field(
                _("Worked by"),
                f"{d.lease_holder_name} "
                + _("until {time}").format(time=local(until, self.timezone, "%H:%M")),
                "bold",
            )
        else:
            field(_("Worked by"), _("nobody"))
        field(_("Owner"), d.owner_name or DASH)
        field(_("Next action"), local(d.next_action_at, self.timezone))
        if d.callback_at is not None and (self.now is None or d.callback_at > self.now):
            field(_("Call back"), when_text(d.callback_at, self.timezone, self.now), "bold")
        t.append("\n")
        field(_("Overdue"), money(d.overdue_minor, d.currency), "bold")
        field(_("Outstanding"), money(d.outstanding_minor, d.currency))
        if d.credit_minor:
            field(_("Credit"), money(d.credit_minor, d.currency), "bold")
        field(_("Broken promises"), str(d.broken_promises))
        field(_("Why"), why_text(d.why))
        t.append("\n")
        field(_("Address"), d.address)
        # Holds first: on a short pane the header is cut at the bottom, and a hold
        # (dispute, litigation, cease contact...) changes what the operator may do.
        if d.holds:
            t.append("\n")
            holds = "; ".join(
                f"{label('hold_kind', h.kind)}: {h.reason}"
                + (
                    " (" + _("ends {when}").format(when=local(h.ends_at, self.timezone)) + ")"
                    if h.ends_at
                    else ""
                )
                for h in d.holds
            )
            field(_("Holds"), holds, "bold red")
        t.append("\n")
        if d.registration is None:
            field(_("Registration"), _("not registered"))
        elif d.registration.cancelled_at is not None:
            field(
                _("Registration"),
                _("cancelled {day}").format(day=day(d.registration.cancelled_at.date())),
            )
        else:
            field(
                _("Registration"),
                local(d.registration.registered_at, self.timezone, "%Y-%m-%d")
                + f" ({label('channel', d.registration.channel)})",
            )
        docs = {doc.kind.value: doc for doc in d.documents}
        summary = ", ".join(
            f"{label('document_kind', kind)} "
            + (label("document_status", docs[kind].status) if kind in docs else DASH)
            for kind in ("identity", "residence", "income", "other")
        )
        field(_("Documents"), summary)
        if not d.holds:
            field(_("Holds"), _("none"))
        t.append("\n")
        if d.phones:
            numbers = ", ".join(
                f"{p.number.replace(' ', NBSP)} ({label('relation', p.relation)}"
                + (", " + _("do not call") if p.do_not_call else "")
                + ")"
                for p in d.phones
            )
            field(_("Phones"), numbers)
        else:
            field(_("Phones"), _("none on file"))
        for a in d.accounts:
            t.append("\n")
            t.append(f"{a.external_id} ", style="dim")
            t.append(f"{label('product', a.product)} / {label('account_status', a.status)}  ")
            field(_("principal"), money(a.outstanding_principal_minor, a.currency))
            field(_("interest"), money(a.outstanding_interest_minor, a.currency))
            field(_("penalty"), money(a.outstanding_penalty_minor, a.currency))
            field(_("fees"), money(a.outstanding_fees_minor, a.currency))
        return t
