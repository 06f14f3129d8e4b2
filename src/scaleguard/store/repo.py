"""Typed repository functions: the only code that reads or writes the tables.

Writes take a :class:`~scaleguard.store.db.Tx` (so they hold the write lock);
reads take any session. Every record is created through :func:`_create`,
which appends its ledger entry with :func:`append_record` in the same
transaction, so a record and its entry exist together or not at all.

There is deliberately no update or delete here: a correction is a new row,
and readers take the latest one (highest ledger index).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.ledger.canonical import entry_bytes, format_time
from scaleguard.ledger.merkle import leaf_hash
from scaleguard.store.db import Tx
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.ledger.tree import store_leaf, store_leaves
from scaleguard.store.records import (
    Artifact,
    Attestation,
    Decision,
    Determination,
    Evidence,
    Fact,
    FrameworkUse,
    LedgerRow,
    Model,
    ModelScore,
    Override,
)
from scaleguard.store.tables import (
    ArtifactRow,
    AttestationRow,
    Base,
    DecisionRow,
    DeterminationRow,
    EvidenceRow,
    FactRow,
    FrameworkLoadedRow,
    LedgerEntryRow,
    ModelRow,
    ModelScoreRow,
    OverrideRow,
)

R = TypeVar("R")

_NEXT_INDEX = select(func.coalesce(func.max(LedgerEntryRow.idx) + 1, 0))


def now() -> datetime:
    return datetime.now(UTC)


# -- the ledger --------------------------------------------------------------


def append_record(
    tx: Tx, kind: str, subject: str, record: Mapping[str, object], *, at: datetime | None = None
) -> int:
    """Append one ledger entry and return its index (0-based, dense).

    The index is the number of entries before it, read under the write lock
    held by ``tx``; it never comes from a sequence, which could leave gaps.
    The stored bytes are RFC 8785 canonical JSON of ``{kind, time, record}``
    and are never re-serialized. The Merkle subtree hashes the entry completes
    are stored in the same transaction (:func:`scaleguard.store.ledger.tree.store_leaf`).
    """
    moment = at or now()
    data = entry_bytes(kind, moment, record)
    idx = int(tx.execute(_NEXT_INDEX).scalar_one())
    leaf = leaf_hash(data)
    tx.execute(
        insert(LedgerEntryRow.__table__),  # type: ignore[arg-type]
        {
            "idx": idx,
            "kind": kind,
            "subject": subject,
            "created_at": format_time(moment),
            "data": data,
            "leaf_hash": leaf,
        },
    )
    store_leaf(tx, idx, leaf)
    tx.info.setdefault(APPENDED, []).append((idx, leaf))  # signed before commit
    return idx


def append_records(
    tx: Tx, items: Sequence[tuple[str, str, Mapping[str, object]]], *, at: datetime | None = None
) -> list[int]:
    """Append many ledger entries in one transaction; returns their indices in order.

    The same entries, subtree hashes and rows as calling :func:`append_record`
    once per item, with one index query, one multi-row insert for the entries
    and one for the subtree hashes (computed in memory), so a busy screen's
    audit keeps up.
    """
    if not items:
        return []
    moment = at or now()
    created_at = format_time(moment)
    first = int(tx.execute(_NEXT_INDEX).scalar_one())
    rows: list[dict[str, Any]] = []
    leaves: list[bytes] = []
    for offset, (kind, subject, record) in enumerate(items):
        data = entry_bytes(kind, moment, record)
        leaf = leaf_hash(data)
        leaves.append(leaf)
        rows.append(
            {
                "idx": first + offset,
                "kind": kind,
                "subject": subject,
                "created_at": created_at,
                "data": data,
                "leaf_hash": leaf,
            }
        )
    tx.execute(insert(LedgerEntryRow.__table__), rows)  # type: ignore[arg-type]
    store_leaves(tx, first, leaves)  # the subtree hashes, computed in memory, one insert
    indices = list(range(first, first + len(rows)))
    tx.info.setdefault(APPENDED, []).extend(zip(indices, leaves, strict=True))  # signed at commit
    return indices


def ledger_size(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())


def ledger_entries(session: Session, start: int = 0, stop: int | None = None) -> list[LedgerRow]:
    """Entries with ``start <= idx < stop``, in index order."""
    query = select(LedgerEntryRow).where(LedgerEntryRow.idx >= start)
    if stop is not None:
        query = query.where(LedgerEntryRow.idx < stop)
    return [_to(LedgerRow, row) for row in session.scalars(query.order_by(LedgerEntryRow.idx))]


def ledger_entry(session: Session, idx: int) -> LedgerRow:
    row = session.get(LedgerEntryRow, idx)
    if row is None:
        raise NotFoundError(f"no ledger entry {idx}", hint=f"the ledger has {ledger_size(session)}")
    return _to(LedgerRow, row)


# -- the generic record path --------------------------------------------------


def _to(cls: type[R], row: Any) -> R:
    """Copy a row's columns into a frozen record, turning JSON lists into tuples."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _record_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_record_value(v) for v in value]
    if isinstance(value, list):
        return [_record_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _record_value(v) for k, v in value.items()}
    return value


def _next_id(tx: Tx, table: type[Base]) -> int:
    query = _NEXT_ID.get(table)
    if query is None:
        query = _NEXT_ID[table] = select(func.coalesce(func.max(table.__table__.c.id) + 1, 1))
    return int(tx.execute(query).scalar_one())


_NEXT_ID: dict[type[Base], Select[Any]] = {}


def _create(
    tx: Tx,
    table: type[Base],
    cls: type[R],
    kind: str,
    subject: str,
    values: dict[str, Any],
    *,
    time_column: str = "created_at",
) -> R:
    """Insert one record row and its ledger entry; the entry holds every column but the index."""
    moment = now()
    row_id = _next_id(tx, table)
    values = {"id": row_id, **values}
    record = {k: _record_value(v) for k, v in values.items()}
    idx = append_record(tx, kind, subject, record, at=moment)
    row = {**values, time_column: format_time(moment), "ledger_index": idx}
    tx.execute(insert(table.__table__), row)  # type: ignore[arg-type]
    return _to(cls, _Row(row))


class _Row:
    """Attribute access over a dict of column values, for :func:`_to`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


# -- frameworks ----------------------------------------------------------------


def framework_uses(session: Session) -> list[FrameworkUse]:
    rows = session.scalars(select(FrameworkLoadedRow).order_by(FrameworkLoadedRow.id))
    return [_to(FrameworkUse, row) for row in rows]


def record_framework(tx: Tx, *, ref: str, digest: str, origin: str) -> FrameworkUse:
    """Record the first use of a framework digest; later uses return that first record."""
    row = tx.scalars(select(FrameworkLoadedRow).where(FrameworkLoadedRow.digest == digest)).first()
    if row is not None:
        return _to(FrameworkUse, row)
    return _create(
        tx,
        FrameworkLoadedRow,
        FrameworkUse,
        "framework",
        ref,
        {"ref": ref, "digest": digest, "origin": origin},
        time_column="loaded_at",
    )


# -- models and scores --------------------------------------------------------


def models(session: Session) -> list[Model]:
    return [_to(Model, row) for row in session.scalars(select(ModelRow).order_by(ModelRow.name))]


def find_model(session: Session, name: str) -> Model | None:
    row = session.scalars(select(ModelRow).where(ModelRow.name == name)).first()
    return None if row is None else _to(Model, row)


def model(session: Session, name: str) -> Model:
    """The model called ``name``; NotFoundError (with a close match) when there is none."""
    found = find_model(session, name)
    if found is None:
        names = list(session.scalars(select(ModelRow.name)))
        close = difflib.get_close_matches(name, names, n=1)
        raise NotFoundError(
            f"no model called {name!r} in the registry",
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + "add it with 'scaleguard models add' or see 'scaleguard models list'",
        )
    return found


def add_model(
    tx: Tx,
    *,
    name: str,
    own: bool,
    status: str,
    created_by: str,
    developer: str | None = None,
    parent: str | None = None,
    effective_compute: float | None = None,
    released_on: date | None = None,
    safeguards_level: str | None = None,
    notes: str | None = None,
    sources: Sequence[str] = (),
) -> Model:
    """Insert a model; the caller checks that the name is free and the parent exists."""
    values = {
        "name": name,
        "developer": developer,
        "own": own,
        "parent": parent,
        "effective_compute": effective_compute,
        "status": status,
        "released_on": released_on,
        "safeguards_level": safeguards_level,
        "notes": notes,
        "sources": list(sources),
        "created_by": created_by,
    }
    return _create(tx, ModelRow, Model, "model", name, values)


def add_score(
    tx: Tx, *, model: str, domain: str, score: float, source: str | None, created_by: str
) -> ModelScore:
    values = {
        "model": model,
        "domain": domain,
        "score": score,
        "source": source,
        "created_by": created_by,
    }
    return _create(tx, ModelScoreRow, ModelScore, "model-score", model, values)


def scores(session: Session, model: str | None = None) -> list[ModelScore]:
    """Every score on record (oldest first), optionally for one model."""
    query = select(ModelScoreRow)
    if model is not None:
        query = query.where(ModelScoreRow.model == model)
    return [_to(ModelScore, r) for r in session.scalars(query.order_by(ModelScoreRow.id))]


def latest_scores(session: Session, model: str | None = None) -> dict[tuple[str, str], ModelScore]:
    """The current score per (model, domain): the most recently recorded one."""
    return {(s.model, s.domain): s for s in scores(session, model)}


# -- artifacts and evidence ---------------------------------------------------


def artifact(session: Session, sha256: str) -> Artifact | None:
    row = session.get(ArtifactRow, sha256)
    return None if row is None else _to(Artifact, row)


def artifacts(session: Session) -> list[Artifact]:
    rows = session.scalars(
        select(ArtifactRow).order_by(ArtifactRow.first_ingested_at, ArtifactRow.sha256)
    )
    return [_to(Artifact, row) for row in rows]


def add_artifact(
    tx: Tx, *, sha256: str, size: int, format: str, original_name: str, stored_path: str
) -> Artifact:
    """Record a stored artifact file (its evidence rows carry the ledger entries)."""
    tx.execute(
        insert(ArtifactRow).values(
            sha256=sha256,
            size=size,
            format=format,
            original_name=original_name,
            stored_path=stored_path,
            first_ingested_at=format_time(now()),
        )
    )
    found = artifact(tx, sha256)
    assert found is not None
    return found


def add_evidence(
    tx: Tx,
    *,
    model: str,
    task: str,
    metric: str,
    value: float,
    artifact_sha256: str,
    format: str,
    ingested_by: str,
    sample_count: int | None = None,
    sample_scores: Sequence[float] | None = None,
    stderr: float | None = None,
    run: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> Evidence:
    values = {
        "model": model,
        "task": task,
        "metric": metric,
        "value": value,
        "sample_count": sample_count,
        "sample_scores": None if sample_scores is None else list(sample_scores),
        "stderr": stderr,
        "artifact_sha256": artifact_sha256,
        "format": format,
        "run": dict(run or {}),
        "details": dict(details or {}),
        "ingested_by": ingested_by,
    }
    return _create(tx, EvidenceRow, Evidence, "evidence", model, values, time_column="ingested_at")


def evidence(session: Session, model: str | None = None) -> list[Evidence]:
    """All evidence in ingestion order, optionally for one model."""
    query = select(EvidenceRow)
    if model is not None:
        query = query.where(EvidenceRow.model == model)
    return [_to(Evidence, row) for row in session.scalars(query.order_by(EvidenceRow.id))]


def database_identity(session: Session) -> bytes:
    """The leaf hash of ledger entry 0: unique to one database (it records the moment the
    workspace was created), so per-process caches never confuse a recreated database."""
    first = session.connection().execute(
        select(LedgerEntryRow.leaf_hash).where(LedgerEntryRow.idx == 0)
    )
    return bytes(first.scalar() or b"")


_evidence_names: dict[tuple[str, bytes, int], frozenset[str]] = {}


def evidence_model_names(session: Session) -> frozenset[str]:
    """Every model name evidence mentions. Cached per process by the largest evidence
    id, which identifies the content: evidence is append-only."""
    conn = session.connection()
    top = conn.execute(select(func.max(EvidenceRow.id))).scalar() or 0
    key = (str(conn.engine.url), database_identity(session), int(top))
    names = _evidence_names.get(key)
    if names is None:
        names = frozenset(conn.execute(select(EvidenceRow.model).distinct()).scalars())
        _evidence_names.clear()
        _evidence_names[key] = names
    return names


def evidence_for_model(session: Session, model: str) -> list[Evidence]:
    """Evidence attributed to a registry model: the log names it exactly, or as ``provider/NAME``.

    Inspect names models ``provider/name``; a registry entry ``aurora-3`` takes
    the evidence of ``fictional/aurora-3``. Register the full name to be strict.
    """
    suffix = "/" + model
    names = [n for n in evidence_model_names(session) if n == model or n.endswith(suffix)]
    if not names:
        return []
    query = select(EvidenceRow).where(EvidenceRow.model.in_(sorted(names)))
    return [_to(Evidence, row) for row in session.scalars(query.order_by(EvidenceRow.id))]


def evidence_by_id(session: Session, ids: Sequence[int]) -> list[Evidence]:
    """The evidence rows with these ids, in the order given; NotFoundError if one is missing."""
    rows = {r.id: r for r in session.scalars(select(EvidenceRow).where(EvidenceRow.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFoundError(f"no evidence with id {', '.join(map(str, missing))}")
    return [_to(Evidence, rows[i]) for i in ids]


def latest_evidence(session: Session, model: str, task: str, metric: str) -> Evidence | None:
    """The most recently ingested value of ``metric`` for ``model`` on ``task``."""
    row = session.scalars(
        select(EvidenceRow)
        .where(EvidenceRow.model == model, EvidenceRow.task == task, EvidenceRow.metric == metric)
        .order_by(EvidenceRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _to(Evidence, row)


# -- attestations and facts ---------------------------------------------------


def add_attestation(
    tx: Tx, *, model: str, standard: str, attested_by: str, evidence_url: str, note: str | None
) -> Attestation:
    values = {
        "model": model,
        "standard": standard,
        "attested_by": attested_by,
        "evidence_url": evidence_url,
        "note": note,
    }
    return _create(tx, AttestationRow, Attestation, "attestation", model, values)


def attestations(session: Session, model: str | None = None) -> list[Attestation]:
    query = select(AttestationRow)
    if model is not None:
        query = query.where(AttestationRow.model == model)
    return [_to(Attestation, row) for row in session.scalars(query.order_by(AttestationRow.id))]


def attested_standards(session: Session, model: str) -> dict[str, Attestation]:
    """Standard id → the latest attestation that ``model`` meets it."""
    return {a.standard: a for a in attestations(session, model)}


def add_fact(
    tx: Tx,
    *,
    name: str,
    value: bool | int | float,
    source: str,
    asserted_by: str,
    model: str | None = None,
) -> Fact:
    values = {
        "name": name,
        "value": value,
        "model": model,
        "source": source,
        "asserted_by": asserted_by,
    }
    return _create(tx, FactRow, Fact, "fact", model or name, values)


def facts(session: Session, model: str | None = None) -> list[Fact]:
    """Every assertion, oldest first; with ``model``, those about it plus workspace-wide ones."""
    query = select(FactRow)
    if model is not None:
        query = query.where((FactRow.model == model) | FactRow.model.is_(None))
    return [_to(Fact, row) for row in session.scalars(query.order_by(FactRow.id))]


def current_facts(session: Session, model: str | None = None) -> dict[str, Fact]:
    """Name → the fact in force: the latest assertion, one about ``model`` beating a general one.

    Without ``model``, only workspace-wide facts count.
    """
    general: dict[str, Fact] = {}
    specific: dict[str, Fact] = {}
    for fact in facts(session, model):
        if fact.model is None:
            general[fact.name] = fact
        elif fact.model == model:
            specific[fact.name] = fact
    return {**general, **specific}


# -- determinations, overrides, decisions -------------------------------------


def add_determination(
    tx: Tx,
    *,
    model: str,
    framework_ref: str,
    threshold_id: str,
    state: str,
    method: str,
    created_by: str,
    indicator_id: str | None = None,
    estimate: float | None = None,
    low: float | None = None,
    high: float | None = None,
    evidence_ids: Sequence[int] = (),
    params: Mapping[str, Any] | None = None,
) -> Determination:
    values = {
        "model": model,
        "framework_ref": framework_ref,
        "threshold_id": threshold_id,
        "indicator_id": indicator_id,
        "state": state,
        "estimate": estimate,
        "low": low,
        "high": high,
        "method": method,
        "evidence_ids": list(evidence_ids),
        "params": dict(params or {}),
        "created_by": created_by,
    }
    return _create(tx, DeterminationRow, Determination, "determination", model, values)


def determinations(session: Session, model: str | None = None) -> list[Determination]:
    query = select(DeterminationRow)
    if model is not None:
        query = query.where(DeterminationRow.model == model)
    return [_to(Determination, r) for r in session.scalars(query.order_by(DeterminationRow.id))]


def add_override(
    tx: Tx,
    *,
    model: str,
    framework_ref: str,
    threshold_id: str,
    state: str,
    author: str,
    justification: str,
    supersedes_determination_id: int | None = None,
) -> Override:
    values = {
        "model": model,
        "framework_ref": framework_ref,
        "threshold_id": threshold_id,
        "state": state,
        "author": author,
        "justification": justification,
        "supersedes_determination_id": supersedes_determination_id,
    }
    return _create(tx, OverrideRow, Override, "override", model, values)


def overrides(session: Session, model: str | None = None) -> list[Override]:
    query = select(OverrideRow)
    if model is not None:
        query = query.where(OverrideRow.model == model)
    return [_to(Override, row) for row in session.scalars(query.order_by(OverrideRow.id))]


def add_decision(
    tx: Tx,
    *,
    model: str,
    action: str,
    framework_ref: str,
    outcome: str,
    record: Mapping[str, Any],
    created_by: str,
    compare_ref: str | None = None,
) -> Decision:
    values = {
        "model": model,
        "action": action,
        "framework_ref": framework_ref,
        "compare_ref": compare_ref,
        "outcome": outcome,
        "record": dict(record),
        "created_by": created_by,
    }
    return _create(tx, DecisionRow, Decision, "decision", model, values)


def decisions(session: Session, model: str | None = None) -> list[Decision]:
    query = select(DecisionRow)
    if model is not None:
        query = query.where(DecisionRow.model == model)
    return [_to(Decision, row) for row in session.scalars(query.order_by(DecisionRow.id))]
