"""Reveal of personal data: the full ID number, address or phone, on request, audited.

Panes show these values masked (``tui_desk.rules.masking``); this is the only way to get
the full value, and every reveal leaves an audit event naming who saw which field.
"""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy import select

from tui_desk.db.models import Borrower, CollectionCase, Phone
from tui_desk.i18n import _
from tui_desk.rules.permissions import Action
from tui_desk.services import audit
from tui_desk.services.context import Context
from tui_desk.services.errors import NotFound, ServiceError
from tui_desk.services.validation import (
    check_code,
    check_id,
    check_optional_id,
)

PersonalField = Literal["id_number", "address", "phone"]
PERSONAL_FIELDS: tuple[PersonalField, ...] = get_args(PersonalField)


def reveal(
    ctx: Context, borrower_id: int, field: PersonalField, phone_id: int | None = None
) -> str:
    """The full value of one personal field of a borrower, for ``actor`` to see.

    ``phone_id`` names the number when ``field`` is ``"phone"`` (a borrower has several).
    The audit event records the field, never the value.
    """
    check_id("borrower_id", borrower_id)
    check_code("field", field, PERSONAL_FIELDS)
    check_optional_id("phone_id", phone_id)
    now = ctx.now()
    ctx.actor.require(Action.REVEAL_PERSONAL_DATA)
    if field not in PERSONAL_FIELDS:
        raise ServiceError(_("unknown personal field {field!r}").format(field=field))
    if (field == "phone") != (phone_id is not None):
        raise ServiceError(_("a phone number is revealed by its phone id, and only a phone"))
    with ctx.db.write() as session:
        borrower = session.get(Borrower, borrower_id)
        if borrower is None:
            raise NotFound(_("no borrower {id}").format(id=borrower_id))
        entity, entity_id = "borrower", borrower.id
        if field == "phone":
            phone = session.get(Phone, phone_id)
            if phone is None or phone.borrower_id != borrower.id:
                raise NotFound(
                    _("borrower {borrower} has no phone {phone}").format(
                        borrower=borrower_id, phone=phone_id
                    )
                )
            value = phone.e164
            entity, entity_id = "phone", phone.id
        elif field == "id_number":
            value = borrower.id_number
        else:
            value = borrower.address
        # Attached to the case too, so the case's history shows who looked.
        case_id = session.scalar(
            select(CollectionCase.id).where(CollectionCase.borrower_id == borrower.id)
        )
        audit.record(
            session,
            ctx.actor,
            "personal.reveal",
            entity,
            entity_id,
            f"{ctx.actor.login} revealed {field} of borrower {borrower.id}",
            now=now,
            case_id=case_id,
            after={"field": field, "borrower_id": borrower.id},
        )
    return value
