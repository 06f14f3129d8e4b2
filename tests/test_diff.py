"""Semantic diff: one test (or a few) per classification rule, plus the reference case."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from scaleguard.diff import (
    CLASSIFICATIONS,
    FORMAT,
    RULES,
    Change,
    FrameworkDiff,
    diff_frameworks,
    render_json,
    render_markdown,
    render_rich,
)
from scaleguard.diff import commitments as cm
from scaleguard.diff import others as ot
from scaleguard.diff import thresholds as th
from scaleguard.diff.rules import unrecognised
from scaleguard.framework import model as fm
from scaleguard.framework.library import builtin_frameworks
from scaleguard.framework.loader import LoadedFramework, load_bytes, load_file

DATA = Path(__file__).parent / "data" / "diff"
DOCS = Path(__file__).parent.parent / "docs" / "diff.md"

Data = dict[str, Any]


@functools.cache
def _base() -> LoadedFramework:
    return load_file(DATA / "base.yaml")


def base_data() -> Data:
    """The base fixture as plain data, ready to edit and reload."""
    return _base().doc.model_dump(mode="json", exclude_none=True)


def load(data: Data, name: str = "x.yaml") -> LoadedFramework:
    return load_bytes(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), name)


def variant(edit: Callable[[Data], None], base: Data | None = None) -> FrameworkDiff:
    """Diff of the base document (A) against an edited copy of it (B)."""
    a = base if base is not None else base_data()
    b = copy.deepcopy(a)
    edit(b)
    loaded_a = _base() if base is None else load(a, "a.yaml")
    return diff_frameworks(loaded_a, load(b, "b.yaml"))


def el(data: Data, family: str, ident: str) -> Data:
    for item in data[family]:
        if item.get("id", item.get("name")) == ident:
            return item  # type: ignore[no-any-return]
    raise KeyError(ident)


def by_rule(d: FrameworkDiff, rule: str) -> list[Change]:
    return [c for c in d.changes if c.rule == rule]


def one(d: FrameworkDiff, rule: str) -> Change:
    found = by_rule(d, rule)
    assert len(found) == 1, [(c.rule, c.reason) for c in d.changes]
    return found[0]


def non_neutral(d: FrameworkDiff) -> list[Change]:
    return [c for c in d.changes if c.classification != "neutral"]


# --- identity, matching, renames -------------------------------------------------


def test_identical_documents_have_no_changes() -> None:
    f = load(base_data())
    d = diff_frameworks(f, f)
    assert d.is_empty
    assert d.counts == dict.fromkeys(CLASSIFICATIONS, 0)
    assert not d.has("weakening")
    out = render_json(d)
    assert out["changes"] == []
    assert out["summary"]["total"] == 0
    assert "No differences" in out["summary"]["headline"]


def test_reordering_elements_is_not_a_change() -> None:
    def reorder(data: Data) -> None:
        for family in ("risk_domains", "thresholds", "commitments", "safeguard_standards"):
            data[family].reverse()
        el(data, "thresholds", "bio-3")["indicators"].reverse()
        el(data, "safeguard_standards", "deploy-3")["measures"].reverse()
        el(data, "commitments", "no-deploy")["applies_to"].reverse()

    assert variant(reorder).is_empty


def _rename_bio3(data: Data, new_id: str, aliases: list[str]) -> None:
    t = el(data, "thresholds", "bio-3")
    t["id"] = new_id
    t["legacy_aliases"] = aliases
    trigger = el(data, "commitments", "no-deploy")["trigger"]
    trigger["thresholds"] = [new_id if x == "bio-3" else x for x in trigger["thresholds"]]


def test_rename_through_legacy_alias_is_a_rename() -> None:
    d = variant(lambda data: _rename_bio3(data, "bio-novice", ["BIO 3"]))
    renamed = one(d, "threshold.renamed")
    assert renamed.change == "renamed"
    assert renamed.classification == "neutral"
    assert (renamed.old_id, renamed.new_id) == ("bio-3", "bio-novice")
    assert renamed.fields[0].path == "id"
    assert d.change_counts["added"] == d.change_counts["removed"] == 0
    # The gate's trigger names the renamed threshold: after translation, nothing changed.
    assert not by_rule(d, "commitment.trigger")
    assert d.coverage.thresholds_only_a == d.coverage.thresholds_only_b == ()


def test_rename_is_found_from_either_side() -> None:
    """The old document carries the alias naming the new id: still a rename."""
    old = base_data()
    el(old, "thresholds", "bio-3")["legacy_aliases"] = ["bio-novice"]
    d = variant(lambda data: _rename_bio3(data, "bio-novice", []), base=old)
    renamed = one(d, "threshold.renamed")
    assert (renamed.old_id, renamed.new_id) == ("bio-3", "bio-novice")


def test_rename_through_a_shared_alias() -> None:
    old = base_data()
    el(old, "thresholds", "bio-3")["legacy_aliases"] = ["CBRN-3"]
    d = variant(lambda data: _rename_bio3(data, "bio-novice", ["cbrn_3"]), base=old)
    assert one(d, "threshold.renamed").change == "renamed"


def test_rename_without_alias_is_remove_and_add() -> None:
    d = variant(lambda data: _rename_bio3(data, "bio-novice", []))
    kinds = {(c.id, c.change) for c in by_rule(d, "threshold.presence")}
    assert kinds == {("bio-3", "removed"), ("bio-novice", "added")}


def test_changes_on_a_renamed_threshold_are_reported_against_the_pair() -> None:
    def edit(data: Data) -> None:
        _rename_bio3(data, "bio-novice", ["bio-3"])
        el(data, "thresholds", "bio-novice")["required_safeguards"][0]["force"] = "goal"

    d = variant(edit)
    demoted = one(d, "required_safeguard.force")
    assert (demoted.old_id, demoted.new_id, demoted.change) == ("bio-3", "bio-novice", "changed")
    assert demoted.classification == "weakening"


# --- force, scope, conditions ----------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("binding", "goal", "weakening"),
        ("binding", "recommendation", "weakening"),
        ("goal", "discretionary", "weakening"),
        ("recommendation", "binding", "strengthening"),
        ("goal", "binding", "strengthening"),
    ],
)
def test_commitment_force_order(old: str, new: str, expected: str) -> None:
    base = base_data()
    el(base, "commitments", "capability-report")["force"] = old
    d = variant(lambda data: el(data, "commitments", "capability-report").update(force=new), base)
    change = one(d, "commitment.force")
    assert change.classification == expected
    assert change.fields[0].old == old and change.fields[0].new == new


def test_binding_gate_made_competitor_contingent_weakens_in_three_ways() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "pause-training").update(
            force="conditional",
            scope="competitor_contingent",
            condition={"fact": "developer_leads"},
        )

    d = variant(edit)
    for rule in ("commitment.force", "commitment.scope", "commitment.condition"):
        change = one(d, rule)
        assert change.classification == "weakening", rule
        assert change.priority == 0, rule  # a binding gate: listed first
    assert "unilateral to competitor_contingent" in one(d, "commitment.scope").reason
    assert "applies only when developer_leads" in one(d, "commitment.condition").reason


def test_scope_made_unilateral_strengthens() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "delay-if-leading")["scope"] = "unilateral"

    assert one(variant(edit), "commitment.scope").classification == "strengthening"


def test_competitor_contingent_to_industry_wide_is_unclear() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "delay-if-leading")["scope"] = "industry_wide"

    assert one(variant(edit), "commitment.scope").classification == "unclear"


def _set_condition(cond: Data) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        el(data, "commitments", "delay-if-leading")["condition"] = cond

    return edit


LEADS = {"fact": "developer_leads"}
NOT_STRONG = {"not": {"fact": "all_competitors_strong_safeguards"}}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"all": [LEADS, NOT_STRONG, {"fact": "highly_capable"}]}, "weakening"),
        (LEADS, "strengthening"),
        ({"any": [{"all": [LEADS, NOT_STRONG]}, {"fact": "highly_capable"}]}, "strengthening"),
        ({"all": [NOT_STRONG, LEADS]}, "neutral"),
        ({"all": [LEADS, {"fact": "highly_capable"}]}, "unclear"),
    ],
)
def test_condition_narrower_wider_or_unclear(cond: Data, expected: str) -> None:
    change = one(variant(_set_condition(cond)), "commitment.condition")
    assert change.classification == expected
    if expected == "unclear":
        assert change.reason.endswith("review by hand")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"at_least": 4}, {"at_least": 8}, "weakening"),
        ({"at_least": 8}, {"above": 4}, "strengthening"),
        ({"at_most": 2}, {"below": 2}, "weakening"),
        ({"at_least": 4}, {"at_most": 4}, "unclear"),
    ],
)
def test_numeric_condition_bounds(old: Data, new: Data, expected: str) -> None:
    fact = "effective_compute_multiple"
    base = base_data()
    _set_condition({"fact": fact, **old})(base)
    d = variant(_set_condition({"fact": fact, **new}), base)
    assert one(d, "commitment.condition").classification == expected


def test_removing_a_condition_strengthens() -> None:
    def edit(data: Data) -> None:
        c = el(data, "commitments", "delay-if-leading")
        c.update(force="binding", scope="unilateral")
        del c["condition"]

    d = variant(edit)
    assert one(d, "commitment.condition").classification == "strengthening"
    assert one(d, "commitment.force").classification == "strengthening"


def test_relax_clause_reads_with_reversed_polarity() -> None:
    """Letting a loophole apply in more cases weakens; narrowing it strengthens."""

    def widen(data: Data) -> None:
        c = el(data, "commitments", "lower-safeguards")
        c["applies_to"] = ["deploy_external", "deploy_internal"]
        c["condition"] = {
            "any": [
                {"fact": "competitor_without_comparable_safeguards"},
                {"fact": "competitor_released_comparable"},
            ]
        }

    d = variant(widen)
    assert one(d, "commitment.applies_to").classification == "weakening"
    assert one(d, "commitment.condition").classification == "weakening"

    def narrow(data: Data) -> None:
        el(data, "commitments", "lower-safeguards")["condition"] = {
            "all": [{"fact": "competitor_without_comparable_safeguards"}, LEADS]
        }

    assert one(variant(narrow), "commitment.condition").classification == "strengthening"


def test_relax_clause_extended_to_more_commitments_weakens() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "lower-safeguards")["relaxes"] = ["no-deploy", "pause-training"]

    change = one(variant(edit), "commitment.relaxes")
    assert change.classification == "weakening"
    assert change.fields[0].new == "pause-training"
    assert change.priority == 0  # it now reaches a binding gate


def test_added_relax_clause_reaching_a_binding_gate_comes_first() -> None:
    base = base_data()
    _drop("commitments", "lower-safeguards")(base)
    d = variant(lambda data: data["commitments"].append(_base_relax_clause()), base)
    change = one(d, "commitment.presence")
    assert (change.change, change.classification, change.priority) == ("added", "weakening", 0)


def _base_relax_clause() -> Data:
    return copy.deepcopy(el(base_data(), "commitments", "lower-safeguards"))


def test_outcome_flipping_to_relax_makes_reach_changes_unclear() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "no-deploy").update(
            outcome="relax_safeguards", relaxes=["pause-training"], applies_to=["deploy_external"]
        )

    d = variant(edit)
    assert one(d, "commitment.outcome").classification == "weakening"
    assert {c.classification for c in by_rule(d, "commitment.applies_to")} == {"unclear"}


# --- gates, actions, triggers -----------------------------------------------------


@pytest.mark.parametrize(
    ("commitment", "new", "expected"),
    [
        ("no-deploy", "delay", "weakening"),
        ("pause-training", "proceed_with_conditions", "weakening"),
        ("delay-if-leading", "pause", "strengthening"),
        ("pause-training", "not_permitted", "unclear"),
    ],
)
def test_gate_outcome_order(commitment: str, new: str, expected: str) -> None:
    d = variant(lambda data: el(data, "commitments", commitment).update(outcome=new))
    assert one(d, "commitment.outcome").classification == expected


def test_applies_to_shrinking_weakens_and_growing_strengthens() -> None:
    d = variant(lambda data: el(data, "commitments", "no-deploy").update(applies_to=["train"]))
    classes = {c.classification: c for c in by_rule(d, "commitment.applies_to")}
    assert set(classes) == {"weakening", "strengthening"}
    removed = {f.old for f in classes["weakening"].fields}
    assert removed == {"deploy_internal", "deploy_external", "release_weights"}
    assert [f.new for f in classes["strengthening"].fields] == ["train"]
    assert classes["weakening"].priority == 0


def test_trigger_restrictions() -> None:
    d = variant(
        lambda data: el(data, "commitments", "no-deploy")["trigger"].update(thresholds=["bio-3"])
    )
    assert one(d, "commitment.trigger").classification == "weakening"
    d = variant(lambda data: el(data, "commitments", "no-deploy")["trigger"].update(thresholds=[]))
    assert one(d, "commitment.trigger").classification == "strengthening"
    d = variant(
        lambda data: el(data, "commitments", "delay-if-leading")["trigger"].update(domains=["bio"])
    )
    assert one(d, "commitment.trigger").classification == "weakening"
    d = variant(
        lambda data: el(data, "commitments", "capability-report")["trigger"].update(
            when="threshold_crossed"
        )
    )
    assert one(d, "commitment.trigger").classification == "weakening"


# --- presence of elements -----------------------------------------------------------


def _drop(family: str, ident: str) -> Callable[[Data], None]:
    def edit(data: Data) -> None:
        data[family] = [x for x in data[family] if x.get("id") != ident]

    return edit


def test_removed_threshold_weakens_first_and_added_one_strengthens() -> None:
    def drop(data: Data) -> None:
        _drop("thresholds", "bio-4")(data)
        el(data, "commitments", "no-deploy")["trigger"]["thresholds"] = ["bio-3"]

    d = variant(drop)
    removed = one(d, "threshold.presence")
    assert (removed.change, removed.classification, removed.priority) == (
        "removed",
        "weakening",
        0,
    )
    assert d.changes[0] == removed or d.changes[0].priority == 0
    assert removed.fields[0].path == "" and removed.fields[0].new is None

    def add(data: Data) -> None:
        data["thresholds"].append(
            {
                "id": "nuclear-4",
                "name": "Nuclear uplift to states",
                "domain": "nuclear",
                "level": 4,
                "source": {"doc": "policy", "section": "§2"},
            }
        )

    added = one(variant(add), "threshold.presence")
    assert (added.change, added.classification) == ("added", "strengthening")


def test_removed_domain_and_its_thresholds_weaken() -> None:
    def edit(data: Data) -> None:
        _drop("risk_domains", "nuclear")(data)
        _drop("thresholds", "nuclear-3")(data)

    d = variant(edit)
    assert {(c.family, c.id) for c in non_neutral(d)} == {
        ("risk_domains", "nuclear"),
        ("thresholds", "nuclear-3"),
    }
    assert all(c.classification == "weakening" and c.priority == 0 for c in non_neutral(d))
    assert d.coverage.domains_only_a == ("nuclear",)


def test_excluded_domain_presence_is_neutral() -> None:
    assert (
        one(variant(_drop("risk_domains", "persuasion")), "risk_domain.presence").classification
        == "neutral"
    )


@pytest.mark.parametrize(
    ("domain", "status", "expected"),
    [
        ("bio", "monitored", "weakening"),
        ("bio", "excluded", "weakening"),
        ("cyber", "in_scope", "strengthening"),
        ("persuasion", "monitored", "strengthening"),
    ],
)
def test_domain_status_order(domain: str, status: str, expected: str) -> None:
    change = one(
        variant(lambda data: el(data, "risk_domains", domain).update(status=status)),
        "risk_domain.status",
    )
    assert change.classification == expected
    assert change.priority == (0 if expected == "weakening" else 3)


def test_removed_binding_gate_is_critical_and_removed_obligation_weakens() -> None:
    d = variant(_drop("commitments", "pause-training"))
    gate = one(d, "commitment.presence")
    assert (gate.classification, gate.priority) == ("weakening", 0)

    d = variant(_drop("commitments", "capability-report"))
    report = one(d, "commitment.presence")
    assert (report.classification, report.priority) == ("weakening", 1)
    assert "reporting obligation removed" in report.reason


@pytest.mark.parametrize(
    ("kind", "force", "expected"),
    [
        ("disclosure", "binding", "strengthening"),
        ("roadmap", "goal", "strengthening"),
        ("noncompliance", "recommendation", "strengthening"),
        ("external_review", "binding", "strengthening"),
        ("security", "goal", "strengthening"),
        ("other", "recommendation", "neutral"),
        ("reporting", "discretionary", "neutral"),
    ],
)
def test_added_commitment_by_kind_and_force(kind: str, force: str, expected: str) -> None:
    def edit(data: Data) -> None:
        data["commitments"].append(
            {
                "id": "new-one",
                "name": "New commitment",
                "kind": kind,
                "force": force,
                "source": {"doc": "policy", "section": "§9"},
            }
        )

    assert one(variant(edit), "commitment.presence").classification == expected


def test_relax_clause_presence_is_reversed() -> None:
    d = variant(_drop("commitments", "lower-safeguards"))
    assert one(d, "commitment.presence").classification == "strengthening"


def test_external_review_presence_and_timing() -> None:
    def drop(data: Data) -> None:
        del data["external_review"]

    assert one(variant(drop), "external_review.presence").classification == "weakening"
    d = variant(lambda data: data["external_review"].update(share_within="P14D"))
    change = one(d, "external_review.timing")
    assert change.classification == "weakening"
    assert "P7D to P14D" in change.reason
    d = variant(lambda data: data["external_review"].update(conflict_criteria=[]))
    assert one(d, "external_review.criteria").classification == "weakening"
    d = variant(lambda data: data["external_review"].update(trigger="annually"))
    assert one(d, "external_review.trigger").classification == "unclear"


# --- cadences -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "rule", "expected"),
    [
        ("interval", "P1Y", "cadence.interval", "weakening"),
        ("interval", "P3M", "cadence.interval", "strengthening"),
        ("interval", "P26W", "cadence.interval", "strengthening"),
        ("compute_multiple", 8, "cadence.compute_multiple", "weakening"),
        ("compute_multiple", 2, "cadence.compute_multiple", "strengthening"),
        ("deadline", "P2M", "cadence.deadline", "weakening"),
        ("deadline", "P14D", "cadence.deadline", "strengthening"),
        ("force", "goal", "cadence.force", "weakening"),
        ("min_interval", "P3M", "cadence.min_interval", "neutral"),
    ],
)
def test_cadence_clocks(field: str, value: Any, rule: str, expected: str) -> None:
    d = variant(lambda data: el(data, "cadences", "assessment").update({field: value}))
    assert one(d, rule).classification == expected


def test_cadence_clock_removed_weakens_and_same_length_is_neutral() -> None:
    def drop(data: Data) -> None:
        del el(data, "cadences", "assessment")["interval"]

    change = one(variant(drop), "cadence.interval")
    assert change.classification == "weakening"
    assert (change.fields[0].old, change.fields[0].new) == ("P6M", None)
    base = base_data()
    el(base, "cadences", "assessment")["interval"] = "P12M"
    same = variant(lambda data: el(data, "cadences", "assessment").update(interval="P1Y"), base)
    assert one(same, "cadence.interval").classification == "neutral"


def test_cadence_presence() -> None:
    assert (
        one(variant(_drop("cadences", "assessment")), "cadence.presence").classification
        == "weakening"
    )


# --- thresholds, indicators, required safeguards ---------------------------------------


def test_required_safeguard_removed_or_demoted_weakens_first() -> None:
    def remove(data: Data) -> None:
        el(data, "thresholds", "bio-3")["required_safeguards"].pop(1)

    change = one(variant(remove), "required_safeguard.presence")
    assert (change.classification, change.priority) == ("weakening", 0)
    assert change.fields[0].path == "required_safeguards[security-3]"

    def demote(data: Data) -> None:
        el(data, "thresholds", "bio-4")["required_safeguards"][0].update(
            force="recommendation", scope="industry_wide"
        )

    d = variant(demote)
    assert one(d, "required_safeguard.force").reason == (
        "required safeguard security-4 force lowered from binding to recommendation"
    )
    assert one(d, "required_safeguard.force").priority == 0
    assert one(d, "required_safeguard.scope").classification == "weakening"


def test_required_safeguard_added() -> None:
    def add(force: str) -> Callable[[Data], None]:
        def edit(data: Data) -> None:
            el(data, "thresholds", "nuclear-3")["required_safeguards"].append(
                {"standard": "security-4", "force": force}
            )

        return edit

    assert one(variant(add("binding")), "required_safeguard.presence").classification == (
        "strengthening"
    )
    assert one(variant(add("recommendation")), "required_safeguard.presence").classification == (
        "neutral"
    )


@pytest.mark.parametrize(
    ("new_level", "change_safeguards", "expected"),
    [(2, False, "strengthening"), (4, False, "weakening"), (2, True, "unclear")],
)
def test_threshold_level(new_level: int, change_safeguards: bool, expected: str) -> None:
    def edit(data: Data) -> None:
        t = el(data, "thresholds", "bio-3")
        t["level"] = new_level
        if change_safeguards:
            t["required_safeguards"] = t["required_safeguards"][:1]

    assert one(variant(edit), "threshold.level").classification == expected


def test_threshold_kind_and_domain() -> None:
    d = variant(lambda data: el(data, "thresholds", "bio-4").update(kind="monitored"))
    assert one(d, "threshold.kind").classification == "weakening"
    d = variant(lambda data: el(data, "thresholds", "cyber-watch").update(kind="threshold"))
    assert one(d, "threshold.kind").classification == "strengthening"
    d = variant(lambda data: el(data, "thresholds", "nuclear-3").update(domain="bio"))
    assert one(d, "threshold.domain").classification == "unclear"


def test_rewritten_definition_is_unclear() -> None:
    d = variant(lambda data: el(data, "thresholds", "bio-3").update(description="Something else."))
    change = one(d, "element.description")
    assert change.classification == "unclear"
    assert change.reason == "definition text changed; review by hand"


def test_source_and_uncertainty_only_changes_are_neutral() -> None:
    def edit(data: Data) -> None:
        t = el(data, "thresholds", "bio-3")
        t["source"] = {"doc": "policy", "section": "§2.1"}
        t.update(confidence="uncertain", uncertainty="the text is ambiguous")
        t["name"] = "Bio uplift (novices)"

    d = variant(edit)
    change = one(d, "element.metadata")
    assert change.classification == "neutral"
    assert [f.path for f in change.fields] == ["name", "source", "confidence", "uncertainty"]
    assert len(d.changes) == 1


@pytest.mark.parametrize(
    ("indicator", "field", "value", "rule", "expected"),
    [
        ("bio-mcq", "threshold", 0.9, "indicator.threshold", "weakening"),
        ("bio-mcq", "threshold", 0.75, "indicator.threshold", "strengthening"),
        ("bio-refusal", "threshold", 0.1, "indicator.threshold", "weakening"),
        ("bio-refusal", "threshold", 0.3, "indicator.threshold", "strengthening"),
        ("bio-mcq", "early_warning", 0.75, "indicator.early_warning", "weakening"),
        ("bio-mcq", "early_warning", 0.6, "indicator.early_warning", "strengthening"),
        ("bio-mcq", "early_warning", None, "indicator.early_warning", "weakening"),
        ("bio-refusal", "early_warning", 0.3, "indicator.early_warning", "strengthening"),
        ("bio-mcq", "metric", "bio_mcq/v2", "indicator.definition", "unclear"),
    ],
)
def test_indicators(indicator: str, field: str, value: Any, rule: str, expected: str) -> None:
    def edit(data: Data) -> None:
        ind = next(i for i in el(data, "thresholds", "bio-3")["indicators"] if i["id"] == indicator)
        if value is None:
            del ind[field]
        else:
            ind[field] = value

    change = one(variant(edit), rule)
    assert change.classification == expected
    assert change.fields[0].path == f"indicators[{indicator}].{field}"


def test_indicator_comparator_change_is_unclear_and_not_also_directional() -> None:
    def edit(data: Data) -> None:
        ind = el(data, "thresholds", "bio-3")["indicators"][0]
        ind.update(comparator="<=", threshold=0.2)
        del ind["early_warning"]

    d = variant(edit)
    change = one(d, "indicator.definition")
    assert change.classification == "unclear"
    assert not by_rule(d, "indicator.threshold") and not by_rule(d, "indicator.early_warning")


def test_indicator_removed_weakens() -> None:
    def edit(data: Data) -> None:
        el(data, "thresholds", "bio-3")["indicators"].pop()

    assert one(variant(edit), "indicator.presence").classification == "weakening"


def test_threshold_ambiguity_policy_uses_framework_default() -> None:
    d = variant(
        lambda data: el(data, "thresholds", "bio-3").update(ambiguity_policy="needs_review")
    )
    assert one(d, "threshold.ambiguity_policy").classification == "weakening"
    same = variant(
        lambda data: el(data, "thresholds", "bio-3").update(ambiguity_policy="treat_as_crossed")
    )
    assert one(same, "threshold.ambiguity_policy").classification == "neutral"


# --- safeguard standards ---------------------------------------------------------------


def test_measures_removed_and_added() -> None:
    def edit(data: Data) -> None:
        el(data, "safeguard_standards", "security-3")["measures"] = [
            "two-party access control to weights",
            "hardware security modules",
        ]

    d = variant(edit)
    classes = {c.classification: c for c in by_rule(d, "safeguard_standard.measures")}
    assert classes["weakening"].fields[0].old == "insider-risk programme"
    assert classes["strengthening"].fields[0].new == "hardware security modules"


def test_standard_presence_depends_on_what_requires_it() -> None:
    def add(required: bool) -> Callable[[Data], None]:
        def edit(data: Data) -> None:
            data["safeguard_standards"].append(
                {
                    "id": "security-5",
                    "name": "Level 5 security",
                    "kind": "security",
                    "source": {"doc": "policy", "section": "§4.4"},
                }
            )
            if required:
                el(data, "thresholds", "bio-4")["required_safeguards"].append(
                    {"standard": "security-5"}
                )

        return edit

    assert one(variant(add(False)), "safeguard_standard.presence").classification == "neutral"
    assert one(variant(add(True)), "safeguard_standard.presence").classification == (
        "strengthening"
    )


def test_standard_level_specified_and_references() -> None:
    d = variant(lambda data: el(data, "safeguard_standards", "security-4").update(specified=True))
    assert one(d, "safeguard_standard.specified").classification == "strengthening"
    d = variant(lambda data: el(data, "safeguard_standards", "deploy-3").update(level=2))
    assert one(d, "safeguard_standard.level").classification == "weakening"
    d = variant(
        lambda data: el(data, "safeguard_standards", "security-4")["external_references"][0].update(
            relation="recommended"
        )
    )
    change = one(d, "external_reference.relation")
    assert change.classification == "weakening"
    assert change.fields[0].path == "external_references[RAND-SL/4].relation"
    d = variant(lambda data: el(data, "safeguard_standards", "deploy-3").update(kind="other"))
    assert one(d, "safeguard_standard.kind").classification == "unclear"


# --- framework, governance, red lines, facts ----------------------------------------------


def test_framework_rules() -> None:
    d = variant(lambda data: data["framework"].update(ambiguity_policy="needs_review"))
    assert one(d, "framework.ambiguity_policy").classification == "weakening"
    d = variant(lambda data: data["framework"].update(comparability_margin=0.1))
    assert one(d, "framework.comparability_margin").classification == "weakening"
    d = variant(lambda data: data["framework"].update(version="1.1", summary="New summary."))
    change = one(d, "element.metadata")
    assert (change.family, change.classification) == ("framework", "neutral")


def test_governance_red_lines_and_facts() -> None:
    d = variant(lambda data: el(data, "governance_roles", "rso")["responsibilities"].pop())
    assert one(d, "governance_role.responsibilities").classification == "weakening"
    d = variant(lambda data: el(data, "governance_roles", "rso").update(holder="CEO"))
    assert one(d, "governance_role.holder").classification == "unclear"
    assert (
        one(variant(_drop("governance_roles", "rso")), "governance_role.presence").classification
        == "weakening"
    )
    d = variant(lambda data: el(data, "red_lines", "bioweapons-help").update(waivable=True))
    assert one(d, "red_line.waivable").classification == "weakening"
    assert (
        one(variant(_drop("red_lines", "bioweapons-help")), "red_line.presence").classification
        == "weakening"
    )
    d = variant(lambda data: data["facts"][0].update(description="Changed meaning."))
    assert one(d, "fact.definition").classification == "unclear"
    d = variant(lambda data: data["facts"].clear())
    assert one(d, "fact.presence").classification == "neutral"


def test_unrecognised_fields_fail_closed() -> None:
    a = fm.GovernanceRole.model_validate(
        {"id": "r", "name": "R", "holder": "x", "source": {"url": "https://e.org", "section": "1"}}
    )
    b = a.model_copy(update={"holder": "y"})
    findings = unrecognised(a, b, frozenset({"id", "name", "source"}))
    assert [(f.rule, f.classification, f.fields[0].path) for f in findings] == [
        ("field.unrecognised", "unclear", "holder")
    ]


@pytest.mark.parametrize(
    ("model", "handled"),
    [
        (fm.FrameworkMeta, ot.META_FIELDS),
        (fm.RiskDomain, ot.DOMAIN_FIELDS),
        (fm.Threshold, th.THRESHOLD_FIELDS),
        (fm.Indicator, th.INDICATOR_FIELDS),
        (fm.RequiredSafeguard, th.REQUIRED_SAFEGUARD_FIELDS),
        (fm.SafeguardStandard, th.STANDARD_FIELDS),
        (fm.ExternalReference, th.EXTERNAL_REFERENCE_FIELDS),
        (fm.Commitment, cm.COMMITMENT_FIELDS),
        (fm.Trigger, cm.TRIGGER_FIELDS),
        (fm.Cadence, cm.CADENCE_FIELDS),
        (fm.GovernanceRole, ot.ROLE_FIELDS),
        (fm.RedLine, ot.RED_LINE_FIELDS),
        (fm.ExternalReview, ot.REVIEW_FIELDS),
        (fm.FactDecl, ot.FACT_FIELDS),
    ],
)
def test_every_schema_field_has_a_rule(model: type[Any], handled: frozenset[str]) -> None:
    """A new schema field must get a rule (until then it is reported as unclear)."""
    assert set(model.model_fields) == set(handled)


def test_every_rule_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [rule for rule in RULES if f"`{rule}`" not in text]
    assert missing == []


# --- the reference case: a rewrite in the shape of RSP 2.2 -> 3.0 ----------------------


@pytest.fixture(scope="module")
def reference() -> FrameworkDiff:
    return diff_frameworks(
        load_file(DATA / "rsp_like_old.yaml"), load_file(DATA / "rsp_like_new.yaml")
    )


def _find(d: FrameworkDiff, family: str, ident: str, rule: str) -> Change:
    found = [c for c in d.changes if c.family == family and c.id == ident and c.rule == rule]
    assert len(found) == 1, (family, ident, rule)
    return found[0]


def test_reference_case_weakenings(reference: FrameworkDiff) -> None:
    pause = _find(reference, "commitments", "pause-training", "commitment.presence")
    assert (pause.change, pause.classification, pause.priority) == ("removed", "weakening", 0)
    for domain in ("rad-nuclear", "cyber"):
        dropped = _find(reference, "risk_domains", domain, "risk_domain.presence")
        assert (dropped.change, dropped.classification, dropped.priority) == (
            "removed",
            "weakening",
            0,
        )
    for threshold in ("novel-cb", "automated-rd"):
        sl4 = _find(reference, "thresholds", threshold, "required_safeguard.force")
        assert sl4.classification == "weakening" and sl4.priority == 0
        assert (sl4.fields[0].old, sl4.fields[0].new) == ("binding", "recommendation")


def test_reference_case_strengthenings(reference: FrameworkDiff) -> None:
    for ident in ("roadmap", "risk-reports", "external-review-of-reports"):
        added = _find(reference, "commitments", ident, "commitment.presence")
        assert (added.change, added.classification) == ("added", "strengthening")
    review = _find(reference, "external_review", "external_review", "external_review.presence")
    assert review.classification == "strengthening"
    cadence = _find(reference, "cadences", "risk-report", "cadence.presence")
    assert cadence.classification == "strengthening"


def test_reference_case_renames_and_order(reference: FrameworkDiff) -> None:
    renames = {(c.old_id, c.new_id) for c in reference.changes if c.change == "renamed"}
    assert renames == {
        ("cbrn-3", "non-novel-cb"),
        ("cbrn-4", "novel-cb"),
        ("ai-rd-5", "automated-rd"),
    }
    priorities = [c.priority for c in reference.changes]
    assert priorities == sorted(priorities)
    assert reference.changes[0].id == "pause-training"  # binding gates lead the list
    classes = [c.classification for c in reference.changes]
    last_weakening = max(i for i, c in enumerate(classes) if c == "weakening")
    first_strengthening = classes.index("strengthening")
    assert last_weakening < first_strengthening < classes.index("neutral")
    assert reference.most_important()[0].id == "pause-training"
    assert reference.has("weakening") and reference.has("strengthening")
    assert not reference.cross_framework


# --- cross-framework --------------------------------------------------------------------


def test_cross_framework_reports_coverage() -> None:
    def other_lab(data: Data) -> None:
        data["framework"].update(id="other-lab", developer="Other Lab", title="Other Framework")
        _drop("risk_domains", "nuclear")(data)
        _drop("thresholds", "nuclear-3")(data)
        el(data, "risk_domains", "cyber")["status"] = "in_scope"
        data["risk_domains"].append(
            {"id": "autonomy", "name": "Autonomy", "source": {"doc": "policy", "section": "§1"}}
        )
        data["thresholds"].append(
            {
                "id": "autonomy-1",
                "name": "Autonomous replication",
                "domain": "autonomy",
                "level": 1,
                "source": {"doc": "policy", "section": "§2"},
            }
        )

    d = variant(other_lab)
    assert d.cross_framework
    assert d.headline.startswith("Cross-framework comparison of test-lab@1.0 (A)")
    assert d.coverage.domains_only_a == ("nuclear",)
    assert d.coverage.domains_only_b == ("autonomy",)
    assert d.coverage.thresholds_only_a == ("nuclear-3",)
    assert d.coverage.thresholds_only_b == ("autonomy-1",)
    cyber = next(r for r in d.coverage.domains if r.id == "cyber")
    assert (cyber.status_a, cyber.status_b) == ("monitored", "in_scope")
    assert one(d, "framework.id").classification == "neutral"
    out = render_json(d)
    assert out["summary"]["cross_framework"] is True
    assert out["coverage"]["only_in_a"] == {"domains": ["nuclear"], "thresholds": ["nuclear-3"]}
    md = render_markdown(d)
    assert "Cross-framework comparison" in md
    assert "| `cyber` Cyber operations | monitored | in_scope |" in md
    assert "- **threshold `nuclear-3`** Nuclear uplift — only in A:" in md


# --- renderings --------------------------------------------------------------------------


def test_json_shape(reference: FrameworkDiff) -> None:
    out = render_json(reference)
    assert list(out) == ["format", "a", "b", "cross_framework", "changes", "coverage", "summary"]
    assert out["format"] == FORMAT == "scaleguard.diff/1"
    assert out["a"]["ref"] == "demo-rsp@2.2" and out["b"]["ref"] == "demo-rsp@3.0"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", out["a"]["digest"])
    change = out["changes"][0]
    assert set(change) == {
        "id", "name", "family", "change", "classification", "reason", "rule", "priority",
        "old_id", "new_id", "unannounced", "fields",
    }  # fmt: skip
    for c in out["changes"]:
        for f in c["fields"]:
            assert set(f) == {"path", "old", "new"}
    summary = out["summary"]
    assert summary["counts"] == reference.counts
    assert sum(summary["counts"].values()) == summary["total"] == len(out["changes"])
    assert summary["most_important"][0]["id"] == "pause-training"
    json.dumps(out, allow_nan=False)  # plain JSON, nothing exotic inside


def test_outputs_are_deterministic() -> None:
    def run() -> tuple[str, str, str]:
        d = diff_frameworks(
            load_file(DATA / "rsp_like_old.yaml"), load_file(DATA / "rsp_like_new.yaml")
        )
        console = Console(record=True, width=100, color_system=None)
        render_rich(d, console)
        return (
            json.dumps(render_json(d), ensure_ascii=False),
            render_markdown(d),
            console.export_text(),
        )

    assert run() == run()


def test_markdown_report(reference: FrameworkDiff) -> None:
    md = render_markdown(reference)
    assert md.startswith("# Framework diff: demo-rsp@2.2 → demo-rsp@3.0\n")
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == [
        "Weakening (11)",
        "Strengthening (8)",
        "Neutral (13)",
        "Coverage",
        "Summary",
    ]
    assert "- **commitment `pause-training`**" in md
    assert "`required_safeguards[state-level-security].force`: `binding` → `recommendation`" in md
    assert md.rstrip().splitlines()[-1].startswith("Order: weakenings of binding gates")


def test_markdown_escapes_free_text() -> None:
    def edit(data: Data) -> None:
        el(data, "commitments", "pause-training")["name"] = "Pause *all* | `training` <now>"
        el(data, "commitments", "pause-training")["force"] = "goal"

    md = render_markdown(variant(edit))
    assert r"Pause \*all\* \| \`training\` \<now\>" in md


def test_rich_rendering() -> None:
    d = variant(_drop("commitments", "pause-training"))
    console = Console(record=True, width=120, color_system=None)
    render_rich(d, console)
    text = console.export_text()
    assert "Weakening (1)" in text
    assert "commitment pause-training" in text
    assert "binding development_gate commitment removed" in text
    assert "Summary" in text


def test_has_rejects_unknown_classification(reference: FrameworkDiff) -> None:
    with pytest.raises(ValueError, match="unknown classification"):
        reference.has("weaker")


# --- built-in library (structure only; content is tested with the library) ---------------


def test_builtin_frameworks_diff_structurally() -> None:
    frameworks = builtin_frameworks()
    for a in frameworks:
        assert diff_frameworks(a, a).is_empty, a.ref
        for b in frameworks:
            if a is b:
                continue
            forward, backward = diff_frameworks(a, b), diff_frameworks(b, a)
            assert len(forward.changes) == len(backward.changes), (a.ref, b.ref)
            assert forward.counts["weakening"] == backward.counts["strengthening"]
            assert forward.cross_framework == (a.doc.framework.id != b.doc.framework.id)
            assert all(c.rule in RULES for c in forward.changes)
            out = render_json(forward)
            assert out["format"] == FORMAT
            assert sum(out["summary"]["counts"].values()) == len(out["changes"])
            assert render_markdown(forward).endswith("\n")
