"""A case's credit: money paid beyond what was owed, refunded or applied by a supervisor.

The credit is never kept by hand: it is what the ledger computes (``ledger.read_balance``:
payments beyond what the accounts or the plan asked for, less the moves made). A
supervisor either **refunds** it (the money goes back to the borrower; an archived case's
credit too) or **applies** it to what the case owes now (it then counts as a payment
on the day it is applied). Each move is one transaction with its audit event, and the
case's stored figures follow from the same computation.
"""

from __future__ import annotations

from tui_desk.db.models import CreditMove, CreditMoveKind
from tui_desk.formatting import money
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit, ledger
from tui_desk.services.case_state import (
    guard_lease,
    load_for_edit,
    office_today,
    over_lease,
    recompute_priority,
)
from tui_desk.services.contacts import required_reason
from tui_desk.services.context import Context
from tui_desk.services.errors import ServiceError
from tui_desk.views.case import CreditMoved


def move_credit(
    ctx: Context,
    case_id: int,
    *,
    kind: CreditMoveKind,
    reason: str,
    amount_minor: int | None = None,
    expected_version: int | None = None,
) -> CreditMoved:
    """Refund or apply the case's credit (all of it that fits when no amount is given).

    Supervisors only. A refund may be made on an archived case (its credit is still the
    borrower's money); applying needs something owed, and never more than that.
    """
    ctx.actor.require(Action.MANAGE_CREDIT)
    kind = CreditMoveKind(kind)
    why = required_reason(
        reason,
        _("refunding a credit needs a reason")
        if kind is CreditMoveKind.REFUND
        else _("applying a credit needs a reason"),
    )
    if amount_minor is not None and (
        not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0
    ):
        raise ServiceError(_("amount: a credit moved must be a positive amount"))
    now = ctx.now()
    prof = ctx.profile
    with ctx.db.write() as s:
        case = load_for_edit(
            s,
            case_id,
            expected_version=expected_version,
            allow_closed=kind is CreditMoveKind.REFUND,
        )
        over = guard_lease(s, case, ctx, override_reason=why)
        before = ledger.read_balance(s, case.id, now, prof)
        credit = before.credit_minor
        if credit <= 0:
            raise ServiceError(
                _("case {id} has no credit to {what}").format(
                    id=case.id,
                    what=_("refund") if kind is CreditMoveKind.REFUND else _("apply"),
                )
            )
        limit = credit
        if kind is CreditMoveKind.APPLY:
            if before.outstanding_minor <= 0:
                raise ServiceError(
                    _("case {id} owes nothing: there is nothing to apply its credit to").format(
                        id=case.id
                    )
                )
            limit = min(credit, before.outstanding_minor)
        amount = limit if amount_minor is None else amount_minor
        if amount > credit:
            raise ServiceError(
                _("amount: the case's credit is {credit}").format(
                    credit=money(credit, prof.currency)
                )
            )
        if amount > limit:
            raise ServiceError(
                _("amount: the case owes {owed}; apply at most that").format(
                    owed=money(before.outstanding_minor, prof.currency)
                )
            )
        move = CreditMove(
            case_id=case.id,
            kind=kind,
            amount_minor=amount,
            moved_on=office_today(now, prof),
            reason=why,
            moved_by_id=ctx.actor.id,
            moved_at=now,
        )
        s.add(move)
        s.flush()
        if kind is CreditMoveKind.APPLY:
            ledger.recompute(s, case, now, prof)
        recompute_priority(case, now, prof)
        after = ledger.read_balance(s, case.id, now, prof)
        audit.record(
            s,
            ctx.actor,
            f"credit.{kind.value}",
            "credit_move",
            move.id,
            f"{ctx.actor.login} {'refunded' if kind is CreditMoveKind.REFUND else 'applied'} "
            f"{amount} of the credit on case {case.id}",
            now=now,
            case_id=case.id,
            before={"credit_minor": credit, "outstanding_minor": before.outstanding_minor},
            after={
                "amount_minor": amount,
                "reason": why,
                "credit_minor": after.credit_minor,
                "outstanding_minor": after.outstanding_minor,
                **over_lease(over, why),
            },
        )
        return CreditMoved(
            move_id=move.id,
            kind=kind.value,
            amount_minor=amount,
            credit_left_minor=after.credit_minor,
            outstanding_minor=after.outstanding_minor,
        )


def refund_credit(
    ctx: Context,
    case_id: int,
    *,
    reason: str,
    amount_minor: int | None = None,
    expected_version: int | None = None,
) -> CreditMoved:
    """A supervisor refunds the case's credit to the borrower (audited)."""
    return move_credit(
        ctx,
        case_id,
        kind=CreditMoveKind.REFUND,
        reason=reason,
        amount_minor=amount_minor,
        expected_version=expected_version,
    )


def apply_credit(
    ctx: Context,
    case_id: int,
    *,
    reason: str,
    amount_minor: int | None = None,
    expected_version: int | None = None,
) -> CreditMoved:
    """A supervisor applies the case's credit to what it owes now (audited)."""
    return move_credit(
        ctx,
        case_id,
        kind=CreditMoveKind.APPLY,
        reason=reason,
        amount_minor=amount_minor,
        expected_version=expected_version,
    )
