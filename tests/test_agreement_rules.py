"""The standard agreement form: templates, merging, required clauses, deviations, hashes."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_desk.resources import data_path
from tui_desk.rules import agreements as rules


def template(language: str) -> rules.Template:
    path = data_path(f"templates/agreements/repayment.v1.{language}.toml")
    with path.open("rb") as fh:
        return rules.parse_template(tomllib.load(fh))


def values(t: rules.Template) -> dict[str, str]:
    return {name: f"<{name}>" for name in rules.template_variables(t)}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_shipped_templates_hold_every_required_clause(language: str) -> None:
    t = template(language)
    content = rules.merge(t, values(t), number="HK-1")
    assert rules.missing_required(content, "cn") == []
    assert {c.kind for c in t.clauses} >= set(rules.REQUIRED_BY_PROFILE["cn"])
    # Both languages use the same variables and clause kinds, in the same order.
    other = template("en" if language == "zh_CN" else "zh_CN")
    assert rules.template_variables(t) == rules.template_variables(other)
    assert [c.kind for c in t.clauses] == [c.kind for c in other.clauses]


def test_merge_refuses_missing_values_by_name() -> None:
    t = template("zh_CN")
    partial = values(t)
    del partial["borrower_name"], partial["hotline"]
    with pytest.raises(rules.TemplateError, match="borrower_name, hotline"):
        rules.merge(t, partial, number="HK-1")


def test_merged_text_carries_the_values() -> None:
    t = template("zh_CN")
    v = values(t) | {"borrower_name": "欧阳娜娜", "hotline": "400-800-9595"}
    content = rules.merge(t, v, number="HK-1", special_terms="  乙方可提前还款。 ")
    text = rules.as_text(content)
    assert "欧阳娜娜" in content.borrower and "400-800-9595" in text
    assert content.special_terms == "乙方可提前还款。"
    assert content.all_clauses[-1].kind == rules.SPECIAL_TERMS


def test_an_empty_required_clause_is_missing() -> None:
    t = template("zh_CN")
    content = rules.merge(t, values(t), number="HK-1")
    emptied = replace(
        content,
        clauses=tuple(
            replace(c, body="  ") if c.kind == rules.BREACH else c for c in content.clauses
        ),
    )
    assert rules.missing_required(emptied, "cn") == ["liability for breach"]
    dropped = replace(
        content, clauses=tuple(c for c in content.clauses if c.kind != rules.REMEDIES)
    )
    assert rules.missing_required(dropped, "us-regf") == ["legal remedies"]


def test_deviations_name_changed_or_dropped_clauses_not_special_terms() -> None:
    t = template("zh_CN")
    standard = rules.merge(t, values(t), number="HK-1")
    assert rules.deviations(standard.with_special_terms("另行约定"), standard) == []
    changed = replace(
        standard,
        clauses=tuple(
            replace(c, body=c.body + "（已修改）") if c.kind == rules.BREACH else c
            for c in standard.clauses
        ),
    )
    assert rules.deviations(changed, standard) == ["第六条 违约责任"]
    dropped = replace(
        standard, clauses=tuple(c for c in standard.clauses if c.kind != rules.REMEDIES)
    )
    assert rules.deviations(dropped, standard) == ["第七条 法律救济"]


@given(st.text(max_size=200))
def test_content_round_trips_and_the_hash_follows_every_character(terms: str) -> None:
    t = template("zh_CN")
    content = rules.merge(t, values(t), number="HK-1", special_terms=terms)
    stored = content.to_json()
    again = rules.Content.from_json(stored)
    assert again == content
    assert again.to_json() == stored
    digest = rules.content_hash(stored)
    assert len(digest) == 64 and digest == rules.content_hash(again.to_json())
    assert rules.content_hash(content.with_special_terms(terms + "x").to_json()) != digest


def test_compare_shows_what_changed() -> None:
    t = template("zh_CN")
    old = rules.merge(t, values(t), number="HK-1")
    new = old.with_special_terms("乙方每月15日前还款。")
    diff = rules.compare(old, new)
    assert any(line.startswith("+") and "乙方每月15日前还款" in line for line in diff)
    assert rules.compare(old, old) == []


def test_unreadable_content_is_refused() -> None:
    with pytest.raises(rules.TemplateError):
        rules.Content.from_json("{not json")
