"""Screens of the desk and the helpers they share."""

from __future__ import annotations

from tui_desk.widgets.bindings import localise_bindings as localise_bindings
