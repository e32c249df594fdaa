"""Contact rules: quiet hours across zones and DST, caps, do-not-call, holds, inbound."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tui_desk.rules.contact import (
    ContactPolicy,
    ContactRequest,
    PastContact,
    check_contact,
)
from tui_desk.rules.profile import load_profile

CN = ContactPolicy.from_section(load_profile("cn").section("contact"))
US = ContactPolicy.from_section(load_profile("us-regf").section("contact"))
SH = "Asia/Shanghai"
US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]


def local(zone: str, y: int, mo: int, d: int, h: int, mi: int) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def req(now: dt.datetime, *, zones: tuple[str, ...] = (SH,), **kw: object) -> ContactRequest:
    base: dict[str, object] = {"channel": "phone", "direction": "outbound", "party": "borrower"}
    base.update(kw)
    return ContactRequest(now=now, zones=zones, **base)  # type: ignore[arg-type]


def test_cn_quiet_hours_and_when_allowed() -> None:
    d = check_contact(req(local(SH, 2026, 3, 2, 22, 30)), [], CN)
    assert not d.allowed and d.rule == "quiet_hours"
    assert d.allowed_from == local(SH, 2026, 3, 3, 8, 0)
    assert check_contact(req(local(SH, 2026, 3, 2, 8, 0)), [], CN).allowed
    assert not check_contact(req(local(SH, 2026, 3, 2, 7, 59)), [], CN).allowed
    assert not check_contact(req(local(SH, 2026, 3, 2, 22, 0)), [], CN).allowed


def test_cn_three_connected_calls_a_day() -> None:
    now = local(SH, 2026, 3, 2, 15, 0)
    hist = [
        PastContact(now - dt.timedelta(hours=h), "phone", "outbound", "refused") for h in (1, 2, 3)
    ]
    d = check_contact(req(now), hist, CN)
    assert not d.allowed and d.rule == "daily_call_cap"
    assert d.allowed_from == local(SH, 2026, 3, 3, 8, 0)
    # Unanswered calls and inbound calls do not count.
    hist2 = [PastContact(now - dt.timedelta(hours=1), "phone", "outbound", "no_answer")] * 5
    hist2 += [PastContact(now - dt.timedelta(hours=2), "phone", "inbound", "promise")] * 5
    assert check_contact(req(now), hist2, CN).allowed


def test_cn_only_debtor_and_guarantor() -> None:
    now = local(SH, 2026, 3, 2, 10, 0)
    assert check_contact(req(now, party="guarantor"), [], CN).allowed
    d = check_contact(req(now, party="employer"), [], CN)
    assert not d.allowed and d.rule == "third_party" and d.allowed_from is None


def test_do_not_call_hold_and_inbound() -> None:
    now = local(SH, 2026, 3, 2, 10, 0)
    assert check_contact(req(now, do_not_call=True), [], CN).rule == "do_not_call"
    assert check_contact(req(now, on_hold=True), [], CN).rule == "hold"
    night = local(SH, 2026, 3, 2, 23, 0)
    assert check_contact(req(night, direction="inbound", on_hold=True), [], CN).allowed


def test_us_every_candidate_zone() -> None:
    # 08:30 in New York is 05:30 in Los Angeles: not yet allowed.
    now = local("America/New_York", 2026, 3, 2, 8, 30)
    d = check_contact(req(now, zones=("America/New_York", "America/Los_Angeles")), [], US)
    assert not d.allowed and d.rule == "quiet_hours"
    assert d.allowed_from == local("America/Los_Angeles", 2026, 3, 2, 8, 0)


def test_us_seven_in_seven_and_after_conversation() -> None:
    zone = ("America/Chicago",)
    now = local("America/Chicago", 2026, 5, 11, 12, 0)
    hist = [
        PastContact(now - dt.timedelta(days=d, hours=1), "phone", "outbound", "no_answer")
        for d in range(7)
    ]
    d = check_contact(req(now, zones=zone), hist, US)
    assert not d.allowed and d.rule == "weekly_call_cap"
    oldest = min(h.at for h in hist)
    assert d.allowed_from is not None and d.allowed_from >= oldest + dt.timedelta(days=7)
    talk = [PastContact(now - dt.timedelta(days=2), "phone", "outbound", "refused")]
    d2 = check_contact(req(now, zones=zone), talk, US)
    assert d2.rule == "after_conversation"
    assert d2.allowed_from == talk[0].at + dt.timedelta(days=7)
    # The call caps are for calls only.
    assert check_contact(req(now, zones=zone, channel="sms"), hist + talk, US).allowed


def test_us_dst_spring_forward() -> None:
    # 2026-03-08 02:00 -> 03:00 in New York: 08:00 local is 12:00 UTC that day.
    now = local("America/New_York", 2026, 3, 8, 1, 30)
    d = check_contact(req(now, zones=("America/New_York",)), [], US)
    assert d.allowed_from == dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.just(dt.UTC),
)
outcomes = st.sampled_from(["no_answer", "busy", "refused", "promise", "third_party", "callback"])


@st.composite
def histories(draw: st.DrawFn, now: dt.datetime) -> list[PastContact]:
    n = draw(st.integers(0, 12))
    return [
        PastContact(
            now - dt.timedelta(minutes=draw(st.integers(1, 60 * 24 * 10))),
            draw(st.sampled_from(["phone", "phone", "sms"])),
            draw(st.sampled_from(["outbound", "outbound", "inbound"])),
            draw(outcomes),
        )
        for _ in range(n)
    ]


@given(data=st.data(), now=moments, policy=st.sampled_from([CN, US]))
def test_allowed_means_every_rule_holds(
    data: st.DataObject, now: dt.datetime, policy: ContactPolicy
) -> None:
    zones = tuple(
        data.draw(st.lists(st.sampled_from([SH, *US_ZONES]), min_size=1, max_size=3, unique=True))
    )
    hist = data.draw(histories(now))
    d = check_contact(req(now, zones=zones), hist, policy)
    if d.allowed:
        for zone in zones:
            t = now.astimezone(ZoneInfo(zone)).time()
            assert policy.quiet_end <= t < policy.quiet_start
    else:
        assert d.rule and d.reason
        if d.allowed_from is not None:
            assert d.allowed_from > now
            # The moment it names is really allowed, and a minute before it is not.
            assert check_contact(req(d.allowed_from, zones=zones), hist, policy).allowed
            before = d.allowed_from - dt.timedelta(minutes=1)
            if before > now:
                assert not check_contact(req(before, zones=zones), hist, policy).allowed


@given(now=moments, policy=st.sampled_from([CN, US]), data=st.data())
def test_inbound_never_refused_and_never_counts(
    now: dt.datetime, policy: ContactPolicy, data: st.DataObject
) -> None:
    hist = data.draw(histories(now))
    assert check_contact(req(now, direction="inbound"), hist, policy).allowed
    outbound_only = [h for h in hist if h.direction == "outbound"]
    a = check_contact(req(now), hist, policy)
    b = check_contact(req(now), outbound_only, policy)
    assert (a.allowed, a.rule) == (b.allowed, b.rule)
