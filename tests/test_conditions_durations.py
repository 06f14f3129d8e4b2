"""Conditions (parse, type-check, three-valued evaluation) and ISO 8601 durations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaleguard.framework.conditions import (
    AllOf,
    FactTest,
    Truth,
    describe,
    evaluate,
    facts_named,
    parse_condition,
    to_data,
)
from scaleguard.framework.durations import Duration
from scaleguard.framework.facts import BUILTIN_FACTS


def parse(raw: Any) -> Any:
    cond, issues = parse_condition(raw, BUILTIN_FACTS)
    assert not issues, issues
    return cond


def test_parse_and_describe() -> None:
    cond = parse(
        {
            "all": [
                {"fact": "developer_leads"},
                {"not": {"fact": "all_competitors_strong_safeguards"}},
                {"fact": "effective_compute_multiple", "at_least": 4},
            ]
        }
    )
    assert isinstance(cond, AllOf)
    assert describe(cond) == (
        "developer_leads and not all_competitors_strong_safeguards "
        "and effective_compute_multiple at least 4"
    )
    assert facts_named(cond) == [
        "developer_leads",
        "all_competitors_strong_safeguards",
        "effective_compute_multiple",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"fact": "nope"}, "unknown fact"),
        ({"all": []}, "non-empty list"),
        ({"any": "developer_leads"}, "non-empty list"),
        ({"fact": "developer_leads", "any": []}, "exactly one"),
        ({}, "exactly one"),
        ("developer_leads", "must be a mapping"),
        ({"fact": "developer_leads", "above": 1}, "boolean"),
        ({"fact": "effective_compute_multiple"}, "needs a comparator"),
        ({"fact": "effective_compute_multiple", "above": "x"}, "needs a number"),
        ({"fact": "effective_compute_multiple", "above": 1, "below": 3}, "at most one"),
        ({"fact": "developer_leads", "colour": 1}, "unexpected key"),
        ({"not": {"fact": "x"}, "also": 1}, "unexpected key"),
    ],
)
def test_condition_errors(raw: Any, message: str) -> None:
    cond, issues = parse_condition(raw, BUILTIN_FACTS)
    assert cond is None
    assert any(message in issue.message for issue in issues), issues


def test_unknown_fact_is_unknown_not_false() -> None:
    cond = parse({"fact": "developer_leads"})
    assert evaluate(cond, {}) is Truth.UNKNOWN
    assert evaluate(parse({"not": {"fact": "developer_leads"}}), {}) is Truth.UNKNOWN


def test_kleene_logic() -> None:
    both = parse({"all": [{"fact": "developer_leads"}, {"fact": "highly_capable"}]})
    either = parse({"any": [{"fact": "developer_leads"}, {"fact": "highly_capable"}]})
    assert evaluate(both, {"developer_leads": False}) is Truth.FALSE
    assert evaluate(both, {"developer_leads": True}) is Truth.UNKNOWN
    assert evaluate(either, {"developer_leads": True}) is Truth.TRUE
    assert evaluate(either, {"developer_leads": False}) is Truth.UNKNOWN
    assert evaluate(either, {"developer_leads": False, "highly_capable": False}) is Truth.FALSE


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [("at_least", 4, True), ("above", 4, False), ("at_most", 4, True), ("below", 4, False)],
)
def test_numeric_comparators(comparator: str, value: float, expected: bool) -> None:
    cond = parse({"fact": "effective_compute_multiple", comparator: value})
    assert evaluate(cond, {"effective_compute_multiple": 4.0}) is Truth.of(expected)


fact_names = st.sampled_from(["developer_leads", "highly_capable", "marginal_risk_small"])
conditions = st.recursive(
    st.builds(lambda f: {"fact": f}, fact_names),
    lambda inner: (
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda x: {"not": x}, inner)
    ),
    max_leaves=8,
)
assignments = st.fixed_dictionaries(
    {},
    optional={
        "developer_leads": st.booleans(),
        "highly_capable": st.booleans(),
        "marginal_risk_small": st.booleans(),
    },
)


@given(conditions, assignments)
def test_round_trip_and_monotone_knowledge(raw: Any, facts: dict[str, bool]) -> None:
    cond = parse(raw)
    assert to_data(cond) == raw
    result = evaluate(cond, facts)
    # learning more facts can only turn UNKNOWN into TRUE/FALSE, never flip a known answer
    full = {name: facts.get(name, True) for name in facts_named(cond)}
    if result is not Truth.UNKNOWN:
        assert evaluate(cond, full) is result
        assert evaluate(cond, {k: facts.get(k, False) for k in full}) is result


def test_fact_test_describe() -> None:
    assert FactTest("x", "at_least", 4.0).describe() == "x at least 4"


@pytest.mark.parametrize(
    ("text", "days"), [("P6M", 182.6), ("P1Y", 365.2), ("P30D", 30), ("P2W", 14), ("P1Y6M", 547.9)]
)
def test_duration_parse(text: str, days: float) -> None:
    d = Duration.parse(text)
    assert abs(d.approx_days - days) < 0.1
    assert str(d) == text


@pytest.mark.parametrize("text", ["", "P", "6M", "P6", "PT1H", "P-1M", "P1.5M", "P6m"])
def test_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Duration.parse(text)


def test_duration_order_and_calendar_addition() -> None:
    assert Duration.parse("P3M") < Duration.parse("P100D") < Duration.parse("P6M")
    assert Duration.parse("P1M").add_to(date(2026, 1, 31)) == date(2026, 2, 28)
    assert Duration.parse("P6M").add_to(date(2026, 2, 24)) == date(2026, 8, 24)
    assert Duration.parse("P1Y").add_to(date(2024, 2, 29)) == date(2025, 2, 28)
