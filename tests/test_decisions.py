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
    FactOut,
    Finding,
    RegistryModel,
    RuleOut,
)
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework, load_bytes
from scaleguard.framework.yamlsource import read_yaml

LIB = Library()
RSP_22 = LIB.get("anthropic-rsp@2.2")
RSP_30 = LIB.get("anthropic-rsp@3.0")
MINIMAL = (Path(__file__).parent / "data" / "minimal.yaml").read_text()

SUBJECT = RegistryModel(
    "aurora-3",
    "Fictional Lab",
    own=True,
    scores={"chem-bio": 0.82, "cbrn": 0.82, "bio": 0.82, "automated-rd": 0.90},
)
RIVAL = RegistryModel(
    "rival-9",
    "Rival AI",
    own=False,
    released=True,
    released_on=dt.date(2026, 5, 1),
    scores={"chem-bio": 0.85, "cbrn": 0.85, "bio": 0.85, "automated-rd": 0.92},
    safeguards_level="weak",
    sources=("https://rival.example/model-card",),
    status="released",
)
LAGGARD = RegistryModel(
    "slow-2",
    "Other Co",
    own=False,
    released=True,
    released_on=dt.date(2026, 3, 1),
    scores={"chem-bio": 0.40, "cbrn": 0.40, "bio": 0.40, "automated-rd": 0.30},
    safeguards_level="strong",
    status="released",
)
# a competitor's model still in training: it "will soon develop" a comparable model
TRAINING_RIVAL = RegistryModel(
    "rival-10",
    "Rival AI",
    own=False,
    scores={"automated-rd": 0.95},
    safeguards_level="weak",
    sources=("https://rival.example/roadmap",),
    status="training",
)
STRONG_RIVAL = RegistryModel(
    "careful-1",
    "Careful Co",
    own=False,
    released=True,
    released_on=dt.date(2026, 4, 1),
    scores={"chem-bio": 0.86, "automated-rd": 0.91},
    safeguards_level="strong",
    status="released",
)


def company_safeguards(fw: LoadedFramework, *thresholds: str) -> dict[str, Attestation]:
    """Attest what the developer binds itself to, not recommendations or Roadmap goals."""
    return {
        r.standard: Attestation(r.standard, "rso", "https://lab.example/attestation")
        for t in fw.doc.thresholds
        if t.id in thresholds
        for r in t.required_safeguards
        if is_required(r)
    }


def findings(fw: LoadedFramework, *crossed: str, state: str = "crossed") -> dict[str, Finding]:
    out = {t.id: Finding(t.id, "below", 0.1, 0.05, 0.15) for t in fw.doc.thresholds}
    for tid in crossed:
        out[tid] = Finding(tid, state, 0.9, 0.85, 0.95)  # type: ignore[arg-type]
    return out


def run(
    fw: LoadedFramework,
    crossed: str | tuple[str, ...],
    action: str,
    attested: dict[str, Attestation],
    others: tuple[RegistryModel, ...],
    asserted: dict[str, AssertedFact] | None = None,
) -> Decision:
    ids = (crossed,) if isinstance(crossed, str) else crossed
    inp = DecisionInput(
        SUBJECT,
        action,  # type: ignore[arg-type]
        findings(fw, *ids),
        attested,
        others,
        asserted or {},
    )
    return decide(fw, inp)


def fact(d: Decision, name: str) -> FactOut:
    return next(f for f in d.facts if f.name == name)


def rule(d: Decision, commitment: str) -> RuleOut:
    return next(r for r in d.rules if r.commitment == commitment)


APPENDIX_A_DELAYS = ("delay-while-in-lead", "delay-unless-matching-competitors")


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


@pytest.mark.parametrize("version", ["3.0", "3.1", "3.2", "3.3", "3.4"])
@pytest.mark.parametrize("action", ["train", "deploy_external"])
def test_chem_bio_alone_is_never_delayed_by_appendix_a(version: str, action: str) -> None:
    """Appendix A's delays concern a *highly capable* model (§3.6: the automated R&D
    threshold). A model that crossed only the chemical and biological thresholds is not one,
    even when no competitor comes near it."""
    fw = LIB.get(f"anthropic-rsp@{version}")
    crossed = ("non-novel-cb", "novel-cb")
    d = run(fw, crossed, action, company_safeguards(fw, *crossed), (LAGGARD,))
    assert d.outcome == "proceed_with_conditions"
    assert fact(d, "highly_capable").value is False
    assert fact(d, "developer_leads").value is True
    for cid in APPENDIX_A_DELAYS:
        r = rule(d, cid)
        assert r.trigger == "fired" and r.condition_value == "false" and not r.applied
    assert "highly_capable is false" in d.summary


def test_rsp30_highly_capable_model_in_the_lead_delays() -> None:
    """Appendix A, 'Anthropic in the lead': a highly capable model and clear evidence no
    competitor will soon develop one: delay as needed for a strong argument."""
    d = run(RSP_30, "automated-rd", "train", company_safeguards(RSP_30, "automated-rd"), (LAGGARD,))
    assert d.outcome == "delay"
    assert d.deciding_rules == ["delay-while-in-lead"]
    assert fact(d, "highly_capable").value is True
    lead = fact(d, "developer_leads")
    assert lead.value is True and "status planned, training or internal" in lead.basis


def test_rsp30_competitor_released_comparable_model_means_no_delay() -> None:
    d = run(
        RSP_30,
        "automated-rd",
        "train",
        company_safeguards(RSP_30, "automated-rd"),
        (RIVAL, LAGGARD),
    )
    assert d.outcome == "proceed_with_conditions"
    assert "delay-while-in-lead" in d.deciding_rules
    lead = rule(d, "delay-while-in-lead")
    assert lead.trigger == "fired" and lead.condition_value == "false" and not lead.applied
    # the explanation names the competitor model that makes the clause inapplicable
    assert "rival-9" in lead.reason and "rival-9" in d.summary
    leads = fact(d, "developer_leads")
    assert leads.value is False and "https://rival.example/model-card" in leads.sources
    # rival-9's safeguards are weak, so the posture clause does not apply either
    assert fact(d, "all_competitors_strong_safeguards").value is False
    assert not rule(d, "delay-unless-matching-competitors").applied
    # and says what would change it
    assert any(
        c.change == "developer_leads were true" and c.outcome == "delay"
        for c in d.what_would_change
    )


def test_rsp30_competitor_developing_a_comparable_model_means_no_delay() -> None:
    """'no other competitor will soon develop such a model': a competitor's model in training
    counts, and the explanation says so."""
    d = run(
        RSP_30,
        "automated-rd",
        "train",
        company_safeguards(RSP_30, "automated-rd"),
        (TRAINING_RIVAL, LAGGARD),
    )
    assert d.outcome == "proceed_with_conditions"
    leads = fact(d, "developer_leads")
    assert leads.value is False
    assert "rival-10" in leads.basis and "in development, status training" in leads.basis
    assert "will soon develop" in leads.basis
    assert "https://rival.example/roadmap" in leads.sources
    # the released-model fact other frameworks use is unchanged: nothing comparable is out
    assert fact(d, "competitor_released_comparable").value is False


@pytest.mark.parametrize("version", ["3.0", "3.1", "3.2", "3.3", "3.4"])
def test_automated_rd_delay_depends_on_competitors_in_every_3x_version(version: str) -> None:
    """Appendix A, scenario 'Anthropic in the lead', in every 3.x text: a highly capable model
    (since 3.1 §3.6, one crossing the automated R&D threshold) and clear evidence that "no other
    competitor will soon develop such a model" delays; a competitor that has released, or is
    developing, a comparable model with weak safeguards ends the lead and the delay."""
    fw = LIB.get(f"anthropic-rsp@{version}")
    safeguards = company_safeguards(fw, "automated-rd")
    alone = run(fw, "automated-rd", "train", safeguards, (LAGGARD,))
    assert alone.outcome == "delay" and alone.deciding_rules == ["delay-while-in-lead"]
    for rival in (RIVAL, TRAINING_RIVAL):
        d = run(fw, "automated-rd", "train", safeguards, (rival, LAGGARD))
        assert d.outcome == "proceed_with_conditions", (version, rival.status)
        assert fact(d, "developer_leads").value is False
        assert fact(d, "all_competitors_strong_safeguards").value is False
        for cid in APPENDIX_A_DELAYS:
            assert not rule(d, cid).applied


def test_rsp30_competitors_with_strong_safeguards_must_be_matched() -> None:
    """Appendix A, 'competitors have strong safety measures': meet their posture, delaying
    until able."""
    d = run(
        RSP_30, "automated-rd", "train", company_safeguards(RSP_30, "automated-rd"), (STRONG_RIVAL,)
    )
    assert d.outcome == "delay"
    assert d.deciding_rules == ["delay-unless-matching-competitors"]
    assert fact(d, "all_competitors_strong_safeguards").value is True
    assert fact(d, "developer_leads").value is False


def test_rsp30_lead_is_measured_where_highly_capable_is_defined() -> None:
    """'such a model' is a highly capable one: a competitor ahead only in chemistry and
    biology does not end the lead in automated R&D."""
    bio_rival = RegistryModel(
        "bio-1",
        "Bio Co",
        own=False,
        released=True,
        scores={"chem-bio": 0.99, "automated-rd": 0.1},
        safeguards_level="weak",
        status="released",
    )
    crossed = ("novel-cb", "automated-rd")
    d = run(RSP_30, crossed, "train", company_safeguards(RSP_30, *crossed), (bio_rival,))
    assert fact(d, "competitor_released_comparable").value is True  # in chem-bio
    assert fact(d, "developer_leads").value is True  # in automated-rd
    assert d.outcome == "delay"


def test_rsp30_unknown_highly_capable_fails_closed() -> None:
    """Missing automated R&D evidence never loosens a decision: highly_capable is unknown, and
    a restrictive clause with an unknown condition applies, capped at delay."""
    fw = RSP_30
    inp = DecisionInput(
        SUBJECT,
        "train",
        {"novel-cb": Finding("novel-cb", "crossed", 0.9, 0.85, 0.95)},
        company_safeguards(fw, "novel-cb"),
        (LAGGARD,),
    )
    d = decide(fw, inp)
    assert fact(d, "highly_capable").value is None
    assert d.outcome == "delay"
    assert rule(d, "delay-while-in-lead").condition_value == "unknown"


def test_rsp30_general_upleveling_never_delays() -> None:
    """Appendix A, general upleveling: a significant effort, 'not necessarily' a delay."""
    claim = AssertedFact(
        "competitor_superior_mitigation", True, "https://rival.example/safety", "rso"
    )
    d = run(
        RSP_30,
        "automated-rd",
        "train",
        company_safeguards(RSP_30, "automated-rd"),
        (RIVAL,),
        {"competitor_superior_mitigation": claim},
    )
    up = rule(d, "general-upleveling")
    assert up.applied and up.effect is None
    assert d.outcome == "proceed_with_conditions"
    assert any(c.startswith("general-upleveling") for c in d.conditions)


def test_rsp30_roadmap_goals_never_block() -> None:
    """§1 and fn 3: the automated R&D row's plans are Roadmap goals, not hard commitments."""
    d = run(
        RSP_30,
        "automated-rd",
        "deploy_external",
        company_safeguards(RSP_30, "automated-rd"),
        (RIVAL,),
    )
    assert d.outcome == "proceed_with_conditions"
    assert fact(d, "required_safeguards_met").value is True
    for goal in ("moonshot-security-rd", "eyes-on-everything", "safeguards-red-teaming"):
        assert any("goal" in c and goal in c for c in d.conditions), goal


@pytest.mark.parametrize(("reported", "listed"), [(None, False), (False, True), (True, False)])
def test_rsp30_asl3_upkeep_is_keep_or_report(reported: bool | None, listed: bool) -> None:
    """§3.2: keep practice in line with the described mitigations *or* track and report the
    deviation; never a refusal."""
    asserted = (
        {}
        if reported is None
        else {
            "mitigation_deviation_reported": AssertedFact(
                "mitigation_deviation_reported", reported, "https://lab.example/rr-2", "rso"
            )
        }
    )
    d = run(RSP_30, "novel-cb", "deploy_external", {}, (RIVAL,), asserted)
    assert d.outcome == "proceed_with_conditions"
    upkeep = rule(d, "maintain-asl3-protections")
    assert upkeep.trigger == "fired"
    assert upkeep.applied is listed
    assert any(c.startswith("maintain-asl3-protections") for c in d.conditions) is listed
    # the unattested ASL-3 protections are named either way
    assert any("asl-3-deployment" in c for c in d.conditions)


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
    a = run(RSP_30, "automated-rd", "train", {}, (RIVAL, TRAINING_RIVAL))
    b = run(RSP_30, "automated-rd", "train", {}, (RIVAL, TRAINING_RIVAL))
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


def _minimal_highly_capable(declared: bool) -> LoadedFramework:
    data: dict[str, Any] = read_yaml(MINIMAL, "minimal.yaml")[0]
    lead = next(c for c in data["commitments"] if c["id"] == "delay-if-leading")
    lead["condition"] = {"all": [{"fact": "highly_capable"}, {"fact": "developer_leads"}]}
    if declared:
        data["framework"]["highly_capable"] = {
            "thresholds": ["bio-uplift"],
            "source": {"doc": "policy", "section": "§2"},
        }
    return load_bytes(yaml.safe_dump(data, sort_keys=False), "minimal.yaml")


@pytest.mark.parametrize(
    ("declared", "state", "value", "outcome"),
    [
        (True, "crossed", True, "delay"),
        (True, "below", False, "proceed"),
        (True, "ambiguous", True, "delay"),  # treat_as_crossed: the threshold counts as crossed
        (False, "crossed", None, "delay"),  # named but never defined: unknown, fail closed
    ],
)
def test_highly_capable_comes_from_the_declared_thresholds(
    declared: bool, state: str, value: bool | None, outcome: str
) -> None:
    fw = _minimal_highly_capable(declared)
    d = decide_min(
        fw,
        Finding("bio-uplift", state, 0.9, 0.7, 0.95),  # type: ignore[arg-type]
        action="train",
        others=(LAGGARD,),
    )
    hc = next(f for f in d.facts if f.name == "highly_capable")
    assert hc.value is value
    assert d.outcome == outcome
    if not declared:
        assert "does not define it" in hc.basis


def test_highly_capable_is_never_taken_from_an_assertion() -> None:
    fw = _minimal_highly_capable(True)
    claim = AssertedFact("highly_capable", False, "https://lab.example/memo", "ceo")
    d = decide_min(
        fw,
        Finding("bio-uplift", "crossed", 0.9, 0.85, 0.95),
        action="train",
        others=(LAGGARD,),
        asserted={"highly_capable": claim},
    )
    hc = next(f for f in d.facts if f.name == "highly_capable")
    assert hc.value is True and "was not used" in hc.basis
    assert d.outcome == "delay"
