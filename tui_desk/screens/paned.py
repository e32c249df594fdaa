"""Screens made of panes: the desk and the supervisor's board.

A large terminal shows every pane at once; a smaller one shows the active pane only (the
stylesheet decides, from the breakpoint classes). An F-key chooses a pane, Tab and
Shift+Tab cycle through them, and a mouse click that moves the focus into another pane
makes that pane the active one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from weakref import WeakKeyDictionary

from textual import on
from textual.binding import Binding
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.widget import Widget

from tui_desk.i18n import N_
from tui_desk.screens.failures import ForwardsWorkerErrors

_SUBTITLES: WeakKeyDictionary[Widget, tuple[str, str | None]] = WeakKeyDictionary()
"""The subtitle last set on a pane by ``set_pane_subtitle``, and what the pane then read
back (a subtitle set another way since reads back differently: it is set again)."""


@dataclass(frozen=True)
class Pane:
    name: str
    title: str
    key: str
    focus: str | None = None
    """Selector of the widget that takes the focus when the pane is shown (None: none)."""
    digit: str = ""
    """A second key that shows the pane, where the screen has one."""


def cycle_bindings(prefix: str) -> list[Binding]:
    """Tab and Shift+Tab cycle the panes; ids ``<prefix>.next`` and ``<prefix>.previous``."""
    return [
        Binding(
            "tab",
            "cycle_pane(1)",
            N_("Next pane"),
            tooltip=N_("Move to the next pane"),
            show=False,
            id=f"{prefix}.next",
        ),
        Binding(
            "shift+tab",
            "cycle_pane(-1)",
            N_("Previous pane"),
            tooltip=N_("Move to the previous pane"),
            show=False,
            id=f"{prefix}.previous",
        ),
    ]


class PanedScreen(ForwardsWorkerErrors, Screen[None], inherit_bindings=False):
    """Panes named by ``PANES``, each a container with the id ``PANE_ID_PREFIX + name``."""

    # Textual types these as lists on Screen (not ClassVar), so no annotation here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    PANES: ClassVar[tuple[Pane, ...]] = ()
    PANE_ID_PREFIX: ClassVar[str] = "pane-"

    pane: str
    """The active pane (the one shown on a small terminal)."""

    @classmethod
    def pane_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.PANES)

    def pane_widget(self, name: str) -> Widget:
        return self.query_one(f"#{self.PANE_ID_PREFIX}{name}")

    def set_pane_subtitle(self, name: str, subtitle: str) -> None:
        """The line on the pane's bottom edge; the pane is drawn again only if it changes
        (Textual redraws a pane on every assignment, the same words or not)."""
        pane = self.pane_widget(name)
        said = _SUBTITLES.get(pane)
        if said is not None and said == (subtitle, pane.border_subtitle):
            return
        pane.border_subtitle = subtitle
        _SUBTITLES[pane] = (subtitle, pane.border_subtitle)

    def _show(self, name: str, *, focus: bool = True) -> None:
        """Make ``name`` the active pane; with ``focus``, its widget takes the focus."""
        self.pane = name
        for pane in self.PANES:
            self.pane_widget(pane.name).set_class(pane.name == name, "-active")
        self.pane_shown(name)
        if focus:
            selector = next(p.focus for p in self.PANES if p.name == name)
            if selector is None:
                self.set_focus(None)
                return
            target = self.query_one(selector)
            if not target.has_focus:
                self.set_focus(target)

    def pane_shown(self, name: str) -> None:
        """Called when ``name`` became the active pane, before the focus moves."""

    def action_show_pane(self, name: str) -> None:
        if name in self.pane_names():
            self._show(name)

    def action_cycle_pane(self, step: int) -> None:
        names = self.pane_names()
        index = names.index(self.pane)
        self._show(names[(index + step) % len(names)])

    @on(DescendantFocus)
    def _follow_focus(self, event: DescendantFocus) -> None:
        # A mouse click can move the focus into another pane: keep the active pane in step.
        for pane in self.PANES:
            if self.pane_widget(pane.name) in event.widget.ancestors_with_self:
                if pane.name != self.pane:
                    self._show(pane.name, focus=False)
                return
