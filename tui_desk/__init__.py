"""tui-desk: the terminal desk for overdue-loan collection."""

__version__ = "0.1.0"
