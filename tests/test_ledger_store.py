"""The ledger in the database: stored subtree hashes, proofs, checkpoints, verification."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text

from conftest import worker_context
from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger import (
    EMPTY_ROOT,
    Checkpoint,
    MemoryNodeSource,
    NoteSigner,
    entry_bytes,
    generate_key,
    leaf_hash,
    open_checkpoint,
    parse_entry,
    sign_checkpoint,
    verify_attestation,
    verify_receipt,
)
from scaleguard.ledger.merkle import naive_consistency_proof, naive_inclusion_proof, naive_root
from scaleguard.ledger.recheck import check_entry, quick_entry, read_entry
from scaleguard.store import Store, Tx, ensure_schema, head_revision, repo, revision_of
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.origin import start_log
from scaleguard.store.ledger.signer import (
    LedgerSigner,
    empty_tree,
    fold,
    stored_frontier,
)
from scaleguard.store.ledger.verify import verify
from scaleguard.store.migrate import alembic_config, script
from scaleguard.store.tables import LedgerCheckpointRow, LedgerNodeRow, metadata
from scaleguard.workspace import Workspace, init_workspace, open_workspace
from scaleguard.workspace.workspace import origin_for
from workspace_copies import Copy, copied_workspace

SIGNER = NoteSigner.from_seed("scaleguard.local/test", bytes(range(32)))


@pytest.fixture
def store(migrated_url: str) -> Iterator[Store]:
    """scaleguard's schema at head, in a database of the test's own (see migrated_url)."""
    s = Store(migrated_url)
    ensure_schema(s, create=False)
    yield s
    s.dispose()


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A new workspace of the test's own (a copy of one made once)."""
    with open_workspace(copied_workspace(request, workspace_copy, "Tamper Lab")) as workspace:
        yield workspace


def stored_nodes(store: Store) -> dict[tuple[int, int], bytes]:
    with store.read() as s:
        rows = s.execute(select(LedgerNodeRow.level, LedgerNodeRow.idx, LedgerNodeRow.hash))
        return {(int(lv), int(i)): bytes(h) for lv, i, h in rows}


def entries_data(store: Store) -> list[bytes]:
    with store.read() as s:
        return [e.data for e in repo.ledger_entries(s)]


def append(tx: Tx, i: int) -> int:
    return repo.append_record(tx, "note", f"n{i}", {"i": i})


# -- a workspace with a record of every kind, checkpointed after each -----------


def populate(ws: Workspace) -> dict[str, int]:
    """One record of every kind, each committed and checkpointed like a CLI command.

    Returns kind-ish labels -> ledger index.
    """
    at: dict[str, int] = {}

    def step(label: str, write: Any) -> None:
        with ws.store.write() as tx:
            at[label] = write(tx).ledger_index
        ws.checkpoint()

    step(
        "framework",
        lambda tx: repo.record_framework(
            tx, ref="acme@1.0", digest="d" * 64, origin="frameworks/acme.yaml"
        ),
    )
    step(
        "model",
        lambda tx: repo.add_model(
            tx,
            name="acme-7",
            own=True,
            status="planned",
            created_by="rso",
            effective_compute=3.0e25,
            sources=["https://acme.example/card"],
        ),
    )
    step(
        "rival",
        lambda tx: repo.add_model(
            tx,
            name="rival-9",
            own=False,
            status="released",
            created_by="rso",
            developer="Rival",
            released_on=date(2026, 3, 1),
            safeguards_level="strong",
        ),
    )
    step(
        "score",
        lambda tx: repo.add_score(
            tx, model="rival-9", domain="cyber", score=1.0, source=None, created_by="rso"
        ),
    )

    def evidence(tx: Tx) -> Any:
        repo.add_artifact(
            tx, sha256="a" * 64, size=10, format="csv", original_name="r.csv", stored_path="x"
        )
        return repo.add_evidence(
            tx,
            model="acme-7",
            task="wmdp-bio",
            metric="accuracy",
            value=0.75,
            artifact_sha256="a" * 64,
            format="csv",
            ingested_by="evals",
            sample_count=3,
            sample_scores=[1.0, 0.0, 1.0],
            run={"seed": 1},
            details={},
        )

    step("evidence", evidence)
    step(
        "attestation",
        lambda tx: repo.add_attestation(
            tx,
            model="acme-7",
            standard="asl-3",
            attested_by="sec",
            evidence_url="https://e",
            note="audited",
        ),
    )
    step(
        "fact",
        lambda tx: repo.add_fact(
            tx,
            name="competitor_released_comparable",
            value=True,
            source="https://s",
            asserted_by="rso",
        ),
    )
    step(
        "determination",
        lambda tx: repo.add_determination(
            tx,
            model="acme-7",
            framework_ref="acme@1.0",
            threshold_id="cbrn-3",
            state="alert",
            method="wilson",
            created_by="rso",
            estimate=0.75,
            low=0.3,
            high=0.95,
            evidence_ids=[1],
            params={"z": 1.96},
        ),
    )
    step(
        "override",
        lambda tx: repo.add_override(
            tx,
            model="acme-7",
            framework_ref="acme@1.0",
            threshold_id="cbrn-3",
            state="crossed",
            author="rso",
            justification="err on the side of caution",
            supersedes_determination_id=1,
        ),
    )
    step(
        "decision",
        lambda tx: repo.add_decision(
            tx,
            model="acme-7",
            action="deploy-external",
            framework_ref="acme@1.0",
            outcome="blocked",
            record={"why": ["score ≥ threshold"], "p": 0.5},
            created_by="rso",
        ),
    )
    return at


# -- schema -----------------------------------------------------------------------


def test_migration_0002_creates_the_declared_tree_tables(fresh_store: Store) -> None:
    assert revision_of(fresh_store) == head_revision()
    ledger_tree = script().get_revision("0002_ledger_tree")
    assert ledger_tree is not None and ledger_tree.down_revision == "0001_initial"
    with fresh_store.read() as s:
        assert compare_metadata(MigrationContext.configure(s.connection()), metadata) == []


def test_tree_tables_are_append_only(store: Store) -> None:
    with store.write() as tx:
        append(tx, 0)
    for statement in ("UPDATE ledger_nodes SET idx = 5", "DELETE FROM ledger_nodes"):
        with pytest.raises(Exception, match="append-only"), store.write() as tx:
            tx.execute(text(statement))
    assert len(stored_nodes(store)) == 1


def test_upgrading_from_0001_backfills_nodes_for_existing_entries(store_url: str) -> None:
    s = Store(store_url)
    try:
        with s.write() as tx:
            command.upgrade(alembic_config(tx.connection()), "0001_initial")
            for i in range(13):  # written the way 0001's code did: no nodes
                data = entry_bytes("note", datetime(2026, 1, 1, tzinfo=UTC), {"i": i})
                tx.execute(
                    text(
                        "INSERT INTO ledger_entries (idx, kind, subject, created_at, data, "
                        "leaf_hash) VALUES (:i, 'note', 's', '2026-01-01T00:00:00Z', :d, :h)"
                    ),
                    {"i": i, "d": data, "h": leaf_hash(data)},
                )
        assert revision_of(s) == "0001_initial"
        ensure_schema(s, create=False)
        assert revision_of(s) == head_revision()
        memory = MemoryNodeSource.from_entries(entries_data(s))
        assert stored_nodes(s) == memory._nodes
        with s.write() as tx:  # appends continue the backfilled tree
            append(tx, 13)
        memory.append(entries_data(s)[-1])
        assert stored_nodes(s) == memory._nodes
    finally:
        s.dispose()


# -- appends, roots and proofs ----------------------------------------------------------


def test_appends_store_exactly_the_complete_subtrees(store: Store) -> None:
    sizes = [1, 2, 5, 1, 8, 3, 17]  # entries per transaction, batches included
    n = 0
    for batch in sizes:
        with store.write() as tx:
            for _ in range(batch):
                append(tx, n)
                n += 1
    memory = MemoryNodeSource.from_entries(entries_data(store))
    assert stored_nodes(store) == memory._nodes
    assert len(memory._nodes) == 2 * n - bin(n).count("1")


def test_a_rolled_back_append_leaves_no_nodes(store: Store) -> None:
    with store.write() as tx:
        append(tx, 0)
    with pytest.raises(RuntimeError), store.write() as tx:
        append(tx, 1)
        raise RuntimeError("boom")
    assert set(stored_nodes(store)) == {(0, 0)}


def test_roots_and_proofs_from_the_database_match_the_rfc_definitions(store: Store) -> None:
    with store.write() as tx:
        for i in range(21):
            append(tx, i)
    data = entries_data(store)
    with store.read() as s:
        for n in range(1, 22):
            assert ledger_tree.root_at(s, n) == naive_root(data[:n])
            for i in range(n):
                assert ledger_tree.prove_inclusion(s, i, n) == naive_inclusion_proof(i, data[:n])
            for m in range(n + 1):
                assert ledger_tree.prove_consistency(s, m, n) == naive_consistency_proof(
                    m, data[:n]
                )


def test_a_missing_node_is_reported_not_guessed(store: Store) -> None:
    with store.read() as s, pytest.raises(LedgerError, match="no stored hash for level 2"):
        ledger_tree.DbNodeSource(s).node(2, 0)


def sign_by_hand(store: Store, signer: NoteSigner) -> None:
    """What only the key holder can do: sign the empty tree and the whole ledger as it is."""
    with store.read() as s:
        size = ledger_tree.ledger_size(s)
        frontier = stored_frontier(s, size)
    note = sign_checkpoint(Checkpoint(signer.name, size, fold(frontier)), signer)
    with store.write() as tx:
        for n, r, body in ((0, EMPTY_ROOT, empty_tree(signer).note), (size, fold(frontier), note)):
            tx.execute(
                insert(LedgerCheckpointRow.__table__),  # type: ignore[arg-type]
                {"size": n, "root": r, "note": body, "created_at": "2026-01-01T00:00:00Z"},
            )


def test_concurrent_writers_build_one_consistent_tree(store: Store, migrated_url: str) -> None:
    from child_processes import append_many

    ctx = worker_context()
    procs = [ctx.Process(target=append_many, args=(migrated_url, w, 8)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert stored_nodes(store) == MemoryNodeSource.from_entries(entries_data(store))._nodes
    unsigned = verify(store, SIGNER.verifier, full=True)
    assert [d.table for d in unsigned.discrepancies] == ["ledger_entries", "ledger_checkpoints"]
    sign_by_hand(store, SIGNER)
    assert verify(store, SIGNER.verifier, full=True).ok


# -- checkpoints ------------------------------------------------------------------------


@pytest.fixture
def signed(store: Store, tmp_path: Path) -> Store:
    """A bare store whose write transactions are sealed, as a workspace's are."""
    state = tmp_path / "ledger.state"
    with store.write() as tx:
        start_log(tx, SIGNER, state)
    store.sealer = LedgerSigner(SIGNER, state)
    return store


def test_every_write_transaction_is_signed_before_it_commits(signed: Store) -> None:
    with signed.write() as tx:
        for i in range(5):
            append(tx, i)
    with signed.write() as tx:  # appends nothing: nothing to sign
        pass
    with signed.read() as s:
        stored = ledger_tree.checkpoints(s)
    assert [c.size for c in stored] == [0, 5]
    cp = open_checkpoint(stored[-1].note, SIGNER.verifier)
    assert (cp.origin, cp.size, cp.root) == (
        "scaleguard.local/test",
        5,
        naive_root(entries_data(signed)),
    )
    with pytest.raises(RuntimeError), signed.write() as tx:
        append(tx, 5)
        raise RuntimeError("the write fails after appending")
    with signed.write() as tx:
        append(tx, 6)
    with signed.read() as s:
        assert [c.size for c in ledger_tree.checkpoints(s)] == [0, 5, 6]
    report = verify(signed, SIGNER.verifier, full=True)
    assert report.checkpoints == 3  # "note" entries have no record table; nothing else is off
    assert all("has no record table" in d.message for d in report.discrepancies)


def test_a_checkpoint_is_refused_when_history_changed(signed: Store) -> None:
    with signed.write() as tx:
        for i in range(6):
            append(tx, i)
    refused = pytest.raises(LedgerIntegrityError, match=r"refusing to sign.*history was rewritten")
    with refused, signed.write() as tx:
        append(tx, 6)
        # An attacker with database access rewrites a node the old root depends on.
        if signed.backend == "sqlite":
            tx.execute(text("DROP TRIGGER ledger_nodes_no_update"))
        else:
            tx.execute(text("ALTER TABLE ledger_nodes DISABLE TRIGGER USER"))
        tx.execute(
            text("UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND idx = 0"),
            {"h": b"\x01" * 32},
        )
    with signed.read() as s:  # the whole write rolled back
        assert [c.size for c in ledger_tree.checkpoints(s)] == [0, 6]
        assert ledger_tree.ledger_size(s) == 6


def test_a_checkpoint_is_refused_under_another_key(signed: Store, tmp_path: Path) -> None:
    signed.sealer = LedgerSigner(generate_key("scaleguard.local/test"), tmp_path / "ledger.state")
    with pytest.raises(LedgerError, match=r"not signed by any trusted key"), signed.write() as tx:
        append(tx, 0)


# -- receipts, consistency bundles, attestations -------------------------------------------


def test_receipts_and_consistency_bundles_verify_offline(signed: Store) -> None:
    store = signed
    with store.write() as tx:
        for i in range(9):
            append(tx, i)
    with store.read() as s:
        old = ledger_tree.require_checkpoint(s)
        receipt = ledger_tree.receipt(s, 4)
    proven = verify_receipt(receipt, SIGNER.vkey)
    assert (proven.index, proven.checkpoint.size) == (4, 9)
    assert parse_entry(proven.entry).record == {"i": 4}
    with store.write() as tx:
        for i in range(9, 30):
            append(tx, i)
    with store.read() as s:
        bundle = ledger_tree.consistency_bundle(s, old.size)
    newer = ledger_tree.verify_bundle(bundle, SIGNER.verifier, proven.checkpoint)
    assert newer.size == 30
    lines = bundle.split(b"\n")
    lines[1] = lines[2]  # a proof hash swapped for another
    with pytest.raises(LedgerError, match="consistency proof"):
        ledger_tree.verify_bundle(b"\n".join(lines), SIGNER.verifier, proven.checkpoint)
    with pytest.raises(LedgerError, match="starts at size 9"):
        ledger_tree.verify_bundle(
            bundle, SIGNER.verifier, open_checkpoint(newer_note(store), SIGNER.verifier)
        )


def newer_note(store: Store) -> bytes:
    with store.read() as s:
        latest = ledger_tree.latest_checkpoint(s)
    assert latest is not None
    return latest.note


def test_receipts_need_a_covering_checkpoint(store: Store) -> None:
    with store.write() as tx:
        append(tx, 0)
    with store.read() as s, pytest.raises(LedgerError, match="no checkpoint"):
        ledger_tree.receipt(s, 0)


def test_exported_attestations_verify_with_the_log_key(ws: Workspace) -> None:
    at = populate(ws)
    with ws.store.read() as s:
        signed = ws.signed_checkpoint()
        envelope, parsed = ledger_tree.export_attestation(s, at["decision"], ws.signer(), signed)
        fact_env, _ = ledger_tree.export_attestation(s, at["fact"], ws.signer(), signed)
    checked = verify_attestation(envelope, ws.verifier())
    assert checked.predicate_type == "https://scaleguard.dev/attestation/decision/v1"
    assert checked.subject_name == f"scaleguard.local/tamper-lab/entries/{at['decision']}"
    assert checked.record == parsed.record
    assert checked.record["outcome"] == "blocked"
    assert verify_attestation(fact_env, ws.verifier()).predicate_type.endswith("/fact/v1")


# -- workspace keys -------------------------------------------------------------------


def test_init_creates_a_private_key_a_vkey_and_a_first_checkpoint(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "w", name="Acme  Safety+Team") as ws:
        key_mode = stat.S_IMODE(ws.ledger_key_path.stat().st_mode)
        assert key_mode == 0o600
        assert ws.signer().name == "scaleguard.local/acme-safety-team"
        assert ws.ledger_vkey_path.read_text().strip() == ws.signer().vkey
        with ws.store.read() as s:
            assert [c.size for c in ledger_tree.checkpoints(s)] == [0]


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("lab", "scaleguard.local/lab"),
        (" ", "scaleguard.local/workspace"),
        ("Ünï Lab", "scaleguard.local/uni-lab"),
        ("Fictional Frontier Lab (demo)", "scaleguard.local/fictional-frontier-lab-demo"),
    ],
)
def test_origins_are_valid_key_names(name: str, origin: str) -> None:
    assert origin_for(name) == origin
    generate_key(origin_for(name))  # raises on an invalid key name


# -- verification of an intact ledger -------------------------------------------------------


def test_an_intact_ledger_with_every_record_kind_verifies(ws: Workspace) -> None:
    at = populate(ws)
    for full in (True, False):
        report = verify(ws.store, ws.verifier(), full=full)
        assert report.ok, [d.render() for d in report.discrepancies]
        assert report.size == len(at) == report.entries
        assert report.records == len(at)
        assert report.checkpoints == len(at) + 1  # plus the one init signed at size 0
    full_report = verify(ws.store, ws.verifier(), full=True)
    assert full_report.nodes == 2 * len(at) - bin(len(at)).count("1")


def test_reopening_a_workspace_keeps_verifying(ws: Workspace) -> None:
    populate(ws)
    root = ws.root
    with open_workspace(root) as again:
        assert verify(again.store, again.verifier(), full=True).ok


# -- the quick canonical check never accepts more than the strict parser ------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    # including integral doubles from 2^53 to 1e21, which RFC 8785 writes as digits
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    record=st.dictionaries(st.text(max_size=6), json_values, max_size=5),
    micro=st.integers(0, 999_999),
)
def test_quick_entry_agrees_with_the_strict_parser_on_canonical_entries(
    record: dict[str, Any], micro: int
) -> None:
    data = entry_bytes("evidence", datetime(2026, 5, 1, 12, 0, 0, micro, tzinfo=UTC), record)
    strict = parse_entry(data)
    kind, moment, parsed = read_entry(data)
    assert (kind, parsed) == (strict.kind, strict.record)
    assert moment == json.loads(data)["time"]


@settings(max_examples=400, deadline=None)
@given(
    record=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    position=st.integers(min_value=0),
    replacement=st.binary(min_size=0, max_size=3),
)
def test_quick_entry_rejects_whatever_the_strict_parser_rejects(
    record: dict[str, Any], position: int, replacement: bytes
) -> None:
    data = entry_bytes("fact", datetime(2026, 5, 1, tzinfo=UTC), record)
    at = position % (len(data) + 1)
    mutated = data[:at] + replacement + data[at + 1 :]
    try:
        strict = parse_entry(mutated)
    except LedgerError:
        assert quick_entry(mutated) is None
        with pytest.raises(LedgerError):
            read_entry(mutated)
        return
    quick = quick_entry(mutated)
    assert quick is None or (quick[0], quick[2]) == (strict.kind, strict.record)


@pytest.mark.parametrize(
    "data",
    [
        b'{"kind":"x","record":{"v":1.0},"time":"2026-01-01T00:00:00Z"}',
        b'{"kind":"x","record":{"v":1e-07},"time":"2026-01-01T00:00:00Z"}',
        b'{"kind":"x","record":{"v":NaN},"time":"2026-01-01T00:00:00Z"}',
        b'{"kind":"x","record":{"v":9007199254740993},"time":"2026-01-01T00:00:00Z"}',
        b'{"kind":"x","record":{"a":1,"a":1},"time":"2026-01-01T00:00:00Z"}',
        b'{"kind":"x","record":{},"time":"2026-01-01T00:00:00.000000Z"}',
        b'{"kind":"x","record":{},"time":"2026-02-30T00:00:00Z"}',
        b'{"kind":"x","record":{"s":"\\u0041"},"time":"2026-01-01T00:00:00Z"}',
    ],
)
def test_non_canonical_spellings_are_rejected(data: bytes) -> None:
    assert quick_entry(data) is None
    with pytest.raises(LedgerError):
        read_entry(data)


@pytest.mark.parametrize(
    "token", [b"9007199254740992", b"-9007199254740992", b"1000000000000000000"]
)
def test_a_quick_entry_holds_only_safe_integers(token: bytes) -> None:
    """A canonical entry may hold a whole double of 16+ digits; the strict route reads it,
    and it is never marked quick, because a row's C text could then match it while the
    row holds an integer canonical JSON refuses."""
    data = b'{"kind":"fact","record":{"value":' + token + b'},"time":"2026-01-01T00:00:00Z"}'
    assert quick_entry(data) is None
    checked = check_entry(data)
    assert not checked.quick
    assert read_entry(data)[2]["value"] == float(token)
