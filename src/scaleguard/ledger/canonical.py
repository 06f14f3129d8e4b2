"""Canonical bytes for ledger entries (RFC 8785, JSON Canonicalization Scheme).

A Merkle leaf commits to exact bytes, so every record is serialized once, in
one canonical form, and those bytes are stored and hashed verbatim; they are
never re-serialized.

Entry bytes are the RFC 8785 serialization of exactly this object::

    {"kind": <kind>, "record": <record object>, "time": <RFC 3339 UTC time>}

* ``kind``: lowercase ASCII, e.g. ``evidence``, ``decision``,
  ``report-publication`` (letters, digits, single ``-`` or ``.`` between).
* ``time``: when the entry was appended, UTC with a ``Z`` suffix, either
  ``YYYY-MM-DDTHH:MM:SSZ`` or, when there are sub-second digits,
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six digits).
* ``record``: a JSON object. RFC 8785 sorts keys by UTF-16 code units, uses
  ECMAScript number formatting and allows integers only within +/-(2^53 - 1).

The index is deliberately absent: the position is what an inclusion proof
proves. RFC 8785 output is UTF-8 without insignificant whitespace.

Speed: every append and every full verification canonicalises, so both
directions run through the C encoder/decoder of :mod:`json` whenever the
result is provably what RFC 8785 (the ``rfc8785`` package) produces, and fall
back to ``rfc8785`` otherwise; see :mod:`scaleguard.ledger.fastjcs`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

import rfc8785

from scaleguard.errors import InputError, LedgerError, Problem
from scaleguard.ledger.fastjcs import MAX_DEPTH as MAX_DEPTH
from scaleguard.ledger.fastjcs import MAX_SAFE_INTEGER as MAX_SAFE_INTEGER
from scaleguard.ledger.fastjcs import (
    chunk_encoder,
    fast_canonical,
    fast_canonical_text,
    fast_decode,
    prove_many,
)

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

_KIND_RE = re.compile(r"[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*", re.ASCII)
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{6})?Z", re.ASCII)
_ENTRY_KEYS = frozenset({"kind", "time", "record"})


def _json_problem(value: object, path: str, depth: int) -> Problem | None:
    """First value RFC 8785 cannot encode, located by JSON path."""
    if depth > MAX_DEPTH:
        return Problem(f"nested deeper than {MAX_DEPTH} levels", path=path)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            return Problem(
                f"integer {value} is outside +/-(2^53 - 1)",
                hint="store large numbers as strings",
                path=path,
            )
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return Problem(f"{value} is not a finite number", path=path)
        return None
    if isinstance(value, str):
        return _string_problem(value, path)
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _json_problem(item, f"{path}[{i}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return Problem(f"object key {key!r} is not a string", path=path)
            key_problem = _string_problem(key, path)
            if key_problem:
                return key_problem
            found = _json_problem(item, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    return Problem(f"{type(value).__name__} is not a JSON value", path=path)


def _string_problem(text: str, path: str) -> Problem | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Problem("string contains an unpaired surrogate", path=path)
    return None


def canonical_json(value: object) -> bytes:
    """RFC 8785 bytes of ``value``; raises InputError naming the bad JSON path.

    The C route answers whenever it can prove its bytes equal ``rfc8785``'s;
    anything else (bad input included) takes the pure-Python route, so errors
    and their messages are exactly those of the strict check below.
    """
    fast = fast_canonical(value)
    if fast is not None:
        return fast
    problem = _json_problem(value, "$", 0)
    if problem:
        raise InputError(
            "record cannot be written as canonical JSON",
            hint="records may hold only JSON values: objects, arrays, strings, "
            "finite numbers, booleans and null",
            problems=[problem],
        )
    return rfc8785.dumps(_plain(value))


def _plain(value: Any) -> Any:
    """Mappings and tuples as dicts and lists, which rfc8785 requires."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_digest(record: Mapping[str, object]) -> str:
    """Hex SHA-256 of a record's canonical bytes."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC, ``Z`` suffix, microseconds only when non-zero."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(
            "entry time has no time zone",
            hint="pass an aware datetime, e.g. datetime.now(UTC)",
        )
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`; only its exact output is accepted."""
    if not _TIME_RE.fullmatch(text):
        raise LedgerError(
            f"time {text[:40]!r} is not RFC 3339 UTC as YYYY-MM-DDTHH:MM:SS[.ffffff]Z"
        )
    try:
        moment = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise LedgerError(f"time {text!r} is not a real calendar date and time") from None
    if len(text) > 20:
        moment = moment.replace(microsecond=int(text[20:26]))
    if format_time(moment) != text:
        raise LedgerError(f"time {text!r} is not in canonical form (drop a zero fraction)")
    return moment


def check_kind(kind: str) -> None:
    if not isinstance(kind, str) or len(kind) > 64 or not _KIND_RE.fullmatch(kind):
        raise InputError(
            f"invalid entry kind {kind!r}",
            hint="use lowercase letters and digits, with '-' or '.' between words",
        )


def entry_bytes(kind: str, time: datetime, record: Mapping[str, object]) -> bytes:
    """Canonical bytes of one ledger entry; these are what the leaf hashes."""
    check_kind(kind)
    if not isinstance(record, Mapping):
        raise InputError(f"record must be a JSON object, got {type(record).__name__}")
    return canonical_json({"kind": kind, "time": format_time(time), "record": record})


def entries_bytes(items: Sequence[tuple[str, Mapping[str, object]]], time: datetime) -> list[bytes]:
    """``[entry_bytes(kind, time, record) for kind, record in items]``, in one go.

    Byte for byte and error for error the same, for less: the C encoder is
    built once and writes each record alone; ``{"kind":"K","record":`` and
    ``,"time":"T"}`` are spelled once (a valid kind and a formatted time are
    plain ASCII that JSON writes as they are, and the keys sort as written),
    so each text is what the single route encodes; and the proof of
    :func:`~scaleguard.ledger.fastjcs.fast_canonical` runs once over the
    batch (:func:`~scaleguard.ledger.fastjcs.prove_many`). Any item it
    cannot vouch for, and any item of a batch that fails the joint proof,
    takes the single route itself, in order, so the first bad item raises
    exactly what :func:`entry_bytes` raises for it.
    """
    try:
        suffix = f',"time":"{format_time(time)}"}}'
    except Exception:  # the single route raises it where it does (not at all when empty)
        return [entry_bytes(kind, time, record) for kind, record in items]
    run = chunk_encoder()
    prefixes: dict[str, str] = {}
    texts: list[str | None] = []
    for kind, record in items:
        text = None
        if type(kind) is str and type(record) is dict:
            prefix = prefixes.get(kind)
            if prefix is None and len(kind) <= 64 and _KIND_RE.fullmatch(kind):
                prefix = prefixes[kind] = f'{{"kind":"{kind}","record":'
            if prefix is not None:
                try:
                    text = "".join([prefix, *run(record, 0), suffix])
                except Exception:  # the single route meets it again and answers as it does
                    run = chunk_encoder()  # its cycle markers may be left dirty
        texts.append(text)
    encoded = [t for t in texts if t is not None]
    proven = prove_many(encoded)
    # None: some text fails the proof on its own; find which
    each = [fast_canonical_text(t) for t in encoded] if proven is None else proven
    found: Iterator[bytes | None] = iter(each)
    result: list[bytes] = []
    for (kind, record), text in zip(items, texts, strict=True):
        data = None if text is None else next(found)
        result.append(entry_bytes(kind, time, record) if data is None else data)
    return result


@dataclass(frozen=True)
class LedgerEntry:
    """A decoded entry; ``raw`` is the exact bytes the leaf hash covers."""

    kind: str
    time: datetime
    record: dict[str, JSONValue]
    raw: bytes


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(text: str) -> int | float:
    """RFC 8785 writes a whole double below 1e21 as plain digits (1e20 is
    ``100000000000000000000``). Digits beyond 2^53 can only have come from a
    double, so read them as one; the byte-exact round trip in :func:`parse_entry`
    still rejects any that no double produces."""
    value = int(text)
    return value if abs(value) <= MAX_SAFE_INTEGER else float(text)


def loads_strict(data: bytes, what: str = "entry") -> Any:
    """Parse UTF-8 JSON, rejecting duplicate keys, NaN/Infinity and deep nesting."""
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except UnicodeDecodeError as exc:
        raise LedgerError(f"{what} is not valid UTF-8 at byte {exc.start}") from None
    except (ValueError, RecursionError) as exc:
        raise LedgerError(f"{what} is not valid JSON: {str(exc)[:200]}") from None


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is exactly what :func:`canonical_json` writes for some value.

    For verification: most stored bytes are proven canonical by parsing and
    re-encoding in C (:func:`scaleguard.ledger.fastjcs.fast_decode`); only
    what that cannot vouch for (rejects included) is re-checked with the
    strict parser and ``rfc8785``, so the answer is always the strict one.
    """
    if fast_decode(data)[0]:
        return True
    try:
        decode_canonical(data)
    except LedgerError:
        return False
    return True


def decode_canonical(data: bytes, what: str = "entry") -> Any:
    """The JSON value of canonical bytes; LedgerError unless ``data`` is canonical."""
    proven, value = fast_decode(data)
    if proven:
        return value
    value = loads_strict(data, what)
    problem = _json_problem(value, "$", 0)
    if problem is not None:
        raise LedgerError(f"{what} is not canonical JSON: {problem.message} at {problem.path}")
    if rfc8785.dumps(value) != data:
        raise LedgerError(
            f"{what} bytes are not in RFC 8785 canonical form",
            hint="entries are hashed exactly as stored; never re-serialize them",
        )
    return value


def parse_entry(data: bytes) -> LedgerEntry:
    """Decode entry bytes, insisting they are exactly canonical.

    Raises :class:`LedgerError`; anything not produced by :func:`entry_bytes`
    is rejected, so two different byte strings never mean the same entry.
    Bytes the C route proves canonical skip the strict parse (same value, see
    :func:`scaleguard.ledger.fastjcs.fast_decode`); all others take it, so
    every error message is the strict route's.
    """
    proven, value = fast_decode(data)
    if not proven:
        value = loads_strict(data)
    if not isinstance(value, dict) or set(value) != _ENTRY_KEYS:
        raise LedgerError('entry must be a JSON object with exactly "kind", "time" and "record"')
    kind, time_text, record = value["kind"], value["time"], value["record"]
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind) or len(kind) > 64:
        raise LedgerError(f"entry kind {str(kind)[:40]!r} is not a valid kind")
    if not isinstance(time_text, str):
        raise LedgerError("entry time is not a string")
    moment = parse_time(time_text)
    if not isinstance(record, dict):
        raise LedgerError("entry record is not a JSON object")
    if not proven:
        problem = _json_problem(value, "$", 0)
        if problem is not None:
            raise LedgerError(f"entry is not canonical JSON: {problem.message} at {problem.path}")
        if rfc8785.dumps(value) != data:
            raise LedgerError(
                "entry bytes are not in RFC 8785 canonical form",
                hint="entries are hashed exactly as stored; never re-serialize them",
            )
    return LedgerEntry(kind=kind, time=moment, record=record, raw=bytes(data))
