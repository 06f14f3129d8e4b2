"""Frontier Safety Roadmap: goals and their dated updates.

Revision ID: 0003_roadmap
Revises: 0002_ledger_tree

``roadmap_goals`` holds each goal as first set; ``roadmap_updates`` every
later status report (which may move the target or restate the criteria).
Both are record tables backed by ledger entries and append-only like those
of 0001_initial.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_roadmap"
down_revision = "0002_ledger_tree"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.String(32)
TABLES = ("roadmap_goals", "roadmap_updates")


def _ledger(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("ledger_index", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_index"],
            ["ledger_entries.idx"],
            name=f"fk_{table}_ledger_index_ledger_entries",
        ),
        sa.UniqueConstraint("ledger_index", name=f"uq_{table}_ledger_index"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "roadmap_goals",
        sa.Column("id", BigId, nullable=False, autoincrement=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target", sa.Date(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("set_on", sa.Date(), nullable=False),
        sa.Column("evidence_url", sa.Text(), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        *_ledger("roadmap_goals"),
        sa.UniqueConstraint("goal", name="uq_roadmap_goals_goal"),
    )
    op.create_table(
        "roadmap_updates",
        sa.Column("id", BigId, nullable=False, autoincrement=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("dated_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence_url", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("target", sa.Date(), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        *_ledger("roadmap_updates"),
        sa.ForeignKeyConstraint(
            ["goal"], ["roadmap_goals.goal"], name="fk_roadmap_updates_goal_roadmap_goals"
        ),
    )
    op.create_index("ix_roadmap_updates_goal_dated_on", "roadmap_updates", ["goal", "dated_on"])
    _append_only_triggers()


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
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a correcting record "
                "instead'); END"
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
