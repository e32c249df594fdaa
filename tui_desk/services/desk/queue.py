"""The queue, its filters, claims and leases, and the desk's presence."""

from __future__ import annotations

import socket

from sqlalchemy import select

from tui_desk.db.models import AuditEvent, CollectionCase, Stage
from tui_desk.i18n import _
from tui_desk.rules.priority import bucket_labels
from tui_desk.rules.states import STATE_ACTION
from tui_desk.services import presence
from tui_desk.services.case_facts import scrub_text
from tui_desk.services.desk.base import DeskPart, use_case
from tui_desk.services.desk.base import enum_value as _enum_value
from tui_desk.services.errors import NotFound
from tui_desk.services.my_day import my_day
from tui_desk.services.queue import (
    QueueFilter,
    Scope,
    claim_case,
    queue_page,
    release_lease,
    renew_lease,
    take_next,
)
from tui_desk.services.validation import (
    check_code,
    check_flag,
    check_id,
    check_optional_id,
    check_text,
)
from tui_desk.views.hand import LeaseState


class QueueDesk(DeskPart):
    # --- presence ----------------------------------------------------------------------

    def heartbeat(self, case_id: int | None) -> None:
        """Tell the boards this desk is alive, on ``case_id``, with the agent's last action.

        The last action is the agent's newest audit event (one index lookup on
        ix_audit_agent_time), so every write the desk makes shows without being reported;
        a change of the agent's state is not an action (the state is shown on its own).
        """
        check_optional_id("case_id", case_id)
        with self.db.read() as s:
            last = s.scalar(
                select(AuditEvent.action)
                .where(AuditEvent.agent_id == self.actor.id)
                .where(AuditEvent.action != STATE_ACTION)
                .order_by(AuditEvent.occurred_at.desc())
                .limit(1)
            )
        presence.heartbeat(
            self.ctx,
            desk_id=self.desk_id,
            host=socket.gethostname(),
            case_id=case_id,
            last_action=last,
        )

    def sign_off(self) -> None:
        """This desk closes: it leaves the board at once (not after the stale time)."""
        presence.sign_off(self.ctx, self.desk_id)

    # --- the queue ---------------------------------------------------------------------

    def buckets(self) -> tuple[str, ...]:
        return tuple(bucket_labels(self.profile.dpd_bounds))

    def stages(self) -> tuple[str, ...]:
        """Stages an open case can be in, in process order."""
        return tuple(s.value for s in Stage if s not in (Stage.PAID, Stage.ARCHIVED))

    def queue_filter(
        self,
        *,
        scope: str = "all",
        bucket: str | None = None,
        stage: str | None = None,
        broken_only: bool = False,
        due_today: bool = False,
        on_hold: bool = False,
        registered_only: bool = False,
        search: str = "",
    ) -> QueueFilter:
        check_code("scope", scope, tuple(s.value for s in Scope))
        if bucket is not None and bucket != "":
            # The profile's labels ("1-30", ..., "91+"): an unknown one is refused here,
            # naming the field, whatever else the filter asks (a search included).
            check_code("bucket", bucket, bucket_labels(self.profile.dpd_bounds))
        for name, value in (
            ("broken_only", broken_only),
            ("due_today", due_today),
            ("on_hold", on_hold),
            ("registered_only", registered_only),
        ):
            check_flag(name, value)
        check_text("search", search, 100)
        return QueueFilter(
            scope=Scope[scope.upper()],
            bucket=bucket,
            stage=_enum_value(Stage, stage, "stage") if stage else None,
            broken_only=broken_only,
            due_today=due_today,
            on_hold=on_hold,
            registered_only=registered_only,
            search=search,
        )

    def describe(self, flt: QueueFilter) -> str:
        """The filter in words for the status line, any phone or ID number in it masked."""
        return scrub_text(flt.describe(), self.profile.masking)

    queue_page = use_case(queue_page)

    # --- leases ------------------------------------------------------------------------

    take_next = use_case(take_next)
    # The operator's own day (the my-day screen, F7): one snapshot.
    my_day = use_case(my_day)

    claim = use_case(claim_case)

    renew = use_case(renew_lease)

    release = use_case(release_lease)

    def lease_state(self, case_id: int) -> LeaseState:
        """Who holds the case's lease now (one primary-key read, no audit): the desk
        polls it while a case is in hand, so a lease freed or taken elsewhere shows."""
        check_id("case_id", case_id)
        with self.db.read() as s:
            row = s.execute(
                select(
                    CollectionCase.lease_holder_id,
                    CollectionCase.lease_expires_at,
                    CollectionCase.version,
                ).where(CollectionCase.id == case_id)
            ).first()
        if row is None:
            raise NotFound(_("case {case_id} does not exist").format(case_id=case_id))
        return LeaseState(case_id, row.lease_holder_id, row.lease_expires_at, row.version)
