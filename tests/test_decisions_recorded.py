"""What readers are shown of recorded decisions is what the ledger's key signed, all of it.

An administrator without the key turns a recorded STOP into PROCEED, or deletes the decision
that said STOP: `decisions list` and `show`, and the console, refuse instead of showing it.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scaleguard.decisions import service
from scaleguard.decisions.recorded import recorded_decision, recorded_decisions
from scaleguard.errors import LedgerIntegrityError
from scaleguard.store.ledger import rows
from scaleguard.web import console
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

MODEL = "aurora-3"
Cli = Callable[..., Any]


def decided(lab: Workspace) -> int:
    return service.decide(lab, MODEL, "train", by="rso").decision_id


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ("UPDATE decisions SET outcome = 'PROCEED' WHERE id = :i", "does not match"),
        ("DELETE FROM decisions WHERE id = :i", "signed row was deleted"),
    ],
)
def test_an_edited_or_deleted_decision_is_not_shown(
    lab: Workspace, cli: Cli, edit: str, says: str
) -> None:
    first = decided(lab)
    second = decided(lab)
    assert [d.id for d in recorded_decisions(lab)][-2:] == [first, second]
    attack(lab, sql(edit, i=first))
    rows.forget()
    for read in (
        lambda: recorded_decisions(lab),
        lambda: recorded_decisions(lab, MODEL),
        lambda: recorded_decision(lab, second),
        lambda: console.decision_list(lab),
    ):
        with pytest.raises(LedgerIntegrityError, match=says):
            read()
    for args in (("decisions", "list"), ("decisions", "show", str(second))):
        result = cli(*args, "--workspace", lab.root, "--json")
        assert result.code == 1, result
        assert json.loads(result.out)["error"]["type"] == "LedgerIntegrityError"


def test_honest_decisions_are_listed_and_shown(lab: Workspace, cli: Cli) -> None:
    made = decided(lab)
    rows.forget()
    found, every = recorded_decision(lab, made)
    assert found.id == made and made in [d.id for d in every]
    result = cli("decisions", "show", str(made), "--workspace", lab.root, "--json")
    assert result.code == 0 and json.loads(result.out)["id"] == made
