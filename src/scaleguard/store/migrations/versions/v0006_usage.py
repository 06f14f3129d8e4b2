"""Usage-policy screen: contracts, screen decisions, reviews and appeals.

Revision ID: 0006_usage
Revises: 0005_incidents

``usage_contracts`` holds every contract version submitted for a customer,
accepted or refused; ``usage_screens`` one row per screen decision (the
request's SHA-256, its text only when the contract allows retention);
``usage_reviews``, ``usage_appeals`` and ``usage_appeal_decisions`` the human
side. Record tables backed by ledger entries, append-only like the others.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_usage"
down_revision = "0005_incidents"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.String(32)
TABLES = (
    "usage_contracts",
    "usage_screens",
    "usage_reviews",
    "usage_appeals",
    "usage_appeal_decisions",
)


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, nullable=False, autoincrement=False)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _short(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _tail(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("created_at", Time, nullable=False),
        _text("created_by"),
        sa.Column("ledger_index", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_index"], ["ledger_entries.idx"], name=f"fk_{table}_ledger_index_ledger_entries"
        ),
        sa.UniqueConstraint("ledger_index", name=f"uq_{table}_ledger_index"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "usage_contracts",
        _id(),
        _text("customer"),
        _text("version"),
        _text("policy"),
        _short("status", 16),
        _short("digest", 64),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        *_tail("usage_contracts"),
    )
    op.create_index("ix_usage_contracts_customer", "usage_contracts", ["customer"])
    op.create_table(
        "usage_screens",
        _id(),
        _short("request_id", 64),
        _text("customer", nullable=True),
        _text("contract", nullable=True),
        _text("policy"),
        _short("policy_digest", 64),
        _short("model_sha256", 64),
        _short("input_sha256", 64),
        _text("input_text", nullable=True),
        _short("band", 16),
        _text("clause", nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        _text("decided_by"),
        sa.Column("result", sa.JSON(), nullable=False),
        *_tail("usage_screens"),
        sa.UniqueConstraint("request_id", name="uq_usage_screens_request_id"),
    )
    op.create_index("ix_usage_screens_band", "usage_screens", ["band"])
    op.create_table(
        "usage_reviews",
        _id(),
        sa.Column("screen_id", BigId, nullable=False),
        _short("decision", 16),
        _text("reason"),
        *_tail("usage_reviews"),
        sa.ForeignKeyConstraint(
            ["screen_id"], ["usage_screens.id"], name="fk_usage_reviews_screen_id_usage_screens"
        ),
        sa.UniqueConstraint("screen_id", name="uq_usage_reviews_screen_id"),
    )
    op.create_table(
        "usage_appeals",
        _id(),
        sa.Column("screen_id", BigId, nullable=False),
        _text("reason"),
        *_tail("usage_appeals"),
        sa.ForeignKeyConstraint(
            ["screen_id"], ["usage_screens.id"], name="fk_usage_appeals_screen_id_usage_screens"
        ),
    )
    op.create_index("ix_usage_appeals_screen_id", "usage_appeals", ["screen_id"])
    op.create_table(
        "usage_appeal_decisions",
        _id(),
        sa.Column("appeal_id", BigId, nullable=False),
        _short("outcome", 16),
        _text("reason"),
        *_tail("usage_appeal_decisions"),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["usage_appeals.id"],
            name="fk_usage_appeal_decisions_appeal_id_usage_appeals",
        ),
        sa.UniqueConstraint("appeal_id", name="uq_usage_appeal_decisions_appeal_id"),
    )
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
