"""Pins the key facts of the built-in OpenAI Preparedness Framework v2 and GDM FSF v3 documents.

These are the facts a cross-lab comparison or a scaling decision leans on; if an edit to the
YAML changes one of them, the change should be deliberate and show up here.
"""

from __future__ import annotations

import pytest

from scaleguard.framework.conditions import AllOf, FactTest, Truth, evaluate
from scaleguard.framework.durations import Duration
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import Commitment, Threshold

PF2 = "openai-preparedness@2.0"
FSF30 = "gdm-fsf@3.0"
FSF31 = "gdm-fsf@3.1"
TRACKED = {"chem-bio", "cyber", "autonomous-ai-rd"}
# §4.3: another developer has developed or released a High/Critical system without comparable
# safeguards, OpenAI has rigorously confirmed it, and all three conditions hold (the third with
# information shared to validate it).
MARGINAL_RISK_FACTS = {
    "competitor_high_or_critical_confirmed",
    "risk_not_meaningfully_increased",
    "adjustment_publicly_acknowledged",
    "safeguards_more_protective_than_competitor",
    "adjustment_claim_information_shared",
}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library()


@pytest.fixture(scope="module")
def pf2(library: Library) -> LoadedFramework:
    return library.get(PF2)


@pytest.fixture(scope="module")
def fsf(library: Library) -> LoadedFramework:
    return library.get(FSF30)


def _threshold(fw: LoadedFramework, tid: str) -> Threshold:
    return next(t for t in fw.doc.thresholds if t.id == tid)


def _commitment(fw: LoadedFramework, cid: str) -> Commitment:
    return next(c for c in fw.doc.commitments if c.id == cid)


def _ours(library: Library) -> list[LoadedFramework]:
    wanted = ("openai-preparedness", "gdm-fsf")
    return [e.framework for e in library.entries if e.framework.doc.framework.id in wanted]


# --- OpenAI Preparedness Framework v2 -----------------------------------------------------


def test_pf2_metadata(pf2: LoadedFramework) -> None:
    meta = pf2.doc.framework
    assert (meta.developer, meta.version, meta.effective_date.isoformat()) == (
        "OpenAI",
        "2.0",
        "2025-04-15",
    )
    # the 2023 document is built in as version "1.0-beta", which version 2 supersedes
    assert [c.version for c in pf2.doc.changelog] == ["1.0-beta", "2.0"]
    assert meta.supersedes == "1.0-beta"


def test_pf2_high_and_critical_exactly_in_the_three_tracked_categories(
    pf2: LoadedFramework,
) -> None:
    real = [t for t in pf2.doc.thresholds if t.kind == "threshold"]
    assert {t.domain for t in real} == TRACKED
    for domain in TRACKED:
        levels = {t.level_label: t.level for t in real if t.domain == domain}
        assert levels == {"High": 1, "Critical": 2}, domain
    in_scope = {d.id for d in pf2.doc.risk_domains if d.status == "in_scope"}
    assert in_scope == TRACKED


def test_pf2_critical_standards_are_named_but_unspecified(pf2: LoadedFramework) -> None:
    standards = {s.id: s for s in pf2.doc.safeguard_standards}
    for t in pf2.doc.thresholds:
        if t.level_label == "Critical":
            required = [standards[r.standard] for r in t.required_safeguards]
            assert required and all(not s.specified for s in required), t.id
        if t.level_label == "High":
            required = [standards[r.standard] for r in t.required_safeguards]
            assert required and all(s.specified for s in required), t.id


def test_pf2_high_safeguards_follow_table_1(pf2: LoadedFramework) -> None:
    def required(tid: str) -> set[str]:
        return {r.standard for r in _threshold(pf2, tid).required_safeguards}

    assert required("bio-chem-high") == {"high-security-controls", "high-misuse-safeguards"}
    assert required("cyber-high") == {
        "high-security-controls",
        "high-misuse-safeguards",
        "high-misalignment-safeguards",
    }
    assert required("ai-self-improvement-high") == {"high-security-controls"}


def test_pf2_critical_triggers_binding_halt_of_development(pf2: LoadedFramework) -> None:
    critical = {t.id for t in pf2.doc.thresholds if t.level_label == "Critical"}
    halts = [
        c
        for c in pf2.doc.commitments
        if c.kind == "development_gate" and c.outcome == "pause" and "train" in c.applies_to
    ]
    assert len(halts) == 1
    halt = halts[0]
    assert halt.force == "binding"
    assert halt.trigger.when == "required_safeguards_unmet"
    assert set(halt.trigger.thresholds) == critical
    assert len(critical) == 3


def test_pf2_high_deployment_gate(pf2: LoadedFramework) -> None:
    gate = _commitment(pf2, "no-deploy-high-without-safeguards")
    assert (gate.kind, gate.force, gate.outcome) == ("deployment_gate", "binding", "not_permitted")
    assert gate.trigger.when == "required_safeguards_unmet"
    assert {"deploy_external", "release_weights"} <= set(gate.applies_to)
    internal = _commitment(pf2, "no-internal-deploy-without-misalignment-safeguards")
    assert internal.applies_to == ["deploy_internal"]
    assert internal.trigger.thresholds == ["cyber-high"]
    assert internal.outcome == "not_permitted"


def test_pf2_marginal_risk_clause_is_discretionary_and_competitor_contingent(
    pf2: LoadedFramework,
) -> None:
    clause = _commitment(pf2, "marginal-risk-adjustment")
    assert clause.force == "discretionary"
    assert clause.scope == "competitor_contingent"
    assert clause.outcome == "relax_safeguards"
    assert "no-deploy-high-without-safeguards" in clause.relaxes
    assert "critical-halt-development" not in clause.relaxes
    cond = pf2.conditions[clause.id]
    assert isinstance(cond, AllOf)
    assert all(isinstance(item, FactTest) for item in cond.items)
    assert {item.fact for item in cond.items if isinstance(item, FactTest)} == MARGINAL_RISK_FACTS


def test_pf2_marginal_risk_condition_needs_every_fact(pf2: LoadedFramework) -> None:
    cond = pf2.conditions["marginal-risk-adjustment"]
    all_true: dict[str, bool | float | None] = dict.fromkeys(MARGINAL_RISK_FACTS, True)
    assert evaluate(cond, all_true) is Truth.TRUE
    for fact in MARGINAL_RISK_FACTS:
        assert evaluate(cond, {**all_true, fact: False}) is Truth.FALSE, fact
        assert evaluate(cond, {**all_true, fact: None}) is Truth.UNKNOWN, fact


def test_pf2_persuasion_is_excluded(pf2: LoadedFramework) -> None:
    domains = {d.id: d for d in pf2.doc.risk_domains}
    assert domains["persuasion"].status == "excluded"
    assert not [t for t in pf2.doc.thresholds if t.domain == "persuasion"]


def test_pf2_nuclear_radiological_is_monitored_not_a_threshold(pf2: LoadedFramework) -> None:
    domains = {d.id: d for d in pf2.doc.risk_domains}
    assert domains["nuclear-radiological"].status == "monitored"
    nuclear = [t for t in pf2.doc.thresholds if t.domain == "nuclear-radiological"]
    assert nuclear
    assert all(t.kind == "monitored" and not t.required_safeguards for t in nuclear)


def test_pf2_research_categories_are_all_monitored(pf2: LoadedFramework) -> None:
    research = {
        "long-range-autonomy",
        "sandbagging",
        "autonomous-replication-adaptation",
        "undermining-safeguards",
        "nuclear-radiological-research",
    }
    monitored = {t.id for t in pf2.doc.thresholds if t.kind == "monitored"}
    assert monitored == research


def test_pf2_discretionary_and_cadence_items(pf2: LoadedFramework) -> None:
    assert _commitment(pf2, "third-party-capability-evals").force == "discretionary"
    assert _commitment(pf2, "raising-concerns").kind == "noncompliance"
    (review,) = pf2.doc.cadences
    assert review.interval is not None and review.interval == Duration.parse("P1Y")
    roles = {r.id for r in pf2.doc.governance_roles}
    assert roles == {
        "safety-advisory-group",
        "openai-leadership",
        "board-safety-security-committee",
    }


# --- Google DeepMind Frontier Safety Framework v3.0 --------------------------------------


def test_fsf30_metadata(fsf: LoadedFramework) -> None:
    meta = fsf.doc.framework
    assert (meta.version, meta.supersedes, meta.effective_date.isoformat()) == (
        "3.0",
        "2.0",
        "2025-09-22",
    )
    assert [(c.version, c.date.isoformat()) for c in fsf.doc.changelog] == [
        ("1.0", "2024-05-17"),
        ("2.0", "2025-02-04"),
        ("3.0", "2025-09-22"),
    ]


def test_fsf30_has_the_harmful_manipulation_ccl(fsf: LoadedFramework) -> None:
    ccl = _threshold(fsf, "harmful-manipulation-1")
    assert ccl.domain == "harmful-manipulation"
    assert ccl.kind == "threshold"
    gate = _commitment(fsf, "misuse-deployment-review")
    assert "harmful-manipulation-1" in gate.trigger.thresholds
    assert gate.force == "binding"


def test_fsf30_ccls(fsf: LoadedFramework) -> None:
    ccls = {t.id for t in fsf.doc.thresholds if t.kind == "threshold"}
    assert ccls == {
        "cbrn-uplift-1",
        "cyber-uplift-1",
        "harmful-manipulation-1",
        "ml-rd-acceleration-1",
        "ml-rd-automation-1",
    }
    exploratory = [t for t in fsf.doc.thresholds if t.domain == "misalignment"]
    assert {t.id for t in exploratory} == {"instrumental-reasoning-1", "instrumental-reasoning-2"}
    assert all(t.kind == "monitored" for t in exploratory)


def test_fsf30_has_no_development_hold(fsf: LoadedFramework) -> None:
    holds = [
        c
        for c in fsf.doc.commitments
        if c.outcome in ("pause", "delay") and "train" in c.applies_to
    ]
    assert holds == []
    assert not [c for c in fsf.doc.commitments if c.kind == "development_gate"]


def test_fsf30_deployment_gates_cover_the_right_actions(fsf: LoadedFramework) -> None:
    misuse = _commitment(fsf, "misuse-deployment-review")
    ml_rd = _commitment(fsf, "ml-rd-deployment-review")
    assert misuse.applies_to == ["deploy_external"]
    assert set(ml_rd.applies_to) == {"deploy_external", "deploy_internal"}
    for gate in (misuse, ml_rd):
        assert (gate.kind, gate.outcome, gate.trigger.when) == (
            "deployment_gate",
            "not_permitted",
            "required_safeguards_unmet",
        )


def test_fsf30_rand_sl4_recommended_for_ml_rd_automation(fsf: LoadedFramework) -> None:
    standards = {s.id: s for s in fsf.doc.safeguard_standards}
    ccl = _threshold(fsf, "ml-rd-automation-1")
    sl4 = [
        r
        for r in ccl.required_safeguards
        if any(
            ref.scheme == "RAND-SL" and ref.level == "SL4" and ref.relation == "recommended"
            for ref in standards[r.standard].external_references
        )
    ]
    assert len(sl4) == 1
    assert (sl4[0].force, sl4[0].scope) == ("recommendation", "industry_wide")


def test_fsf30_security_levels_are_field_wide_recommendations(fsf: LoadedFramework) -> None:
    standards = {s.id: s for s in fsf.doc.safeguard_standards}
    for t in fsf.doc.thresholds:
        for r in t.required_safeguards:
            if standards[r.standard].kind == "security":
                assert (r.force, r.scope) == ("recommendation", "industry_wide"), t.id


def test_fsf30_marginal_risk_factor_relaxes_only_the_misuse_gate(fsf: LoadedFramework) -> None:
    factor = _commitment(fsf, "marginal-risk-factor")
    assert (factor.force, factor.scope, factor.outcome) == (
        "discretionary",
        "competitor_contingent",
        "relax_safeguards",
    )
    assert factor.relaxes == ["misuse-deployment-review"]
    assert factor.applies_to == ["deploy_external"]
    cond = fsf.conditions[factor.id]
    assert evaluate(cond, {"competitor_without_comparable_safeguards": True}) is Truth.TRUE
    assert evaluate(cond, {"competitor_without_comparable_safeguards": False}) is Truth.FALSE


def test_fsf30_goal_and_discretionary_items(fsf: LoadedFramework) -> None:
    assert _commitment(fsf, "government-disclosure").force == "goal"
    assert _commitment(fsf, "external-experts").force == "discretionary"
    escape = _commitment(fsf, "security-otherwise-adequate")
    assert (escape.force, escape.scope) == ("discretionary", "competitor_contingent")
    (update,) = fsf.doc.cadences
    assert update.interval is not None and update.interval == Duration.parse("P1Y")


# --- Google DeepMind Frontier Safety Framework v3.1 --------------------------------------


@pytest.fixture(scope="module")
def fsf31(library: Library) -> LoadedFramework:
    return library.get(FSF31)


def test_fsf31_is_the_latest_and_supersedes_30(library: Library, fsf31: LoadedFramework) -> None:
    assert library.get("gdm-fsf").ref == FSF31
    assert fsf31.doc.framework.supersedes == "3.0"
    assert fsf31.doc.framework.effective_date.isoformat() == "2026-04-17"


def test_fsf31_keeps_ids_or_aliases_of_persisting_elements(
    fsf: LoadedFramework, fsf31: LoadedFramework
) -> None:
    new_ids = {t.id for t in fsf31.doc.thresholds}
    aliases = {a for t in fsf31.doc.thresholds for a in t.legacy_aliases}
    dropped = {"instrumental-reasoning-2"}
    for t in fsf.doc.thresholds:
        assert t.id in new_ids or t.id in aliases or t.id in dropped, t.id
    assert not dropped & (new_ids | aliases)
    old_commitments = {c.id for c in fsf.doc.commitments}
    assert old_commitments <= {c.id for c in fsf31.doc.commitments}
    assert {c.id for c in fsf.doc.cadences} == {c.id for c in fsf31.doc.cadences}


def test_fsf31_stealth_tcl_renames_instrumental_reasoning_1(fsf31: LoadedFramework) -> None:
    tcl = _threshold(fsf31, "stealth-situational-awareness-tcl")
    assert "instrumental-reasoning-1" in tcl.legacy_aliases
    assert (tcl.domain, tcl.kind, tcl.level_label) == ("misalignment", "threshold", "TCL")
    gate = _commitment(fsf31, "ml-rd-deployment-review")
    assert tcl.id in gate.trigger.thresholds
    assert "deploy_internal" in gate.applies_to


def test_fsf31_cbrn_tcl_sits_below_the_ccl(fsf31: LoadedFramework) -> None:
    tcl = _threshold(fsf31, "cbrn-uplift-tcl")
    ccl = _threshold(fsf31, "cbrn-uplift-1")
    assert tcl.domain == ccl.domain == "cbrn"
    assert tcl.level < ccl.level
    assert tcl.id in _commitment(fsf31, "misuse-deployment-review").trigger.thresholds


def test_fsf31_misuse_ccls_recommend_sl2_plus(fsf31: LoadedFramework) -> None:
    for tid in ("cbrn-uplift-1", "cyber-uplift-1", "harmful-manipulation-1"):
        standards = {r.standard: r for r in _threshold(fsf31, tid).required_safeguards}
        assert "security-level-2-plus" in standards, tid
        assert standards["security-level-2-plus"].force == "recommendation"


def test_fsf31_still_has_no_development_hold(fsf31: LoadedFramework) -> None:
    assert not [
        c
        for c in fsf31.doc.commitments
        if c.outcome in ("pause", "delay") and "train" in c.applies_to
    ]


# --- both ---------------------------------------------------------------------------------


def test_both_are_in_the_library(library: Library) -> None:
    refs = {fw.ref for fw in _ours(library)}
    assert {PF2, FSF30, FSF31} <= refs


def test_every_threshold_and_commitment_resolves_to_an_https_source(library: Library) -> None:
    checked = 0
    for fw in _ours(library):
        for element in [*fw.doc.thresholds, *fw.doc.commitments]:
            url = fw.source_url(element.source)
            assert url.startswith("https://"), f"{fw.ref} {element.id}: {url}"
            assert element.source.section.strip(), f"{fw.ref} {element.id}"
            checked += 1
    assert checked > 40
