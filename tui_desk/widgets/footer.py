"""DeskFooter: Textual's footer of keys, without keeping every key it ever showed.

Textual's ``Footer`` composes its keys anew whenever the screen's bindings change (focus
moves, a pane opens, a form closes: several times per key an operator presses) and binds
each key's ``compact`` to its own. Those bindings are forgotten only when ``compact``
changes, which on the desk it never does: every key shown in a session stayed alive with
its styles and cached lines, thousands of widgets after minutes of work, walked by every
full collection. Here the bindings of keys that are gone are dropped after each compose.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


def forget_closed_watchers(node: object) -> int:
    """Drop the watchers that closed nodes left on ``node``'s reactives; how many."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(node, "__watchers", {})
    dropped = 0
    for callbacks in watchers.values():
        alive = [(owner, callback) for owner, callback in callbacks if not _gone(owner)]
        dropped += len(callbacks) - len(alive)
        callbacks[:] = alive
    return dropped


def _gone(owner: Any) -> bool:
    return bool(getattr(owner, "_closing", False) or getattr(owner, "_closed", False))


class DeskFooter(Footer):
    """The footer of the desk's screens (see the module's note)."""

    async def recompose(self) -> None:
        await super().recompose()
        forget_closed_watchers(self)
