"""Adjustments of an active repayment plan (PROCESS.md step 8); pure, no clock.

Hardship adjustments reschedule what is left of the active plan. ``Remaining`` is the
plan as it stands: the balance still to repay, the unpaid periods, the rate, the
frequency and the next due date. A request bundles one or more ``Changes``:

- ``suspend_periods`` = S: no interest in the first S periods of the new schedule
  (停息). A suspended grace period costs nothing; a suspended repaying period pays an
  equal part of the balance without interest;
- ``extend_by`` = E: E more repaying instalments (展期);
- ``grace_periods`` = G with ``grace_mode``: G periods before repaying starts, paying
  interest only or adding it to the balance (capitalised). Grace periods lengthen the
  term by G.

The new schedule has ``remaining + E + G`` periodic instalments from the next due date.
Its repaying part (and the grace, when nothing is suspended) is the plan calculator's
(``rules.plans.build_schedule``): Decimal, half-up to the fen, the last line absorbs what
rounding left, so the balance closes at exactly 0.00. The whole plan, with the periods
already behind, stays within the profile's ``max_months``.

Early settlement: a borrower who paid at least ``[plans] early_settlement_min_on_time``
instalments on time and missed none may settle everything now and is rewarded with
``early_settlement_reward_rate`` of the interest not yet due, at most
``early_settlement_reward_cap_minor``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from tui_desk.i18n import _
from tui_desk.rules.plans import (
    ANNUITY,
    GRACE,
    GRACE_CAPITALISED,
    GRACE_INTEREST_ONLY,
    GRACE_MODES,
    GRACE_NONE,
    INTEREST_FREE,
    PERIODS_PER_YEAR,
    PLAN_KINDS,
    REGULAR,
    Instalment,
    PlanLimits,
    PlanRequest,
    Schedule,
    build_schedule,
    due_dates,
    fen,
    frequency_label,
)

SUSPEND_INTEREST = "suspend_interest"
EXTEND_TERM = "extend_term"
GRACE_PERIOD = "grace_period"
EARLY_SETTLEMENT = "early_settlement"
HARDSHIP_KINDS = (SUSPEND_INTEREST, EXTEND_TERM, GRACE_PERIOD)

_ZERO = Decimal("0.00")
_PRECISION = 40


# --- the plan as it stands -------------------------------------------------------------


@dataclass(frozen=True)
class Remaining:
    """What is left of the active plan to reschedule."""

    kind: str
    frequency: str
    annual_rate: Decimal
    balance: Decimal
    """Unpaid principal, plus the unpaid interest of lines already due (in arrears)."""
    instalments: int
    """Unpaid periodic instalments (at least 1 while something is owed)."""
    next_due: dt.date
    """The first due date of the new schedule."""
    elapsed: int = 0
    """Periods of the plan already behind (they count against ``max_months``)."""


@dataclass(frozen=True)
class Changes:
    """A bundle of hardship changes; 0 means "not asked"."""

    suspend_periods: int = 0
    extend_by: int = 0
    grace_periods: int = 0
    grace_mode: str = GRACE_NONE

    @property
    def kinds(self) -> tuple[str, ...]:
        out: list[str] = []
        if self.suspend_periods:
            out.append(SUSPEND_INTEREST)
        if self.extend_by:
            out.append(EXTEND_TERM)
        if self.grace_periods:
            out.append(GRACE_PERIOD)
        return tuple(out)

    def as_dict(self) -> dict[str, object]:
        return {
            "suspend_periods": self.suspend_periods,
            "extend_by": self.extend_by,
            "grace_periods": self.grace_periods,
            "grace_mode": self.grace_mode,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Changes:
        return cls(
            suspend_periods=int(str(raw.get("suspend_periods", 0))),
            extend_by=int(str(raw.get("extend_by", 0))),
            grace_periods=int(str(raw.get("grace_periods", 0))),
            grace_mode=str(raw.get("grace_mode", GRACE_NONE)),
        )


class AdjustmentError(ValueError):
    """The adjustment breaks one or more rules; ``problems`` lists them."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def new_count(remaining: Remaining, changes: Changes) -> int:
    return remaining.instalments + max(0, changes.extend_by) + max(0, changes.grace_periods)


def validate(remaining: Remaining, changes: Changes, limits: PlanLimits) -> list[str]:
    """Every rule the adjustment breaks, one sentence each; [] means it can be built."""
    out: list[str] = []
    if remaining.kind not in PLAN_KINDS or remaining.frequency not in PERIODS_PER_YEAR:
        return [_("the plan cannot be adjusted: unknown kind or frequency")]
    if remaining.balance <= 0 or remaining.instalments < 1:
        return [_("nothing is left to repay on this plan: there is nothing to adjust")]
    if not changes.kinds:
        out.append(
            _("choose at least one change: suspend interest, extend the term or a grace period")
        )
    for value, what in (
        (changes.suspend_periods, _("periods of suspended interest")),
        (changes.extend_by, _("instalments added")),
        (changes.grace_periods, _("grace periods")),
    ):
        if value < 0:
            out.append(_("the number of {what} cannot be negative").format(what=what))
    if changes.grace_mode not in GRACE_MODES:
        out.append(_("unknown grace mode {mode}").format(mode=changes.grace_mode))
    elif changes.grace_periods > 0 and changes.grace_mode == GRACE_NONE:
        out.append(_("say how the grace periods work: interest only, or interest capitalised"))
    elif changes.grace_periods <= 0 and changes.grace_mode != GRACE_NONE:
        out.append(_("a grace mode needs at least one grace period"))
    if remaining.kind == INTEREST_FREE and changes.suspend_periods > 0:
        out.append(_("the plan is interest-free: there is no interest to suspend"))
    count = new_count(remaining, changes)
    if changes.suspend_periods > count:
        out.append(
            _("interest can be suspended for at most the {count} periods of the new plan").format(
                count=count
            )
        )
    most = limits.max_instalments(remaining.frequency)
    if remaining.elapsed + count > most:
        out.append(
            _(
                "the plan would run {count} {frequency} instalments in all ({elapsed} behind,"
                " {left} ahead): this profile allows at most {most} ({months} months)"
            ).format(
                count=remaining.elapsed + count,
                frequency=frequency_label(remaining.frequency),
                elapsed=remaining.elapsed,
                left=count,
                most=most,
                months=limits.max_months,
            )
        )
    return out


def reschedule(remaining: Remaining, changes: Changes, limits: PlanLimits) -> Schedule:
    """The new schedule of the remaining balance; raises ``AdjustmentError``."""
    problems = validate(remaining, changes, limits)
    if problems:
        raise AdjustmentError(problems)
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        return _reschedule(remaining, changes, limits)


def _rate(remaining: Remaining) -> Decimal:
    if remaining.kind == INTEREST_FREE:
        return Decimal(0)
    return remaining.annual_rate / PERIODS_PER_YEAR[remaining.frequency]


def _tail(
    remaining: Remaining, balance: Decimal, count: int, first_due: dt.date, limits: PlanLimits
) -> tuple[Instalment, ...]:
    """``count`` repaying lines of ``balance`` by the plan calculator (its limits are the
    plan's, already checked as a whole; the part alone never exceeds them)."""
    if balance <= 0:
        dates = due_dates(first_due, remaining.frequency, count)
        return tuple(Instalment(0, d, _ZERO, _ZERO, _ZERO, _ZERO, REGULAR) for d in dates)
    request = PlanRequest(
        kind=remaining.kind,
        principal=fen(balance),
        annual_rate=remaining.annual_rate if remaining.kind != INTEREST_FREE else Decimal(0),
        instalments=count,
        frequency=remaining.frequency,
        first_due=first_due,
    )
    wide = PlanLimits(max_months=max(limits.max_months, 10_000), max_annual_rate=Decimal(10))
    return build_schedule(request, wide).lines


def _reschedule(remaining: Remaining, changes: Changes, limits: PlanLimits) -> Schedule:
    count = new_count(remaining, changes)
    dates = due_dates(remaining.next_due, remaining.frequency, count)
    rate = _rate(remaining)
    suspended = changes.suspend_periods
    grace = changes.grace_periods
    balance = fen(remaining.balance)
    lines: list[Instalment] = []
    capitalised = _ZERO
    for k in range(grace):
        interest = _ZERO if k < suspended else fen(balance * rate)
        if changes.grace_mode == GRACE_CAPITALISED:
            balance += interest
            capitalised += interest
            lines.append(Instalment(0, dates[k], _ZERO, _ZERO, _ZERO, balance, GRACE, interest))
        else:
            lines.append(Instalment(0, dates[k], _ZERO, interest, interest, balance, GRACE))
    repaying = count - grace
    free = max(0, suspended - grace)  # repaying periods without interest
    if free >= repaying:
        lines.extend(_tail(replace_kind(remaining), balance, repaying, dates[grace], limits))
    else:
        # Rounded down: the interest-free periods never repay more than their share, so
        # the rest of the balance (never negative) is left for the repaying tail.
        part = (balance / repaying).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        for k in range(free):
            balance -= part
            lines.append(Instalment(0, dates[grace + k], part, _ZERO, part, balance, REGULAR))
        lines.extend(_tail(remaining, balance, repaying - free, dates[grace + free], limits))
    numbered = tuple(
        Instalment(
            seq,
            li.due_on,
            li.principal,
            li.interest,
            li.amount,
            li.balance_after,
            li.kind,
            li.capitalised,
        )
        for seq, li in enumerate(lines, start=1)
    )
    total_principal = sum((li.principal for li in numbered), _ZERO)
    total_interest = sum((li.interest for li in numbered), _ZERO)
    return Schedule(
        kind=remaining.kind,
        frequency=remaining.frequency,
        lines=numbered,
        total_principal=total_principal,
        total_interest=total_interest,
        total_amount=total_principal + total_interest,
        capitalised=capitalised,
        waiver=_ZERO,
        down_payment=_ZERO,
        financed=fen(remaining.balance),
        first_due=dates[0],
        last_due=dates[-1],
    )


def replace_kind(remaining: Remaining) -> Remaining:
    """The same plan, interest-free (every repaying period is suspended)."""
    return Remaining(
        kind=INTEREST_FREE,
        frequency=remaining.frequency,
        annual_rate=Decimal(0),
        balance=remaining.balance,
        instalments=remaining.instalments,
        next_due=remaining.next_due,
        elapsed=remaining.elapsed,
    )


# --- before and after ------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What the comparison shows of one schedule."""

    instalment: Decimal
    """The usual repaying instalment (the most frequent amount; the largest on a tie)."""
    count: int
    last_due: dt.date
    total_interest: Decimal
    """All interest ahead: paid in instalments plus capitalised."""
    total_amount: Decimal

    @classmethod
    def of(cls, schedule: Schedule) -> Figures:
        return cls(
            instalment=usual_instalment(schedule),
            count=schedule.count,
            last_due=schedule.last_due,
            total_interest=schedule.interest_cost,
            total_amount=schedule.total_amount,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "instalment": str(self.instalment),
            "count": self.count,
            "last_due": self.last_due.isoformat(),
            "total_interest": str(self.total_interest),
            "total_amount": str(self.total_amount),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Figures:
        return cls(
            instalment=Decimal(str(raw["instalment"])),
            count=int(str(raw["count"])),
            last_due=dt.date.fromisoformat(str(raw["last_due"])),
            total_interest=Decimal(str(raw["total_interest"])),
            total_amount=Decimal(str(raw["total_amount"])),
        )


def usual_instalment(schedule: Schedule) -> Decimal:
    amounts = [li.amount for li in schedule.lines if li.kind == REGULAR and li.amount > 0]
    if not amounts:
        amounts = [li.amount for li in schedule.lines] or [_ZERO]
    return max(set(amounts), key=lambda a: (amounts.count(a), a))


@dataclass(frozen=True)
class Comparison:
    before: Figures
    after: Figures

    @property
    def instalment_change(self) -> Decimal:
        return self.after.instalment - self.before.instalment

    @property
    def count_change(self) -> int:
        return self.after.count - self.before.count

    @property
    def interest_change(self) -> Decimal:
        return self.after.total_interest - self.before.total_interest

    def as_dict(self) -> dict[str, object]:
        return {"before": self.before.as_dict(), "after": self.after.as_dict()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> Comparison:
        before, after = raw["before"], raw["after"]
        assert isinstance(before, Mapping) and isinstance(after, Mapping)
        return cls(Figures.from_dict(before), Figures.from_dict(after))


def compare(before: Schedule, after: Schedule) -> Comparison:
    """Instalment, count, last due date and interest of the schedule before and after."""
    return Comparison(Figures.of(before), Figures.of(after))


def schedule_of(
    kind: str, frequency: str, lines: Sequence[Instalment], financed: Decimal
) -> Schedule:
    """A ``Schedule`` of lines already fixed (the remaining lines of a stored plan)."""
    if not lines:
        raise ValueError("a schedule needs at least one line")
    total_principal = sum((li.principal for li in lines), _ZERO)
    total_interest = sum((li.interest for li in lines), _ZERO)
    return Schedule(
        kind=kind,
        frequency=frequency,
        lines=tuple(lines),
        total_principal=total_principal,
        total_interest=total_interest,
        total_amount=total_principal + total_interest,
        capitalised=sum((li.capitalised for li in lines), _ZERO),
        waiver=_ZERO,
        down_payment=_ZERO,
        financed=financed,
        first_due=lines[0].due_on,
        last_due=lines[-1].due_on,
    )


# --- early settlement ------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementPolicy:
    """The profile's early-settlement rule (``[plans]`` keys ``early_settlement_*``)."""

    min_on_time: int = 6
    reward_rate: Decimal = Decimal("0.5")
    reward_cap: Decimal | None = None
    pay_within_days: int = 7

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> SettlementPolicy:
        cap = section.get("early_settlement_reward_cap_minor")
        return cls(
            min_on_time=int(str(section.get("early_settlement_min_on_time", 6))),
            reward_rate=Decimal(str(section.get("early_settlement_reward_rate", "0.5"))),
            reward_cap=None if cap is None else Decimal(int(str(cap))).scaleb(-2),
            pay_within_days=int(str(section.get("early_settlement_pay_within_days", 7))),
        )


@dataclass(frozen=True)
class SettlementLine:
    """A line of the active plan with what the ledger says of it."""

    due_on: dt.date
    principal: Decimal
    interest: Decimal
    paid: Decimal
    missed: bool = False
    paid_on_time: bool = False

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest

    @property
    def unpaid_interest(self) -> Decimal:
        # Money paid on a line covers its interest first.
        return max(_ZERO, self.interest - self.paid)

    @property
    def unpaid_principal(self) -> Decimal:
        return max(_ZERO, self.amount - self.paid - self.unpaid_interest)

    @property
    def settled(self) -> bool:
        return self.paid >= self.amount


@dataclass(frozen=True)
class Quote:
    """What settling everything today costs, and the reward."""

    on_time: int
    lines_left: int
    principal: Decimal
    interest_due: Decimal
    """Unpaid interest of lines already due: owed in full."""
    interest_ahead: Decimal
    """Interest of lines not yet due: the reward is a share of it."""
    reward: Decimal
    settle_by: dt.date

    @property
    def outstanding(self) -> Decimal:
        return self.principal + self.interest_due + self.interest_ahead

    @property
    def amount(self) -> Decimal:
        """To pay by ``settle_by`` to close the plan."""
        return self.outstanding - self.reward


@dataclass(frozen=True)
class Eligibility:
    on_time: int
    reason: str | None = None
    missed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return self.reason is None


def settlement_eligibility(
    lines: Sequence[SettlementLine], policy: SettlementPolicy
) -> Eligibility:
    """Whether the borrower earned the reward; the reason when not."""
    paying = [li for li in lines if li.amount > 0]
    on_time = sum(1 for li in paying if li.settled and li.paid_on_time)
    missed = sum(1 for li in paying if li.missed)
    if not any(not li.settled for li in paying):
        return Eligibility(on_time, _("the plan is paid: there is nothing left to settle"), missed)
    if missed:
        return Eligibility(
            on_time,
            _("{n} instalment(s) missed: the reward needs a clean record").format(n=missed),
            missed,
        )
    if on_time < policy.min_on_time:
        return Eligibility(
            on_time,
            _("{paid} instalment(s) paid on time; the reward needs {need}").format(
                paid=on_time, need=policy.min_on_time
            ),
        )
    return Eligibility(on_time)


def settlement_figures(
    lines: Sequence[SettlementLine], today: dt.date, policy: SettlementPolicy
) -> Quote:
    """The settlement amount and the reward the policy gives, eligible or not."""
    left = [li for li in lines if not li.settled and li.amount > 0]
    principal = sum((li.unpaid_principal for li in left), _ZERO)
    due = sum((li.unpaid_interest for li in left if li.due_on <= today), _ZERO)
    ahead = sum((li.unpaid_interest for li in left if li.due_on > today), _ZERO)
    reward = fen(ahead * policy.reward_rate)
    if policy.reward_cap is not None:
        reward = min(reward, policy.reward_cap)
    reward = max(_ZERO, min(reward, ahead))
    on_time = sum(1 for li in lines if li.amount > 0 and li.settled and li.paid_on_time)
    return Quote(
        on_time=on_time,
        lines_left=len(left),
        principal=principal,
        interest_due=due,
        interest_ahead=ahead,
        reward=reward,
        settle_by=today + dt.timedelta(days=max(0, policy.pay_within_days)),
    )


def early_settlement_quote(
    lines: Sequence[SettlementLine], today: dt.date, policy: SettlementPolicy
) -> Quote | None:
    """The quote when the borrower is eligible; None otherwise (the reason:
    ``settlement_eligibility``)."""
    if not settlement_eligibility(lines, policy).eligible:
        return None
    return settlement_figures(lines, today, policy)


__all__ = [
    "ANNUITY",
    "EARLY_SETTLEMENT",
    "EXTEND_TERM",
    "GRACE_INTEREST_ONLY",
    "GRACE_PERIOD",
    "HARDSHIP_KINDS",
    "SUSPEND_INTEREST",
    "AdjustmentError",
    "Changes",
    "Comparison",
    "Eligibility",
    "Figures",
    "Quote",
    "Remaining",
    "SettlementLine",
    "SettlementPolicy",
    "compare",
    "early_settlement_quote",
    "reschedule",
    "schedule_of",
    "settlement_eligibility",
    "settlement_figures",
    "validate",
]
