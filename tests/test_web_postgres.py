"""The web app on a PostgreSQL workspace: sign-in, tokens and the ledger API."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import build_lab
from scaleguard.ledger.keys import parse_vkey
from scaleguard.ledger.merkle import verify_inclusion
from scaleguard.ledger.note import open_checkpoint
from scaleguard.web import accounts
from scaleguard.web.app import create_app
from workspace_copies import Copy

pytestmark = pytest.mark.postgres


def test_the_app_on_postgresql(tmp_path: Path, pg_copy: Copy) -> None:
    root = tmp_path / "lab"
    pg_copy("lab", build_lab)  # demo.prepare(root, db_url=pg_url), copied
    app = create_app(root)
    store = app.state.workspace.store
    assert store.backend == "postgresql"
    accounts.add_user(store, "rso", "rso", by="test")
    accounts.set_password(store, "rso", "a-long-password")
    token, _ = accounts.create_token(store, "rso", "read", "1d")
    with TestClient(app, base_url="https://testserver") as c:
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "rso"
        form = c.get("/login").text
        login_csrf = form.split('name="login_csrf" value="')[1].split('"')[0]
        signed = c.post(
            "/login",
            data={"name": "rso", "password": "a-long-password", "login_csrf": login_csrf},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert c.get("/api/v1/me").json()["via"] == "session"
        key = parse_vkey(c.get("/api/v1/ledger/key").json()["vkey"])
        proof = c.get("/api/v1/ledger/entries/2/proof").json()
        cp = open_checkpoint(proof["checkpoint"].encode(), key)
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        verify_inclusion(base64.b64decode(proof["leaf_hash"]), 2, cp.size, hashes, cp.root)
        assert c.get("/api/v1/ledger/entries/999999").status_code == 404


def test_serve_runs_several_workers_on_postgresql(tmp_path: Path, pg_copy: Copy) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    root = tmp_path / "lab"
    pg_copy("lab", build_lab)  # demo.prepare(root, db_url=pg_url), copied
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "scaleguard", "serve", "--workspace", str(root)),
            *("--port", str(port), "--workers", "2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while True:
                try:
                    response = client.get("/api/v1/ledger/checkpoint")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.communicate()[1]
                    assert time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.3)
            assert response.status_code == 200 and response.json()["ledger_size"] > 0
            for _ in range(20):
                assert client.get("/api/v1/ledger/key").status_code == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://localhost:{port}/" in out
