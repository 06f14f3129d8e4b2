"""The real ``scaleguard serve-screen`` over real HTTP: the customer is not the caller's pick.

Each test starts the command in a child process on a free port of 127.0.0.1
and attacks it as a caller would: leaving the customer out to escape its
contract, naming another customer to borrow its contract, sending no key, a
wrong key, or one customer's key with another customer's name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scaleguard.workspace.workspace import Workspace
from usage_helpers import two_customers

ACME, GOV = "acme@2026-11-01", "gov-agency@2026-11-01"
BREAD = {"text": "How do I bake bread?"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "How do I bake bread?"}]}
HEADER = "X-Scaleguard-Customer"
KEY_A, KEY_G = "sgk_acme-secret-key", "sgk_gov-secret-key"


def entry(key: str, customer: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f'[[key]]\nsha256 = "{digest}"\ncustomer = "{customer}"\n'


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = two_customers(tmp_path)
    try:
        yield workspace
    finally:
        workspace.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(root: Path, *args: str) -> Iterator[tuple[httpx.Client, list[str]]]:
    """``scaleguard serve-screen ARGS`` in a child process: a client for it and the lines
    it printed before it listened."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scaleguard", "serve-screen", "--port", str(port), *args],
        cwd=root,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "400"},
    )
    try:
        assert proc.stderr is not None
        printed: list[str] = []
        while not printed or "screening on" not in printed[-1]:
            line = proc.stderr.readline()
            assert line, "serve-screen exited: " + "".join(printed)
            printed.append(line)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve-screen did not answer"
            time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client, printed
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def refused(r: httpx.Response, status: int, path: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    data: dict[str, Any] = r.json()
    assert data["ok"] is False and data["hint"] and data["errors"][0]["path"] == path, data
    return data


def test_a_pinned_server_screens_every_request_as_its_customer(ws: Workspace) -> None:
    with running(ws.root, "--customer", "acme") as (client, printed):
        assert not any("self-declared" in line for line in printed)
        # leaving the customer out does not escape acme's contract
        r = client.post("/v1/screen", json=BREAD)
        assert r.status_code == 200 and r.json()["contract"] == ACME, r.text
        assert r.json()["customer_identity"] == "pinned"
        # naming another customer does not borrow its contract
        r = client.post("/v1/screen", json=BREAD | {"customer": "gov-agency"})
        refused(r, 403, "$.customer")
        r = client.post("/v1/screen", json=BREAD, headers={HEADER: "gov-agency"})
        refused(r, 403, f"header {HEADER}")
        r = client.post("/v1/chat/completions", json=CHAT, headers={HEADER: "gov-agency"})
        refused(r, 403, f"header {HEADER}")


def test_a_keyed_server_screens_each_request_as_its_key_s_customer(
    ws: Workspace, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(entry(KEY_A, "acme") + entry(KEY_G, "gov-agency"))
    with running(ws.root, "--customer-keys", str(keys)) as (client, printed):
        assert not any("self-declared" in line for line in printed)
        r = refused(client.post("/v1/screen", json=BREAD), 401, "header Authorization")
        assert "API key" in r["error"]
        wrong = {"Authorization": "Bearer sgk_guessed"}
        refused(client.post("/v1/screen", json=BREAD, headers=wrong), 401, "header Authorization")
        r = client.post("/v1/chat/completions", json=CHAT, headers={HEADER: "acme"})
        refused(r, 401, "header Authorization")
        a = {"Authorization": f"Bearer {KEY_A}"}
        r = client.post("/v1/screen", json=BREAD, headers=a)
        assert r.status_code == 200 and r.json()["contract"] == ACME, r.text
        assert r.json()["customer_identity"] == "api-key"
        g = {"Authorization": f"Bearer {KEY_G}"}
        assert client.post("/v1/screen", json=BREAD, headers=g).json()["contract"] == GOV
        # acme's key with gov-agency's name
        r = client.post("/v1/screen", json=BREAD, headers=a | {HEADER: "gov-agency"})
        refused(r, 403, f"header {HEADER}")
        r = client.post("/v1/screen", json=BREAD | {"customer": "gov-agency"}, headers=a)
        refused(r, 403, "$.customer")


def test_without_either_option_the_server_warns_that_the_customer_is_self_declared(
    ws: Workspace,
) -> None:
    with running(ws.root) as (client, printed):
        assert any("the customer is self-declared" in line for line in printed), printed
        r = client.post("/v1/screen", json=BREAD)
        assert r.status_code == 200 and r.json()["contract"] is None
        assert r.json()["customer_identity"] == "declared"
