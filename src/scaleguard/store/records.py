"""What the store hands out: frozen values, detached from any session.

Field names match the table columns one to one, so each converts to JSON with
:func:`as_json` for ``--json`` output and API bodies. Lists come back as
tuples so the values stay immutable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

JSONScalar = bool | int | float | str | None


@dataclass(frozen=True)
class LedgerRow:
    idx: int
    kind: str
    subject: str
    created_at: str
    data: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class FrameworkUse:
    id: int
    ref: str
    digest: str
    origin: str
    loaded_at: str
    ledger_index: int


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    developer: str | None
    own: bool
    parent: str | None
    effective_compute: float | None
    status: str
    released_on: date | None
    safeguards_level: str | None
    notes: str | None
    sources: tuple[str, ...]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class ModelScore:
    id: int
    model: str
    domain: str
    score: float
    source: str | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Artifact:
    sha256: str
    size: int
    format: str
    original_name: str
    stored_path: str
    first_ingested_at: str


@dataclass(frozen=True)
class Evidence:
    id: int
    model: str
    task: str
    metric: str
    value: float
    sample_count: int | None
    sample_scores: tuple[float, ...] | None
    stderr: float | None
    artifact_sha256: str
    format: str
    run: Mapping[str, Any]
    details: Mapping[str, Any]
    ingested_at: str
    ingested_by: str
    ledger_index: int


@dataclass(frozen=True)
class Attestation:
    id: int
    model: str
    standard: str
    attested_by: str
    evidence_url: str
    note: str | None
    created_at: str
    ledger_index: int


@dataclass(frozen=True)
class Fact:
    id: int
    name: str
    value: bool | int | float
    model: str | None
    source: str
    asserted_by: str
    created_at: str
    ledger_index: int


@dataclass(frozen=True)
class Determination:
    id: int
    model: str
    framework_ref: str
    threshold_id: str
    indicator_id: str | None
    state: str
    estimate: float | None
    low: float | None
    high: float | None
    method: str
    evidence_ids: tuple[int, ...]
    params: Mapping[str, Any]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class Override:
    id: int
    model: str
    framework_ref: str
    threshold_id: str
    state: str
    author: str
    justification: str
    supersedes_determination_id: int | None
    created_at: str
    ledger_index: int


@dataclass(frozen=True)
class Decision:
    id: int
    model: str
    action: str
    framework_ref: str
    compare_ref: str | None
    outcome: str
    record: Mapping[str, Any]
    created_at: str
    created_by: str
    ledger_index: int


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(record: Any) -> dict[str, Any]:
    """A record as plain JSON values (dates as ISO text, bytes as hex)."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"not a record: {type(record).__name__}")
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}
