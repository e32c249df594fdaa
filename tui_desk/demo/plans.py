"""Repayment plans, their schedules and payments, adjustments and agreements."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tui_desk.db.models import (
    AgreementStatus,
    InstalmentStatus,
    PlanStatus,
)
from tui_desk.demo.reference import CITIES
from tui_desk.demo.state import Case, GeneratorState, PlanFacts
from tui_desk.rules import agreements as agreement_rules
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.balance import PlanFacts as BalancePlan
from tui_desk.services.agreements import (
    AccountFigures,
    ScheduleFigures,
    agreement_number,
    merge_figures,
)
from tui_desk.services.ledger import LineFacts, LineState, PaidFacts, settle_lines


class PlanWriter(GeneratorState):
    """Repayment plans with their schedules, adjustments and agreements."""

    def _plan(
        self, r: Callable[[], float], c: Case, p: dict[str, Any], plan_day: int, collector: int
    ) -> PlanFacts:
        """A plan and its instalments (paid ones with their payments)."""
        cal = self.cal
        path, closed = p["path"], c.depth >= 9
        total = c.total_minor
        u = r()
        kind = "annuity" if u < 0.5 else ("equal_principal" if u < 0.8 else "interest_free")
        rate_bp = 0 if kind == "interest_free" else (435, 600, 800, 1000)[int(r() * 4)]
        waiver = total * (5 + int(r() * 15)) // 100 // 100 * 100 if r() < 0.3 else 0
        down = total * (10 + int(r() * 10)) // 100 // 100 * 100 if r() < 0.35 else 0
        principal = total - waiver - down
        if closed:
            n = p["instalments"]
            first_due = c.start + p["first_due"]
        else:
            first_due = plan_day + 20 + int(r() * 15)
            # An active plan still has instalments to come.
            n = min(24, max(3 + int(r() * 10), (self.today - first_due) // 30 + 2))
        # At least 100 yuan an instalment.
        n = max(1, min(n, total // 10_000))
        grace = 0
        grace_mode = "none"
        if not closed and r() < 0.15:
            grace = 1 + int(r() * 2)
            grace_mode = "interest_only" if r() < 0.6 else "capitalised"
        dom = cal.dates[first_due].day
        if dom > 28:
            first_due -= dom - 28
        first_due = cal.add_months(first_due, grace)
        if path == 6:
            status = PlanStatus.DRAFT if r() < 0.6 else PlanStatus.ACTIVE
        elif closed:
            status = PlanStatus.COMPLETED
        else:
            status = PlanStatus.ACTIVE
        needs_approval = waiver > 0 or grace > 0
        approved_by = (
            self.supervisors[int(r() * len(self.supervisors))]
            if (status is not PlanStatus.DRAFT and needs_approval)
            else None
        )
        plan_id = self._next_id("repayment_plan")
        self._add("repayment_plan", (
            plan_id, c.case_id, kind, "monthly", principal, rate_bp / 10_000, n, down, waiver,
            grace, grace_mode, cal.day[first_due], status.value, collector,
            cal.ts(self._local(plan_day, 900 + int(r() * 180))), approved_by,
        ))  # fmt: skip
        monthly = rate_bp / 120_000
        if kind == "annuity" and monthly > 0:
            level = principal * monthly / (1 - (1 + monthly) ** -n)
        else:
            level = principal / n
        remaining = principal
        schedule: list[tuple[int, int]] = []
        lines: list[tuple[int, int, int, int, int]] = []
        paid_facts: list[PaidFacts] = []
        for seq in range(1, n + 1):
            due = cal.add_months(first_due, seq - 1)
            interest = remaining * rate_bp // 120_000
            if seq == n:
                part = remaining
            elif kind == "annuity" and monthly > 0:
                part = min(remaining, math.floor(level + 0.5) - interest)
            else:
                part = principal // n
            amount = part + interest
            remaining -= part
            paid = 0
            if status is not PlanStatus.DRAFT and due < self.today:
                u = r()
                if closed or c.keep_stage or u < 0.85:
                    paid = amount
                elif u < 0.9:
                    paid = amount // 2
            if paid:
                paid_day = due - int(r() * 3)
                self._payment(
                    c,
                    paid,
                    paid_day,
                    "direct_debit" if r() < 0.6 else "bank_transfer",
                    f"第{seq}期还款",
                    None,
                )
                paid_facts.append(PaidFacts(cal.dates[paid_day], paid))
            schedule.append((due, amount))
            lines.append((seq, due, part, interest, amount))
        # What each line holds and its status are the ledger's to say (services.ledger),
        # exactly as the desk's recompute would store them.
        if status is PlanStatus.DRAFT:
            states = [LineState(seq, 0, InstalmentStatus.DUE, None) for seq, *_rest in lines]
        else:
            states = settle_lines(
                [LineFacts(seq, cal.dates[due], amount) for seq, due, _p, _i, amount in lines],
                paid_facts,
                cal.dates[self.today],
                self.missed_after_days,
            )
        if status is PlanStatus.ACTIVE:
            c.missed_lines = sum(st.status is InstalmentStatus.MISSED for st in states)
        if status is PlanStatus.ACTIVE or (
            status is PlanStatus.COMPLETED and not c.plan_in_force_active
        ):
            # The plan the ledger follows: the latest active one, else the latest completed.
            c.plan_in_force = BalancePlan(
                cal.dates[plan_day],
                tuple(LineFacts(seq, cal.dates[due], amount) for seq, due, *_m, amount in lines),
            )
            c.plan_in_force_active = status is PlanStatus.ACTIVE
        for (seq, due, part, interest, amount), state in zip(lines, states, strict=True):
            self._add("plan_instalment", (
                self._next_id("plan_instalment"), plan_id, seq, cal.day[due], part, interest,
                amount, state.paid_minor, state.status.value,
            ))  # fmt: skip
        if not closed and r() < 0.12:
            self._adjustment(r, c, plan_id, plan_day)
        return PlanFacts(plan_id, schedule, down, waiver, rate_bp / 10_000, tuple(lines))

    def _adjustment(self, r: Callable[[], float], c: Case, plan_id: int, plan_day: int) -> None:
        cal = self.cal
        u = r()
        details: dict[str, object]
        # Details as the adjustments service writes them, so a supervisor can decide the
        # seeded requests (the schedule is recomputed from the plan when approved).
        if u < 0.4:
            kinds, details, reason = (
                "suspend_interest",
                {"changes": Changes(suspend_periods=3).as_dict()},
                "借款人因病住院，收入中断",
            )
        elif u < 0.8:
            kinds, details, reason = (
                "extend_term",
                {"changes": Changes(extend_by=6).as_dict()},
                "借款人失业，申请延长还款期限",
            )
        else:
            kinds, details, reason = (
                "early_settlement", {"reward_minor": 20_000}, "借款人按期还款表现良好，申请提前结清优惠"
            )  # fmt: skip
        requested = self._local(min(plan_day + 10 + int(r() * 30), self.today - 1), 600)
        v = r()
        status = "requested" if v < 0.3 else ("approved" if v < 0.8 else "rejected")
        if status == "requested" and kinds == "early_settlement":
            status = "approved"  # a pending quote is made on the desk, with today's figures
        decided = status != "requested"
        self._add("adjustment", (
            self._next_id("adjustment"), c.case_id, plan_id, kinds, json.dumps(details), reason,
            status, c.owner, cal.ts(requested),
            self.supervisors[0] if decided else None,
            cal.ts(requested + 600) if decided else None,
            ("同意" if status == "approved" else "不符合条件") if decided else None,
        ))  # fmt: skip

    def _agreement(
        self,
        r: Callable[[], float],
        c: Case,
        p: dict[str, Any],
        plan: PlanFacts,
        agree_day: int,
        signed: bool,
    ) -> int:
        cal = self.cal
        agreement_id = self._next_id("agreement")
        created = self._local(agree_day, 600 + int(r() * 300))
        # The agreement text is the bank's standard form merged with the case's figures,
        # stored and hashed exactly as services.agreements drafts and signs it.
        content = merge_figures(
            self.agreement_template,
            self.profile,
            number=agreement_number(self.profile, c.case_id, agreement_id, cal.dates[agree_day]),
            as_of=cal.dates[agree_day],
            borrower_name=c.name,
            id_number=c.id_number,
            address=c.address,
            phone=c.phone_e164,
            accounts=[AccountFigures(*figures) for figures in c.accounts],
            account_fallback=str(c.case_id),
            plan_frequency="monthly",
            plan_rate=Decimal(str(plan.kind_rate)),
            waiver_minor=plan.waiver_minor,
            down_payment_minor=plan.down_minor,
            lines=[
                ScheduleFigures(seq, cal.dates[due], part, interest, amount)
                for seq, due, part, interest, amount in plan.lines
            ],
        ).to_json()
        digest: str | None = None
        if signed:
            sign_day = c.start + p["sign"]
            status = AgreementStatus.SIGNED.value
            signed_at: str | None = cal.ts(self._local(sign_day, 600 + int(r() * 360)))
            effective: str | None = cal.day[sign_day]
            place: str | None = (
                c.address if r() < 0.6 else f"示范银行{CITIES[c.city].name}分行营业部"
            )
            signatory: int | None = self.supervisors[int(r() * len(self.supervisors))]
            confirmation: str | None = "借款人当面签字确认"
            delivery: str | None = "当面交付" if r() < 0.7 else "挂号信邮寄"
            digest = agreement_rules.content_hash(content)
        else:
            status = (AgreementStatus.DRAFT if r() < 0.4 else AgreementStatus.READY).value
            signed_at = effective = place = confirmation = delivery = None
            signatory = None
        self._add("agreement", (
            agreement_id, c.case_id, plan.plan_id, self.agreement_template.name,
            self.agreement_template.version, self.agreement_template.language, status,
            effective, signed_at, place, signatory, confirmation, delivery, digest, c.owner,
            cal.ts(created), 1,
        ))  # fmt: skip
        self._add("agreement_version", (
            self._next_id("agreement_version"), agreement_id, 1, content, None, c.owner,
            cal.ts(created), "依据标准模板生成",
        ))  # fmt: skip
        return agreement_id
