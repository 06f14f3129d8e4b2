"""Pin the facts of the built-in RSP 1.0, 2.0 and 2.1 documents, and the diffs between them.

Each assertion names the part of the policy it rests on, so a silent edit to
one of these YAML files that moves a commitment must fail here. The diffs
1.0 → 2.0 → 2.1 → 2.2 are checked for the changes every reader of the policy
knows: the three-to-six-month cadence, the dropped 6x buffer, autonomous
replication demoted to a checkpoint, cyber moved to ongoing assessment, the
AI R&D threshold added and then split, CBRN-4 added, and the promise to define
the next level in advance replaced by a re-evaluation at each upgrade.
"""

from __future__ import annotations

import itertools

import pytest

from scaleguard.diff import Change, FrameworkDiff, diff_frameworks
from scaleguard.framework.durations import Duration
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import (
    ChangeNote,
    Commitment,
    Element,
    FrameworkDocument,
    RiskDomain,
    SafeguardStandard,
    Threshold,
)

#: SHA-256 per text, from the public corpus manifest (study/corpus/manifest.jsonl).
MANIFEST_SHA256 = {
    "1.0": "14785337769bee567dd488d346f9cf6e36fed7792da9656a0a8b55b2f6d21c43",
    "2.0": "cc522e2770c6fec6c2808ce5abd8b757a8d7fe2078d029879295df8443185f7f",
    "2.1": "f0ac67ca61b1726cbcd159e6d2f595ce4f26de2ee29c594ba488f53f780d4ee7",
}
TEXT_FILES = {
    "1.0": "ANT-RSP-v1-0.norm.txt",
    "2.0": "ANT-RSP-v2-0.norm.txt",
    "2.1": "ANT-RSP-v2-1.norm.txt",
}
NEW_VERSIONS = ["1.0", "2.0", "2.1"]


def _load(version: str) -> LoadedFramework:
    return Library().get(f"anthropic-rsp@{version}")


@pytest.fixture(scope="module")
def v10() -> LoadedFramework:
    return _load("1.0")


@pytest.fixture(scope="module")
def v20() -> LoadedFramework:
    return _load("2.0")


@pytest.fixture(scope="module")
def v21() -> LoadedFramework:
    return _load("2.1")


def _elements(doc: FrameworkDocument) -> list[Element]:
    return [
        *doc.risk_domains,
        *doc.safeguard_standards,
        *doc.thresholds,
        *doc.commitments,
        *doc.cadences,
        *doc.governance_roles,
        *doc.red_lines,
    ]


def _ids(doc: FrameworkDocument) -> set[str]:
    return {e.id for e in _elements(doc)}


def _threshold(f: LoadedFramework, tid: str) -> Threshold:
    found = [t for t in f.doc.thresholds if t.id == tid]
    assert found, f"{f.ref} has no threshold {tid!r}"
    return found[0]


def _commitment(f: LoadedFramework, cid: str) -> Commitment:
    found = [c for c in f.doc.commitments if c.id == cid]
    assert found, f"{f.ref} has no commitment {cid!r}"
    return found[0]


def _standard(f: LoadedFramework, sid: str) -> SafeguardStandard:
    found = [s for s in f.doc.safeguard_standards if s.id == sid]
    assert found, f"{f.ref} has no safeguard standard {sid!r}"
    return found[0]


def _domain(f: LoadedFramework, did: str) -> RiskDomain:
    found = [d for d in f.doc.risk_domains if d.id == did]
    assert found, f"{f.ref} has no risk domain {did!r}"
    return found[0]


def _required(t: Threshold) -> dict[str, str]:
    return {r.standard: r.force for r in t.required_safeguards}


# --- provenance ------------------------------------------------------------------------


@pytest.mark.parametrize("version", NEW_VERSIONS)
def test_primary_text_is_the_manifest_copy(version: str) -> None:
    meta = _load(version).doc.framework
    assert meta.primary_text is not None
    assert meta.primary_text.sha256 == MANIFEST_SHA256[version]
    assert meta.primary_text.retrieved_from == (
        "https://github.com/caiitlinm/PRISM/blob/main/study/corpus/anthropic/text/"
        + TEXT_FILES[version]
    )


@pytest.mark.parametrize("version", NEW_VERSIONS)
def test_every_element_cites_the_policy_text(version: str) -> None:
    f = _load(version)
    own = f"rsp-{version}"
    for element in _elements(f.doc):
        assert element.source.section.strip(), element.id
        assert f.source_url(element.source).startswith("https://"), element.id
        assert element.source.doc == own, element.id
        assert element.confidence == "primary", element.id


def test_lineage_and_dates(
    v10: LoadedFramework, v20: LoadedFramework, v21: LoadedFramework
) -> None:
    assert (v10.doc.framework.version, str(v10.doc.framework.effective_date)) == (
        "1.0",
        "2023-09-19",
    )
    assert v10.doc.framework.supersedes is None
    assert (v20.doc.framework.supersedes, str(v20.doc.framework.effective_date)) == (
        "1.0",
        "2024-10-15",
    )
    assert (v21.doc.framework.supersedes, str(v21.doc.framework.effective_date)) == (
        "2.0",
        "2025-03-31",
    )
    assert _load("2.2").doc.framework.supersedes == "2.1"


@pytest.mark.parametrize("version", NEW_VERSIONS)
def test_changelog_notes_name_real_elements(version: str) -> None:
    """Every id a changelog note names exists in this version or the one it supersedes."""
    f = _load(version)
    known = _ids(f.doc)
    if f.doc.framework.supersedes:
        known |= _ids(_load(f.doc.framework.supersedes).doc)
    own = [e for e in f.doc.changelog if e.version == version]
    assert len(own) == 1
    for note in own[0].changes:
        if isinstance(note, ChangeNote):
            assert note.elements, note.summary
            assert set(note.elements) <= known, set(note.elements) - known


# --- RSP 1.0 ---------------------------------------------------------------------------


def test_10_asl3_is_a_misuse_capability_within_1_percent_of_training_cost(
    v10: LoadedFramework,
) -> None:
    # "ASL-3 Capabilities and Threat Models" (pp. 6-7): one misuse definition for CBRN and cyber.
    for tid, domain in (("cbrn-3", "cbrn"), ("cyber-3", "cyber")):
        t = _threshold(v10, tid)
        assert (t.domain, t.level, t.kind) == (domain, 3, "threshold")
        assert "1 percent" in (t.description or "")
        assert _required(t) == {"asl-3-security": "binding", "asl-3-deployment": "binding"}
        assert "ASL-3 Capabilities and Threat Models" in t.source.section
    assert _domain(v10, "cyber").status == "in_scope"


def test_10_autonomous_replication_is_half_of_the_tasks(v10: LoadedFramework) -> None:
    # Appendix "ASL-3 Evaluations for Autonomous Capabilities": 50% of tasks, 1 success in 10.
    ara = _threshold(v10, "ara")
    assert ara.domain == "autonomous-replication" and ara.kind == "threshold"
    [ind] = ara.indicators
    assert (ind.comparator, ind.threshold) == (">=", 0.5)
    assert "1 of 10" in (ara.description or "") and "$1000" in (ara.description or "")
    assert "Appendix" in ara.source.section
    assert _required(ara) == {"asl-3-security": "binding", "asl-3-deployment": "binding"}


def test_10_asl3_containment_and_deployment_measures(v10: LoadedFramework) -> None:
    # "ASL-3 Containment Measures" (fn 7) and "ASL-3 Deployment Measures".
    security = _standard(v10, "asl-3-security")
    assert "non-state attackers" in (security.description or "")
    assert "ten non-state actors" in (security.description or "")
    assert "fn 7" in security.source.section
    deployment = _standard(v10, "asl-3-deployment")
    text = " ".join(deployment.measures)
    assert "many dozens of hours" in text and "30 days" in text
    # The ASL-2 security appendix still watched for distillation attacks.
    assert any("distillation" in m for m in _standard(v10, "asl-2-security").measures)


def test_10_define_asl4_evaluations_before_training_asl3_models(v10: LoadedFramework) -> None:
    # "Initial Commitments" item 3 and "ASL-3 Containment Measures".
    c = _commitment(v10, "define-next-level-in-advance")
    assert c.force == "binding"
    assert "Before first training an ASL-3 model" in (c.description or "")
    assert "ASL-4" in (c.description or "")
    assert "Initial Commitments (3)" in c.source.section


def test_10_evaluation_protocol_4x_3_months_and_6x_buffer(v10: LoadedFramework) -> None:
    # "Evaluation Protocol" (pp. 11-13).
    cadence = next(c for c in v10.doc.cadences if c.id == "capability-assessment")
    assert cadence.interval == Duration.parse("P3M")
    assert cadence.compute_multiple == 4
    # "We have aimed to set the size of our safety buffer to 6x (larger than our 4x evaluation
    # interval)": an aim, not a promise (p. 11)
    buffer = _commitment(v10, "evaluation-safety-buffer")
    assert buffer.force == "goal" and "6x" in (buffer.description or "")
    pause = _commitment(v10, "pause-training-until-security")
    assert (pause.kind, pause.outcome, pause.applies_to) == ("development_gate", "pause", ["train"])
    gate = _commitment(v10, "deploy-only-with-required-safeguards")
    assert gate.outcome == "not_permitted" and "train" not in gate.applies_to


def test_10_procedural_commitments(v10: LoadedFramework) -> None:
    # "Procedural Commitments" 1-8 (p. 10).
    emergency = _commitment(v10, "competitor-escape-clause")
    assert (emergency.force, emergency.outcome) == ("discretionary", "relax_safeguards")
    assert emergency.condition == {"fact": "reckless_actor_imminent_catastrophe"}
    for cid in ("plan-for-pause", "distribution-partner-safeguards", "noncompliance-reporting"):
        assert _commitment(v10, cid).force == "binding"
    report = next(c for c in v10.doc.cadences if c.id == "rso-implementation-report")
    assert report.interval == Duration.parse("P3M")


# --- RSP 2.0 ---------------------------------------------------------------------------


def test_20_capability_thresholds(v20: LoadedFramework) -> None:
    # §2 and Appendix C: CBRN, one AI R&D threshold, the 2-8 hour checkpoint.
    assert {t.id for t in v20.doc.thresholds} == {
        "cbrn-3",
        "ai-rd",
        "autonomy-checkpoint",
        "cyber-operations",
    }
    ai_rd = _threshold(v20, "ai-rd")
    assert "thousandfold" in (ai_rd.description or "") and "35-fold" in (ai_rd.description or "")
    assert "fn 23" in ai_rd.source.section
    # At minimum ASL-3 Security; more is only expected, to be set at the checkpoint (fn 1).
    assert _required(ai_rd) == {
        "asl-3-security": "binding",
        "asl-4-security": "recommendation",
        "ai-rd-4-affirmative-case": "recommendation",
    }
    checkpoint = _threshold(v20, "autonomy-checkpoint")
    assert checkpoint.kind == "checkpoint" and checkpoint.legacy_aliases == ["ara"]
    assert _required(checkpoint) == {"asl-3-security": "goal"}
    cyber = _threshold(v20, "cyber-operations")
    assert cyber.kind == "monitored" and cyber.legacy_aliases == ["cyber-3"]
    assert _domain(v20, "cyber").status == "monitored"
    assert _domain(v20, "persuasion").status == "excluded"  # fn 3


def test_20_cadence_is_4x_or_six_months_and_the_buffer_is_gone(v20: LoadedFramework) -> None:
    # §3.1-3.2; the changelog drops the 1% elicitation and 6x buffer specifics.
    cadence = next(c for c in v20.doc.cadences if c.id == "capability-assessment")
    assert cadence.interval == Duration.parse("P6M")
    assert cadence.compute_multiple == 4 and cadence.deadline is None
    # §3.2: the decision "should ideally" follow within about a month: an aim, its own cadence
    aim = next(c for c in v20.doc.cadences if c.id == "capability-decision-deadline")
    assert aim.force == "goal" and aim.deadline == Duration.parse("P1M")
    assert "evaluation-safety-buffer" not in _ids(v20.doc)
    [entry] = [e for e in v20.doc.changelog if e.version == "2.0"]
    notes = [n for n in entry.changes if isinstance(n, ChangeNote)]
    buffer_note = next(n for n in notes if "6x buffer" in n.summary)
    assert "1 percent" in buffer_note.summary
    assert "evaluation-safety-buffer" in buffer_note.elements
    assert not any("distillation" in m for m in _standard(v20, "asl-2-security").measures)


def test_20_training_pause_and_next_level(v20: LoadedFramework) -> None:
    # §6.2 with fn 14 (1x Effective Compute), §5 (ASL-4 thresholds before deploying).
    pause = _commitment(v20, "pause-training-until-security")
    assert pause.outcome == "pause" and "fn 14" in pause.source.section
    nxt = _commitment(v20, "define-next-level-in-advance")
    assert nxt.force == "binding" and "§5" in nxt.source.section
    assert "Before deploying" in (nxt.description or "")
    assert "reevaluate-thresholds-on-upgrade" not in _ids(v20.doc)
    assert "fn 18" in _commitment(v20, "competitor-escape-clause").source.section


# --- RSP 2.1 ---------------------------------------------------------------------------


def test_21_cbrn4_and_the_ai_rd_split(v21: LoadedFramework) -> None:
    # §2 table and Appendix C.
    cbrn4 = _threshold(v21, "cbrn-4")
    assert set(_required(cbrn4)) == {"asl-4-deployment", "asl-4-security"}
    ai4, ai5 = _threshold(v21, "ai-rd-4"), _threshold(v21, "ai-rd-5")
    assert ai4.split_from == "ai-rd" and ai5.split_from == "ai-rd"
    assert ai4.legacy_aliases == ["ai-rd"]
    assert _required(ai4) == {"asl-3-security": "binding", "ai-rd-4-affirmative-case": "binding"}
    assert "asl-4-security" in _required(ai5)
    assert "ai-rd" not in _ids(v21.doc)


def test_21_iterative_commitment_replaces_defining_the_next_level(v21: LoadedFramework) -> None:
    # Changelog "Iterative Commitment" and §5.
    assert _commitment(v21, "reevaluate-thresholds-on-upgrade").force == "binding"
    assert "define-next-level-in-advance" not in _ids(v21.doc)
    [entry] = [e for e in v21.doc.changelog if e.version == "2.1"]
    named = {i for n in entry.changes if isinstance(n, ChangeNote) for i in n.elements}
    assert {"define-next-level-in-advance", "reevaluate-thresholds-on-upgrade", "cbrn-4"} <= named


def test_21_asl3_security_still_covers_insiders(v21: LoadedFramework) -> None:
    # §4.2 fn 11: only highly sophisticated state-compromised insiders are out of scope.
    description = _standard(v21, "asl-3-security").description or ""
    assert "internal employees" in description
    assert "highly sophisticated" in description and "since version 2.2" not in description


# --- the diffs -------------------------------------------------------------------------


def _diff(a: str, b: str) -> FrameworkDiff:
    return diff_frameworks(_load(a), _load(b))


def _find(d: FrameworkDiff, family: str, ident: str, rule: str | None = None) -> list[Change]:
    return [
        c
        for c in d.changes
        if c.family == family and c.id == ident and (rule is None or c.rule == rule)
    ]


def test_diff_10_to_20() -> None:
    d = _diff("1.0", "2.0")
    [cadence] = _find(d, "cadences", "capability-assessment", "cadence.interval")
    assert cadence.classification == "weakening"
    [buffer] = _find(d, "commitments", "evaluation-safety-buffer")
    assert (buffer.change, buffer.classification) == ("removed", "weakening")
    ara = _find(d, "thresholds", "autonomy-checkpoint", "threshold.kind")
    assert [(c.old_id, c.classification) for c in ara] == [("ara", "weakening")]
    [cyber] = _find(d, "risk_domains", "cyber", "risk_domain.status")
    assert cyber.classification == "weakening"
    assert [c.classification for c in _find(d, "thresholds", "ai-rd")] == ["strengthening"]
    assert _find(d, "risk_domains", "autonomous-ai-rd")[0].classification == "strengthening"
    distill = _find(d, "safeguard_standards", "asl-2-security", "safeguard_standard.measures")
    assert any(c.classification == "weakening" and "distillation" in str(c.fields) for c in distill)
    assert d.most_important()[0].classification == "weakening"


def test_diff_20_to_21() -> None:
    d = _diff("2.0", "2.1")
    [dropped] = _find(d, "commitments", "define-next-level-in-advance")
    assert (dropped.change, dropped.classification) == ("removed", "weakening")
    [added] = _find(d, "commitments", "reevaluate-thresholds-on-upgrade")
    assert (added.change, added.classification) == ("added", "strengthening")
    [t] = _find(d, "thresholds", "cbrn-4")
    assert (t.change, t.classification) == ("added", "strengthening")
    # 2.1 splits 2.0's AI R&D threshold into AI R&D-4 and AI R&D-5 (split_from: ai-rd): both
    # parts pair with it; AI R&D-4 keeps its bar (same level), AI R&D-5 is compared with it
    split = [c for c in d.changes if c.family == "thresholds" and c.old_id == "ai-rd"]
    assert {c.new_id for c in split} == {"ai-rd-4", "ai-rd-5"}
    assert {c.change for c in split} == {"split"}
    assert not [c for c in split if c.rule == "threshold.lower_bar"]
    kept = _find(d, "thresholds", "ai-rd-4", "element.restructured")
    assert [c.old_id for c in kept] == ["ai-rd"] and "keeps the bar of AI R&D-4" in kept[0].reason
    # The affirmative case went from expected to required.
    forces = _find(d, "thresholds", "ai-rd-4", "required_safeguard.force")
    assert [c.classification for c in forces] == ["strengthening"]


def test_diff_21_to_22_narrows_asl3_insiders_and_nothing_else_moves() -> None:
    d = _diff("2.1", "2.2")
    described = _find(d, "safeguard_standards", "asl-3-security", "element.description")
    assert [c.classification for c in described] == ["unclear"]
    assert "sophisticated insiders" in str(described[0].fields)
    assert not [c for c in d.changes if c.change in ("added", "removed")]
    assert not d.coverage.thresholds_only_a and not d.coverage.thresholds_only_b


def test_the_whole_chain_diffs_in_order() -> None:
    chain = ["1.0", "2.0", "2.1", "2.2"]
    for a, b in itertools.pairwise(chain):
        d = _diff(a, b)
        assert not d.cross_framework
        assert (d.a.version, d.b.version) == (a, b)
        assert d.changes


def test_10_other_developers_models_never_lower_the_level(v10: LoadedFramework) -> None:
    # fn 5 (p. 5): no race to the bottom; version 2.0 drops it (its fn 18 allows the opposite).
    c = _commitment(v10, "baseline-excludes-other-models")
    assert c.force == "binding" and "race to the bottom" in (c.description or "")
    assert "fn 5" in c.source.section
    d = _diff("1.0", "2.0")
    [removed] = _find(d, "commitments", "baseline-excludes-other-models")
    assert (removed.change, removed.classification) == ("removed", "weakening")


def _announced(version: str) -> set[str]:
    [entry] = [e for e in _load(version).doc.changelog if e.version == version]
    return {i for n in entry.changes if isinstance(n, ChangeNote) for i in n.elements}


def test_what_each_changelog_announces_and_what_it_leaves_out() -> None:
    """The ids a version's own changelog names decide what a diff calls unannounced."""
    v20 = _announced("2.0")
    assert {"capability-assessment", "evaluation-safety-buffer", "autonomy-checkpoint"} <= v20
    assert {"ai-rd", "asl-2-security", "asl-3-security", "capability-safeguards-reports"} <= v20
    # Not in the 2.0 changelog: cyber leaving the thresholds, the reworded escape clause,
    # the dropped pause planning, partner contracts and the no-race-to-the-bottom footnote.
    silent = {
        "cyber",
        "cyber-3",
        "cyber-operations",
        "competitor-escape-clause",
        "plan-for-pause",
        "distribution-partner-safeguards",
        "baseline-excludes-other-models",
    }
    assert not v20 & silent
    v21 = _announced("2.1")
    assert {"cbrn-4", "ai-rd", "ai-rd-4", "ai-rd-5", "define-next-level-in-advance"} <= v21
    assert "asl-3-security" not in v21


def test_10_has_the_asl2_baseline_that_20_keeps(v10: LoadedFramework) -> None:
    """Initial Commitments (1), p. 3: "ASL-2: The security and safety measures we commit to take
    with current state-of-the-art models"; fn 8: each level is cumulative on the one below. The
    baseline is the same commitment in 2.0, so the 1.0 → 2.0 step does not report it as new;
    what changed in the ASL-2 measures shows on the asl-2 standards."""
    base = _commitment(v10, "asl-2-baseline")
    assert base.force == "binding" and "Initial Commitments (1)" in base.source.section
    d = _diff("1.0", "2.0")
    assert [c.rule for c in d.changes if c.id == "asl-2-baseline"] == ["element.metadata"]
    assert _find(d, "safeguard_standards", "asl-2-security", "safeguard_standard.measures")


def test_report_feedback_continues_from_22_to_30_and_internal_review_is_new() -> None:
    """2.2 §7.1(4) has internal teams give feedback on each Capability and Safeguards Report;
    3.0 §3.4 (2) has "Separate internal reviewers" give comprehensive feedback on each Risk
    Report: the same obligation on the new reports, so one element (report-feedback) across
    both. 3.0 §4 (5), "We will regularly conduct an internal review of our implementation of
    this policy", is a different duty, new as an item of its own (internal-review)."""
    d = _diff("2.2", "3.0")
    feedback = [c for c in d.changes if c.id == "report-feedback"]
    assert feedback and not any(c.change in ("added", "removed") for c in feedback)
    [review] = _find(d, "commitments", "internal-review", "commitment.presence")
    assert review.change == "added"
    # the roles' short descriptions no longer drift between encodings
    assert not [
        c for c in d.changes if c.family == "governance_roles" and c.rule == "element.description"
    ]
