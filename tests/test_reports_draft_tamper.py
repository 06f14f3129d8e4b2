"""A database administrator without the key edits what a Risk Report is drafted from.

``report new`` reads the model registry, every model generation's
determinations and overrides, the covered models' safeguard attestations, the
decisions of the period and the roadmap, and freezes what it read into the
report's content, which the key then signs as the report's own. The
administrator drops (SQLite) or disables (PostgreSQL) the append-only triggers,
edits or deletes such a row and puts the triggers back; the ledger entries are
untouched. Drafting refuses (LedgerIntegrityError, CLI exit 1, HTTP 500) and
records nothing: no report, no determination, no framework use. Each edit is
followed by a fresh process's view (nothing remembered). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import build_lab
from dba_sql import as_dba, row_counts
from scaleguard.decisions import service as decisions
from scaleguard.demo import demo_roadmap_file
from scaleguard.errors import LedgerIntegrityError
from scaleguard.reports import service as reports
from scaleguard.roadmap.store import import_file
from scaleguard.store.ledger import rows
from scaleguard.store.ledger.census import census_path
from scaleguard.web import accounts
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

#: What drafting reads, and what it could record (reports, determinations, framework use).
TABLES = (
    "models",
    "evidence",
    "determinations",
    "overrides",
    "attestations",
    "decisions",
    "roadmap_goals",
    "roadmap_updates",
    "risk_reports",
    "frameworks_loaded",
)
DELETED = "signed row was deleted"
REFUSING = "refusing to draft a Risk Report for 2026-Q4: "
WHY = "Red-teaming found uplift the evaluation missed."


def _build(folder: Path, pg_url: str | None) -> None:
    """The demo's lab (aurora-1 to -3, evidence, ASL-3 attestations) with a decision about
    aurora-3, an override raising one of its thresholds, and the demo's roadmap."""
    build_lab(folder, pg_url)
    ws = open_workspace(folder / "lab")
    try:
        decisions.decide(ws, "aurora-3", "train", by="rso")
        decisions.override(ws, "aurora-3", "automated-rd", "crossed", by="rso", justification=WHY)
        source = folder / "roadmap.yaml"
        source.write_bytes(demo_roadmap_file().read_bytes())
        import_file(ws, source, by="rso")
    finally:
        ws.close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    workspace_copy("reports draft tamper", _build)
    rows.forget()
    with open_workspace(tmp_path / "lab") as workspace:
        yield workspace


def draft(ws: Workspace) -> Any:
    return reports.draft(ws, period="2026-Q4", models=["aurora-3"], by="rso")


def refused(ws: Workspace) -> str:
    """Drafting must raise LedgerIntegrityError (a server's fault: status 500) and record
    nothing. Its message."""
    before = row_counts(ws, TABLES)
    with pytest.raises(LedgerIntegrityError) as caught:
        draft(ws)
    assert row_counts(ws, TABLES) == before
    assert caught.value.message.startswith(REFUSING), caught.value.message
    assert caught.value.status == 500
    assert "ledger verify --full" in caught.value.hint
    rows.forget()
    return caught.value.message


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        # the decision the report lists
        ("UPDATE decisions SET outcome = 'proceed'", "decisions row id 1"),
        ("DELETE FROM decisions", DELETED),
        # the safeguards it says are in place
        ("UPDATE attestations SET evidence_url = 'https://lab.example/forged' "
         "WHERE model = 'aurora-3'", "attestations row id"),
        ("DELETE FROM attestations WHERE model = 'aurora-3' AND standard = 'asl-3-security'",
         DELETED),
        # a capability finding (one no override answers)
        ("DELETE FROM determinations WHERE id = (SELECT max(id) FROM determinations WHERE id "
         "NOT IN (SELECT supersedes_determination_id FROM overrides))", DELETED),
        ("UPDATE determinations SET estimate = 0.01 WHERE model = 'aurora-3'",
         "determinations row id"),
        # the human override that raised a threshold
        ("DELETE FROM overrides", DELETED),
        # the registry: which generations the charts compare
        ("UPDATE models SET parent = NULL WHERE name = 'aurora-3'", "models row id"),
        # the evidence determinations are brought up to date from
        ("DELETE FROM evidence WHERE id = (SELECT max(id) FROM evidence)", DELETED),
        # the roadmap's report card
        ("DELETE FROM roadmap_updates WHERE status = 'blocked'", DELETED),
        ("UPDATE roadmap_goals SET target = '2027-12-31' "
         "WHERE goal = 'sfg-automated-investigations'", "roadmap_goals row id"),
    ],
    ids=[
        "decision-edited", "decision-deleted", "attestation-edited", "attestation-deleted",
        "determination-deleted", "determination-edited", "override-deleted", "registry-edited",
        "evidence-deleted", "roadmap-update-deleted", "roadmap-goal-edited",
    ],
)  # fmt: skip
def test_a_tampered_input_is_not_drafted_into_a_report(ws: Workspace, sql: str, found: str) -> None:
    as_dba(ws, TABLES, sql)
    assert found in refused(ws)


def test_refused_drafts_exit_1_and_answer_500(ws: Workspace, cli: Any) -> None:
    as_dba(ws, TABLES, "DELETE FROM decisions")
    before = row_counts(ws, TABLES)
    result = cli(
        "report", "new", "--period", "2026-Q4", "--models", "aurora-3", "--by", "rso",
        "--workspace", ws.root, "--json",
    )  # fmt: skip
    assert result.code == 1, result
    error = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError" and error["exit_code"] == 1
    assert error["message"].startswith(REFUSING + "decisions: ") and DELETED in error["message"]
    rows.forget()
    from scaleguard.web.app import create_app

    accounts.add_user(ws.store, "rso", "rso", by="test")
    token, _ = accounts.create_token(ws.store, "rso", "write", "1d")
    before = row_counts(ws, TABLES)
    with TestClient(create_app(ws.root), base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/risk-reports",
            json={"period": "2026-Q4", "models": ["aurora-3"]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 500, response.text[:300]
    assert response.json()["error"]["code"] == "ledger_integrity"
    assert DELETED in response.text
    assert row_counts(ws, TABLES) == before


def test_honest_drafting_works_from_a_fresh_process(ws: Workspace) -> None:
    """Nothing edited: a draft from a process that proved nothing and whose census file is
    gone (counted again from the ledger), then one from a warm process."""
    census_path(ws.ledger_state_path).unlink()
    rows.forget()
    first = draft(ws)
    text = json.dumps(first.content)
    assert f"crossed by rso: {WHY}" in text and "proceed_with_conditions" in text
    assert "asl-3-security" in text and "sfg-automated-investigations" in text
    second = draft(ws)
    assert second.id == first.id + 1 and second.content_sha256 == first.content_sha256
