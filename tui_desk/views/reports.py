"""A report as a table of cells, ready to show or save."""

from __future__ import annotations

from dataclasses import dataclass

from tui_desk.views.safe import SafeText

Cell = str | int


@dataclass(frozen=True)
class ReportTable(SafeText):
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    # The totals line (first cell "total"), when the report has one.
    total: tuple[Cell, ...] | None = None
