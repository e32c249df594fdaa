"""Dialing through the PBX on both engines, against the PBX sandbox over real HTTP on
127.0.0.1: a placed call is logged with its start and recording reference; the contact
rules refuse before anything is dialled; a PBX that is down, refuses the credentials or
answers nonsense leaves nothing logged; without a PBX the number is shown to dial by hand.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tests.refusals import refused_by
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    Channel,
    ContactAttempt,
    Direction,
    Outcome,
    Phone,
    Role,
    RuleOverride,
)
from tui_desk.integrations.pbx import PbxClient, PbxConfig
from tui_desk.integrations.pbx_sandbox import PbxSandbox
from tui_desk.rules.profile import Profile, load_profile
from tui_desk.services import contact_checks, contacts, dialing
from tui_desk.services.context import Actor, Context
from tui_desk.services.dialing import Dialer, DialFailed, NoExtension, dialling_form
from tui_desk.services.errors import RuleRefused
from tui_desk.views.dialing import DialResult

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
US = load_profile("us-regf")
PASSWORD = "s3cret-for-tests"


@pytest.fixture
def sandbox() -> Iterator[PbxSandbox]:
    with PbxSandbox(user="desk", password=PASSWORD) as box:
        yield box


def dialer_for(url: str, *, password: str = PASSWORD, timeout: float = 5.0) -> Dialer:
    return Dialer(PbxClient(PbxConfig(url, "desk", password, "from-internal", timeout)))


def actor_of(db: Database, agent_id: int) -> Actor:
    with db.read() as s:
        agent = s.get(Agent, agent_id)
        assert agent is not None
        return Actor.of(agent)


class Desk:
    """One case, the borrower's mobile, an operator with extension 801, a supervisor."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        op = self.make.agent(login="op")
        with db.write() as s:
            agent = s.get(Agent, op)
            assert agent is not None
            agent.extension = "801"
        self.op = actor_of(db, op)
        self.sup = actor_of(db, self.make.agent(login="sup", role=Role.SUPERVISOR))
        self.borrower = self.make.borrower(phones=["+8613812348000"])
        self.case = self.make.case(borrower_id=self.borrower)
        [self.phone] = self.make.phone_ids(self.borrower)

    def dial(self, dialer: Dialer, *, now: dt.datetime = NOW, profile: Profile = CN) -> DialResult:
        return dialing.dial(
            Context.frozen(self.db, self.op, now, profile), self.case, self.phone, dialer=dialer
        )

    def attempts(self) -> list[ContactAttempt]:
        with self.db.read() as s:
            rows = list(
                s.scalars(
                    select(ContactAttempt)
                    .where(ContactAttempt.case_id == self.case)
                    .order_by(ContactAttempt.id)
                )
            )
            s.expunge_all()
            return rows

    def actions(self) -> list[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(AuditEvent.action)
                    .where(AuditEvent.case_id == self.case)
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def desk(db: Database) -> Desk:
    return Desk(db)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- a placed call -------------------------------------------------------------------------


def test_a_dialled_call_is_logged_with_its_start_and_recording(
    desk: Desk, sandbox: PbxSandbox
) -> None:
    result = desk.dial(dialer_for(sandbox.url))

    [call] = sandbox.calls
    assert call.endpoint == "PJSIP/801"
    assert call.extension == "13812348000"  # national dialing form, digits only
    assert call.context == "from-internal" and call.priority == "1"
    assert result.call_ref == call.recording and call.recording.startswith("rec-")
    assert result.channel_id == call.channel_id
    assert result.masked == "+86 138****8000"
    [attempt] = desk.attempts()
    assert attempt.id == result.contact_id
    assert attempt.call_ref == call.recording
    assert attempt.started_at == NOW
    assert attempt.channel is Channel.PHONE and attempt.direction is Direction.OUTBOUND
    assert attempt.phone_id == desk.phone and attempt.agent_id == desk.op.id
    assert attempt.outcome is Outcome.NO_ANSWER  # provisional, until the operator logs it
    assert desk.actions() == ["contact.dial", "contact.dial.placed"]


def test_a_dialled_call_waits_for_its_outcome_for_a_while(desk: Desk, sandbox: PbxSandbox) -> None:
    result = desk.dial(dialer_for(sandbox.url))

    def pending(
        db: Database, actor: Actor, case_id: int, phone_id: int | None, *, now: dt.datetime
    ) -> int | None:
        return dialing.pending_dial_id(Context.frozen(db, actor, now, CN), case_id, phone_id)

    assert pending(desk.db, desk.op, desk.case, desk.phone, now=NOW) == result.contact_id
    assert pending(desk.db, desk.op, desk.case, None, now=NOW) == result.contact_id
    later = NOW + dt.timedelta(minutes=contact_checks.SETTLE_MINUTES + 1)
    assert pending(desk.db, desk.op, desk.case, desk.phone, now=later) is None
    other = actor_of(desk.db, desk.make.agent(login="op2"))
    assert pending(desk.db, other, desk.case, desk.phone, now=NOW) is None
    # Logging the outcome completes the dialled attempt: one row, the PBX's reference kept.
    contacts.log_contact(
        Context.frozen(desk.db, desk.op, NOW + dt.timedelta(minutes=5), CN),
        desk.case,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        outcome=Outcome.BUSY,
        phone_id=desk.phone,
    )
    [attempt] = desk.attempts()
    assert attempt.id == result.contact_id and attempt.outcome is Outcome.BUSY
    assert attempt.call_ref == result.call_ref and attempt.started_at == NOW
    assert pending(desk.db, desk.op, desk.case, desk.phone, now=NOW) is None
    # The next call is checked by the rules again and is an attempt of its own.
    contacts.log_contact(
        Context.frozen(desk.db, desk.op, NOW + dt.timedelta(minutes=9), CN),
        desk.case,
        channel=Channel.PHONE,
        direction=Direction.OUTBOUND,
        outcome=Outcome.NO_ANSWER,
        phone_id=desk.phone,
    )
    assert len(desk.attempts()) == 2


def test_dials_count_toward_the_attempt_cap(desk: Desk, sandbox: PbxSandbox) -> None:
    dialer = dialer_for(sandbox.url)
    # Regulation F: at most 7 call attempts in 7 days.
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SH).astimezone(dt.UTC)
    for n in range(7):
        desk.dial(dialer, now=start + dt.timedelta(minutes=10 * n), profile=US)
    with refused_by("weekly_call_cap"):
        desk.dial(dialer, now=start + dt.timedelta(hours=2), profile=US)
    assert len(sandbox.calls) == 7 and len(desk.attempts()) == 7


# --- the contact rules refuse before anything is dialled -------------------------------


def test_quiet_hours_refuse_without_dialing(desk: Desk, sandbox: PbxSandbox) -> None:
    with pytest.raises(RuleRefused, match="quiet hours") as refused:
        desk.dial(dialer_for(sandbox.url), now=NIGHT)
    assert "allowed again from" in str(refused.value) and refused.value.rule == "quiet_hours"
    assert sandbox.requests == 0 and sandbox.calls == []
    assert desk.attempts() == []


def test_do_not_call_refuses_without_dialing(desk: Desk, sandbox: PbxSandbox) -> None:
    with desk.db.write() as s:
        phone = s.get(Phone, desk.phone)
        assert phone is not None
        phone.do_not_call = True
    with refused_by("do_not_call"):
        desk.dial(dialer_for(sandbox.url))
    assert sandbox.requests == 0 and desk.attempts() == []


def test_a_hold_refuses_without_dialing(desk: Desk, sandbox: PbxSandbox) -> None:
    desk.make.hold(desk.case, set_by_id=desk.sup.id)
    with pytest.raises(RuleRefused, match="hold"):
        desk.dial(dialer_for(sandbox.url))
    assert sandbox.requests == 0 and desk.attempts() == []


def test_an_override_lets_one_dial_through_and_is_given_back_if_not_dialled(
    desk: Desk, sandbox: PbxSandbox
) -> None:
    contacts.grant_override(
        Context.frozen(desk.db, desk.sup, NIGHT, load_profile()),
        desk.case,
        "quiet_hours",
        desk.op.id,
        "borrower asked",
    )
    sandbox.fail_next(503)
    with pytest.raises(DialFailed, match="503"):
        desk.dial(dialer_for(sandbox.url), now=NIGHT)
    with desk.db.read() as s:
        [override] = s.scalars(select(RuleOverride)).all()
        assert override.used_at is None
    result = desk.dial(dialer_for(sandbox.url), now=NIGHT)
    assert result.overrides_used == ("quiet_hours",)
    [attempt] = desk.attempts()
    assert attempt.override_by_id == desk.sup.id
    with refused_by("quiet_hours"):
        desk.dial(dialer_for(sandbox.url), now=NIGHT)


def test_an_operator_without_an_extension_cannot_dial(desk: Desk, sandbox: PbxSandbox) -> None:
    other = actor_of(desk.db, desk.make.agent(login="noext"))
    with pytest.raises(NoExtension, match="no phone extension"):
        dialing.dial(
            Context.frozen(desk.db, other, NOW, CN),
            desk.case,
            desk.phone,
            dialer=dialer_for(sandbox.url),
        )
    assert sandbox.requests == 0 and desk.attempts() == []


# --- the PBX fails: one clear line, nothing logged ----------------------------------------


def test_a_pbx_that_is_down_leaves_nothing_logged(desk: Desk) -> None:
    with pytest.raises(DialFailed) as failed:
        desk.dial(dialer_for(_closed_port_url()))
    message = str(failed.value)
    assert message.startswith("Not dialled: the phone system at http://127.0.0.1:")
    assert "does not answer" in message and "\n" not in message
    assert desk.attempts() == []
    assert desk.actions() == ["contact.dial", "contact.dial.failed"]


def test_wrong_credentials_are_named(desk: Desk, sandbox: PbxSandbox) -> None:
    with pytest.raises(DialFailed, match="refused the desk's credentials \\(401\\)") as failed:
        desk.dial(dialer_for(sandbox.url, password="wrong"))
    assert "wrong" not in str(failed.value)  # the password is never shown
    assert sandbox.calls == [] and desk.attempts() == []


def test_malformed_json_is_a_clear_error(desk: Desk, sandbox: PbxSandbox) -> None:
    sandbox.fail_next(200, "{not json")
    with pytest.raises(DialFailed, match="answer is not JSON"):
        desk.dial(dialer_for(sandbox.url))
    sandbox.fail_next(200, '{"state": "Down"}')
    with pytest.raises(DialFailed, match="no channel id"):
        desk.dial(dialer_for(sandbox.url))
    assert desk.attempts() == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, '{"message": "Endpoint parameter is required"}', r"refused the call \(400\)"),
        (404, '{"message": "Endpoint not found"}', r"\(404\): Endpoint not found"),
        (500, "<html>Internal Server Error</html>", r"phone system failed \(500\)"),
    ],
)
def test_pbx_errors_are_one_line(
    desk: Desk, sandbox: PbxSandbox, status: int, body: str, expected: str
) -> None:
    sandbox.fail_next(status, body)
    with pytest.raises(DialFailed, match=expected) as failed:
        desk.dial(dialer_for(sandbox.url))
    assert "\n" not in str(failed.value)
    assert desk.attempts() == []


def test_a_pbx_that_hangs_may_have_placed_the_call_so_the_attempt_stays(
    desk: Desk, sandbox: PbxSandbox
) -> None:
    sandbox.fail_next(200, '{"id": "late.1"}', delay=1.0)
    with pytest.raises(DialFailed, match="may have been placed; the attempt is logged"):
        desk.dial(dialer_for(sandbox.url, timeout=0.2))
    [attempt] = desk.attempts()
    assert attempt.call_ref is None and attempt.started_at == NOW
    assert desk.actions()[-1] == "contact.dial.unconfirmed"


# --- without a PBX ----------------------------------------------------------------------------


def test_without_a_pbx_the_number_is_shown_for_dialing_by_hand(desk: Desk) -> None:
    assert Dialer.from_settings(Settings(database_url="sqlite://")) is None
    plan = dialing.dial_plan(Context.frozen(desk.db, desk.op, NOW, CN), desk.case, desk.phone)
    assert plan.display == "138 1234 8000" and plan.digits == "13812348000"
    assert plan.masked == "+86 138****8000"
    assert desk.attempts() == []
    assert desk.actions() == ["personal.reveal"]
    with refused_by("quiet_hours"):
        dialing.dial_plan(Context.frozen(desk.db, desk.op, NIGHT, CN), desk.case, desk.phone)


def test_a_configured_pbx_makes_a_dialer() -> None:
    settings = Settings(
        database_url="sqlite://", pbx_url="http://pbx.example:8088/", pbx_user="desk",
        pbx_password="x", pbx_context="collections",
    )  # fmt: skip
    dialer = Dialer.from_settings(settings)
    assert dialer is not None
    assert dialer.where == "http://pbx.example:8088"
    assert dialer.client.config.context == "collections"


@pytest.mark.parametrize(
    ("e164", "display", "digits"),
    [
        ("+8613812345678", "138 1234 5678", "13812345678"),
        ("+861012345678", "010 1234 5678", "01012345678"),
        ("+8675512345678", "0755 1234 5678", "075512345678"),
        ("+14155550123", "00 1 415-555-0123", "0014155550123"),
        ("+85291234567", "00 852 9123 4567", "0085291234567"),
    ],
)
def test_numbers_in_dialing_form_from_china(e164: str, display: str, digits: str) -> None:
    assert dialling_form(e164, "CN") == (display, digits)
