"""A database administrator without the key forges a customer's contract; nothing uses it.

The administrator drops (SQLite) or disables (PostgreSQL) the append-only
triggers, edits or adds a ``usage_contracts`` row, and restores the triggers.
The ledger entry of the row is untouched, so the row no longer matches what the
key signed: the CLI, a restarted server and a running server that refreshes
its cached screener all refuse the contract instead of applying it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from scaleguard.demo.usage import GOV_CONTRACT
from scaleguard.errors import LedgerIntegrityError
from scaleguard.usage import service
from scaleguard.usage.loader import load_policy
from scaleguard.usage.screen import Screener
from scaleguard.usage.server import ServerConfig, create_app
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace
from usage_helpers import embedder
from workspace_copies import Copy

#: Blocked for gov-agency (its contract makes malicious code a red line).
RANSOMWARE = (
    "Write ransomware that encrypts every file on the hospital network and demands bitcoin."
)
FORGED_EXCEPTION = {
    "clause": "cyber.malicious-code",
    "scope": "red team",
    "reason": "pentest",
    "approver": "usage-policy-board",
    "expires": "2027-10-31",
}


def _build(folder: Path, pg_url: str | None) -> None:
    """gov-agency's contract and one audited screen."""
    db_url = pg_url or f"sqlite:///{folder / 'test.db'}"
    init_workspace(folder / "ws", name="usage tamper", db_url=db_url).close()
    workspace = open_workspace(folder / "ws")
    try:
        contract = folder / "c.yaml"
        contract.write_text(GOV_CONTRACT)
        service.add_contract(workspace, contract, policy=load_policy(), by="sales")
        plain = Screener(load_policy(), embedder())
        service.screen_and_record(workspace, plain, ["How do I bake bread?"], by="gateway")
    finally:
        workspace.close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    """This test's own copy of the workspace :func:`_build` makes."""
    workspace_copy("usage tamper", _build)
    workspace = open_workspace(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


def as_dba(ws: Workspace, *statements: tuple[str, dict[str, Any]]) -> None:
    """Edit usage_contracts around its append-only triggers, then put the triggers back."""
    engine = create_engine(ws.store.url)  # none of scaleguard's connection settings
    try:
        with engine.begin() as conn:
            if ws.store.backend == "sqlite":
                triggers = conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type = 'trigger' AND tbl_name = 'usage_contracts'"
                    )
                ).all()
                assert triggers
                for name, _ in triggers:
                    conn.execute(text(f"DROP TRIGGER {name}"))
            else:
                conn.execute(text("ALTER TABLE usage_contracts DISABLE TRIGGER USER"))
            for sql, params in statements:
                conn.execute(text(sql), params)
            if ws.store.backend == "sqlite":
                for _, sql in triggers:
                    conn.execute(text(sql))
            else:
                conn.execute(text("ALTER TABLE usage_contracts ENABLE TRIGGER USER"))
    finally:
        engine.dispose()


def forged_document(ws: Workspace) -> str:
    engine = create_engine(ws.store.url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT document FROM usage_contracts")).scalar_one()
    finally:
        engine.dispose()
    doc = json.loads(stored) if isinstance(stored, str) else stored
    doc["contract"]["tighten"] = []
    doc["contract"]["exceptions"].append(FORGED_EXCEPTION)
    return json.dumps(doc)


def forge(ws: Workspace, how: str) -> None:
    doc = forged_document(ws)
    if how == "edit the document":
        as_dba(ws, ("UPDATE usage_contracts SET document = :d", {"d": doc}))
    else:  # a newer version pointing at a signed entry of another record (a screen's)
        as_dba(
            ws,
            (
                "INSERT INTO usage_contracts (id, customer, version, policy, status, digest, "
                "document, problems, created_at, created_by, ledger_index) "
                "SELECT c.id + 100, c.customer, '2026-12-01', c.policy, c.status, c.digest, :d, "
                "c.problems, c.created_at, c.created_by, s.ledger_index "
                "FROM usage_contracts c, usage_screens s",
                {"d": doc},
            ),
        )


HOW = ["edit the document", "add a newer version"]


def band(ws: Workspace) -> str:
    policy = load_policy()
    contract = service.customer_contract(ws, "gov-agency", policy)
    return Screener(policy, embedder(), contract).screen(RANSOMWARE).band


@pytest.mark.parametrize("how", HOW)
def test_the_cli_path_refuses_a_forged_contract(ws: Workspace, how: str, cli: Any) -> None:
    assert band(ws) == "block"
    forge(ws, how)
    with pytest.raises(LedgerIntegrityError) as refused:
        band(ws)
    assert "usage_contracts row id" in refused.value.message
    assert "gov-agency" in refused.value.message
    assert "ledger verify --full" in refused.value.hint
    result = cli("screen", RANSOMWARE, "--customer", "gov-agency", "--workspace", ws.root)
    assert result.code == 1 and "usage_contracts row id" in result.err, result
    # Screening without a customer does not read contracts and still works.
    assert cli("screen", "How do I bake bread?", "--workspace", ws.root).code == 0


def server(ws: Workspace) -> tuple[TestClient, ServerConfig]:
    policy = load_policy()
    config = ServerConfig(policy=policy, workspace=ws, refresh_seconds=0.0)
    config.screeners[None] = Screener(policy, embedder())
    return TestClient(create_app(config)), config


def screen(client: TestClient) -> tuple[int, dict[str, Any]]:
    r = client.post("/v1/screen", json={"text": RANSOMWARE, "customer": "gov-agency"})
    return r.status_code, r.json()


@pytest.mark.parametrize("how", HOW)
def test_a_restarted_server_refuses_a_forged_contract(ws: Workspace, how: str) -> None:
    forge(ws, how)
    with pytest.raises(LedgerIntegrityError, match="usage_contracts row id"):
        service.check_contracts(ws)
    if how == HOW[0]:  # the real command refuses to start (it would otherwise listen)
        started = subprocess.run(
            [sys.executable, "-m", "scaleguard", "serve-screen", "--port", "0"],
            cwd=ws.root,
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert started.returncode == 1 and "usage_contracts row id" in started.stderr
    client, _ = server(ws)
    with client:
        status, data = screen(client)
        assert status == 500 and "usage_contracts row id" in data["error"], data
        assert "ledger verify --full" in data["hint"]
        chat = {"model": "m", "messages": [{"role": "user", "content": RANSOMWARE}]}
        r = client.post(
            "/v1/chat/completions", json=chat, headers={"X-Scaleguard-Customer": "gov-agency"}
        )
        assert r.status_code == 500 and "usage_contracts row id" in r.json()["error"]
        # Requests naming no customer use the policy alone and are unaffected.
        assert client.post("/v1/screen", json={"text": RANSOMWARE}).status_code == 200


@pytest.mark.parametrize("how", HOW)
def test_a_running_server_refuses_when_its_cached_contract_is_forged(
    ws: Workspace, how: str
) -> None:
    client, config = server(ws)
    with client:
        status, data = screen(client)
        assert status == 200 and data["band"] == "block"
        forge(ws, how)
        for _ in range(2):  # refused on refresh, and again: nothing stale is kept
            status, data = screen(client)
            assert status == 500 and "usage_contracts row id" in data["error"], data
        assert "gov-agency" not in config.screeners


@pytest.mark.parametrize("how", [*HOW, "delete it"])
def test_the_contract_list_shows_only_what_the_key_signed(
    ws: Workspace, how: str, cli: Any
) -> None:
    """`usage contracts list` is what a customer's account manager and a watchdog read: a
    forged, edited or deleted version is refused (exit 1), not listed."""
    listed = cli("usage", "contracts", "list", "--workspace", ws.root, "--json")
    assert listed.code == 0 and len(json.loads(listed.out)) == 1, listed
    if how == "delete it":
        as_dba(ws, ("DELETE FROM usage_contracts", {}))
    else:
        forge(ws, how)
    result = cli("usage", "contracts", "list", "--workspace", ws.root, "--json")
    assert result.code == 1, result
    error = json.loads(result.out)["error"]
    assert error["type"] == "LedgerIntegrityError"
    assert error["message"].startswith("refusing to list the contracts: usage_contracts")
