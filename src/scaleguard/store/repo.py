"""Typed repository functions: the only code that reads or writes the core tables.

Writes take a :class:`~scaleguard.store.db.Tx` (so they hold the write lock);
reads take any session. Every record is created through
:func:`~scaleguard.store.recording.create_record` (or, many at once,
:func:`~scaleguard.store.recording.create_rows`), which appends its ledger
entry in the same transaction, so a record and its entry exist together or
not at all.

There is deliberately no update or delete here: a correction is a new row,
and readers take the latest one (highest ledger index).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import ConflictError, NotFoundError
from scaleguard.ledger.canonical import format_time
from scaleguard.store.db import Tx
from scaleguard.store.ledger.append import append_record as append_record
from scaleguard.store.ledger.append import append_records as append_records
from scaleguard.store.ledger.append import now as now
from scaleguard.store.recording import (
    NewRecord,
    create_record,
    create_rows,
    creator,
    first_record,
    list_records,
    record_from,
)
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

# -- the ledger --------------------------------------------------------------


def ledger_size(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())


def ledger_entries(session: Session, start: int = 0, stop: int | None = None) -> list[LedgerRow]:
    """Entries with ``start <= idx < stop``, in index order."""
    column = LedgerEntryRow.idx
    where = [column >= start] if stop is None else [column >= start, column < stop]
    return list_records(session, LedgerEntryRow, LedgerRow, *where)


def ledger_entry(session: Session, idx: int) -> LedgerRow:
    found = first_record(session, LedgerEntryRow, LedgerRow, LedgerEntryRow.idx == idx)
    if found is None:
        raise NotFoundError(f"no ledger entry {idx}", hint=f"the ledger has {ledger_size(session)}")
    return found


# -- frameworks ----------------------------------------------------------------


def framework_uses(session: Session) -> list[FrameworkUse]:
    return list_records(session, FrameworkLoadedRow, FrameworkUse)


def framework_use(session: Session, digest: str) -> FrameworkUse | None:
    """The recorded first use of a framework digest, if any: a read, so a caller can
    tell whether :func:`record_framework` would write without taking the write lock."""
    return first_record(session, FrameworkLoadedRow, FrameworkUse, digest=digest)


def record_framework(tx: Tx, *, ref: str, digest: str, origin: str) -> FrameworkUse:
    """Record the first use of a framework digest; later uses return that first record.

    A framework's ``ID@VERSION`` names one set of rules: a document of the
    workspace's own (or given as a path) whose content differs from what was
    first used under the same ref is refused, so a decision recorded as made
    under ``lab-rsp@1.0`` cannot rest on rules edited in place. A built-in
    framework may change with the installed scaleguard (a corrected encoding of
    the same published version); its new digest is recorded as a use of its own,
    and every decision names the digest it applied.
    """
    found = framework_use(tx, digest)
    if found is not None:
        return found
    if not origin.startswith("builtin:"):
        earlier = first_record(tx, FrameworkLoadedRow, FrameworkUse, ref=ref)
        if earlier is not None:
            raise ConflictError(
                f"{ref} ({origin}) is not the {ref} this workspace first used on "
                f"{earlier.loaded_at[:10]} (sha256 {earlier.digest[:12]}, now {digest[:12]}): "
                "a framework's rules may not change under the same version",
                hint="give the changed document a new version (its framework: version: "
                "field), so decisions under each stay told apart, or restore it as it was",
            )
    return create_record(
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
    return list_records(session, ModelRow, Model, order_by=ModelRow.name)


def find_model(session: Session, name: str) -> Model | None:
    return first_record(session, ModelRow, Model, name=name)


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


def new_model(
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
) -> NewRecord:
    """A model record to create (alone with :func:`add_model`, or in a batch)."""
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
    return NewRecord(ModelRow, "model", name, values)


#: Insert a model (fields as :func:`new_model`); the caller checks that the name is free
#: and the parent exists.
add_model = creator(new_model, Model)


def new_score(
    *, model: str, domain: str, score: float, source: str | None, created_by: str
) -> NewRecord:
    values = {
        "model": model,
        "domain": domain,
        "score": score,
        "source": source,
        "created_by": created_by,
    }
    return NewRecord(ModelScoreRow, "model-score", model, values)


add_score = creator(new_score, ModelScore)


def scores(session: Session, model: str | None = None) -> list[ModelScore]:
    """Every score on record (oldest first), optionally for one model."""
    return list_records(session, ModelScoreRow, ModelScore, model=model)


def latest_scores(session: Session, model: str | None = None) -> dict[tuple[str, str], ModelScore]:
    """The current score per (model, domain): the most recently recorded one."""
    return {(s.model, s.domain): s for s in scores(session, model)}


# -- artifacts and evidence ---------------------------------------------------


def artifact(session: Session, sha256: str) -> Artifact | None:
    return first_record(session, ArtifactRow, Artifact, sha256=sha256)


def artifacts(session: Session) -> list[Artifact]:
    order = (ArtifactRow.first_ingested_at, ArtifactRow.sha256)
    return list_records(session, ArtifactRow, Artifact, order_by=order)


def add_artifact(
    tx: Tx, *, sha256: str, size: int, format: str, original_name: str, stored_path: str
) -> Artifact:
    """Record a stored artifact file (its evidence rows carry the ledger entries)."""
    values = {
        "sha256": sha256,
        "size": size,
        "format": format,
        "original_name": original_name,
        "stored_path": stored_path,
        "first_ingested_at": format_time(now()),
    }
    tx.execute(insert(ArtifactRow).values(**values))
    return record_from(Artifact, values)


def new_evidence(
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
) -> NewRecord:
    """An evidence record to create (alone with :func:`add_evidence`, or in a batch)."""
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
    return NewRecord(EvidenceRow, "evidence", model, values, time_column="ingested_at")


#: Insert one evidence record (fields as :func:`new_evidence`).
add_evidence = creator(new_evidence, Evidence)


def add_evidence_records(tx: Tx, items: Sequence[NewRecord]) -> list[Evidence]:
    """Insert many evidence records (from :func:`new_evidence`) in one go."""
    return [record_from(Evidence, row) for row in create_rows(tx, items)]


def evidence(session: Session, model: str | None = None) -> list[Evidence]:
    """All evidence in ingestion order, optionally for one model."""
    return list_records(session, EvidenceRow, Evidence, model=model)


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
        # one entry per database (its newest content), a few databases per process
        for stale in [k for k in _evidence_names if k[:2] == key[:2]]:
            del _evidence_names[stale]
        if len(_evidence_names) >= 8:
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
    return list_records(session, EvidenceRow, Evidence, EvidenceRow.model.in_(sorted(names)))


def evidence_by_id(session: Session, ids: Sequence[int]) -> list[Evidence]:
    """The evidence rows with these ids, in the order given; NotFoundError if one is missing."""
    rows = {e.id: e for e in list_records(session, EvidenceRow, Evidence, EvidenceRow.id.in_(ids))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFoundError(f"no evidence with id {', '.join(map(str, missing))}")
    return [rows[i] for i in ids]


def latest_evidence(session: Session, model: str, task: str, metric: str) -> Evidence | None:
    """The most recently ingested value of ``metric`` for ``model`` on ``task``."""
    return first_record(
        session,
        EvidenceRow,
        Evidence,
        order_by=EvidenceRow.id.desc(),
        model=model,
        task=task,
        metric=metric,
    )


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
    return create_record(tx, AttestationRow, Attestation, "attestation", model, values)


def attestations(session: Session, model: str | None = None) -> list[Attestation]:
    return list_records(session, AttestationRow, Attestation, model=model)


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
    return create_record(tx, FactRow, Fact, "fact", model or name, values)


def facts(session: Session, model: str | None = None) -> list[Fact]:
    """Every assertion, oldest first; with ``model``, those about it plus workspace-wide ones."""
    if model is None:
        return list_records(session, FactRow, Fact)
    return list_records(session, FactRow, Fact, (FactRow.model == model) | FactRow.model.is_(None))


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
    return create_record(tx, DeterminationRow, Determination, "determination", model, values)


def determinations(session: Session, model: str | None = None) -> list[Determination]:
    return list_records(session, DeterminationRow, Determination, model=model)


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
    return create_record(tx, OverrideRow, Override, "override", model, values)


def overrides(session: Session, model: str | None = None) -> list[Override]:
    return list_records(session, OverrideRow, Override, model=model)


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
    return create_record(tx, DecisionRow, Decision, "decision", model, values)


def decisions(session: Session, model: str | None = None) -> list[Decision]:
    return list_records(session, DecisionRow, Decision, model=model)
