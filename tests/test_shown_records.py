"""What the registry, evidence, attestation and fact listings show is what the ledger's key
signed, all of it: an administrator without the key who edits or deletes such a row gets a
refusal (exit 1) from `models list`/`show`, `evidence list`, `safeguards list` and
`facts list`, not the forged listing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scaleguard.errors import LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.web import console
from scaleguard.workspace import shown
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

MODEL = "aurora-3"
Cli = Callable[..., Any]

#: (the edit, the command whose listing it touches)
ATTACKS = {
    "a model's safeguards raised": (
        f"UPDATE models SET safeguards_level = 'ASL-4' WHERE name = '{MODEL}'",
        ("models", "list"),
    ),
    "a model deleted": ("DELETE FROM model_scores; DELETE FROM models", ("models", "list")),
    "an evidence value lowered": (
        "UPDATE evidence SET value = 0.01 WHERE value IS NOT NULL",
        ("evidence", "list"),
    ),
    "an evidence record deleted": (
        "DELETE FROM evidence WHERE id = (SELECT max(id) FROM evidence)",
        ("evidence", "list"),
    ),
    "an attestation deleted": (
        "DELETE FROM attestations WHERE id = (SELECT max(id) FROM attestations)",
        ("safeguards", "list"),
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_edited_or_deleted_record_is_not_listed(lab: Workspace, cli: Cli, name: str) -> None:
    edit, command = ATTACKS[name]
    assert cli(*command, "--workspace", lab.root, "--json").code == 0
    attack(lab, *(sql(part) for part in edit.split("; ")))
    rows.forget()
    result = cli(*command, "--workspace", lab.root, "--json")
    assert result.code == 1, result
    error = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError" and error["message"].startswith("refusing to")


def test_a_deleted_workspace_wide_fact_is_not_listed(lab: Workspace, cli: Cli) -> None:
    with lab.store.write() as tx:
        repo.add_fact(tx, name="external_review", value=True, source="https://x", asserted_by="a")
    attack(lab, sql("DELETE FROM facts WHERE name = 'external_review'"))
    rows.forget()
    for args in (("facts", "list"), ("facts", "list", "--model", MODEL)):
        result = cli(*args, "--workspace", lab.root)
        assert result.code == 1 and "signed row was deleted" in result.err, result


def test_the_console_and_the_library_refuse_too(lab: Workspace) -> None:
    attack(lab, sql(f"UPDATE models SET developer = 'someone else' WHERE name = '{MODEL}'"))
    rows.forget()
    for read in (
        lambda: shown.registry(lab),
        lambda: shown.model_entry(lab, MODEL),
        lambda: console.models(lab),
    ):
        with pytest.raises(LedgerIntegrityError, match="does not match"):
            read()


def test_honest_listings_work_from_a_fresh_process(lab: Workspace) -> None:
    rows.forget()
    models, _ = shown.registry(lab)
    assert MODEL in [m.name for m in models]
    model, _, attested = shown.model_entry(lab, MODEL)
    assert model.name == MODEL
    assert shown.attestations(lab, MODEL) == attested
    assert shown.evidence(lab) and shown.facts(lab) == shown.facts(lab, None)
