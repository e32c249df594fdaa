"""The agreement key (``A``): a menu of what can be done with the case's agreement now."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual import work

from tui_desk.i18n import _
from tui_desk.services.errors import ServiceError
from tui_desk.views.agreements import AgreementRecord
from tui_desk.views.case import CaseBundle

if TYPE_CHECKING:
    from tui_desk.screens.desk.host import DeskHost

    _Host = DeskHost
else:
    _Host = object


class AgreementKeys(_Host):
    """Draft, special terms, ready, sign, export, compare, delivery."""

    def action_agreement(self) -> None:
        self._with_case("agreement", self._start_agreement)

    def _start_agreement(self, bundle: CaseBundle) -> None:
        self._read_agreement(bundle)

    @work(thread=True, group="agreement", exclusive=True, exit_on_error=False)
    def _read_agreement(self, bundle: CaseBundle) -> None:
        try:
            agreement_id = self.service.agreement_id(bundle.case_id)
            record = self.service.open_agreement(agreement_id) if agreement_id else None
        except ServiceError as exc:
            self.app.call_from_thread(self._agreement_problem, str(exc))
            return
        self.app.call_from_thread(self._agreement_menu, bundle, record)

    def _agreement_problem(self, text: str) -> None:
        self.notify(text, title=_("Agreement"), severity="error", markup=False)

    def _agreement_menu(self, bundle: CaseBundle, record: AgreementRecord | None) -> None:
        from tui_desk.screens.agreement_modals import AgreementMenuModal

        title = f"{bundle.detail.borrower_name} (#{bundle.case_id})"
        self.app.push_screen(
            AgreementMenuModal(title, record), partial(self._agreement_action, bundle, record)
        )

    def _agreement_action(
        self, bundle: CaseBundle, record: AgreementRecord | None, action: str | None
    ) -> None:
        if action is None:
            return
        from tui_desk.screens.agreement_modals import (
            CompareModal,
            DeliveryModal,
            SignAgreementModal,
            SpecialTermsModal,
        )

        case_id = bundle.case_id

        def saved(summary: str | None) -> None:
            if summary is not None:
                self._agreement_saved(case_id, summary)

        if record is not None and action == "terms":
            self.app.push_screen(SpecialTermsModal(self.service, record), saved)
        elif record is not None and action == "sign":
            self.app.push_screen(SignAgreementModal(self.service, bundle, record), saved)
        elif record is not None and action == "delivery":
            self.app.push_screen(DeliveryModal(self.service, bundle, record), saved)
        elif record is not None and action == "compare":
            self.app.push_screen(CompareModal(record))
        else:
            self._agreement_job(case_id, action, record)

    @work(thread=True, group="agreement", exclusive=True, exit_on_error=False)
    def _agreement_job(self, case_id: int, action: str, record: AgreementRecord | None) -> None:
        try:
            if action == "draft":
                self.service.draft_agreement(case_id)
                summary = _("Agreement drafted from the bank's standard form")
            elif action == "ready" and record is not None:
                self.service.mark_agreement_ready(record.agreement_id, record.record_version)
                summary = _("Agreement ready to sign")
            elif action == "export" and record is not None:
                copies = self.service.export_agreement(record.agreement_id)
                pdfs = [f for f in copies.files if f.suffix == ".pdf"]
                summary = _("Bank and borrower copies written: {files}").format(
                    files=", ".join(str(f) for f in pdfs)
                )
                where = _("copies in {folder}").format(folder=pdfs[0].parent if pdfs else "")
                self.app.call_from_thread(self._show_where, case_id, where)
            elif action == "print" and record is not None:
                printed = self.service.print_agreement(record.agreement_id)
                summary = _("The two originals went to the printer ({jobs}); copies in {folder}")
                summary = summary.format(
                    jobs="; ".join(j for j in printed.printer if j) or _("no job id"),
                    folder=printed.files[0].parent if printed.files else "",
                )
                where = _("printed; copies in {folder}").format(
                    folder=printed.files[0].parent if printed.files else ""
                )
                self.app.call_from_thread(self._show_where, case_id, where)
            else:
                return
        except (ServiceError, OSError) as exc:
            self.app.call_from_thread(self._agreement_problem, str(exc))
            return
        self.app.call_from_thread(self._agreement_saved, case_id, summary)

    def _show_where(self, case_id: int, where: str) -> None:
        """Where the files went stays on the agreement pane while the case is shown (a
        toast fades)."""
        self.files_went = (case_id, where)
        self.set_pane_subtitle("agreement", where)

    def _agreement_saved(self, case_id: int, summary: str) -> None:
        self.notify(summary, title=_("Agreement"), markup=False)
        self._after_write(case_id)
