"""Web users, sessions, API tokens and failed sign-ins.

Revision ID: 0008_web_users
Revises: 0007_reviewer_editions

Self-contained: these tables reference only each other. None of them is a
record table (sessions end, tokens are revoked), so no append-only triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_web_users"
down_revision = "0007_reviewer_editions"
branch_labels = None
depends_on = None

Time = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_users"),
        sa.UniqueConstraint("name", name="uq_web_users_name"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("expires_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name="fk_web_sessions_user_id_web_users"
        ),
    )
    op.create_table(
        "web_tokens",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("expires_at", Time, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_web_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["web_users.id"], name="fk_web_tokens_user_id_web_users"
        ),
    )
    op.create_table(
        "web_login_failures",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_login_failures"),
    )
    op.create_index("ix_web_login_failures_name_at", "web_login_failures", ["name", "at"])
    op.create_index("ix_web_login_failures_address_at", "web_login_failures", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_web_login_failures_address_at", table_name="web_login_failures")
    op.drop_index("ix_web_login_failures_name_at", table_name="web_login_failures")
    for table in ("web_login_failures", "web_tokens", "web_sessions", "web_users"):
        op.drop_table(table)
