"""Audit fixes to the built-in RSP 2.2, FSF 3.0/3.1 and PF 2.0, each pinned to its section.

Every test quotes, in paraphrase, the passage of the primary text it rests on. The texts are the
public full-text copies in the PRISM corpus (study/corpus/.../*.norm.txt), whose manifest
records the SHA-256 each document's primary_text carries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from scaleguard.diff import diff_frameworks
from scaleguard.errors import FrameworkError
from scaleguard.framework.conditions import Truth, evaluate, facts_named
from scaleguard.framework.library import Library, builtin_frameworks
from scaleguard.framework.loader import LoadedFramework, load_bytes
from scaleguard.framework.model import Cadence, Commitment, Threshold

Cli = Callable[..., Any]

# SHA-256 per document, as study/corpus/manifest.jsonl of caiitlinm/PRISM records them.
MANIFEST = {
    "anthropic-rsp@2.2": "4807f3970c76968a75a6dffa55d8ffe547014522b63c67e261cd02f7b6fc1e39",
    "gdm-fsf@3.0": "87ebf40b747b98468226b2198442b45ff54854975f6e9882d9ece2d009082fe5",
    "gdm-fsf@3.1": "ad10d2d240e0d557ecad406dbccedcbb4a70295f8ba8eec46bfe01803cb9c301",
    "openai-preparedness@2.0": "fae6e4cc6f7212a010bb9348fc0cde1fe711b9cad426c6a99db97740ee52729b",
}


@pytest.fixture(scope="module")
def library() -> Library:
    return Library()


@pytest.fixture(scope="module")
def rsp22(library: Library) -> LoadedFramework:
    return library.get("anthropic-rsp@2.2")


def commitment(fw: LoadedFramework, cid: str) -> Commitment:
    return next(c for c in fw.doc.commitments if c.id == cid)


def threshold(fw: LoadedFramework, tid: str) -> Threshold:
    return next(t for t in fw.doc.thresholds if t.id == tid)


def cadence(fw: LoadedFramework, cid: str) -> Cadence:
    return next(c for c in fw.doc.cadences if c.id == cid)


# --- primary text ---------------------------------------------------------------------------


# Every SHA-256 in that manifest (one per text in the corpus).
CORPUS_HASHES = {
    "14785337769bee567dd488d346f9cf6e36fed7792da9656a0a8b55b2f6d21c43",
    "cc522e2770c6fec6c2808ce5abd8b757a8d7fe2078d029879295df8443185f7f",
    "f0ac67ca61b1726cbcd159e6d2f595ce4f26de2ee29c594ba488f53f780d4ee7",
    "4807f3970c76968a75a6dffa55d8ffe547014522b63c67e261cd02f7b6fc1e39",
    "a71bfa08a7fa4b750b2b408b4b9c8681ad50c6b53271c314f591c59c84c38064",
    "5aa73a3b3155ef856e429711c8d156e18d9b5ce1e28c2e0a74019a2c3c764d7b",
    "5410e3d986cf6917e9105c3d3a661ccc91bfbcb8672bca18b7752ca394e3f2a1",
    "b7e7cc1e72e9371949415522ae3c9e61103cc739c5df64579af32dd941624f42",
    "6247b9e4001fd342827526fabc476c9d4dd6b2041ac00055f0ccda26f4d0b07d",
    "c84e3a59c7dab251e45434e0b0d3e8abadcea7293f995cf92d32269e7d290398",
    "fae6e4cc6f7212a010bb9348fc0cde1fe711b9cad426c6a99db97740ee52729b",
    "3c073cd5c7a0dd03a07d0cc826fd9d5c76801f57441ac37ef6b2163e9261543d",
    "14a48e4ef052fba75b651ea23845c2e9557f5c638e2767656decc6410861aae3",
    "87ebf40b747b98468226b2198442b45ff54854975f6e9882d9ece2d009082fe5",
    "ad10d2d240e0d557ecad406dbccedcbb4a70295f8ba8eec46bfe01803cb9c301",
    "89fafebb73757def5a9068105554e68799e3dcce55374a4179b7a62559b6bef9",
    "39fab200a4b36f149c6e24ee00d3e31adc84ed59f95a734290ed80a69de73f74",
    "aa01669c19fca50c85323595141d08f98076cf0c48ed8f4a114ad6420c1a1012",
    "2c3c6313bd2fb6eeffcafedb38013c34d92c53331ddedbfa331821c75055df53",
}


def test_every_builtin_records_its_primary_text() -> None:
    refs = set()
    for fw in builtin_frameworks():
        primary = fw.doc.framework.primary_text
        assert primary is not None, fw.ref
        assert primary.retrieved_from.startswith("https://github.com/caiitlinm/PRISM/blob/"), fw.ref
        assert "/study/corpus/" in primary.retrieved_from, fw.ref
        assert primary.sha256 in CORPUS_HASHES, fw.ref
        refs.add(fw.ref)
    assert len(refs) == len(builtin_frameworks())
    for ref, sha in MANIFEST.items():
        fw = next(f for f in builtin_frameworks() if f.ref == ref)
        assert fw.doc.framework.primary_text is not None
        assert fw.doc.framework.primary_text.sha256 == sha, ref


def test_the_loader_requires_primary_text_of_builtins_only(rsp22: LoadedFramework) -> None:
    data = rsp22.doc.model_dump(mode="json", exclude_none=True)
    del data["framework"]["primary_text"]
    text = yaml.safe_dump(data, sort_keys=False)
    assert load_bytes(text, "mine.yaml").ref == "anthropic-rsp@2.2"  # a user's file may omit it
    with pytest.raises(FrameworkError) as info:
        load_bytes(text, "builtin:anthropic-rsp-2.2.yaml", builtin=True)
    (problem,) = info.value.problems
    assert "needs 'primary_text'" in problem.message and "sha256" in problem.hint
    assert problem.path == "$.framework"
    assert problem.location == "builtin:anthropic-rsp-2.2.yaml:3:3"  # first key of framework:


def test_show_prints_the_primary_text(cli: Cli) -> None:
    res = cli("frameworks", "show", "gdm-fsf@3.0")
    assert res.code == 0
    assert f"sha256 {MANIFEST['gdm-fsf@3.0']}" in res.out and "primary text" in res.out
    assert "GDM-FSF-v3-0.norm.txt" in res.out.replace("\n", "")
    as_json = json.loads(cli("frameworks", "show", "gdm-fsf@3.0", "--json").out)
    assert as_json["framework"]["primary_text"]["sha256"] == MANIFEST["gdm-fsf@3.0"]
    assert as_json["framework"]["primary_text"]["retrieved_from"].endswith("GDM-FSF-v3-0.norm.txt")


def test_builtin_changelogs_name_the_elements_they_announce(library: Library) -> None:
    for ref in MANIFEST:
        fw = library.get(ref)
        # a note may name an element the version removed: an id of the version it supersedes
        docs = [fw.doc]
        if fw.doc.framework.supersedes is not None:
            docs.append(library.get(f"{fw.doc.framework.id}@{fw.doc.framework.supersedes}").doc)
        ids = {
            e.id
            for doc in docs
            for family in (
                doc.risk_domains,
                doc.safeguard_standards,
                doc.thresholds,
                doc.commitments,
                doc.cadences,
                doc.governance_roles,
            )
            for e in family
        }
        named = [
            (entry.version, ident)
            for entry in fw.doc.changelog
            for note in entry.changes
            if not isinstance(note, str)
            for ident in note.elements
        ]
        assert named, ref
        unknown = [n for n in named if n[1] not in ids]
        assert unknown == [], ref


# --- RSP 2.2 --------------------------------------------------------------------------------


def test_rsp22_quarterly_noncompliance_summaries_are_optional(rsp22: LoadedFramework) -> None:
    # fn 15: cases judged to add minimal risk *may* be reported to the Board in quarterly
    # summary reports.
    assert cadence(rsp22, "noncompliance-board-updates").force == "discretionary"
    assert "may instead be reported" in commitment(rsp22, "noncompliance-reporting").description


def test_rsp22_one_month_deadline_is_an_aim(rsp22: LoadedFramework) -> None:
    # §3.2: testing and the capability decision should ideally be concluded within about a
    # month of reaching the "notably more capable" mark.
    deadline = cadence(rsp22, "capability-decision-deadline")
    assert deadline.force == "goal" and str(deadline.deadline) == "P1M"
    # §3.1: the 4x Effective Compute / six-month trigger itself is a "we will".
    trigger = cadence(rsp22, "capability-assessment")
    assert trigger.force == "binding" and trigger.deadline is None


def test_rsp22_acting_promptly_on_interim_risk_is_binding(rsp22: LoadedFramework) -> None:
    # §6.2: if ASL-3 Required Safeguards cannot be implemented immediately, Anthropic will act
    # promptly to reduce interim risk to acceptable levels; the CEO and RSO *may* approve the
    # particular interim measures.
    interim = commitment(rsp22, "interim-measures")
    assert interim.force == "binding"
    assert interim.trigger.when == "required_safeguards_unmet"
    assert "act promptly" in interim.description and "may approve" in interim.description


def test_rsp22_asl4_at_cbrn4_is_expected_not_committed(rsp22: LoadedFramework) -> None:
    # §2, table: "we expect this threshold will require the ASL-4 Deployment and Security
    # Standards" and more will be said in a future update; at AI R&D-5 an affirmative case is
    # likewise only expected, while ASL-4 Security is required "at minimum".
    forces = {r.standard: r.force for r in threshold(rsp22, "cbrn-4").required_safeguards}
    # (an expectation, not a commitment: recorded at recommendation force, as RSP 2.0's
    # "we expect" requirements are)
    assert forces == {"asl-4-deployment": "recommendation", "asl-4-security": "recommendation"}
    rd5 = {r.standard: r.force for r in threshold(rsp22, "ai-rd-5").required_safeguards}
    assert rd5 == {"asl-4-security": "binding", "ai-rd-4-affirmative-case": "recommendation"}


def test_rsp22_training_pause_concerns_the_asl3_security_standard(rsp22: LoadedFramework) -> None:
    # §6.2 and fn 13: no training of models comparable to (1x Effective Compute) one that
    # requires the ASL-3 Security Standard until it is implemented; ASL-3 Security alone
    # suffices to continue.
    pause = commitment(rsp22, "pause-training-until-security")
    asl3 = {
        t.id
        for t in rsp22.doc.thresholds
        if t.kind == "threshold"
        and any(
            r.standard == "asl-3-security" and r.force == "binding" for r in t.required_safeguards
        )
    }
    assert set(pause.trigger.thresholds) == asl3 == {"cbrn-3", "ai-rd-4"}
    assert pause.trigger.safeguard_kinds == ["security"] and pause.outcome == "pause"


def test_rsp22_safeguards_are_specified_before_training_or_deploying(
    rsp22: LoadedFramework,
) -> None:
    # §2, after the thresholds table: Required Safeguards for each threshold are identified as
    # soon as feasible and at minimum before training or deploying a model that reaches it.
    train = commitment(rsp22, "specify-safeguards-before-training")
    deploy = commitment(rsp22, "specify-safeguards-before-deployment")
    assert (train.force, train.outcome, train.applies_to) == ("binding", "pause", ["train"])
    assert (deploy.force, deploy.outcome) == ("binding", "not_permitted")
    assert set(deploy.applies_to) == {"deploy_internal", "deploy_external", "release_weights"}
    unspecified = {s.id for s in rsp22.doc.safeguard_standards if not s.specified}
    expected = {
        t.id
        for t in rsp22.doc.thresholds
        if any(r.standard in unspecified for r in t.required_safeguards)
    }
    assert set(train.trigger.thresholds) == set(deploy.trigger.thresholds) == expected


def test_rsp22_asl2_baseline_and_its_silent_removal_in_30(
    library: Library, rsp22: LoadedFramework
) -> None:
    # Executive Summary and §1: at present all models must meet the ASL-2 Deployment and
    # Security Standards (Appendix B).
    baseline = commitment(rsp22, "asl-2-baseline")
    assert baseline.force == "binding" and len(baseline.applies_to) == 4
    d = diff_frameworks(rsp22, library.get("anthropic-rsp@3.0"))
    gone = next(c for c in d.changes if c.id == "asl-2-baseline")
    assert (gone.change, gone.classification) == ("removed", "weakening")
    assert gone.unannounced  # 3.0's changelog names no element for it


@pytest.mark.parametrize("version", ["2.0", "2.1", "2.2"])
def test_rsp2x_share_the_audited_readings(library: Library, version: str) -> None:
    # The passages behind the 2.2 fixes are the same in 2.0 and 2.1 (ASL-2 baseline, §3.2
    # "should ideally", §6.2 "act promptly" and the ASL-3 Security pause, the quarterly "may",
    # the fn 17/18 "on track to imminently pass"), so the three encodings read them alike.
    fw = library.get(f"anthropic-rsp@{version}")
    assert commitment(fw, "asl-2-baseline").force == "binding"
    assert commitment(fw, "interim-measures").force == "binding"
    assert cadence(fw, "capability-decision-deadline").force == "goal"
    assert cadence(fw, "noncompliance-board-updates").force == "discretionary"
    pause = commitment(fw, "pause-training-until-security")
    assert pause.trigger.thresholds and "cbrn-3" in pause.trigger.thresholds
    escape = fw.conditions["competitor-escape-clause"]
    assert "actor_passing_threshold_without_safeguards" in facts_named(escape)
    # §2's "identify Required Safeguards before training or deploying" first appears in 2.1
    ids = {c.id for c in fw.doc.commitments}
    assert ("specify-safeguards-before-training" in ids) == (version != "2.0")


def test_rsp21_to_22_shows_only_the_insider_change(library: Library) -> None:
    # Changelog v2.2: the ASL-3 Security Standard's insider scope is the one change.
    d = diff_frameworks(library.get("anthropic-rsp@2.1"), library.get("anthropic-rsp@2.2"))
    substantive = [c for c in d.changes if c.classification != "neutral"]
    assert [(c.id, c.rule) for c in substantive] == [("asl-3-security", "element.description")]


def test_rsp22_changelog_announces_its_elements(rsp22: LoadedFramework) -> None:
    # Changelog, v2.1: a new CBRN threshold for moderately resourced state programmes and the
    # AI R&D threshold split into two levels.
    v21 = next(e for e in rsp22.doc.changelog if e.version == "2.1")
    named = {i for note in v21.changes if not isinstance(note, str) for i in note.elements}
    assert {"cbrn-4", "ai-rd-4", "ai-rd-5", "reevaluate-thresholds-on-upgrade"} <= named


# --- Google DeepMind FSF 3.0 / 3.1 ---------------------------------------------------------


@pytest.mark.parametrize("ref", ["gdm-fsf@3.0", "gdm-fsf@3.1"])
def test_fsf_response_plan_starts_at_the_alert_threshold(library: Library, ref: str) -> None:
    # 3.0 §1.4, 3.1 §1.3.3: when a model reaches an *alert threshold* for a CCL, Google
    # assesses proximity to the CCL and forms and applies a response plan. The alert threshold
    # comes before the CCL, so the obligation must not wait for the CCL to be crossed.
    plan = commitment(library.get(ref), "alert-threshold-response-plan")
    assert plan.force == "binding"
    assert plan.trigger.when != "threshold_crossed"
    assert "alert threshold" in plan.description and "too late" in plan.description


@pytest.mark.parametrize("ref", ["gdm-fsf@3.0", "gdm-fsf@3.1"])
def test_fsf_security_is_part_of_googles_own_acceptance(library: Library, ref: str) -> None:
    # 3.0 §1.6, 3.1 §1.3.5: a model at a misuse or ML R&D CCL is acceptable for further
    # development or deployment if, among others, security mitigations reach the recommended
    # level or the security applied is otherwise assessed adequate.
    fw = library.get(ref)
    own = commitment(fw, "security-in-acceptance-criteria")
    assert (own.force, own.scope) == ("binding", "unilateral")
    assert "train" in own.applies_to  # further development, not deployment only
    assert own.trigger.safeguard_kinds == ["security"]
    ccls = {t.id for t in fw.doc.thresholds if t.level_label and t.level_label.startswith("CCL")}
    assert set(own.trigger.thresholds) == ccls - {
        "instrumental-reasoning-1",
        "instrumental-reasoning-2",
    }
    # "or otherwise assessed adequate": the comparable-models and open-release routes
    for cid in ("security-otherwise-adequate", "open-release-exception"):
        assert "security-in-acceptance-criteria" in commitment(fw, cid).relaxes
    field = commitment(fw, "recommended-security-levels")
    assert (field.force, field.scope) == ("recommendation", "industry_wide")


def test_fsf31_announcements_follow_its_own_section_5_3(library: Library) -> None:
    # 3.1 §5.3 lists six changes; "high-risk" replacing "large-scale" internal deployment and
    # the annual review are not among them, so they are silent changes, not announcements.
    fw = library.get("gdm-fsf@3.1")
    v31 = next(e for e in fw.doc.changelog if e.version == "3.1")
    assert len(v31.changes) == 6
    assert any("High-risk internal deployment" in s for s in v31.silent_changes)


# --- OpenAI PF 2.0 --------------------------------------------------------------------------


def test_pf2_marginal_risk_covers_systems_developed_or_released(library: Library) -> None:
    # §4.3: another frontier developer "might develop or release" a High or Critical system
    # without comparable safeguards; only if OpenAI can rigorously confirm that scenario could
    # it adjust, and then only if the risk is not meaningfully increased, the adjustment is
    # public, and its safeguards stay more protective, with information shared to show it.
    pf2 = library.get("openai-preparedness@2.0")
    clause = commitment(pf2, "marginal-risk-adjustment")
    assert "develop or release" in clause.description and "rigorously confirm" in clause.description
    confirmed = next(f for f in pf2.doc.facts if f.name == "competitor_high_or_critical_confirmed")
    assert (
        "developed or" in confirmed.description and "rigorously confirmed" in confirmed.description
    )
    cond = pf2.conditions[clause.id]
    facts = {
        "competitor_high_or_critical_confirmed": True,
        "risk_not_meaningfully_increased": True,
        "adjustment_publicly_acknowledged": True,
        "safeguards_more_protective_than_competitor": True,
        "adjustment_claim_information_shared": True,
    }
    assert evaluate(cond, dict(facts)) is Truth.TRUE
    # a merely released competitor model, not rigorously confirmed, is not enough
    unconfirmed: dict[str, bool | float | None] = {
        **facts,
        "competitor_high_or_critical_confirmed": False,
        "competitor_without_comparable_safeguards": True,
    }
    assert evaluate(cond, unconfirmed) is Truth.FALSE
