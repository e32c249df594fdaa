"""Repayment plans (PROCESS.md step 5): the instalment schedule of a plan, and its limits.

Pure functions of the plan request and the profile's ``[plans]`` section; no clock.

Money is ``Decimal`` in major units with two decimals (yuan and fen); the database keeps
minor units (``to_minor`` / ``from_minor``). Every figure is rounded half-up to the fen
as it is computed, and the last instalment absorbs what rounding left, so the balance
closes at exactly 0.00.

What a plan covers:

- ``principal``: the outstanding principal (and any fees the bank folds in);
- ``overdue_interest``: overdue interest accrued to the plan date, also covered;
- ``waiver``: the part of that overdue interest the bank forgives (0 ≤ waiver ≤
  overdue_interest). It is not a line of the schedule; the schedule carries it so the
  ledger can book it as its own line.
- ``owed`` = principal + overdue_interest − waiver: what the borrower repays before plan
  interest;
- ``down_payment`` (0 ≤ down_payment < owed): paid first, as its own line (``seq`` 0) due
  on ``down_payment_on`` or, by default, the first due date;
- ``financed`` = owed − down_payment: the balance the instalments repay, with plan interest.

Plan interest for a period is the balance × the periodic rate (annual_rate, a fraction,
divided by the periods in a year); the first period counts as a whole period. The
``instalments`` due dates are first_due + k periods (calendar months for monthly and
quarterly, computed from first_due each time so a 31st returns to the 31st where the month
has one; 7 or 14 days for weekly and biweekly). The first ``grace_periods`` of them are
grace lines: "interest_only" pays the period's interest, "capitalised" pays nothing and
adds the interest to the balance. The rest amortise the balance:

- "annuity" (等额本息): equal instalments, each the level payment rounded to the fen;
- "equal_principal" (等额本金): equal principal parts plus the period's interest;
- "interest_free": equal principal parts, no interest at all (the rate is not used).

Totals of a ``Schedule``:

- total_principal = Σ line principal = owed + capitalised;
- total_interest = Σ line interest (interest paid in instalments);
- capitalised = interest added to the balance during capitalised grace;
- total_amount = Σ line amount = total_principal + total_interest
  = principal + overdue_interest + interest_cost − waiver,
  where interest_cost = total_interest + capitalised is all the plan interest.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from dateutil.relativedelta import relativedelta

from tui_desk.i18n import N_, _

ANNUITY = "annuity"
EQUAL_PRINCIPAL = "equal_principal"
INTEREST_FREE = "interest_free"
PLAN_KINDS = (ANNUITY, EQUAL_PRINCIPAL, INTEREST_FREE)

WEEKLY = "weekly"
BIWEEKLY = "biweekly"
MONTHLY = "monthly"
QUARTERLY = "quarterly"
PERIODS_PER_YEAR: Mapping[str, int] = {WEEKLY: 52, BIWEEKLY: 26, MONTHLY: 12, QUARTERLY: 4}
FREQUENCIES = tuple(PERIODS_PER_YEAR)

GRACE_NONE = "none"
GRACE_INTEREST_ONLY = "interest_only"
GRACE_CAPITALISED = "capitalised"
GRACE_MODES = (GRACE_NONE, GRACE_INTEREST_ONLY, GRACE_CAPITALISED)

LineKind = Literal["down_payment", "grace", "regular"]
DOWN_PAYMENT: LineKind = "down_payment"
GRACE: LineKind = "grace"
REGULAR: LineKind = "regular"

_FEN = Decimal("0.01")
_ZERO = Decimal("0.00")
_PRECISION = 40
_DEFAULT_MAX_MONTHS = 60
_DEFAULT_MAX_ANNUAL_RATE = Decimal(1)

_FREQUENCY_LABELS: Mapping[str, str] = {
    WEEKLY: N_("weekly"),
    BIWEEKLY: N_("biweekly"),
    MONTHLY: N_("monthly"),
    QUARTERLY: N_("quarterly"),
}
_MONTH_STEPS: Mapping[str, int] = {MONTHLY: 1, QUARTERLY: 3}
_DAY_STEPS: Mapping[str, int] = {WEEKLY: 7, BIWEEKLY: 14}


# --- money ------------------------------------------------------------------------------


def fen(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to the fen (two decimals)."""
    return amount.quantize(_FEN, rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal) -> int:
    """Major units to minor units (12.34 -> 1234), rounding half-up to the fen."""
    return int(fen(amount).scaleb(2))


def from_minor(amount_minor: int) -> Decimal:
    """Minor units to major units with two decimals (1234 -> Decimal("12.34"))."""
    return Decimal(amount_minor).scaleb(-2)


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _is_fen(amount: Decimal) -> bool:
    return amount.is_finite() and amount == fen(amount)


# --- limits and request -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanLimits:
    """The profile's ``[plans]`` limits: a plan runs at most ``max_months`` (whatever its
    frequency: 60 months = 60 monthly, 20 quarterly, 130 biweekly or 260 weekly
    instalments) at an annual rate below ``max_annual_rate``."""

    max_months: int = _DEFAULT_MAX_MONTHS
    max_annual_rate: Decimal = _DEFAULT_MAX_ANNUAL_RATE

    def __post_init__(self) -> None:
        if self.max_months <= 0:
            raise ValueError("plans: max_months must be positive")
        if self.max_annual_rate <= 0:
            raise ValueError("plans: max_annual_rate must be positive")

    @classmethod
    def from_section(cls, section: Mapping[str, object]) -> PlanLimits:
        """Build from ``profile.section("plans")``; missing keys fall back to defaults."""
        months = section.get("max_months", section.get("max_monthly_instalments"))
        rate = section.get("max_annual_rate")
        return cls(
            max_months=_DEFAULT_MAX_MONTHS if months is None else int(str(months)),
            max_annual_rate=_DEFAULT_MAX_ANNUAL_RATE if rate is None else Decimal(str(rate)),
        )

    def max_instalments(self, frequency: str) -> int:
        """The most instalments of ``frequency`` that fit in ``max_months``."""
        return self.max_months * PERIODS_PER_YEAR[frequency] // 12


@dataclass(frozen=True)
class PlanRequest:
    kind: str
    principal: Decimal
    annual_rate: Decimal  # a fraction: 0.12 for 12 % a year
    instalments: int  # periodic due dates, grace periods included
    frequency: str
    first_due: dt.date
    down_payment: Decimal = _ZERO
    overdue_interest: Decimal = _ZERO
    waiver: Decimal = _ZERO
    grace_periods: int = 0
    grace_mode: str = GRACE_NONE
    down_payment_on: dt.date | None = None  # default: first_due

    @property
    def owed(self) -> Decimal:
        """What the borrower repays before plan interest."""
        return self.principal + self.overdue_interest - self.waiver

    @property
    def financed(self) -> Decimal:
        """The balance the instalments repay."""
        return self.owed - self.down_payment

    @property
    def periodic_rate(self) -> Decimal:
        """The rate of one period (0 for an interest-free plan)."""
        if self.kind == INTEREST_FREE:
            return Decimal(0)
        with decimal.localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.annual_rate / PERIODS_PER_YEAR[self.frequency]


# --- the schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Instalment:
    seq: int  # 0 for the down payment, then 1..instalments
    due_on: dt.date
    principal: Decimal
    interest: Decimal
    amount: Decimal  # principal + interest
    balance_after: Decimal
    kind: LineKind
    capitalised: Decimal = _ZERO  # interest added to the balance (capitalised grace)


@dataclass(frozen=True)
class Schedule:
    kind: str
    frequency: str
    lines: tuple[Instalment, ...]
    total_principal: Decimal
    total_interest: Decimal
    total_amount: Decimal
    capitalised: Decimal
    waiver: Decimal
    down_payment: Decimal
    financed: Decimal
    first_due: dt.date  # of the first periodic instalment
    last_due: dt.date

    @property
    def instalments(self) -> tuple[Instalment, ...]:
        """The periodic lines (grace and regular), without the down payment."""
        return tuple(line for line in self.lines if line.kind != DOWN_PAYMENT)

    @property
    def regular(self) -> tuple[Instalment, ...]:
        return tuple(line for line in self.lines if line.kind == REGULAR)

    @property
    def count(self) -> int:
        """Number of periodic instalments (grace included, down payment not)."""
        return len(self.instalments)

    @property
    def regular_amount(self) -> Decimal:
        """The first regular instalment: the level payment of an annuity or interest-free
        plan, the largest payment of an equal-principal plan."""
        return self.regular[0].amount

    @property
    def monthly_amount(self) -> Decimal:
        """``regular_amount`` as a monthly figure (the same for a monthly plan)."""
        return monthly_equivalent(self.regular_amount, self.frequency)

    @property
    def max_instalment(self) -> Decimal:
        """The largest periodic instalment (the down payment is not one)."""
        return max(line.amount for line in self.instalments)

    @property
    def max_regular(self) -> Decimal:
        return max(line.amount for line in self.regular)

    @property
    def interest_cost(self) -> Decimal:
        """All plan interest: paid in instalments plus capitalised."""
        return self.total_interest + self.capitalised


class PlanError(ValueError):
    """The request breaks one or more plan rules; ``problems`` lists them."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def monthly_equivalent(amount: Decimal, frequency: str) -> Decimal:
    """What ``amount`` every period of ``frequency`` comes to a month (to the fen)."""
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        return fen(amount * PERIODS_PER_YEAR[frequency] / 12)


def due_dates(first_due: dt.date, frequency: str, count: int) -> list[dt.date]:
    """``count`` due dates from ``first_due``; calendar months are counted from
    ``first_due`` each time (31 Jan, 29 Feb, 31 Mar, ...)."""
    months = _MONTH_STEPS.get(frequency)
    if months is not None:
        return [first_due + relativedelta(months=k * months) for k in range(count)]
    days = _DAY_STEPS[frequency]
    return [first_due + dt.timedelta(days=k * days) for k in range(count)]


def frequency_label(frequency: str) -> str:
    return _(_FREQUENCY_LABELS[frequency])


# --- the rules --------------------------------------------------------------------------


def validate(request: PlanRequest, limits: PlanLimits) -> list[str]:
    """Every rule ``request`` breaks, one sentence each; [] means a schedule can be built."""
    out: list[str] = []
    known = True
    if request.kind not in PLAN_KINDS:
        out.append(_("unknown plan kind {kind}").format(kind=request.kind))
        known = False
    if request.frequency not in PERIODS_PER_YEAR:
        out.append(_("unknown frequency {frequency}").format(frequency=request.frequency))
        known = False
    if request.grace_mode not in GRACE_MODES:
        out.append(_("unknown grace mode {mode}").format(mode=request.grace_mode))
        known = False

    money = (
        (_("principal"), request.principal),
        (_("down payment"), request.down_payment),
        (_("overdue interest"), request.overdue_interest),
        (_("waiver"), request.waiver),
    )
    for label, value in ((_("annual rate"), request.annual_rate), *money):
        if not value.is_finite():
            out.append(_("the {field} must be a number").format(field=label))
            known = False
    if not known:
        return out
    for label, value in money:
        if not _is_fen(value):
            out.append(
                _("the {field} {amount} has more than two decimals").format(
                    field=label, amount=value
                )
            )

    if request.principal <= 0:
        out.append(_("the principal must be more than 0.00"))
    if request.annual_rate < 0:
        out.append(_("the annual rate cannot be negative"))
    elif request.annual_rate >= limits.max_annual_rate and request.kind != INTEREST_FREE:
        out.append(
            _("an annual rate of {rate} is not allowed: it must be below {max}").format(
                rate=_percent(request.annual_rate) + "%", max=_percent(limits.max_annual_rate) + "%"
            )
        )

    if request.instalments < 1:
        out.append(_("a plan needs at least one instalment"))
    else:
        most = limits.max_instalments(request.frequency)
        if request.instalments > most:
            out.append(
                _(
                    "{count} {frequency} instalments is too many: this profile allows at most"
                    " {most} ({months} months)"
                ).format(
                    count=request.instalments,
                    frequency=frequency_label(request.frequency),
                    most=most,
                    months=limits.max_months,
                )
            )

    if request.overdue_interest < 0:
        out.append(_("the overdue interest cannot be negative"))
    if request.waiver < 0:
        out.append(_("the waiver cannot be negative"))
    elif request.waiver > request.overdue_interest:
        out.append(
            _("the waiver ({waiver}) is more than the overdue interest ({interest})").format(
                waiver=_money(request.waiver), interest=_money(max(request.overdue_interest, _ZERO))
            )
        )
    if request.down_payment < 0:
        out.append(_("the down payment cannot be negative"))
    elif 0 < request.owed <= request.down_payment:
        out.append(
            _(
                "the down payment ({down}) must be less than the amount to repay ({owed});"
                " settle in full instead"
            ).format(down=_money(request.down_payment), owed=_money(request.owed))
        )
    if (
        request.down_payment > 0
        and request.down_payment_on is not None
        and request.down_payment_on > request.first_due
    ):
        out.append(
            _("the down payment is due {date}, after the first instalment ({first})").format(
                date=request.down_payment_on.isoformat(), first=request.first_due.isoformat()
            )
        )

    if request.grace_periods < 0:
        out.append(_("the number of grace periods cannot be negative"))
    elif request.grace_periods > 0:
        if request.instalments >= 1 and request.grace_periods >= request.instalments:
            out.append(
                _(
                    "{grace} grace periods leave no instalment to repay in: the plan has"
                    " {count} in all"
                ).format(grace=request.grace_periods, count=request.instalments)
            )
        if request.grace_mode == GRACE_NONE:
            out.append(_("say how the grace periods work: interest only, or interest capitalised"))
    elif request.grace_mode != GRACE_NONE:
        out.append(_("a grace mode needs at least one grace period"))
    return out


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def build_schedule(request: PlanRequest, limits: PlanLimits) -> Schedule:
    """The schedule of ``request``; raises ``PlanError`` listing every broken rule."""
    problems = validate(request, limits)
    if problems:
        raise PlanError(problems)
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        return _build(request)


def _build(request: PlanRequest) -> Schedule:
    rate = request.periodic_rate
    dates = due_dates(request.first_due, request.frequency, request.instalments)
    lines: list[Instalment] = []
    # Validated amounts are whole fen; quantising only fixes their exponent (1000 -> 1000.00).
    balance = fen(request.financed)
    down = fen(request.down_payment)
    if down > 0:
        on = request.down_payment_on or request.first_due
        lines.append(Instalment(0, on, down, _ZERO, down, balance, DOWN_PAYMENT))

    capitalised = _ZERO
    for seq in range(1, request.grace_periods + 1):
        interest = fen(balance * rate)
        if request.grace_mode == GRACE_CAPITALISED:
            balance += interest
            capitalised += interest
            line = Instalment(seq, dates[seq - 1], _ZERO, _ZERO, _ZERO, balance, GRACE, interest)
        else:
            line = Instalment(seq, dates[seq - 1], _ZERO, interest, interest, balance, GRACE)
        lines.append(line)

    first = request.grace_periods + 1
    periods = request.instalments - request.grace_periods
    if request.kind == ANNUITY and rate > 0:
        level = fen(balance * rate / (1 - (1 + rate) ** -periods))
        part_of = None
    else:
        level = None
        part_of = fen(balance / periods)
    for seq in range(first, request.instalments + 1):
        interest = fen(balance * rate)
        if seq == request.instalments:
            part = balance
        elif level is not None:
            part = min(max(level - interest, _ZERO), balance)
        else:
            assert part_of is not None
            part = min(part_of, balance)
        balance -= part
        lines.append(
            Instalment(seq, dates[seq - 1], part, interest, part + interest, balance, REGULAR)
        )

    total_principal = sum((line.principal for line in lines), _ZERO)
    total_interest = sum((line.interest for line in lines), _ZERO)
    return Schedule(
        kind=request.kind,
        frequency=request.frequency,
        lines=tuple(lines),
        total_principal=total_principal,
        total_interest=total_interest,
        total_amount=total_principal + total_interest,
        capitalised=capitalised,
        waiver=fen(request.waiver),
        down_payment=down,
        financed=fen(request.financed),
        first_due=dates[0],
        last_due=dates[-1],
    )


def affordability_problem(schedule: Schedule, affordable_monthly: Decimal | None) -> str | None:
    """A sentence when the largest regular instalment, as a monthly figure, is more than
    the borrower can afford a month (from the visit report); None when within means or
    when affordability is unknown. The down payment is a one-off and not compared."""
    if affordable_monthly is None:
        return None
    biggest = schedule.max_regular
    monthly = monthly_equivalent(biggest, schedule.frequency)
    if monthly <= affordable_monthly:
        return None
    if schedule.frequency == MONTHLY:
        return _(
            "the largest instalment, {amount} a month, is more than the borrower can afford"
            " ({affordable} a month, from the visit report)"
        ).format(amount=_money(biggest), affordable=_money(affordable_monthly))
    return _(
        "the largest instalment, {amount} {frequency} (about {monthly} a month), is more than"
        " the borrower can afford ({affordable} a month, from the visit report)"
    ).format(
        amount=_money(biggest),
        frequency=frequency_label(schedule.frequency),
        monthly=_money(monthly),
        affordable=_money(affordable_monthly),
    )
