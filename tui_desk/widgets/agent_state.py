"""Agent states in words, for the board and my day (the one formatter's labels)."""

from __future__ import annotations

from tui_desk.formatting import label


def state_label(value: str | None) -> str:
    """The translated name of an agent state; ``offline`` when there is none."""
    return label("agent_state", value or "offline")


def pause_reason_label(reason: str | None) -> str:
    """A pause reason from the profile's list, translated where the desk knows it."""
    return label("pause_reason", reason) if reason else ""
