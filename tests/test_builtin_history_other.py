"""The earlier versions of Google DeepMind's, OpenAI's and xAI's frameworks in the built-in library.

Each test pins a fact of the primary text (and the section it rests on) or a change between
versions that the text supports; the diff and decision tests run the real engines on the real
documents, so a careless edit of a YAML file, or a rule change that misreads these histories,
fails here.
"""

from __future__ import annotations

import pytest

from scaleguard.decisions.engine import decide
from scaleguard.decisions.model import Attestation, Decision, DecisionInput, Finding, RegistryModel
from scaleguard.determinations.assess import EvidencePoint, assess, worst
from scaleguard.diff.engine import diff_frameworks
from scaleguard.diff.model import Change, FrameworkDiff
from scaleguard.framework.conditions import Truth, evaluate
from scaleguard.framework.durations import Duration
from scaleguard.framework.library import Library, _version_key
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import ChangeNote, Commitment, Threshold

PRISM = "https://github.com/caiitlinm/PRISM/blob/main/study/corpus/"

#: ref -> (SHA-256 of the original PDF in the PRISM manifest, path of the text encoded from).
NEW_DOCUMENTS: dict[str, tuple[str, str]] = {
    "gdm-fsf@1.0": (
        "3c073cd5c7a0dd03a07d0cc826fd9d5c76801f57441ac37ef6b2163e9261543d",
        "deepmind/text/GDM-FSF-v1-0.norm.txt",
    ),
    "gdm-fsf@2.0": (
        "14a48e4ef052fba75b651ea23845c2e9557f5c638e2767656decc6410861aae3",
        "deepmind/text/GDM-FSF-v2-0.norm.txt",
    ),
    "openai-preparedness@1.0-beta": (
        "c84e3a59c7dab251e45434e0b0d3e8abadcea7293f995cf92d32269e7d290398",
        "openai/text/OAI-PF-2023.norm.txt",
    ),
    "xai-rmf@2025-02": (
        "89fafebb73757def5a9068105554e68799e3dcce55374a4179b7a62559b6bef9",
        "xai/text/XAI-RMF-2025-02.norm.txt",
    ),
    "xai-rmf@2025-08": (
        "39fab200a4b36f149c6e24ee00d3e31adc84ed59f95a734290ed80a69de73f74",
        "xai/text/XAI-RMF-2025-08.clean.txt",
    ),
    "xai-rmf@2025-12": (
        "aa01669c19fca50c85323595141d08f98076cf0c48ed8f4a114ad6420c1a1012",
        "xai/text/XAI-FAIF-2025.clean.txt",
    ),
    "xai-rmf@2026": (
        "2c3c6313bd2fb6eeffcafedb38013c34d92c53331ddedbfa331821c75055df53",
        "xai/text/XAI-FAIF-2026.norm.txt",
    ),
}

SUBJECT = RegistryModel("subject-1", "Fictional Lab", own=True)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library()


def _fw(library: Library, ref: str) -> LoadedFramework:
    return library.get(ref)


def _threshold(fw: LoadedFramework, tid: str) -> Threshold:
    return next(t for t in fw.doc.thresholds if t.id == tid)


def _commitment(fw: LoadedFramework, cid: str) -> Commitment:
    return next(c for c in fw.doc.commitments if c.id == cid)


def _diff(library: Library, old: str, new: str) -> FrameworkDiff:
    return diff_frameworks(library.get(old), library.get(new))


def _find(d: FrameworkDiff, ident: str, rule: str) -> list[Change]:
    return [c for c in d.changes if c.id == ident and c.rule == rule]


def _one(d: FrameworkDiff, ident: str, rule: str) -> Change:
    found = _find(d, ident, rule)
    assert len(found) == 1, (ident, rule, [c.reason for c in d.changes if c.id == ident])
    return found[0]


def _decide(
    fw: LoadedFramework,
    crossed: str,
    action: str,
    attested: tuple[str, ...] = (),
) -> Decision:
    """Decide ``action`` with ``crossed`` crossed and every other threshold below."""
    found = {t.id: Finding(t.id, "below", 0.1, 0.05, 0.15) for t in fw.doc.thresholds}
    found[crossed] = Finding(crossed, "crossed", 0.9, 0.85, 0.95)
    inp = DecisionInput(
        SUBJECT,
        action,  # type: ignore[arg-type]
        found,
        {s: Attestation(s, "rso", "https://lab.example/attestation") for s in attested},
        (),
    )
    return decide(fw, inp)


# --- every new document ---------------------------------------------------------------------


@pytest.mark.parametrize("ref", sorted(NEW_DOCUMENTS))
def test_document_loads_with_its_primary_text(library: Library, ref: str) -> None:
    fw = _fw(library, ref)
    sha, path = NEW_DOCUMENTS[ref]
    primary = fw.doc.framework.primary_text
    assert primary is not None
    assert primary.sha256 == sha
    assert primary.retrieved_from == PRISM + path
    # The encoded text is itself a cited source, so every citation can be checked against it.
    assert PRISM + path in {s.url for s in fw.doc.framework.sources}


@pytest.mark.parametrize("ref", sorted(NEW_DOCUMENTS))
def test_every_element_cites_a_primary_source_and_section(library: Library, ref: str) -> None:
    fw = _fw(library, ref)
    kinds = {s.id: s.kind for s in fw.doc.framework.sources}
    doc = fw.doc
    elements = [
        *doc.risk_domains,
        *doc.safeguard_standards,
        *doc.thresholds,
        *doc.commitments,
        *doc.cadences,
        *doc.governance_roles,
        *doc.red_lines,
    ]
    assert elements
    for e in elements:
        assert e.source.doc is not None, e.id
        assert kinds[e.source.doc] == "primary", e.id
        assert e.source.section.strip(), e.id


@pytest.mark.parametrize("ref", sorted(NEW_DOCUMENTS))
def test_changelog_notes_name_real_elements(library: Library, ref: str) -> None:
    """A note's ids must exist in this version or the one it supersedes, or the diff's
    announced/unannounced marking would be wrong."""
    fw = _fw(library, ref)
    meta = fw.doc.framework
    docs = [fw.doc]
    if meta.supersedes is not None:
        docs.append(library.get(f"{meta.id}@{meta.supersedes}").doc)
    known: set[str] = set()
    for d in docs:
        for group in (
            d.risk_domains,
            d.safeguard_standards,
            d.thresholds,
            d.commitments,
            d.cadences,
            d.governance_roles,
            d.red_lines,
        ):
            known.update(e.id for e in group)
    for entry in fw.doc.changelog:
        for note in entry.changes:
            if isinstance(note, ChangeNote):
                assert set(note.elements) <= known, (entry.version, note.summary)


@pytest.mark.parametrize("ref", sorted(NEW_DOCUMENTS))
def test_merge_and_split_sources_exist_in_the_superseded_version(
    library: Library, ref: str
) -> None:
    fw = _fw(library, ref)
    meta = fw.doc.framework
    doc = fw.doc
    elements = [
        *doc.risk_domains,
        *doc.safeguard_standards,
        *doc.thresholds,
        *doc.commitments,
        *doc.cadences,
    ]
    claimed = [
        (e.id, src) for e in elements for src in [*e.merged_from, *filter(None, [e.split_from])]
    ]
    if not claimed:
        return
    assert meta.supersedes is not None
    old = library.get(f"{meta.id}@{meta.supersedes}").doc
    old_ids = {
        e.id
        for group in (
            old.risk_domains,
            old.safeguard_standards,
            old.thresholds,
            old.commitments,
            old.cadences,
        )
        for e in group
    }
    for ident, src in claimed:
        assert src in old_ids, (ident, src)


def test_version_chains(library: Library) -> None:
    def chain(fid: str) -> list[tuple[str, str | None]]:
        return [
            (e.framework.doc.framework.version, e.framework.doc.framework.supersedes)
            for e in library.entries
            if e.framework.doc.framework.id == fid
        ]

    gdm = chain("gdm-fsf")
    assert [v for v, _ in gdm][:3] == ["1.0", "2.0", "3.0"]
    assert gdm[0] == ("1.0", None)
    assert gdm[1] == ("2.0", "1.0")
    assert gdm[2] == ("3.0", "2.0")
    assert chain("xai-rmf") == [
        ("2025-02", None),
        ("2025-08", "2025-02"),
        ("2025-12", "2025-08"),
        ("2026", "2025-12"),
    ]
    assert library.get("xai-rmf").ref == "xai-rmf@2026"


def test_openai_beta_sorts_before_version_2(library: Library) -> None:
    assert _version_key("1.0-beta") < _version_key("2.0")
    versions = [
        e.framework.doc.framework.version
        for e in library.entries
        if e.framework.doc.framework.id == "openai-preparedness"
    ]
    assert versions.index("1.0-beta") < versions.index("2.0")
    assert library.get("openai-preparedness").ref == "openai-preparedness@2.0"


# --- Google DeepMind FSF 1.0 ----------------------------------------------------------------


def test_fsf1_domains_and_ccls(library: Library) -> None:
    fsf1 = _fw(library, "gdm-fsf@1.0")
    assert {d.id for d in fsf1.doc.risk_domains} == {
        "autonomy",
        "cbrn",
        "cyber",
        "autonomous-ai-rd",
    }
    assert {d.id: d.name for d in fsf1.doc.risk_domains}["cbrn"] == "Biosecurity"
    by_domain: dict[str, set[str]] = {}
    for t in fsf1.doc.thresholds:
        by_domain.setdefault(t.domain, set()).add(t.id)
    assert by_domain == {
        "autonomy": {"autonomy-1"},
        "cbrn": {"bio-amateur-enablement-1", "bio-expert-enablement-1"},
        "cyber": {"cyber-autonomy-1", "cyber-enablement-1"},
        "autonomous-ai-rd": {"ml-rd-1", "ml-rd-2"},
    }
    ml_rd_1 = _threshold(fsf1, "ml-rd-1").description or ""
    assert "tripling" in ml_rd_1  # the text's "3X", paraphrased


def test_fsf1_evaluation_cadence_is_a_goal_of_6x_compute_and_3_months(library: Library) -> None:
    fsf1 = _fw(library, "gdm-fsf@1.0")
    (cadence,) = fsf1.doc.cadences
    assert cadence.force == "goal"  # "We are aiming to evaluate..."
    assert cadence.compute_multiple == 6
    assert cadence.interval == Duration.parse("P3M")
    assert "Framework §2" in cadence.source.section


def test_fsf1_maps_no_ccl_to_a_mitigation_level(library: Library) -> None:
    """Mapping CCLs to security and deployment levels is future work in v1.0."""
    fsf1 = _fw(library, "gdm-fsf@1.0")
    assert all(not t.required_safeguards for t in fsf1.doc.thresholds)
    plan = _commitment(fsf1, "mitigation-mapping-plan")
    assert plan.force == "goal"
    assert "Future work" in plan.source.section
    security = {s.level: s for s in fsf1.doc.safeguard_standards if s.kind == "security"}
    rand = {lvl: [r.level for r in s.external_references] for lvl, s in security.items()}
    assert rand == {0: [], 1: ["L3"], 2: ["L3-L4"], 3: ["L4"], 4: ["L5"]}
    deployment = {s.level: s for s in fsf1.doc.safeguard_standards if s.kind == "deployment"}
    assert set(deployment) == {0, 1, 2, 3}
    assert deployment[3].specified is False  # "an open research problem"


def test_fsf1_hold_is_stated_as_what_gdm_would_do(library: Library) -> None:
    hold = _commitment(_fw(library, "gdm-fsf@1.0"), "hold-until-mitigations-ready")
    assert (hold.force, hold.outcome, hold.kind) == ("binding", "pause", "development_gate")
    assert "train" in hold.applies_to
    assert hold.confidence == "uncertain" and hold.uncertainty
    assert hold.source.section.startswith("Framework §3")


# --- Google DeepMind FSF 2.0 ----------------------------------------------------------------


def test_fsf2_recommended_security_levels_follow_table_1(library: Library) -> None:
    fsf2 = _fw(library, "gdm-fsf@2.0")
    expected = {
        "cbrn-uplift-1": "security-level-2",
        "cyber-autonomy-1": "security-level-2",
        "cyber-uplift-1": "security-level-2",
        "ml-rd-acceleration-1": "security-level-3",
        "ml-rd-automation-1": "security-level-4",
    }
    for tid, standard in expected.items():
        t = _threshold(fsf2, tid)
        security = [r for r in t.required_safeguards if r.standard.startswith("security-level")]
        assert [(r.standard, r.force, r.scope) for r in security] == [
            (standard, "recommendation", "industry_wide")
        ], tid
        deployment = [
            r for r in t.required_safeguards if r.standard == "misuse-deployment-mitigations"
        ]
        assert [r.force for r in deployment] == ["binding"], tid
        assert "Table 1" in t.source.section
    rand = {
        s.id: [r.level for r in s.external_references]
        for s in fsf2.doc.safeguard_standards
        if s.kind == "security"
    }
    assert rand == {
        "security-level-2": ["SL2"],
        "security-level-3": ["SL3"],
        "security-level-4": ["SL4"],
    }


def test_fsf2_deceptive_alignment_section(library: Library) -> None:
    fsf2 = _fw(library, "gdm-fsf@2.0")
    domain = next(d for d in fsf2.doc.risk_domains if d.id == "misalignment")
    assert domain.status == "in_scope"
    assert "Deceptive alignment" in domain.name
    ir = {t.id: t for t in fsf2.doc.thresholds if t.domain == "misalignment"}
    assert set(ir) == {"instrumental-reasoning-1", "instrumental-reasoning-2"}
    (monitor,) = ir["instrumental-reasoning-1"].required_safeguards
    assert (monitor.standard, monitor.force) == ("reasoning-monitoring", "discretionary")
    assert not ir["instrumental-reasoning-2"].required_safeguards  # future work
    assert "Table 2" in ir["instrumental-reasoning-2"].source.section


def test_fsf2_general_availability_gate_and_field_contingency(library: Library) -> None:
    fsf2 = _fw(library, "gdm-fsf@2.0")
    gate = _commitment(fsf2, "misuse-deployment-review")
    assert (gate.force, gate.outcome, gate.applies_to) == (
        "binding",
        "not_permitted",
        ["deploy_external"],
    )
    assert "ml-rd-automation-1" in gate.trigger.thresholds  # ML R&D is a misuse domain in 2.0
    clause = _commitment(fsf2, "field-adoption-contingency")
    assert (clause.force, clause.scope, clause.outcome) == (
        "discretionary",
        "competitor_contingent",
        "relax_safeguards",
    )
    cond = fsf2.conditions[clause.id]
    assert evaluate(cond, {"field_adopts_similar_protocols": False}) is Truth.TRUE
    assert evaluate(cond, {"field_adopts_similar_protocols": True}) is Truth.FALSE
    assert clause.source.section == "Introduction (p. 1)"
    assert _commitment(fsf2, "hold-until-mitigations-ready").force == "discretionary"


def test_fsf2_announces_its_two_footnoted_changes(library: Library) -> None:
    fsf2 = _fw(library, "gdm-fsf@2.0")
    (entry,) = [e for e in fsf2.doc.changelog if e.version == "2.0"]
    notes = [n for n in entry.changes if isinstance(n, ChangeNote)]
    announced = {i for n in notes for i in n.elements}
    assert {"autonomy", "autonomy-1", "misuse-deployment-mitigations"} <= announced
    mitigations = next(
        s for s in fsf2.doc.safeguard_standards if s.id == "misuse-deployment-mitigations"
    )
    assert mitigations.merged_from == [
        "deployment-mitigation-level-2",
        "deployment-mitigation-level-3",
    ]


# --- GDM diffs ------------------------------------------------------------------------------


def test_diff_fsf_1_to_2(library: Library) -> None:
    d = _diff(library, "gdm-fsf@1.0", "gdm-fsf@2.0")
    # Autonomy domain removed (fn 9) and the expert bio CCL dropped: less coverage.
    assert _one(d, "autonomy", "risk_domain.presence").classification == "weakening"
    assert _one(d, "autonomy-1", "threshold.presence").change == "removed"
    assert _one(d, "bio-expert-enablement-1", "threshold.presence").classification == "weakening"
    # Deceptive alignment added, with its two CCLs.
    assert _one(d, "misalignment", "risk_domain.presence").classification == "strengthening"
    for tid in ("instrumental-reasoning-1", "instrumental-reasoning-2"):
        assert _one(d, tid, "threshold.presence").change == "added"
    # Renamed CCLs pair through legacy_aliases.
    renamed = {(c.old_id, c.new_id) for c in d.changes if c.change == "renamed"}
    assert renamed == {
        ("bio-amateur-enablement-1", "cbrn-uplift-1"),
        ("cyber-enablement-1", "cyber-uplift-1"),
        ("ml-rd-1", "ml-rd-acceleration-1"),
        ("ml-rd-2", "ml-rd-automation-1"),
    }
    # v1.0 assigned no mitigation level; v2.0 recommends RAND-aligned security (not binding)
    # and binds general-availability deployment to the safety-case process.
    sec = [
        c
        for c in _find(d, "ml-rd-automation-1", "required_safeguard.presence")
        if "security-level-4" in c.reason
    ]
    assert [c.classification for c in sec] == ["neutral"]
    gate = [
        c
        for c in _find(d, "cbrn-uplift-1", "required_safeguard.presence")
        if "misuse-deployment-mitigations" in c.reason
    ]
    assert [c.classification for c in gate] == ["strengthening"]
    # "would put on hold" became "may involve putting ... on hold".
    hold = _one(d, "hold-until-mitigations-ready", "commitment.force")
    assert hold.classification == "weakening"
    assert [(f.old, f.new) for f in hold.fields] == [("binding", "discretionary")]
    # The numeric cadence is gone; the field-wide adoption clause is new.
    assert _one(d, "evaluation-cadence", "cadence.presence").change == "removed"
    contingency = _one(d, "field-adoption-contingency", "commitment.presence")
    assert (contingency.change, contingency.classification) == ("added", "weakening")


def test_diff_fsf_2_to_3(library: Library) -> None:
    d = _diff(library, "gdm-fsf@2.0", "gdm-fsf@3.0")
    contingency = _one(d, "field-adoption-contingency", "commitment.presence")
    assert (contingency.change, contingency.classification) == ("removed", "strengthening")
    assert _one(d, "cyber-autonomy-1", "threshold.presence").change == "removed"
    assert _one(d, "harmful-manipulation", "risk_domain.presence").change == "added"
    assert _one(d, "harmful-manipulation-1", "threshold.presence").change == "added"
    status = _one(d, "misalignment", "risk_domain.status")
    assert [(f.old, f.new) for f in status.fields] == [("in_scope", "monitored")]
    ml_rd = _one(d, "ml-rd-deployment-review", "commitment.presence")
    assert (ml_rd.change, ml_rd.classification) == ("added", "strengthening")
    hold = _one(d, "hold-until-mitigations-ready", "commitment.presence")
    assert hold.change == "removed"
    # Same recommended security levels for the CCLs the two versions share.
    for tid in ("cbrn-uplift-1", "cyber-uplift-1", "ml-rd-acceleration-1", "ml-rd-automation-1"):
        moved = [
            c
            for c in d.changes
            if c.id == tid
            and c.rule in ("required_safeguard.presence", "required_safeguard.force")
            and "security-level" in c.reason
        ]
        assert not moved, tid


def test_fsf_decisions_across_versions(library: Library) -> None:
    """The same crossed CCL: v1.0 holds development, v2.0 leaves the hold to judgement."""
    fsf1 = _fw(library, "gdm-fsf@1.0")
    fsf2 = _fw(library, "gdm-fsf@2.0")
    assert _decide(fsf1, "ml-rd-1", "train").outcome == "pause"
    d2 = _decide(fsf2, "ml-rd-acceleration-1", "train")
    assert d2.outcome not in ("pause", "not_permitted", "delay")
    ext = _decide(fsf2, "ml-rd-acceleration-1", "deploy_external")
    assert ext.outcome == "not_permitted"
    assert "misuse-deployment-review" in ext.deciding_rules
    ok = _decide(
        fsf2, "ml-rd-acceleration-1", "deploy_external", ("misuse-deployment-mitigations",)
    )
    assert ok.outcome not in ("pause", "not_permitted", "delay")


# --- OpenAI Preparedness Framework (Beta) ---------------------------------------------------


def test_beta_four_tracked_categories_with_medium_high_critical(library: Library) -> None:
    beta = _fw(library, "openai-preparedness@1.0-beta")
    domains = {d.id: d for d in beta.doc.risk_domains}
    assert set(domains) == {"cyber", "cbrn", "persuasion", "model-autonomy"}
    assert all(d.status == "in_scope" for d in domains.values())
    for did, domain in domains.items():
        ladder = {t.level_label: (t.level, t.kind) for t in beta.doc.thresholds if t.domain == did}
        assert ladder == {
            "Medium": (0, "monitored"),
            "High": (1, "threshold"),
            "Critical": (2, "threshold"),
        }, did
        assert "At Low" in (domain.description or ""), did  # Low: the bottom of the scale


def test_beta_safety_baselines(library: Library) -> None:
    beta = _fw(library, "openai-preparedness@1.0-beta")
    deploy = _commitment(beta, "no-deploy-high-without-safeguards")
    assert (deploy.force, deploy.outcome) == ("binding", "not_permitted")
    assert deploy.trigger.safeguard_kinds == ["deployment"]
    assert "Restricting deployment (p. 21)" in deploy.source.section
    develop = _commitment(beta, "critical-halt-development")
    assert (develop.force, develop.outcome, develop.applies_to) == ("binding", "pause", ["train"])
    assert set(develop.trigger.thresholds) == {
        t.id for t in beta.doc.thresholds if t.level_label == "Critical"
    }
    for t in beta.doc.thresholds:
        required = {r.standard for r in t.required_safeguards}
        if t.level_label == "High":
            assert required == {"asset-protection", "post-mitigation-medium"}, t.id
        if t.level_label == "Critical":
            assert {"post-mitigation-high", "critical-alignment-evidence"} <= required, t.id
    assert _commitment(beta, "post-mitigation-target").force == "goal"  # "aiming to keep"


def test_beta_cadences_and_accountability(library: Library) -> None:
    beta = _fw(library, "openai-preparedness@1.0-beta")
    cadences = {c.id: c for c in beta.doc.cadences}
    assert cadences["continual-evaluation"].compute_multiple == 2  # ">2x effective compute"
    assert cadences["preparedness-report"].interval == Duration.parse("P1M")
    drills = cadences["safety-drills"]
    assert (drills.force, drills.interval) == ("recommendation", Duration.parse("P1Y"))
    audits = _commitment(beta, "third-party-audits")
    assert (audits.force, audits.kind) == ("binding", "external_review")
    assert "Audits (p. 25)" in audits.source.section
    assert _commitment(beta, "board-oversight").force == "discretionary"


def test_diff_openai_beta_to_2(library: Library) -> None:
    d = _diff(library, "openai-preparedness@1.0-beta", "openai-preparedness@2.0")
    persuasion = _one(d, "persuasion", "risk_domain.status")
    assert persuasion.classification == "weakening"
    assert [(f.old, f.new) for f in persuasion.fields] == [("in_scope", "excluded")]
    for tid in ("persuasion-high", "persuasion-critical"):
        assert _one(d, tid, "threshold.presence").change == "removed"
    # Only High and Critical remain: every Medium level is gone.
    medium = {
        c.id for c in d.changes if c.rule == "threshold.presence" and c.id.endswith("-medium")
    }
    assert medium == {"cyber-medium", "cbrn-medium", "persuasion-medium", "model-autonomy-medium"}
    assert all(
        c.change == "removed"
        for c in d.changes
        if c.id in medium and c.rule == "threshold.presence"
    )
    # v2 §2.3 box "Changes to Tracked Categories in version 2": AI Self-improvement, Long-range
    # Autonomy and Autonomous Replication and Adaptation "are distinct aspects of what we formerly
    # termed Model Autonomy"; "Nuclear and Radiological capabilities are now a Research
    # Category", while Table 1 tracks "Biological and Chemical". Both are splits, not a removal
    # and unrelated additions.
    splits = {
        (c.old_id, c.new_id)
        for c in d.changes
        if c.family == "risk_domains" and c.change == "split"
    }
    assert splits >= {
        ("cbrn", "chem-bio"),
        ("cbrn", "nuclear-radiological"),
        ("model-autonomy", "autonomous-ai-rd"),
        ("model-autonomy", "model-autonomy"),
    }
    for ident in ("cbrn", "chem-bio", "autonomous-ai-rd", "nuclear-radiological"):
        assert not _find(d, ident, "risk_domain.presence"), ident
    autonomy = _one(d, "model-autonomy", "risk_domain.status")
    assert [(f.old, f.new) for f in autonomy.fields] == [("in_scope", "monitored")]
    nuclear = _one(d, "nuclear-radiological", "risk_domain.status")
    assert nuclear.old_id == "cbrn" and nuclear.classification == "weakening"
    assert [(f.old, f.new) for f in nuclear.fields] == [("in_scope", "monitored")]
    # Table 1's Biological and Chemical High and Critical continue the Beta's CBRN High and
    # Critical at the same levels (same novice and expert bars, narrowed to bio and chem)
    for old, new in (("cbrn-high", "bio-chem-high"), ("cbrn-critical", "bio-chem-critical")):
        [renamed] = _find(d, new, "threshold.renamed")
        assert renamed.old_id == old
        assert not [c for c in d.changes if c.id == old and c.change == "removed"]
    # App. A item 2 (only High and Critical kept) announces the Medium thresholds it dropped
    assert not any(c.unannounced for c in d.changes if c.id in medium)
    audits = _one(d, "third-party-audits", "commitment.presence")
    assert (audits.change, audits.classification) == ("removed", "weakening")
    assert _one(d, "safety-drills", "cadence.presence").change == "removed"
    # High and Critical keep their ordinal levels, so the ladders compare directly.
    assert not _find(d, "cyber-high", "threshold.level")
    assert not _find(d, "cyber-critical", "threshold.level")


def test_openai_persuasion_high_blocks_deployment_only_under_the_beta(library: Library) -> None:
    beta = _fw(library, "openai-preparedness@1.0-beta")
    blocked = _decide(beta, "persuasion-high", "deploy_external")
    assert blocked.outcome == "not_permitted"
    assert "no-deploy-high-without-safeguards" in blocked.deciding_rules
    mitigated = _decide(beta, "persuasion-high", "deploy_external", ("post-mitigation-medium",))
    assert mitigated.outcome not in ("pause", "not_permitted", "delay")
    critical = _decide(beta, "cbrn-critical", "train", ("post-mitigation-medium",))
    assert critical.outcome == "pause"
    assert "critical-halt-development" in critical.deciding_rules


# --- xAI ------------------------------------------------------------------------------------


def _indicators(fw: LoadedFramework, tid: str) -> dict[str, tuple[str, float]]:
    return {i.id: (i.comparator, i.threshold) for i in _threshold(fw, tid).indicators}


def test_xai_draft_example_thresholds(library: Library) -> None:
    draft = _fw(library, "xai-rmf@2025-02")
    assert _indicators(draft, "cbrn-misuse") == {
        "vct": (">=", 0.15),
        "wmdp-bio": (">=", 0.65),
        "lab-bench-protocolqa": (">=", 0.50),
        "biolp-bench": (">=", 0.20),
    }
    assert _indicators(draft, "cyber-misuse") == {
        "cybench": (">=", 0.30),
        "wmdp-cyber": (">=", 0.50),
    }
    assert _indicators(draft, "loss-of-control") == {
        "mask-dishonesty": (">=", 0.5),
        "utility-power-coercive": (">=", 0.0),
        "utility-power-noncoercive": (">=", 0.5),
        "utility-fitness": (">=", 0.5),
        "corrigibility": ("<=", 0.2),
    }
    for t in draft.doc.thresholds:
        assert t.confidence == "uncertain" and t.uncertainty, t.id  # "X% (e.g. 15%)"
        assert "Table" in t.source.section
    assert _commitment(draft, "deployment-acceptance-criteria").force == "goal"  # "we intend"
    red = next(r for r in draft.doc.red_lines if r.id == "catastrophic-malicious-use")
    assert red.waivable is True
    assert "100 deaths" in (red.applies_to or "")


def test_xai_2025_08_numeric_deployment_criteria(library: Library) -> None:
    rmf = _fw(library, "xai-rmf@2025-08")
    assert _indicators(rmf, "cbrn-misuse") == {"restricted-bio-chem-answer-rate": (">=", 0.05)}
    assert _indicators(rmf, "loss-of-control") == {"mask-dishonesty": (">=", 0.5)}
    for tid in ("cbrn-misuse", "loss-of-control"):
        assert "Thresholds" in _threshold(rmf, tid).source.section
        assert _threshold(rmf, tid).confidence == "primary"
    for cid in ("deployment-acceptance-criteria", "loss-of-control-acceptance"):
        gate = _commitment(rmf, cid)
        assert (gate.force, gate.outcome) == ("binding", "not_permitted"), cid
    domains = {d.id: d for d in rmf.doc.risk_domains}
    assert domains["chem-bio"].split_from == "cbrn"
    assert domains["nuclear-radiological"].split_from == "cbrn"
    assert domains["nuclear-radiological"].status == "monitored"
    assert domains["cyber"].status == "monitored"  # relies on the basic refusal policy


def test_xai_indicators_classify_evidence(library: Library) -> None:
    """Answer rate of 1 in 20 or more crosses the 2025-08 criterion; the draft's corrigibility
    example is crossed from above; 2026 publishes nothing for evidence to cross."""
    rmf = _fw(library, "xai-rmf@2025-08")

    def state(fw: LoadedFramework, tid: str, task: str, metric: str, value: float) -> str | None:
        # a large sample, so the interval is narrow (a bare number is never "below")
        found = assess(fw, [EvidencePoint(1, task, metric, value, sample_count=20_000)])
        w = worst(found[tid])
        return None if w is None else w.state

    assert (
        state(rmf, "cbrn-misuse", "restricted_bio_chem_queries", "answer_rate", 0.06) == "crossed"
    )
    assert state(rmf, "cbrn-misuse", "restricted_bio_chem_queries", "answer_rate", 0.04) == "below"
    assert state(rmf, "loss-of-control", "mask", "dishonesty_rate", 0.49) == "below"
    draft = _fw(library, "xai-rmf@2025-02")
    assert (
        state(draft, "loss-of-control", "utility_functions", "corrigibility_score", 0.1)
        == "crossed"
    )
    assert (
        state(draft, "loss-of-control", "utility_functions", "corrigibility_score", 0.3) == "below"
    )
    faif = _fw(library, "xai-rmf@2026")
    assert all(not t.indicators for t in faif.doc.thresholds)
    assert state(faif, "cbrn-misuse", "restricted_bio_chem_queries", "answer_rate", 0.9) is None


def test_xai_2026_acceptance_determination(library: Library) -> None:
    faif = _fw(library, "xai-rmf@2026")
    domains = {d.id: d for d in faif.doc.risk_domains}
    assert set(domains) == {"cbrn", "cyber", "misalignment", "harmful-manipulation"}
    assert all(d.status == "in_scope" for d in domains.values())
    assert domains["cbrn"].merged_from == ["chem-bio", "nuclear-radiological"]
    gate = _commitment(faif, "deployment-acceptance-criteria")
    assert gate.force == "binding"
    assert set(gate.applies_to) == {"deploy_internal", "deploy_external", "release_weights"}
    assert set(gate.trigger.thresholds) == {t.id for t in faif.doc.thresholds}
    assert "§2.3" in gate.source.section
    dev = _commitment(faif, "development-acceptance")
    assert (dev.force, dev.outcome, dev.applies_to) == ("binding", "pause", ["train"])
    cadences = {c.id: c.interval for c in faif.doc.cadences}
    assert cadences["systemic-risk-assessment"] == Duration.parse("P1Y")
    assert cadences["security-goal-review"] == Duration.parse("P1Y")
    assert faif.doc.framework.legal_designation == []
    assert _fw(library, "xai-rmf@2025-12").doc.framework.legal_designation


def test_diff_xai_draft_to_august_2025(library: Library) -> None:
    d = _diff(library, "xai-rmf@2025-02", "xai-rmf@2025-08")
    # "we would take steps" -> "we may take steps".
    for cid, old in (
        ("imminent-threat-response", "binding"),
        ("notify-law-enforcement", "binding"),
        ("emergency-shutdown", "conditional"),
        ("revoke-account-access", "conditional"),
        ("post-mortem", "binding"),
    ):
        change = _one(d, cid, "commitment.force")
        assert change.classification == "weakening", cid
        assert [(f.old, f.new) for f in change.fields] == [(old, "discretionary")], cid
    # The draft's intentions became stated deployment criteria.
    gate = _one(d, "deployment-acceptance-criteria", "commitment.force")
    assert (gate.classification, gate.fields[0].old, gate.fields[0].new) == (
        "strengthening",
        "goal",
        "binding",
    )
    # Cyber lost its (example) thresholds; bio/chem swapped benchmarks for the answer rate.
    assert _one(d, "cyber-misuse", "threshold.presence").change == "removed"
    assert _one(d, "cyber", "risk_domain.status").classification == "weakening"
    indicator_changes = {
        (c.classification, c.reason.split()[1])
        for c in _find(d, "cbrn-misuse", "indicator.presence")
    }
    assert ("strengthening", "restricted-bio-chem-answer-rate") in indicator_changes
    assert ("weakening", "vct") in indicator_changes
    # Wider exception: enterprise customers under contract.
    assert _one(d, "trusted-user-exception", "commitment.condition").classification == "weakening"
    assert _one(d, "external-red-teaming", "commitment.presence").change == "removed"


def test_diff_xai_december_2025_to_2026(library: Library) -> None:
    d = _diff(library, "xai-rmf@2025-12", "xai-rmf@2026")
    for tid, ind in (
        ("cbrn-misuse", "restricted-bio-chem-answer-rate"),
        ("loss-of-control", "mask-dishonesty"),
    ):
        removed = [c for c in _find(d, tid, "indicator.presence") if ind in c.reason]
        assert [c.classification for c in removed] == ["weakening"], tid
    for cid in ("whistleblower-protection", "anonymous-noncompliance-reporting"):
        change = _one(d, cid, "commitment.presence")
        assert (change.change, change.classification) == ("removed", "weakening"), cid
    exception = _one(d, "trusted-user-exception", "commitment.presence")
    assert (exception.change, exception.classification) == ("removed", "strengthening")
    assert _one(d, "harmful-manipulation", "risk_domain.presence").change == "added"
    assert _one(d, "cyber", "risk_domain.status").classification == "strengthening"
    assert _one(d, "development-acceptance", "commitment.presence").change == "added"
    assert _one(d, "bio-chem-critical-steps", "red_line.presence").change == "removed"
    # CBRN benchmarks: "utilizes" became "may utilize"; loss of control went the other way.
    cbrn = _one(d, "benchmark-evaluation", "commitment.force")
    assert [(f.old, f.new) for f in cbrn.fields] == [("binding", "discretionary")]
    loc = _one(d, "loss-of-control-benchmarks", "commitment.force")
    assert [(f.old, f.new) for f in loc.fields] == [("discretionary", "binding")]
    assert (
        _one(d, "catastrophic-malicious-use", "red_line.waivable").classification == "strengthening"
    )


def test_xai_decisions_across_versions(library: Library) -> None:
    """A crossed bio/chem criterion blocks deployment from August 2025, not under the draft."""
    draft = _fw(library, "xai-rmf@2025-02")
    rmf = _fw(library, "xai-rmf@2025-08")
    faif = _fw(library, "xai-rmf@2026")
    assert _decide(draft, "cbrn-misuse", "deploy_external").outcome not in (
        "pause",
        "not_permitted",
        "delay",
    )
    blocked = _decide(rmf, "cbrn-misuse", "deploy_external")
    assert blocked.outcome == "not_permitted"
    assert "deployment-acceptance-criteria" in blocked.deciding_rules
    assert _decide(rmf, "cbrn-misuse", "train").outcome not in ("pause", "not_permitted", "delay")
    assert _decide(faif, "cbrn-misuse", "train").outcome == "pause"
    assert _decide(faif, "harmful-manipulation", "deploy_internal").outcome == "not_permitted"


def test_fsf30_changelog_reads_1_0_and_2_0_from_their_own_texts(library: Library) -> None:
    """FSF 3.0 §5.3 lists past versions without describing them. What 1.0 said (Framework §3,
    p. 2: "we would put on hold further deployment or development, or implement additional
    protocols") and what 2.0 said (Framework §3, p. 3: a response plan "may involve putting
    deployment or further development on hold"; Introduction, p. 1: adoption "may depend on
    whether such organizations across the field adopt similar protocols") is now cited from
    the built-in primary texts, not from a secondary comparison."""
    fsf3 = _fw(library, "gdm-fsf@3.0")
    kinds = {s.id: s.kind for s in fsf3.doc.framework.sources}
    entries = {e.version: e for e in fsf3.doc.changelog}
    assert entries["1.0"].source.doc == "fsf1-text" and "§3" in entries["1.0"].source.section
    assert entries["2.0"].source.doc == "fsf2-text" and "p. 1" in entries["2.0"].source.section
    assert kinds["fsf1-text"] == kinds["fsf2-text"] == "primary"
    for entry in fsf3.doc.changelog:
        for note in entry.changes:
            text = note if isinstance(note, str) else note.summary
            assert "secondary" not in text, (entry.version, text)
    # the 2.0 facts are confirmed by the 2.0 encoding itself
    fsf2 = _fw(library, "gdm-fsf@2.0")
    assert _commitment(fsf2, "hold-until-mitigations-ready").force == "discretionary"
    assert "2020-2024" in (_threshold(fsf2, "ml-rd-acceleration-1").description or "")
    # comparisons of the two texts that the announcement does not make are silent changes
    assert any("field" in s for s in entries["3.0"].silent_changes)
    fsf31 = _fw(library, "gdm-fsf@3.1")
    assert next(e for e in fsf31.doc.changelog if e.version == "2.0").source.doc == "fsf2-text"


def test_fsf30_folds_the_early_warning_evaluations_into_the_risk_assessment(
    library: Library,
) -> None:
    """FSF 3.0 §1.3: the risk assessment's analysis step runs the early-warning evaluations,
    each with an alert threshold, and is repeated for models with meaningful new capabilities;
    2.0 had them as separate commitments (Framework §2, p. 3)."""
    fsf3 = _fw(library, "gdm-fsf@3.0")
    merged = _commitment(fsf3, "risk-assessment-before-external-deployment")
    assert merged.merged_from == ["early-warning-evaluations", "regular-capability-evaluation"]
    d = _diff(library, "gdm-fsf@2.0", "gdm-fsf@3.0")
    for old in ("early-warning-evaluations", "regular-capability-evaluation"):
        assert not _find(d, old, "commitment.presence"), old
        parts = [c for c in d.changes if c.old_id == old]
        assert parts and all(c.change == "merged" for c in parts)
        assert not any(c.unannounced for c in parts)  # 3.0's "holistic risk assessment" note
    assert not _find(d, "risk-assessment-before-external-deployment", "commitment.presence")


def test_fsf_mitigation_evaluation_continues_from_2_0(library: Library) -> None:
    """FSF 2.0 Framework §3: the appropriateness and efficacy of applied mitigations "should be
    reviewed periodically"; FSF 3.0 §1.5 (3.1 §1.3.4): "We will use various processes to
    evaluate the effectiveness and limitations of mitigations". The duty continues, now firmer;
    it is not dropped in 3.0."""
    for ref, section in (("gdm-fsf@3.0", "§1.5"), ("gdm-fsf@3.1", "§1.3.4")):
        review = _commitment(_fw(library, ref), "mitigation-efficacy-review")
        assert review.force == "binding" and review.source.section == section
    d = _diff(library, "gdm-fsf@2.0", "gdm-fsf@3.0")
    assert not _find(d, "mitigation-efficacy-review", "commitment.presence")
    [force] = _find(d, "mitigation-efficacy-review", "commitment.force")
    assert force.classification == "strengthening"
