"""One State type and one severity order, used by every ranking of states."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from scaleguard.decisions.model import State as DecisionState
from scaleguard.determinations import State, StateName, severity, worst

SRC = Path(__file__).resolve().parent.parent / "src" / "scaleguard"
DOCUMENTED = ["below", "missing", "alert", "ambiguous", "crossed"]


def test_the_order_is_the_documented_one() -> None:
    assert [s.value for s in State] == DOCUMENTED
    assert list(get_args(StateName)) == DOCUMENTED
    assert DecisionState is StateName
    assert sorted(reversed(DOCUMENTED), key=severity) == DOCUMENTED
    risk_reports = (SRC.parent.parent / "docs" / "risk-reports.md").read_text(encoding="utf-8")
    assert "`" + " < ".join(DOCUMENTED) + "`" in risk_reports


def test_missing_is_never_as_good_as_below() -> None:
    assert worst(["below", "missing"]) is State.MISSING
    assert worst(["missing", "alert"]) is State.ALERT
    assert worst([]) is None
    # a state this version does not know ranks as missing, never as below
    assert severity("retired") == severity("missing") > severity("below")


def _state_rankings(tree: ast.AST) -> list[int]:
    """Lines of dict literals mapping state names to numbers: a ranking of its own."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            numbers = all(isinstance(v, ast.Constant) and type(v.value) is int for v in node.values)
            if {"below", "crossed"} <= keys and numbers:
                found.append(node.lineno)
    return found


def test_no_module_keeps_a_ranking_of_its_own() -> None:
    """determinations, decisions and reports once ranked 'missing' three different ways."""
    own = {
        f"{path.relative_to(SRC)}:{line}"
        for path in SRC.rglob("*.py")
        for line in _state_rankings(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert own == set()
    assert _state_rankings(ast.parse('R = {"below": 0, "crossed": 1}')) == [1]
