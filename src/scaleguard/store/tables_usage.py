"""Tables of the usage-policy screen: contracts, screen decisions, reviews, appeals.

Record tables like those in :mod:`scaleguard.store.tables`: ids assigned
under the write lock, one ledger entry per row, never updated or deleted.
A screen row holds the request's SHA-256, and its text only when the
customer's contract allows retention.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from scaleguard.store.tables import Base, BigId, Time, _ledger_fk

USAGE_TABLES = (
    "usage_contracts",
    "usage_screens",
    "usage_reviews",
    "usage_appeals",
    "usage_appeal_decisions",
)

#: Ledger entry kind -> (table, time column), for ledger verification.
USAGE_RECORD_KINDS: dict[str, tuple[str, str]] = {
    "usage-contract": ("usage_contracts", "created_at"),
    "usage-screen": ("usage_screens", "created_at"),
    "usage-review": ("usage_reviews", "created_at"),
    "usage-appeal": ("usage_appeals", "created_at"),
    "usage-appeal-decision": ("usage_appeal_decisions", "created_at"),
}


class UsageContractRow(Base):
    """A contract version submitted for a customer: accepted, or refused with its problems."""

    __tablename__ = "usage_contracts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer: Mapped[str] = mapped_column(index=True)
    version: Mapped[str]
    policy: Mapped[str]
    status: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    problems: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class UsageScreenRow(Base):
    """One screen decision: the request's hash, the band, the clause and why."""

    __tablename__ = "usage_screens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer: Mapped[str | None]
    contract: Mapped[str | None]
    policy: Mapped[str]
    policy_digest: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_text: Mapped[str | None]
    band: Mapped[str] = mapped_column(String(16), index=True)
    clause: Mapped[str | None]
    score: Mapped[float | None]
    decided_by: Mapped[str]
    result: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class UsageReviewRow(Base):
    """A human decision on a screen held for review."""

    __tablename__ = "usage_reviews"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    screen_id: Mapped[int] = mapped_column(BigId, ForeignKey("usage_screens.id"), unique=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class UsageAppealRow(Base):
    """A customer's appeal against a block."""

    __tablename__ = "usage_appeals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    screen_id: Mapped[int] = mapped_column(BigId, ForeignKey("usage_screens.id"), index=True)
    reason: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class UsageAppealDecisionRow(Base):
    """The reasoned outcome of an appeal, by someone other than the first reviewer."""

    __tablename__ = "usage_appeal_decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(BigId, ForeignKey("usage_appeals.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()
