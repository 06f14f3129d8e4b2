"""The conditional ``relax_safeguards`` path: a relaxing rule whose condition holds sets
the rules it names aside; unknown or false, it relaxes nothing (fail closed).

The built-in frameworks encode their escape clauses as discretionary (reported, never
applied), so this path runs only for a framework that makes the clause conditional:
the minimal framework below does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scaleguard.decisions.engine import decide
from scaleguard.decisions.model import (
    AssertedFact,
    Decision,
    DecisionInput,
    Finding,
    RegistryModel,
)
from scaleguard.framework.loader import LoadedFramework, load_bytes
from scaleguard.framework.yamlsource import read_yaml

MINIMAL = (Path(__file__).parent / "data" / "minimal.yaml").read_text()
SUBJECT = RegistryModel("aurora-3", "Fictional Lab", own=True, scores={"bio": 0.9})
CROSSED = Finding("bio-uplift", "crossed", estimate=0.9, low=0.85, high=0.95)
GATE = "no-deploy-without-safeguards"
RELAX = "lower-safeguards-if-risk-small"


def _framework(force: str = "conditional") -> LoadedFramework:
    data: dict[str, Any] = read_yaml(MINIMAL, "minimal.yaml")[0]
    data["commitments"].append(
        {
            "id": RELAX,
            "name": "Lower the required safeguards when the added risk is small",
            "kind": "competitor_response",
            "force": force,
            "scope": "competitor_contingent",
            "applies_to": ["deploy_external"],
            "trigger": {"when": "required_safeguards_unmet"},
            "condition": {"fact": "marginal_risk_small"},
            "outcome": "relax_safeguards",
            "relaxes": [GATE],
            "source": {"doc": "policy", "section": "§6"},
        }
    )
    return load_bytes(yaml.safe_dump(data, sort_keys=False), "minimal.yaml")


def _decide(fw: LoadedFramework, small: bool | None, finding: Finding = CROSSED) -> Decision:
    asserted = (
        {}
        if small is None
        else {
            "marginal_risk_small": AssertedFact(
                "marginal_risk_small", small, "https://lab.example/assessment", "rso"
            )
        }
    )
    inp = DecisionInput(
        SUBJECT, "deploy_external", {finding.threshold_id: finding}, {}, (), asserted
    )
    return decide(fw, inp)


def _rule(d: Decision, commitment: str) -> Any:
    return next(r for r in d.rules if r.commitment == commitment)


def test_a_holding_condition_sets_the_named_rule_aside() -> None:
    d = _decide(_framework(), small=True)
    gate = _rule(d, GATE)
    assert not gate.applied and gate.effect is None
    assert gate.reason == f"set aside by {RELAX}, whose condition holds"
    assert d.outcome == "proceed_with_conditions"  # the unattested safeguard is still named
    assert any("level-2-security" in c for c in d.conditions)
    # the set-aside gate is what decided the outcome, and the summary says why
    assert d.deciding_rules == [GATE]
    assert f"{GATE} (binding, unilateral) does not apply: set aside by {RELAX}" in d.summary
    relax = _rule(d, RELAX)
    assert relax.applied and relax.condition_value == "true"


@pytest.mark.parametrize("small", [False, None])
def test_a_false_or_unknown_condition_relaxes_nothing(small: bool | None) -> None:
    d = _decide(_framework(), small=small)
    gate = _rule(d, GATE)
    assert gate.applied and gate.effect == "not_permitted"
    assert d.outcome == "not_permitted"
    assert d.deciding_rules == [GATE]
    assert "set aside" not in gate.reason


def test_a_discretionary_clause_never_relaxes() -> None:
    """The shape of the built-in escape clauses: reported, not applied, even when it holds."""
    d = _decide(_framework(force="discretionary"), small=True)
    assert _rule(d, GATE).applied
    assert d.outcome == "not_permitted"


def test_the_clause_only_relaxes_when_its_trigger_fires() -> None:
    """Below the threshold nothing fires, so there is nothing to relax (and nothing set aside)."""
    below = Finding("bio-uplift", "below", estimate=0.1, low=0.05, high=0.15)
    d = _decide(_framework(), small=True, finding=below)
    assert "set aside" not in _rule(d, GATE).reason
    assert d.deciding_rules == []


def test_what_would_change_names_the_relaxing_fact() -> None:
    """Under the gate, asserting the fact is a change that would alter the outcome."""
    d = _decide(_framework(), small=False)
    assert d.outcome == "not_permitted"
    changes = {c.change: c.outcome for c in d.what_would_change}
    assert any("marginal_risk_small" in change for change in changes), changes
