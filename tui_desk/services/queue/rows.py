"""What a queue page shows: one row per case, read by primary key, and why it stands there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tui_desk.db.models import Agent, Borrower, Phone, PhoneKind, Relation
from tui_desk.formatting import why as why_text
from tui_desk.i18n import _, ngettext
from tui_desk.rules.masking import mask_phone
from tui_desk.rules.profile import Profile
from tui_desk.services.case_facts import CaseFacts, dpd_and_reason, national_number
from tui_desk.services.queue.tables import CASE
from tui_desk.views.queue import QueueKey, QueueRow


def preferred_phones(session: Session, borrower_ids: Sequence[int]) -> dict[int, str]:
    """Each borrower's number an operator would dial first: their own, mobile, callable.

    The same choice as the case header (desk.preferred_phone), read as plain rows: ORM
    objects for every number on a page cost more than the rest of the page together.
    """
    p = Phone.__table__.c
    rows = session.connection().execute(
        select(p.borrower_id, p.e164, p.kind, p.do_not_call, p.id).where(
            p.borrower_id.in_(borrower_ids), p.relation == Relation.BORROWER
        )
    )
    best: dict[int, tuple[tuple[bool, bool, int], str]] = {}
    for borrower_id, e164, kind, do_not_call, phone_id in rows:
        rank = (bool(do_not_call), kind != PhoneKind.MOBILE, phone_id)
        if borrower_id not in best or rank < best[borrower_id][0]:
            best[borrower_id] = (rank, e164)
    return {borrower_id: e164 for borrower_id, (_rank, e164) in best.items()}


def page_rows(
    session: Session, keys: Sequence[QueueKey], now: dt.datetime, prof: Profile
) -> list[QueueRow]:
    if not keys:
        return []
    c = CASE.c
    owner = aliased(Agent)
    holder = aliased(Agent)
    stmt = (
        select(
            c.id,
            c.borrower_id,
            c.overdue_since,
            c.overdue_minor,
            c.broken_promises,
            c.next_action_at,
            c.stage,
            c.on_hold,
            c.stale,
            c.registered,
            c.owner_id,
            c.lease_holder_id,
            c.lease_expires_at,
            c.callback_at,
            c.priority_boost,
            Borrower.name,
            owner.name,
            holder.name,
        )
        .join_from(CASE, Borrower, Borrower.id == c.borrower_id)
        .outerjoin(owner, owner.id == c.owner_id)
        .outerjoin(holder, holder.id == c.lease_holder_id)
        .where(c.id.in_([case_id for _, case_id in keys]))
    )
    by_id = {row[0]: row for row in session.connection().execute(stmt)}
    dial = preferred_phones(session, [row[1] for row in by_id.values()])
    today = now.astimezone(ZoneInfo(prof.office_timezone)).date()
    rows: list[QueueRow] = []
    for priority, case_id in keys:
        row = by_id.get(case_id)
        if row is None:  # gone between the two reads
            continue
        (
            _id,
            borrower_id,
            overdue_since,
            overdue_minor,
            broken,
            next_action_at,
            stage,
            on_hold,
            stale,
            registered,
            owner_id,
            lease_holder_id,
            lease_expires_at,
            callback_at,
            boost,
            borrower_name,
            owner_name,
            holder_name,
        ) = row
        dpd, bucket, why = dpd_and_reason(
            CaseFacts(overdue_since, overdue_minor, broken, next_action_at, boost), today, now, prof
        )
        number = dial.get(borrower_id)
        live = (
            lease_holder_id is not None and lease_expires_at is not None and lease_expires_at > now
        )
        rows.append(
            QueueRow(
                case_id=case_id,
                priority=priority,
                dpd=dpd,
                bucket=bucket,
                borrower_name=borrower_name,
                overdue_minor=overdue_minor,
                currency=prof.currency,
                stage=stage,
                owner_name=owner_name,
                next_action_at=next_action_at,
                phone_masked=mask_phone(national_number(number), prof.masking) if number else None,
                why=why,
                on_hold=on_hold,
                stale=stale,
                broken_promises=broken,
                next_action_due=next_action_at is not None and next_action_at <= now,
                registered=registered,
                owner_id=owner_id,
                lease_holder_name=holder_name if live else None,
                lease_expires_at=lease_expires_at if live else None,
                callback_at=callback_at,
            )
        )
    return rows


def queue_reason(row: QueueRow) -> str:
    """Why the case stands where it does: the facts, then the score's parts."""
    parts: list[str] = []
    if row.dpd > 0:
        parts.append(
            ngettext("{n} day past due ({bucket})", "{n} days past due ({bucket})", row.dpd).format(
                n=row.dpd, bucket=row.bucket
            )
        )
    else:
        parts.append(_("not past due"))
    if row.broken_promises:
        parts.append(
            ngettext("{n} broken promise", "{n} broken promises", row.broken_promises).format(
                n=row.broken_promises
            )
        )
    if row.next_action_due:
        parts.append(_("next action due"))
    if row.on_hold:
        parts.append(_("on hold"))
    if row.stale:
        parts.append(_("marked stale"))
    text = ", ".join(parts)
    if row.why:
        text += " - " + _("score {score} = {parts}").format(
            score=row.priority, parts=why_text(row.why)
        )
    return text
