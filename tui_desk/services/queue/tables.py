"""``collection_case`` as the queue reads it: the table, a pinned index, the queue order.

Also the defaults every entry point applies to its ``now`` and ``profile`` arguments.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, false, func, true, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Alias

from tui_desk.db.models import CaseStatus, CollectionCase

CASE = cast(Table, CollectionCase.__table__)
AnySelect = Select[*tuple[Any, ...]]
OPEN = CaseStatus.OPEN


# --- pinning the index on SQLite -----------------------------------------------------


class _IndexedBy(Alias):
    """``collection_case`` read through a named index: ``INDEXED BY`` on SQLite.

    Several queue indexes share their columns (status, priority, id) and differ only in
    their partial WHERE. Without ANALYZE statistics SQLite rates them alike and picks by
    the order the indexes were created in, so a seeded database (indexes rebuilt in name
    order) walked the whole queue for "on hold" (43 ms) where a fresh one used the
    partial index. Naming the index makes the plan the same on every file; a query the
    index cannot serve then fails loudly instead of scanning. PostgreSQL plans from its
    statistics and gets a plain alias. The alias is named after the index, so the
    statement cache keeps one compiled form per index.
    """

    inherit_cache = True
    index_name: str

    @classmethod
    def of(cls, index: str) -> _IndexedBy:
        alias = cls._construct(CASE, name=index)
        alias.index_name = index
        return alias


@compiles(_IndexedBy, "sqlite")
def _indexed_by_sqlite(element: _IndexedBy, compiler: SQLCompiler, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)  # type: ignore[no-untyped-call]
    if kw.get("asfrom"):
        text += f" INDEXED BY {element.index_name}"
    return text


def case_indexed_by(index: str | None) -> Any:
    """``collection_case`` pinned to ``index``, or as is (None: the planner's choice)."""
    return _IndexedBy.of(index) if index is not None else CASE


# --- queue order and shared terms ------------------------------------------------------


def queue_desc(t: Any) -> tuple[Any, Any]:
    return (t.c.priority.desc(), t.c.id.desc())


def queue_asc(t: Any) -> tuple[Any, Any]:
    return (t.c.priority.asc(), t.c.id.asc())


def queue_key(t: Any) -> Any:
    return tuple_(t.c.priority, t.c.id)


def bool_is(column: Any, value: bool) -> ColumnElement[bool]:
    """A residual check no index can serve (see the package doc)."""
    return func.coalesce(column, false()) == (true() if value else false())


# --- the entry points' defaults ---------------------------------------------------------
