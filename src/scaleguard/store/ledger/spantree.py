"""A span's subtree hashes: recomputed level by level and compared with the stored ones."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from scaleguard.ledger.merkle import HASH_SIZE, parent_level
from scaleguard.ledger.report import as_bytes, is_int
from scaleguard.store.ledger.reader import UNREADABLE, Reader, ReadFailed

if TYPE_CHECKING:
    from scaleguard.store.ledger.scan import SpanResult

_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)
_SQL = "SELECT idx, hash FROM ledger_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx"


def check_nodes(
    session: Session, reader: Reader, result: SpanResult, leaves: list[bytes], top: int
) -> None:
    """Recompute the span's subtrees up to ``top`` and compare the stored ones.

    Each level's rows are read once. The quick comparison (exactly the
    expected indices, all integers, every hash 32 bytes, the hashes equal as
    one byte string) decides the common case; the length check matters, as
    without it bytes moved from one stored hash to its neighbour would still
    join to the expected string. Otherwise each row is looked at as the old
    streaming check did, reporting only causes: a node whose child already
    differs is a consequence.
    """
    lo, hi = result.lo, result.hi
    level_hashes = leaves
    bad_below: set[int] = set()
    for level in range(top + 1):
        if level:
            level_hashes = parent_level(level_hashes)
        first, upto = lo >> level, hi >> level
        expected = b"".join(level_hashes[: upto - first])
        result.levels.append(b"".join(level_hashes))
        events: list[tuple[str, int, int]] = []
        result.node_events.append(events)
        bad: set[int] = set()
        if upto == first:
            bad_below = bad
            continue
        try:
            with session.begin_nested():
                rows = reader.all(_SQL, (level, first, upto))
        except ReadFailed as exc:
            result.node_errors.append((None, "ledger_nodes", "", f"{UNREADABLE}{exc}"))
            rows = []
        if all_equal(rows, first, upto, expected):
            result.nodes += len(rows)
        else:
            next_at = first
            for idx, h in rows:
                if not is_int(idx):  # reported with the rows outside every span
                    continue
                result.nodes += 1
                if idx > next_at:
                    events.append(("miss", next_at, idx))
                    bad.update(range(next_at, idx))
                next_at = idx + 1
                at = (idx - first) * HASH_SIZE
                if as_bytes(h) != expected[at : at + HASH_SIZE]:
                    bad.add(idx)
                    if not (level and (2 * idx in bad_below or 2 * idx + 1 in bad_below)):
                        events.append(("bad", idx, 0))
            if next_at < upto:
                events.append(("miss", next_at, upto))
                bad.update(range(next_at, upto))
        bad_below = bad
    result.top_bad = sorted(bad_below)


def all_equal(rows: list[tuple[Any, ...]], first: int, upto: int, expected: bytes) -> bool:
    """Are the rows exactly indices ``first..upto-1``, each holding its 32 expected bytes?"""
    if len(rows) != upto - first:
        return False
    indices = list(map(_FIRST, rows))
    hashes = list(map(_SECOND, rows))
    try:
        return (
            set(map(type, indices)) == {int}
            and indices == list(range(first, upto))
            and set(map(len, hashes)) == {HASH_SIZE}
            and b"".join(hashes) == expected
        )
    except TypeError:
        return False
