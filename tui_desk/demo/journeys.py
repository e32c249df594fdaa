"""Registered-or-later cases: milestones, contacts, documents, visits, follow-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui_desk.db.models import (
    AppointmentStatus,
    DocumentChannel,
    DocumentKind,
    DocumentStatus,
    FollowUpStatus,
    Outcome,
    VisitOutcome,
)
from tui_desk.demo.plans import PlanWriter
from tui_desk.demo.reference import (
    ANSWERED,
    CALLBACK,
    DOC_DESCRIPTIONS,
    DOC_REJECTIONS,
    DOC_VERIFIED,
    NOTES,
    PROMISE,
    SMS,
    VISIT_MINUTES,
    VISIT_NOTES,
)
from tui_desk.demo.state import Case
from tui_desk.i18n import _
from tui_desk.rules.followups import follow_up_dates
from tui_desk.services.errors import ServiceError


class JourneyWriter(PlanWriter):
    """The history of a registered-or-later case, milestone by milestone."""

    def _journey_span(self, r: Callable[[], float], c: Case) -> dict[str, Any]:
        """Relative days (from the overdue-since day) of every milestone the case reached."""
        depth = c.depth
        path = depth
        if depth >= 9:
            u = r()
            path = 1 if u < 0.45 else (5 if u < 0.65 else 8)
        p: dict[str, Any] = {"path": path}
        pre = sorted(1 + int(r() * 10) for _k in range(int(r() * 3)))
        p["pre"] = pre
        reg = (pre[-1] if pre else 1) + int(r() * r() * 12)
        p["reg"] = reg
        last = reg
        if path == 1:
            p["pay"] = reg + 1 + int(r() * 7)
            last = p["pay"] + 1 + int(r() * 4)
            p["close"] = last
        if path >= 3:
            docs = [reg + 1 + int(r() * 6) for _k in range(3 + (r() < 0.4))]
            p["docs"] = docs
            last = max(docs) + 3
        if path >= 4:
            p["book"] = last + int(r() * 2)
            last = p["book"]
            p["reschedule"] = r() < 0.08
        if path >= 5:
            gap = 3 + int(r() * 5)
            if p["reschedule"]:
                p["old_visit"] = p["book"] + gap
                gap += 3 + int(r() * 4)
            p["visit"] = p["book"] + gap
            last = p["visit"]
            if path == 5 and depth >= 9:
                last += 1 + int(r() * 2)
                p["close"] = last
        if path >= 6:
            p["plan"] = p["visit"] + (0 if r() < 0.6 else 1 + int(r() * 3))
            last = p["plan"]
        if path >= 7:
            p["agree"] = p["plan"] + 1 + int(r() * 5)
            last = p["agree"]
        if path >= 8:
            p["sign"] = p["agree"] + int(r() * 4)
            last = p["sign"]
            if depth >= 9:
                p["instalments"] = 3 + int(r() * 4)
                p["first_due"] = p["sign"] + 10 + int(r() * 20)
                last = p["first_due"] + 31 * (p["instalments"] - 1) + 1 + int(r() * 5)
                p["close"] = last
            else:
                p["follow_ups_done"] = int(r() * 4)
                if p["follow_ups_done"]:
                    last = p["sign"] + 30 + 92 * (p["follow_ups_done"] - 1)
        # Days since the last milestone: cases still moving through the steps were touched
        # lately; agreements under follow-up and closed cases lie further back.
        extra = int(r() ** 2 * (60 if depth <= 7 else 150))
        if depth == 10:
            extra += 30 + int(r() * 200)
        start = self.today - 1 - last - extra
        if path >= 5:
            # The visit must land on a free collector slot; the whole timeline moves with it.
            hi = self.today - 1 - (last - p["visit"])
            found = self._book_slot(r, c.city, start + p["visit"], self.today - 900, hi, False)
            if found is None:
                raise ServiceError(_("no collector slot is free for a past visit"))
            p["slot"] = found
            start = found[1] - p["visit"]
            if "old_visit" in p:
                p["old_slot"] = self._book_slot(
                    r, c.city, start + p["old_visit"], start + p["book"] + 3, found[1] - 3, True
                )
        c.start = start
        return p

    def _contact(
        self,
        case: Case,
        minute: int,
        outcome: str,
        agent: int,
        r: Callable[[], float],
        phone_id: int | None = None,
    ) -> int:
        contact_id = self._next_id("contact_attempt")
        channel = "sms" if outcome in SMS else "phone"
        party = "borrower" if outcome in ANSWERED or channel == "sms" else None
        notes = NOTES[outcome]
        self._add("contact_attempt", (
            contact_id, case.case_id, agent, channel, phone_id or case.borrower_phone, party,
            outcome, notes[int(r() * len(notes))], self.cal.ts(minute), None,
        ))  # fmt: skip
        return contact_id

    def _journey(
        self, r: Callable[[], float], c: Case, p: dict[str, Any], guarantor_phone: int | None
    ) -> tuple[int | None, int, int | None]:
        """Write the history of a registered-or-later case.

        Returns (next action minute or None, broken promises, close minute or None).
        """
        cal, s = self.cal, c.start
        sups = self.supervisors
        owner = c.owner
        path = p["path"]
        broken = 0
        self.docs_ready = False
        for rel in p["pre"]:
            outcome = self.phone_outcomes[int(r() * len(self.phone_outcomes))]
            if outcome == PROMISE:
                outcome = CALLBACK
            self._contact(c, self._local(s + rel, 540 + int(r() * 600)), outcome, owner, r)
        reg_minute = self._local(s + p["reg"], 540 + int(r() * 600))
        agreed = PROMISE if path == 1 else Outcome.AGREES_VISIT.value
        agrees = self._contact(c, reg_minute, agreed, owner, r)
        if path == 1:
            # Paid after a phone promise: the promise was kept in full.
            pay_day = s + p["pay"]
            self._add("promise_to_pay", (
                self._next_id("promise_to_pay"), c.case_id, agrees, c.total_minor,
                cal.day[pay_day], "kept", owner, cal.ts(reg_minute),
                cal.ts(self._local(pay_day, 1320)),
            ))  # fmt: skip
            self._payment(c, c.total_minor, pay_day, "bank_transfer", "全额还款", None)
            return None, 0, self._local(s + p["close"], 600)
        self._add("service_registration", (
            self._next_id("service_registration"), c.case_id, "phone", owner,
            cal.ts(reg_minute + 5), "借款人同意上门服务，已告知需提交的材料", None, None,
        ))  # fmt: skip
        if path == 2:
            return self._local(s + p["reg"] + 2 + int(r() * 3), 600), broken, None

        # -- documents
        last_doc = 0
        kinds = (
            DocumentKind.IDENTITY,
            DocumentKind.RESIDENCE,
            DocumentKind.INCOME,
            DocumentKind.OTHER,
        )
        # Half of the cases waiting on documents have them all verified: ready to book.
        ready = path == 3 and r() < 0.5
        self.docs_ready = ready
        for kind, rel in zip(kinds, p["docs"], strict=False):
            received = self._local(s + rel, 540 + int(r() * 540))
            channel = (DocumentChannel.EMAIL, DocumentChannel.POST, DocumentChannel.IN_PERSON)[
                int(r() * 3)
            ]
            descriptions = DOC_DESCRIPTIONS[kind]
            description = descriptions[int(r() * len(descriptions))]
            reviewer = owner if r() < 0.8 else sups[0]
            reviewed = received + 60 + int(r() * 1440)
            if path == 3 and not ready:
                u = r()
                status = (
                    DocumentStatus.RECEIVED if u < 0.4
                    else DocumentStatus.VERIFIED if u < 0.85 else DocumentStatus.REJECTED
                )  # fmt: skip
            else:
                status = DocumentStatus.VERIFIED
                if r() < 0.1:
                    # The first copy was rejected; a new one came the next day.
                    self._add("document", (
                        self._next_id("document"), c.case_id, kind.value, description,
                        channel.value, cal.ts(received), DocumentStatus.REJECTED.value,
                        reviewer, cal.ts(received + 60 + int(r() * 240)),
                        DOC_REJECTIONS[int(r() * len(DOC_REJECTIONS))],
                    ))  # fmt: skip
                    received += 1440
                    reviewed = received + 60 + int(r() * 540)
            if status is DocumentStatus.RECEIVED:
                self._add("document", (
                    self._next_id("document"), c.case_id, kind.value, description,
                    channel.value, cal.ts(received), status.value, None, None, None,
                ))  # fmt: skip
            else:
                reason = (
                    DOC_VERIFIED[int(r() * len(DOC_VERIFIED))]
                    if status is DocumentStatus.VERIFIED
                    else DOC_REJECTIONS[int(r() * len(DOC_REJECTIONS))]
                )
                self._add("document", (
                    self._next_id("document"), c.case_id, kind.value, description,
                    channel.value, cal.ts(received), status.value, reviewer, cal.ts(reviewed),
                    reason,
                ))  # fmt: skip
            last_doc = max(last_doc, reviewed)
        if path == 3:
            return max(last_doc, self._local(s + max(p["docs"]), 600)) + 1440, broken, None

        # -- appointment(s)
        book_minute = self._local(s + p["book"], 600 + int(r() * 360))
        place, district = c.address, c.district
        if path == 4:
            found = self._book_slot(
                r,
                c.city,
                max(self.today + 1, s + p["book"] + 3) + int(r() * 14),
                self.today + 1,
                self.today + 1400,
                True,
            )
            if found is None:
                raise ServiceError(_("no collector slot is free for a future visit"))
        else:
            found = p["slot"]
        collector, visit_day, local_start = found
        starts = self._local(visit_day, local_start)
        rescheduled_from: int | None = None
        old_slot: tuple[int, int, int] | None = p.get("old_slot")
        if old_slot is not None and r() < 0.35:
            # The borrower was not at home: a wasted trip, reported, and a new booking.
            old_start = self._local(old_slot[1], old_slot[2])
            missed = self._next_id("appointment")
            self._add("appointment", (
                missed, c.case_id, old_slot[0], cal.ts(old_start),
                cal.ts(old_start + VISIT_MINUTES), place, district,
                AppointmentStatus.NO_SHOW.value, owner, cal.ts(book_minute), None, None, None,
                None,
            ))  # fmt: skip
            self._add("visit_report", (
                self._next_id("visit_report"), missed, c.case_id, old_slot[0], True, False,
                False, True, False, None, None, None, None, 0, None, None, None,
                VisitOutcome.BORROWER_ABSENT.value, "借款人不在家，已留下联系卡",
                cal.ts(old_start + VISIT_MINUTES + 30),
            ))  # fmt: skip
            book_minute = old_start + VISIT_MINUTES + 60 + int(r() * 120)
        elif old_slot is not None:
            old_start = self._local(old_slot[1], old_slot[2])
            rescheduled_from = self._next_id("appointment")
            self._add("appointment", (
                rescheduled_from, c.case_id, old_slot[0], cal.ts(old_start),
                cal.ts(old_start + VISIT_MINUTES), place, district,
                AppointmentStatus.RESCHEDULED.value, owner, cal.ts(book_minute), None, None,
                None, None,
            ))  # fmt: skip
            # Asked one to two days ahead: the notice rule wants at least 24 hours.
            requested = old_start - 1440 - int(r() * 1440)
            by_borrower = r() < 0.7
            self._add("appointment_change", (
                self._next_id("appointment_change"), rescheduled_from, "reschedule",
                "borrower" if by_borrower else "bank", owner, cal.ts(requested),
                cal.ts(requested + 10), "phone", cal.ts(old_start), cal.ts(starts),
                "借款人临时出差，申请改期" if by_borrower else "催收员临时有事，改约时间",
            ))  # fmt: skip
            book_minute = requested + 15
        appointment_id = self._next_id("appointment")
        if path == 4:
            status_value = (
                AppointmentStatus.BOOKED if r() < 0.4 else AppointmentStatus.CONFIRMED
            ).value
        else:
            status_value = AppointmentStatus.DONE.value
        self._add("appointment", (
            appointment_id, c.case_id, collector, cal.ts(starts),
            cal.ts(starts + VISIT_MINUTES), place, district, status_value, owner,
            cal.ts(book_minute), rescheduled_from, None, None,
            "请携带工作证，出发前电话确认" if r() < 0.3 else None,
        ))  # fmt: skip
        if path == 4:
            return starts, broken, None

        # -- the visit
        report_minute = starts + VISIT_MINUTES + 30 + int(r() * 90)
        income = (3_000 + int(r() * 270) * 100) * 100
        obligations = income * int(r() * 40) // 100
        affordable = max(50_000, (income - obligations) * 3 // 10 // 100 * 100)
        collected = 0
        method: str | None = None
        receipt: str | None = None
        reconciled: int | None = None
        visit_outcome: str = VisitOutcome.PLAN_DISCUSSED.value
        if path == 5 and c.depth >= 9:
            visit_outcome = VisitOutcome.PAID_AT_DOOR.value
            collected = c.total_minor
            method = "POS刷卡" if r() < 0.7 else "现金"
            receipt = f"RC{c.case_id:010d}"
            reconciled = self._payment(c, collected, visit_day, "door", receipt, collector)
        elif path == 5 and r() < 0.15:
            visit_outcome = VisitOutcome.REFUSED.value
        address_ok = r() < 0.95
        self._add("visit_report", (
            self._next_id("visit_report"), appointment_id, c.case_id, collector, True, True,
            True, address_ok, True, None if address_ok else "门牌号与登记地址不符，已现场更正",
            income, obligations, affordable, collected, method, receipt, reconciled,
            visit_outcome,
            VISIT_NOTES[visit_outcome],
            cal.ts(report_minute),
        ))  # fmt: skip
        if path == 5:
            if c.depth >= 9:
                return None, broken, self._local(s + p["close"], 600)
            return self._local(visit_day + 2 + int(r() * 2), 600), broken, None

        # -- repayment plan and its schedule
        plan_day = s + p["plan"]
        plan = self._plan(r, c, p, plan_day, collector)
        if path == 6:
            return self._local(plan_day + 2 + int(r() * 3), 600), broken, None

        # -- agreement (one version) and follow-ups
        agree_day = s + p["agree"]
        signed = path >= 8
        agreement_id = self._agreement(r, c, p, plan, agree_day, signed)
        if not signed:
            return self._local(agree_day + 2 + int(r() * 4), 600), broken, None
        sign_day = s + p["sign"]
        close_day = s + p["close"] if "close" in p else None
        # The chain the desk schedules at signing (services.followups): the first within
        # a month of the effective date, then every three months until the projected
        # payoff (the plan's last due date), moved to working days. Those past are done or
        # missed; a closed case's chain ends on the day it was paid off.
        payoff = max(due for due, _amount in plan.schedule)
        dates = follow_up_dates(
            cal.dates[sign_day], cal.dates[payoff], self.follow_up_policy,
            self.follow_up_calendar,
        )  # fmt: skip
        missed_before = self.today - self.follow_up_policy.missed_after_days
        next_due: int | None = None
        for date in dates:
            due = date.toordinal() - cal.base_ordinal
            if close_day is not None and due > close_day:
                break
            if due < missed_before or (close_day is not None):
                done = r() < 0.85
                self._add("follow_up", (
                    self._next_id("follow_up"), c.case_id, agreement_id, cal.day[due],
                    "phone" if r() < 0.8 else "visit", owner,
                    (FollowUpStatus.DONE if done else FollowUpStatus.MISSED).value,
                    cal.ts(self._local(due, 600 + int(r() * 420))) if done else None,
                    "电话回访，借款人按计划还款，无异常" if done else "多次联系未接通",
                ))  # fmt: skip
                continue
            if next_due is None:
                next_due = due
            self._add("follow_up", (
                self._next_id("follow_up"), c.case_id, agreement_id, cal.day[due], "phone",
                owner, FollowUpStatus.SCHEDULED.value, None, None,
            ))  # fmt: skip
        if close_day is not None:
            return None, broken, self._local(close_day, 600)
        if next_due is None:
            # Every follow-up is behind: the case is called about its plan next office day.
            return self._local(self.today + 1, 540 + int(r() * 60)), broken, None
        return self._local(next_due, 540 + int(r() * 60)), broken, None
