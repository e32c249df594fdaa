"""Payment allocation: which account and component a payment pays off.

Pure and in integer minor units only. The profile's ``[plans] allocation_order`` sets the
order of components (e.g. fees, penalty, interest, principal). Each component is filled
across all accounts before the next gets anything; within one component the accounts are
paid in the order given (the caller lists them oldest first). Nothing is allocated beyond
what is owed: what is left over is the remainder (an overpayment), reported separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_ORDER = ("fees", "penalty", "interest", "principal")


def allocation_order(section: Mapping[str, object]) -> tuple[str, ...]:
    """The component order from ``profile.section("plans")`` (default fees, penalty,
    interest, principal)."""
    value = section.get("allocation_order")
    if value is None:
        return DEFAULT_ORDER
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("plans: allocation_order must be a non-empty list")
    order = tuple(str(c) for c in value)
    if len(set(order)) != len(order):
        raise ValueError("plans: allocation_order lists a component twice")
    return order


@dataclass(frozen=True)
class Owed:
    account_id: int
    component: str
    amount_minor: int


@dataclass(frozen=True)
class Allocated:
    account_id: int
    component: str
    amount_minor: int


@dataclass(frozen=True)
class Allocation:
    payment_minor: int
    lines: tuple[Allocated, ...]  # in allocation order; only positive amounts
    remainder_minor: int  # overpayment: more than everything owed

    @property
    def allocated_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    def by_component(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.component] = out.get(line.component, 0) + line.amount_minor
        return out

    def by_account(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for line in self.lines:
            out[line.account_id] = out.get(line.account_id, 0) + line.amount_minor
        return out

    def by_account_component(self) -> dict[tuple[int, str], int]:
        """(account, component) -> amount allocated."""
        out: dict[tuple[int, str], int] = {}
        for line in self.lines:
            key = (line.account_id, line.component)
            out[key] = out.get(key, 0) + line.amount_minor
        return out

    def for_account(self, account_id: int) -> dict[str, int]:
        """Component -> amount allocated to one account."""
        out: dict[str, int] = {}
        for line in self.lines:
            if line.account_id == account_id:
                out[line.component] = out.get(line.component, 0) + line.amount_minor
        return out


def allocate(amount_minor: int, owed: Sequence[Owed], order: Sequence[str]) -> Allocation:
    """Allocate a payment of ``amount_minor`` across ``owed`` (accounts oldest first).

    Raises ValueError for a negative payment or amount owed, a component missing from
    ``order``, or a component listed twice in ``order``.
    """
    if amount_minor < 0:
        raise ValueError(f"payment cannot be negative: {amount_minor}")
    rank = {component: i for i, component in enumerate(order)}
    if len(rank) != len(order):
        raise ValueError("allocation order lists a component twice")
    for item in owed:
        if item.amount_minor < 0:
            raise ValueError(f"amount owed cannot be negative: {item}")
        if item.component not in rank:
            raise ValueError(f"component {item.component!r} is not in the allocation order")
    # sorted() is stable: within one component the given account order stands.
    queue = sorted(owed, key=lambda item: rank[item.component])
    left = amount_minor
    lines: list[Allocated] = []
    for item in queue:
        if left == 0:
            break
        paid = min(left, item.amount_minor)
        if paid > 0:
            lines.append(Allocated(item.account_id, item.component, paid))
            left -= paid
    return Allocation(payment_minor=amount_minor, lines=tuple(lines), remainder_minor=left)
