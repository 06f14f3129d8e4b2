"""An attacker with database access edits, deletes, reorders and inserts rows; verify notices.

The append-only triggers are a guard rail, not the guarantee, so every attack
first drops them (and, on PostgreSQL, runs as a replication session, which
also switches off foreign keys). Each test then checks that verification
fails and names the first ledger index the attack touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from scaleguard.errors import LedgerIntegrityError
from scaleguard.ledger import (
    EMPTY_ROOT,
    Checkpoint,
    MemoryNodeSource,
    entry_bytes,
    leaf_hash,
    parse_entry,
    sign_checkpoint,
)
from scaleguard.store import repo
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.signer import (
    SignerState,
    empty_tree,
    fold,
    signed_tree,
    stored_frontier,
    write_state,
)
from scaleguard.store.ledger.verify import check_receipt, verify
from scaleguard.workspace import Workspace, open_workspace
from test_ledger_store import populate
from workspace_copies import LABELS, Copy, copied_workspace

Cli = Callable[..., Any]
Params = dict[str, Any]


def _populated(ws: Workspace) -> dict[str, int]:
    labels = populate(ws)
    assert verify(ws.store, ws.verifier(), full=True).ok
    return labels


@pytest.fixture
def ws(request: pytest.FixtureRequest, workspace_copy: Copy) -> Iterator[Workspace]:
    """A workspace of the test's own: with _populated's records if the test takes ``at``."""
    with open_workspace(copied_workspace(request, workspace_copy, "Tamper Lab", _populated)) as w:
        yield w


@pytest.fixture
def at(request: pytest.FixtureRequest, ws: Workspace) -> dict[str, int]:
    return request.node.stash[LABELS]


def attack(ws: Workspace, *statements: tuple[str, Params]) -> None:
    """Run SQL the way someone holding the database file or credentials could."""
    engine = create_engine(ws.store.url)  # none of scaleguard's connection settings
    try:
        with engine.begin() as conn:
            if ws.store.backend == "sqlite":
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))
                for (name,) in list(names):
                    conn.execute(text(f"DROP TRIGGER {name}"))
            else:
                conn.execute(text("DROP FUNCTION IF EXISTS scaleguard_append_only() CASCADE"))
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def sql(statement: str, **params: Any) -> tuple[str, Params]:
    return statement, params


def entry_of(ws: Workspace, index: int) -> bytes:
    with ws.store.read() as s:
        return ledger_tree.entry(s, index)[0]


def rewritten(ws: Workspace, index: int, **changes: Any) -> bytes:
    """Entry ``index`` with some record fields changed, in perfect canonical form."""
    old = parse_entry(entry_of(ws, index))
    return entry_bytes(old.kind, old.time, {**old.record, **changes})


def set_entry(index: int, data: bytes, *, leaf: bool = True) -> list[tuple[str, Params]]:
    out = [sql("UPDATE ledger_entries SET data = :d WHERE idx = :i", d=data, i=index)]
    if leaf:
        out.append(
            sql(
                "UPDATE ledger_entries SET leaf_hash = :h WHERE idx = :i",
                h=leaf_hash(data),
                i=index,
            )
        )
    return out


def rebuild_tree(ws: Workspace) -> list[tuple[str, Params]]:
    """What a careful attacker does next: recompute every stored subtree hash."""
    with ws.store.read() as s:
        data = [e.data for e in repo.ledger_entries(s)]
    tree = MemoryNodeSource()
    for item in data:
        tree.append(item)
    out = [sql("DELETE FROM ledger_nodes")]
    out += [
        sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)", l=lv, i=i, h=h)
        for (lv, i), h in sorted(tree._nodes.items())
    ]
    return out


def move_entry(old: int, new: int) -> tuple[str, Params]:
    return sql("UPDATE ledger_entries SET idx = :n WHERE idx = :o", n=new, o=old)


def resign_from_scratch(ws: Workspace) -> None:
    """What only the key holder can do: sign the current database as if it were the truth."""
    signer = ws.signer()
    with ws.store.read() as s:
        size = ledger_tree.ledger_size(s)
        frontier = stored_frontier(s, size)
    note = sign_checkpoint(Checkpoint(signer.name, size, fold(frontier)), signer)
    rows = [(0, EMPTY_ROOT, empty_tree(signer).note), (size, fold(frontier), note)]
    attack(
        ws,
        *(
            sql(
                "INSERT INTO ledger_checkpoints (size, root, note, created_at) "
                "VALUES (:s, :r, :n, '2026-01-01T00:00:00Z')",
                s=n,
                r=r,
                n=body,
            )
            for n, r, body in rows
        ),
    )
    write_state(ws.ledger_state_path, SignerState(signed_tree(note, frontier, signer.verifier)))


def first_bad(ws: Workspace, *, full: bool = True) -> tuple[int | None, str, str]:
    report = verify(ws.store, ws.verifier(), full=full)
    assert not report.ok
    first = report.first
    assert first is not None
    return first.index, first.table, first.row


# -- the ledger tables ------------------------------------------------------------------


def test_edited_entry_bytes(ws: Workspace, at: dict[str, int]) -> None:
    i = at["evidence"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95), leaf=False))
    assert first_bad(ws) == (i, "ledger_entries", f"idx {i}")
    assert first_bad(ws, full=False)[0] == i


def test_edited_entry_and_its_leaf_hash(ws: Workspace, at: dict[str, int]) -> None:
    i = at["evidence"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95)))
    assert first_bad(ws)[0] == i
    assert first_bad(ws, full=False)[0] == i


def test_edited_entry_with_the_whole_tree_recomputed(ws: Workspace, at: dict[str, int]) -> None:
    i = at["evidence"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95)))
    attack(ws, *rebuild_tree(ws))
    index, table, _ = first_bad(ws)
    assert (index, table) == (i, "evidence")  # the row still says 0.75
    assert first_bad(ws, full=False)[0] == i


def test_entry_record_row_and_tree_all_rewritten(ws: Workspace, at: dict[str, int]) -> None:
    """Only the signed checkpoints still know the truth; they pin the index."""
    i = at["evidence"]
    attack(ws, *set_entry(i, rewritten(ws, i, value=0.95)))
    attack(
        ws,
        sql("UPDATE evidence SET value = 0.95 WHERE ledger_index = :i", i=i),
        *rebuild_tree(ws),
    )
    index, table, row = first_bad(ws)
    assert (index, table, row) == (i, "ledger_checkpoints", f"size {i + 1}")
    assert first_bad(ws, full=False)[0] == i
    with pytest.raises(Exception, match="refusing to sign"):
        with ws.store.write() as tx:
            repo.add_fact(tx, name="later", value=1, source="s", asserted_by="rso")
        ws.checkpoint()


def test_deleted_entry_in_the_middle(ws: Workspace, at: dict[str, int]) -> None:
    i = at["fact"]
    attack(ws, sql("DELETE FROM ledger_entries WHERE idx = :i", i=i))
    assert first_bad(ws) == (i, "ledger_entries", f"idx {i}")
    assert not verify(ws.store, ws.verifier()).ok


def test_deleted_last_entry_with_its_row_and_tree(ws: Workspace, at: dict[str, int]) -> None:
    i = at["decision"]
    attack(
        ws,
        sql("DELETE FROM decisions WHERE ledger_index = :i", i=i),
        sql("DELETE FROM ledger_entries WHERE idx = :i", i=i),
    )
    attack(ws, *rebuild_tree(ws))
    assert first_bad(ws) == (i, "ledger_checkpoints", f"size {i + 1}")
    assert first_bad(ws, full=False)[0] == i


def test_reordered_entries(ws: Workspace, at: dict[str, int]) -> None:
    a, b = at["rival"], at["score"]
    attack(ws, move_entry(a, -1), move_entry(b, a), move_entry(-1, b))
    assert first_bad(ws)[0] == a
    assert first_bad(ws, full=False)[0] == a


def test_reordered_entries_with_rows_and_tree_following(ws: Workspace, at: dict[str, int]) -> None:
    a, b = at["rival"], at["score"]
    attack(
        ws,
        move_entry(a, -1),
        move_entry(b, a),
        move_entry(-1, b),
        sql("UPDATE models SET ledger_index = :b WHERE ledger_index = :a", a=a, b=b),
        sql("UPDATE model_scores SET ledger_index = :a WHERE ledger_index = :b", a=a, b=b),
    )
    attack(ws, *rebuild_tree(ws))
    assert first_bad(ws) == (a, "ledger_checkpoints", f"size {a + 1}")


def test_inserted_entry_in_the_middle(ws: Workspace, at: dict[str, int]) -> None:
    i = at["fact"]
    size = len(at)
    forged = entry_bytes(
        "fact",
        datetime(2026, 1, 1, tzinfo=UTC),
        {
            "id": 9,
            "name": "forged",
            "value": True,
            "model": None,
            "source": "s",
            "asserted_by": "x",
        },
    )
    shift = [move_entry(j, j + 1) for j in range(size - 1, i - 1, -1)]
    rows = [
        sql(f"UPDATE {table} SET ledger_index = ledger_index + 1 WHERE ledger_index = :j", j=j)
        for j in range(size - 1, i - 1, -1)
        for table in ("facts", "determinations", "overrides", "decisions")
    ]
    insert = sql(
        "INSERT INTO ledger_entries (idx, kind, subject, created_at, data, leaf_hash) "
        "VALUES (:i, 'fact', 'forged', '2026-01-01T00:00:00Z', :d, :h)",
        i=i,
        d=forged,
        h=leaf_hash(forged),
    )
    attack(ws, *shift, *rows, insert)
    attack(ws, *rebuild_tree(ws))
    assert first_bad(ws)[0] == i
    assert first_bad(ws, full=False)[0] == i


def test_appended_entry_without_a_record(ws: Workspace, at: dict[str, int]) -> None:
    n = len(at)
    forged = entry_bytes("decision", datetime(2026, 1, 1, tzinfo=UTC), {"id": 5, "outcome": "ok"})
    attack(
        ws,
        sql(
            "INSERT INTO ledger_entries (idx, kind, subject, created_at, data, leaf_hash) "
            "VALUES (:i, 'decision', 'm', '2026-01-01T00:00:00Z', :d, :h)",
            i=n,
            d=forged,
            h=leaf_hash(forged),
        ),
    )
    attack(ws, *rebuild_tree(ws))
    assert first_bad(ws) == (n, "ledger_entries", f"idx {n}")  # no checkpoint covers it
    report = verify(ws.store, ws.verifier(), full=True)
    assert (n, "decisions") in [(d.index, d.table) for d in report.discrepancies]
    assert first_bad(ws, full=False)[0] == n


def test_entry_inserted_before_the_first(ws: Workspace, at: dict[str, int]) -> None:
    forged = entry_bytes("fact", datetime(2026, 1, 1, tzinfo=UTC), {"id": 0})
    attack(
        ws,
        sql(
            "INSERT INTO ledger_entries (idx, kind, subject, created_at, data, leaf_hash) "
            "VALUES (-1, 'fact', 'x', '2026-01-01T00:00:00Z', :d, :h)",
            d=forged,
            h=leaf_hash(forged),
        ),
    )
    for full in (True, False):
        assert first_bad(ws, full=full)[:2] == (0, "ledger_entries")


def test_edited_subtree_hash(ws: Workspace, at: dict[str, int]) -> None:
    attack(ws, sql("UPDATE ledger_nodes SET hash = :h WHERE level = 1 AND idx = 2", h=b"\x07" * 32))
    assert first_bad(ws) == (4, "ledger_nodes", "level 1 idx 2")


def test_deleted_leaf_hash_row(ws: Workspace, at: dict[str, int]) -> None:
    attack(ws, sql("DELETE FROM ledger_nodes WHERE level = 0 AND idx = 7"))
    assert first_bad(ws) == (7, "ledger_nodes", "level 0 idx 7")
    assert first_bad(ws, full=False)[0] == 7


def test_inserted_subtree_hash(ws: Workspace, at: dict[str, int]) -> None:
    attack(ws, sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES (3, 1, :h)", h=b"\x01" * 32))
    index, table, row = first_bad(ws)
    assert (table, row) == ("ledger_nodes", "level 3 idx 1")
    assert index == 8


def test_altered_checkpoint_row(ws: Workspace, at: dict[str, int]) -> None:
    attack(ws, sql("UPDATE ledger_checkpoints SET root = :r WHERE size = 5", r=b"\x02" * 32))
    assert first_bad(ws) == (None, "ledger_checkpoints", "size 5")
    assert first_bad(ws, full=False) == (None, "ledger_checkpoints", "size 5")


def test_forged_checkpoint_note(ws: Workspace, at: dict[str, int]) -> None:
    from scaleguard.ledger import Checkpoint, generate_key, sign_checkpoint

    with ws.store.read() as s:
        root = ledger_tree.root_at(s, 3)
    impostor = generate_key(ws.signer().name)
    note = sign_checkpoint(Checkpoint(impostor.name, 3, root), impostor)
    attack(ws, sql("UPDATE ledger_checkpoints SET note = :n WHERE size = 3", n=note))
    index, table, row = first_bad(ws)
    assert (index, table, row) == (None, "ledger_checkpoints", "size 3")


# -- the record tables ----------------------------------------------------------------------

RECORD_ATTACKS: list[tuple[str, str, str]] = [
    ("framework", "frameworks_loaded", "UPDATE frameworks_loaded SET digest = 'e'"),
    ("model", "models", "UPDATE models SET effective_compute = 1e24 WHERE name = 'acme-7'"),
    ("score", "model_scores", "UPDATE model_scores SET score = 0.2"),
    ("evidence", "evidence", "UPDATE evidence SET value = 0.25"),
    ("evidence", "evidence", "UPDATE evidence SET sample_scores = '[1.0, 1.0, 1.0]'"),
    ("attestation", "attestations", "UPDATE attestations SET note = 'not audited'"),
    ("fact", "facts", "UPDATE facts SET created_at = '2025-01-01T00:00:00Z'"),
    ("fact", "facts", "UPDATE facts SET value = 'false'"),
    ("determination", "determinations", "UPDATE determinations SET state = 'below'"),
    ("override", "overrides", "UPDATE overrides SET justification = 'because'"),
    ("decision", "decisions", "UPDATE decisions SET outcome = 'proceed'"),
    ("decision", "decisions", "DELETE FROM decisions"),
    ("attestation", "attestations", "DELETE FROM attestations"),
    ("evidence", "evidence", "DELETE FROM evidence"),
]


@pytest.mark.parametrize(("label", "table", "statement"), RECORD_ATTACKS)
def test_record_rows_edited_or_deleted(
    ws: Workspace, at: dict[str, int], label: str, table: str, statement: str
) -> None:
    attack(ws, sql(statement))
    for full in (True, False):
        index, found_table, _ = first_bad(ws, full=full)
        assert (index, found_table) == (at[label], table)


def test_record_rows_swapped_between_entries(ws: Workspace, at: dict[str, int]) -> None:
    a, b = at["model"], at["rival"]
    attack(
        ws,
        sql("UPDATE models SET ledger_index = -1 WHERE ledger_index = :a", a=a),
        sql("UPDATE models SET ledger_index = :a WHERE ledger_index = :b", a=a, b=b),
        sql("UPDATE models SET ledger_index = :b WHERE ledger_index = -1", b=b),
    )
    assert first_bad(ws)[:2] == (a, "models")


def test_record_row_inserted_without_an_entry(ws: Workspace, at: dict[str, int]) -> None:
    attack(
        ws,
        sql(
            "INSERT INTO facts (id, name, value, model, source, asserted_by, created_at, "
            "ledger_index) VALUES (99, 'forged', 'true', NULL, 's', 'x', "
            "'2026-01-01T00:00:00Z', 500)"
        ),
    )
    assert first_bad(ws) == (None, "facts", "id 99")


# -- receipts outlive a rewrite -------------------------------------------------------------


def test_a_receipt_from_before_a_rewrite_fails_against_the_rewritten_log(
    ws: Workspace, at: dict[str, int], tmp_path: Path, cli: Cli
) -> None:
    """Even the key holder, rewriting everything and re-signing, is caught by old receipts."""
    i = at["decision"]
    with ws.store.read() as s:
        receipt = ledger_tree.receipt(s, i)
    (tmp_path / "r.tlog-proof").write_bytes(receipt)
    assert check_receipt(ws.store, receipt, ws.verifier()) == []

    attack(ws, *set_entry(i, rewritten(ws, i, outcome="proceed")))
    attack(
        ws,
        sql("UPDATE decisions SET outcome = 'proceed' WHERE ledger_index = :i", i=i),
        sql("DELETE FROM ledger_checkpoints"),
        *rebuild_tree(ws),
    )
    with pytest.raises(LedgerIntegrityError, match="checkpoint rows were deleted"):
        ws.checkpoint()  # the signer does not sign over it
    resign_from_scratch(ws)  # but the key holder can, by hand
    assert verify(ws.store, ws.verifier(), full=True).ok  # undetectable without old checkpoints

    found = check_receipt(ws.store, receipt, ws.verifier())
    assert [(d.index, d.table) for d in found] == [(i, "ledger_entries"), (None, "receipt")]
    result = cli("ledger", "verify", "--receipt", tmp_path / "r.tlog-proof", "--workspace", ws.root)
    assert result.code == 1
    assert f"entry {i}" in result.err

    # Offline: the reviewer asks for a consistency proof from the size they hold.
    old_size = i + 1
    bundle = tmp_path / "c.proof"
    assert cli("ledger", "consistency", old_size, "--out", bundle, "--workspace", ws.root).code == 0
    key = tmp_path / "log.vkey"
    key.write_text(ws.signer().vkey + "\n")
    offline = cli(
        "ledger",
        "verify-receipt",
        tmp_path / "r.tlog-proof",
        "--key",
        key,
        "--consistency",
        bundle,
    )
    assert offline.code == 1
    assert "REJECTED" in offline.err


def test_an_edit_is_named_by_the_cli(ws: Workspace, at: dict[str, int], cli: Cli) -> None:
    attack(ws, sql("UPDATE evidence SET value = 0.25"))
    result = cli("ledger", "verify", "--full", "--workspace", ws.root)
    assert result.code == 1
    assert f"FAILED at entry {at['evidence']}" in result.err
    assert "evidence id 1" in result.err
    assert "value" in result.err
