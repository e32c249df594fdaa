"""Every job and follower `tui-desk worker` runs, with its cadence."""

from __future__ import annotations

from tui_desk.services.agent_states import STALE_STATES_EVERY, stale_states_job
from tui_desk.services.board import (
    BOARD_SNAPSHOT_EVERY,
    FAST_POLL_SECONDS,
    board_fast_path,
    board_snapshot_job,
)
from tui_desk.services.followups import MISSED_FOLLOW_UPS_EVERY, missed_follow_ups_job
from tui_desk.services.holds import HOLD_EXPIRY_EVERY, hold_expiry_job
from tui_desk.services.ledger import (
    LEDGER_FIGURES_EVERY,
    MISSED_INSTALMENTS_EVERY,
    ledger_figures_job,
    missed_instalments_job,
)
from tui_desk.services.priority_refresh import PRIORITY_REFRESH_EVERY, priority_refresh_job
from tui_desk.services.promises import BROKEN_PROMISES_EVERY, broken_promises_job
from tui_desk.services.sms_sender import SMS_SENDER_EVERY, sms_sender_job
from tui_desk.services.strategies import STRATEGIES_EVERY, strategies_job
from tui_desk.worker.runtime import Follower, Job


def default_jobs(profile: str = "cn") -> list[Job]:
    """Every job `tui-desk worker` runs, for the deployment's policy profile."""
    # Stale callbacks need no job: staleness is derived from callback_at when the queue
    # is read, so nothing has to be written when a callback goes stale.
    return [
        Job("priority_refresh", PRIORITY_REFRESH_EVERY, priority_refresh_job(profile)),
        Job("broken_promises", BROKEN_PROMISES_EVERY, broken_promises_job(profile)),
        Job("missed_instalments", MISSED_INSTALMENTS_EVERY, missed_instalments_job(profile)),
        Job("ledger_figures", LEDGER_FIGURES_EVERY, ledger_figures_job(profile)),
        Job("missed_follow_ups", MISSED_FOLLOW_UPS_EVERY, missed_follow_ups_job(profile)),
        # After the jobs that find broken promises and missed instalments (its events), and
        # before the sender, so an SMS it queues goes out in the same round.
        Job("strategies", STRATEGIES_EVERY, strategies_job(profile)),
        Job("sms_sender", SMS_SENDER_EVERY, sms_sender_job(profile)),
        Job("hold_expiry", HOLD_EXPIRY_EVERY, hold_expiry_job(profile)),
        # Agents whose desk stopped beating go offline at their last heartbeat.
        Job("stale_states", STALE_STATES_EVERY, stale_states_job(profile)),
        # Cheap sections for changes time alone makes, the heavy depth when due; the
        # fast path (default_followers) covers desk writes between runs.
        Job("board_snapshot", BOARD_SNAPSHOT_EVERY, board_snapshot_job(profile)),
    ]


def default_followers(profile: str = "cn") -> list[Follower]:
    """Every follower `tui-desk worker` runs while leading, for the policy profile."""
    return [Follower("board_fast_path", board_fast_path(profile), FAST_POLL_SECONDS)]
