"""An Inspect ``.json`` log split into its header and per-sample scores, transcripts unbuilt.

Inspect's reader validates every sample of a ``.json`` log as an ``EvalSample``;
for a log of long transcripts nearly all of its time and memory go there, yet
scaleguard needs only the header and each sample's ``id``, ``epoch`` and
``scores``. :func:`split_json_log` gets them in one streaming pass with ijson's C
parser: the top-level members other than ``samples`` are kept as plain JSON
values (the caller hands them to Inspect's own reader), and of each sample only
``id``, ``epoch`` and ``scores`` are built. ``reductions`` (each sample's score
after epoch reduction, which scaleguard does not use and whose validation would
cost as much as the rest of the header many times over) is dropped too.
Everything is still parsed, so the whole file must be well-formed JSON, but
what is not kept is dropped as it streams past.

Inspect's reader parses with pydantic_core's ``from_json``. ijson's parser
differs from it in a few corners, and each is sent to one whole-document
``from_json`` parse instead (Inspect's own parser, so the same values or the
same refusal): NaN and Infinity (Inspect writes them for undefined metrics) and
numbers beyond 64-bit range, which ijson refuses; ``\\u`` escapes of UTF-16
surrogates, which ijson turns into "?" where ``from_json`` refuses a lone one;
vertical tab and form feed between tokens, which ijson accepts as whitespace;
and nesting deeper than :data:`NEST_LIMIT`, kept below ``from_json``'s recursion
limit (ijson has none). A document whose shape is not what Inspect writes
raises :class:`NotFast`: the caller then lets Inspect's reader judge the whole
log, so a bad file gets Inspect's own error.

Not validating transcripts (and reductions) loosens nothing: no record is
derived from them, the artifact's SHA-256 still covers every byte, the file
must still be well-formed JSON throughout, and everything a record is made of
(header, ids, epochs, scores) is validated by Inspect's models as in a full
read. ``tests/test_evidence_inspect_json.py`` compares both reads on fixtures,
damaged bytes and hostile values.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

#: Containers nested deeper than this are read by the whole-document parse, whose
#: recursion limit (about 200) would refuse what ijson accepts.
NEST_LIMIT = 128
#: Sample members that are built; every other member is parsed and dropped.
KEPT = frozenset({"id", "epoch", "scores"})
#: Top-level members, besides ``samples``, that are parsed and dropped.
DROPPED = frozenset({"reductions"})
#: Members an ``EvalSample`` cannot lack (Inspect's reader refuses a sample without them).
REQUIRED = frozenset({"id", "epoch", "input", "target"})
#: Members that make Inspect's reader rewrite a sample's scores: the pre-0.3 single
#: ``score``, stored under Inspect's placeholder scorer name, which the reader then
#: renames after the first results entry. Such logs are left to Inspect's reader.
LEGACY_SCORE = "score"
SCORER_PLACEHOLDER = "88F74D2C"

_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

Event = tuple[str, Any]


class NotFast(Exception):
    """This log cannot be split faithfully here; Inspect's reader must read it whole."""


class _Unsupported(Exception):
    """ijson cannot parse this document as from_json would; parse it whole instead."""


@dataclass(frozen=True)
class JsonLogParts:
    """What scaleguard reads from a ``.json`` log, as plain JSON values."""

    header: dict[str, Any]
    """Top-level members except ``samples`` and :data:`DROPPED`, in file order (a
    repeated key: first place, last value, as ``from_json`` and ``json.loads`` do)."""
    samples: list[dict[str, Any]] | None
    """Per sample, the members of :data:`KEPT` it has; None if the log has no samples."""
    route: Literal["stream", "whole"]
    """How the document was parsed (for tests and benchmarks)."""


def split_json_log(raw: bytes) -> JsonLogParts:
    """Split ``raw`` into header and per-sample scores; :class:`NotFast` if that is unsafe."""
    if b"\x0b" in raw or b"\x0c" in raw or _SURROGATE_ESCAPE.search(raw):
        return _whole(raw)
    try:
        return _stream(raw)
    except NotFast:
        raise
    except Exception:  # ijson's refusals: NaN, overflow, damage; from_json decides
        return _whole(raw)


# -- streaming (ijson) -------------------------------------------------------------


def _stream(raw: bytes) -> JsonLogParts:
    import ijson  # type: ignore[import-untyped]

    events: Iterator[Event] = iter(ijson.basic_parse(io.BytesIO(raw), use_float=True))
    if next(events)[0] != "start_map":
        raise NotFast
    header: dict[str, Any] = {}
    samples: list[dict[str, Any]] | None = None
    for event, key in events:
        if event == "end_map":
            break
        first = next(events)
        if key == "samples":
            samples = _stream_samples(events, first)  # a repeated key: the last one counts
        elif key in DROPPED:
            _skip(events, first, 1)
        else:
            header[key] = _build(events, first, 1)
    for _extra in events:  # ijson refuses trailing data itself; this is a second guard
        raise _Unsupported
    return JsonLogParts(header, samples, "stream")


def _stream_samples(events: Iterator[Event], first: Event) -> list[dict[str, Any]] | None:
    if first[0] == "null":
        return None
    if first[0] != "start_array":
        raise NotFast
    rows: list[dict[str, Any]] = []
    for event, _ in events:
        if event == "end_array":
            return rows
        if event != "start_map":
            raise NotFast
        row: dict[str, Any] = {}
        members: set[str] = set()
        for event, key in events:
            if event == "end_map":
                break
            members.add(key)
            value = next(events)
            if key in KEPT:
                row[key] = _build(events, value, 3)
            else:
                _skip(events, value, 3)
        rows.append(_checked(row, members))
    raise _Unsupported  # unreachable: ijson reports the missing end first


def _build(events: Iterator[Event], first: Event, depth: int) -> Any:
    """The JSON value starting with ``first``, as Python values (``depth``: its parent's)."""
    event, value = first
    if event not in _OPEN:
        return value
    root: Any = {} if event == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str] = [""]
    for event, value in events:
        if event == "map_key":
            keys[-1] = value
            continue
        if event in _CLOSE:
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        item: Any = {} if event == "start_map" else [] if event == "start_array" else value
        parent = stack[-1]
        if isinstance(parent, list):
            parent.append(item)
        else:
            parent[keys[-1]] = item
        if event in _OPEN:
            stack.append(item)
            keys.append("")
            if depth + len(stack) > NEST_LIMIT:
                raise _Unsupported
    raise _Unsupported  # unreachable: ijson reports the missing end first


def _skip(events: Iterator[Event], first: Event, depth: int) -> None:
    """Consume the JSON value starting with ``first`` without building it."""
    if first[0] not in _OPEN:
        return
    level = 1
    for event, _ in events:
        if event in _OPEN:
            level += 1
            if depth + level > NEST_LIMIT:
                raise _Unsupported
        elif event in _CLOSE:
            level -= 1
            if not level:
                return
    raise _Unsupported  # unreachable: ijson reports the missing end first


# -- whole document (pydantic_core.from_json, as Inspect) --------------------------


def _whole(raw: bytes) -> JsonLogParts:
    from pydantic_core import from_json

    try:
        document = from_json(raw)
    except Exception:  # damaged JSON: Inspect's reader words the error
        raise NotFast from None
    if not isinstance(document, dict):
        raise NotFast
    samples = document.pop("samples", None)
    for key in DROPPED:
        document.pop(key, None)
    if samples is None:
        return JsonLogParts(document, None, "whole")
    if not isinstance(samples, list):
        raise NotFast
    rows = []
    for sample in samples:
        if not isinstance(sample, dict):
            raise NotFast
        rows.append(_checked({k: v for k, v in sample.items() if k in KEPT}, set(sample)))
    return JsonLogParts(document, rows, "whole")


def _checked(row: dict[str, Any], members: set[str]) -> dict[str, Any]:
    """``row`` if its sample has the shape Inspect's reader would read as is."""
    if not members >= REQUIRED or LEGACY_SCORE in members:
        raise NotFast
    scores = row.get("scores")
    if isinstance(scores, dict) and SCORER_PLACEHOLDER in scores:
        raise NotFast
    return row
