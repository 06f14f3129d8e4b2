"""Risk Reports and external review.

Revision ID: 0004_reports_review
Revises: 0003_roadmap

``risk_reports`` holds each drafted report with its content frozen;
``report_redactions``, ``report_submissions`` and ``report_publications``
record what happened to it afterwards. ``reviewers`` and
``reviewer_interests`` are the reviewer registry; ``review_assignments``,
``review_accesses``, ``review_comments``, ``review_statements`` and
``review_responses`` are the review itself. Every table is a record table
backed by ledger entries and append-only like those of 0001_initial.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reports_review"
down_revision = "0003_roadmap"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.String(32)
TABLES = (
    "risk_reports",
    "report_redactions",
    "report_submissions",
    "report_publications",
    "reviewers",
    "reviewer_interests",
    "review_assignments",
    "review_accesses",
    "review_comments",
    "review_statements",
    "review_responses",
)


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, nullable=False, autoincrement=False)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _short(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _date(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Date(), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _tail(table: str) -> list[sa.schema.SchemaItem]:
    """created_at, created_by and the ledger link every record table ends with."""
    return [
        sa.Column("created_at", Time, nullable=False),
        _text("created_by"),
        sa.Column("ledger_index", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_index"],
            ["ledger_entries.idx"],
            name=f"fk_{table}_ledger_index_ledger_entries",
        ),
        sa.UniqueConstraint("ledger_index", name=f"uq_{table}_ledger_index"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _report(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("report_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["risk_reports.id"], name=f"fk_{table}_report_id_risk_reports"
        ),
    ]


def _reviewer(table: str) -> list[sa.schema.SchemaItem]:
    return [
        _text("reviewer"),
        sa.ForeignKeyConstraint(
            ["reviewer"], ["reviewers.name"], name=f"fk_{table}_reviewer_reviewers"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "risk_reports",
        _id(),
        _text("period"),
        _date("period_start"),
        _date("period_end"),
        _date("coverage_date"),
        _text("framework_ref"),
        _json("models"),
        _json("content"),
        _short("content_sha256", 64),
        *_tail("risk_reports"),
    )
    op.create_table(
        "report_redactions",
        _id(),
        *_report("report_redactions"),
        _text("section"),
        _text("span", nullable=True),
        _short("category", 16),
        _text("justification"),
        *_tail("report_redactions"),
    )
    op.create_table(
        "report_submissions",
        _id(),
        *_report("report_submissions"),
        _date("submitted_on"),
        _text("submitted_to"),
        *_tail("report_submissions"),
    )
    op.create_table(
        "report_publications",
        _id(),
        *_report("report_publications"),
        _short("edition", 16),
        _short("format", 16),
        _short("sha256", 64),
        sa.Column("size", BigId, nullable=False),
        _short("edition_sha256", 64),
        _json("redaction_ids"),
        _text("path", nullable=True),
        *_tail("report_publications"),
    )
    for table in ("report_redactions", "report_submissions", "report_publications"):
        op.create_index(f"ix_{table}_report_id", table, ["report_id"])
    op.create_table(
        "reviewers",
        _id(),
        _text("name"),
        _text("organisation"),
        _json("expertise"),
        *_tail("reviewers"),
        sa.UniqueConstraint("name", name="uq_reviewers_name"),
    )
    op.create_table(
        "reviewer_interests",
        _id(),
        *_reviewer("reviewer_interests"),
        _short("kind", 16),
        _text("counterparty"),
        _short("holder", 16),
        _short("relation", 16, nullable=True),
        _date("from_date"),
        _date("to_date", nullable=True),
        _text("note", nullable=True),
        *_tail("reviewer_interests"),
    )
    op.create_index("ix_reviewer_interests_reviewer", "reviewer_interests", ["reviewer"])
    op.create_table(
        "review_assignments",
        _id(),
        *_report("review_assignments"),
        *_reviewer("review_assignments"),
        _json("sections"),
        _json("screening"),
        *_tail("review_assignments"),
        sa.UniqueConstraint(
            "report_id", "reviewer", name="uq_review_assignments_report_id_reviewer"
        ),
    )
    op.create_index("ix_review_assignments_report_id", "review_assignments", ["report_id"])
    op.create_table(
        "review_accesses",
        _id(),
        *_report("review_accesses"),
        *_reviewer("review_accesses"),
        _short("edition_sha256", 64),
        _short("format", 16, nullable=True),
        _short("file_sha256", 64, nullable=True),
        *_tail("review_accesses"),
    )
    op.create_table(
        "review_comments",
        _id(),
        *_report("review_comments"),
        *_reviewer("review_comments"),
        _text("section"),
        _text("text"),
        *_tail("review_comments"),
    )
    for table in ("review_accesses", "review_comments"):
        op.create_index(f"ix_{table}_report_id_reviewer", table, ["report_id", "reviewer"])
    op.create_table(
        "review_statements",
        _id(),
        *_report("review_statements"),
        *_reviewer("review_statements"),
        _short("verdict", 16),
        _text("text"),
        *_tail("review_statements"),
        sa.UniqueConstraint(
            "report_id", "reviewer", name="uq_review_statements_report_id_reviewer"
        ),
    )
    op.create_index("ix_review_statements_report_id", "review_statements", ["report_id"])
    op.create_table(
        "review_responses",
        _id(),
        *_report("review_responses"),
        *_reviewer("review_responses"),
        sa.Column("statement_id", BigId, nullable=False),
        _text("text"),
        *_tail("review_responses"),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["review_statements.id"],
            name="fk_review_responses_statement_id_review_statements",
        ),
        sa.UniqueConstraint("statement_id", name="uq_review_responses_statement_id"),
    )
    op.create_index("ix_review_responses_report_id", "review_responses", ["report_id"])
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
