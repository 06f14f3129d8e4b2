"""Operator writes over the JSON API: the CLI's library calls, recorded under the user's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scaleguard.ledger.recheck import read_entry
from scaleguard.store import repo
from scaleguard.web import accounts
from scaleguard.web.app import create_app
from web_support import demo_workspace


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root: Path = demo_workspace(tmp_path_factory)
    with TestClient(create_app(root), base_url="https://t") as c:
        yield c


@pytest.fixture(scope="module")
def rso(client: TestClient) -> dict[str, str]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    token, _ = accounts.create_token(ws.store, "rso", "write", "1d")
    return {"Authorization": f"Bearer {token}"}


def _entries(client: TestClient, since: int) -> list[tuple[str, dict[str, Any]]]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    with ws.store.read() as s:
        rows = repo.ledger_entries(s, since)
    out = []
    for row in rows:
        kind, _, record = read_entry(row.data)
        out.append((kind, record))
    return out


def _size(client: TestClient) -> int:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    with ws.store.read() as s:
        return repo.ledger_size(s)


def test_a_decision_with_its_counterfactual(client: TestClient, rso: dict[str, str]) -> None:
    before = _size(client)
    body = {"model": "aurora-3", "action": "deploy_external", "compare": "anthropic-rsp@2.2"}
    response = client.post("/api/v1/decisions", json=body, headers=rso)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["comparison_id"] is not None
    full = client.get(f"/api/v1/decisions/{made['decision_id']}", headers=rso).json()
    assert full["counterfactual"]["id"] == made["comparison_id"]
    decisions = [r for k, r in _entries(client, before) if k == "decision"]
    assert len(decisions) == 2 and all(r["created_by"] == "web:rso" for r in decisions)


def test_refusals_write_nothing(client: TestClient, rso: dict[str, str]) -> None:
    before = _size(client)
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("/api/v1/decisions", {"model": "nope", "action": "train"}, 404),
        ("/api/v1/decisions", {"model": "aurora-3", "action": "sell"}, 400),
        (
            "/api/v1/attestations",
            {"model": "nope", "standard": "asl-3-security", "evidence_url": "https://x.example"},
            404,
        ),
        (
            "/api/v1/attestations",
            {"model": "aurora-3", "standard": "asl-3-security", "evidence_url": "not a url"},
            400,
        ),
        ("/api/v1/risk-reports", {"period": "2026-Q9", "models": ["aurora-3"]}, 400),
        (
            "/api/v1/risk-reports/1/redactions",
            {"section": "summary", "category": "gossip", "justification": "x"},
            400,
        ),
        ("/api/v1/risk-reports/1/publications", {"edition": "secret", "format": "html"}, 400),
        ("/api/v1/risk-reports/99/publications", {"edition": "public", "format": "html"}, 404),
        (
            "/api/v1/roadmap/updates",
            {
                "goal": "no-such-goal",
                "on": "2026-01-01",
                "status": "on_track",
                "evidence_url": "https://x.example",
            },
            404,
        ),
    ]
    for url, body, status in cases:
        response = client.post(url, json=body, headers=rso)
        assert response.status_code == status, (url, body, response.text)
        assert set(response.json()["error"]) == {"code", "message", "hint", "field"}
    assert _size(client) == before


def test_draft_redact_publish_attest_and_update(client: TestClient, rso: dict[str, str]) -> None:
    before = _size(client)
    today = dt.datetime.now(dt.UTC).date()
    period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    drafted = client.post(
        "/api/v1/risk-reports", json={"period": period, "models": ["aurora-3"]}, headers=rso
    )
    assert drafted.status_code == 201, drafted.text
    rid = drafted.json()["id"]
    redacted = client.post(
        f"/api/v1/risk-reports/{rid}/redactions",
        json={"section": "capabilities", "category": "security", "justification": "attack map"},
        headers=rso,
    )
    assert redacted.status_code == 201, redacted.text
    published = client.post(
        f"/api/v1/risk-reports/{rid}/publications",
        json={"edition": "public", "format": "html"},
        headers=rso,
    )
    assert published.status_code == 201, published.text
    sha = published.json()["sha256"]
    public = client.get(f"/api/v1/reports/{rid}").json()
    assert public["editions"][0]["sha256"] == sha
    served = client.get(f"/reports/{rid}/public.html")
    assert served.status_code == 200 and "attack map" in served.text

    attested = client.post(
        "/api/v1/attestations",
        json={
            "model": "aurora-3",
            "standard": "asl-4-security",
            "evidence_url": "https://x.example/a",
        },
        headers=rso,
    )
    assert attested.status_code == 201, attested.text
    goal = client.get("/api/v1/roadmap").json()["goals"][0]["goal"]
    update = client.post(
        "/api/v1/roadmap/updates",
        json={
            "goal": goal,
            "on": today.isoformat(),
            "status": "on_track",
            "evidence_url": "https://lab.example/roadmap/update",
        },
        headers=rso,
    )
    assert update.status_code == 201, update.text
    kinds = [(k, r.get("created_by", r.get("attested_by"))) for k, r in _entries(client, before)]
    assert [k for k, _ in kinds] == [
        "risk-report",
        "report-redaction",
        "report-publication",
        "attestation",
        "roadmap-update",
    ]
    assert {by for _, by in kinds} == {"web:rso"}


def test_a_competitor_model_is_added_and_a_bad_one_refused(
    client: TestClient, rso: dict[str, str]
) -> None:
    body = {
        "name": "rival-10",
        "developer": "Rival AI",
        "status": "released",
        "released_on": "2026-09-01",
        "safeguards_level": "weak",
        "sources": ["https://rival.example/card"],
    }
    added = client.post("/api/v1/models", json=body, headers=rso)
    assert added.status_code == 201, added.text
    names: list[str] = []
    cursor = None
    while True:
        page = client.get("/api/v1/models", params={"limit": 2, "cursor": cursor}, headers=rso)
        names += [m["name"] for m in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert "rival-10" in names and len(names) == len(set(names)) > 5
    before = _size(client)
    again = client.post("/api/v1/models", json=body, headers=rso)
    assert again.status_code == 409
    planned = {**body, "name": "rival-11", "status": "planned"}
    inconsistent = client.post("/api/v1/models", json=planned, headers=rso)
    assert inconsistent.status_code == 422 and "released_on" in inconsistent.text
    assert _size(client) == before
