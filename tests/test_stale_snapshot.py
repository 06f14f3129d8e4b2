"""A read snapshot that began just before another writer's commit is older than the signer
state it reads afterwards: that is not a deletion, and it is not reported as one. A database
really rolled back (restored from an old backup) still is. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from scaleguard.errors import LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.store.ledger.rows import check_decision_inputs
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

MODEL = "aurora-3"


def another_commit(ws: Workspace) -> None:
    with open_workspace(ws.root) as other, other.store.write() as tx:
        repo.add_fact(tx, name="later", value=1, source="https://y", asserted_by="b")


def test_a_snapshot_older_than_the_state_reads_its_own_signed_tree(lab: Workspace) -> None:
    with lab.store.read() as s:
        size = repo.ledger_size(s)  # the snapshot starts here
        another_commit(lab)
        another_commit(lab)
        signed = lab.signed_checkpoint(s)
        assert signed.size == size  # the snapshot's tree, not the state's newer one
        check_decision_inputs(s, signed, MODEL, census=lab.census(s, signed))
    assert lab.signed_checkpoint().size == size + 2


def test_a_database_rolled_back_is_still_refused(lab: Workspace) -> None:
    """The newest commit removed again, as restoring a backup taken before it would: the
    snapshot looks like the stale one above, but the database as it is now does too."""
    with lab.store.read() as s:
        size = repo.ledger_size(s)
    another_commit(lab)
    attack(
        lab,
        sql("DELETE FROM facts WHERE name = 'later'"),
        sql("DELETE FROM ledger_checkpoints WHERE size > :n", n=size),
        sql("DELETE FROM ledger_entries WHERE idx >= :n", n=size),
    )
    with lab.store.read() as s, pytest.raises(LedgerIntegrityError, match="were deleted"):
        repo.ledger_size(s)
        lab.signed_checkpoint(s)
