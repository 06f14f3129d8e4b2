"""From evidence to capability determinations, per threshold.

Which evidence speaks to which threshold is declared by indicators: in the
framework document, or in the workspace (``[[indicators]]`` in
``scaleguard.toml``) for a developer's own evaluations. A threshold with
several indicators takes the most severe state among them: one alarming
indicator is not averaged away by reassuring ones.

Which record an indicator uses. Every matching record of the model gets an
interval (bootstrap over per-sample scores, seeded; else normal from a
standard error; else Wilson from a sample count; else a bare point) and a
*strength*: the method's rank (bootstrap > normal > Wilson > point), then the
number of samples. The strongest record is used, the newest among equally
strong ones. A newer but weaker record never silently replaces it: it is used
instead only when it is *more severe* (weak evidence may tighten a
determination, never loosen it), and the ``basis`` of the assessment says
which record was used and why.

A bare number (no per-sample scores, standard error or sample count) says
nothing about its uncertainty. It can show a threshold crossed, but never
below it: a bare value short of the threshold is ``ambiguous``, which the
framework's ambiguity policy then treats as crossed or as unresolved.
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
from scaleguard.determinations.state import classify, severity
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import Comparator


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
    sample_count: int | None = None


@dataclass(frozen=True)
class Assessment:
    threshold_id: str
    indicator_id: str
    state: str
    interval: Interval
    evidence_id: int
    indicator: IndicatorSpec
    basis: str = ""


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


_METHOD_RANK = {"point": 0, "wilson": 1, "normal": 2, "bootstrap": 3}


def latest(evidence: Sequence[EvidencePoint], spec: IndicatorSpec) -> EvidencePoint | None:
    """The most recent matching record (ingestion time, then id, so ties are stable)."""
    matching = [e for e in evidence if spec.matches(e.task, e.metric)]
    if not matching:
        return None
    return max(matching, key=_recency)


def _recency(e: EvidencePoint) -> tuple[str, int]:
    return (e.ingested_at, e.id)


def strength(interval: Interval) -> tuple[int, int]:
    """How much an interval knows: its method's rank, then its sample count."""
    return (_METHOD_RANK[interval.method], interval.n or 0)


def describe_strength(interval: Interval) -> str:
    n = f" on {interval.n} samples" if interval.n else ""
    return {
        "bootstrap": f"bootstrap interval over per-sample scores{n}",
        "normal": f"normal interval from the reported standard error{n}",
        "wilson": f"Wilson interval from the sample count{n}",
        "point": "a bare value with no uncertainty information (no per-sample scores, "
        "standard error or sample count)",
    }[interval.method]


def state_of(interval: Interval, spec: IndicatorSpec) -> str:
    """The state of one interval against one indicator; a bare value is never below."""
    state = str(
        classify(
            interval.low,
            interval.high,
            interval.estimate,
            spec.comparator,
            spec.threshold,
            spec.early_warning,
        )
    )
    if interval.method == "point" and state in ("below", "alert"):
        return "ambiguous"
    return state


def choose(
    candidates: Sequence[tuple[EvidencePoint, Interval, str]],
) -> tuple[EvidencePoint, Interval, str, str]:
    """The record an indicator uses among its assessed candidates, and why (see module doc)."""
    strongest = max(candidates, key=lambda c: (strength(c[1]), _recency(c[0])))
    point, interval, state = strongest
    why = f"evidence #{point.id} used: {describe_strength(interval)}"
    newest = max(candidates, key=lambda c: _recency(c[0]))
    if newest[0].id != point.id:
        why += f"; newer evidence #{newest[0].id} is weaker ({describe_strength(newest[1])})"
    newer = [c for c in candidates if _recency(c[0]) > _recency(point)]
    severe = max(newer, key=lambda c: (severity(c[2]), _recency(c[0])), default=None)
    if severe is not None and severity(severe[2]) > severity(state):
        why = (
            f"evidence #{severe[0].id} used: newer and weaker "
            f"({describe_strength(severe[1])}) than #{point.id} "
            f"({describe_strength(interval)}), but more severe ({severe[2]} rather than "
            f"{state}); weaker evidence may tighten a determination, never loosen it"
        )
        return severe[0], severe[1], severe[2], why
    if newest[0].id != point.id:
        why += ", so it does not replace the stronger record"
    if interval.method == "point" and state == "ambiguous":
        why += "; a bare value cannot show that the threshold is not reached"
    return point, interval, state, why


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
    intervals: dict[int, Interval] = {}
    for tid, specs in indicators_for(fw, workspace).items():
        found: list[Assessment] = []
        for spec in specs:
            candidates = []
            for point in evidence:
                if not spec.matches(point.task, point.metric):
                    continue
                interval = intervals.get(point.id)
                if interval is None:
                    interval = estimate_interval(
                        point.value,
                        list(point.sample_scores) if point.sample_scores is not None else None,
                        point.stderr,
                        sample_count=point.sample_count,
                        resamples=resamples,
                        confidence=confidence,
                        seed=seed,
                    )
                    intervals[point.id] = interval
                candidates.append((point, interval, state_of(interval, spec)))
            if not candidates:
                continue
            used, interval, state, why = choose(candidates)
            found.append(Assessment(tid, spec.id, state, interval, used.id, spec, why))
        out[tid] = found
    return out


def worst(assessments: Sequence[Assessment]) -> Assessment | None:
    """The most severe assessment of a threshold (ties: the first indicator listed)."""
    if not assessments:
        return None
    return max(assessments, key=lambda a: severity(a.state))
