"""Initial schema: the ledger, the registry, evidence and the decision records.

Revision ID: 0001_initial
Revises: (none)

Every record table is append-only; triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL) so a stray statement cannot rewrite history behind
the ledger. This is defence in depth, not a barrier against the database owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.String(32)

APPEND_ONLY = (
    "ledger_entries",
    "frameworks_loaded",
    "models",
    "model_scores",
    "artifacts",
    "evidence",
    "attestations",
    "facts",
    "determinations",
    "overrides",
    "decisions",
)


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, nullable=False, autoincrement=False)


def _ledger(table: str) -> list[SchemaItem]:
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


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _time(name: str = "created_at") -> sa.Column[str]:
    return sa.Column(name, Time, nullable=False)


def _float(name: str, nullable: bool = True) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _json(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{ref_table}")


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("idx", BigId, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(64), nullable=False),
        _text("subject"),
        _time(),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_ledger_entries"),
    )
    op.create_table(
        "frameworks_loaded",
        _id(),
        _text("ref"),
        sa.Column("digest", sa.String(64), nullable=False),
        _text("origin"),
        _time("loaded_at"),
        *_ledger("frameworks_loaded"),
        sa.UniqueConstraint("digest", name="uq_frameworks_loaded_digest"),
    )
    op.create_table(
        "models",
        _id(),
        _text("name"),
        _text("developer", nullable=True),
        sa.Column("own", sa.Boolean(), nullable=False),
        _text("parent", nullable=True),
        _float("effective_compute"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("safeguards_level", sa.String(16), nullable=True),
        _text("notes", nullable=True),
        _json("sources"),
        _time(),
        _text("created_by"),
        *_ledger("models"),
        sa.UniqueConstraint("name", name="uq_models_name"),
        _fk("parent", "models", "models.name"),
    )
    op.create_table(
        "model_scores",
        _id(),
        _text("model"),
        _text("domain"),
        _float("score", nullable=False),
        _text("source", nullable=True),
        _time(),
        _text("created_by"),
        *_ledger("model_scores"),
        _fk("model", "model_scores", "models.name"),
    )
    op.create_index("ix_model_scores_model_domain", "model_scores", ["model", "domain"])
    op.create_table(
        "artifacts",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", BigId, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        _text("original_name"),
        _text("stored_path"),
        _time("first_ingested_at"),
        sa.PrimaryKeyConstraint("sha256", name="pk_artifacts"),
    )
    op.create_table(
        "evidence",
        _id(),
        _text("model"),
        _text("task"),
        _text("metric"),
        _float("value", nullable=False),
        sa.Column("sample_count", BigId, nullable=True),
        _json("sample_scores", nullable=True),
        _float("stderr"),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        _json("run"),
        _json("details"),
        _time("ingested_at"),
        _text("ingested_by"),
        *_ledger("evidence"),
        _fk("artifact_sha256", "evidence", "artifacts.sha256"),
    )
    op.create_index("ix_evidence_model_task_metric", "evidence", ["model", "task", "metric"])
    op.create_table(
        "attestations",
        _id(),
        _text("model"),
        _text("standard"),
        _text("attested_by"),
        _text("evidence_url"),
        _text("note", nullable=True),
        _time(),
        *_ledger("attestations"),
        _fk("model", "attestations", "models.name"),
    )
    op.create_index("ix_attestations_model", "attestations", ["model"])
    op.create_table(
        "facts",
        _id(),
        _text("name"),
        _json("value"),
        _text("model", nullable=True),
        _text("source"),
        _text("asserted_by"),
        _time(),
        *_ledger("facts"),
        _fk("model", "facts", "models.name"),
    )
    op.create_index("ix_facts_name", "facts", ["name"])
    op.create_table(
        "determinations",
        _id(),
        _text("model"),
        _text("framework_ref"),
        _text("threshold_id"),
        _text("indicator_id", nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _float("estimate"),
        _float("low"),
        _float("high"),
        _text("method"),
        _json("evidence_ids"),
        _json("params"),
        _time(),
        _text("created_by"),
        *_ledger("determinations"),
    )
    op.create_index(
        "ix_determinations_model_framework_ref_threshold_id",
        "determinations",
        ["model", "framework_ref", "threshold_id"],
    )
    op.create_table(
        "overrides",
        _id(),
        _text("model"),
        _text("framework_ref"),
        _text("threshold_id"),
        sa.Column("state", sa.String(16), nullable=False),
        _text("author"),
        _text("justification"),
        sa.Column("supersedes_determination_id", BigId, nullable=True),
        _time(),
        *_ledger("overrides"),
        _fk("supersedes_determination_id", "overrides", "determinations.id"),
    )
    op.create_table(
        "decisions",
        _id(),
        _text("model"),
        _text("action"),
        _text("framework_ref"),
        _text("compare_ref", nullable=True),
        _text("outcome"),
        _json("record"),
        _time(),
        _text("created_by"),
        *_ledger("decisions"),
    )
    op.create_index("ix_decisions_model", "decisions", ["model"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION scaleguard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: add a correcting record instead', "
            "TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION scaleguard_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION scaleguard_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a correcting record "
                "instead'); END"
            )


def downgrade() -> None:
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION scaleguard_append_only()")
