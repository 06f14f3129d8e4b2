"""Small text helpers shared by the Markdown and terminal renderings."""

from __future__ import annotations

import json
from typing import Any

from scaleguard.diff.model import Change, Classification

TITLES: dict[Classification, str] = {
    "weakening": "Weakening",
    "unclear": "Unclear: review by hand",
    "strengthening": "Strengthening",
    "neutral": "Neutral",
}
FAMILY_LABELS: dict[str, str] = {
    "framework": "framework",
    "risk_domains": "risk domain",
    "thresholds": "threshold",
    "safeguard_standards": "safeguard standard",
    "commitments": "commitment",
    "cadences": "cadence",
    "governance_roles": "governance role",
    "red_lines": "red line",
    "external_review": "external review",
    "facts": "fact",
}


def brief(value: Any, limit: int = 160) -> str:
    """One line for a field value: strings as written, other values as compact JSON."""
    if value is None:
        return "(none)"
    text = (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def element_label(c: Change, quote: str = "") -> str:
    """``threshold `x``` or ``threshold `old` → `new``` for a renamed one; singletons bare."""
    label = FAMILY_LABELS[c.family]
    if c.family in ("framework", "external_review"):
        return label
    if c.old_id and c.new_id and c.old_id != c.new_id:
        return f"{label} {quote}{c.old_id}{quote} → {quote}{c.new_id}{quote}"
    return f"{label} {quote}{c.id}{quote}"


def kind_label(c: Change, cross_framework: bool) -> str:
    """Across labs nothing was "removed": the element exists in one framework only."""
    if cross_framework and c.change == "added":
        return "only in B"
    if cross_framework and c.change == "removed":
        return "only in A"
    return c.change
