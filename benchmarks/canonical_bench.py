"""Canonical JSON (RFC 8785) of real ledger entries: the C route beside ``rfc8785`` and its floor.

``run(quick=False)`` returns a Markdown section. The entries are an evidence entry and a
decision entry written by the demo (``benchmarks/data/canonical_entries.json``, each the
``{kind, record, time}`` object a ledger append canonicalises). Writing: ``canonical_json``
against the strict route it replaces (validation, then the pure-Python ``rfc8785.dumps`` it
must equal byte for byte), ``rfc8785.dumps`` alone, and the floor,
the stdlib C encoder alone (``json.dumps(sort_keys=True, separators=(",", ":"))``), which
proves nothing about RFC 8785 and so is as fast as a canonicaliser in Python can hope to be.
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
from scaleguard.ledger.canonical import canonical_json, decode_canonical, is_canonical, loads_strict

DATA = Path(__file__).parent / "data" / "canonical_entries.json"
_DUMPS = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _median_us(fn: Callable[[], object], repeat: int, budget: float) -> float:
    """Median microseconds per call over ``repeat`` rounds of about ``budget`` seconds each."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * budget / 0.2))
    return statistics.median(timer.repeat(repeat, number)) / number * 1e6


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


def run(quick: bool = False) -> str:
    repeat, budget = (3, 0.05) if quick else (9, 0.2)
    entries: dict[str, Any] = json.loads(DATA.read_text())
    rows: list[str] = []
    for name, value in entries.items():
        data = canonical_json(value)
        # the measurements only count if all routes agree on these bytes
        assert data == rfc8785.dumps(value)
        assert is_canonical(data) and _strict_check(data)
        assert decode_canonical(data) == loads_strict(data)
        size = f"{name} ({len(data):,} B)"
        floor = _median_us(lambda v=value: _DUMPS(v).encode(), repeat, budget)
        bare = _median_us(lambda v=value: rfc8785.dumps(v), repeat, budget)
        peer = _median_us(lambda v=value: _strict_write(v), repeat, budget)
        ours = _median_us(lambda v=value: canonical_json(v), repeat, budget)
        rows += [
            f"| write {size} | floor: `json.dumps` (C) | {floor:,.1f} µs | 1.0x | |",
            f"| write {size} | `rfc8785.dumps` alone | {bare:,.1f} µs | {bare / floor:.1f}x "
            f"| {bare / ours:.1f}x |",
            f"| write {size} | strict route (validate + `rfc8785.dumps`) | {peer:,.1f} µs "
            f"| {peer / floor:.1f}x | {peer / ours:.1f}x |",
            f"| write {size} | `canonical_json` | {ours:,.1f} µs | {ours / floor:.1f}x | 1.0x |",
        ]
        floor = _median_us(lambda d=data: _floor_check(d), repeat, budget)
        peer = _median_us(lambda d=data: _strict_check(d), repeat, budget)
        ours_check = _median_us(lambda d=data: is_canonical(d), repeat, budget)
        rows += [
            f"| check {size} | floor: `json.loads` + `json.dumps` | {floor:,.1f} µs | 1.0x | |",
            f"| check {size} | strict route (strict parse + validate + `rfc8785.dumps`) "
            f"| {peer:,.1f} µs | {peer / floor:.1f}x | {peer / ours_check:.1f}x |",
            f"| check {size} | `is_canonical` | {ours_check:,.1f} µs "
            f"| {ours_check / floor:.1f}x | 1.0x |",
        ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join(
        [
            "## Canonical JSON (RFC 8785)",
            "",
            f"{'Quick sizes: ' if quick else ''}median of {repeat} rounds per row; the machine "
            f"was shared (load average {load:.1f} at the start), so read the ratios, which "
            "come from the same run, rather than the absolute times. Entries are the demo's "
            "largest evidence and decision entries; every route is asserted to produce or "
            "accept exactly the same bytes before it is timed.",
            "",
            "| entry | route | time per call | × floor | × the C route (same row group) |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            "`canonical_json` and `is_canonical` use the C encoder/decoder and inspect its "
            "output with regular expressions; they fall back to `rfc8785` only for values they "
            "cannot vouch for (keys above U+FFFF, integers of 16 or more digits, nesting "
            "beyond 64, bad input), so the gap to the floor is that inspection plus respelling "
            "floats the ECMAScript way.",
        ]
    )


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv))
