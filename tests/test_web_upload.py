"""Evidence uploads over the web: the same ingestion as the CLI, and every bad upload refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scaleguard.store import repo
from scaleguard.web import accounts
from scaleguard.web.app import Settings, create_app
from web_support import demo_workspace

CSV = (
    "model,task,metric,value,sample_count,source\n"
    "aurora-3,web_upload_task,pass_rate,0.42,50,https://lab.example/evals/web\n"
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(root, Settings(max_body=256 * 1024)), base_url="https://t") as c:
        yield c


def _auth(client: TestClient, user: str, scope: str = "write") -> dict[str, str]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    token, _ = accounts.create_token(ws.store, user, scope, "1d")
    return {"Authorization": f"Bearer {token}"}


def _size(client: TestClient) -> int:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    with ws.store.read() as s:
        return repo.ledger_size(s)


def _objects(root: Path) -> set[Path]:
    return set((root / "objects").rglob("*"))


def test_an_evaluator_uploads_evidence(client: TestClient, root: Path) -> None:
    auth = _auth(client, "evaluator")
    response = client.post(
        "/api/v1/evidence", files={"file": ("web.csv", CSV.encode(), "text/csv")}, headers=auth
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ingested_by"] == "web:evaluator"
    assert body["files"][0]["path"] == "web.csv" and body["files"][0]["records"] == 1
    listed = client.get("/api/v1/evidence", headers=auth).json()["items"]
    assert listed[0]["task"] == "web_upload_task" and listed[0]["ingested_by"] == "web:evaluator"
    again = client.post(
        "/api/v1/evidence", files={"file": ("web.csv", CSV.encode(), "text/csv")}, headers=auth
    )
    assert again.json()["files"][0]["status"] == "already ingested"


@pytest.mark.parametrize(
    ("name", "data", "extra", "status", "field"),
    [
        ("../escape.csv", CSV.encode(), {}, 400, "file"),
        ("a/b.csv", CSV.encode(), {}, 400, "file"),
        ("..\\\\x.csv", CSV.encode(), {}, 400, "file"),
        ("C:x.csv", CSV.encode(), {}, 400, "file"),
        ("..", CSV.encode(), {}, 400, "file"),
        ("empty.csv", b"", {}, 400, "file"),
        ("broken.csv", b"model,task\\naurora-3\\n", {}, 400, None),
        ("binary.csv", bytes(range(256)) * 4, {}, 400, None),
        ("web2.csv", CSV.encode(), {"format": "nonsense"}, 400, None),
        ("big.csv", b"x" * (300 * 1024), {}, 413, None),
    ],
)
def test_bad_uploads_are_refused_and_write_nothing(
    client: TestClient,
    root: Path,
    name: str,
    data: bytes,
    extra: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    auth = _auth(client, "evaluator")
    before, objects = _size(client), _objects(root)
    response = client.post(
        "/api/v1/evidence", files={"file": (name, data, "text/csv")}, data=extra, headers=auth
    )
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "hint", "field"}
    assert error["field"] == field
    assert "scaleguard-upload-" not in response.text
    assert _size(client) == before and _objects(root) == objects
    assert not (root.parent / "escape.csv").exists()


def test_wrong_content_type_and_roles(client: TestClient) -> None:
    auth = _auth(client, "evaluator")
    as_json = client.post("/api/v1/evidence", json={"file": CSV}, headers=auth)
    assert as_json.status_code == 422 and as_json.json()["error"]["field"] == "$.file"
    files = {"file": ("web.csv", CSV.encode(), "text/csv")}
    read_only = client.post("/api/v1/evidence", files=files, headers=_auth(client, "rso", "read"))
    assert read_only.status_code == 403
    board = client.post("/api/v1/evidence", files=files, headers=_auth(client, "board"))
    assert board.status_code == 403
    anonymous = client.post("/api/v1/evidence", files=files)
    assert anonymous.status_code == 401
