"""Pin the facts of the built-in Anthropic RSP documents.

The encodings are the reference case for the semantic diff and for
counterfactual decisions ("under RSP 2.2 this would have been a pause"), so the
load-bearing facts are asserted here one by one: a silent edit to a built-in
YAML file that weakens or strengthens a commitment must fail a test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from scaleguard.framework.conditions import AllOf, FactTest, Not, facts_named
from scaleguard.framework.durations import Duration
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import (
    ACTIONS,
    ChangeNote,
    Commitment,
    Element,
    FrameworkDocument,
    SafeguardStandard,
    SourceRef,
    Threshold,
)

ALL_ACTIONS = set(ACTIONS)
# SHA-256 of each source PDF, as the corpus manifest (study/corpus/manifest.jsonl) records it
MANIFEST_PDF_SHA256 = {
    "3.0": "a71bfa08a7fa4b750b2b408b4b9c8681ad50c6b53271c314f591c59c84c38064",
    "3.1": "5aa73a3b3155ef856e429711c8d156e18d9b5ce1e28c2e0a74019a2c3c764d7b",
    "3.2": "5410e3d986cf6917e9105c3d3a661ccc91bfbcb8672bca18b7752ca394e3f2a1",
    "3.3": "b7e7cc1e72e9371949415522ae3c9e61103cc739c5df64579af32dd941624f42",
    "3.4": "6247b9e4001fd342827526fabc476c9d4dd6b2041ac00055f0ccda26f4d0b07d",
}
DEPLOY_ACTIONS = {"deploy_internal", "deploy_external", "release_weights"}


def _load(version: str) -> LoadedFramework:
    return Library().get(f"anthropic-rsp@{version}")


@pytest.fixture(scope="module")
def v22() -> LoadedFramework:
    return _load("2.2")


@pytest.fixture(scope="module")
def v30() -> LoadedFramework:
    return _load("3.0")


def _all_versions() -> list[LoadedFramework]:
    return [
        e.framework for e in Library().entries if e.framework.doc.framework.id == "anthropic-rsp"
    ]


def _commitment(f: LoadedFramework, cid: str) -> Commitment:
    matches = [c for c in f.doc.commitments if c.id == cid]
    assert matches, f"{f.ref} has no commitment {cid!r}"
    return matches[0]


def _threshold(f: LoadedFramework, tid: str) -> Threshold:
    matches = [t for t in f.doc.thresholds if t.id == tid]
    assert matches, f"{f.ref} has no threshold {tid!r}"
    return matches[0]


def _standard(f: LoadedFramework, sid: str) -> SafeguardStandard:
    matches = [s for s in f.doc.safeguard_standards if s.id == sid]
    assert matches, f"{f.ref} has no safeguard standard {sid!r}"
    return matches[0]


def _elements(doc: FrameworkDocument) -> Iterator[Element]:
    yield from doc.risk_domains
    yield from doc.safeguard_standards
    yield from doc.thresholds
    yield from doc.commitments
    yield from doc.cadences
    yield from doc.governance_roles
    yield from doc.red_lines


def _fact_names(f: LoadedFramework, cid: str) -> set[str]:
    cond = f.conditions[cid]
    assert isinstance(cond, FactTest), f"{cid}: expected a single fact test"
    return {cond.fact}


# --- versions and provenance ---------------------------------------------------------


def test_versions_and_lineage(v22: LoadedFramework, v30: LoadedFramework) -> None:
    assert v22.doc.framework.version == "2.2"
    assert str(v22.doc.framework.effective_date) == "2025-05-14"
    assert v22.doc.framework.supersedes == "2.1"
    assert v30.doc.framework.version == "3.0"
    assert str(v30.doc.framework.effective_date) == "2026-02-24"
    assert v30.doc.framework.supersedes == "2.2"


def test_every_version_supersedes_the_one_before() -> None:
    versions = _all_versions()
    assert len(versions) >= 2
    for earlier, later in itertools.pairwise(versions):
        assert later.doc.framework.supersedes == earlier.doc.framework.version
        assert later.doc.framework.effective_date > earlier.doc.framework.effective_date


ALL_VERSIONS = ["2.2", "3.0", "3.1", "3.2", "3.3", "3.4"]
LATER_3X = ["3.1", "3.2", "3.3", "3.4"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_every_element_resolves_to_an_https_source(version: str) -> None:
    f = _load(version)
    refs: list[tuple[str, SourceRef]] = [(e.id, e.source) for e in _elements(f.doc)]
    if f.doc.external_review is not None:
        refs.append(("external_review", f.doc.external_review.source))
    if f.doc.framework.ambiguity_source is not None:
        refs.append(("ambiguity_source", f.doc.framework.ambiguity_source))
    refs.extend((f"changelog {c.version}", c.source) for c in f.doc.changelog if c.source)
    assert len(refs) > 30
    for ident, ref in refs:
        assert f.source_url(ref).startswith("https://"), ident
        assert ref.section.strip(), ident
    assert f.doc.thresholds and f.doc.commitments


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_secondary_facts_cite_a_secondary_or_marked_source(version: str) -> None:
    """An element marked secondary must not pretend its source is the policy text."""
    f = _load(version)
    kinds = {s.id: s.kind for s in f.doc.framework.sources}
    for element in _elements(f.doc):
        if element.confidence == "secondary":
            ref = element.source
            assert ref.url is not None or kinds[ref.doc or ""] == "secondary", element.id


# --- RSP 2.2 ---------------------------------------------------------------------------


def test_22_ambiguity_is_treated_as_crossed(v22: LoadedFramework) -> None:
    meta = v22.doc.framework
    assert meta.ambiguity_policy == "treat_as_crossed"
    assert meta.ambiguity_source is not None
    assert "3.3" in meta.ambiguity_source.section


def test_22_pauses_training_until_security_is_in_place(v22: LoadedFramework) -> None:
    pauses = [
        c
        for c in v22.doc.commitments
        if c.kind == "development_gate"
        and c.force == "binding"
        and c.scope == "unilateral"
        and c.outcome == "pause"
    ]
    # §6.2/fn 13 (ASL-3 Security) and §2 (safeguards identified before training at a threshold)
    assert [c.id for c in pauses] == [
        "pause-training-until-security",
        "specify-safeguards-before-training",
    ]
    gate = pauses[0]
    assert gate.applies_to == ["train"]
    assert gate.trigger.when == "required_safeguards_unmet"
    assert gate.trigger.safeguard_kinds == ["security"]
    assert "fn 13" in gate.source.section


def test_22_deployment_gate_is_binding(v22: LoadedFramework) -> None:
    gate = _commitment(v22, "deploy-only-with-required-safeguards")
    assert (gate.kind, gate.force, gate.scope) == ("deployment_gate", "binding", "unilateral")
    assert set(gate.applies_to) == DEPLOY_ACTIONS
    assert gate.trigger.when == "required_safeguards_unmet"
    assert gate.outcome == "not_permitted"
    assert gate.condition is None


def test_22_competitor_clause_is_discretionary(v22: LoadedFramework) -> None:
    clause = _commitment(v22, "competitor-escape-clause")
    assert clause.force == "discretionary"
    assert clause.scope == "competitor_contingent"
    assert clause.outcome == "relax_safeguards"
    assert set(clause.relaxes) == {
        "deploy-only-with-required-safeguards",
        "pause-training-until-security",
    }
    assert set(clause.applies_to) == ALL_ACTIONS
    # fn 17: another actor will pass, or is on track to imminently pass, a threshold without
    # measures equivalent to the Required Safeguards
    assert set(facts_named(v22.conditions[clause.id])) == {
        "competitor_without_comparable_safeguards",
        "actor_passing_threshold_without_safeguards",
    }
    assert "fn 17" in clause.source.section


def test_22_only_the_footnote_clause_can_relax_safeguards(v22: LoadedFramework) -> None:
    relaxing = [c.id for c in v22.doc.commitments if c.outcome == "relax_safeguards"]
    assert relaxing == ["competitor-escape-clause"]
    assert not any(c.force == "conditional" for c in v22.doc.commitments)


def test_22_domains(v22: LoadedFramework) -> None:
    status = {d.id: d.status for d in v22.doc.risk_domains}
    assert status["cbrn"] == "in_scope"
    assert status["autonomous-ai-rd"] == "in_scope"
    assert status["cyber"] == "monitored"
    assert status["persuasion"] == "excluded"
    persuasion = next(d for d in v22.doc.risk_domains if d.id == "persuasion")
    assert "fn 2" in persuasion.source.section
    cbrn = next(d for d in v22.doc.risk_domains if d.id == "cbrn")
    assert "radiological" in (cbrn.description or "").lower()


def test_22_thresholds_and_their_safeguards(v22: LoadedFramework) -> None:
    kinds = {t.id: t.kind for t in v22.doc.thresholds}
    assert kinds == {
        "cbrn-3": "threshold",
        "cbrn-4": "threshold",
        "ai-rd-4": "threshold",
        "ai-rd-5": "threshold",
        "autonomy-checkpoint": "checkpoint",
        "cyber-operations": "monitored",
    }
    required = {t.id: {r.standard for r in t.required_safeguards} for t in v22.doc.thresholds}
    assert required["cbrn-3"] == {"asl-3-deployment", "asl-3-security"}
    assert required["cbrn-4"] == {"asl-4-deployment", "asl-4-security"}
    assert required["ai-rd-4"] == {"asl-3-security", "ai-rd-4-affirmative-case"}
    assert "asl-4-security" in required["ai-rd-5"]
    assert "asl-4-deployment" not in required["ai-rd-5"]
    assert _threshold(v22, "cbrn-4").level > _threshold(v22, "cbrn-3").level
    assert _threshold(v22, "ai-rd-5").level > _threshold(v22, "ai-rd-4").level
    assert _standard(v22, "ai-rd-4-affirmative-case").kind == "alignment"


def test_22_checkpoint_sets_a_goal_not_a_requirement(v22: LoadedFramework) -> None:
    checkpoint = _threshold(v22, "autonomy-checkpoint")
    assert checkpoint.required_safeguards
    assert {r.force for r in checkpoint.required_safeguards} == {"goal"}


def test_22_asl4_is_named_but_unspecified(v22: LoadedFramework) -> None:
    for sid in ("asl-4-deployment", "asl-4-security"):
        assert _standard(v22, sid).specified is False
    for sid in ("asl-2-deployment", "asl-2-security", "asl-3-deployment", "asl-3-security"):
        standard = _standard(v22, sid)
        assert standard.specified and standard.measures, sid


def test_22_names_no_rand_security_level(v22: LoadedFramework) -> None:
    refs = [r for s in v22.doc.safeguard_standards for r in s.external_references]
    assert not any(r.scheme.upper().startswith("RAND") for r in refs)
    dumped = v22.doc.model_dump_json()
    assert "SL4" not in dumped and "SL3" not in dumped


def test_22_assessment_cadence(v22: LoadedFramework) -> None:
    cadence = next(c for c in v22.doc.cadences if c.artifact == "capability_assessment")
    assert cadence.interval == Duration.parse("P6M")
    assert cadence.compute_multiple == 4
    assert cadence.force == "binding" and cadence.deadline is None
    reapproval = next(c for c in v22.doc.cadences if c.id == "safeguards-reapproval")
    assert reapproval.interval == Duration.parse("P1Y")


def test_22_procedural_commitments_present(v22: LoadedFramework) -> None:
    ids = {c.id for c in v22.doc.commitments}
    assert {
        "annual-safeguards-reapproval",
        "us-government-notice",
        "readiness-procedures",
        "noncompliance-reporting",
        "internal-transparency",
        "procedural-compliance-review",
        "public-disclosures",
        "expert-input",
        "employee-agreements",
        "policy-change-governance",
    } <= ids


def test_22_changelog(v22: LoadedFramework) -> None:
    entries = {c.version: c for c in v22.doc.changelog}
    assert {"2.0", "2.1", "2.2"} <= set(entries)
    assert str(entries["2.2"].date) == "2025-05-14"
    assert any(
        "insider" in (change if isinstance(change, str) else change.summary)
        for change in entries["2.2"].changes
    )
    assert entries["2.1"].silent_changes


# --- RSP 3.0 ---------------------------------------------------------------------------


def test_30_has_no_unilateral_pause(v30: LoadedFramework) -> None:
    assert not any(c.outcome == "pause" for c in v30.doc.commitments)
    binding_dev_gates = [
        c
        for c in v30.doc.commitments
        if c.kind == "development_gate" and c.force == "binding" and c.outcome is not None
    ]
    assert binding_dev_gates == []
    assert not any("train" in c.applies_to and c.force == "binding" for c in v30.doc.commitments)


def test_30_asl3_upkeep_is_keep_or_report_not_a_gate(v30: LoadedFramework) -> None:
    """§3.2: practices stay in line with the mitigations a Risk Report described *or*
    noteworthy changes and deviations are tracked and reported; §1's company plan for the
    chem/bio rows is to maintain or improve ASL-3. Neither branch is a gate."""
    c = _commitment(v30, "maintain-asl3-protections")
    assert (c.kind, c.force, c.scope) == ("safeguards", "conditional", "unilateral")
    assert c.outcome is None
    assert c.trigger.when == "required_safeguards_unmet"
    assert set(c.trigger.thresholds) == {"non-novel-cb", "novel-cb"}
    cond = v30.conditions[c.id]
    assert isinstance(cond, Not) and cond.item == FactTest("mitigation_deviation_reported")
    assert "§3.2" in c.source.section
    assert not any(x.outcome == "not_permitted" for x in v30.doc.commitments), (
        "RSP 3.0 has no deployment gate"
    )


HIGHLY_CAPABLE_DELAYS = [
    ("delay-while-in-lead", "developer_leads"),
    ("delay-unless-matching-competitors", "all_competitors_strong_safeguards"),
]


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
@pytest.mark.parametrize(("cid", "fact"), HIGHLY_CAPABLE_DELAYS)
def test_appendix_a_delays_need_a_highly_capable_model(version: str, cid: str, fact: str) -> None:
    """Appendix A: 'we have developed or will imminently develop a *highly capable* model'
    and 'for our *highly capable* frontier models'; the footnote on 'highly capable' (3.0 fn 7,
    3.1-3.2 fn 8, 3.3 fn 11, 3.4 fn 13) points to §3.6. No reading is left open."""
    f = _load(version)
    c = _commitment(f, cid)
    assert (c.force, c.scope, c.kind) == (
        "conditional",
        "competitor_contingent",
        "development_gate",
    )
    assert c.outcome == "delay"
    assert set(c.applies_to) == ALL_ACTIONS
    assert c.trigger.when == "recommended_safeguards_unmet"
    cond = f.conditions[cid]
    assert isinstance(cond, AllOf)
    assert {x.fact for x in cond.items if isinstance(x, FactTest)} == {"highly_capable", fact}
    assert c.confidence == "primary" and c.uncertainty is None
    assert "Appendix A" in c.source.section and "§3.6" in c.source.section


def test_30_every_delay_is_conditional(v30: LoadedFramework) -> None:
    delays = [c for c in v30.doc.commitments if c.outcome == "delay"]
    assert len(delays) == 2
    assert all(c.force == "conditional" for c in delays)


def test_30_highly_capable_is_the_automated_rd_threshold(v30: LoadedFramework) -> None:
    """§3.6 (3.0): highly capable = could fully automate or dramatically accelerate large,
    top-tier research teams in key domains, measured for now in AI R&D only (two years of
    2018-2024 progress in one); §1 says the automated R&D threshold reflects that definition."""
    decl = v30.doc.framework.highly_capable
    assert decl is not None
    assert decl.thresholds == ["automated-rd"]
    assert "§3.6" in decl.source.section and "fn 7" in decl.source.section
    assert "two years" in (decl.note or "")


@pytest.mark.parametrize("version", LATER_3X)
def test_31_on_highly_capable_means_crossing_automated_rd(version: str) -> None:
    """§3.6 (3.1 onward): a model is highly capable if Anthropic concludes it crosses the
    automated AI R&D threshold of §1; the domain-general 3.0 wording is gone."""
    decl = _load(version).doc.framework.highly_capable
    assert decl is not None and decl.thresholds == ["automated-rd"]
    assert "§3.6" in decl.source.section
    assert "crosses" in (decl.note or "") and "is gone" in (decl.note or "")


def test_30_upleveling_does_not_delay(v30: LoadedFramework) -> None:
    """Appendix A, general upleveling: a significant effort to match a competitor's better
    mitigation, but no necessary delay."""
    c = _commitment(v30, "general-upleveling")
    assert c.kind == "competitor_response"
    assert (c.force, c.scope) == ("conditional", "competitor_contingent")
    assert c.outcome is None
    assert _fact_names(v30, c.id) == {"competitor_superior_mitigation"}


ROADMAP_PLANS = {
    "moonshot-security-rd",
    "eyes-on-everything",
    "systematic-alignment-assessments",
    "safeguards-red-teaming",
    "cb-threat-pathway-work",
}


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
def test_roadmap_plans_are_goals_not_safeguards(version: str) -> None:
    """§1: the middle column gives an overview of plans 'set forth more fully in our
    Frontier Safety Roadmap'; fn 3: an overview, not separate or additional plans; the
    Introduction: Roadmap goals are not hard commitments."""
    f = _load(version)
    uses = [(t.id, r) for t in f.doc.thresholds for r in t.required_safeguards]
    plans = [(tid, r) for tid, r in uses if r.standard in ROADMAP_PLANS]
    assert {r.standard for _, r in plans} == ROADMAP_PLANS
    assert all((r.force, r.scope) == ("goal", "unilateral") for _, r in plans)
    # what §3 and §3.6 commit to stays binding
    review = [r for _, r in uses if r.standard == "external-risk-report-review"]
    assert review and all(r.force == "binding" for r in review)


def test_30_rand_sl4_is_only_an_industry_recommendation(v30: LoadedFramework) -> None:
    sl4 = {
        s.id
        for s in v30.doc.safeguard_standards
        if any(r.scheme == "RAND-SL" and r.level == "SL4" for r in s.external_references)
    }
    assert sl4 == {"rand-sl4-industry"}
    ref = _standard(v30, "rand-sl4-industry").external_references[0]
    assert ref.relation == "recommended"
    uses = [r for t in v30.doc.thresholds for r in t.required_safeguards if r.standard in sl4]
    users = {
        t.id for t in v30.doc.thresholds if any(r.standard in sl4 for r in t.required_safeguards)
    }
    assert users == {"novel-cb", "automated-rd"}
    assert uses and all((r.force, r.scope) == ("recommendation", "industry_wide") for r in uses)


def test_30_recommendation_and_industry_scope_go_together(v30: LoadedFramework) -> None:
    for t in v30.doc.thresholds:
        for r in t.required_safeguards:
            assert (r.force == "recommendation") == (r.scope == "industry_wide"), (t.id, r.standard)
        assert any(r.force == "binding" for r in t.required_safeguards), t.id
        assert any(r.force == "recommendation" for r in t.required_safeguards), t.id


def test_30_chem_bio_rows_bind_asl3(v30: LoadedFramework) -> None:
    for tid in ("non-novel-cb", "novel-cb"):
        binding = {
            r.standard for r in _threshold(v30, tid).required_safeguards if r.force == "binding"
        }
        assert {"asl-3-deployment", "asl-3-security"} <= binding, tid
    notes = " ".join(r.note or "" for r in _threshold(v30, "novel-cb").required_safeguards)
    assert "expanded" in notes


def test_30_asl4_and_affirmative_case_are_gone(v30: LoadedFramework) -> None:
    ids = {s.id for s in v30.doc.safeguard_standards}
    assert not ids & {"asl-4-deployment", "asl-4-security", "ai-rd-4-affirmative-case"}


def test_30_domains(v30: LoadedFramework) -> None:
    status = {d.id: d.status for d in v30.doc.risk_domains}
    in_scope = {d for d, s in status.items() if s == "in_scope"}
    assert in_scope == {"chem-bio", "misalignment", "automated-rd"}
    assert "cbrn" not in status
    assert status.get("cyber", "excluded") == "excluded"
    for d in v30.doc.risk_domains:
        label = f"{d.id} {d.name}".lower()
        assert "nuclear" not in label and "radiological" not in label and "cbrn" not in label


def test_30_thresholds(v30: LoadedFramework) -> None:
    assert {t.id: t.domain for t in v30.doc.thresholds} == {
        "non-novel-cb": "chem-bio",
        "novel-cb": "chem-bio",
        "high-stakes-sabotage": "misalignment",
        "automated-rd": "automated-rd",
    }
    assert _threshold(v30, "high-stakes-sabotage").name == "High-stakes sabotage opportunities"
    assert _threshold(v30, "novel-cb").level > _threshold(v30, "non-novel-cb").level


def test_30_legacy_aliases_match_22_ids(v22: LoadedFramework, v30: LoadedFramework) -> None:
    owner = {a: t.id for t in v30.doc.thresholds for a in t.legacy_aliases}
    assert owner["cbrn-3"] == "non-novel-cb"
    assert owner["cbrn-4"] == "novel-cb"
    assert owner["ai-rd-5"] == "automated-rd"
    assert owner["CBRN-4"] == "novel-cb"
    assert owner["CB-2"] == "novel-cb"
    # §1 (3.0): the automated R&D threshold is measured as compressing two years of
    # 2018-2024 progress into one, 2.2's AI R&D-5; nothing replaces AI R&D-4 (automating an
    # entry-level researcher): earlier thresholds are only 'may be sensible to add'.
    assert "ai-rd-4" not in owner and "AI R&D-4" not in owner
    automated = _threshold(v30, "automated-rd")
    # declared as a merge whose result keeps only AI R&D-5's bar, so the diff reports AI R&D-4's
    # bar as gone (a weakening) rather than AI R&D-5 as removed (tests/test_diff_restructure.py)
    assert automated.merged_from == ["ai-rd-4", "ai-rd-5"]
    assert "no successor" in (automated.description or "")
    carried = {t.id for t in v22.doc.thresholds if t.id in owner}
    assert carried == {t.id for t in v22.doc.thresholds if t.kind == "threshold"} - {"ai-rd-4"}


def test_30_risk_report_cadence(v30: LoadedFramework) -> None:
    cadence = next(c for c in v30.doc.cadences if c.artifact == "risk_report")
    assert cadence.min_interval == Duration.parse("P3M")
    assert cadence.interval == Duration.parse("P6M")
    assert cadence.deadline == Duration.parse("P30D")
    assert cadence.force == "binding"
    assert _commitment(v30, "risk-reports").force == "binding"
    assert _commitment(v30, "risk-reports").kind == "reporting"


def test_30_external_review(v30: LoadedFramework) -> None:
    review = v30.doc.external_review
    assert review is not None
    assert review.share_within is not None and review.share_within.approx_days == 7
    assert review.commentary_within is not None and review.commentary_within.approx_days == 30
    assert "highly capable" in review.trigger
    assert len(review.reviewer_criteria) >= 2 and len(review.conflict_criteria) >= 2
    assert _commitment(v30, "external-review").kind == "external_review"


def test_30_roadmap_goals_are_not_binding(v30: LoadedFramework) -> None:
    roadmap = {c.id: c.force for c in v30.doc.commitments if c.kind == "roadmap"}
    assert roadmap == {"frontier-safety-roadmap": "binding", "roadmap-goals": "goal"}


def test_30_governance(v30: LoadedFramework) -> None:
    assert _commitment(v30, "marginal-risk-approval").force == "binding"
    quarterly = next(c for c in v30.doc.cadences if c.id == "noncompliance-board-updates")
    assert quarterly.interval == Duration.parse("P3M")
    review = next(c for c in v30.doc.cadences if c.id == "procedural-compliance-review")
    assert review.interval == Duration.parse("P1Y")


def test_30_drops_22_commitments(v30: LoadedFramework) -> None:
    ids = {c.id for c in v30.doc.commitments}
    assert not ids & {
        "pause-training-until-security",
        "us-government-notice",
        "readiness-procedures",
        "annual-safeguards-reapproval",
        "competitor-escape-clause",
    }


def test_ids_stay_stable_across_versions(v22: LoadedFramework, v30: LoadedFramework) -> None:
    persistent = {
        "noncompliance-reporting",
        "procedural-compliance-review",
        "policy-change-governance",
        "internal-transparency",
        "report-feedback",
        "employee-agreements",
    }
    for f in (v22, v30):
        assert persistent <= {c.id for c in f.doc.commitments}, f.ref
        assert {"rso", "ceo", "board", "ltbt"} == {r.id for r in f.doc.governance_roles}, f.ref


def test_ambiguity_policies_differ(v22: LoadedFramework, v30: LoadedFramework) -> None:
    assert v22.doc.framework.ambiguity_policy == "treat_as_crossed"
    assert v30.doc.framework.ambiguity_policy == "needs_review"


# --- later 3.x versions ----------------------------------------------------------------


@pytest.mark.parametrize("version", LATER_3X)
def test_later_3x_keep_the_30_structure(v30: LoadedFramework, version: str) -> None:
    f = _load(version)
    for section in ("commitments", "thresholds", "safeguard_standards", "risk_domains"):
        before = {e.id for e in getattr(v30.doc, section)}
        after = {e.id for e in getattr(f.doc, section)}
        assert before <= after, (section, sorted(before - after))
    assert not any(c.force == "binding" and c.outcome == "pause" for c in f.doc.commitments)
    for cid in ("delay-while-in-lead", "delay-unless-matching-competitors"):
        c = _commitment(f, cid)
        assert (c.force, c.scope) == ("conditional", "competitor_contingent")
    owner = {a: t.id for t in f.doc.thresholds for a in t.legacy_aliases}
    assert owner["cbrn-4"] == "novel-cb" and owner["ai-rd-5"] == "automated-rd"
    sl4 = [
        r
        for t in f.doc.thresholds
        for r in t.required_safeguards
        if r.standard == "rand-sl4-industry"
    ]
    assert sl4 and all((r.force, r.scope) == ("recommendation", "industry_wide") for r in sl4)
    assert f.doc.framework.ambiguity_policy == "needs_review"


def _changes(f: LoadedFramework, version: str) -> list[ChangeNote]:
    entry = next(c for c in f.doc.changelog if c.version == version)
    notes = [c for c in entry.changes if isinstance(c, ChangeNote)]
    assert len(notes) == len(entry.changes), "change log entries use the structured form"
    return notes


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
def test_changelog_notes_name_real_elements(version: str) -> None:
    f = _load(version)
    # besides elements, a note may name the document's sections (docs/diff.md)
    ids = {e.id for e in _elements(f.doc)} | {"framework", "external_review"}
    for entry in f.doc.changelog:
        for note in entry.changes:
            assert isinstance(note, ChangeNote), (entry.version, note)
            assert set(note.elements) <= ids, (entry.version, note.elements)


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
def test_primary_text_is_the_corpus_text(version: str) -> None:
    f = _load(version)
    text = f.doc.framework.primary_text
    assert text is not None
    stem = "ANT-RSP-v" + version.replace(".", "-")
    assert text.retrieved_from.startswith("https://github.com/caiitlinm/PRISM/blob/")
    assert text.retrieved_from.endswith(f"/study/corpus/anthropic/text/{stem}.norm.txt")
    assert text.sha256 == MANIFEST_PDF_SHA256[version]
    assert text.note is not None and "source PDF" in text.note and stem in text.note


def test_31_automated_rd_and_may_pause() -> None:
    """3.1 change log: (1) how the automated R&D threshold is operationalised, (2) internal
    feedback on Risk Reports, (3) pausing even where Appendix A is not triggered."""
    f = _load("3.1")
    automated = _threshold(f, "automated-rd")
    assert automated.confidence == "primary"
    assert "factor of 5" in (automated.description or "")
    assert "81x" in (automated.description or "")
    may_pause = _commitment(f, "may-pause-beyond-appendix-a")
    assert may_pause.force == "discretionary"
    assert may_pause.outcome == "pause"
    assert "may-pause-beyond-appendix-a" not in {c.id for c in _load("3.0").doc.commitments}
    notes = _changes(f, "3.1")
    assert [n.elements for n in notes] == [
        ["automated-rd"],
        ["report-feedback-use"],
        ["may-pause-beyond-appendix-a"],
    ]
    entry = next(c for c in f.doc.changelog if c.version == "3.1")
    assert any("highly capable" in change for change in entry.silent_changes)
    # §3.1 scope (3.1): internal models beyond those covered by a prior Risk Report
    assert "prior Risk Report" in (_commitment(f, "risk-reports").description or "")
    # §3.4 (2): "We will solicit comprehensive internal feedback" (3.0: "Separate internal
    # reviewers will provide comprehensive feedback"); "We may also use this feedback to improve
    # or refine the report itself" is the new, permissive use the change log announces.
    assert "solicits" in (_commitment(f, "report-feedback").description or "")
    assert "Separate" in (_commitment(_load("3.0"), "report-feedback").description or "")
    assert _commitment(f, "report-feedback-use").force == "discretionary"
    assert "report-feedback-use" not in {c.id for c in _load("3.0").doc.commitments}
    assert {s.id for s in f.doc.framework.sources} >= {"rsp-3.1"}
    assert "No copy" not in (f.doc.framework.summary or "")


def test_32_ltbt_powers() -> None:
    """3.2 §3.6: external review at the LTBT's request; §3.6.1: reviewers chosen after
    consulting the Board and with the LTBT's approval; §4(2): regular LTBT briefings."""
    f = _load("3.2")
    ltbt = next(r for r in f.doc.governance_roles if r.id == "ltbt")
    assert any(
        "approve the selection of external reviewers" in x.lower() for x in ltbt.responsibilities
    )
    assert not any("consulted on the choice" in x for x in ltbt.responsibilities)
    assert _commitment(f, "ltbt-briefings").force == "binding"
    assert f.doc.external_review is not None
    assert "LTBT may also request" in f.doc.external_review.trigger
    assert any("approval of the LTBT" in c for c in f.doc.external_review.reviewer_criteria)
    assert _commitment(f, "noncompliance-reporting").source.section == "§4(4)"
    # the LTBT's request and its approval of reviewers live in the document's external_review
    # section (trigger, reviewer criteria) as well as in the commitment and the role
    assert [n.elements for n in _changes(f, "3.2")] == [
        ["external-review", "external_review", "ltbt"],
        ["external_review", "ltbt"],
        ["ltbt-briefings", "ltbt"],
    ]


def test_33_rename_and_revised_novel_cb() -> None:
    """3.3 change log: (1) novel chem/bio threshold revised, (2) off-cycle updates refined,
    (3) minor terminology changes."""
    f = _load("3.3")
    sabotage = _threshold(f, "high-stakes-sabotage")
    assert sabotage.name == "Misaligned AI systems in high-stakes settings"
    assert "High-stakes sabotage opportunities" in sabotage.legacy_aliases
    novel = _threshold(f, "novel-cb")
    assert "specialists" in (novel.description or "")
    assert novel.description != _threshold(_load("3.2"), "novel-cb").description
    assert _threshold(f, "automated-rd").confidence == "primary"
    off_cycle = _commitment(f, "risk-report-off-cycle").description or ""
    assert "system card" in off_cycle and "30" in off_cycle
    assert "high-stakes" in (_commitment(f, "risk-reports").description or "")
    assert [n.elements for n in _changes(f, "3.3")] == [
        ["novel-cb"],
        ["risk-report-off-cycle", "risk-report"],
        ["high-stakes-sabotage"],
    ]


def test_34_narrows_internal_transparency() -> None:
    """3.4 change log: five changes (automated R&D, 200 employees, coverage date, disclosed
    redactions, split external review)."""
    f = _load("3.4")
    assert "200" in (_commitment(f, "internal-transparency").description or "")
    assert "coverage date" in (_commitment(f, "risk-reports").description or "")
    assert "split" in (_commitment(f, "external-review-access").description or "")
    assert "three model generations" in (_threshold(f, "automated-rd").description or "")
    assert "constant or slowing" in (_threshold(f, "automated-rd").description or "")
    assert _commitment(f, "redaction-disclosure").force == "binding"
    assert {s.id for s in f.doc.framework.sources} >= {"rsp-3.4", "rsp-3.4-pdf"}
    assert [n.elements for n in _changes(f, "3.4")] == [
        ["automated-rd"],
        ["internal-transparency", "risk-report-redactions"],
        ["risk-reports", "risk-report"],
        ["redaction-disclosure"],
        ["external-review-access"],
    ]


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
def test_external_review_access_timing_and_publication(version: str) -> None:
    """§3.6.2: for the review, only redactions needed for legal prohibitions or legal rights
    (the legal-rights footnote: not merely because information is sensitive); Anthropic will
    try to finish the review before the Board/LTBT review (may require it later). §3.6.3: what
    the review covers; reviewers bound only by confidentiality, otherwise free to publish."""
    f = _load(version)
    access = _commitment(f, "external-review-access")
    assert access.force == "binding" and "legal" in (access.description or "")
    assert "fn" in access.source.section
    timing = _commitment(f, "external-review-before-board")
    assert timing.force == "goal"
    publication = _commitment(f, "external-review-publication")
    assert publication.force == "binding"
    text = publication.description or ""
    assert "not restricted" in text and "materia" in text and "disagreement" in text


@pytest.mark.parametrize("version", ["3.0", *LATER_3X])
def test_redaction_grounds_are_an_open_list(version: str) -> None:
    """§3.5: 'aim to minimize' redactions; the reasons 'include but are not limited to'
    legal compliance, intellectual property, public safety and privacy."""
    c = _commitment(_load(version), "risk-report-redactions")
    assert c.force == "goal"
    text = c.description or ""
    assert "without being limited to" in text and "open list" in text
    for ground in ("legal compliance", "intellectual property", "public safety", "privacy"):
        assert ground in text
