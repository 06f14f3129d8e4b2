"""The database schema, as SQLAlchemy 2 declarative tables.

These classes describe tables; they never leave :mod:`scaleguard.store`.
Callers get frozen dataclasses from :mod:`scaleguard.store.repo` instead, so
nothing outside the store is tied to a session.

Conventions shared by every record table:

* ``id`` is assigned under the write lock as ``max(id) + 1`` (no sequences),
  so ids are dense, identical on SQLite and PostgreSQL, and can go into the
  ledger record itself.
* ``ledger_index`` points at the ``ledger_entries`` row written in the same
  transaction; it is unique, so one entry backs exactly one record.
* Times are RFC 3339 UTC text (``2026-01-05T12:00:00Z``), the same string the
  ledger entry carries; text compares and sorts identically on both backends.
* Rows are never updated or deleted (database triggers refuse it too);
  a correction is a new row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Stable constraint names, so migrations name the same objects on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit on PostgreSQL; plain INTEGER on SQLite (which is 64-bit there anyway).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Time = String(32)

#: Tables whose rows may never be updated or deleted (enforced by triggers).
APPEND_ONLY_TABLES = (
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        int: BigId,
        str: Text(),
        float: Double(),
        bool: Boolean(),
        date: Date(),
        Any: JSON(none_as_null=True),
    }


def _ledger_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("ledger_entries.idx"), unique=True)


class LedgerEntryRow(Base):
    """One ledger entry: the exact canonical bytes a Merkle leaf commits to."""

    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class FrameworkLoadedRow(Base):
    """The first use of each framework digest in this workspace."""

    __tablename__ = "frameworks_loaded"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ref: Mapped[str]
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    origin: Mapped[str]
    loaded_at: Mapped[str] = mapped_column(Time)
    ledger_index: Mapped[int] = _ledger_fk()


class ModelRow(Base):
    """A model in the registry: one of ours, or a competitor's."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(unique=True)
    developer: Mapped[str | None]
    own: Mapped[bool]
    parent: Mapped[str | None] = mapped_column(ForeignKey("models.name"))
    effective_compute: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16))
    released_on: Mapped[date | None]
    safeguards_level: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str | None]
    sources: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ModelScoreRow(Base):
    """A capability score of a model in one risk domain, with where it comes from."""

    __tablename__ = "model_scores"
    __table_args__ = (Index(None, "model", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(ForeignKey("models.name"))
    domain: Mapped[str]
    score: Mapped[float]
    source: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class ArtifactRow(Base):
    """A raw evidence file, stored content-addressed under ``objects/``."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    format: Mapped[str] = mapped_column(String(32))
    original_name: Mapped[str]
    stored_path: Mapped[str]
    first_ingested_at: Mapped[str] = mapped_column(Time)


class EvidenceRow(Base):
    """One metric value read from an artifact, with per-sample scores when known."""

    __tablename__ = "evidence"
    __table_args__ = (Index(None, "model", "task", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str]
    task: Mapped[str]
    metric: Mapped[str]
    value: Mapped[float]
    sample_count: Mapped[int | None]
    sample_scores: Mapped[Any | None]
    stderr: Mapped[float | None]
    artifact_sha256: Mapped[str] = mapped_column(String(64), ForeignKey("artifacts.sha256"))
    format: Mapped[str] = mapped_column(String(32))
    run: Mapped[Any]
    details: Mapped[Any]
    ingested_at: Mapped[str] = mapped_column(Time)
    ingested_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class AttestationRow(Base):
    """Someone vouches that a model meets a safeguard standard, pointing at the proof."""

    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(ForeignKey("models.name"), index=True)
    standard: Mapped[str]
    attested_by: Mapped[str]
    evidence_url: Mapped[str]
    note: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    ledger_index: Mapped[int] = _ledger_fk()


class FactRow(Base):
    """A fact a framework condition may name, asserted with a source."""

    __tablename__ = "facts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(index=True)
    value: Mapped[Any]
    model: Mapped[str | None] = mapped_column(ForeignKey("models.name"))
    source: Mapped[str]
    asserted_by: Mapped[str]
    created_at: Mapped[str] = mapped_column(Time)
    ledger_index: Mapped[int] = _ledger_fk()


class DeterminationRow(Base):
    """Where a model stands against one capability threshold, and why."""

    __tablename__ = "determinations"
    __table_args__ = (Index(None, "model", "framework_ref", "threshold_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str]
    framework_ref: Mapped[str]
    threshold_id: Mapped[str]
    indicator_id: Mapped[str | None]
    state: Mapped[str] = mapped_column(String(16))
    estimate: Mapped[float | None]
    low: Mapped[float | None]
    high: Mapped[float | None]
    method: Mapped[str]
    evidence_ids: Mapped[Any]
    params: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class OverrideRow(Base):
    """A person's judgement replacing a determination's state, with a justification."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str]
    framework_ref: Mapped[str]
    threshold_id: Mapped[str]
    state: Mapped[str] = mapped_column(String(16))
    author: Mapped[str]
    justification: Mapped[str]
    supersedes_determination_id: Mapped[int | None] = mapped_column(ForeignKey("determinations.id"))
    created_at: Mapped[str] = mapped_column(Time)
    ledger_index: Mapped[int] = _ledger_fk()


class DecisionRow(Base):
    """An evaluated scaling decision with its full explanation."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    model: Mapped[str] = mapped_column(index=True)
    action: Mapped[str]
    framework_ref: Mapped[str]
    compare_ref: Mapped[str | None]
    outcome: Mapped[str]
    record: Mapped[Any]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


metadata = Base.metadata


#: Ledger tables added by 0002_ledger_tree; append-only as well.
LEDGER_TREE_TABLES = ("ledger_nodes", "ledger_checkpoints")


class LedgerNodeRow(Base):
    """The hash of one complete subtree: leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpointRow(Base):
    """A signed checkpoint (C2SP signed note) of the ledger at one tree size."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(Time)
