"""The store on SQLite and PostgreSQL: migrations, the ledger append path, single writer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, text

from child_processes import append_many
from conftest import worker_context
from scaleguard.errors import ConflictError, InputError, NotFoundError, StoreError
from scaleguard.ledger.canonical import entry_bytes, parse_entry, parse_time
from scaleguard.store import (
    Model,
    Store,
    Tx,
    ensure_schema,
    head_revision,
    normalize_url,
    repo,
    revision_of,
)
from scaleguard.store.db import driver_sql, run_driver
from scaleguard.store.tables import metadata


@pytest.fixture
def store(migrated_url: str) -> Iterator[Store]:
    """scaleguard's schema at head, in a database of the test's own (see migrated_url)."""
    s = Store(migrated_url)
    ensure_schema(s, create=False)
    yield s
    s.dispose()


def _model(tx: Tx, name: str, **kw: Any) -> Model:
    return repo.add_model(tx, name=name, own=False, status="released", created_by="t", **kw)


def test_migration_creates_exactly_the_declared_schema(fresh_store: Store) -> None:
    assert revision_of(fresh_store) == head_revision()
    with fresh_store.read() as s:
        diffs = compare_metadata(MigrationContext.configure(s.connection()), metadata)
    assert diffs == []


def test_opening_refuses_a_schema_newer_than_the_code(store: Store) -> None:
    with store.write() as tx:
        tx.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(StoreError, match="newer than this scaleguard") as info:
        ensure_schema(store, create=False)
    assert "upgrade scaleguard" in info.value.hint


def test_opening_an_empty_database_is_refused_and_creating_twice_conflicts(
    store_url: str,
) -> None:
    s = Store(store_url)
    try:
        with pytest.raises(StoreError, match="holds no scaleguard schema"):
            ensure_schema(s, create=False)
        ensure_schema(s, create=True)
        assert ensure_schema(s, create=False) == head_revision()
        with pytest.raises(ConflictError, match="already holds a scaleguard workspace"):
            ensure_schema(s, create=True)
    finally:
        s.dispose()


def test_ledger_entries_are_canonical_dense_and_hashed(store: Store) -> None:
    with store.write() as tx:
        m = _model(tx, "rival-9", sources=["https://r.example"])
        fact = repo.add_fact(tx, name="x", value=2.5, source="https://s", asserted_by="t")
        idx = repo.append_record(tx, "report-publication", "q1", {"title": "Q1", "n": 3})
    assert (m.ledger_index, fact.ledger_index, idx) == (0, 1, 2)
    with store.read() as s:
        rows = repo.ledger_entries(s)
        assert repo.ledger_size(s) == 3
        assert repo.ledger_entry(s, 1) == rows[1]
        with pytest.raises(NotFoundError):
            repo.ledger_entry(s, 3)
    assert [r.idx for r in rows] == [0, 1, 2]
    for row in rows:
        assert row.leaf_hash == hashlib.sha256(b"\x00" + row.data).digest()
        entry = parse_entry(row.data)  # raises unless the bytes are exactly canonical
        assert entry.kind == row.kind
        assert row.data == entry_bytes(row.kind, parse_time(row.created_at), entry.record)
    model_entry = parse_entry(rows[0].data)
    assert model_entry.record["id"] == 1
    assert model_entry.record["sources"] == ["https://r.example"]
    assert parse_entry(rows[2].data).record == {"title": "Q1", "n": 3}


def test_a_failed_write_leaves_no_row_and_no_ledger_entry(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as tx:
        _model(tx, "m1")
        raise RuntimeError("boom")
    with store.write() as tx:
        again = _model(tx, "m1")
    assert again.ledger_index == 0
    assert again.id == 1


@pytest.mark.parametrize("statement", ["UPDATE models SET notes = 'x'", "DELETE FROM models"])
def test_records_are_append_only_in_the_database_too(store: Store, statement: str) -> None:
    with store.write() as tx:
        _model(tx, "m1")
    with pytest.raises(exc.DBAPIError, match="append-only"), store.write() as tx:
        tx.execute(text(statement))
    with store.read() as s:
        assert [m.notes for m in repo.models(s)] == [None]


def test_a_nested_write_is_refused_instead_of_deadlocking(store: Store) -> None:
    with store.write(), pytest.raises(StoreError, match="already open"), store.write():
        pass


@pytest.mark.postgres
def test_postgres_read_sessions_cannot_write(pg_url: str) -> None:
    s = Store(pg_url)
    try:
        ensure_schema(s, create=True)
        with pytest.raises(exc.DBAPIError, match="read-only"), s.read() as r:
            r.execute(text("CREATE TABLE nope (x int)"))
    finally:
        s.dispose()


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        ensure_schema(s, create=True)
        with s.read() as r:
            assert r.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert r.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert r.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        s.dispose()


def test_repository_reads_pick_the_latest_record(store: Store) -> None:
    with store.write() as tx:
        repo.add_artifact(
            tx, sha256="a" * 64, size=3, format="csv", original_name="a.csv", stored_path="o"
        )
        common = {"task": "t", "metric": "acc", "artifact_sha256": "a" * 64, "format": "csv"}
        first = repo.add_evidence(tx, model="m", value=0.1, ingested_by="x", **common)
        repo.add_evidence(tx, model="other", value=0.9, ingested_by="x", **common)
        second = repo.add_evidence(
            tx, model="m", value=0.2, ingested_by="x", sample_scores=[1.0, 0.0], **common
        )
        _model(tx, "m")
        repo.add_attestation(
            tx, model="m", standard="s1", attested_by="a", evidence_url="u1", note=None
        )
        later = repo.add_attestation(
            tx, model="m", standard="s1", attested_by="b", evidence_url="u2", note="redo"
        )
        repo.add_score(tx, model="m", domain="cyber", score=0.3, source=None, created_by="x")
        repo.add_score(tx, model="m", domain="cyber", score=0.4, source="s", created_by="x")
        repo.add_fact(tx, name="f", value=True, source="s", asserted_by="a", model="m")
        repo.add_fact(tx, name="f", value=False, source="s", asserted_by="a")
        repo.add_fact(tx, name="g", value=1, source="s", asserted_by="a")
    with store.read() as s:
        latest = repo.latest_evidence(s, "m", "t", "acc")
        assert latest is not None and latest.id == second.id
        assert latest.sample_scores == (1.0, 0.0)
        assert repo.latest_evidence(s, "m", "t", "nope") is None
        assert [e.id for e in repo.evidence_for_model(s, "m")] == [first.id, second.id]
        assert [e.value for e in repo.evidence_by_id(s, [second.id, first.id])] == [0.2, 0.1]
        with pytest.raises(NotFoundError):
            repo.evidence_by_id(s, [999])
        assert repo.attested_standards(s, "m") == {"s1": later}
        assert repo.latest_scores(s)[("m", "cyber")].score == 0.4
        assert {k: f.value for k, f in repo.current_facts(s, "m").items()} == {"f": True, "g": 1}
        assert {k: f.value for k, f in repo.current_facts(s).items()} == {"f": False, "g": 1}
        with pytest.raises(NotFoundError, match="did you mean 'm'"):
            repo.model(s, "mm")


def test_determinations_overrides_and_decisions_are_ledgered(store: Store) -> None:
    with store.write() as tx:
        det = repo.add_determination(
            tx,
            model="m",
            framework_ref="anthropic-rsp@3.0",
            threshold_id="cbrn-4",
            state="ambiguous",
            method="bootstrap",
            created_by="engine",
            estimate=0.5,
            low=0.4,
            high=0.6,
            evidence_ids=[3, 4],
            params={"alpha": 0.05},
        )
        ovr = repo.add_override(
            tx,
            model="m",
            framework_ref="anthropic-rsp@3.0",
            threshold_id="cbrn-4",
            state="crossed",
            author="rso",
            justification="treat as crossed",
            supersedes_determination_id=det.id,
        )
        dec = repo.add_decision(
            tx,
            model="m",
            action="deploy-external",
            framework_ref="anthropic-rsp@3.0",
            outcome="blocked",
            record={"reasons": ["missing safeguards"]},
            created_by="rso",
        )
    with store.read() as s:
        assert repo.determinations(s, "m") == [det]
        assert repo.overrides(s) == [ovr]
        assert repo.decisions(s, "m") == [dec]
        kinds = [parse_entry(r.data) for r in repo.ledger_entries(s)]
    assert [k.kind for k in kinds] == ["determination", "override", "decision"]
    assert kinds[0].record["evidence_ids"] == [3, 4]
    assert kinds[1].record["supersedes_determination_id"] == det.id
    assert det.evidence_ids == (3, 4)


def test_framework_use_is_recorded_once_per_digest(store: Store) -> None:
    with store.write() as tx:
        first = repo.record_framework(tx, ref="x@1", digest="d" * 64, origin="builtin:x")
        again = repo.record_framework(tx, ref="x@1", digest="d" * 64, origin="builtin:x")
        other = repo.record_framework(tx, ref="x@2", digest="e" * 64, origin="builtin:y")
    assert first == again
    assert other.ledger_index == first.ledger_index + 1
    with store.read() as s:
        assert repo.framework_uses(s) == [first, other]
        assert repo.ledger_size(s) == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite://", "in-memory"),
        ("::not a url::", "cannot parse"),
    ],
)
def test_bad_database_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        normalize_url(url)


def test_plain_postgresql_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_an_unreachable_server_is_a_store_error() -> None:
    s = Store("postgresql://postgres@127.0.0.1:9/none")
    with pytest.raises(StoreError, match="cannot use the PostgreSQL database") as info:
        ensure_schema(s, create=True)
    assert "server is running" in info.value.hint


def test_concurrent_writers_get_dense_unique_ledger_indices(
    store: Store, migrated_url: str
) -> None:
    ctx = worker_context()
    workers, count = 4, 15
    procs = [ctx.Process(target=append_many, args=(migrated_url, w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * workers
    with store.read() as s:
        facts = repo.facts(s)
        entries = repo.ledger_entries(s)
    total = workers * count
    assert [e.idx for e in entries] == list(range(total))
    assert sorted(f.id for f in facts) == list(range(1, total + 1))
    assert sorted(f.ledger_index for f in facts) == list(range(total))
    for w in range(workers):  # each worker's own appends stay in order
        mine = [f.value for f in facts if f.name == f"w{w}"]
        assert mine == list(range(count))


@pytest.mark.parametrize("subject", ["a\x00b", "lone \ud800"])
def test_a_single_append_checks_its_values_and_writes_nothing_on_refusal(
    store: Store, subject: str
) -> None:
    """append_record's plain-SQL statements pass the same parameter check as any other."""
    with pytest.raises(InputError), store.write() as tx:
        repo.append_record(tx, "note", subject, {"i": 1})
    with store.write() as tx:
        assert repo.append_record(tx, "note", "ok", {"i": 2}) == 0


def test_driver_errors_keep_sqlalchemy_classes_and_roll_back(store: Store) -> None:
    """A failing plain-SQL statement raises what SQLAlchemy would, and the write rolls back."""
    with store.write() as tx:
        repo.append_record(tx, "note", "first", {"i": 1})
    with pytest.raises(exc.IntegrityError), store.write() as tx:
        repo.append_record(tx, "note", "second", {"i": 2})
        conn = tx.write_connection()
        run_driver(
            conn,
            driver_sql(conn, "INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)"),
            (0, 0, bytes(32)),
        )
    with store.read() as s:
        assert s.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one() == 1


def test_a_lookup_by_a_missing_key_is_refused_not_answered_with_the_first_row(
    tmp_path: Path,
) -> None:
    from scaleguard.store.recording import first_record
    from scaleguard.store.records import Model
    from scaleguard.store.tables import ModelRow
    from scaleguard.workspace import ModelSpec, add_model, init_workspace

    with init_workspace(tmp_path / "ws") as ws:
        add_model(ws, ModelSpec(name="m-1", own=True, status="planned"), by="t")
        with ws.store.read() as s:
            assert first_record(s, ModelRow, Model, name="m-1") is not None
            with pytest.raises(ValueError, match="lookup key"):
                first_record(s, ModelRow, Model, name=None)
