"""A database administrator without the signing key attacks the ledger; each attack fails.

Every test performs the attack the way someone who can write the database
(but cannot read ``keys/ledger.key``) would, on SQLite and PostgreSQL, and
checks that the signer refuses to sign over it, that ``verify`` reports it
(exit 1, never a traceback) and that a decision never relies on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from scaleguard.decisions import service
from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger import entry_bytes, generate_key, leaf_hash, sign_checkpoint
from scaleguard.ledger.note import Checkpoint
from scaleguard.store import repo
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.signer import fold, stored_frontier
from scaleguard.store.ledger.verify import QUICK_TAIL, verify
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_store import populate
from test_ledger_tamper import attack, rebuild_tree, resign_from_scratch, rewritten, set_entry, sql
from workspace_copies import LABELS, Copy, copied_workspace

Cli = Callable[..., Any]


def _populated(ws: Workspace) -> dict[str, int]:
    labels = populate(ws)  # its evidence cites an artifact without a file: no --full on it
    assert ws.verify_ledger().ok
    return labels


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A workspace of the test's own: with _populated's records if the test takes ``at``."""
    with open_workspace(copied_workspace(request, workspace_copy, "Attack Lab", _populated)) as w:
        yield w


@pytest.fixture
def at(request: pytest.FixtureRequest, ws: Workspace) -> dict[str, int]:
    return request.node.stash[LABELS]


def size_of(ws: Workspace) -> int:
    with ws.store.read() as s:
        return ledger_tree.ledger_size(s)


def checkpoint_sizes(ws: Workspace) -> list[int]:
    with ws.store.read() as s:
        return [c.size for c in ledger_tree.checkpoints(s)]


def add_fact(ws: Workspace, name: str = "later") -> None:
    with ws.store.write() as tx:
        repo.add_fact(tx, name=name, value=1, source="https://s", asserted_by="rso")


def forged_rows(ws: Workspace, kind: str, table: str, record: dict[str, Any]) -> list[Any]:
    """A new entry and its record row, written straight into the database (no key needed)."""
    n = size_of(ws)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    data = entry_bytes(kind, moment, record)
    columns = {**record, "created_at": "2026-01-01T00:00:00Z", "ledger_index": n}
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    return [
        sql(
            "INSERT INTO ledger_entries (idx, kind, subject, created_at, data, leaf_hash) "
            "VALUES (:i, :k, 'forged', '2026-01-01T00:00:00Z', :d, :h)",
            i=n,
            k=kind,
            d=data,
            h=leaf_hash(data),
        ),
        sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", **columns),
    ]


# -- 1. rewritten history is not re-signed ---------------------------------------------


def test_a_consistent_rewrite_is_neither_verified_nor_signed(
    ws: Workspace, at: dict[str, int], cli: Cli
) -> None:
    i = at["evidence"]
    before = size_of(ws)
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95)))
    attack(
        ws,
        sql("UPDATE evidence SET value = 0.95 WHERE ledger_index = :i", i=i),
        sql("DELETE FROM ledger_checkpoints"),
        *rebuild_tree(ws),
    )
    full = cli("ledger", "verify", "--full", "--workspace", ws.root)
    assert full.code == 1
    assert "signed empty tree" in full.err
    # the next ordinary command refuses to sign, exits 1, and records nothing
    added = cli("models", "add", "m-9", "--workspace", ws.root)
    assert added.code == 1
    assert "refusing to sign" in added.err and "checkpoint rows were deleted" in added.err
    assert size_of(ws) == before
    assert checkpoint_sizes(ws) == []


def test_a_rewrite_that_keeps_the_checkpoint_rows_is_refused_too(
    ws: Workspace, at: dict[str, int]
) -> None:
    i = at["fact"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=False)))
    attack(ws, sql("UPDATE facts SET value = 'false' WHERE ledger_index = :i", i=i))
    attack(ws, *rebuild_tree(ws))
    with pytest.raises(LedgerIntegrityError, match="history was rewritten"):
        add_fact(ws)
    first = verify(ws.store, ws.verifier(), full=True).first
    assert first is not None and first.index == i


# -- 2. forged appends are never signed ------------------------------------------------


def test_forged_attestations_are_not_signed_and_decisions_refuse(lab: Workspace, cli: Cli) -> None:
    before = size_of(lab)
    with lab.store.read() as s:
        next_id = 1 + max(a.id for a in repo.attestations(s))
    forged: list[Any] = []
    for offset, standard in enumerate(("asl-4-deployment", "asl-4-security")):
        record = {
            "id": next_id + offset,
            "model": "aurora-3",
            "standard": standard,
            "attested_by": "security",
            "evidence_url": "https://forged.example",
            "note": None,
        }
        attack(lab, *forged_rows(lab, "attestation", "attestations", record))
        forged.append(record)
    attack(lab, *rebuild_tree(lab))

    with pytest.raises(LedgerIntegrityError, match="never signed"):
        service.decide(lab, "aurora-3", "train", compare="anthropic-rsp@2.2", by="rso")
    with lab.store.read() as s:
        assert repo.decisions(s, "aurora-3") == []
    assert checkpoint_sizes(lab)[-1] == before
    added = cli(
        "facts",
        "assert",
        "developer_leads",
        "true",
        "--source",
        "https://s",
        "--by",
        "a",
        "--workspace",
        lab.root,
    )
    assert added.code == 1
    assert "appended without the key" in added.err
    verified = cli("ledger", "verify", "--workspace", lab.root)
    assert verified.code == 1
    assert f"at entry {before}" in verified.err and "not covered by any signed" in verified.err


# -- 3. deleting the newest entries with their checkpoints -------------------------------


def truncate(ws: Workspace, keep: int) -> None:
    """Delete every entry from ``keep`` on, its record row, its hashes and checkpoints."""
    attack(
        ws,
        sql("DELETE FROM facts WHERE ledger_index >= :k", k=keep),
        sql("DELETE FROM decisions WHERE ledger_index >= :k", k=keep),
        sql("DELETE FROM overrides WHERE ledger_index >= :k", k=keep),
        sql("DELETE FROM determinations WHERE ledger_index >= :k", k=keep),
        sql("DELETE FROM ledger_entries WHERE idx >= :k", k=keep),
        sql("DELETE FROM ledger_checkpoints WHERE size > :k", k=keep),
    )
    attack(ws, *rebuild_tree(ws))


def test_deleting_the_newest_entries_and_their_checkpoints_is_found(
    ws: Workspace, at: dict[str, int], cli: Cli, tmp_path: Path
) -> None:
    published = tmp_path / "published.checkpoint"
    assert cli("ledger", "checkpoint", "--out", published, "--workspace", ws.root).code == 0
    full_size = size_of(ws)
    truncate(ws, full_size - 2)

    quick = cli("ledger", "verify", "--workspace", ws.root)
    assert quick.code == 1
    assert "keys/ledger.state" in quick.err and "were deleted" in quick.err
    refused = cli("models", "add", "m-9", "--workspace", ws.root)
    assert refused.code == 1
    assert "newer entries and checkpoints were deleted" in refused.err

    # A verifier's copy without the signer's state still catches it with a published checkpoint.
    ws.ledger_state_path.rename(tmp_path / "state.bak")
    blind = cli("ledger", "verify", "--workspace", ws.root)
    assert blind.code == 0
    assert "no signer state" in blind.err  # and it says what it could not check
    held = cli("ledger", "verify", "--against", published, "--workspace", ws.root)
    assert held.code == 1
    assert f"covers {full_size} entries but the ledger has only {full_size - 2}" in held.err


def test_zero_checkpoints_or_an_unsigned_tail_fail_verification(
    ws: Workspace, at: dict[str, int], cli: Cli
) -> None:
    record = {"id": 99, "model": "acme-7", "standard": "asl-4", "attested_by": "x"}
    record |= {"evidence_url": "https://forged", "note": None}
    attack(ws, *forged_rows(ws, "attestation", "attestations", record))
    attack(ws, *rebuild_tree(ws))
    n = size_of(ws) - 1
    tail = cli("ledger", "verify", "--workspace", ws.root)
    assert tail.code == 1
    assert f"FAILED at entry {n}:" in tail.err and "not covered by any signed" in tail.err
    full = cli("ledger", "verify", "--full", "--workspace", ws.root)
    assert full.code == 1 and f"entries {n}..{n} are not covered" in full.err
    attack(ws, sql("DELETE FROM ledger_checkpoints"))
    none = cli("ledger", "verify", "--json", "--workspace", ws.root)
    assert none.code == 1
    messages = [d["message"] for d in json.loads(none.out)["discrepancies"]]
    assert any("holds no valid checkpoint at all" in m for m in messages)


# -- 4. the key a verification trusts ----------------------------------------------------


def test_verify_names_its_key_and_a_substituted_workspace_key_is_caught(
    ws: Workspace, at: dict[str, int], cli: Cli, tmp_path: Path
) -> None:
    genuine = tmp_path / "genuine.vkey"
    genuine.write_text(ws.verifier().vkey + "\n")
    real_id = ws.verifier().key_id.hex()
    ok = cli("ledger", "verify", "--key", genuine, "--workspace", ws.root)
    assert ok.code == 0
    assert real_id in ok.out and "given by the verifier" in ok.err
    assert "warning" not in ok.err

    # Someone who can change the workspace re-signs every checkpoint with their own key.
    mallory = generate_key(ws.verifier().name)
    with ws.store.read() as s:
        sizes = [c.size for c in ledger_tree.checkpoints(s)]
        roots = {n: fold(stored_frontier(s, n)) for n in sizes}
    attack(
        ws,
        *(
            sql(
                "UPDATE ledger_checkpoints SET note = :n WHERE size = :s",
                n=sign_checkpoint(Checkpoint(mallory.name, n, roots[n]), mallory),
                s=n,
            )
            for n in sizes
        ),
    )
    ws.ledger_vkey_path.write_text(mallory.vkey + "\n")
    ws.ledger_state_path.unlink()
    fooled = cli("ledger", "verify", "--workspace", ws.root)
    assert fooled.code == 0  # with the workspace's own (replaced) key everything adds up ...
    assert mallory.key_id.hex() in fooled.err  # ... but it says which key it trusted
    assert "read from this workspace" in fooled.err
    caught = cli("ledger", "verify", "--key", genuine, "--workspace", ws.root)
    assert caught.code == 1
    assert "not signed by any trusted key" in caught.err
    as_json = json.loads(cli("ledger", "verify", "--json", "--workspace", ws.root).out)
    assert as_json["key"]["key_id"] == mallory.key_id.hex()
    assert as_json["key"]["source"] == "keys/ledger.vkey"


# -- 5. evidence files ------------------------------------------------------------------------


def _an_artifact(ws: Workspace) -> tuple[str, Path]:
    with ws.store.read() as s:
        art = repo.artifacts(s)[0]
    return art.sha256, ws.object_path(art.sha256)


def test_an_overwritten_evidence_file_is_found(lab: Workspace, cli: Cli) -> None:
    assert cli("ledger", "verify", "--full", "--workspace", lab.root).code == 0
    sha, path = _an_artifact(lab)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\n")
    result = cli("ledger", "verify", "--full", "--workspace", lab.root)
    assert result.code == 1
    assert "it was overwritten" in result.err and sha[2:12] in result.err


def test_a_deleted_evidence_file_is_found(lab: Workspace, cli: Cli) -> None:
    _, path = _an_artifact(lab)
    path.unlink()
    result = cli("ledger", "verify", "--full", "--workspace", lab.root)
    assert result.code == 1
    assert "the file is missing" in result.err


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE artifacts SET stored_path = 'incoming/swe_long.csv'",
        "UPDATE artifacts SET size = size + 1",
        "UPDATE artifacts SET sha256 = :other WHERE sha256 = :sha",
        "DELETE FROM artifacts WHERE sha256 = :sha",
    ],
)
def test_an_edited_artifacts_table_is_found(lab: Workspace, cli: Cli, statement: str) -> None:
    sha, _ = _an_artifact(lab)
    other = hashlib.sha256(b"something else").hexdigest()
    params = {k: v for k, v in {"sha": sha, "other": other}.items() if f":{k}" in statement}
    attack(lab, sql(statement, **params))
    result = cli("ledger", "verify", "--full", "--workspace", lab.root)
    assert result.code == 1
    assert "artifacts" in result.err


# -- 6. decisions check every row they read ------------------------------------------------


def test_a_decision_refuses_an_evidence_row_edited_far_back(lab: Workspace) -> None:
    with lab.store.read() as s:
        target = repo.evidence_for_model(s, "aurora-3")[0]
    with lab.store.write() as tx:  # push the row far outside quick verification's window
        for n in range(QUICK_TAIL + 50):
            repo.add_fact(tx, name=f"filler-{n}", value=n, source="https://s", asserted_by="x")
    attack(
        lab, sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id)
    )  # a lower score: fewer thresholds crossed
    with pytest.raises(LedgerIntegrityError, match=f"evidence row id {target.id}") as caught:
        service.decide(lab, "aurora-3", "train", by="rso")
    assert f"signed ledger entry {target.ledger_index}" in caught.value.message
    with lab.store.read() as s:
        assert repo.decisions(s, "aurora-3") == []
        assert repo.determinations(s, "aurora-3") == []


def test_a_row_proven_by_an_earlier_decision_is_checked_again_once_edited(
    lab: Workspace,
) -> None:
    # the first decision proves every row it reads and the process remembers them;
    # an edit afterwards changes the row, so nothing remembered may vouch for it
    service.decide(lab, "aurora-3", "train", by="rso")
    with lab.store.read() as s:
        target = repo.evidence_for_model(s, "aurora-3")[0]
        decided = len(repo.decisions(s, "aurora-3"))
    attack(lab, sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id))
    with pytest.raises(LedgerIntegrityError, match=f"evidence row id {target.id}"):
        service.decide(lab, "aurora-3", "train", by="rso")
    with lab.store.read() as s:
        assert len(repo.decisions(s, "aurora-3")) == decided


def test_decisions_still_work_on_an_intact_ledger(lab: Workspace) -> None:
    result = service.decide(lab, "aurora-3", "train", by="rso")
    assert result.decision.outcome == "proceed_with_conditions"
    assert lab.verify_ledger(full=True).ok


# -- 7. a verifier never crashes on a tampered database ------------------------------------


def test_entry_bytes_stored_as_text_are_reported_not_a_crash(
    ws: Workspace, at: dict[str, int], cli: Cli
) -> None:
    i = at["fact"]
    if ws.store.backend == "sqlite":
        attack(ws, sql("UPDATE ledger_entries SET data = CAST(data AS TEXT) WHERE idx = :i", i=i))
    else:
        attack(
            ws,
            sql(
                "ALTER TABLE ledger_entries ALTER COLUMN data TYPE text "
                "USING convert_from(data, 'UTF8')"
            ),
        )
    for args in (("--full",), ()):
        result = cli("ledger", "verify", *args, "--workspace", ws.root)
        assert result.code == 1, result.err
        assert "Traceback" not in result.err
        assert "not as bytes" in result.err
    proved = cli("ledger", "prove", i, "--workspace", ws.root)
    assert proved.code == 1 and "not bytes" in proved.err


@pytest.mark.parametrize(
    "statements",
    [
        ["UPDATE ledger_checkpoints SET note = NULL WHERE size = 0"],
        ["UPDATE ledger_nodes SET hash = NULL WHERE level = 0 AND idx = 1"],
        ["DROP TABLE facts"],
        ["DROP TABLE ledger_nodes"],
        ["ALTER TABLE models DROP COLUMN notes"],
        ["DELETE FROM models"],
    ],
)
def test_wrong_types_nulls_and_missing_tables_are_findings(
    ws: Workspace, at: dict[str, int], cli: Cli, statements: list[str]
) -> None:
    prefix = []
    if "NULL" in statements[0]:  # NOT NULL is a constraint an administrator can drop
        table, column = statements[0].split()[1], statements[0].split()[3]
        if ws.store.backend == "sqlite":
            pytest.skip("SQLite cannot drop NOT NULL in place; covered by the cell test below")
        prefix = [sql(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")]
    attack(ws, *prefix, *(sql(s) for s in statements))
    for args in (("--full",), ()):
        result = cli("ledger", "verify", *args, "--workspace", ws.root)
        assert result.code == 1, (args, result.err)
        assert "Traceback" not in result.err and "internal error" not in result.err


def test_sqlite_cells_of_any_type_never_crash_verification(tmp_path: Path) -> None:
    """SQLite stores any value in any column; verification must take whatever it finds."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from scaleguard.workspace import init_workspace

    template = tmp_path / "template"
    with init_workspace(template, name="Cells") as w:
        populate(w)
    cells = [
        ("ledger_entries", "data"),
        ("ledger_entries", "leaf_hash"),
        ("ledger_entries", "idx"),
        ("ledger_entries", "created_at"),
        ("ledger_nodes", "hash"),
        ("ledger_nodes", "level"),
        ("ledger_checkpoints", "root"),
        ("ledger_checkpoints", "size"),
        ("models", "released_on"),
        ("models", "sources"),
        ("models", "own"),
        ("evidence", "value"),
        ("evidence", "run"),
        ("decisions", "record"),
        ("facts", "value"),
        ("facts", "ledger_index"),
    ]
    values = st.one_of(
        st.none(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.binary(max_size=40),
    )
    counter = iter(range(10**6))

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cell=st.sampled_from(cells), value=values)
    def run(cell: tuple[str, str], value: object) -> None:
        root = tmp_path / f"copy-{next(counter)}"
        shutil.copytree(template, root)
        with open_workspace(root) as copy:
            table, column = cell
            assert verify(copy.store, copy.verifier(), full=True).ok
            try:
                attack(copy, sql(f"UPDATE {table} SET {column} = :v", v=value))
            except IntegrityError:  # a constraint SQLite does enforce (NOT NULL, UNIQUE)
                return
            for full in (True, False):
                report = copy.verify_ledger(full=full)  # must not raise
                assert isinstance(report.ok, bool)
            with contextlib.suppress(LedgerError):
                copy.checkpoint()  # the signer refuses or finds the tree intact; never crashes
        shutil.rmtree(root)

    run()


# -- verify --full names the entry that is actually bad; exit 1 everywhere -------------------


def test_the_first_bad_entry_is_named_when_checkpoints_are_sparse(ws: Workspace, cli: Cli) -> None:
    with ws.store.write() as tx:  # one transaction, one checkpoint: 30 entries
        for n in range(30):
            repo.add_fact(tx, name=f"f{n}", value=n, source="https://s", asserted_by="x")
    attack(ws, *set_entry(15, rewritten(ws, 15, value=1000)))
    result = cli("ledger", "verify", "--full", "--workspace", ws.root)
    assert result.code == 1
    assert "FAILED at entry 15:" in result.err


def test_prove_on_a_tampered_log_exits_1(ws: Workspace, at: dict[str, int], cli: Cli) -> None:
    i = at["decision"]
    attack(ws, *set_entry(i, rewritten(ws, i, outcome="proceed")))
    result = cli("ledger", "prove", i, "--workspace", ws.root)
    assert result.code == 1
    assert "does not verify against the checkpoint" in result.err


def test_an_edited_entry_is_never_attested_with_the_key(
    ws: Workspace, at: dict[str, int], cli: Cli, tmp_path: Path
) -> None:
    i = at["decision"]
    attack(ws, *set_entry(i, rewritten(ws, i, outcome="proceed")))
    out = tmp_path / "a.dsse"
    result = cli("ledger", "export", i, "--attestation", out, "--workspace", ws.root)
    assert result.code == 1
    assert "refusing to attest" in result.err
    assert not out.exists()


def test_verify_against_a_published_checkpoint(
    ws: Workspace, at: dict[str, int], cli: Cli, tmp_path: Path
) -> None:
    published = tmp_path / "old.checkpoint"
    assert cli("ledger", "checkpoint", "--out", published, "--workspace", ws.root).code == 0
    add_fact(ws)
    grown = cli("ledger", "verify", "--against", published, "--workspace", ws.root)
    assert grown.code == 0, grown.err
    assert "consistent with 1 earlier checkpoint" in grown.out

    # The key holder rewrites history and re-signs it from scratch: only outsiders can tell.
    i = at["evidence"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95)))
    attack(
        ws,
        sql("UPDATE evidence SET value = 0.95 WHERE ledger_index = :i", i=i),
        sql("DELETE FROM ledger_checkpoints"),
        *rebuild_tree(ws),
    )
    resign_from_scratch(ws)
    assert cli("ledger", "verify", "--workspace", ws.root).code == 0
    held = cli("ledger", "verify", "--against", published, "--workspace", ws.root)
    assert held.code == 1
    assert "history was rewritten" in held.err


# -- library callers get the same guarantees as the CLI ----------------------------------


def test_the_inspect_hook_signs_and_refuses_like_the_cli(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai.log import write_eval_log

    from scaleguard.errors import EvidenceError
    from scaleguard.evidence.synthetic import make_eval_log
    from scaleguard.integrations import inspect_hook
    from scaleguard.workspace import init_workspace

    root = tmp_path / "hooked"
    init_workspace(root, db_url=None if store_url.startswith("sqlite") else store_url).close()
    monkeypatch.setenv(inspect_hook.WORKSPACE_ENV, str(root))
    first, second = tmp_path / "first.eval", tmp_path / "second.eval"
    write_eval_log(make_eval_log("wmdp-bio", "m-1", [1.0, 0.0, 1.0]), str(first), format="eval")
    write_eval_log(make_eval_log("wmdp-chem", "m-1", [0.0, 1.0]), str(second), format="eval")

    inspect_hook.record_log(str(first))
    with open_workspace(root) as ws:
        size = size_of(ws)
        assert size > 0 and checkpoint_sizes(ws)[-1] == size  # signed as it was written
        assert verify(ws.store, ws.verifier(), full=True, objects=ws.objects_dir).ok
        record = {"id": 50, "model": "m-1", "standard": "asl-4", "attested_by": "x"}
        record |= {"evidence_url": "https://forged", "note": None}
        attack(ws, *forged_rows(ws, "attestation", "attestations", record))
        attack(ws, *rebuild_tree(ws))
    with pytest.raises(EvidenceError, match="refusing to sign"):
        inspect_hook.record_log(str(second))
    with open_workspace(root) as ws:
        assert size_of(ws) == size + 1  # only the forged entry; the hook recorded nothing


def test_concurrent_writers_each_sign_their_own_transactions(ws: Workspace, store_url: str) -> None:
    from child_processes import facts_in_a_workspace
    from conftest import worker_context

    ctx = worker_context()
    procs = [ctx.Process(target=facts_in_a_workspace, args=(str(ws.root), w, 6)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert checkpoint_sizes(ws) == list(range(19))  # the empty tree, then one per transaction
    assert ws.checkpoint().checkpoint.size == 18
    assert ws.verify_ledger(full=True).ok


# -- workspaces made before signer state ------------------------------------------------------


def test_a_workspace_without_signer_state_is_adopted_only_after_full_verification(
    ws: Workspace, at: dict[str, int], cli: Cli
) -> None:
    ws.ledger_state_path.unlink()  # as a workspace made by an earlier scaleguard
    refused = cli("models", "add", "m-9", "--workspace", ws.root)
    assert refused.code == 2
    assert "ledger adopt" in refused.err
    # populate()'s evidence cites a file that was never stored: --full fails, so no adoption
    failed = cli("ledger", "adopt", "--workspace", ws.root)
    assert failed.code == 1 and "does not verify" in failed.err
    assert not ws.ledger_state_path.exists()
    attack(ws, sql("DELETE FROM evidence"), sql("DELETE FROM artifacts"))
    attack(ws, sql("DELETE FROM ledger_entries WHERE kind = 'evidence'"))
    still = cli("ledger", "adopt", "--workspace", ws.root)
    assert still.code == 1  # a deleted entry is a finding too
    assert not ws.ledger_state_path.exists()


def test_adopt_trusts_a_verified_ledger_once(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "old"
    assert cli("init", root).code == 0
    assert cli("models", "add", "m-1", "--workspace", root).code == 0
    (root / "keys" / "ledger.state").unlink()
    adopted = cli("ledger", "adopt", "--workspace", root)
    assert adopted.code == 0, adopted.err
    assert cli("models", "add", "m-2", "--workspace", root).code == 0
    assert cli("ledger", "verify", "--full", "--workspace", root).code == 0
    again = cli("ledger", "adopt", "--workspace", root)
    assert again.code == 2 and "already exists" in again.err


def test_consistency_on_a_tampered_log_exits_1(ws: Workspace, at: dict[str, int], cli: Cli) -> None:
    attack(ws, sql("DELETE FROM ledger_nodes WHERE level = 1"))
    result = cli("ledger", "consistency", "3", "--workspace", ws.root)
    assert result.code == 1
    assert "Traceback" not in result.err


def test_a_witness_file_holds_the_latest_checkpoint_and_catches_truncation(
    tmp_path: Path, cli: Cli
) -> None:
    root = tmp_path / "witnessed"
    assert cli("init", root).code == 0
    with (root / "scaleguard.toml").open("a") as fh:
        fh.write('\n[ledger]\nwitness = "../published/latest.checkpoint"\n')
    for name in ("m-1", "m-2", "m-3"):
        assert cli("models", "add", name, "--workspace", root).code == 0
    published = tmp_path / "published" / "latest.checkpoint"
    with open_workspace(root) as ws:
        with ws.store.read() as s:
            latest = ledger_tree.require_checkpoint(s)
        assert published.read_bytes() == latest.note and latest.size == 3
        truncate(ws, 2)
        attack(ws, sql("DELETE FROM models WHERE ledger_index >= 2"))
        ws.ledger_state_path.unlink()  # a verifier's copy, without the keys folder
    result = cli("ledger", "verify", "--workspace", root)
    assert result.code == 1
    assert "the witness copy" in result.err and "were deleted" in result.err


# -- the signer's rule as a property ----------------------------------------------------------


def test_whatever_the_attack_the_signer_only_signs_honest_history(tmp_path: Path) -> None:
    """Any attack, then an ordinary write: it is refused, or what gets signed is exactly the
    honest history plus the new record (never the attacker's version), and verify fails
    whenever the attack changed the ledger."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from scaleguard.ledger.merkle import naive_root
    from scaleguard.workspace import init_workspace

    template = tmp_path / "template"
    with init_workspace(template, name="Property") as w:
        for n in range(12):
            with w.store.write() as tx:
                repo.add_fact(tx, name=f"f{n}", value=n, source="https://s", asserted_by="x")
    counter = iter(range(10**6))

    def attacks(ws: Workspace, kind: str, k: int) -> None:
        if kind == "bytes":
            attack(ws, *set_entry(k, rewritten(ws, k, value=-1), leaf=False))
        elif kind == "rewrite":
            attack(ws, *set_entry(k, rewritten(ws, k, value=-1)))
            attack(ws, sql("UPDATE facts SET value = '-1' WHERE ledger_index = :k", k=k))
            attack(ws, *rebuild_tree(ws))
        elif kind == "rewrite-unsigned":
            attack(ws, *set_entry(k, rewritten(ws, k, value=-1)))
            attack(ws, sql("DELETE FROM ledger_checkpoints WHERE size > :k", k=k))
            attack(ws, *rebuild_tree(ws))
        elif kind == "delete":
            attack(ws, sql("DELETE FROM ledger_entries WHERE idx = :k", k=k))
            attack(ws, sql("DELETE FROM facts WHERE ledger_index = :k", k=k))
            attack(ws, *rebuild_tree(ws))
        elif kind == "truncate":
            attack(ws, sql("DELETE FROM facts WHERE ledger_index >= :k", k=k))
            attack(ws, sql("DELETE FROM ledger_entries WHERE idx >= :k", k=k))
            attack(ws, sql("DELETE FROM ledger_checkpoints WHERE size > :k", k=k))
            attack(ws, *rebuild_tree(ws))
        elif kind == "append":
            record = {"id": 100 + k, "name": "forged", "value": k, "model": None}
            record |= {"source": "https://forged", "asserted_by": "x"}
            attack(ws, *forged_rows(ws, "fact", "facts", {**record, "value": k}))
            attack(ws, *rebuild_tree(ws))
        elif kind == "checkpoints":
            attack(ws, sql("DELETE FROM ledger_checkpoints WHERE size >= :k", k=k))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        kind=st.sampled_from(
            ["bytes", "rewrite", "rewrite-unsigned", "delete", "truncate", "append", "checkpoints"]
        ),
        k=st.integers(min_value=0, max_value=11),
    )
    def run(kind: str, k: int) -> None:
        root = tmp_path / f"copy-{next(counter)}"
        shutil.copytree(template, root)
        with open_workspace(root) as ws:
            with ws.store.read() as s:
                honest = [e.data for e in repo.ledger_entries(s)]
            attacks(ws, kind, k)
            assert not ws.verify_ledger().ok or not verify(ws.store, ws.verifier(), full=True).ok
            try:
                add_fact(ws, "after")
            except LedgerIntegrityError:
                return
            with ws.store.read() as s:
                latest = ledger_tree.require_checkpoint(s)
                new = ledger_tree.entry(s, latest.size - 1)[0]
            assert latest.size == len(honest) + 1
            assert latest.root == naive_root([*honest, new])  # the honest tree, extended
        shutil.rmtree(root)

    run()
