"""Audit events told as sentences: an override names its rule in words, never its code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tui_desk.i18n import set_language
from tui_desk.views.audit_text import audit_sentence
from tui_desk.views.supervision import AuditLine

AT = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def _line(action: str, after: dict[str, Any]) -> AuditLine:
    return AuditLine(
        event_id=1, occurred_at=AT, agent_login="sup", agent_name="李主管", action=action,
        entity="override_request", entity_id=3, case_id=7, summary="", before=None, after=after,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("action", "after", "words"),
    [
        ("override_request.create", {"rule": "daily_call_cap"}, "asked for an override of the daily call cap rule"),
        ("override_request.approve", {"rule": "quiet_hours", "expires_at": "2026-03-02T06:30:00+00:00"}, "waived the quiet hours rule once on case #7, until 2026-03-02 14:30"),
        ("contact.override.grant", {"rule": "weekly_call_cap", "expires_at": "2026-03-02T06:30:00+00:00"}, "waived the weekly call cap rule"),
        ("override_request.reject", {"status": "rejected"}, "refused an override on case #7"),
    ],
)  # fmt: skip
def test_override_events_name_the_rule_in_words(
    action: str, after: dict[str, Any], words: str
) -> None:
    sentence = audit_sentence(_line(action, after), "Asia/Shanghai")
    assert sentence.startswith("李主管 ") and words in sentence
    assert "_" not in sentence


def test_in_chinese_too() -> None:
    set_language("zh_CN")
    sentence = audit_sentence(
        _line("override_request.create", {"rule": "daily_call_cap"}), "Asia/Shanghai"
    )
    assert "daily" not in sentence and "#7" in sentence
