"""Incremental search on both engines: names of 1, 2, 3+ characters, phone numbers in any
format or their last digits, ID tails, case numbers, and queries that match nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.factories import Factory, cn_id_number
from tui_desk.db.engine import Database
from tui_desk.db.models import Agent, Borrower, CaseStatus, CollectionCase, Phone, Stage
from tui_desk.rules.profile import load_profile
from tui_desk.services.context import Actor, Context
from tui_desk.services.queue import QueueFilter, Scope, queue_page
from tui_desk.services.queue import access as queue_access
from tui_desk.services.search_index import index_borrower, index_phone
from tui_desk.views.queue import QueueKey

NOW = dt.datetime(2024, 5, 8, 6, 0, tzinfo=dt.UTC)
PROFILE = load_profile("cn")


def _id_ending(tail: str) -> str:
    """A valid ID number ending in ``tail`` (sequence + check character)."""
    seq = int(tail[:3])
    day = dt.date(1980, 1, 1)
    while True:
        number = cn_id_number("310104", day, seq)
        if number.endswith(tail):
            return number
        day += dt.timedelta(days=1)


@dataclass
class Book:
    actor: Actor
    cases: dict[str, int]


def _index(db: Database) -> None:
    """Factories write plain rows; the services keep the search side data, so do it here."""
    with db.write() as s:
        for borrower in s.scalars(select(Borrower)):
            index_borrower(s, borrower)
        for phone in s.scalars(select(Phone)):
            index_phone(phone)


@pytest.fixture
def book(db: Database) -> Book:
    make = Factory(db, now=NOW)
    me = make.agent(login="me")
    other = make.agent(login="other")
    specs: list[tuple[str, str, str, list[str], int]] = [
        ("zhang_san", "张三", "11010519491231002X", ["+8613812348000"], 900),
        ("zhang_sanfeng", "张三丰", cn_id_number("110105", dt.date(1960, 4, 1), 7), ["+8613912348000"], 700),
        ("ouyang", "欧阳娜娜", _id_ending("0021"), ["+8613700001111"], 500),
        ("wang", "王小明", cn_id_number("110105", dt.date(1990, 6, 1), 9), ["+8618600002222"], 300),
        ("zhang_wei", "张伟", cn_id_number("110105", dt.date(1991, 7, 1), 11), ["+8615000003333"], 800),
        ("li_closed", "李四", cn_id_number("110105", dt.date(1992, 8, 1), 13), ["+8615100004444"], 950),
        ("zhao", "赵六", cn_id_number("110105", dt.date(1993, 9, 1), 15), ["+8615200005555"], 400),
    ]  # fmt: skip
    cases: dict[str, int] = {}
    for key, name, id_number, phones, priority in specs:
        borrower = make.borrower(name=name, id_number=id_number, phones=phones)
        cases[key] = make.case(
            borrower_id=borrower,
            priority=priority,
            status=CaseStatus.CLOSED if key == "li_closed" else CaseStatus.OPEN,
            owner_id=other if key == "zhao" else None,
            stage=Stage.DOCUMENTS if key == "zhao" else Stage.CONTACTING,
        )
    with db.write() as s:
        held = s.get(CollectionCase, cases["zhang_wei"])
        assert held is not None
        held.on_hold = True
    _index(db)
    with db.read() as s:
        agent = s.get(Agent, me)
        assert agent is not None
        return Book(Actor.of(agent), cases)


def found(db: Database, book: Book, text: str, **filters: object) -> list[int]:
    flt = QueueFilter(search=text, **filters)  # type: ignore[arg-type]
    page = queue_page(Context.frozen(db, book.actor, NOW, PROFILE), flt)
    return [row.case_id for row in page.rows]


def ids(book: Book, *keys: str) -> list[int]:
    return [book.cases[k] for k in keys]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三", ["zhang_san", "zhang_sanfeng"]),  # two characters, most urgent first
        ("张", ["zhang_san", "zhang_wei", "zhang_sanfeng"]),  # one character
        ("张三丰", ["zhang_sanfeng"]),  # three characters
        ("欧阳娜娜", ["ouyang"]),  # compound surname
        ("小明", ["wang"]),  # given name only
        ("+86 138 1234 8000", ["zhang_san"]),
        ("0086-138-1234-8000", ["zhang_san"]),
        ("13812348000", ["zhang_san"]),
        ("(138) 1234-8000", ["zhang_san"]),
        ("8000", ["zhang_san", "zhang_sanfeng"]),  # last digits
        ("48000", ["zhang_san", "zhang_sanfeng"]),
        ("2348000", ["zhang_san", "zhang_sanfeng"]),
        ("id:002X", ["zhang_san"]),
        ("id:002x", ["zhang_san"]),
        ("002X", ["zhang_san"]),
        ("id:0021", ["ouyang"]),
        ("0021", []),  # bare digits are a phone number's last digits, not an ID tail
        ("id:19491231002X", ["zhang_san"]),
        ("钱多多", []),  # no such name
        ("张飞", []),  # first piece exists, the name does not
        ("张三丰丰", []),
        ("99999999", []),  # no such number
        ("+86 139 9999 9999", []),
        ("id:999X", []),
        ("李四", ["li_closed"]),  # an archived case is still found by search
    ],
)
def test_search_finds_exactly(db: Database, book: Book, text: str, expected: list[str]) -> None:
    assert found(db, book, text) == ids(book, *expected)


def test_search_by_case_number(db: Database, book: Book) -> None:
    case_id = book.cases["wang"]
    assert found(db, book, f"#{case_id}") == [case_id]
    assert found(db, book, "#999999") == []
    assert found(db, book, "#" + "9" * 30) == []  # beyond any id: no match, no error
    # Archived cases stay searchable (read-only when opened).
    assert found(db, book, f"#{book.cases['li_closed']}") == [book.cases["li_closed"]]


def test_too_few_digits_give_an_empty_page_and_say_why(db: Database, book: Book) -> None:
    for text in ("800", "8", "id:2X", "02X"):
        page = queue_page(Context.frozen(db, book.actor, NOW, PROFILE), QueueFilter(search=text))
        assert page.rows == () and not page.more_after and not page.more_before
    assert "at least 4 digits" in QueueFilter(search="800").describe()
    assert "at least 4 characters" in QueueFilter(search="id:2X").describe()


def test_search_ignores_scope_and_filters_but_not_the_hold_switch(db: Database, book: Book) -> None:
    # "zhao" belongs to someone else and is in another stage: a search still finds it.
    assert found(db, book, "赵六", scope=Scope.MINE, stage=Stage.NEW, broken_only=True) == ids(
        book, "zhao"
    )
    assert found(db, book, "赵六", scope=Scope.UNOWNED, due_today=True, bucket="91+") == ids(
        book, "zhao"
    )
    # Held cases are found (an inbound call must be logged) and marked; on_hold narrows.
    page = queue_page(Context.frozen(db, book.actor, NOW, PROFILE), QueueFilter(search="张伟"))
    assert [(r.case_id, r.on_hold) for r in page.rows] == [(book.cases["zhang_wei"], True)]
    assert found(db, book, "张", on_hold=True) == ids(book, "zhang_wei")
    assert found(db, book, "8000", on_hold=True) == []


@pytest.mark.parametrize("threshold", [0, 10**9])
def test_dense_and_sparse_name_lookups_agree(
    db: Database, book: Book, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common character is walked in queue order, a rare one ranked: same answer."""
    monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: threshold)
    assert found(db, book, "张") == ids(book, "zhang_san", "zhang_wei", "zhang_sanfeng")
    assert found(db, book, "张", on_hold=True) == ids(book, "zhang_wei")
    assert found(db, book, "张三丰") == ids(book, "zhang_sanfeng")
    assert found(db, book, "钱") == []


def _pages(db: Database, book: Book, text: str, limit: int) -> Iterator[list[QueueKey]]:
    after: QueueKey | None = None
    while True:
        page = queue_page(
            Context.frozen(db, book.actor, NOW, load_profile()),
            QueueFilter(search=text),
            after=after,
            limit=limit,
        )
        yield [r.key for r in page.rows]
        if not page.more_after:
            return
        after = page.rows[-1].key


@pytest.mark.parametrize("threshold", [0, 10**9])
def test_search_results_page_like_the_queue(
    db: Database, book: Book, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_access, "dense_threshold", lambda _s, _limit: threshold)
    whole = [k for page in _pages(db, book, "张", 100) for k in page]
    assert len(whole) == 3
    assert [k for page in _pages(db, book, "张", 1) for k in page] == whole
    up = queue_page(
        Context.frozen(db, book.actor, NOW, load_profile()),
        QueueFilter(search="张"),
        before=whole[2],
        limit=5,
    )
    assert [r.key for r in up.rows] == whole[:2]
    assert up.more_after and not up.more_before
