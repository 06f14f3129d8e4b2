"""Typed inputs and outputs of the scaling decision.

Inputs are plain frozen values gathered from the workspace (no database
handles), so the engine is a pure function and the same facts always give the
same decision. The output is a Pydantic model because it is stored, hashed into
the ledger and printed as JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from scaleguard.determinations.state import StateName
from scaleguard.framework.model import Action

#: A threshold's state: the one order and vocabulary of :mod:`scaleguard.determinations.state`.
State = StateName
#: How the decision treats a threshold's state.
Treatment = Literal["crossed", "below", "unresolved", "not a trigger"]
#: Whether a rule's trigger fired: ``unknown`` when it would fire if an unresolved
#: threshold turned out crossed; ``n/a`` for an obligation without an outcome.
Trigger = Literal["fired", "not fired", "unknown", "n/a"]
Outcome = Literal["proceed", "proceed_with_conditions", "delay", "pause", "not_permitted"]

#: Severity order: a decision takes the most severe outcome of the rules that apply.
SEVERITY: dict[str, int] = {
    "proceed": 0,
    "proceed_with_conditions": 1,
    "delay": 2,
    "pause": 3,
    "not_permitted": 4,
}


@dataclass(frozen=True)
class Finding:
    """The capability determination for one threshold, as the decision sees it."""

    threshold_id: str
    state: State
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    indicator: str | None = None
    evidence_ids: tuple[int, ...] = ()
    determination_id: int | None = None
    override_by: str | None = None
    override_reason: str | None = None


#: Registry statuses of a model that exists or is being made but is not public: for
#: competitor-contingent clauses, a competitor that "will soon develop" a model.
IN_DEVELOPMENT: frozenset[str] = frozenset({"planned", "training", "internal"})


@dataclass(frozen=True)
class RegistryModel:
    name: str
    developer: str
    own: bool
    released: bool = False
    released_on: dt.date | None = None
    scores: dict[str, float] = field(default_factory=dict)
    safeguards_level: str = "unknown"
    sources: tuple[str, ...] = ()
    status: str | None = None

    @property
    def in_development(self) -> bool:
        """Not released, and recorded as planned, in training or deployed internally."""
        return not self.released and self.status in IN_DEVELOPMENT


@dataclass(frozen=True)
class Attestation:
    standard: str
    attested_by: str
    evidence_url: str
    ledger_index: int | None = None


@dataclass(frozen=True)
class AssertedFact:
    name: str
    value: bool | float
    source: str
    asserted_by: str
    ledger_index: int | None = None


@dataclass(frozen=True)
class DecisionInput:
    model: RegistryModel
    action: Action
    findings: dict[str, Finding]
    attested: dict[str, Attestation]
    others: tuple[RegistryModel, ...] = ()
    asserted: dict[str, AssertedFact] = field(default_factory=dict)
    as_of: dt.date | None = None


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FactOut(_Out):
    name: str
    value: bool | float | None
    basis: str
    sources: list[str] = []


class SafeguardOut(_Out):
    standard: str
    name: str
    kind: str
    force: str
    scope: str
    attested: bool
    attested_by: str | None = None
    evidence_url: str | None = None


class ThresholdOut(_Out):
    id: str
    name: str
    domain: str
    kind: str
    state: State
    treated_as: Treatment
    reason: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    indicator: str | None = None
    evidence_ids: list[int] = []
    override_by: str | None = None
    required: list[SafeguardOut] = []


class RuleOut(_Out):
    commitment: str
    name: str
    kind: str
    force: str
    scope: str
    source: str
    trigger: Trigger
    trigger_detail: str
    condition: str | None = None
    condition_value: Literal["true", "false", "unknown"] | None = None
    applied: bool
    effect: str | None
    reason: str


class Counterfactual(_Out):
    change: str
    outcome: Outcome


class Decision(_Out):
    """A scaling decision with everything needed to check it by hand."""

    format: Literal["scaleguard.decision/1"] = "scaleguard.decision/1"
    framework: str
    framework_digest: str
    model: str
    action: Action
    as_of: str | None
    outcome: Outcome
    summary: str
    deciding_rules: list[str]
    conditions: list[str]
    missing: list[str]
    facts: list[FactOut]
    thresholds: list[ThresholdOut]
    rules: list[RuleOut]
    what_would_change: list[Counterfactual]
