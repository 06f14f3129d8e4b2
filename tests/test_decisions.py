"""The scaling decision: the founding scenario, fail-closed behaviour, and the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaleguard.decisions.engine import decide, is_required
from scaleguard.decisions.model import (
    AssertedFact,
    Attestation,
    Decision,
    DecisionInput,
    Finding,
    RegistryModel,
)
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework, load_bytes
from scaleguard.framework.yamlsource import read_yaml

LIB = Library()
RSP_22 = LIB.get("anthropic-rsp@2.2")
RSP_30 = LIB.get("anthropic-rsp@3.0")
MINIMAL = (Path(__file__).parent / "data" / "minimal.yaml").read_text()

SUBJECT = RegistryModel(
    "aurora-3", "Fictional Lab", own=True, scores={"chem-bio": 0.82, "cbrn": 0.82, "bio": 0.82}
)
RIVAL = RegistryModel(
    "rival-9",
    "Rival AI",
    own=False,
    released=True,
    released_on=dt.date(2026, 5, 1),
    scores={"chem-bio": 0.85, "cbrn": 0.85, "bio": 0.85},
    safeguards_level="weak",
    sources=("https://rival.example/model-card",),
)
LAGGARD = RegistryModel(
    "slow-2",
    "Other Co",
    own=False,
    released=True,
    released_on=dt.date(2026, 3, 1),
    scores={"chem-bio": 0.40, "cbrn": 0.40, "bio": 0.40},
    safeguards_level="strong",
)


def company_safeguards(fw: LoadedFramework, threshold: str) -> dict[str, Attestation]:
    """Attest what the developer binds itself to, not the industry-wide recommendations."""
    t = next(t for t in fw.doc.thresholds if t.id == threshold)
    return {
        r.standard: Attestation(r.standard, "rso", "https://lab.example/attestation")
        for r in t.required_safeguards
        if is_required(r)
    }


def findings(fw: LoadedFramework, crossed: str, state: str = "crossed") -> dict[str, Finding]:
    out = {t.id: Finding(t.id, "below", 0.1, 0.05, 0.15) for t in fw.doc.thresholds}
    out[crossed] = Finding(crossed, state, 0.9, 0.85, 0.95)  # type: ignore[arg-type]
    return out


def run(
    fw: LoadedFramework,
    crossed: str,
    action: str,
    attested: dict[str, Attestation],
    others: tuple[RegistryModel, ...],
) -> Decision:
    inp = DecisionInput(SUBJECT, action, findings(fw, crossed), attested, others)  # type: ignore[arg-type]
    return decide(fw, inp)


# --- the founding scenario -----------------------------------------------------------


def test_rsp22_pauses_training_without_asl4() -> None:
    asl3 = company_safeguards(RSP_22, "cbrn-3")
    d = run(RSP_22, "cbrn-4", "train", asl3, (RIVAL,))
    assert d.outcome == "pause"
    # RSP 2.2 §2: Required Safeguards are identified at the latest before training a model that
    # reaches a threshold; CBRN-4's ASL-4 is only expected, so training waits. The §6.2 pause
    # itself concerns the ASL-3 Security Standard, which is attested here.
    assert "specify-safeguards-before-training" in d.deciding_rules
    assert "pause-training-until-security" not in d.deciding_rules


def test_rsp22_does_not_permit_deployment_without_asl4() -> None:
    d = run(RSP_22, "cbrn-4", "deploy_external", company_safeguards(RSP_22, "cbrn-3"), (RIVAL,))
    assert d.outcome == "not_permitted"
    # the footnote-17 escape clause is discretionary: reported, never applied
    escape = next(r for r in d.rules if r.commitment == "competitor-escape-clause")
    assert not escape.applied and escape.force == "discretionary"


def test_rsp30_competitor_released_comparable_model_means_no_delay() -> None:
    d = run(RSP_30, "novel-cb", "train", company_safeguards(RSP_30, "novel-cb"), (RIVAL, LAGGARD))
    assert d.outcome in ("proceed", "proceed_with_conditions")
    assert "delay-while-in-lead" in d.deciding_rules
    lead = next(r for r in d.rules if r.commitment == "delay-while-in-lead")
    assert lead.trigger == "fired" and lead.condition_value == "false" and not lead.applied
    # the explanation names the competitor model that makes the clause inapplicable
    assert "rival-9" in lead.reason and "rival-9" in d.summary
    leads = next(f for f in d.facts if f.name == "developer_leads")
    assert leads.value is False and "https://rival.example/model-card" in leads.sources
    # and says what would change it
    assert any(
        c.change == "developer_leads were true" and c.outcome == "delay"
        for c in d.what_would_change
    )


def test_rsp30_developer_in_the_lead_delays() -> None:
    d = run(RSP_30, "novel-cb", "train", company_safeguards(RSP_30, "novel-cb"), (LAGGARD,))
    assert d.outcome == "delay"
    assert d.deciding_rules == ["delay-while-in-lead"]
    assert next(f for f in d.facts if f.name == "developer_leads").value is True


def test_counterfactual_under_rsp22_for_the_same_facts() -> None:
    facts = (RIVAL,)
    v3 = run(RSP_30, "novel-cb", "train", company_safeguards(RSP_30, "novel-cb"), facts)
    v2 = run(RSP_22, "cbrn-4", "train", company_safeguards(RSP_22, "cbrn-3"), facts)
    assert v3.outcome == "proceed_with_conditions"
    assert v2.outcome == "pause"


# --- fail closed, ambiguity, conditions ---------------------------------------------------


def minimal_with(**changes: Any) -> LoadedFramework:
    data: dict[str, Any] = read_yaml(MINIMAL, "minimal.yaml")[0]
    data["framework"].update(changes)
    return load_bytes(yaml.safe_dump(data, sort_keys=False), "minimal.yaml")


MIN = minimal_with()


def decide_min(
    fw: LoadedFramework,
    finding: Finding | None,
    action: str = "deploy_external",
    attested: tuple[str, ...] = (),
    others: tuple[RegistryModel, ...] = (),
    asserted: dict[str, AssertedFact] | None = None,
) -> Decision:
    inp = DecisionInput(
        SUBJECT,
        action,  # type: ignore[arg-type]
        {finding.threshold_id: finding} if finding else {},
        {s: Attestation(s, "rso", "https://x.example") for s in attested},
        others,
        asserted or {},
    )
    return decide(fw, inp)


def test_missing_evidence_is_never_below() -> None:
    d = decide_min(MIN, None)
    assert d.outcome != "proceed"
    assert d.missing == ["bio-uplift: no evidence for this threshold"]
    gate = next(r for r in d.rules if r.commitment == "no-deploy-without-safeguards")
    assert gate.trigger == "unknown" and gate.applied
    assert gate.effect == "delay"  # capped: "not yet", not a final refusal


def test_missing_evidence_with_safeguards_in_place_still_has_conditions() -> None:
    d = decide_min(MIN, None, attested=("level-2-security",))
    assert d.outcome == "proceed_with_conditions"
    assert d.missing


def test_below_threshold_proceeds() -> None:
    d = decide_min(MIN, Finding("bio-uplift", "below", 0.3, 0.25, 0.35))
    assert d.outcome == "proceed"
    assert d.deciding_rules == []


def test_alert_band_adds_a_condition() -> None:
    d = decide_min(MIN, Finding("bio-uplift", "alert", 0.75, 0.72, 0.78))
    assert d.outcome == "proceed_with_conditions"
    assert any("early-warning" in c for c in d.conditions)


def test_ambiguous_treated_as_crossed_when_the_framework_says_so() -> None:
    d = decide_min(MIN, Finding("bio-uplift", "ambiguous", 0.79, 0.75, 0.83))
    assert d.outcome == "not_permitted"
    assert d.thresholds[0].treated_as == "crossed"


def test_ambiguous_left_to_review_is_unresolved() -> None:
    fw = minimal_with(ambiguity_policy="needs_review")
    d = decide_min(fw, Finding("bio-uplift", "ambiguous", 0.79, 0.75, 0.83))
    assert d.thresholds[0].treated_as == "unresolved"
    assert d.outcome == "delay"


def test_attested_safeguards_lift_the_gate() -> None:
    d = decide_min(
        MIN, Finding("bio-uplift", "crossed", 0.9, 0.85, 0.95), attested=("level-2-security",)
    )
    assert d.outcome == "proceed"


def test_conditional_with_unknown_fact_fails_closed() -> None:
    # the subject has no score for the domain at stake: "in the lead" is unknown
    unscored = RegistryModel("aurora-3", "Fictional Lab", own=True)
    inp = DecisionInput(
        unscored, "train", {"bio-uplift": Finding("bio-uplift", "crossed", 0.9, 0.85, 0.95)}, {}
    )
    d = decide(MIN, inp)
    rule = next(r for r in d.rules if r.commitment == "delay-if-leading")
    assert rule.condition_value == "unknown" and rule.applied
    assert d.outcome == "delay"


def test_assertions_cannot_overrule_the_registry() -> None:
    claim = AssertedFact("developer_leads", False, "https://lab.example/memo", "ceo")
    d = decide_min(
        MIN,
        Finding("bio-uplift", "crossed", 0.9, 0.85, 0.95),
        action="train",
        others=(LAGGARD,),
        asserted={"developer_leads": claim},
    )
    fact = next(f for f in d.facts if f.name == "developer_leads")
    assert fact.value is True and "was not used" in fact.basis
    assert d.outcome == "delay"


def test_decision_is_deterministic_and_serialisable() -> None:
    a = run(RSP_30, "novel-cb", "train", company_safeguards(RSP_30, "novel-cb"), (RIVAL,))
    b = run(RSP_30, "novel-cb", "train", company_safeguards(RSP_30, "novel-cb"), (RIVAL,))
    assert a.model_dump_json() == b.model_dump_json()
    assert a.framework_digest == RSP_30.digest


@pytest.mark.parametrize(
    "action", ["train", "deploy_internal", "deploy_external", "release_weights"]
)
def test_every_action_under_every_builtin_gives_an_outcome(action: str) -> None:
    for entry in LIB.entries:
        fw = entry.framework
        inp = DecisionInput(SUBJECT, action, {}, {}, (RIVAL,))  # type: ignore[arg-type]
        d = decide(fw, inp)
        # no evidence at all can never mean a clean "proceed"
        assert d.outcome != "proceed", fw.ref
