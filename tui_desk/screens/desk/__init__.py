"""The desk: the one working screen (``screen``) and its groups of keys, one module each."""

from tui_desk.screens.desk.screen import DeskScreen

__all__ = ["DeskScreen"]
