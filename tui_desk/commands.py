"""The command palette (ctrl+p): the desk's actions by name, "pane: calendar" and so on.

A few commands have hand-picked names; every other key binding of the screen (and of the
focused widget) is listed too, named by its description, so a new binding shows up here
without editing this file.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui_desk.i18n import _

Command = tuple[str, Callable[[], object], str]


class DeskCommands(Provider):
    """Every command is also a key; the palette is for finding them by name."""

    def _commands(self) -> list[Command]:
        from tui_desk.screens.desk import DeskScreen

        app = self.app
        commands: list[Command] = []
        screen = self.screen
        named: set[str] = set()
        if isinstance(screen, DeskScreen):
            commands += [
                (_("queue: refresh"), screen.action_refresh_desk, _("Read the queue again (r)")),
                (_("queue: show"), partial(screen.action_show_pane, "queue"), "F2"),
                (
                    _("queue: take the next case"),
                    screen.action_take_next,
                    _("Claim the next case to work (n)"),
                ),
                (_("queue: search"), screen.action_search, "/"),
                (
                    _("pane: case and contacts"),
                    partial(screen.action_show_pane, "contacts"),
                    "F3",
                ),
                (
                    _("pane: visit calendar"),
                    partial(screen.action_show_pane, "calendar"),
                    "F4",
                ),
                (
                    _("pane: plan and agreement"),
                    partial(screen.action_show_pane, "agreement"),
                    "F5",
                ),
                (_("case: log a contact"), screen.action_log_contact, "l"),
                (
                    _("case: reveal personal data"),
                    screen.action_reveal,
                    _("Audited; v"),
                ),
            ]
            named = {
                "refresh_desk",
                "show_pane('queue')",
                "show_pane('contacts')",
                "show_pane('calendar')",
                "show_pane('agreement')",
                "take_next",
                "search",
                "log_contact",
                "reveal",
            }
        commands += [
            (_("app: help"), partial(app.run_action, "help"), "F1"),
            (_("app: change theme"), app.action_change_theme, _("Colours of this session")),
            (_("app: quit"), partial(app.run_action, "quit"), "q"),
        ]
        named |= {"help", "quit", "command_palette", "help_quit"}
        commands += self._from_bindings(named)
        return commands

    def _from_bindings(self, named: set[str]) -> list[Command]:
        """One command per remaining binding of the screen and the focused widget."""
        screen = self.screen
        found: dict[tuple[int, str], Command] = {}
        keys: dict[tuple[int, str], list[str]] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.action in named or binding.system or not binding.description:
                continue
            group = (id(active.node), binding.action)
            keys.setdefault(group, []).append(self.app.get_key_display(binding))
            if group in found:
                continue
            name = _(binding.description)
            tooltip = _(binding.tooltip) if binding.tooltip else ""
            callback = partial(self.app.run_action, binding.action, active.node)
            found[group] = (name, callback, tooltip)
        return [
            (name, callback, f"{tooltip} ({', '.join(keys[group])})" if tooltip else "")
            for group, (name, callback, tooltip) in found.items()
        ]

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
