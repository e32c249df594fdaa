"""Multi-row writes through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

The import's new rows (a new borrower with its phones, case and accounts) are already
checked; going through the driver skips SQLAlchemy's per-statement work, which was most
of the time of writing them. Values are converted by each column's own bind processor
(UTC datetimes, enumerations, decimals), so they are stored exactly as a Core insert
would store them. Ids are taken beforehand (SQLite: after ``max(id)``, under the write
lock the import holds; PostgreSQL: from the table's sequence), so no RETURNING is needed.

The only CHECK constraints of these tables are the enumerations' ``IN`` lists, which
SQLite evaluates for every row (about a third of the insert time of a phone row). When
every value written to an enumeration column is one of its members (checked here on the
distinct values, before the write), SQLite is told to skip them for that statement:
the rows are the same, and a value outside the list still meets the database's check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import CheckConstraint, Connection, Table
from sqlalchemy import Enum as EnumType
from sqlalchemy.sql.schema import ColumnDefault

Processor = Callable[[Any], Any] | None


class BulkWriter:
    """Rows into tables through the driver connection, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect
        self.postgresql = conn.dialect.name == "postgresql"
        raw: Any = conn.connection.driver_connection
        self.cursor: Any = raw.cursor()
        dbapi: Any = conn.dialect.loaded_dbapi
        # What a failed write raises (the caller falls back to row-by-row writes).
        self.errors: type[Exception] = dbapi.Error
        self._processors: dict[tuple[str, tuple[str, ...]], list[Processor]] = {}

    @staticmethod
    def _enum_checks(table: Table, names: list[str]) -> list[tuple[int, frozenset[str]]] | None:
        """The enumeration columns among ``names`` with their stored values, when the
        table's CHECK constraints are only those of its enumerations; else None."""
        checks = [c for c in table.constraints if isinstance(c, CheckConstraint)]
        if not all(getattr(c, "_type_bound", False) for c in checks):
            return None
        result: list[tuple[int, frozenset[str]]] = []
        for column in table.columns:
            if isinstance(column.type, EnumType):
                if column.name not in names:
                    return None
                result.append((names.index(column.name), frozenset(column.type.enums)))
        return result

    def new_ids(self, table: Table, count: int) -> list[int]:
        """``count`` fresh ids for ``table``."""
        if count == 0:
            return []
        if self.postgresql:
            self.cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table.name, count),
            )
            return [int(row[0]) for row in self.cursor.fetchall()]
        self.cursor.execute(f"SELECT max(id) FROM {table.name}")
        first = int(self.cursor.fetchone()[0] or 0) + 1
        return list(range(first, first + count))

    def _columns(self, table: Table, given: Sequence[str]) -> tuple[list[str], list[Any]]:
        """The columns to write: those given, and those with a plain Python default."""
        names = list(given)
        defaults: list[Any] = []
        for column in table.columns:
            if column.name in given:
                continue
            default = column.default
            if isinstance(default, ColumnDefault) and default.is_scalar:
                names.append(column.name)
                defaults.append(default.arg)
            elif default is not None:
                raise ValueError(f"{table.name}.{column.name}: a default only Core computes")
        return names, defaults

    def _processors_for(self, table: Table, names: list[str]) -> list[Processor]:
        key = (table.name, tuple(names))
        if key not in self._processors:
            self._processors[key] = [
                table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect)
                for name in names
            ]
        return self._processors[key]

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts with the same keys, as Core's executemany takes them)."""
        if not rows:
            return
        given = list(rows[0])
        names, defaults = self._columns(table, given)
        processors = self._processors_for(table, names)
        pick = itemgetter(*given)
        extra = list(defaults)
        if len(given) == 1:
            tuples: list[list[Any]] = [[pick(row), *extra] for row in rows]
        else:
            tuples = [[*pick(row), *extra] for row in rows]
        for index, proc in enumerate(processors):
            if proc is None:
                continue
            # Most values repeat (the run's time, enumeration members, flags): each
            # distinct value is converted once.
            seen: dict[Any, Any] = {}
            for values in tuples:
                value = values[index]
                if value is None:
                    continue
                try:
                    converted = seen[value]
                except KeyError:
                    converted = seen[value] = proc(value)
                except TypeError:  # not hashable
                    converted = proc(value)
                values[index] = converted
        columns = ", ".join(names)
        if self.postgresql:
            with self.cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for values in tuples:
                    copy.write_row(values)
            return
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"
        enums = self._enum_checks(table, names)
        if not enums or not all(
            {values[index] for values in tuples} <= allowed for index, allowed in enums
        ):
            self.cursor.executemany(sql, tuples)
            return
        # A flag pragma: SQLite prepares its statements again after it, so the skip holds
        # for this statement only.
        self.cursor.execute("PRAGMA ignore_check_constraints = 1")
        try:
            self.cursor.executemany(sql, tuples)
        finally:
            self.cursor.execute("PRAGMA ignore_check_constraints = 0")
