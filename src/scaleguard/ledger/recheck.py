"""Re-reading entries and record rows quickly, without ever accepting less.

Verification touches every entry and every record row, so the common case
runs through C code (``json.loads``/``json.dumps``) and only what it cannot
vouch for goes to the strict, pure-Python canonical parser. Nothing here
reads the database.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from scaleguard.errors import InputError
from scaleguard.ledger.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_json, parse_entry
from scaleguard.ledger.fastjcs import fast_decode

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
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_C_ENCODE = getattr(json.encoder, "c_make_encoder", None)


def _make_dumps() -> Callable[[Any], str]:
    """Sorted, compact, UTF-8 JSON; the C encoder built once rather than per call."""
    if _C_ENCODE is None:  # pragma: no cover - CPython always has it
        return _ENCODER.encode
    # Same arguments JSONEncoder.iterencode passes (no circular check: values are trees).
    encode = _C_ENCODE(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def dumps(value: Any) -> str:
        if isinstance(value, str):
            return _ENCODER.encode(value)
        return "".join(encode(value, 0))

    return dumps


_DUMPS = _make_dumps()


# -- entry bytes: the C route's proof, with the strict parser as fallback --------


def quick_entry(data: bytes) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, time, record) if ``data`` is certainly a canonical entry, else None.

    The proof is :func:`~scaleguard.ledger.fastjcs.fast_decode`'s (the bytes
    equal the C encoder's proven RFC 8785 text of their own parse), without
    reading long integer tokens as doubles, so a proven record's integers are
    all safe. It never accepts what :func:`parse_entry` rejects.
    """
    proven, value = fast_decode(data, whole_doubles=False)
    return _entry_parts(value) if proven else None


def _entry_parts(value: Any) -> tuple[str, str, dict[str, Any]] | None:
    if not isinstance(value, dict) or value.keys() != {"kind", "time", "record"}:
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


def strict_entry(data: bytes) -> tuple[str, str, dict[str, Any]]:
    """The strict RFC 8785 check (:func:`parse_entry`); the one place verification calls it."""
    parsed = parse_entry(data)
    text = json.loads(data)["time"]
    return parsed.kind, str(text), cast(dict[str, Any], parsed.record)


def read_entry(data: bytes) -> tuple[str, str, dict[str, Any]]:
    """Kind, time text and record of canonical entry bytes; LedgerError otherwise."""
    quick = quick_entry(data)
    if quick is not None:
        return quick
    return strict_entry(data)


class CheckedEntry(NamedTuple):
    """A canonical entry as verification keeps it.

    ``record_text`` is the record's slice of the entry text. In canonical
    form the record object is written exactly as it would be on its own, so
    when a row's record encodes to this same text the two are the same JSON
    value. ``quick`` says :func:`quick_entry` proved the entry, so its
    integers are all safe and the row comparison may use the C encoder too.
    ``artifact`` is an evidence entry's artifact digest.
    """

    kind: str
    time: str
    record_text: str
    quick: bool
    artifact: str | None = None


def _artifact(kind: str, record: Mapping[str, Any]) -> str | None:
    sha = record.get("artifact_sha256") if kind == "evidence" else None
    return sha if isinstance(sha, str) else None


def check_entry(data: bytes) -> CheckedEntry:
    """Kind, time and record text of canonical entry bytes; LedgerError otherwise."""
    parts = quick_entry(data)
    quick = parts is not None
    if parts is None:
        parts = strict_entry(data)
    kind, moment, record = parts
    text = bytes(data).decode("utf-8")
    # '{"kind":"<kind>","record":' ... ',"time":"<time>"}'; kind and time need no escaping
    record_text = text[len(kind) + 20 : len(text) - len(moment) - 11]
    return CheckedEntry(kind, moment, record_text, quick, _artifact(kind, record))


def valid_time(moment: str) -> bool:
    """Is this an entry time exactly as :func:`format_time` writes it?"""
    if not _TIME_RE.fullmatch(moment) or moment.endswith(".000000Z"):
        return False
    try:
        datetime.fromisoformat(moment)
    except ValueError:
        return False
    return True


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


def row_record(row: Mapping[str, Any], time_column: str) -> dict[str, Any]:
    return {
        key: _plain(value) for key, value in row.items() if key not in (time_column, "ledger_index")
    }


def row_text(row: Mapping[str, Any], time_column: str) -> str | None:
    """The row's record as the C encoder writes it (None when it cannot).

    Same values as ``normalized(row_record(row))`` in one pass: scalar
    columns are handled inline, only dates and JSON columns go through the
    recursive helpers. Only an exact text match with a quickly checked
    entry's record text counts as equal; anything else takes the careful
    comparison (:func:`record_difference`).
    """
    record: dict[str, Any] = {}
    for key, value in row.items():
        if key == time_column or key == "ledger_index":
            continue
        cls = type(value)
        if cls is float:
            if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
                value = int(value)
        elif not (cls is str or cls is int or cls is bool or value is None):
            value = normalized(_plain(value))
        record[key] = value
    try:
        return _DUMPS(record)
    except (ValueError, TypeError):
        return None


def _float_safe(value: float) -> bool:
    """Does ``repr`` write this float exactly as RFC 8785 does?

    rfc8785 formats a finite non-zero double from ``repr`` and changes it
    only to drop a trailing ``.0`` or to rewrite an exponent; a non-integral
    value whose ``repr`` has no exponent is therefore written unchanged.
    (Integral values are written as integers before they get here.)
    """
    if not math.isfinite(value) or value.is_integer():
        return False
    text = repr(value)
    return "e" not in text


def _c_safe(value: Any, depth: int) -> bool:
    """Would the C encoder write this nested value exactly as RFC 8785 does?"""
    if depth > MAX_DEPTH:
        return False
    cls = type(value)
    if cls is str or cls is bool or value is None:
        return True
    if cls is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if cls is float:
        return _float_safe(value)
    if cls is list:
        return all(_c_safe(v, depth + 1) for v in value)
    if cls is dict:
        return all(
            type(k) is str and (k.isascii() or max(k) <= "\uffff") and _c_safe(v, depth + 1)
            for k, v in value.items()
        )
    return False


_ENCODE_STR = json.encoder.encode_basestring
_TIMES_KEPT = 4096


def cell_text(value: Any) -> str | None:
    """A record value as its entry's RFC 8785 text, or None where the C/``repr``
    text is not certainly RFC 8785's (see :func:`_float_safe` and :func:`_c_safe`)."""
    cls = type(value)
    if cls is str:
        return _ENCODE_STR(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return int.__repr__(value)
    if cls is float:
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int.__repr__(int(value))
        if _float_safe(value):
            return float.__repr__(value)
        return None
    plain = normalized(_plain(value))
    if not _c_safe(plain, 2):
        return None
    try:
        return _DUMPS(plain)
    except (ValueError, TypeError):
        return None


def processed_cell_text(value: Any, process: Callable[[Any], Any]) -> str | None:
    """:func:`cell_text` of a raw cell after its column's result processor; a cell the
    processor cannot read stays raw, as :meth:`RowLayout.values` keeps it."""
    if value is not None:
        try:  # noqa: SIM105 - a context manager per cell costs more in the callers' loops
            value = process(value)
        except (TypeError, ValueError, OverflowError):
            pass
    return cell_text(value)


class RowLayout:
    """Builds, from one record row, the canonical bytes its ledger entry must have.

    Built once per table: the record's columns in key order, each with the
    text that precedes its value, so a row is written without a dict, a sort
    or a generic encoder. A value is written only when its C/``repr`` text
    is exactly RFC 8785's (see :func:`_float_safe` and :func:`_c_safe`); otherwise the row gets
    no bytes and the caller compares it the careful way.
    """

    def __init__(
        self,
        kind: str,
        time_column: str,
        names: list[str],
        processors: Mapping[str, Callable[[Any], Any]],
    ) -> None:
        if not _KIND_RE.fullmatch(kind) or len(kind) > 64:
            raise ValueError(f"not an entry kind: {kind!r}")
        self.names = names
        self.processors = [(names.index(n), p) for n, p in processors.items()]
        self.time_at = names.index(time_column)
        self.index_at = names.index("ledger_index")
        # RFC 8785 orders keys by UTF-16 code units, not code points (they differ
        # once a key holds a character above U+FFFF)
        keys = sorted(
            (n for n in names if n not in (time_column, "ledger_index")),
            key=lambda n: n.encode("utf-16-be", "surrogatepass"),
        )
        self.fields = [
            (
                ("," if i else "") + _ENCODE_STR(k) + ":",
                names.index(k),
                processors.get(k),
            )
            for i, k in enumerate(keys)
        ]
        self.head = '{"kind":' + _ENCODE_STR(kind) + ',"record":{'
        self.times: set[str] = set()

    def values(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """The row as column -> value; a cell its type cannot read keeps its raw value."""
        values = dict(zip(self.names, row, strict=True))
        for at, process in self.processors:
            raw = row[at]
            if raw is not None:
                with contextlib.suppress(TypeError, ValueError, OverflowError):
                    values[self.names[at]] = process(raw)
        return values

    def known_time(self, moment: Any) -> bool:
        """Is ``moment`` an entry time as :func:`format_time` writes it? (Remembered.)"""
        if moment in self.times:
            return True
        if type(moment) is not str or not valid_time(moment):
            return False
        if len(self.times) >= _TIMES_KEPT:
            self.times.clear()
        self.times.add(moment)
        return True

    def entry_bytes(self, row: tuple[Any, ...]) -> bytes | None:
        """RFC 8785 bytes of (kind, this row's record, its time), or None if not sure."""
        moment = row[self.time_at]
        if not self.known_time(moment):
            return None
        parts = [self.head]
        append = parts.append
        for prefix, at, process in self.fields:
            value = row[at]
            text = cell_text(value) if process is None else processed_cell_text(value, process)
            if text is None:
                return None
            append(prefix)
            append(text)
        append('},"time":"')
        append(moment)
        append('"}')
        try:
            return "".join(parts).encode()
        except UnicodeEncodeError:
            return None


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
