"""``scaleguard ledger`` and ``scaleguard keys``: what users and reviewers run."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaleguard.ledger import verify_attestation, verify_receipt
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.workspace import open_workspace
from workspace_copies import Copy

Cli = Callable[..., Any]


@pytest.fixture
def root(tmp_path: Path, cli: Cli, sqlite_copy: Copy) -> Path:
    """A workspace with a few records, made through the CLI like a user would (once per
    test process: each test gets a copy)."""
    sqlite_copy("ledger cli lab", lambda folder, _: _made_by_cli(folder / "lab", cli))
    return tmp_path / "lab"


def _made_by_cli(ws: Path, cli: Cli) -> None:
    assert cli("init", ws, "--name", "Lab One").code == 0
    base = ("--workspace", ws)
    assert cli("models", "add", "m-1", "--own", *base).code == 0
    assert cli("models", "add", "rival", "--competitor", "--status", "released", *base).code == 0
    assert (
        cli(
            "facts",
            "assert",
            "developer_leads",
            "true",
            "--source",
            "https://s",
            "--by",
            "a",
            *base,
        ).code
        == 0
    )
    assert (
        cli(
            "safeguards",
            "attest",
            "m-1",
            "asl-3-security",
            "--by",
            "sec",
            "--evidence",
            "https://e",
            *base,
        ).code
        == 0
    )


def test_every_write_command_leaves_a_covering_checkpoint(root: Path, cli: Cli) -> None:
    with open_workspace(root) as ws, ws.store.read() as s:
        sizes = [c.size for c in ledger_tree.checkpoints(s)]
    assert sizes == [0, 1, 2, 3, 4]


def test_log_lists_entries(root: Path, cli: Cli) -> None:
    result = cli("ledger", "log", "--since", "1", "--json", "--workspace", root)
    assert result.code == 0
    rows = json.loads(result.out)
    assert [(r["index"], r["kind"], r["subject"]) for r in rows] == [
        (1, "model", "rival"),
        (2, "fact", "developer_leads"),
        (3, "attestation", "m-1"),
    ]
    assert all(len(r["leaf_hash"]) == 64 for r in rows)
    table = cli("ledger", "log", "--workspace", root)
    assert "attestation" in table.out and "index" in table.out


def test_checkpoint_prints_the_signed_note(root: Path, cli: Cli, tmp_path: Path) -> None:
    result = cli("ledger", "checkpoint", "--out", tmp_path / "cp", "--workspace", root)
    assert result.code == 0
    lines = result.out.split("\n")
    assert lines[:2] == ["scaleguard.local/lab-one", "4"]
    assert lines[4].startswith("— scaleguard.local/lab-one ")
    assert (tmp_path / "cp").read_text() == result.out


def test_prove_writes_a_receipt_a_reviewer_verifies_with_only_the_vkey(
    root: Path, cli: Cli, tmp_path: Path
) -> None:
    receipt = tmp_path / "fact.tlog-proof"
    proved = cli("ledger", "prove", "2", "--receipt", receipt, "--json", "--workspace", root)
    assert proved.code == 0
    info = json.loads(proved.out)
    assert (info["index"], info["kind"], info["tree_size"]) == (2, "fact", 4)
    assert len(info["proof"]) == 2
    vkey = tmp_path / "lab.vkey"
    shown = cli("keys", "show", "--vkey", "--workspace", root)
    vkey.write_text(shown.out)
    # The reviewer's side: no workspace anywhere near.
    ok = cli("ledger", "verify-receipt", receipt, "--key", vkey, "--json")
    assert ok.code == 0, ok.err
    checked = json.loads(ok.out)
    assert (checked["index"], checked["kind"], checked["record"]["name"]) == (
        2,
        "fact",
        "developer_leads",
    )
    assert verify_receipt(receipt.read_bytes(), shown.out.strip()).index == 2
    text = receipt.read_text().replace("index 2", "index 3")
    receipt.write_text(text)
    bad = cli("ledger", "verify-receipt", receipt, "--key", vkey)
    assert bad.code == 1
    assert "receipt REJECTED" in bad.err


def test_verify_receipt_with_a_consistency_proof_to_a_later_checkpoint(
    root: Path, cli: Cli, tmp_path: Path
) -> None:
    receipt, bundle, vkey = tmp_path / "r", tmp_path / "c", tmp_path / "k.vkey"
    assert cli("ledger", "prove", "1", "--receipt", receipt, "--workspace", root).code == 0
    assert (
        cli(
            "facts",
            "assert",
            "effective_compute_multiple",
            "2",
            "--source",
            "https://s",
            "--by",
            "a",
            "--workspace",
            root,
        ).code
        == 0
    )
    out = cli("ledger", "consistency", "4", "--out", bundle, "--json", "--workspace", root)
    assert out.code == 0
    assert json.loads(out.out)["new_size"] == 5
    vkey.write_text(cli("keys", "show", "--vkey", "--workspace", root).out)
    result = cli("ledger", "verify-receipt", receipt, "--key", vkey, "--consistency", bundle)
    assert result.code == 0, result.err
    assert "at size 5 still contains that tree" in result.out


def test_verify_passes_on_an_intact_workspace(root: Path, cli: Cli) -> None:
    for args in ((), ("--full",)):
        result = cli("ledger", "verify", *args, "--workspace", root)
        assert result.code == 0, result.err
        assert "ledger OK" in result.out
    data = json.loads(cli("ledger", "verify", "--full", "--json", "--workspace", root).out)
    assert data["ok"] and data["checked"]["entries"] == 4 and data["first_bad_index"] is None


def test_verify_against_a_foreign_key_fails(root: Path, cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert cli("init", other, "--name", "Lab One").code == 0
    key = tmp_path / "other.vkey"
    key.write_text(cli("keys", "show", "--vkey", "--workspace", other).out)
    result = cli("ledger", "verify", "--key", key, "--workspace", root)
    assert result.code == 1
    assert "ledger_checkpoints" in result.err


def test_export_writes_a_dsse_envelope(root: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "att.json"
    result = cli("ledger", "export", "3", "--attestation", out, "--workspace", root)
    assert result.code == 0, result.err
    vkey = cli("keys", "show", "--vkey", "--workspace", root).out.strip()
    checked = verify_attestation(out.read_bytes(), vkey)
    assert checked.predicate_type == "https://scaleguard.dev/attestation/attestation/v1"
    assert checked.record["standard"] == "asl-3-security"
    keyfile = tmp_path / "k.vkey"
    keyfile.write_text(vkey)
    assert cli("ledger", "verify-attestation", out, "--key", keyfile).code == 0
    envelope = json.loads(out.read_text())
    envelope["payload"] = envelope["payload"][:-4] + "AAA="
    out.write_text(json.dumps(envelope))
    assert cli("ledger", "verify-attestation", out, "--key", keyfile).code == 1


def test_keys_show_and_init(root: Path, cli: Cli) -> None:
    shown = json.loads(cli("keys", "show", "--json", "--workspace", root).out)
    assert shown["name"] == "scaleguard.local/lab-one"
    assert shown["key_file_mode"] == "0600"
    assert shown["vkey"].startswith("scaleguard.local/lab-one+" + shown["key_id"] + "+")
    again = cli("keys", "init", "--workspace", root)
    assert again.code == 2
    assert "already has a ledger key" in again.err


def test_a_lost_key_cannot_be_replaced_silently(root: Path, cli: Cli) -> None:
    (root / "keys" / "ledger.key").unlink()
    (root / "keys" / "ledger.vkey").unlink()
    added = cli("models", "add", "m-2", "--workspace", root)
    assert added.code == 2
    assert "no ledger key" in added.err  # nothing is recorded that could never be signed
    with open_workspace(root) as ws, ws.store.read() as s:
        assert ledger_tree.ledger_size(s) == 4
    created = cli("keys", "init", "--workspace", root)
    assert created.code == 2
    assert "restore" in created.err and "already has checkpoints" in created.err
    assert not (root / "keys" / "ledger.key").exists()


def test_keys_init_signs_an_empty_ledger_and_refuses_unsigned_entries(
    tmp_path: Path, cli: Cli
) -> None:
    root = tmp_path / "old"
    assert cli("init", root).code == 0
    for name in ("ledger.key", "ledger.vkey", "ledger.state"):
        (root / "keys" / name).unlink()
    with sqlite3.connect(root / "scaleguard.db") as db:  # a ledger never signed at all
        db.execute("DROP TRIGGER ledger_checkpoints_no_delete")
        db.execute("DELETE FROM ledger_checkpoints")
    created = cli("keys", "init", "--workspace", root)
    assert created.code == 0, created.err
    assert stat.S_IMODE((root / "keys" / "ledger.key").stat().st_mode) == 0o600
    assert cli("models", "add", "m-1", "--workspace", root).code == 0
    with open_workspace(root) as ws, ws.store.read() as s:
        assert [c.size for c in ledger_tree.checkpoints(s)] == [0, 1]
    assert cli("ledger", "verify", "--full", "--workspace", root).code == 0

    other = tmp_path / "other"
    assert cli("init", other).code == 0
    assert cli("models", "add", "m-1", "--workspace", other).code == 0
    for name in ("ledger.key", "ledger.vkey", "ledger.state"):
        (other / "keys" / name).unlink()
    with sqlite3.connect(other / "scaleguard.db") as db:
        db.execute("DROP TRIGGER ledger_checkpoints_no_delete")
        db.execute("DELETE FROM ledger_checkpoints")
    refused = cli("keys", "init", "--workspace", other)
    assert refused.code == 2
    assert "cannot vouch for entries it never signed" in refused.err


def test_bad_input_exits_2_with_a_message(root: Path, cli: Cli, tmp_path: Path) -> None:
    missing = cli("ledger", "verify-receipt", tmp_path / "nope", "--key", tmp_path / "k.vkey")
    assert missing.code == 2
    (tmp_path / "k.vkey").write_text("not a key\n")
    (tmp_path / "r").write_text("x")
    mangled = cli("ledger", "verify-receipt", tmp_path / "r", "--key", tmp_path / "k.vkey")
    assert mangled.code == 2
    assert "malformed verifier key" in mangled.err
    assert cli("ledger", "prove", "99", "--workspace", root).code == 2
    assert cli("ledger", "consistency", "99", "--workspace", root).code == 2
