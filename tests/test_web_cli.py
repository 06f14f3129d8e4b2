"""``scaleguard users``, ``tokens`` and ``serve`` on the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaleguard.web import accounts
from scaleguard.workspace import init_workspace, open_workspace


def test_users_and_tokens(tmp_path: Path, cli: Callable[..., Any]) -> None:
    root = tmp_path / "lab"
    init_workspace(root).close()
    added = cli("users", "add", "Ada", "--role", "rso", "--workspace", root, "--json")
    assert added.code == 0, added.err
    password = json.loads(added.out)["password"]
    assert len(password) >= 16
    with open_workspace(root) as ws:
        who, _ = accounts.sign_in(ws.store, "Ada", password)
        assert who.role == "rso"
    again = cli("users", "add", "Ada", "--role", "rso", "--workspace", root)
    assert again.code == 2 and "already exists" in again.err
    wrong = cli("users", "add", "Bob", "--role", "god", "--workspace", root)
    assert wrong.code == 2 and "unknown role" in wrong.err

    made = cli(
        "tokens",
        "create",
        "--user",
        "Ada",
        "--scope",
        "read",
        "--expires",
        "12h",
        "--workspace",
        root,
        "--json",
    )
    assert made.code == 0, made.err
    token = json.loads(made.out)["token"]
    with open_workspace(root) as ws:
        assert accounts.token_principal(ws.store, token).scope == "read"
    listed = cli("tokens", "list", "--workspace", root, "--json")
    assert token not in listed.out and json.loads(listed.out)[0]["user"] == "Ada"
    for args, message in (
        (("--user", "Nobody"), "no user"),
        (("--user", "Ada", "--expires", "forever"), "invalid duration"),
        (("--user", "Ada", "--scope", "root"), "unknown scope"),
    ):
        refused = cli("tokens", "create", *args, "--workspace", root)
        assert refused.code == 2 and message in refused.err
    token_id = json.loads(listed.out)[0]["id"]
    assert cli("tokens", "revoke", str(token_id), "--workspace", root).code == 0
    with open_workspace(root) as ws, pytest.raises(accounts.TokenRefused, match="revoked"):
        accounts.token_principal(ws.store, token)
    assert cli("tokens", "revoke", "999", "--workspace", root).code == 2
    users = cli("users", "list", "--workspace", root, "--json")
    assert [u["name"] for u in json.loads(users.out)] == ["Ada"]


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path, cli: Callable[..., Any]) -> None:
    root = tmp_path / "lab"
    init_workspace(root).close()
    result = cli("serve", "--workers", "2", "--workspace", root)
    assert result.code == 2 and "several workers need PostgreSQL" in result.err
