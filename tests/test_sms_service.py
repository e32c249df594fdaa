"""Queueing an SMS on both engines: one transaction with the contact record, the contact
rules per channel (quiet hours, do-not-call, hold, the SMS cap), template checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from tui_desk.db.engine import Database
from tui_desk.db.models import (
    Agent,
    AuditEvent,
    Channel,
    ContactAttempt,
    OutboxStatus,
    Outcome,
    Phone,
    Role,
    SmsOutbox,
)
from tui_desk.rules.permissions import Action
from tui_desk.rules.profile import load_profile
from tui_desk.services import sms
from tui_desk.services.context import Actor, Context
from tui_desk.services.errors import PermissionDenied, RuleRefused, StaleEdit
from tui_desk.views.sms import QueuedSms

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=SH).astimezone(dt.UTC)  # Monday 14:00 Shanghai
NIGHT = dt.datetime(2026, 3, 2, 23, 0, tzinfo=SH).astimezone(dt.UTC)
CN = load_profile("cn")
NUMBER = "+8613812348000"


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.make = Factory(db, now=NOW)
        op = self.make.agent(login="op", name="王坐席")
        with db.write() as s:
            agent = s.get(Agent, op)
            assert agent is not None
            agent.extension = "1234"
        self.op = Actor(id=op, login="op", name="王坐席", role=Role.OPERATOR)
        self.borrower = self.make.borrower(name="李四", phones=[NUMBER])
        self.case = self.make.case(borrower_id=self.borrower)
        [self.phone] = self.make.phone_ids(self.borrower)

    def queue(self, template: str = "reminder.zh_CN", now: dt.datetime = NOW) -> QueuedSms:
        return sms.queue_sms(
            Context.frozen(self.db, self.op, now, CN), self.case, template, phone_id=self.phone
        )

    def outbox(self) -> list[SmsOutbox]:
        with self.db.read() as s:
            rows = list(s.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))
            s.expunge_all()
            return rows

    def sms_contacts(self) -> int:
        with self.db.read() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(ContactAttempt)
                    .where(ContactAttempt.channel == Channel.SMS)
                )
                or 0
            )


@pytest.fixture
def world(db: Database) -> World:
    return World(db)


def test_queueing_writes_the_contact_and_the_outbox_together(world: World) -> None:
    queued = world.queue()
    [row] = world.outbox()
    assert row.status is OutboxStatus.PENDING
    assert row.contact_id == queued.contact_id
    assert row.e164 == NUMBER
    assert row.idempotency_key.startswith("sms-")
    assert "400-800-9595" in row.body  # the official hotline
    assert "12,345.67元" in row.body  # the amount due
    assert "400-800-9595 转 1234" in row.body  # the operator's callback line
    assert "李四" in row.body
    assert row.segments == queued.segments >= 2  # Chinese: UCS-2, > 70 characters
    with world.db.read() as s:
        attempt = s.get(ContactAttempt, queued.contact_id)
        assert attempt is not None
        assert (attempt.channel, attempt.outcome, attempt.phone_id) == (
            Channel.SMS,
            Outcome.SENT,
            world.phone,
        )
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "sms.queue")).all()
        assert event.entity_id == row.id
        assert event.after is not None
        assert event.after["phone"] == "+86 138****8000"
    assert queued.number == "+86 138****8000"
    lines = sms.outbox_lines(world.db, world.case, profile=CN)
    assert [line.describe() for line in lines] == ["queued"]


def test_the_preview_shows_text_length_and_whether_it_may_go(world: World) -> None:
    preview = sms.preview_sms(
        Context.frozen(world.db, world.op, NOW, CN), world.case, "reminder.en"
    )
    assert preview.allowed
    assert preview.length.encoding == "UCS-2"  # the bank's name is Chinese
    assert "400-800-9595 ext. 1234" in preview.text
    night = sms.preview_sms(
        Context.frozen(world.db, world.op, NIGHT, CN), world.case, "reminder.en"
    )
    assert (night.allowed, night.rule) == (False, "quiet_hours")
    assert night.allowed_from == dt.datetime(2026, 3, 3, 8, 0, tzinfo=SH).astimezone(dt.UTC)


def _refused(world: World, rule: str, now: dt.datetime = NOW) -> None:
    before = (len(world.outbox()), world.sms_contacts())
    with pytest.raises(RuleRefused) as err:
        world.queue(now=now)
    assert f"({rule})" in str(err.value)
    assert (len(world.outbox()), world.sms_contacts()) == before


def test_quiet_hours_refuse_a_send(world: World) -> None:
    _refused(world, "quiet_hours", NIGHT)


def test_do_not_call_refuses_a_send(world: World) -> None:
    with world.db.write() as s:
        phone = s.get(Phone, world.phone)
        assert phone is not None
        phone.do_not_call = True
    _refused(world, "do_not_call")


def test_a_hold_refuses_a_send(world: World) -> None:
    world.make.hold(world.case, set_by_id=world.op.id)
    _refused(world, "hold")


def test_the_sms_cap_refuses_the_third_of_the_day(world: World) -> None:
    world.queue(now=NOW - dt.timedelta(hours=2))
    world.queue(now=NOW - dt.timedelta(hours=1))
    _refused(world, "daily_sms_cap")
    # Tomorrow it may go again.
    world.queue(now=NOW + dt.timedelta(days=1))


def test_the_sms_cap_names_when_quiet_hours_allow_it_again(world: World) -> None:
    world.queue(now=NOW - dt.timedelta(hours=2))
    world.queue(now=NOW - dt.timedelta(hours=1))
    capped = sms.preview_sms(Context.frozen(world.db, world.op, NOW, CN), world.case, "reminder.en")
    assert (capped.allowed, capped.rule) == (False, "daily_sms_cap")
    # Not midnight, when the cap lifts but the night is quiet: the morning's first hour.
    assert capped.allowed_from == dt.datetime(2026, 3, 3, 8, 0, tzinfo=SH).astimezone(dt.UTC)


def test_a_stale_view_and_a_wrong_role_are_refused(world: World) -> None:
    with pytest.raises(StaleEdit):
        sms.queue_sms(
            Context.frozen(world.db, world.op, NOW, CN),
            world.case,
            "reminder.zh_CN",
            expected_version=99,
        )
    admin = Actor(id=world.op.id, login="root", name="root", role=Role.ADMIN)
    if not admin.can(Action.WORK_CASES):
        with pytest.raises(PermissionDenied):
            sms.queue_sms(Context.frozen(world.db, admin, NOW, CN), world.case, "reminder.zh_CN")


def test_templates_without_the_hotline_cannot_be_installed_or_loaded(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "nohotline.zh_CN.toml"
    bad.write_text('language = "zh_CN"\ntitle = "x"\nbody = "{borrower}请还款"\n', "utf-8")
    sup = Actor(id=world.op.id, login="sup", name="sup", role=Role.SUPERVISOR)
    with pytest.raises(RuleRefused) as err:
        sms.install_sms_template(Context.frozen(world.db, sup, NOW, CN), bad)
    assert "(hotline)" in str(err.value)
    with pytest.raises(PermissionDenied):
        sms.install_sms_template(Context.frozen(world.db, world.op, NOW, CN), bad)

    good = tmp_path / "short.en.toml"
    good.write_text(
        'language = "en"\ntitle = "Short"\nbody = "{borrower}: please call {hotline}."\n', "utf-8"
    )
    key = sms.install_sms_template(Context.frozen(world.db, sup, NOW, CN), good)
    assert key == "short.v1.en"
    assert "short.en" in {t.name for t in sms.load_sms_templates(CN, db=world.db).templates}
    assert "short.en" not in {t.name for t in sms.load_sms_templates(CN).templates}
    # A second install is the next version; the newest is the one offered.
    good.write_text(
        'language = "en"\ntitle = "Short"\nbody = "{borrower}: call {hotline} today."\n', "utf-8"
    )
    assert sms.install_sms_template(Context.frozen(world.db, sup, NOW, CN), good) == "short.v2.en"
    offered = sms.load_sms_templates(CN, db=world.db).get("short.en")
    assert "today" in offered.body

    # A bad file among the shipped ones is skipped and reported, never offered.
    folder = tmp_path / "shipped"
    folder.mkdir()
    (folder / "bad.zh_CN.toml").write_text(
        'language = "zh_CN"\ntitle = "x"\nbody = "请转入个人账户，热线{hotline}"\n', "utf-8"
    )
    (folder / "ok.zh_CN.toml").write_text(
        'language = "zh_CN"\ntitle = "x"\nbody = "{borrower}请致电{hotline}"\n', "utf-8"
    )
    catalogue = sms.load_sms_templates(CN, folders=[folder], db=world.db)
    assert "bad.zh_CN" not in {t.name for t in catalogue.templates}
    assert any("personal_account" in p for p in catalogue.problems)
    # The profile's language comes first.
    assert catalogue.templates[0].language == "zh_CN"


def test_the_contact_log_shows_where_an_sms_stands(world: World) -> None:
    from sqlalchemy import update

    from tui_desk.services.case_view import contact_log
    from tui_desk.widgets.contact_log import contact_outcome

    queued = world.queue()

    def status() -> tuple[OutboxStatus | None, str]:
        [line] = contact_log(world.db, world.case, profile=CN)
        assert line.contact_id == queued.contact_id
        return line.sms_status, contact_outcome(line).plain

    # Queued until the worker hands it to a gateway: never "sent" before that.
    assert status() == (OutboxStatus.PENDING, "queued")
    for state, shown in (
        (OutboxStatus.SENT, "sent"),
        (OutboxStatus.DELIVERED, "delivered"),
        (OutboxStatus.FAILED, "failed"),
    ):
        with world.db.write() as s:
            s.execute(update(SmsOutbox).values(status=state))
        assert status() == (state, shown)
