"""Key bindings shown in the user's language, for screens and widgets alike."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from tui_desk.i18n import _


def localise_bindings(node: DOMNode) -> None:
    """Translate the descriptions and tooltips of ``node``'s bindings.

    Textual merges a class's ``BINDINGS`` when the class is created, that is at import,
    before the CLI has chosen the language; so the class table holds ``N_`` strings and
    each instance swaps in translated copies here. Keys and ids are untouched, so user
    keymaps still apply by id.
    """
    node._bindings = BindingsMap.from_keys(
        {
            key: [
                replace(
                    b,
                    description=_(b.description) if b.description else "",
                    tooltip=_(b.tooltip) if b.tooltip else "",
                )
                for b in bindings
            ]
            for key, bindings in node._bindings.key_to_bindings.items()
        }
    )
