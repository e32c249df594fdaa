"""The agent's state and its timer, at the right of the desk's header line.

The state is given when it changes (``show``); the timer is counted here from the time
the state began (or down to the end of a wrap-up or a preview) on each ``tick``, which
only redraws the badge's own line: no layout, no database. The badge's width is set when
the state changes, wide enough for any timer of that state, so the ticks never move it.
"""

from __future__ import annotations

import datetime as dt

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.widget import Widget
from textual.widgets import Header
from textual.widgets._header import HeaderIcon, HeaderTitle

from tui_desk.domain import AgentState
from tui_desk.formatting import label
from tui_desk.i18n import _
from tui_desk.views.agent_state import AgentStatus

_STYLES = {
    AgentState.READY: "bold green",
    AgentState.PAUSED: "bold yellow",
    AgentState.WORKING: "bold cyan",
    AgentState.WRAP_UP: "bold magenta",
    AgentState.OFFLINE: "dim",
}
_WIDEST_TIMER = "0:00:00"


def clock_text(span: dt.timedelta) -> str:
    """``04:09`` under an hour, ``1:04:09`` from an hour on (never negative)."""
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class AgentStateBadge(Widget):
    """``Paused: meal 04:09 | manual``, ``Wrap-up 00:42 left, E +60s | auto``..."""

    DEFAULT_CSS = """
    AgentStateBadge {
        dock: right;
        width: 12;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status: AgentStatus | None = None
        self.auto = False
        self.preview_until: dt.datetime | None = None
        self.extend_seconds = 0
        self.now: dt.datetime | None = None
        self._drawn = ""

    def show(
        self,
        status: AgentStatus | None,
        *,
        auto: bool,
        now: dt.datetime,
        preview_until: dt.datetime | None = None,
        extend_seconds: int = 0,
    ) -> None:
        """A new state (or mode, or preview): the badge's width may change, once."""
        self.status, self.auto, self.now = status, auto, now
        self.preview_until = preview_until
        self.extend_seconds = extend_seconds
        widest = cell_len(self._line(widest=True).plain) + 2
        if self.styles.width is None or self.styles.width.value != widest:
            self.styles.width = widest  # a layout, on a change of state only
        self._redraw()

    def tick(self, now: dt.datetime) -> None:
        """A second went by: redraw the line if its text changed (no layout)."""
        self.now = now
        self._redraw()

    def _redraw(self) -> None:
        text = self._line().plain
        if text != self._drawn:
            self._drawn = text
            self.refresh()

    @property
    def text(self) -> str:
        return self._line().plain

    def render(self) -> RenderResult:
        return self._line()

    def _line(self, *, widest: bool = False) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        status, now = self.status, self.now
        if status is None or now is None:
            t.append(_("state..."), style="dim")
            return t
        state = status.state
        name = label("agent_state", state.value)
        if state is AgentState.PAUSED and status.reason:
            name += ": " + label("pause_reason", status.reason)
        t.append(name[:1].upper() + name[1:], style=_STYLES[state])
        if state is AgentState.OFFLINE:
            return t
        preview = self.preview_until
        if state is AgentState.WRAP_UP and status.wrap_up_until is not None:
            left = _WIDEST_TIMER if widest else clock_text(status.wrap_up_until - now)
            t.append(" " + _("{time} left").format(time=left))
            if not status.extended and self.extend_seconds:
                t.append(" " + _("E +{seconds}s").format(seconds=self.extend_seconds), style="dim")
        elif preview is not None and (widest or preview > now):
            left = _WIDEST_TIMER if widest else clock_text(preview - now)
            t.append(" " + _("preview {time}, X skips").format(time=left), style="bold")
        else:
            since = status.since or now
            t.append(" " + (_WIDEST_TIMER if widest else clock_text(now - since)))
        t.append(" | " + (_("auto") if self.auto else _("manual")), style="dim")
        return t


class DeskHeader(Header):
    """The header line of the desk: icon, title, and the agent's state at the right."""

    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield HeaderTitle()
        yield AgentStateBadge(id="agent-state")
