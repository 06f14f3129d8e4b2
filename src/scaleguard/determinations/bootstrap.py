"""Confidence intervals for a capability metric, reproducible to the last digit.

The preferred interval is a percentile bootstrap of the mean of the
per-sample scores. Its random generator is seeded from a SHA-256 of the
scores, the resample count, the confidence level and a user seed, so the same
evidence always gives the same interval (a determination recorded in the
ledger can be recomputed and checked) while different evidence does not share
a random stream.

When there are no per-sample scores the fallbacks are, in order: a normal
approximation from a standard error the artifact reports (``method="normal"``),
then a Wilson score interval from the number of samples when the value is a
proportion in [0, 1] and that number is known (``method="wilson"``), then a
degenerate interval at the reported value (``method="point"``), which says
plainly that the uncertainty is unknown. A point interval is never evidence
that a threshold is *not* reached (see :mod:`scaleguard.determinations.assess`).

A standard error of zero says nothing about uncertainty (it is what a
harness reports for a single sample or a constant score), so it is skipped
like a missing one. For scores in [0, 1] the bootstrap interval is widened
to contain the Wilson interval of the same mean and count: the percentile
bootstrap undercovers badly for few samples and collapses to a point when
all scores are equal.

The Wilson interval is exact in its assumptions for pass/fail scores; for a
mean of scores in [0, 1] it is conservative, since such a mean's variance is at
most ``p(1-p)/n``.

The bootstrap treats every score as independent; scores from repeated epochs
of the same sample are correlated, so with several epochs the interval is
somewhat too narrow.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from scaleguard.errors import InputError
from scaleguard.evidence.records import EvidenceRecord

if TYPE_CHECKING:  # numpy is imported where intervals are computed, not at start-up
    import numpy as np

Method = Literal["bootstrap", "normal", "wilson", "point"]
DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
# Resampled indices are drawn in blocks of at most this many elements,
# which bounds memory without changing the random stream.
_BLOCK_ELEMENTS = 4_000_000
# How close the mean of the sample scores must be to a metric's reported
# value for the bootstrap of the mean to describe that metric.
_MEAN_TOLERANCE = 1e-6


class Interval(BaseModel):
    """An estimate with its confidence interval and how it was obtained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    estimate: float = Field(allow_inf_nan=False)
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    method: Method
    confidence: float = Field(gt=0, lt=1)
    n: int | None = Field(None, ge=0, description="Number of per-sample scores used.")
    resamples: int | None = Field(None, ge=1, description="Bootstrap resamples drawn.")
    seed: int | None = Field(None, description="The caller's seed.")
    rng_seed: int | None = Field(None, ge=0, description="Seed the generator actually used.")


def _check_confidence(confidence: float) -> None:
    if not (0.0 < confidence < 1.0) or not math.isfinite(confidence):
        raise InputError(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}",
            hint="use e.g. 0.95 for a 95% interval",
        )


def derive_seed(scores: np.ndarray, resamples: int, confidence: float, seed: int) -> int:
    """A 63-bit generator seed from the inputs, stable across platforms and runs."""
    import numpy as np

    digest = hashlib.sha256()
    digest.update(b"scaleguard.bootstrap.v1\0")
    digest.update(f"{seed}\0{resamples}\0{confidence!r}\0".encode())
    digest.update(np.ascontiguousarray(scores, dtype="<f8").tobytes())
    return int.from_bytes(digest.digest()[:8], "big") >> 1


def bootstrap_mean(
    scores: Sequence[float] | np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval for the mean of ``scores``.

    The interval is widened, if needed, to contain the sample mean (a
    percentile interval can miss it by rounding, or on very skewed data).
    """
    _check_confidence(confidence)
    if resamples < 1:
        raise InputError(f"resamples must be at least 1, got {resamples}", hint="use e.g. 2000")
    import numpy as np

    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise InputError(
            "bootstrap needs a non-empty list of scores", hint="pass per-sample scores"
        )
    if not np.isfinite(values).all():
        raise InputError("bootstrap scores must be finite numbers", hint="drop NaN/inf scores")
    n = int(values.size)
    rng_seed = derive_seed(values, resamples, confidence, seed)
    rng = np.random.default_rng(rng_seed)
    means = np.empty(resamples, dtype=np.float64)
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        picks = rng.integers(0, n, size=(rows, n))
        means[start : start + rows] = values[picks].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    estimate = float(values.mean())
    return Interval(
        estimate=estimate,
        low=min(float(low), estimate),
        high=max(float(high), estimate),
        method="bootstrap",
        confidence=confidence,
        n=n,
        resamples=resamples,
        seed=seed,
        rng_seed=rng_seed,
    )


def normal_interval(
    estimate: float, stderr: float, *, confidence: float = DEFAULT_CONFIDENCE, n: int | None = None
) -> Interval:
    """Normal-approximation interval ``estimate ± z·stderr``."""
    _check_confidence(confidence)
    if not (math.isfinite(estimate) and math.isfinite(stderr)) or stderr < 0:
        raise InputError(
            f"need a finite estimate and a non-negative standard error, got {estimate!r}, "
            f"{stderr!r}",
            hint="check the standard error the artifact reports",
        )
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return Interval(
        estimate=estimate,
        low=estimate - z * stderr,
        high=estimate + z * stderr,
        method="normal",
        confidence=confidence,
        n=n,
    )


def wilson_interval(estimate: float, n: int, *, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Wilson score interval for a proportion ``estimate`` observed on ``n`` samples."""
    _check_confidence(confidence)
    if not math.isfinite(estimate) or not 0.0 <= estimate <= 1.0 or n < 1:
        raise InputError(
            f"a Wilson interval needs a proportion in [0, 1] and at least one sample, got "
            f"{estimate!r} on {n!r} samples",
            hint="check the value and sample_count the evidence reports",
        )
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    z2 = z * z
    centre = (estimate + z2 / (2 * n)) / (1 + z2 / n)
    half = (z / (1 + z2 / n)) * math.sqrt(estimate * (1 - estimate) / n + z2 / (4 * n * n))
    return Interval(
        estimate=estimate,
        low=max(0.0, min(centre - half, estimate)),
        high=min(1.0, max(centre + half, estimate)),
        method="wilson",
        confidence=confidence,
        n=n,
    )


def point_interval(estimate: float, *, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The degenerate interval ``[estimate, estimate]``: uncertainty unknown."""
    _check_confidence(confidence)
    if not math.isfinite(estimate):
        raise InputError(f"estimate must be finite, got {estimate!r}", hint="check the evidence")
    return Interval(
        estimate=estimate, low=estimate, high=estimate, method="point", confidence=confidence
    )


def estimate_interval(
    value: float,
    sample_scores: Sequence[float] | None = None,
    stderr: float | None = None,
    *,
    sample_count: int | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """The best interval the inputs allow: bootstrap, normal, Wilson, then point.

    The bootstrap describes the *mean* of the sample scores, so it is used
    only when that mean equals ``value``; a metric that is not a mean (a
    standard error, a max-reduced score) falls through to the next method.
    The estimate is always ``value`` itself.
    """
    if sample_scores:
        mean = math.fsum(sample_scores) / len(sample_scores)
        if math.isclose(mean, value, rel_tol=_MEAN_TOLERANCE, abs_tol=_MEAN_TOLERANCE):
            boot = bootstrap_mean(
                sample_scores, resamples=resamples, confidence=confidence, seed=seed
            )
            low, high = min(boot.low, value), max(boot.high, value)
            if all(0.0 <= x <= 1.0 for x in sample_scores) and 0.0 <= value <= 1.0:
                # A percentile bootstrap of few or identical scores is far too narrow
                # (three zeros give [0, 0]); for scores in [0, 1] it is widened to
                # contain the Wilson interval of the same mean and count.
                wilson = wilson_interval(value, len(sample_scores), confidence=confidence)
                low, high = min(low, wilson.low), max(high, wilson.high)
            # Report the artifact's own value (they differ at most by rounding).
            return boot.model_copy(update={"estimate": value, "low": low, "high": high})
    if stderr is not None and stderr > 0:
        n = len(sample_scores) if sample_scores else None
        return normal_interval(value, stderr, confidence=confidence, n=n or sample_count)
    if sample_count is not None and sample_count >= 1 and 0.0 <= value <= 1.0:
        return wilson_interval(value, sample_count, confidence=confidence)
    return point_interval(value, confidence=confidence)


def interval_for(
    record: EvidenceRecord,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """:func:`estimate_interval` for one evidence record."""
    return estimate_interval(
        record.value,
        record.sample_scores,
        record.stderr,
        sample_count=record.sample_count,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )
