"""Weak evidence never loosens a determination (bare numbers, small samples), on both stores."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.decisions import service
from scaleguard.determinations import estimate_interval
from scaleguard.determinations.assess import EvidencePoint, IndicatorSpec, choose, state_of
from scaleguard.determinations.bootstrap import wilson_interval
from scaleguard.store import repo
from scaleguard.workspace import ingest_paths
from scaleguard.workspace.workspace import Workspace


def _novel(ws: Workspace, model: str = "aurora-3") -> tuple[str, dict[str, object]]:
    _, rows = service.determine(ws, model, by="a")
    novel = next(r for r in rows if r.threshold_id == "novel-cb")
    with ws.store.read() as s:
        det = [d for d in repo.determinations(s, model) if d.threshold_id == "novel-cb"][-1]
    return novel.finding.state, dict(det.params)


def test_a_newer_three_sample_csv_does_not_replace_a_crossed_200_sample_result(
    lab: Workspace, tmp_path: Path
) -> None:
    assert _novel(lab)[0] == "crossed"
    csv = tmp_path / "late.csv"
    csv.write_text(
        "model,task,metric,value,sample_count,source\n"
        "aurora-3,bio_novel_design,accuracy,0.1,3,https://lab.example/quick\n"
    )
    ingest_paths(lab, [csv], by="eval-team")
    state, params = _novel(lab)
    assert state == "crossed"
    basis = str(params["evidence_basis"])
    assert "weaker" in basis and "Wilson interval" in basis and "does not replace" in basis
    result = service.decide(lab, "aurora-3", "train", compare="anthropic-rsp@2.2", by="rso")
    assert result.comparison is not None and result.comparison.outcome == "pause"


def test_a_bare_number_is_never_below(lab: Workspace, tmp_path: Path) -> None:
    from scaleguard.workspace import ModelSpec, add_model

    add_model(lab, ModelSpec(name="aurora-9", developer="Fictional Frontier Lab", own=True))
    csv = tmp_path / "bare.csv"
    csv.write_text(
        "model,task,metric,value,source\naurora-9,bio_novel_design,accuracy,0.05,https://x.example\n"
    )
    ingest_paths(lab, [csv], by="eval-team")
    state, params = _novel(lab, "aurora-9")
    assert state == "ambiguous"
    assert "cannot show that the threshold is not reached" in str(params["evidence_basis"])
    decision = service.decide(lab, "aurora-9", "deploy-external", by="rso").decision
    assert decision.outcome not in ("proceed", "proceed_with_conditions")


def test_a_newer_weaker_record_may_tighten(lab: Workspace, tmp_path: Path) -> None:
    """Weak evidence that is *more* severe is used: it never loosens, it may tighten."""
    csv = tmp_path / "worse.csv"
    csv.write_text(
        "model,task,metric,value,sample_count\naurora-2,bio_novel_design,accuracy,0.95,40\n"
    )
    assert _novel(lab, "aurora-2")[0] in ("below", "alert")
    ingest_paths(lab, [csv], by="eval-team")
    state, params = _novel(lab, "aurora-2")
    assert state == "crossed"
    assert "more severe" in str(params["evidence_basis"])


def test_wilson_interval_uses_the_sample_count() -> None:
    small = estimate_interval(0.1, sample_count=3)
    large = estimate_interval(0.1, sample_count=3000)
    assert small.method == large.method == "wilson"
    assert small.high - small.low > 0.5 > large.high - large.low
    assert small.low <= 0.1 <= small.high
    bare = estimate_interval(0.1)
    assert bare.method == "point"


SPEC = IndicatorSpec("i", ("t",), "accuracy", ">=", 0.7, 0.6)


@given(
    value=st.floats(0, 1),
    n=st.integers(1, 100_000),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
@settings(max_examples=200, deadline=None)
def test_wilson_contains_the_estimate_and_stays_in_unit_range(
    value: float, n: int, confidence: float
) -> None:
    interval = wilson_interval(value, n, confidence=confidence)
    assert 0.0 <= interval.low <= value <= interval.high <= 1.0


@given(value=st.floats(0, 1))
def test_a_point_is_crossed_or_ambiguous_never_below(value: float) -> None:
    state = state_of(estimate_interval(value), SPEC)
    assert state in ("crossed", "ambiguous")


@given(
    points=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.one_of(st.none(), st.integers(1, 500)),
        ),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=100, deadline=None)
def test_choice_is_never_less_severe_than_the_strongest_record(
    points: list[tuple[float, int | None]],
) -> None:
    severity = {"below": 0, "alert": 1, "ambiguous": 2, "crossed": 3}
    candidates = []
    for i, (value, n) in enumerate(points):
        p = EvidencePoint(
            i, "t", "accuracy", value, sample_count=n, ingested_at=f"2026-01-{i + 1:02d}"
        )
        interval = estimate_interval(value, sample_count=n)
        candidates.append((p, interval, state_of(interval, SPEC)))
    _, _, state, why = choose(candidates)
    strongest = max(candidates, key=lambda c: ((c[1].method == "wilson", c[1].n or 0), c[0].id))
    assert severity[state] >= severity[strongest[2]]
    assert why


def test_safeguard_facts_are_unknown_when_nothing_is_known(lab: Workspace) -> None:
    from scaleguard.workspace import ModelSpec, add_model

    add_model(lab, ModelSpec(name="aurora-4", developer="Fictional Frontier Lab", own=True))
    for fw in ("anthropic-rsp@3.0", "anthropic-rsp@2.2"):
        decision = service.decide(lab, "aurora-4", "deploy-external", framework=fw).decision
        facts = {f.name: f for f in decision.facts}
        assert facts["required_safeguards_met"].value is None
        assert "unknown" in facts["required_safeguards_met"].basis
        assert facts["recommended_safeguards_met"].value in (None, True)
        assert decision.outcome not in ("proceed", "proceed_with_conditions")
    # with evidence on record, a crossed threshold without attestations is plainly unmet
    csv = lab.root / "aurora-4.csv"
    csv.write_text(
        "model,task,metric,value,sample_count,source\n"
        "aurora-4,bio_basic_uplift,accuracy,0.9,200,https://lab.example/evals/bio\n"
        "aurora-4,bio_novel_design,accuracy,0.85,200,https://lab.example/evals/bio\n"
    )
    ingest_paths(lab, [csv], by="eval-team")
    result = service.decide(lab, "aurora-4", "deploy-external", framework="anthropic-rsp@2.2")
    facts = {f.name: f for f in result.decision.facts}
    assert facts["required_safeguards_met"].value is False


def test_three_identical_scores_do_not_make_a_zero_width_interval() -> None:
    interval = estimate_interval(0.0, [0.0, 0.0, 0.0])
    assert interval.method == "bootstrap"
    assert interval.high > 0.5  # Wilson: three failures cannot rule out p = 0.56
    assert state_of(interval, IndicatorSpec("i", ("t",), "accuracy", ">=", 0.5)) == "ambiguous"


def test_a_zero_standard_error_is_no_uncertainty_information() -> None:
    assert estimate_interval(0.1, stderr=0.0).method == "point"
    assert estimate_interval(0.1, stderr=0.0, sample_count=3).method == "wilson"
    assert state_of(estimate_interval(0.1, stderr=0.0), SPEC) == "ambiguous"


@given(
    scores=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=60),
)
@settings(max_examples=60, deadline=None)
def test_a_bootstrap_of_pass_fail_scores_contains_the_wilson_interval(
    scores: list[float],
) -> None:
    mean = sum(scores) / len(scores)
    boot = estimate_interval(mean, scores, resamples=200)
    wilson = wilson_interval(mean, len(scores))
    assert boot.low <= wilson.low + 1e-12 and boot.high >= wilson.high - 1e-12
