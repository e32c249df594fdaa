"""Agent states in words, for the board and my day."""

from __future__ import annotations

from tui_desk.i18n import N_, _

STATE_LABELS: dict[str, str] = {
    "ready": N_("ready"),
    "paused": N_("paused"),
    "working": N_("working"),
    "wrap_up": N_("wrap-up"),
    "offline": N_("offline"),
}


def state_label(value: str | None) -> str:
    """The translated name of an agent state; ``offline`` when there is none."""
    if value is None:
        return _(STATE_LABELS["offline"])
    text = STATE_LABELS.get(value)
    return _(text) if text else value.replace("_", " ")


def pause_reason_label(reason: str | None) -> str:
    """A pause reason as stored (the profile's list), in words."""
    if not reason:
        return ""
    return reason.replace("_", " ")
