"""What the desk draws, pinned: the desk, each pane, every dialog, the board with its audit
trail, reports and holds, and the help,
at 80x24 and 160x50, in English and Chinese, on the fixed office of ``tests/screens.py``
with the clock frozen. A changed picture fails until it is looked at and accepted with
``pytest tests/test_snapshots.py --snapshot-update`` (the report shows both side by side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests import pilot as helpers
from tests.screens import NOW, Office, desk_app, freeze_clock, office
from tui_desk.db.engine import Database
from tui_desk.i18n import set_language
from tui_desk.rules.adjustments import Changes
from tui_desk.rules.profile import load_profile
from tui_desk.services import adjustments, board
from tui_desk.services.context import Context

pytestmark = pytest.mark.usefixtures("quick_debounce")

SIZES = {"80x24": (80, 24), "160x50": (160, 50)}
# name: (keys pressed after the first case is opened, as a supervisor?)
SCREENS: dict[str, tuple[tuple[str, ...], bool]] = {
    "queue": ((), False),
    "contacts": (("f3",), False),
    "calendar": (("f4",), False),
    "agreement": (("f5",), False),
    "help": (("f1",), False),
    "contact_form": (("l",), False),
    "plan_form": (("P",), False),
    "visit_form": (("V",), False),
    "payment_form": (("dollar_sign",), False),
    "board": (("f6",), True),
    "my_day": (("f7",), False),
    # Every other dialog of the desk, opened on the first case.
    "hold_form": (("x",), False),
    "registration_form": (("e",), False),
    "document_form": (("u",), False),
    "review_form": (("k",), False),
    "phone_form": (("a",), False),
    "do_not_call_form": (("o",), False),
    "sms_form": (("S",), False),
    "dial": (("D",), False),
    "adjustment_form": (("H",), False),
    "complaint_form": (("C",), False),
    "complaint_list": (("K",), False),
    "archive_form": (("Z",), False),
    "follow_ups": (("F",), False),
    "agreement_menu": (("A",), False),
    "reveal": (("v",), False),
    "override_ask": (("O",), False),
    # A supervisor's: deciding an adjustment, and the board's audit trail, reports and holds.
    "adjustment_decision": (("Y",), True),
    "audit": (("f6", "a"), True),
    "reports": (("f6", "R"), True),
    "hold_list": (("f6", "h"), True),
}


def _pending_adjustment(place: Office) -> None:
    """A request awaiting the supervisor, so the decision shows its terms."""
    ctx = Context.frozen(place.db, place.operator, NOW, load_profile())
    adjustments.request_adjustment(ctx, place.first, Changes(extend_by=6), "失业 lost job")


def _board_refreshed(place: Office) -> None:
    """The worker's snapshot of the office, so the board shows its agents and deadlines."""
    board.refresh_snapshot(place.db, NOW, load_profile())


# What a screen needs besides the office, done before the desk opens.
SETUP: dict[str, Callable[[Office], None]] = {
    "adjustment_decision": _pending_adjustment,
    "board": _board_refreshed,
}


async def steady(pilot: Pilot[Any], *, rounds: int = 100) -> None:
    """Settle until three readings of the screen in a row are the same (a pane that loads
    after the others, a column sized once its rows arrive); bounded, never a blind sleep."""
    before, same = None, 0
    for _ in range(rounds):
        await helpers.settle(pilot)
        await pilot.pause(0.05)
        # A toast lives for a span of wall time: never part of the picture.
        pilot.app.clear_notifications()
        await pilot.pause()
        now = helpers.screen_text(pilot.app, legacy_windows=False)
        same = same + 1 if now == before else 0
        if same == 2:
            return
        before = now
    raise AssertionError("the screen did not become steady")


def _steps(case_id: int, keys: tuple[str, ...]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await helpers.open_case(pilot, case_id)
        for key in keys:
            await pilot.press(key)
            await helpers.settle(pilot)
        # Whether the cursor is drawn, or a toast has timed out yet, is a matter of wall
        # time: keep the cursor on and take the toasts away.
        for widget in pilot.app.screen.query("Input"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await steady(pilot)

    return run


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", list(SCREENS))
def test_snapshot(
    snap_compare: Callable[..., bool],
    sqlite_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    screen: str,
    size: str,
    language: str,
) -> None:
    freeze_clock(monkeypatch)
    set_language(language)
    place = office(sqlite_db)
    if screen in SETUP:
        SETUP[screen](place)
    keys, supervisor = SCREENS[screen]
    app = desk_app(place, supervisor=supervisor)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_steps(place.first, keys))
