"""Settings never make a determination less severe: only evidence or a person's judgement.

A threshold's indicators and the statistics of its assessment (the numeric
threshold, the early-warning value, the comparator, the confidence, the
resamples and the seed) live in ``scaleguard.toml``, which the operator edits
freely. Re-assessing the same evidence record under a raised threshold turns
``crossed`` into ``alert`` and lets the next decision proceed, with nothing but
a changed number in the new determination's parameters to show for it.

The same holds for a mapping changed to another evidence record that was
already there (an easier task, another metric). So a new determination of an
indicator that is less severe than the one it replaces, resting on evidence
recorded before that determination, is refused unless a person has recorded
that judgement first: an override of the threshold, recorded after the
determination it loosens, to a state no more severe than the new one. New
evidence (recorded after it) still moves a determination either way, and a
change that makes one more severe is always taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scaleguard.determinations.assess import Assessment
from scaleguard.determinations.state import severity
from scaleguard.errors import ConflictError
from scaleguard.store.records import Determination, Evidence, Override

__all__ = ["Loosened", "judged", "loosened", "refusal"]

#: The parameters a determination records that come from the workspace's settings.
SETTINGS = ("comparator", "threshold", "early_warning", "confidence", "resamples", "seed")


@dataclass(frozen=True)
class Loosened:
    """One indicator's determination that the settings, not the evidence, would loosen."""

    threshold_id: str
    before: Determination
    after: Assessment
    params: Mapping[str, Any]


def loosened(before: Determination, after: Assessment, evidence: Sequence[Evidence]) -> bool:
    """``after`` is less severe than ``before`` and rests on evidence that was recorded
    before ``before`` was (a record not among ``evidence`` counts as such)."""
    if severity(after.state) >= severity(before.state):
        return False
    at = next((e.ledger_index for e in evidence if e.id == after.evidence_id), -1)
    return at < before.ledger_index


def judged(overrides: Sequence[Override], item: Loosened) -> bool:
    """A person recorded, after ``item.before``, that the threshold stands no more severe
    than the new state."""
    return any(
        o.threshold_id == item.threshold_id
        and o.ledger_index > item.before.ledger_index
        and severity(o.state) <= severity(item.after.state)
        for o in overrides
    )


def _changes(item: Loosened) -> str:
    before, after, params = item.before, item.after, item.params
    changed = [
        f"{key} {before.params.get(key)!r} -> {params.get(key)!r}"
        for key in SETTINGS
        if before.params.get(key) != params.get(key)
    ]
    if before.evidence_ids != (after.evidence_id,):
        earlier = ", ".join(f"#{i}" for i in before.evidence_ids) or "none"
        changed.append(f"evidence {earlier} -> #{after.evidence_id}")
    return ", ".join(changed) if changed else "the assessment method of this scaleguard"


def refusal(model: str, framework_ref: str, items: Sequence[Loosened]) -> ConflictError:
    """The error that names each loosened determination, what changed and the way out."""
    said = "; ".join(
        f"{i.threshold_id} ({i.after.indicator_id}): {i.before.state} -> {i.after.state} on "
        f"evidence #{i.after.evidence_id}, recorded before the determination it would replace "
        f"({_changes(i)})"
        for i in items
    )
    first = items[0]
    return ConflictError(
        f"refusing to determine {model} under {framework_ref}: a change of settings, not of "
        f"evidence, would make {len(items)} determination(s) less severe: {said}",
        hint="restore the setting in scaleguard.toml; if a person judges the new one right, "
        f"record that first: scaleguard override {model} {first.threshold_id} --state "
        f'{first.after.state} --by NAME --why "..." (then run it again)',
    )
