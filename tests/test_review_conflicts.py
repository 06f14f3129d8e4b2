"""Conflict-of-interest rules as data: the default rules, screening, and the YAML parser."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scaleguard.errors import InputError
from scaleguard.review.conflicts import LoadedRules, builtin_rules, parse_rules, screen
from scaleguard.review.model import Interest, InterestSpec

AS_OF = date(2026, 11, 1)
WINDOW_END = date(2026, 12, 1)
LAB = "Fictional Frontier Lab"
RULES = builtin_rules()


def interest(
    kind: str,
    party: str = LAB,
    start: date = date(2024, 1, 1),
    end: date | None = None,
    holder: str = "self",
    relation: str | None = None,
) -> Interest:
    return Interest(kind, party, holder, relation, start, end)


def run(*items: Interest, rules: LoadedRules = RULES) -> dict[str, tuple[str, ...]]:
    """Matched rule id -> reasons."""
    result = screen(
        "R",
        items,
        rules,
        as_of=AS_OF,
        window_end=WINDOW_END,
        developer=[LAB],
        other_developers=["Rival AI", LAB],
    )
    return {r.rule: r.reasons for r in result.results if r.matched}


def test_the_default_rules_encode_the_published_criteria() -> None:
    ids = {r.id: r.severity for r in RULES.rules.rules}
    assert ids["organisation-financial-interest"] == "major"
    assert ids["reviewer-financial-interest"] == "major"
    assert ids["close-personal-tie"] == "major"
    assert ids["recent-employment"] == "minor"
    assert RULES.origin == "builtin:conflict_rules.yaml" and len(RULES.sha256) == 64


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (interest("equity"), "reviewer-financial-interest"),
        (interest("funding", holder="reporting-chain"), "reviewer-financial-interest"),
        (interest("contract", holder="organisation"), "organisation-financial-interest"),
        (interest("employment"), "reviewer-employment"),
        (interest("personal-tie", relation="family"), "close-personal-tie"),
        (interest("personal-tie", relation="shared-housing"), "close-personal-tie"),
        # an employment starting inside the review window already counts
        (interest("employment", start=date(2026, 11, 20)), "reviewer-employment"),
    ],
)
def test_major_conflicts_block(item: Interest, rule: str) -> None:
    found = run(item)
    assert rule in found
    result = screen("R", [item], RULES, as_of=AS_OF, window_end=WINDOW_END, developer=[LAB])
    assert result.blocked and rule in result.reason()


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (interest("employment", end=date(2025, 6, 30)), "recent-employment"),
        (interest("equity", end=date(2026, 3, 1)), "recent-financial-interest"),
        (interest("personal-tie", relation="other"), "other-personal-tie"),
        (interest("contract", party="Rival AI"), "other-developer-ties"),
    ],
)
def test_minor_conflicts_are_reported_but_do_not_block(item: Interest, rule: str) -> None:
    result = screen(
        "R",
        [item],
        RULES,
        as_of=AS_OF,
        window_end=WINDOW_END,
        developer=[LAB],
        other_developers=["Rival AI"],
    )
    assert [r.rule for r in result.minor] == [rule]
    assert not result.blocked


@pytest.mark.parametrize(
    "item",
    [
        interest("employment", end=date(2024, 10, 31)),  # ended more than two years ago
        interest("equity", end=date(2025, 10, 1)),  # ended more than a year ago
        interest("employment", start=date(2027, 1, 1)),  # starts after the review window
        interest("equity", party="Unrelated Foundation"),
    ],
)
def test_interests_outside_the_rules_are_clear(item: Interest) -> None:
    assert run(item) == {}


def test_names_match_without_case_or_spacing_and_the_developer_is_never_an_other() -> None:
    assert "reviewer-financial-interest" in run(
        interest("equity", party="  fictional  FRONTIER lab")
    )
    assert "other-developer-ties" not in run(interest("contract"))


def test_reasons_name_the_interest() -> None:
    (reason,) = run(interest("equity"))["reviewer-financial-interest"]
    assert reason == f"the reviewer: equity with {LAB} from 2024-01-01 (ongoing)"


def test_developer_aliases_from_the_rules_file_count() -> None:
    text = "version: 1\ndeveloper_aliases: [FFL]\nrules:\n" + (
        "  - {id: eq, severity: major, description: d, kinds: [equity]}\n"
    )
    rules = LoadedRules(parse_rules(text, "r.yaml"), "r.yaml", "0" * 64)
    assert "eq" in run(interest("equity", party="ffl"), rules=rules)


# -- interest specs -------------------------------------------------------------------


def test_an_interest_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"ends .* before it starts"):
        InterestSpec.model_validate(
            {
                "reviewer": "R",
                "kind": "equity",
                "counterparty": LAB,
                "from_date": date(2025, 1, 2),
                "to_date": date(2025, 1, 1),
            }
        )


def test_a_personal_tie_needs_its_relation_and_only_it_has_one() -> None:
    base: dict[str, Any] = {"reviewer": "R", "counterparty": LAB, "from_date": date(2025, 1, 1)}
    with pytest.raises(ValidationError, match="needs its relation"):
        InterestSpec.model_validate({**base, "kind": "personal-tie"})
    with pytest.raises(ValidationError, match="only declared for a personal tie"):
        InterestSpec.model_validate({**base, "kind": "equity", "relation": "family"})


# -- the rules parser -------------------------------------------------------------------


def test_rule_problems_are_located_by_line_and_column() -> None:
    text = (
        "version: 1\n"
        "rules:\n"
        "  - id: a\n"
        "    severity: fatal\n"
        "    description: d\n"
        "    kinds: [equity]\n"
        "  - id: b\n"
        "    severity: minor\n"
        "    description: d\n"
        "    kinds: [gift]\n"
        "    colour: red\n"
    )
    with pytest.raises(InputError) as info:
        parse_rules(text, "rules.yaml")
    where = {(p.line, p.path) for p in info.value.problems}
    assert (4, "$.rules[0].severity") in where
    assert (10, "$.rules[1].kinds[0]") in where
    assert any(p.line == 11 and "Extra inputs" in p.message for p in info.value.problems)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("rules: [", "not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("version: 1\nrules: []\n", "problem"),
        (
            "version: 2\nrules: [{id: a, severity: major, description: d, kinds: [equity]}]",
            "problem",
        ),
        (
            "version: 1\nrules:\n  - {id: a, severity: major, description: d, kinds: [equity]}\n"
            "  - {id: a, severity: minor, description: d, kinds: [funding]}\n",
            "problem",
        ),
        (
            "version: 1\nrules: [{id: a, severity: minor, description: d, kinds: [equity], "
            "when: ended}]",
            "problem",
        ),
    ],
)
def test_bad_rule_files_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_rules(text, "rules.yaml")


KINDS = ["employment", "equity", "contract", "funding", "personal-tie"]
HOLDERS = ["self", "reporting-chain", "organisation"]


@st.composite
def rule_docs(draw: st.DrawFn) -> dict[str, Any]:
    rules = []
    for i in range(draw(st.integers(1, 5))):
        when = draw(st.sampled_from(["active", "ended", "any"]))
        rule: dict[str, Any] = {
            "id": f"rule-{i}",
            "severity": draw(st.sampled_from(["major", "minor"])),
            "description": draw(st.text(alphabet="abc xyz.", min_size=1, max_size=30)).strip()
            or "d",
            "kinds": draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5, unique=True)),
            "holders": draw(
                st.lists(st.sampled_from(HOLDERS), min_size=1, max_size=3, unique=True)
            ),
            "counterparty": draw(st.sampled_from(["developer", "other-developer", "any"])),
            "when": when,
        }
        if when != "active":
            rule["within"] = f"P{draw(st.integers(1, 5))}Y"
        rules.append(rule)
    return {"version": 1, "developer_aliases": [], "rules": rules}


@settings(max_examples=80, deadline=None)
@given(rule_docs())
def test_rule_files_round_trip(doc: dict[str, Any]) -> None:
    parsed = parse_rules(yaml.safe_dump(doc), "rules.yaml")
    again = parse_rules(yaml.safe_dump(parsed.model_dump(mode="json")), "rules.yaml")
    assert parsed == again
    assert [r.id for r in parsed.rules] == [r["id"] for r in doc["rules"]]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_fails_with_an_input_error(text: str) -> None:
    try:
        parse_rules(text, "rules.yaml")
    except InputError as exc:
        assert exc.message
