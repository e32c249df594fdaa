"""The document checklist: complete when every required kind has a verified document."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_desk.db.models import DocumentKind, DocumentStatus
from tui_desk.rules.documents import (
    REQUIRED,
    describe_missing,
    documents_complete,
    label,
)

kinds = st.sampled_from(list(DocumentKind))
statuses = st.sampled_from(list(DocumentStatus))
docs = st.lists(st.tuples(kinds, statuses), max_size=12)


def test_required_kinds_are_the_models_kinds() -> None:
    assert REQUIRED == (DocumentKind.IDENTITY, DocumentKind.RESIDENCE, DocumentKind.INCOME)
    assert {DocumentKind(k) for k in REQUIRED} < set(DocumentKind)


def test_worked_examples() -> None:
    v, r, x = DocumentStatus.VERIFIED, DocumentStatus.REJECTED, DocumentStatus.RECEIVED
    assert documents_complete([]) == (False, ("identity", "residence", "income"))
    assert documents_complete(
        [(DocumentKind.IDENTITY, v), (DocumentKind.RESIDENCE, v), (DocumentKind.INCOME, v)]
    ) == (True, ())
    # "Other" never stands in for a required proof; received is not verified.
    assert documents_complete(
        [(DocumentKind.IDENTITY, v), (DocumentKind.OTHER, v), (DocumentKind.INCOME, x)]
    ) == (False, ("residence", "income"))
    # A rejected copy does not undo a verified one.
    assert documents_complete(
        [
            (DocumentKind.IDENTITY, r),
            (DocumentKind.IDENTITY, v),
            (DocumentKind.RESIDENCE, v),
            (DocumentKind.INCOME, v),
        ]
    )[0]
    # Plain strings work as well as the models' enums.
    assert documents_complete([("identity", "verified")]) == (False, ("residence", "income"))


@given(docs)
def test_complete_iff_every_required_kind_has_a_verified_document(
    items: list[tuple[DocumentKind, DocumentStatus]],
) -> None:
    complete, missing = documents_complete(items)
    verified = {k for k, s in items if s is DocumentStatus.VERIFIED}
    assert complete == (set(REQUIRED) <= verified)
    assert complete == (missing == ())
    assert set(missing) == set(REQUIRED) - verified
    assert list(missing) == [k for k in REQUIRED if k in missing]  # checklist order


@given(docs, st.permutations(list(range(12))))
def test_order_does_not_matter(
    items: list[tuple[DocumentKind, DocumentStatus]], order: list[int]
) -> None:
    shuffled = [items[i] for i in order if i < len(items)]
    assert documents_complete(shuffled) == documents_complete(items)


@given(docs, st.tuples(kinds, statuses))
def test_more_documents_never_make_a_complete_case_incomplete(
    items: list[tuple[DocumentKind, DocumentStatus]], extra: tuple[DocumentKind, DocumentStatus]
) -> None:
    if documents_complete(items)[0]:
        assert documents_complete([*items, extra])[0]


def test_describe_missing() -> None:
    assert describe_missing(()) == ""
    assert describe_missing(("identity", "income")) == (
        "documents still missing: identity proof, income or asset proof"
    )
    assert label("unknown") == "unknown"
