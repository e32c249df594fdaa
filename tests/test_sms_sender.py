"""The SMS sender against the sandbox gateway over real HTTP on 127.0.0.1, both engines:
nothing lost, nothing sent twice; retries with backoff and Retry-After; timeouts and
malformed answers; delivery reports updating the contact log."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import Factory
from tui_desk.config import Settings
from tui_desk.db.engine import Database
from tui_desk.db.models import AuditEvent, ContactAttempt, OutboxStatus, Outcome, Role, SmsOutbox
from tui_desk.integrations.sms_gateway import GatewayError, SmsGateway, parse_retry_after
from tui_desk.integrations.sms_sandbox import SmsSandbox
from tui_desk.rules.profile import load_profile
from tui_desk.services import sms, sms_sender
from tui_desk.services.context import Actor, Context
from tui_desk.services.sms_sender import SenderPolicy, run_sender, sms_sender_job
from tui_desk.views.sms import QueuedSms

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
POLICY = SenderPolicy(
    backoff_base=dt.timedelta(seconds=10),
    poll_every=dt.timedelta(seconds=5),
    claim_for=dt.timedelta(seconds=60),
    timeout=2.0,
)
S = dt.timedelta(seconds=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def box() -> Iterator[SmsSandbox]:
    with SmsSandbox(deliver_after=0.0, token="s3cret") as sandbox:
        yield sandbox


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        make = Factory(db, now=NOW)
        self.make = make
        op = make.agent(login="op")
        self.op = Actor(id=op, login="op", name="op", role=Role.OPERATOR)
        self.cases: list[int] = []
        self.numbers: list[str] = []
        for i in range(3):
            number = f"+86138123480{i:02d}"
            borrower = make.borrower(phones=[number])
            self.cases.append(make.case(borrower_id=borrower))
            self.numbers.append(number)

    def queue(self, index: int = 0, template: str = "reminder.zh_CN") -> QueuedSms:
        return sms.queue_sms(
            Context.frozen(self.db, self.op, NOW - 60 * S, CN), self.cases[index], template
        )

    def rows(self) -> list[SmsOutbox]:
        with self.db.read() as s:
            rows = list(s.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))
            s.expunge_all()
            return rows

    def row(self, outbox_id: int) -> SmsOutbox:
        [row] = [r for r in self.rows() if r.id == outbox_id]
        return row

    def outcome(self, contact_id: int) -> Outcome:
        with self.db.read() as s:
            attempt = s.get(ContactAttempt, contact_id)
            assert attempt is not None
            return attempt.outcome


@pytest.fixture
def world(db: Database) -> World:
    return World(db)


def gateway(url: str, *, token: str = "s3cret", timeout: float = 2.0) -> SmsGateway:
    return SmsGateway(url, token, timeout=timeout)


def run(world: World, url: str, at: dt.datetime, **kw: object) -> sms_sender.SenderReport:
    policy = kw.pop("policy", POLICY)
    assert isinstance(policy, SenderPolicy)
    with gateway(url) as gw:
        return run_sender(world.db, gw, at, policy=policy, profile=CN)


def test_sent_then_delivered_updates_the_contact_log(world: World, box: SmsSandbox) -> None:
    queued = world.queue()
    report = run(world, box.url, NOW)
    assert (report.sent, report.waiting) == (1, 0)
    row = world.row(queued.outbox_id)
    assert row.status is OutboxStatus.SENT
    assert row.provider_id == "m-1"
    [message] = box.messages()
    assert message.body == row.body
    assert message.to == world.numbers[0]
    assert message.idempotency_key == row.idempotency_key
    assert world.outcome(queued.contact_id) is Outcome.SENT

    assert run(world, box.url, NOW + S).delivered == 0  # not polled before poll_every
    report = run(world, box.url, NOW + POLICY.poll_every)
    assert report.delivered == 1
    row = world.row(queued.outbox_id)
    assert row.status is OutboxStatus.DELIVERED
    assert row.delivered_at is not None
    assert world.outcome(queued.contact_id) is Outcome.DELIVERED
    assert [line.describe() for line in sms.outbox_lines(world.db, world.cases[0], profile=CN)] == [
        "delivered"
    ]
    with world.db.read() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-3:] == ["sms.queue", "sms.sent", "sms.delivered"]
    assert box.posts() == {row.idempotency_key: 1}


def test_gateway_down_then_up_loses_nothing_and_duplicates_nothing(world: World) -> None:
    ids = [world.queue(i).outbox_id for i in range(3)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    report = run(world, url, NOW)  # nobody listens
    assert (report.sent, report.retrying, report.waiting) == (0, 1, 3)
    rows = world.rows()
    assert all(r.status is OutboxStatus.PENDING for r in rows)
    first = world.row(ids[0])
    assert first.attempts == 1 and first.last_error is not None
    assert first.last_error.startswith("gateway unreachable")
    # The batch stopped at the first refused connection: the others were not tried.
    assert [world.row(i).attempts for i in ids[1:]] == [0, 0]
    line = sms.outbox_lines(world.db, world.cases[0], profile=CN)[0]
    assert line.describe().startswith("queued (attempt 1: gateway unreachable")

    with SmsSandbox(port=port, deliver_after=0.0, token="s3cret") as box:
        # Up but dropping connections for a while: still nothing lost.
        box.set_mode("down", count=1)
        report = run(world, url, NOW + 10 * S)
        assert report.sent == 0
        report = run(world, url, NOW + 40 * S)
        assert report.sent == 3
        assert {r.status for r in world.rows()} == {OutboxStatus.SENT}
        assert run(world, url, NOW + 50 * S).delivered == 3
        keys = {r.idempotency_key for r in world.rows()}
        assert box.deliveries() == dict.fromkeys(keys, 1)
        assert sorted(m.to for m in box.messages()) == sorted(world.numbers)


def test_a_post_whose_answer_was_lost_is_not_sent_twice(
    world: World, box: SmsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = world.queue()
    real = sms_sender._record_sent

    def crash(*args: object, **kw: object) -> None:
        raise RuntimeError("the worker died after the gateway accepted")

    monkeypatch.setattr(sms_sender, "_record_sent", crash)
    with pytest.raises(RuntimeError):
        run(world, box.url, NOW)
    assert world.row(queued.outbox_id).status is OutboxStatus.SENDING
    monkeypatch.setattr(sms_sender, "_record_sent", real)

    assert run(world, box.url, NOW + S).sent == 0  # claimed: not before claim_for
    assert run(world, box.url, NOW + POLICY.claim_for).sent == 1
    row = world.row(queued.outbox_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert box.posts() == {row.idempotency_key: 2}  # posted twice ...
    assert box.deliveries() == {row.idempotency_key: 1}  # ... sent once
    assert len(box.messages()) == 1


def test_429_retry_after_is_honoured(world: World, box: SmsSandbox) -> None:
    queued = world.queue()
    box.set_mode("429", count=1, retry_after="45")
    report = run(world, box.url, NOW)
    assert report.retrying == 1
    row = world.row(queued.outbox_id)
    assert row.status is OutboxStatus.PENDING
    assert row.next_attempt_at == NOW + 45 * S  # longer than the 10 s backoff
    assert row.last_error is not None and "429" in row.last_error
    requests = box.state.requests
    assert run(world, box.url, NOW + 30 * S).sent == 0
    assert box.state.requests == requests  # not asked again before Retry-After
    assert run(world, box.url, NOW + 45 * S).sent == 1


def test_5xx_is_retried_with_backoff_then_given_up(world: World, box: SmsSandbox) -> None:
    queued = world.queue()
    box.set_mode("503", count=1)
    box.set_mode("500", count=1)
    run(world, box.url, NOW)
    assert world.row(queued.outbox_id).next_attempt_at == NOW + 10 * S
    run(world, box.url, NOW + 10 * S)
    row = world.row(queued.outbox_id)
    assert row.next_attempt_at == NOW + 30 * S  # doubled
    assert row.last_error is not None and "500" in row.last_error
    assert run(world, box.url, NOW + 30 * S).sent == 1

    other = world.queue(1)
    box.set_mode("503")
    few = SenderPolicy(max_attempts=2, backoff_base=S, poll_every=POLICY.poll_every)
    run(world, box.url, NOW + 40 * S, policy=few)
    report = run(world, box.url, NOW + 50 * S, policy=few)
    assert report.failed == 1
    row = world.row(other.outbox_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("gave up after 2 attempts")
    assert world.outcome(other.contact_id) is Outcome.FAILED
    line = sms.outbox_lines(world.db, world.cases[1], profile=CN)[0]
    assert line.describe().startswith("failed: gave up after 2 attempts")


def test_a_timeout_is_retried_and_the_gateway_dedupes(world: World) -> None:
    with SmsSandbox(deliver_after=0.0, slow_seconds=0.6) as box:
        queued = world.queue()
        box.set_mode("slow", count=1)
        quick = SenderPolicy(backoff_base=S, timeout=0.2)
        with gateway(box.url, timeout=0.2) as gw:
            report = run_sender(world.db, gw, NOW, policy=quick, profile=CN)
        assert report.retrying == 1
        row = world.row(queued.outbox_id)
        assert row.last_error is not None and row.last_error.startswith("timeout")
        with gateway(box.url) as gw:
            assert run_sender(world.db, gw, NOW + 2 * S, policy=quick, profile=CN).sent == 1
        for _ in range(100):  # the slow request lands after its client gave up
            if box.posts().get(row.idempotency_key) == 2:
                break
            time.sleep(0.02)
        assert box.posts() == {row.idempotency_key: 2}
        assert box.deliveries() == {row.idempotency_key: 1}


def test_a_malformed_answer_is_retried(world: World, box: SmsSandbox) -> None:
    queued = world.queue()
    box.set_mode("garbage", count=1)
    report = run(world, box.url, NOW)
    assert report.retrying == 1
    row = world.row(queued.outbox_id)
    assert row.last_error is not None and row.last_error.startswith("malformed answer")
    assert run(world, box.url, NOW + 10 * S).sent == 1
    assert len(box.messages()) == 1


def test_an_undeliverable_message_fails_the_contact(world: World) -> None:
    with SmsSandbox(deliver_after=0.0, undeliverable={"+8613812348001"}) as box:
        queued = world.queue(1)
        run(world, box.url, NOW)
        report = run(world, box.url, NOW + POLICY.poll_every)
        assert report.undelivered == 1
        row = world.row(queued.outbox_id)
        assert row.status is OutboxStatus.FAILED
        assert row.last_error == "undeliverable: unknown subscriber"
        assert world.outcome(queued.contact_id) is Outcome.FAILED


def test_a_bad_token_fails_at_once(world: World, box: SmsSandbox) -> None:
    queued = world.queue()
    with SmsGateway(box.url, "wrong") as gw:
        report = run_sender(world.db, gw, NOW, policy=POLICY, profile=CN)
    assert report.failed == 1
    row = world.row(queued.outbox_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and "401" in row.last_error
    assert box.messages() == []


def test_rules_are_checked_again_before_sending(world: World, box: SmsSandbox) -> None:
    held = world.queue(0)
    late = world.queue(1)
    world.make.hold(world.cases[0], set_by_id=world.op.id)
    night = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
    report = run(world, box.url, night)
    assert (report.failed, report.deferred, report.sent) == (1, 1, 0)
    row = world.row(held.outbox_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("not sent (hold)")
    assert world.outcome(held.contact_id) is Outcome.FAILED
    waiting = world.row(late.outbox_id)
    assert waiting.status is OutboxStatus.PENDING
    morning = dt.datetime(2026, 3, 3, 8, 0, tzinfo=SH).astimezone(dt.UTC)
    assert waiting.next_attempt_at == morning
    assert box.messages() == []
    assert run(world, box.url, morning).sent == 1


def test_the_worker_job_reads_the_gateway_from_settings(world: World, box: SmsSandbox) -> None:
    world.queue()
    none = sms_sender_job("cn", settings=lambda: Settings(database_url="sqlite://"))
    assert none(world.db, NOW) == "no SMS gateway configured; 1 waiting"
    job = sms_sender_job(
        "cn",
        settings=lambda: Settings(
            database_url="sqlite://", sms_gateway_url=box.url, sms_gateway_token="s3cret"
        ),
        policy=POLICY,
    )
    assert job(world.db, NOW).startswith("sent 1, retrying 0, failed 0")
    assert len(box.messages()) == 1


def test_the_client_classifies_answers(box: SmsSandbox) -> None:
    with gateway(box.url) as gw:
        accepted = gw.send(to="+8613800000000", body="hi", reference="r", idempotency_key="k1")
        again = gw.send(to="+8613800000000", body="hi", reference="r", idempotency_key="k1")
        assert accepted.provider_id == again.provider_id
        assert gw.status(accepted.provider_id).status == "delivered"
        with pytest.raises(GatewayError) as err:
            gw.status("m-404")
        assert not err.value.retryable
        with pytest.raises(GatewayError) as err:
            gw.send(to="", body="hi", reference="r", idempotency_key="k2")
        assert not err.value.retryable
    assert parse_retry_after("7") == 7.0
    when = NOW + 30 * S
    assert parse_retry_after(when.strftime("%a, %d %b %Y %H:%M:%S GMT"), NOW) == 30.0
    assert parse_retry_after("soon") is None
