"""Capability determinations: an interval around the evidence, then a state per threshold.

Pure functions, no I/O: :mod:`~scaleguard.determinations.bootstrap` turns an
evidence record into a reproducible confidence interval and
:mod:`~scaleguard.determinations.state` places that interval against a
threshold as below, alert, ambiguous or crossed.
"""

from scaleguard.determinations.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Interval,
    bootstrap_mean,
    estimate_interval,
    interval_for,
    normal_interval,
    point_interval,
)
from scaleguard.determinations.state import (
    Comparator,
    State,
    StateName,
    classify,
    is_past,
    severity,
    worst,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "Comparator",
    "Interval",
    "State",
    "StateName",
    "bootstrap_mean",
    "classify",
    "estimate_interval",
    "interval_for",
    "is_past",
    "normal_interval",
    "point_interval",
    "severity",
    "worst",
]
