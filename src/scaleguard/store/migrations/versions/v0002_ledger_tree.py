"""Ledger tree: stored complete-subtree hashes and signed checkpoints.

Revision ID: 0002_ledger_tree
Revises: 0001_initial

``ledger_nodes`` holds the hash of every complete subtree of the ledger's
Merkle tree (level 0 = leaf hashes), so a proof needs only O(log n) reads.
``ledger_checkpoints`` keeps every signed checkpoint the workspace issued.
Both are append-only like the record tables. Entries that already exist get
their nodes computed here, from their stored bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from scaleguard.errors import StoreError
from scaleguard.ledger.merkle import leaf_hash, new_complete_nodes

revision = "0002_ledger_tree"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("ledger_nodes", "ledger_checkpoints")
_BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("idx", BigId, nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_ledger_nodes"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", BigId, nullable=False, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_ledger_checkpoints"),
    )
    _backfill()
    _append_only_triggers()


class _Frontier:
    """The right edge of the tree: the only nodes an append ever reads."""

    def __init__(self) -> None:
        self.last: dict[int, tuple[int, bytes]] = {}

    def node(self, level: int, index: int) -> bytes:
        idx, h = self.last[level]
        assert idx == index, "appends read only the newest node of each level"
        return h

    def add(self, index: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
        rows = new_complete_nodes(index, leaf, self)
        for level, idx, h in rows:
            self.last[level] = (idx, h)
        return rows


def _node_rows() -> Iterator[dict[str, object]]:
    entries = sa.table("ledger_entries", sa.column("idx", BigId), sa.column("data"))
    frontier = _Frontier()
    result = op.get_bind().execute(sa.select(entries.c.idx, entries.c.data).order_by(entries.c.idx))
    for expected, (idx, data) in enumerate(result):
        if idx != expected:
            raise StoreError(
                f"ledger entry {expected} is missing (the next one is {idx})",
                hint="restore the database from a backup before upgrading; "
                "a ledger with gaps cannot be given a Merkle tree",
            )
        for level, node_idx, h in frontier.add(idx, leaf_hash(bytes(data))):
            yield {"level": level, "idx": node_idx, "hash": h}


def _backfill() -> None:
    nodes = sa.table(
        "ledger_nodes", sa.column("level"), sa.column("idx"), sa.column("hash", sa.LargeBinary)
    )
    batch: list[dict[str, object]] = []
    rows = list(_node_rows())  # read fully before writing on the same connection
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            op.get_bind().execute(sa.insert(nodes), batch)
            batch = []
    if batch:
        op.get_bind().execute(sa.insert(nodes), batch)


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # scaleguard_append_only() was created by 0001_initial.
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION scaleguard_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION scaleguard_append_only()"
            )
        return
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
