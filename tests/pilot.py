"""Helpers shared by the Pilot tests of the desk: find the desk screen, wait for it to
settle, read the screen or the open form as text, and open a case by its number.

The debounces are shortened by the ``quick_debounce`` fixture (in ``tests/conftest.py``);
a module turns it on with ``pytestmark = pytest.mark.usefixtures("quick_debounce")``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled

from tui_desk.screens.desk import DeskScreen


def desk_screen(app: App[None]) -> DeskScreen:
    """The desk screen, wherever it stands in the screen stack (forms open above it)."""
    return next(s for s in app.screen_stack if isinstance(s, DeskScreen))


async def settle(pilot: Pilot[None], *, rounds: int = 300) -> None:
    """Until no debounce is pending and no worker runs (bounded, never a blind sleep)."""
    screen = desk_screen(pilot.app)
    for _ in range(rounds):
        await pilot.pause()
        # A form that closes while Textual still counts its finished worker as running
        # has it cancelled with it; what it wrote is checked by the test itself.
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if screen.is_settled:
            return
        await pilot.pause(0.01)
    raise AssertionError("the desk did not settle")


def screen_text(app: App[None], *, legacy_windows: bool | None = None) -> str:
    """The whole screen as plain text, without colours.

    ``legacy_windows`` goes to Rich's ``Console``; ``None`` lets Rich detect it.
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=legacy_windows,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def modal_text(app: App[None]) -> str:
    """Every line the open form shows (its title, proposals, fields and messages)."""
    parts = [str(w.content) for w in app.screen.query(Static) if w.display]
    parts += [str(getattr(w, "value", "")) for w in app.screen.query(Input)]
    return "\n".join(parts)


async def until(pilot: Pilot[None], condition: Callable[[], bool], *, rounds: int = 200) -> None:
    """Settle the desk until ``condition`` holds, checking at most ``rounds`` times."""
    for _ in range(rounds):
        if condition():
            return
        await settle(pilot)
    raise AssertionError("condition not reached")


async def open_case(pilot: Pilot[None], case_id: int) -> None:
    """Search the desk for ``#case_id`` (``/``, the number, Enter) and let it settle."""
    await settle(pilot)
    await pilot.press("slash", *f"#{case_id}", "enter")
    await settle(pilot)
