"""What a Risk Report is assembled from: plain values read from the workspace.

:mod:`scaleguard.reports.gather` fills these from the store and the
framework; :mod:`scaleguard.reports.assemble` turns them into the report's
content without any I/O, so tests can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from scaleguard.roadmap.model import ReportCard


@dataclass(frozen=True)
class ModelInfo:
    name: str
    developer: str
    status: str
    released_on: date | None
    effective_compute: float | None
    parent: str | None
    safeguards_level: str | None
    generation: int
    covered: bool


@dataclass(frozen=True)
class IndicatorInfo:
    id: str
    metric: str
    task: str | None
    comparator: str
    threshold: float
    early_warning: float | None


@dataclass(frozen=True)
class ThresholdInfo:
    id: str
    name: str
    domain: str
    kind: str
    level: int
    level_label: str | None
    description: str | None
    response: str | None
    required_safeguards: tuple[str, ...]
    ambiguity_policy: str
    indicators: tuple[IndicatorInfo, ...] = ()
    recommended_safeguards: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainInfo:
    id: str
    name: str
    status: str
    description: str | None


@dataclass(frozen=True)
class DeterminationInfo:
    """A model's current standing on one indicator of one threshold."""

    model: str
    threshold_id: str
    indicator_id: str | None
    state: str
    estimate: float | None
    low: float | None
    high: float | None
    method: str
    evidence_ids: tuple[int, ...]
    determination_id: int | None
    ledger_index: int | None
    override_state: str | None = None
    override_by: str | None = None
    override_reason: str | None = None

    @property
    def effective_state(self) -> str:
        return self.override_state or self.state


@dataclass(frozen=True)
class SafeguardInfo:
    model: str
    standard: str
    standard_name: str
    attested_by: str
    evidence_url: str
    attested_on: date
    ledger_index: int


@dataclass(frozen=True)
class DecisionInfo:
    id: int
    decided_on: date
    model: str
    action: str
    outcome: str
    framework_ref: str
    ledger_index: int
    summary: str


@dataclass(frozen=True)
class ReportInputs:
    developer: str
    period: str
    period_start: date
    period_end: date
    coverage_date: date
    drafted_on: date
    framework_ref: str
    framework_title: str
    framework_ambiguity_policy: str
    confidence: float
    models: tuple[ModelInfo, ...]
    domains: tuple[DomainInfo, ...]
    thresholds: tuple[ThresholdInfo, ...]
    determinations: tuple[DeterminationInfo, ...]
    safeguards: tuple[SafeguardInfo, ...]
    standard_names: dict[str, str] = field(default_factory=dict)
    decisions: tuple[DecisionInfo, ...] = ()
    roadmap: ReportCard | None = None
    roadmap_note: str | None = None

    @property
    def covered(self) -> tuple[ModelInfo, ...]:
        return tuple(m for m in self.models if m.covered)
