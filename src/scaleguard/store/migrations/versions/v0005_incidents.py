"""Incidents, noncompliance reports and compliance records.

Revision ID: 0005_incidents
Revises: 0004_reports_review

``incidents`` holds each incident as first recorded; ``incident_events`` every
later fact about it (an update, a determination, a submitted report with its
hash, the resolution). ``nc_reports`` and ``nc_events`` are staff
noncompliance reports and their handling; an anonymous report's row holds no
reporter, no host and no time finer than the day. ``compliance_records`` are
dated facts about the published framework and transparency reports. Every
table is a record table backed by ledger entries and is append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_incidents"
down_revision = "0004_reports_review"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.String(32)
TABLES = ("incidents", "incident_events", "nc_reports", "nc_events", "compliance_records")


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, nullable=False, autoincrement=False)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _short(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _tail(table: str) -> list[sa.schema.SchemaItem]:
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


def upgrade() -> None:
    op.create_table(
        "incidents",
        _id(),
        _text("title"),
        _text("description", nullable=True),
        _json("kinds"),
        _json("models"),
        sa.Column("imminent_risk", sa.Boolean(), nullable=False),
        sa.Column("internal_use", sa.Boolean(), nullable=False),
        sa.Column("discovered_at", Time, nullable=False),
        sa.Column("determined_at", Time, nullable=True),
        *_tail("incidents"),
    )
    op.create_table(
        "incident_events",
        _id(),
        sa.Column("incident_id", BigId, nullable=False),
        _short("action", 16),
        _short("status", 32, nullable=True),
        _text("note", nullable=True),
        sa.Column("at", Time, nullable=True),
        _short("regime", 64, nullable=True),
        _short("obligation", 64, nullable=True),
        _short("sha256", 64, nullable=True),
        sa.Column("amends", BigId, nullable=True),
        _json("details"),
        *_tail("incident_events"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_events_incident_id_incidents"
        ),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])
    op.create_table(
        "nc_reports",
        _id(),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        _text("reporter", nullable=True),
        _json("recipients"),
        sa.Column("concerns_rso", sa.Boolean(), nullable=False),
        _text("text"),
        _short("token_sha256", 64),
        sa.Column("received_on", sa.Date(), nullable=False),
        *_tail("nc_reports"),
        sa.UniqueConstraint("token_sha256", name="uq_nc_reports_token_sha256"),
    )
    op.create_table(
        "nc_events",
        _id(),
        sa.Column("report_id", BigId, nullable=False),
        _short("action", 16),
        _short("status", 32),
        sa.Column("substantiated", sa.Boolean(), nullable=True),
        sa.Column("material_risk", sa.Boolean(), nullable=True),
        _text("note", nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        *_tail("nc_events"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["nc_reports.id"], name="fk_nc_events_report_id_nc_reports"
        ),
    )
    op.create_index("ix_nc_events_report_id", "nc_events", ["report_id"])
    op.create_table(
        "compliance_records",
        _id(),
        _short("kind", 32),
        _text("subject"),
        sa.Column("on_date", sa.Date(), nullable=False),
        _text("url", nullable=True),
        _short("sha256", 64, nullable=True),
        _text("note", nullable=True),
        *_tail("compliance_records"),
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
