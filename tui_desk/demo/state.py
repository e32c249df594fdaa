"""The generator's state: precomputed tables, id counters, visit slots, row buffers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui_desk.demo.days import Calendar, days_near
from tui_desk.demo.reference import (
    CITIES,
    COMPOUND_SURNAMES,
    DEPTH,
    GIVEN,
    MOBILE_PREFIXES,
    PHONE_OUTCOMES,
    PRODUCTS,
    SLOTS_LOCAL,
    SMS_OUTCOMES,
    STAGE_SHARES,
    STREAM_SEQ,
    STREAM_SLOTS,
    SURNAMES,
    TZ_OFFSET,
    weighted_table,
)
from tui_desk.demo.tables import Row
from tui_desk.rules.allocation import Owed, allocation_order
from tui_desk.rules.balance import PaidFacts, case_balance
from tui_desk.rules.balance import PlanFacts as BalancePlan
from tui_desk.rules.idcard import WEIGHTS
from tui_desk.rules.profile import PriorityWeights, load_profile
from tui_desk.services.agreements import load_template
from tui_desk.services.followups import follow_up_calendar, follow_up_policy
from tui_desk.services.ledger import missed_after_days


@dataclass(frozen=True)
class PlanFacts:
    plan_id: int
    schedule: list[tuple[int, int]]  # (due day, amount) per instalment
    down_minor: int
    waiver_minor: int
    kind_rate: float = 0.0  # the annual rate (a fraction)
    lines: tuple[
        tuple[int, int, int, int, int], ...
    ] = ()  # seq, due day, principal, interest, amount


@dataclass
class Case:
    """The facts of one case that its history is built from (journey cases only)."""

    case_id: int
    depth: int
    city: int
    district: str
    address: str
    name: str
    id_number: str
    owner: int
    total_minor: int
    primary_account: int
    borrower_phone: int
    start: int = 0  # overdue-since day
    payments: int = 0
    # (account number, outstanding principal, interest, penalty, fees) per account.
    accounts: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    phone_e164: str = ""
    # A case pinned to its stage (so that every stage appears) keeps its plan paid.
    keep_stage: bool = False
    missed_lines: int = 0  # instalments of the active plan the ledger calls missed
    # The case's ledger as written so far, for the stored figures (``ledger_overdue``).
    paid: list[PaidFacts] = field(default_factory=list)
    plan_in_force: BalancePlan | None = None
    plan_in_force_active: bool = False


class GeneratorState:
    """The generator's state and the small steps every part of a case's history uses."""

    def __init__(
        self,
        *,
        seed: int,
        now: dt.datetime,
        next_ids: dict[str, int],
        operators: list[int],
        collectors_by_city: list[list[int]],
        supervisors: list[int],
        weights: PriorityWeights,
        stream: int,
    ) -> None:
        self.seed = seed
        self.weights = weights
        # The seed is written as the desk would write it under the default profile:
        # agreements on its standard form, the ledger's grace, its follow-up cadence.
        self.profile = load_profile("cn")
        self.dpd_bounds = self.profile.dpd_bounds
        settings = self.profile.section("agreement")
        self.agreement_template = load_template(
            str(settings.get("template", "repayment")), str(settings.get("language", "zh_CN"))
        )
        self.missed_after_days = missed_after_days(self.profile)
        self.allocation_order = allocation_order(self.profile.section("plans"))
        self.follow_up_policy = follow_up_policy(self.profile)
        self.follow_up_calendar = follow_up_calendar(self.profile, self.follow_up_policy)
        self.operators = operators
        self.collectors_by_city = collectors_by_city
        self.supervisors = supervisors
        self.first_borrower = next_ids["borrower"]
        self.first_case = next_ids["collection_case"]
        # Borrower and case ids follow from a case's position; the main stream numbers the
        # other tables from the database's next ids, the tail stream from 0 (shifted when
        # written, once the main stream's counts are known).
        self.ids = dict(next_ids) if stream == 0 else dict.fromkeys(next_ids, 0)
        # The streams never share a visit slot or an ID sequence number, so they can run in
        # different processes and still never double-book a collector or repeat an ID.
        self.slot_order = STREAM_SLOTS[stream]
        self.seq_low, self.seq_span = STREAM_SEQ[stream]
        local_today = (now + dt.timedelta(minutes=TZ_OFFSET)).date()
        base = local_today - dt.timedelta(days=3000)
        self.cal = Calendar(base, 3000 + 1500)
        self.today = 3000
        midnight = dt.datetime.combine(base, dt.time(), tzinfo=dt.UTC)
        self.now_min = int((now - midnight).total_seconds() // 60)
        self.day_index = {d: i for i, d in enumerate(self.cal.day)}
        self.slots: dict[tuple[int, int], int] = {}
        self.docs_ready = False  # the current case's documents are all verified
        self.seen_ids: dict[int, int] = {}
        self.rows: dict[str, list[Row]] = {}

        birth_first = local_today.replace(year=local_today.year - 65)
        birth_days = (local_today.replace(year=local_today.year - 22) - birth_first).days
        births = [birth_first + dt.timedelta(days=i) for i in range(birth_days)]
        self.birth8 = [b.strftime("%Y%m%d") for b in births]
        self.birth_weight = [
            sum(int(c) * w for c, w in zip(s, WEIGHTS[6:14], strict=True)) for s in self.birth8
        ]
        self.seq3 = [f"{i:03d}" for i in range(1000)]
        self.seq_weight = [
            sum(int(c) * w for c, w in zip(s, WEIGHTS[14:], strict=True)) for s in self.seq3
        ]
        self.district_table: list[tuple[int, int, str, str, int]] = []
        for ci, city in enumerate(CITIES):
            for code, district in city.districts:
                weight = sum(int(c) * w for c, w in zip(code, WEIGHTS[:6], strict=True))
                per_district = max(1, city.weight * 60 // len(city.districts))
                entry = (ci, int(code), code, district, weight)
                self.district_table += [entry] * per_district
        self.stage_table: list[tuple[str, int]] = weighted_table(
            [((stage.value, DEPTH[stage]), share) for stage, share in STAGE_SHARES]
        )
        self.product_table: list[tuple[Any, ...]] = weighted_table(
            [
                (
                    (
                        p.name,
                        p.low_yuan,
                        p.steps,
                        p.step_yuan,
                        p.rates_bp,
                        p.terms,
                        p.monthly_fee_minor,
                    ),
                    w,
                )
                for p, w in PRODUCTS
            ]
        )
        # Names and addresses are drawn from precomputed pools: one lookup instead of
        # several draws and a format per value.
        self.surname_pool: list[str] = [*SURNAMES] * 4 + [*COMPOUND_SURNAMES]
        single = [*GIVEN] * round(0.38 * len(GIVEN) / 0.62)
        self.given_pool: list[str] = single + [a + b for a in GIVEN for b in GIVEN]
        self.street_numbers: dict[int, list[str]] = {
            int(code): [
                f"{city.name}市{district}{street}{n}号"
                for street in city.streets
                for n in range(1, 400)
            ]
            for city in CITIES
            for code, district in city.districts
        }
        self.flats: list[str] = [
            f"{b}栋{u}单元{f}{d:02d}室"
            for b in range(1, 31)
            for u in range(1, 5)
            for f in range(1, 29)
            for d in range(1, 5)
        ]
        self.phone_outcomes: list[str] = weighted_table([(o.value, w) for o, w in PHONE_OUTCOMES])
        self.sms_outcomes: list[str] = weighted_table([(o.value, w) for o, w in SMS_OUTCOMES])

    # -- helpers --------------------------------------------------------------------------

    def _mobile(self, r: Callable[[], float]) -> str:
        return f"+86{MOBILE_PREFIXES[int(r() * 14)]}{int(r() * 100_000_000):08d}"

    def _landline(self, r: Callable[[], float], city: int) -> str:
        return f"+86{CITIES[city].area_code}{2 + int(r() * 6)}{int(r() * 10_000_000):07d}"

    def _local(self, day: int, local_minute: int) -> int:
        return day * 1440 + local_minute - TZ_OFFSET

    def _next_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def _add(self, table: str, row: Row) -> None:
        self.rows[table].append(row)

    def _book_slot(
        self, r: Callable[[], float], city: int, day: int, lo: int, hi: int, forward_only: bool
    ) -> tuple[int, int, int] | None:
        """A free (collector, day, local start) near ``day`` within [lo, hi], or None.

        Collectors keep a fixed grid of visit slots, so two visits of one collector never
        overlap and always leave the travel buffer between them. Sundays are not worked.
        """
        pool = self.collectors_by_city[city]
        weekday = self.cal.weekday
        for candidate in days_near(day, lo, hi, forward_only):
            if weekday[candidate] == 6:
                continue
            offset = int(r() * len(pool))
            for k in range(len(pool)):
                collector = pool[(offset + k) % len(pool)]
                used = self.slots.get((collector, candidate), 0)
                slots = self.slot_order
                first = int(r() * len(slots))
                for j in range(len(slots)):
                    slot = slots[(first + j) % len(slots)]
                    if not used & (1 << slot):
                        self.slots[(collector, candidate)] = used | (1 << slot)
                        return collector, candidate, SLOTS_LOCAL[slot]
        return None

    def _payment(
        self,
        case: Case,
        amount: int,
        paid_day: int,
        channel: str,
        reference: str,
        recorded_by: int | None,
    ) -> int:
        payment_id = self._next_id("payment")
        case.payments += 1
        case.paid.append(PaidFacts(self.cal.dates[paid_day], amount))
        self._add("payment", (
            payment_id, f"PY{case.case_id:010d}{case.payments:02d}", case.case_id,
            case.primary_account, amount,
            self.cal.day[paid_day], channel, reference, recorded_by,
            self.cal.ts(self._local(paid_day, 1200)),
        ))  # fmt: skip
        return payment_id

    def ledger_overdue(
        self,
        first_account: int,
        accounts: list[tuple[str, int, int, int, int]],
        accounts_overdue: int,
        paid: list[PaidFacts],
        plan: BalancePlan | None,
    ) -> int:
        """The case's overdue figure as the ledger computes it (``rules.balance``), so the
        seed stores what the desk's ``recompute`` and the worker's ``ledger_figures`` would."""
        if not paid and plan is None:
            return accounts_overdue
        components = ("principal", "interest", "penalty", "fees")
        owed = [
            Owed(first_account + k, component, figure)
            for k, (_number, *figures) in enumerate(accounts)
            for component, figure in zip(components, figures, strict=True)
            if component in self.allocation_order
        ]
        balance = case_balance(
            owed,
            accounts_overdue,
            self.allocation_order,
            paid,
            plan,
            (),
            self.cal.dates[self.today],
            self.missed_after_days,
        )
        return balance.overdue_minor
