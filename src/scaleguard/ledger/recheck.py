"""Re-reading entries and record rows quickly, without ever accepting less.

Verification touches every entry and every record row, so the common case
runs through C code (``json.loads``/``json.dumps``, see
:mod:`scaleguard.ledger.fastjcs`) and only what it cannot vouch for goes to
the strict, pure-Python canonical parser. Nothing here
reads the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from scaleguard.errors import InputError
from scaleguard.ledger.canonical import MAX_SAFE_INTEGER, canonical_json, parse_entry
from scaleguard.ledger.fastjcs import fast_decode
from scaleguard.ledger.merkle import HASH_SIZE

#: Entry kind -> (record table, the column holding the entry's time).
#: Every entry must be backed by one row of its kind's table; a kind missing
#: here fails verification, so a new record table must be added.
RECORD_TABLES: dict[str, tuple[str, str]] = {
    "framework": ("frameworks_loaded", "loaded_at"),
    "model": ("models", "created_at"),
    "model-score": ("model_scores", "created_at"),
    "evidence": ("evidence", "ingested_at"),
    "attestation": ("attestations", "created_at"),
    "fact": ("facts", "created_at"),
    "determination": ("determinations", "created_at"),
    "override": ("overrides", "created_at"),
    "decision": ("decisions", "created_at"),
    "roadmap-goal": ("roadmap_goals", "created_at"),
    "roadmap-update": ("roadmap_updates", "created_at"),
    "risk-report": ("risk_reports", "created_at"),
    "report-redaction": ("report_redactions", "created_at"),
    "report-submission": ("report_submissions", "created_at"),
    "report-publication": ("report_publications", "created_at"),
    "reviewer": ("reviewers", "created_at"),
    "reviewer-interest": ("reviewer_interests", "created_at"),
    "review-assignment": ("review_assignments", "created_at"),
    "review-access": ("review_accesses", "created_at"),
    "review-comment": ("review_comments", "created_at"),
    "review-statement": ("review_statements", "created_at"),
    "review-response": ("review_responses", "created_at"),
    "incident": ("incidents", "created_at"),
    "incident-event": ("incident_events", "created_at"),
    "nc-report": ("nc_reports", "created_at"),
    "nc-event": ("nc_events", "created_at"),
    "compliance-record": ("compliance_records", "created_at"),
    "usage-contract": ("usage_contracts", "created_at"),
    "usage-screen": ("usage_screens", "created_at"),
    "usage-review": ("usage_reviews", "created_at"),
    "usage-appeal": ("usage_appeals", "created_at"),
    "usage-appeal-decision": ("usage_appeal_decisions", "created_at"),
    "report-reviewer-edition": ("report_reviewer_editions", "created_at"),
}
_KIND_RE = re.compile(r"[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*", re.ASCII)
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?Z", re.ASCII)
_DUMPS = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


# -- entry bytes: a quick canonical check with the strict parser as fallback ----


def quick_entry(data: bytes) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, time, record) if ``data`` is certainly a canonical entry, else None.

    Canonical form is proven in C by :func:`scaleguard.ledger.fastjcs.fast_decode`
    (parse, re-encode, compare bytes); anything it cannot vouch for, and any
    entry whose shape or time is off, goes to the strict parser, so this never
    accepts what :func:`parse_entry` rejects.
    """
    proven, value = fast_decode(data)
    if not proven or not isinstance(value, dict) or value.keys() != {"kind", "time", "record"}:
        return None
    kind, moment, record = value["kind"], value["time"], value["record"]
    if not isinstance(kind, str) or len(kind) > 64 or not _KIND_RE.fullmatch(kind):
        return None
    if not isinstance(moment, str) or not _TIME_RE.fullmatch(moment):
        return None
    if moment.endswith(".000000Z") or not isinstance(record, dict):
        return None
    try:
        datetime.fromisoformat(moment)
    except ValueError:
        return None
    return kind, moment, record


def read_entry(data: bytes) -> tuple[str, str, dict[str, Any]]:
    """Kind, time text and record of canonical entry bytes; LedgerError otherwise."""
    quick = quick_entry(data)
    if quick is not None:
        return quick
    parsed = parse_entry(data)
    text = json.loads(data)["time"]
    return parsed.kind, str(text), cast(dict[str, Any], parsed.record)


# -- record rows -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A column value as the JSON value its record holds (dates as text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def normalized(value: Any) -> Any:
    """Integral floats as ints, which is how their canonical JSON parses back."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    if isinstance(value, Mapping):
        return {k: normalized(v) for k, v in value.items()}
    return value


def fingerprint(moment: str, record: Any) -> bytes:
    """Fingerprint of (time, record) under which equal JSON values collide, others do not."""
    try:
        return hashlib.sha256(_DUMPS([moment, record]).encode("utf-8", "surrogatepass")).digest()
    except (ValueError, TypeError):
        return b"\xff" * HASH_SIZE


def row_record(row: Mapping[str, Any], time_column: str) -> dict[str, Any]:
    return {
        key: _plain(value) for key, value in row.items() if key not in (time_column, "ledger_index")
    }


def record_difference(row_record: dict[str, Any], entry_record: dict[str, Any]) -> str | None:
    """None when both are the same canonical JSON, else which fields differ."""
    try:
        if canonical_json(row_record) == canonical_json(entry_record):
            return None
    except InputError as exc:
        return f"the row cannot be written as canonical JSON: {exc.render()}"
    fields = sorted(
        k
        for k in set(row_record) | set(entry_record)
        if k not in row_record
        or k not in entry_record
        or _safe_canonical(row_record[k]) != _safe_canonical(entry_record[k])
    )
    return "fields differ from the ledger entry's record: " + ", ".join(fields)


def _safe_canonical(value: Any) -> bytes | None:
    try:
        return canonical_json(value)
    except InputError:
        return None
