"""The document checklist of process step 2: which proofs a visit needs, and what is missing.

Kinds and statuses are the string values of ``tui_desk.db.models.DocumentKind`` and
``DocumentStatus`` (``StrEnum``, so members compare equal to these strings); rules never
import the database layer.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui_desk.i18n import N_, _

IDENTITY = "identity"
RESIDENCE = "residence"
INCOME = "income"
OTHER = "other"

VERIFIED = "verified"

# "Other material that helps judge ability to pay" is welcome but never required.
REQUIRED: tuple[str, ...] = (IDENTITY, RESIDENCE, INCOME)

LABELS: dict[str, str] = {
    IDENTITY: N_("identity proof"),
    RESIDENCE: N_("household or residence proof"),
    INCOME: N_("income or asset proof"),
    OTHER: N_("other material"),
}


def documents_complete(docs: Iterable[tuple[str, str]]) -> tuple[bool, tuple[str, ...]]:
    """(complete, missing kinds in checklist order) for a case's (kind, status) pairs.

    Complete when every required kind has at least one verified document: a rejected
    copy does not undo a verified one (the borrower often sends a better copy after a
    rejection, and the verified one stands).
    """
    verified = {str(kind) for kind, status in docs if status == VERIFIED}
    missing = tuple(kind for kind in REQUIRED if kind not in verified)
    return (not missing, missing)


def label(kind: str) -> str:
    """The translated name of a document kind (unknown kinds are shown as they are)."""
    text = LABELS.get(kind)
    return _(text) if text is not None else kind


def describe_missing(missing: Iterable[str]) -> str:
    """One line for the operator: which proofs are still missing (empty when none)."""
    names = [label(kind) for kind in missing]
    if not names:
        return ""
    return _("documents still missing: {kinds}").format(kinds=", ".join(names))
