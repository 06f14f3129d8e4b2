"""Where an interval stands relative to a capability threshold.

A threshold is crossed by values *past* it: for comparator ``>=`` a value
``x`` is past the threshold ``t`` when ``x >= t``; for ``>`` when ``x > t``;
for ``<=`` when ``x <= t``; for ``<`` when ``x < t``. The early-warning value
``w`` lies on the safe side of ``t`` (below it for ``>=``/``>``, above it for
``<=``/``<``) and starts the alert band, inclusively: the band is ``w <= x``
(upward comparators) or ``x <= w`` (downward), up to the threshold.

Given an interval ``[low, high]`` around ``estimate`` the state is the first
that applies:

1. ``crossed``   - every point of the interval is past the threshold
   (upward: ``low`` is past; downward: ``high`` is past).
2. ``ambiguous`` - some points are past and some are not: the interval
   straddles the threshold (upward: ``high`` is past, ``low`` is not;
   downward: ``low`` is past, ``high`` is not).
3. ``alert``     - no point is past, and the estimate lies in the early-warning
   band (upward: ``estimate >= w``; downward: ``estimate <= w``).
4. ``below``     - otherwise: the whole interval is on the safe side and the
   estimate is short of the band (or there is no band).

The four states are exhaustive and mutually exclusive. A point interval
(``low == estimate == high``) can never be ambiguous. How an ambiguous
result is treated is the framework's decision, not this module's.

A threshold with no evidence at all is ``missing``: never ``below``. Every
ranking of states (the worst indicator of a threshold, the worst threshold of
a risk domain, the most severe of several records) uses the one order of
:class:`State`: ``below < missing < alert < ambiguous < crossed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from scaleguard.errors import InputError

Comparator = Literal[">=", ">", "<=", "<"]
_UPWARD = frozenset({">=", ">"})


class State(StrEnum):
    """Where a threshold stands, declared in severity order (least severe first)."""

    BELOW = "below"
    MISSING = "missing"
    ALERT = "alert"
    AMBIGUOUS = "ambiguous"
    CROSSED = "crossed"


#: The same states as a type for string fields (records, pydantic models); a test keeps
#: it equal to :class:`State`, in the same order.
StateName = Literal["below", "missing", "alert", "ambiguous", "crossed"]

_SEVERITY = {state.value: rank for rank, state in enumerate(State)}


def severity(state: str) -> int:
    """The rank of ``state`` in the one severity order; a state this version does not know
    ranks as ``missing`` (unresolved: never as good as ``below``)."""
    return _SEVERITY.get(state, _SEVERITY[State.MISSING])


def worst(states: Iterable[str]) -> State | None:
    """The most severe of ``states`` (None for none)."""
    ranked = [severity(s) for s in states]
    return list(State)[max(ranked)] if ranked else None


def is_past(value: float, comparator: Comparator, threshold: float) -> bool:
    """Whether ``value`` is on the crossed side of ``threshold``."""
    if comparator == ">=":
        return value >= threshold
    if comparator == ">":
        return value > threshold
    if comparator == "<=":
        return value <= threshold
    if comparator == "<":
        return value < threshold
    raise InputError(f"unknown comparator {comparator!r}", hint="use one of >=, >, <=, <")


def classify(
    low: float,
    high: float,
    estimate: float,
    comparator: Comparator,
    threshold: float,
    early_warning: float | None = None,
) -> State:
    """The state of ``[low, high]`` (around ``estimate``) against a threshold; see module doc."""
    _check(low, high, estimate, comparator, threshold, early_warning)
    upward = comparator in _UPWARD
    near, far = (low, high) if upward else (high, low)
    if is_past(near, comparator, threshold):
        return State.CROSSED
    if is_past(far, comparator, threshold):
        return State.AMBIGUOUS
    if early_warning is not None and (
        estimate >= early_warning if upward else estimate <= early_warning
    ):
        return State.ALERT
    return State.BELOW


def _check(
    low: float,
    high: float,
    estimate: float,
    comparator: str,
    threshold: float,
    early_warning: float | None,
) -> None:
    numbers = [low, high, estimate, threshold] + (
        [early_warning] if early_warning is not None else []
    )
    if not all(math.isfinite(x) for x in numbers):
        raise InputError(
            "interval, estimate, threshold and early warning must be finite numbers",
            hint="check the evidence and the framework's indicator",
        )
    if comparator not in (">=", ">", "<=", "<"):
        raise InputError(f"unknown comparator {comparator!r}", hint="use one of >=, >, <=, <")
    if not low <= estimate <= high:
        raise InputError(
            f"the interval [{low}, {high}] does not contain the estimate {estimate}",
            hint="an interval must satisfy low <= estimate <= high",
        )
    if early_warning is not None:
        upward = comparator in _UPWARD
        if (upward and early_warning > threshold) or (not upward and early_warning < threshold):
            side = "at or below" if upward else "at or above"
            raise InputError(
                f"early warning {early_warning} must lie {side} the threshold {threshold} "
                f"for comparator '{comparator}'",
                hint="the early-warning band sits on the safe side of the threshold",
            )
