"""The scaling decision: evaluate a requested action under a framework, explained.

:func:`decide` is pure: a loaded framework and a :class:`DecisionInput` (the
model, its findings per threshold, attestations, competitors, asserted facts)
give a :class:`Decision` with the outcome, the rules that fired, the facts used
and what would change the outcome. The rules are documented in
``docs/decisions.md``. Deciding from a workspace (recording determinations and
decisions in its ledger) is :mod:`scaleguard.decisions.service`, which loads the
database layer and is therefore not imported here.
"""

from scaleguard.decisions.engine import decide, is_recommended, is_required
from scaleguard.decisions.model import (
    SEVERITY,
    AssertedFact,
    Attestation,
    Counterfactual,
    Decision,
    DecisionInput,
    FactOut,
    Finding,
    Outcome,
    RegistryModel,
    RuleOut,
    SafeguardOut,
    State,
    ThresholdOut,
    Treatment,
    Trigger,
)

__all__ = [
    "SEVERITY",
    "AssertedFact",
    "Attestation",
    "Counterfactual",
    "Decision",
    "DecisionInput",
    "FactOut",
    "Finding",
    "Outcome",
    "RegistryModel",
    "RuleOut",
    "SafeguardOut",
    "State",
    "ThresholdOut",
    "Treatment",
    "Trigger",
    "decide",
    "is_recommended",
    "is_required",
]
