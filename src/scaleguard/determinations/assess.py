"""From evidence to capability determinations, per threshold.

Which evidence speaks to which threshold is declared by indicators: in the
framework document, or in the workspace (``[[indicators]]`` in
``scaleguard.toml``) for a developer's own evaluations. For each indicator the
latest matching evidence record of the model is taken, an interval computed
(bootstrap over per-sample scores, seeded) and classified. A threshold with
several indicators takes the most severe state among them: one alarming
indicator is not averaged away by reassuring ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scaleguard.determinations.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Interval,
    estimate_interval,
)
from scaleguard.determinations.state import classify
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import Comparator

_SEVERITY = {"below": 0, "alert": 1, "ambiguous": 2, "crossed": 3}


@dataclass(frozen=True)
class IndicatorSpec:
    """An indicator bound to the thresholds it informs (ids or legacy aliases)."""

    id: str
    thresholds: tuple[str, ...]
    metric: str
    comparator: Comparator
    threshold: float
    early_warning: float | None = None
    task: str | None = None
    framework: str | None = None  # framework id this workspace indicator is for; None = any
    origin: str = "framework"

    def matches(self, task: str, metric: str) -> bool:
        if self.task is not None and task != self.task:
            return False
        return metric == self.metric or metric.rsplit("/", 1)[-1] == self.metric


@dataclass(frozen=True)
class EvidencePoint:
    id: int
    task: str
    metric: str
    value: float
    sample_scores: tuple[float, ...] | None = None
    stderr: float | None = None
    ingested_at: str = ""


@dataclass(frozen=True)
class Assessment:
    threshold_id: str
    indicator_id: str
    state: str
    interval: Interval
    evidence_id: int
    indicator: IndicatorSpec


def indicators_for(
    fw: LoadedFramework, workspace: Iterable[IndicatorSpec] = ()
) -> dict[str, list[IndicatorSpec]]:
    """Every threshold's indicators: its own, plus workspace ones naming its id or an alias."""
    out: dict[str, list[IndicatorSpec]] = {t.id: [] for t in fw.doc.thresholds}
    names = {t.id: {t.id, *t.legacy_aliases} for t in fw.doc.thresholds}
    for t in fw.doc.thresholds:
        for ind in t.indicators:
            out[t.id].append(
                IndicatorSpec(
                    id=ind.id,
                    thresholds=(t.id,),
                    metric=ind.metric,
                    comparator=ind.comparator,
                    threshold=ind.threshold,
                    early_warning=ind.early_warning,
                    task=ind.task,
                    framework=fw.doc.framework.id,
                )
            )
    for spec in workspace:
        if spec.framework is not None and spec.framework != fw.doc.framework.id:
            continue
        for tid, known in names.items():
            if known & set(spec.thresholds):
                out[tid].append(spec)
    return out


def latest(evidence: Sequence[EvidencePoint], spec: IndicatorSpec) -> EvidencePoint | None:
    """The most recent matching record (ingestion time, then id, so ties are stable)."""
    matching = [e for e in evidence if spec.matches(e.task, e.metric)]
    if not matching:
        return None
    return max(matching, key=lambda e: (e.ingested_at, e.id))


def assess(
    fw: LoadedFramework,
    evidence: Sequence[EvidencePoint],
    workspace: Iterable[IndicatorSpec] = (),
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> dict[str, list[Assessment]]:
    """Assessments per threshold id; a threshold with no evidence gets an empty list."""
    out: dict[str, list[Assessment]] = {}
    for tid, specs in indicators_for(fw, workspace).items():
        found: list[Assessment] = []
        for spec in specs:
            point = latest(evidence, spec)
            if point is None:
                continue
            interval = estimate_interval(
                point.value,
                list(point.sample_scores) if point.sample_scores is not None else None,
                point.stderr,
                resamples=resamples,
                confidence=confidence,
                seed=seed,
            )
            state = classify(
                interval.low,
                interval.high,
                interval.estimate,
                spec.comparator,
                spec.threshold,
                spec.early_warning,
            )
            found.append(Assessment(tid, spec.id, str(state), interval, point.id, spec))
        out[tid] = found
    return out


def worst(assessments: Sequence[Assessment]) -> Assessment | None:
    """The most severe assessment of a threshold (ties: the first indicator listed)."""
    if not assessments:
        return None
    return max(assessments, key=lambda a: _SEVERITY[a.state])
