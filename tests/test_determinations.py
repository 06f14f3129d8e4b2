"""Bootstrap intervals and threshold states."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.determinations import (
    Comparator,
    State,
    bootstrap_mean,
    classify,
    estimate_interval,
    interval_for,
    normal_interval,
    point_interval,
)
from scaleguard.errors import InputError
from scaleguard.evidence.records import EvidenceRecord

COMPARATORS: list[Comparator] = [">=", ">", "<=", "<"]

# -- bootstrap -----------------------------------------------------------------


def test_bootstrap_is_reproducible_and_seed_sensitive() -> None:
    scores = [round(0.37 * i % 1, 6) for i in range(40)]  # 40 distinct values in [0, 1)
    first = bootstrap_mean(scores, seed=7)
    again = bootstrap_mean(list(scores), seed=7)
    assert first == again
    other = bootstrap_mean(scores, seed=8)
    assert (other.low, other.high) != (first.low, first.high)
    assert other.rng_seed != first.rng_seed
    assert first.method == "bootstrap" and first.n == 40 and first.resamples == 2000
    assert first.seed == 7 and first.estimate == pytest.approx(sum(scores) / 40)
    # different evidence, same user seed: a different random stream
    assert bootstrap_mean([*scores, 1.0], seed=7).rng_seed != first.rng_seed


def test_bootstrap_coverage_on_bernoulli() -> None:
    """A 95% interval for p = 0.7, n = 400 should contain p in most trials."""
    rng = np.random.default_rng(20260105)
    hits = 0
    trials = 200
    for trial in range(trials):
        sample = (rng.random(400) < 0.7).astype(float)
        interval = bootstrap_mean(sample, seed=trial)
        hits += interval.low <= 0.7 <= interval.high
    assert hits / trials >= 0.90


def test_bootstrap_width_shrinks_with_more_samples() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_mean((rng.random(50) < 0.5).astype(float))
    large = bootstrap_mean((rng.random(5000) < 0.5).astype(float))
    assert (large.high - large.low) < (small.high - small.low) / 3


def test_bootstrap_degenerate_inputs() -> None:
    single = bootstrap_mean([0.4])
    assert (single.low, single.estimate, single.high) == (0.4, 0.4, 0.4)
    constant = bootstrap_mean([0.1] * 30)
    assert constant.low <= constant.estimate <= constant.high
    assert constant.high - constant.low < 1e-12


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scores": []},
        {"scores": [1.0, math.nan]},
        {"scores": [1.0, math.inf]},
        {"scores": [1.0], "confidence": 1.0},
        {"scores": [1.0], "confidence": 0.0},
        {"scores": [1.0], "confidence": math.nan},
        {"scores": [1.0], "resamples": 0},
    ],
)
def test_bootstrap_rejects_bad_input(kwargs: dict[str, Any]) -> None:
    scores = kwargs.pop("scores")
    with pytest.raises(InputError):
        bootstrap_mean(scores, **kwargs)


def test_confidence_level_changes_width() -> None:
    scores = [1.0, 0.0] * 50
    narrow = bootstrap_mean(scores, confidence=0.5)
    wide = bootstrap_mean(scores, confidence=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


def test_fallbacks_normal_then_point() -> None:
    normal = estimate_interval(0.6, None, 0.05)
    assert normal.method == "normal"
    assert normal.low == pytest.approx(0.6 - 1.959964 * 0.05, abs=1e-6)
    assert normal.high == pytest.approx(0.6 + 1.959964 * 0.05, abs=1e-6)
    point = estimate_interval(0.6)
    assert (point.method, point.low, point.high) == ("point", 0.6, 0.6)
    assert point_interval(0.6) == point
    with pytest.raises(InputError):
        normal_interval(0.6, -1.0)


def test_bootstrap_used_only_when_value_is_the_sample_mean() -> None:
    scores = [1.0, 0.0, 1.0, 1.0]
    assert estimate_interval(0.75, scores).method == "bootstrap"
    # e.g. a stderr metric sharing the scorer's samples: not their mean
    assert estimate_interval(0.25, scores, 0.01).method == "normal"
    assert estimate_interval(0.25, scores).method == "point"
    assert estimate_interval(0.75, scores).estimate == 0.75


def test_interval_for_record() -> None:
    record = EvidenceRecord(
        model="m",
        task="t",
        metric="match/accuracy",
        value=0.5,
        sample_scores=[1.0, 0.0, 1.0, 0.0],
        stderr=0.25,
        source_format="csv",
        artifact_sha256="0" * 64,
        artifact_name="r.csv",
    )
    interval = interval_for(record, resamples=500, seed=3)
    assert interval.method == "bootstrap" and interval.resamples == 500
    assert interval == interval_for(record, resamples=500, seed=3)


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
    seed=st.integers(0, 2**32),
    confidence=st.floats(0.5, 0.999),
)
def test_bootstrap_interval_contains_estimate(
    scores: list[float], seed: int, confidence: float
) -> None:
    interval = bootstrap_mean(scores, resamples=200, confidence=confidence, seed=seed)
    assert interval.low <= interval.estimate <= interval.high
    assert min(scores) - 1e-6 <= interval.low and interval.high <= max(scores) + 1e-6


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(-1e3, 1e3),
    scores=st.none() | st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=30),
    stderr=st.none() | st.floats(0, 10),
)
def test_estimate_interval_contains_estimate(
    value: float, scores: list[float] | None, stderr: float | None
) -> None:
    interval = estimate_interval(value, scores, stderr, resamples=100)
    assert interval.low <= interval.estimate <= interval.high
    assert interval.estimate == value


# -- states --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "estimate", "high", "expected"),
    [
        (0.20, 0.30, 0.40, State.BELOW),
        (0.50, 0.55, 0.58, State.ALERT),
        (0.55, 0.65, 0.75, State.AMBIGUOUS),
        (0.61, 0.70, 0.80, State.CROSSED),
        (0.40, 0.50, 0.60, State.AMBIGUOUS),  # high exactly at the threshold counts as past
        (0.60, 0.70, 0.80, State.CROSSED),  # low exactly at the threshold
    ],
)
def test_states_upward(low: float, estimate: float, high: float, expected: State) -> None:
    assert classify(low, high, estimate, ">=", 0.6, early_warning=0.5) is expected


@pytest.mark.parametrize(
    ("low", "estimate", "high", "expected"),
    [
        (0.60, 0.70, 0.80, State.BELOW),
        (0.32, 0.35, 0.45, State.ALERT),
        (0.25, 0.35, 0.45, State.AMBIGUOUS),
        (0.10, 0.20, 0.29, State.CROSSED),
        (0.20, 0.25, 0.30, State.CROSSED),  # high exactly at the threshold
    ],
)
def test_states_downward(low: float, estimate: float, high: float, expected: State) -> None:
    """For a 'lower is worse' indicator (e.g. refusal rate <= 0.3)."""
    assert classify(low, high, estimate, "<=", 0.3, early_warning=0.4) is expected


def test_strict_comparators_at_the_boundary() -> None:
    # a point estimate exactly at the threshold
    assert classify(0.6, 0.6, 0.6, ">=", 0.6) is State.CROSSED
    assert classify(0.6, 0.6, 0.6, ">", 0.6) is State.BELOW
    assert classify(0.6, 0.6, 0.6, ">", 0.6, early_warning=0.5) is State.ALERT
    assert classify(0.3, 0.3, 0.3, "<=", 0.3) is State.CROSSED
    assert classify(0.3, 0.3, 0.3, "<", 0.3) is State.BELOW
    # straddling with the upper end exactly on a strict threshold is not past
    assert classify(0.5, 0.6, 0.55, ">", 0.6) is State.BELOW
    assert classify(0.5, 0.6, 0.55, ">=", 0.6) is State.AMBIGUOUS
    assert classify(0.3, 0.4, 0.35, "<", 0.3) is State.BELOW
    assert classify(0.3, 0.4, 0.35, "<=", 0.3) is State.AMBIGUOUS


def test_early_warning_band_is_inclusive() -> None:
    assert classify(0.4, 0.55, 0.5, ">=", 0.6, early_warning=0.5) is State.ALERT
    assert classify(0.4, 0.55, 0.4999, ">=", 0.6, early_warning=0.5) is State.BELOW
    assert classify(0.35, 0.5, 0.4, "<", 0.3, early_warning=0.4) is State.ALERT
    assert classify(0.35, 0.5, 0.4001, "<", 0.3, early_warning=0.4) is State.BELOW


def test_alert_needs_interval_on_safe_side() -> None:
    """An estimate in the band with an interval reaching the threshold is ambiguous."""
    assert classify(0.45, 0.65, 0.55, ">=", 0.6, early_warning=0.5) is State.AMBIGUOUS


@pytest.mark.parametrize(
    "args",
    [
        (0.5, 0.4, 0.45, ">=", 0.6, None),  # low > high
        (0.4, 0.5, 0.7, ">=", 0.6, None),  # estimate above high
        (0.4, 0.5, 0.45, ">=", math.nan, None),
        (0.4, 0.5, 0.45, "==", 0.6, None),
        (0.4, 0.5, 0.45, ">=", 0.6, 0.7),  # early warning past the threshold
        (0.4, 0.5, 0.45, "<=", 0.6, 0.5),
    ],
)
def test_classify_rejects_inconsistent_input(args: tuple[Any, ...]) -> None:
    low, high, estimate, comparator, threshold, early = args
    with pytest.raises(InputError):
        classify(low, high, estimate, comparator, threshold, early)


def _past(x: float, comparator: str, t: float) -> bool:
    return {">=": x >= t, ">": x > t, "<=": x <= t, "<": x < t}[comparator]


@settings(max_examples=500, deadline=None)
@given(
    points=st.lists(st.floats(-10, 10), min_size=3, max_size=3).map(sorted),
    threshold=st.floats(-10, 10),
    band=st.none() | st.floats(0, 5),
    comparator=st.sampled_from(COMPARATORS),
)
def test_states_are_exhaustive_and_exclusive(
    points: list[float], threshold: float, band: float | None, comparator: Comparator
) -> None:
    low, estimate, high = points
    upward = comparator in (">=", ">")
    early = None if band is None else (threshold - band if upward else threshold + band)
    state = classify(low, high, estimate, comparator, threshold, early)

    # an independent statement of the rules: every point vs. some point past
    all_past = _past(low, comparator, threshold) and _past(high, comparator, threshold)
    some_past = _past(low, comparator, threshold) or _past(high, comparator, threshold)
    in_band = early is not None and (estimate >= early if upward else estimate <= early)
    truth = {
        State.CROSSED: all_past,
        State.AMBIGUOUS: some_past and not all_past,
        State.ALERT: not some_past and in_band,
        State.BELOW: not some_past and not in_band,
    }
    assert sum(truth.values()) == 1
    assert truth[state]
