"""Reviewer editions kept apart from public publications.

Revision ID: 0007_reviewer_editions
Revises: 0006_usage

``report_reviewer_editions`` records each written reviewer (unredacted)
edition under its own ledger entry kind, ``report-reviewer-edition``, so it is
never mistaken for a public publication. It holds no plain hash of the
unredacted bytes: ``commitment`` and ``edition_commitment`` are SHA-256 over a
secret salt and the content, and the salt is given to reviewers only. An
append-only record table like those of 0001_initial.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_reviewer_editions"
down_revision = "0006_usage"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "report_reviewer_editions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", BigId, nullable=False, autoincrement=False),
        sa.Column("report_id", BigId, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("commitment", sa.String(64), nullable=False),
        sa.Column("size", BigId, nullable=False),
        sa.Column("edition_commitment", sa.String(64), nullable=False),
        sa.Column("redaction_ids", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("ledger_index", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["risk_reports.id"], name=f"fk_{TABLE}_report_id_risk_reports"
        ),
        sa.ForeignKeyConstraint(
            ["ledger_index"], ["ledger_entries.idx"], name=f"fk_{TABLE}_ledger_index_ledger_entries"
        ),
        sa.UniqueConstraint("ledger_index", name=f"uq_{TABLE}_ledger_index"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_report_id", TABLE, ["report_id"])
    if op.get_bind().dialect.name == "postgresql":
        # scaleguard_append_only() was created by 0001_initial.
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION scaleguard_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION scaleguard_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{event.lower()} BEFORE {event} ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: add a correcting record "
            "instead'); END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)
