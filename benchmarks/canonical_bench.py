"""Canonical JSON (RFC 8785) of real ledger entries: the C route beside ``rfc8785`` and its floor.

``run(quick=False)`` returns a Markdown section. The entries are an evidence entry and a
decision entry written by the demo (``benchmarks/data/canonical_entries.json``, each the
``{kind, record, time}`` object a ledger append canonicalises). Writing: ``canonical_json``
against the strict route it replaces (validation, then the pure-Python ``rfc8785.dumps`` it
must equal byte for byte), ``rfc8785.dumps`` alone, and the floor,
the stdlib C encoder alone (``json.dumps(sort_keys=True, separators=(",", ":"))``), which
proves nothing about RFC 8785 and so is as fast as a canonicaliser in Python can hope to be.
Batches of 1,000 entries, per entry: ``entry_bytes`` one by one against ``entries_bytes``.
Checking stored bytes (what ``ledger verify --full`` does per entry): ``is_canonical``
against the strict route it replaces (strict parse, validation, ``rfc8785.dumps``, compare)
and against the floor ``json.loads`` + ``json.dumps`` + compare.
"""

from __future__ import annotations

import json
import os
import statistics
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rfc8785

from scaleguard.ledger.canonical import _json_problem as json_problem
from scaleguard.ledger.canonical import _plain as plain
from scaleguard.ledger.canonical import (
    canonical_json,
    decode_canonical,
    entries_bytes,
    entry_bytes,
    format_time,
    is_canonical,
    loads_strict,
    parse_time,
)

DATA = Path(__file__).parent / "data" / "canonical_entries.json"
BATCH = 1_000
_DUMPS = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _interleaved(
    routes: list[Callable[[], object]], rounds: int, budget: float
) -> list[tuple[float, float]]:
    """(best, median) microseconds per call of each route.

    The routes take turns, round after round, so a burst of load on the shared
    machine hits all of them alike; each round runs a route for about ``budget``
    seconds. The best round is the least disturbed estimate of the cost.
    """
    timers = [timeit.Timer(fn) for fn in routes]
    numbers = [max(1, int(t.autorange()[0] * budget / 0.2)) for t in timers]
    samples: list[list[float]] = [[] for _ in routes]
    for _ in range(rounds):
        for timer, number, out in zip(timers, numbers, samples, strict=True):
            out.append(timer.timeit(number) / number * 1e6)
    return [(min(out), statistics.median(out)) for out in samples]


def _strict_write(value: Any) -> bytes:
    """``canonical_json`` before the C route: validation, then rfc8785."""
    assert json_problem(value, "$", 0) is None
    return rfc8785.dumps(plain(value))


def _strict_check(data: bytes) -> bool:
    """The check before the C route: strict parse, validation, rfc8785, compare."""
    value = loads_strict(data)
    return json_problem(value, "$", 0) is None and rfc8785.dumps(value) == data


def _floor_check(data: bytes) -> bool:
    return _DUMPS(json.loads(data)).encode() == data


def _rows(kind: str, size: str, labels: list[str], times: list[tuple[float, float]]) -> list[str]:
    """Table rows; the first route is the floor, the last one is scaleguard's."""
    floor, ours = times[0][0], times[-1][0]
    return [
        f"| {kind} {size} | {label} | {best:,.1f} µs | {median:,.1f} µs | {best / floor:.1f}x "
        f"| {best / ours:.1f}x |"
        for label, (best, median) in zip(labels, times, strict=True)
    ]


def _batch_rows(entries: dict[str, Any], rounds: int, budget: float) -> list[str]:
    """Per entry, a batch of 1,000 entries as ``append_records`` makes them: ``entry_bytes``
    one by one against ``entries_bytes`` for all, beside the C encoder alone."""
    moment = parse_time(next(iter(entries.values()))["time"])
    demo = [(v["kind"], v["record"]) for v in entries.values()]
    batches = {
        "the demo's entries": [demo[i % len(demo)] for i in range(BATCH)],
        "small records": [("note", {"i": i, "v": 0.5}) for i in range(BATCH)],
    }
    time_text = format_time(moment)
    rows: list[str] = []
    for name, items in batches.items():
        plain_entries = [{"kind": k, "record": r, "time": time_text} for k, r in items]
        one_by_one = [entry_bytes(k, moment, r) for k, r in items]
        assert entries_bytes(items, moment) == one_by_one
        assert one_by_one == [rfc8785.dumps(e) for e in plain_entries]
        times = _interleaved(
            [
                lambda e=plain_entries: [_DUMPS(x).encode() for x in e],
                lambda i=items: [entry_bytes(k, moment, r) for k, r in i],
                lambda i=items: entries_bytes(i, moment),
            ],
            rounds,
            budget,
        )
        per_entry = [(best / BATCH, median / BATCH) for best, median in times]
        rows += _rows(
            "write per entry, batch of 1,000",
            name,
            ["floor: `json.dumps` (C) each", "`entry_bytes` each", "**`entries_bytes`**"],
            per_entry,
        )
    return rows


def run(quick: bool = False) -> str:
    rounds, budget = (3, 0.05) if quick else (15, 0.1)
    entries: dict[str, Any] = json.loads(DATA.read_text())
    rows: list[str] = []
    for name, value in entries.items():
        data = canonical_json(value)
        # the measurements only count if all routes agree on these bytes
        assert data == rfc8785.dumps(value) == _strict_write(value)
        assert is_canonical(data) and _strict_check(data) and _floor_check(data)
        assert decode_canonical(data) == loads_strict(data)
        size = f"{name} ({len(data):,} B)"
        write = _interleaved(
            [
                lambda v=value: _DUMPS(v).encode(),
                lambda v=value: rfc8785.dumps(v),
                lambda v=value: _strict_write(v),
                lambda v=value: canonical_json(v),
            ],
            rounds,
            budget,
        )
        rows += _rows(
            "write",
            size,
            [
                "floor: `json.dumps` (C)",
                "`rfc8785.dumps` alone",
                "strict route (validate + `rfc8785.dumps`)",
                "**`canonical_json`**",
            ],
            write,
        )
        check = _interleaved(
            [
                lambda d=data: _floor_check(d),
                lambda d=data: _strict_check(d),
                lambda d=data: is_canonical(d),
            ],
            rounds,
            budget,
        )
        rows += _rows(
            "check",
            size,
            [
                "floor: `json.loads` + `json.dumps` + compare",
                "strict route (strict parse + validate + `rfc8785.dumps`)",
                "**`is_canonical`**",
            ],
            check,
        )
    rows += _batch_rows(entries, rounds, budget)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            "## Canonical JSON (RFC 8785)",
            "",
            f"{'(quick sizes) ' if quick else ''}{rounds} rounds per route, the routes of a "
            "group taking turns; ratios use the best round. The machine was shared with other "
            f"jobs (load average {load:.1f} at the start on {os.cpu_count()} cores), so the "
            "medians are noisy; read the ratios rather than absolute times. Entries are the "
            "demo's largest evidence and decision entries; every route is asserted to produce "
            "or accept exactly the same bytes before it is timed.",
            "",
            "| entry | route | best | median | best × floor | best × scaleguard |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "`canonical_json` and `is_canonical` use the C encoder/decoder and inspect its "
            "output with regular expressions; they fall back to `rfc8785` only for values they "
            "cannot vouch for (keys above U+FFFF, integers of 16 or more digits, nesting "
            "beyond 64, bad input), so the gap to the floor is that inspection plus respelling "
            "floats the ECMAScript way. A batch of entries (`entries_bytes`, used by "
            "`append_records`) builds the C encoder once, spells kind and time once and runs "
            "that inspection once over the whole batch.",
        ]
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv))
