"""The contact log at 80 columns leaves out whole columns (agent, party, channel, number,
in that order) and says how many on the last one shown; it never cuts a value. At 160
columns it shows them all; a change of width lays them out again."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.app import App, ComposeResult

from tests.pilot import screen_text
from tui_desk.domain import Channel, Direction, Outcome, Relation
from tui_desk.i18n import set_language
from tui_desk.views.case import ContactLine
from tui_desk.widgets.contact_log import DROP_ORDER, ContactLogPanel

AT = dt.datetime(2026, 11, 23, 7, 36, tzinfo=dt.UTC)


def _line(n: int) -> ContactLine:
    return ContactLine(
        contact_id=n,
        started_at=AT - dt.timedelta(hours=n),
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        number="+86 186****5582",
        address=None,
        party=Relation.GUARANTOR,
        outcome=Outcome.PROMISE,
        note="借款人同意本周五前还款，已发短信确认",
        agent_name="欧阳娜娜",
        callback_at=None,
    )


class _Log(App[None]):
    def compose(self) -> ComposeResult:
        yield ContactLogPanel(timezone="Asia/Shanghai", id="log")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_columns_are_left_out_whole_with_a_marker_at_80_and_all_shown_at_160(
    language: str,
) -> None:
    set_language(language)
    app = _Log()
    async with app.run_test(size=(80, 12)) as pilot:
        panel = app.query_one(ContactLogPanel)
        await pilot.pause()
        panel.show([_line(1), _line(2)])
        await pilot.pause()
        await pilot.pause()
        hidden = panel.hidden_columns
        assert hidden  # 80 columns cannot hold all seven
        assert set(hidden) == set(DROP_ORDER[: len(hidden)])  # in their order, agent first
        text = screen_text(app, legacy_windows=False)
        marker = "hidden" if language == "en" else "隐藏"
        assert marker in text
        if "number" not in hidden:
            assert "+86 186****5582" in text  # whole, or left out whole
        assert "2026-11-23 14:36" in text  # time and outcome always stay
        shown = [str(c.label) for c in panel.table.columns.values()]
        assert len(shown) == 7 - len(hidden)
        await pilot.resize_terminal(160, 12)
        await pilot.pause()
        await pilot.pause()
        assert panel.hidden_columns == []
        wide = screen_text(app, legacy_windows=False)
        assert "欧阳娜娜" in wide and marker not in wide
    set_language("en")
