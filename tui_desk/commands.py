"""The command palette (ctrl+p): the desk's actions by name, "pane: calendar" and so on."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui_desk.i18n import _


class DeskCommands(Provider):
    """Every command is also a key; the palette is for finding them by name."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from tui_desk.screens.desk import DeskScreen

        app = self.app
        commands: list[tuple[str, Callable[[], object], str]] = []
        screen = self.screen
        if isinstance(screen, DeskScreen):
            commands += [
                (_("queue: refresh"), screen.action_refresh_desk, _("Read the queue again (r)")),
                (_("queue: show"), partial(screen.action_show_pane, "queue"), "F2"),
                (
                    _("pane: case and contacts"),
                    partial(screen.action_show_pane, "contacts"),
                    "F3",
                ),
                (
                    _("pane: collector's week"),
                    partial(screen.action_show_pane, "calendar"),
                    "F4",
                ),
                (
                    _("pane: plan and agreement"),
                    partial(screen.action_show_pane, "agreement"),
                    "F5",
                ),
                (_("calendar: previous week"), partial(screen.action_week, -1), "["),
                (_("calendar: next week"), partial(screen.action_week, 1), "]"),
                (_("calendar: this week"), screen.action_this_week, "t"),
                (
                    _("case: reveal personal data"),
                    screen.action_reveal,
                    _("Audited; v"),
                ),
            ]
        commands += [
            (_("app: help"), partial(app.run_action, "help"), "F1"),
            (_("app: change theme"), app.action_change_theme, _("Colours of this session")),
            (_("app: quit"), partial(app.run_action, "quit"), "q"),
        ]
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
