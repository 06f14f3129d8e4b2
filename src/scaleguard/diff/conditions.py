"""Is one condition narrower or wider than another?

A commitment's condition says when it applies. If the new condition can only
hold where the old one held, the commitment now applies in fewer cases
(narrower); the reverse is wider. We decide this with a small set of sound
implication rules (conjunctions, disjunctions, negation and numeric bounds on
the same fact). When no rule proves either direction the answer is
"unknown", and the diff reports the change as unclear: we never guess.
"""

from __future__ import annotations

from typing import Literal

from scaleguard.framework.conditions import AllOf, AnyOf, Condition, FactTest, Not

Relation = Literal["same", "narrower", "wider", "equivalent", "unknown"]


def compare(old: Condition, new: Condition) -> Relation:
    """How ``new`` relates to ``old`` (``equivalent``: written differently, same meaning)."""
    if old == new:
        return "same"
    new_in_old = implies(new, old)
    old_in_new = implies(old, new)
    if new_in_old and old_in_new:
        return "equivalent"
    if new_in_old:
        return "narrower"
    if old_in_new:
        return "wider"
    return "unknown"


def implies(x: Condition, y: Condition) -> bool:
    """True only when every case satisfying ``x`` satisfies ``y`` (sound, not complete)."""
    if x == y:
        return True
    if isinstance(y, AllOf) and all(implies(x, item) for item in y.items):
        return True
    if isinstance(x, AnyOf) and all(implies(item, y) for item in x.items):
        return True
    if isinstance(x, AllOf) and any(implies(item, y) for item in x.items):
        return True
    if isinstance(y, AnyOf) and any(implies(x, item) for item in y.items):
        return True
    if isinstance(x, Not) and isinstance(y, Not):
        return implies(y.item, x.item)
    if isinstance(x, FactTest) and isinstance(y, FactTest):
        return _bound_implies(x, y)
    return False


_LOWER = ("at_least", "above")
_UPPER = ("at_most", "below")


def _bound_implies(x: FactTest, y: FactTest) -> bool:
    """Numeric tests on one fact: ``at_least 8`` implies ``at_least 4``, and so on."""
    if x.fact != y.fact or x.value is None or y.value is None:
        return False
    xc, yc, xv, yv = x.comparator, y.comparator, x.value, y.value
    if xc == "equals":
        return {
            "equals": xv == yv,
            "at_least": xv >= yv,
            "above": xv > yv,
            "at_most": xv <= yv,
            "below": xv < yv,
        }.get(str(yc), False)
    if xc in _LOWER and yc in _LOWER:
        # x: v >= xv (or v > xv); y: v >= yv (or v > yv).
        if yc == "at_least" or xc == "above":
            return xv >= yv
        return xv > yv  # x at_least, y above
    if xc in _UPPER and yc in _UPPER:
        if yc == "at_most" or xc == "below":
            return xv <= yv
        return xv < yv  # x at_most, y below
    return False
