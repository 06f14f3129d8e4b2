"""serve-screen binds each request's customer to what the caller cannot choose.

Attacks on the customer a request is screened as: leaving the customer out (to
escape the contract's tightening), naming another customer (to use its
exceptions), a wrong or missing API key, and a key of one customer with a
header naming another. Pinned (``--customer``) and API-key (``--customer-keys``)
servers refuse them; every audited decision says how its customer was
established, and the ledger still verifies.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import CliResult
from scaleguard.demo.usage import GOV_CONTRACT_LIFTING
from scaleguard.errors import InputError, LedgerIntegrityError
from scaleguard.usage import store as usage_store
from scaleguard.usage.audit import AuditWriter
from scaleguard.usage.identity import (
    CustomerBinding,
    CustomerKeysError,
    parse_customer_keys,
)
from scaleguard.usage.loader import load_policy
from scaleguard.usage.server import ServerConfig, create_app, prepare
from scaleguard.usage.service import add_contract
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_usage_server import FakeModel, upstream
from usage_helpers import two_customers
from workspace_copies import Copy

__all__ = ["upstream"]  # a fixture used below

Cli = Callable[..., CliResult]
ACME, GOV = "acme@2026-11-01", "gov-agency@2026-11-01"
BREAD = "How do I bake bread?"
KEY_A, KEY_G = "sgk_acme-secret-key", "sgk_gov-secret-key"
HEADER = "X-Scaleguard-Customer"


def entry(key: str, customer: str) -> str:
    return (
        f'[[key]]\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\ncustomer = "{customer}"\n'
    )


KEYS = entry(KEY_A, "acme") + "\n" + entry(KEY_G, "gov-agency")


def _build(folder: Path, pg_url: str | None) -> None:
    two_customers(folder, pg_url).close()


@pytest.fixture
def ws(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    """A workspace with accepted contracts for acme and gov-agency (this test's own copy)."""
    workspace_copy("two customers", _build)
    workspace = open_workspace(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


@contextlib.contextmanager
def server(
    ws: Workspace, binding: CustomerBinding, upstream_url: str | None = None
) -> Iterator[tuple[TestClient, ServerConfig]]:
    config = ServerConfig(
        policy=load_policy(), workspace=ws, upstream=upstream_url, binding=binding
    )
    prepare(config)  # what serve-screen checks before it listens
    config.audit = AuditWriter(ws.store, by="server")
    try:
        with TestClient(create_app(config)) as client:
            yield client, config
    finally:
        config.audit.close()


def screen(client: TestClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/v1/screen", json={"text": BREAD} | body, headers=headers)


def chat(client: TestClient, **headers: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": BREAD}]}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def audited(config: ServerConfig) -> list[usage_store.ScreenRecord]:
    assert config.audit is not None and config.audit.flush()
    assert config.workspace is not None
    with config.workspace.store.read() as s:
        return usage_store.screens(s)


def refusal(r: httpx.Response, status: int, path: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    data: dict[str, Any] = r.json()
    assert data["ok"] is False and data["status"] == status and data["hint"], data
    assert [e["path"] for e in data["errors"]] == [path], data
    return data


# -- pinned: --customer -------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_pinned_a_request_that_omits_the_customer_is_still_screened_as_it(
    ws: Workspace, upstream: str
) -> None:
    with server(ws, CustomerBinding.pin("acme"), upstream) as (client, config):
        r = screen(client, {})
        assert r.status_code == 200, r.text
        data = r.json()
        assert (data["contract"], data["customer"], data["customer_identity"]) == (
            ACME,
            "acme",
            "pinned",
        )
        assert screen(client, {"customer": "acme"}, **{HEADER: "acme"}).json()["contract"] == ACME
        answer = chat(client)
        assert answer.status_code == 200 and answer.json()["scaleguard"]["customer"] == "acme"
        assert answer.json()["scaleguard"]["customer_identity"] == "pinned"
        rows = audited(config)
    assert [(r.customer, r.contract, r.result["customer_identity"]) for r in rows] == [
        ("acme", ACME, "pinned")
    ] * 3


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_pinned_a_request_naming_another_customer_is_refused(ws: Workspace, upstream: str) -> None:
    with server(ws, CustomerBinding.pin("acme"), upstream) as (client, config):
        data = refusal(screen(client, {"customer": "gov-agency"}), 403, "$.customer")
        assert "'gov-agency'" in data["error"] and "'acme'" in data["error"]
        refusal(screen(client, {}, **{HEADER: "gov-agency"}), 403, f"header {HEADER}")
        refusal(chat(client, **{HEADER: "gov-agency"}), 403, f"header {HEADER}")
        # a customer named in the body may not differ from the header either
        refusal(
            screen(client, {"customer": "acme"}, **{HEADER: "gov-agency"}), 403, f"header {HEADER}"
        )
        assert FakeModel.seen == [] and audited(config) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_pinned_server_refuses_to_start_without_a_usable_contract(
    ws: Workspace, tmp_path: Path
) -> None:
    policy = load_policy()
    for name in ("nobody", "Acme"):
        with pytest.raises(InputError, match=f"--customer {name}: no accepted contract"):
            prepare(ServerConfig(policy=policy, workspace=ws, binding=CustomerBinding.pin(name)))
    # a customer whose only contract was refused has none to be screened under
    lifting = tmp_path / "lifting.yaml"
    lifting.write_text(GOV_CONTRACT_LIFTING.replace("gov-agency", "lifter"))
    assert add_contract(ws, lifting, policy=policy, by="sales").refused is not None
    with pytest.raises(InputError, match="--customer lifter: no accepted contract"):
        prepare(ServerConfig(policy=policy, workspace=ws, binding=CustomerBinding.pin("lifter")))
    with pytest.raises(InputError, match="--customer needs a workspace"):
        prepare(ServerConfig(policy=policy, binding=CustomerBinding.pin("acme")))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_pinned_server_refuses_to_start_on_a_forged_contract(ws: Workspace) -> None:
    from test_usage_tamper import as_dba

    as_dba(ws, ("UPDATE usage_contracts SET created_by = 'mallory' WHERE customer = 'acme'", {}))
    with pytest.raises(LedgerIntegrityError, match="usage_contracts row id"):
        prepare(
            ServerConfig(policy=load_policy(), workspace=ws, binding=CustomerBinding.pin("acme"))
        )


# -- API keys: --customer-keys --------------------------------------------------------


def keys_binding() -> CustomerBinding:
    return CustomerBinding.by_keys(parse_customer_keys(KEYS.encode(), "keys.toml"))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("sgk_guessed"),
        bearer(hashlib.sha256(KEY_A.encode()).hexdigest()),  # the stored hash is no key
        {"Authorization": KEY_A},
        {"Authorization": f"Basic {KEY_A}"},
        {"Authorization": "Bearer "},
        {HEADER: "acme"},  # naming a customer is no credential
    ],
    ids=["none", "unknown", "hash", "no scheme", "basic", "empty", "header only"],
)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_a_known_key_a_request_is_refused_401(
    ws: Workspace, upstream: str, headers: dict[str, str]
) -> None:
    with server(ws, keys_binding(), upstream) as (client, config):
        for r in (screen(client, {}, **headers), chat(client, **headers)):
            refusal(r, 401, "header Authorization")
            assert r.headers["www-authenticate"] == "Bearer"
        assert FakeModel.seen == [] and audited(config) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_request_is_screened_as_its_key_s_customer(ws: Workspace, upstream: str) -> None:
    with server(ws, keys_binding(), upstream) as (client, config):
        assert screen(client, {}, **bearer(KEY_A)).json()["contract"] == ACME
        assert screen(client, {"customer": "gov-agency"}, **bearer(KEY_G)).json()["contract"] == GOV
        answer = chat(client, **bearer(KEY_A), **{HEADER: "acme"})
        assert answer.status_code == 200 and answer.json()["scaleguard"]["customer"] == "acme"
        rows = audited(config)
    assert [(r.customer, r.result["customer_identity"]) for r in rows] == [
        ("acme", "api-key"),
        ("gov-agency", "api-key"),
        ("acme", "api-key"),
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_key_of_one_customer_cannot_name_another(ws: Workspace, upstream: str) -> None:
    with server(ws, keys_binding(), upstream) as (client, config):
        data = refusal(
            screen(client, {}, **bearer(KEY_A), **{HEADER: "gov-agency"}), 403, f"header {HEADER}"
        )
        assert "your API key belongs to customer 'acme'" in data["error"]
        refusal(screen(client, {"customer": "gov-agency"}, **bearer(KEY_A)), 403, "$.customer")
        refusal(chat(client, **bearer(KEY_A), **{HEADER: "gov-agency"}), 403, f"header {HEADER}")
        two = [("Authorization", f"Bearer {KEY_A}"), ("Authorization", f"Bearer {KEY_G}")]
        r = client.post("/v1/screen", json={"text": BREAD}, headers=httpx.Headers(two))
        refusal(r, 401, "header Authorization")
        assert FakeModel.seen == [] and audited(config) == []


def test_a_keys_file_naming_a_customer_without_a_contract_does_not_start(
    ws: Workspace, tmp_path: Path, cli: Cli
) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS + "\n" + entry("sgk_x", "nobody"))
    with pytest.raises(CustomerKeysError) as refused:
        prepare(
            ServerConfig(
                policy=load_policy(),
                workspace=ws,
                binding=CustomerBinding.by_keys(parse_customer_keys(keys.read_bytes(), str(keys))),
            )
        )
    assert [p.location for p in refused.value.problems] == [f"{keys}:11:1"]
    result = cli("serve-screen", "--customer-keys", keys, "--workspace", ws.root)
    assert result.code == 2 and f"{keys}:11:1: customer 'nobody'" in result.err, result


# -- the command ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_command_refuses_bad_identity_options_with_exit_2(
    ws: Workspace, tmp_path: Path, cli: Cli
) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS)
    both = cli(
        "serve-screen", "--customer", "acme", "--customer-keys", keys, "--workspace", ws.root
    )
    assert both.code == 2 and "cannot be used together" in both.err, both
    unknown = cli("serve-screen", "--customer", "nobody", "--workspace", ws.root)
    assert unknown.code == 2 and "--customer nobody: no accepted contract" in unknown.err
    assert "customers with contracts: acme, gov-agency" in unknown.err
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    no_ws = cli("serve-screen", "--customer", "acme", "--workspace", elsewhere)
    assert no_ws.code == 2 and "Traceback" not in no_ws.err, no_ws


def test_declared_identity_is_recorded_and_cannot_be_claimed_twice(
    ws: Workspace, upstream: str
) -> None:
    """Without --customer or --customer-keys the request names its customer, once: a body
    customer that contradicts the header (which a gateway may have set) is refused."""
    with server(ws, CustomerBinding(), upstream) as (client, config):
        assert screen(client, {}).json()["contract"] is None
        assert screen(client, {}, **{HEADER: "acme"}).json()["contract"] == ACME
        r = screen(client, {"customer": "gov-agency"}, **{HEADER: "acme"})
        refusal(r, 400, f"header {HEADER}")
        rows = audited(config)
    assert [(r.customer, r.result["customer_identity"]) for r in rows] == [
        (None, "declared"),
        ("acme", "declared"),
    ]


def test_audited_identities_verify_in_the_ledger(ws: Workspace, cli: Cli) -> None:
    with server(ws, keys_binding()) as (client, config):
        assert screen(client, {}, **bearer(KEY_G)).status_code == 200
        audited(config)
    with server(ws, CustomerBinding.pin("acme")) as (client, config):
        assert screen(client, {}).status_code == 200
        audited(config)
    result = cli("ledger", "verify", "--full", "--workspace", ws.root)
    assert result.code == 0, result


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_health_shows_what_failed_only_to_a_caller_with_a_key(ws: Workspace) -> None:
    """An audit failure's text can name files and databases: with keys required, a caller
    without one learns only that the audit failed."""
    with server(ws, keys_binding()) as (client, config):
        assert config.audit is not None
        config.audit.errors.append("StoreError: cannot write /srv/secret/scaleguard.db")
        anonymous = client.get("/healthz")
        assert anonymous.status_code == 503
        assert anonymous.json() == {"ok": False, "audit_failures": 1, "audit_errors": []}
        keyed = client.get("/healthz", headers=bearer(KEY_A)).json()
        assert keyed["audit_errors"] == ["StoreError: cannot write /srv/secret/scaleguard.db"]
        config.audit.errors.clear()
