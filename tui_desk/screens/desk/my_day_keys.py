"""My day (F7): the operator's own day, and back to the desk with a case from it.

Enter on a line of my day comes back with its case, and the case-in-hand rules decide
what that means: the case in hand is shown again; with no case in hand the case is
claimed (as ``c`` would), so it can be worked at once; with another case in hand the
case is only shown (read), the one in hand staying in hand, and the operator is told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui_desk.i18n import _

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class MyDayKeys(_Host):
    def action_my_day(self) -> None:
        from tui_desk.screens.my_day import MyDayScreen

        self.app.push_screen(MyDayScreen(self.service), self._open_from_my_day)

    def _open_from_my_day(self, case_id: int | None) -> None:
        if case_id is None:
            return
        hand = self.in_hand
        if hand is not None and hand.case_id == case_id:
            self.action_back_to_case()
            return
        if self.typing_ahead or self.claim_in_flight:
            self.notify(_("Wait for the case being read, then try again."), severity="warning")
            return
        if hand is None:
            self._claim(case_id)
            return
        self.queue.show_case(case_id)
        self._select(case_id, immediate=True)
        if self.has_class("-narrow"):
            self._show("contacts")
        self.notify(
            _("Case {case_id} is shown; you still hold case {held} (j goes back to it).").format(
                case_id=case_id, held=hand.case_id
            )
        )
