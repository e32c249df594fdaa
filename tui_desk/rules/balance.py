"""What a case owes, from the ledger: one computation every view reads.

Pure and in integer minor units. The facts are the ledger of one case:

- the accounts' figures as the bank reported them when the case was taken in (by
  component, and the part of them overdue),
- the plan in force (the active plan, else the last completed one): the day it was drafted
  and its instalments, which restate the debt (interest, waivers and rewards included),
- the payments (date, amount),
- the credit moves a supervisor made: credit *applied* counts as a payment on its day,
  credit *refunded* left the bank.

From them, and nothing else:

- before the plan's day (or without a plan) payments pay the accounts down in the
  profile's component order; from the plan's day on they fill its instalments in due
  order (``settle_lines``);
- what is paid beyond what was owed in either span is the case's **credit**;
- **outstanding** is what is left to pay: the plan's open amounts, else the accounts' open
  components;
- **overdue** is the open amount of the missed instalments under a plan (due more than the
  grace days ago), else what the bank reported overdue less everything paid since;
- **next due** is the earliest unpaid instalment by due date; an instalment is *due* only
  from its date on, *upcoming* before it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from tui_desk.domain import CreditMoveKind, InstalmentStatus
from tui_desk.rules.allocation import Owed, allocate


@dataclass(frozen=True)
class LineFacts:
    seq: int
    due_on: dt.date
    amount_minor: int


@dataclass(frozen=True)
class PaidFacts:
    paid_on: dt.date
    amount_minor: int


@dataclass(frozen=True)
class LineState:
    seq: int
    paid_minor: int
    status: InstalmentStatus
    paid_in_full_on: dt.date | None
    """The date of the payment that completed the line (None while it is not paid)."""

    def in_time(self, due_on: dt.date, grace_days: int) -> bool:
        return self.paid_in_full_on is not None and self.paid_in_full_on <= due_on + dt.timedelta(
            days=grace_days
        )


def settle_lines(
    lines: Sequence[LineFacts], payments: Sequence[PaidFacts], today: dt.date, grace_days: int
) -> list[LineState]:
    """Each line's paid amount and status: payments, oldest first, fill lines in due order.

    Returned in the order of ``lines``. Money beyond the last line is left unallocated
    (``plan_excess`` says how much: the case's credit).
    """
    order = sorted(range(len(lines)), key=lambda i: (lines[i].due_on, lines[i].seq))
    pays = sorted(payments, key=lambda p: p.paid_on)
    cutoff = today - dt.timedelta(days=grace_days)
    paid = [0] * len(lines)
    done_on: list[dt.date | None] = [None] * len(lines)
    p = 0
    left = pays[0].amount_minor if pays else 0
    for i in order:
        need = lines[i].amount_minor
        while paid[i] < need and p < len(pays):
            share = min(need - paid[i], left)
            paid[i] += share
            left -= share
            if paid[i] >= need:
                done_on[i] = pays[p].paid_on
            if left == 0:
                p += 1
                left = pays[p].amount_minor if p < len(pays) else 0
    states: list[LineState] = []
    for i, line in enumerate(lines):
        if line.amount_minor <= 0:
            # A capitalised grace line: nothing to pay, settled once its day has come.
            settled = line.due_on <= today
            status = InstalmentStatus.PAID if settled else InstalmentStatus.DUE
            states.append(LineState(line.seq, 0, status, line.due_on if settled else None))
            continue
        if paid[i] >= line.amount_minor:
            status = InstalmentStatus.PAID
        elif line.due_on < cutoff:
            status = InstalmentStatus.MISSED
        elif paid[i] > 0:
            status = InstalmentStatus.PARTIAL
        else:
            status = InstalmentStatus.DUE
        states.append(LineState(line.seq, paid[i], status, done_on[i]))
    return states


@dataclass(frozen=True)
class CreditMove:
    kind: CreditMoveKind
    moved_on: dt.date
    amount_minor: int


@dataclass(frozen=True)
class PlanFacts:
    drafted_on: dt.date
    lines: tuple[LineFacts, ...]


class LineShown(enum.StrEnum):
    """An instalment as a person reads it: *due* only from its date on."""

    UPCOMING = "upcoming"
    DUE = "due"
    PARTIAL = "partial"
    PAID = "paid"
    MISSED = "missed"


def line_shown(due_on: dt.date, status: InstalmentStatus, today: dt.date) -> LineShown:
    if status is InstalmentStatus.PAID:
        return LineShown.PAID
    if status is InstalmentStatus.MISSED:
        return LineShown.MISSED
    if due_on > today:
        return LineShown.UPCOMING
    return LineShown.PARTIAL if status is InstalmentStatus.PARTIAL else LineShown.DUE


@dataclass(frozen=True)
class Balance:
    owed_minor: int
    """What the accounts (no plan) or the plan in force asked for in all."""
    paid_minor: int
    """Every payment on the case (credit applied not counted twice)."""
    outstanding_minor: int
    overdue_minor: int
    credit_minor: int
    lines: tuple[LineState, ...] = ()
    """The plan's instalments settled, in the order of the plan's lines (empty without)."""
    next_due_seq: int | None = None
    account_open: tuple[Owed, ...] = ()
    """Without a plan: what is left of each account's components, in the facts' order."""

    @property
    def settled(self) -> bool:
        """Nothing left to pay (a credit may remain): the case may be archived as paid."""
        return self.outstanding_minor == 0


def case_balance(
    accounts: Sequence[Owed],
    accounts_overdue_minor: int,
    order: Sequence[str],
    payments: Sequence[PaidFacts],
    plan: PlanFacts | None,
    credit_moves: Sequence[CreditMove],
    today: dt.date,
    grace_days: int,
) -> Balance:
    """The balance of one case from its ledger (see the module's description)."""
    applied = [
        PaidFacts(m.moved_on, m.amount_minor)
        for m in credit_moves
        if m.kind is CreditMoveKind.APPLY and m.amount_minor > 0
    ]
    used = sum(m.amount_minor for m in credit_moves if m.amount_minor > 0)
    money_in = [p for p in payments if p.amount_minor > 0]
    paid_total = sum(p.amount_minor for p in money_in)
    funds = sorted([*money_in, *applied], key=lambda p: p.paid_on)
    accounts_total = sum(max(0, a.amount_minor) for a in accounts)
    if plan is None:
        into_accounts = sum(p.amount_minor for p in funds)
        allocation = allocate(into_accounts, [_clamped(a) for a in accounts], order)
        taken = allocation.by_account_component()
        account_open = tuple(
            Owed(
                a.account_id,
                a.component,
                max(0, a.amount_minor) - taken.get((a.account_id, a.component), 0),
            )
            for a in accounts
        )
        outstanding = accounts_total - allocation.allocated_minor
        overdue = min(outstanding, max(0, accounts_overdue_minor - into_accounts))
        excess = allocation.remainder_minor
        return Balance(
            owed_minor=accounts_total,
            paid_minor=paid_total,
            outstanding_minor=outstanding,
            overdue_minor=overdue,
            credit_minor=max(0, excess - used),
            account_open=account_open,
        )
    before = sum(p.amount_minor for p in funds if p.paid_on < plan.drafted_on)
    after = [p for p in funds if p.paid_on >= plan.drafted_on]
    states = settle_lines(plan.lines, after, today, grace_days)
    plan_total = sum(max(0, line.amount_minor) for line in plan.lines)
    plan_paid = sum(s.paid_minor for s in states)
    excess = max(0, before - accounts_total) + (sum(p.amount_minor for p in after) - plan_paid)
    outstanding = plan_total - plan_paid
    overdue = sum(
        line.amount_minor - state.paid_minor
        for line, state in zip(plan.lines, states, strict=True)
        if state.status is InstalmentStatus.MISSED
    )
    open_lines = [
        (line.due_on, line.seq)
        for line, state in zip(plan.lines, states, strict=True)
        if state.status is not InstalmentStatus.PAID and line.amount_minor > state.paid_minor
    ]
    return Balance(
        owed_minor=plan_total,
        paid_minor=paid_total,
        outstanding_minor=outstanding,
        overdue_minor=overdue,
        credit_minor=max(0, excess - used),
        lines=tuple(states),
        next_due_seq=min(open_lines)[1] if open_lines else None,
    )


def _clamped(owed: Owed) -> Owed:
    return owed if owed.amount_minor >= 0 else Owed(owed.account_id, owed.component, 0)


@dataclass(frozen=True)
class OverpaymentCheck:
    owed_minor: int
    excess_minor: int

    @property
    def over(self) -> bool:
        return self.excess_minor > 0


def overpayment(amount_minor: int, balance: Balance) -> OverpaymentCheck:
    """How much of a payment of ``amount_minor`` goes beyond what the case owes now."""
    owed = balance.outstanding_minor
    return OverpaymentCheck(owed_minor=owed, excess_minor=max(0, amount_minor - owed))
