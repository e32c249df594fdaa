"""Writing rows in bulk through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Base,
)
from tui_desk.demo.tables import COLUMNS, CONSTANTS, DATA_TABLES, Row


class Writer:
    """Bulk rows through the driver connection inside the caller's transaction."""

    def __init__(self, conn: Connection, db: Database) -> None:
        self.sqlite = db.is_sqlite
        raw: Any = conn.connection.driver_connection
        self.cursor: Any = raw.cursor()

    def write(self, table: str, rows: list[Row], shift: dict[str, int] | None = None) -> None:
        """Insert rows; ``shift`` adds a per-table amount to ids and references (tail rows)."""
        if not rows:
            return
        constants = CONSTANTS.get(table, {})
        derived = DERIVED.get(table)
        names = COLUMNS[table]
        if derived is not None:
            names = (*names, derived[0])
            rows = derived[1](rows)
        columns = ", ".join((*names, *constants))
        moved = [
            (i, shift[ref])
            for i, ref in enumerate(_REFERENCES[table])
            if shift and ref is not None and shift.get(ref)
        ]
        if self.sqlite:
            # SQLite adds the shift itself (NULL stays NULL), so rows are bound as they are.
            values = ["?"] * len(names)
            for i, amount in moved:
                values[i] = f"? + {int(amount)}"
            values += [_sql_literal(v) for v in constants.values()]
            self.cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(values)})", rows
            )
            return
        extra = tuple(constants.values())
        with self.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if moved:
                    values_ = list(row)
                    for i, amount in moved:
                        if values_[i] is not None:
                            values_[i] += amount
                    row = tuple(values_)
                copy.write_row(row + extra)


def _with_id_rev(rows: list[Row]) -> list[Row]:
    # Generated ID numbers are 18 characters with an upper-case X: reversing the string
    # is what rules.search.reverse_digits gives, at a fraction of the cost.
    return [(*row, row[3][::-1]) for row in rows]


def _with_digits_rev(rows: list[Row]) -> list[Row]:
    # Generated numbers are "+" and digits only: drop the "+", reverse the rest.
    return [(*row, row[2][:0:-1]) for row in rows]


# Search columns computed from a row as it is written (one column each).
DERIVED: dict[str, tuple[str, Callable[[list[Row]], list[Row]]]] = {
    "borrower": ("id_rev", _with_id_rev),
    "phone": ("digits_rev", _with_digits_rev),
}


def _referenced_tables() -> dict[str, list[str | None]]:
    """Per seeded table and column: the seeded table whose id the column holds, if any."""
    result: dict[str, list[str | None]] = {}
    for name in COLUMNS:
        table = Base.metadata.tables[name]
        targets: dict[str, str] = {"id": name}
        for fk in table.foreign_keys:
            if fk.column.table.name in DATA_TABLES:
                targets[fk.parent.name] = fk.column.table.name
        result[name] = [targets.get(column) for column in COLUMNS[name]]
    return result


_REFERENCES = _referenced_tables()


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"
