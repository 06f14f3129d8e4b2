"""Recompute the ledger from the database and say where it stops adding up.

``verify(store, verifier, full=True)`` trusts nothing stored but the signing
key: it re-parses every entry, re-hashes every leaf and subtree, checks every
checkpoint's signature and root, and compares every record row with the
record its ledger entry holds. The quick mode checks the chain of signed
checkpoints against the stored tree and only the newest entries and rows.

Full mode checks spans of entries (:mod:`scaleguard.store.ledger.scan`),
possibly in worker processes (:mod:`scaleguard.store.ledger.parallel`), and
puts their findings together here in index order; the subtree hashes above
the spans' height, the checkpoints and the rows pointing outside the ledger
are checked in the coordinating session, whose snapshot fixes the tree size.

Every finding is a :class:`Discrepancy` naming the first ledger index it
affects and the table and row at fault; the report sorts them so the first
one is the earliest damage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Table, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scaleguard.errors import InputError, LedgerError, NotFoundError
from scaleguard.ledger.merkle import HASH_SIZE, node_hash
from scaleguard.ledger.note import Checkpoint, NoteVerifier
from scaleguard.ledger.receipt import verify_receipt
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.ledger.report import Discrepancy, VerifyReport, as_bytes, is_int, order
from scaleguard.store.db import Store, first_line
from scaleguard.store.ledger.chain import KnownCheckpoint, check_checkpoints, check_known
from scaleguard.store.ledger.objects import check_objects
from scaleguard.store.ledger.parallel import SPAN_LEVEL, SpanJob, run_spans
from scaleguard.store.ledger.scan import (
    UNREADABLE as _UNREADABLE,
)
from scaleguard.store.ledger.scan import (
    Finding,
    Reader,
    ReadFailed,
    SpanResult,
    table_rows,
)
from scaleguard.store.ledger.tree import StoredCheckpoint, entry, ledger_size, root_at
from scaleguard.store.tables import LedgerEntryRow, LedgerNodeRow, metadata

T = TypeVar("T")
#: ``progress(phase, done, total)``: what a full check has done so far, for a progress bar.
Progress = Callable[[str, int, int], None]

__all__ = [
    "QUICK_TAIL",
    "Discrepancy",
    "KnownCheckpoint",
    "VerifyReport",
    "check_receipt",
    "describe",
    "order",
    "verify",
]

#: Quick verification re-checks this many entries before the latest checkpoint.
QUICK_TAIL = 1000
_STREAM = 5000
#: Levels a stored subtree can have (indices are 64-bit).
_MAX_LEVEL = 63

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_NODES = cast(Table, LedgerNodeRow.__table__)


def _stream(session: Session, query: Any) -> Iterator[Any]:
    return iter(session.execute(query.execution_options(yield_per=_STREAM)))


class _Passes:
    """What the span passes found, put together in index order."""

    def __init__(self) -> None:
        self.records: dict[str, list[Finding]] = {}
        self.unbacked: list[Finding] = []
        self.artifacts: dict[str, int] = {}
        self.leaves = b""
        self.end = 0


def _run_spans(
    session: Session,
    store: Store,
    report: VerifyReport,
    jobs: list[SpanJob],
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[SpanResult] | None:
    """Every span checked, in index order; None (and a finding) when a span could not be.

    A database that cannot be read is a finding, and so is a worker process that
    died; either way the checks that need every span are not run on a partial
    tree, which would report every stored hash and checkpoint above it as wrong.
    """
    try:
        results, report.workers = run_spans(store, session, jobs, workers, progress)
    except (TypeError, ValueError, OverflowError, LedgerError, InputError) as exc:
        report.add(
            None, "ledger_entries", "", f"holds a value verification cannot read: {exc}"[:300]
        )
        return None
    except BrokenProcessPool as exc:
        report.add(
            None,
            "ledger_entries",
            "",
            f"a verification worker process stopped ({exc}); nothing above the entries was "
            "checked: run again, with --workers 1 to check in one process",
        )
        return None
    return results


def _merge_entries(report: VerifyReport, results: list[SpanResult], passes: _Passes) -> None:
    """Entry findings in index order; a run of missing entries across spans is one finding."""
    pending: tuple[int, int] | None = None

    def flush() -> None:
        if pending is not None:
            first, last = pending
            report.add(
                first,
                "ledger_entries",
                f"idx {first}",
                f"entries {first}..{last} are missing (deleted or never written)",
            )

    for result in results:
        report.entries += result.entries
        report.records += result.records
        report.span_cpu_seconds += result.cpu_seconds
        report.bytes += result.bytes_read
        for finding in result.entry_findings:
            if finding[0] == "gap":
                _, first, last = finding
                if pending is not None and pending[1] + 1 == first:
                    pending = (pending[0], last)
                    continue
                flush()
                pending = (first, last)
                continue
            flush()
            pending = None
            report.add(*finding)
        for name, found in result.record_findings.items():
            passes.records.setdefault(name, []).extend(found)
        passes.unbacked.extend(result.unbacked)
        for sha, index in result.artifacts.items():
            passes.artifacts.setdefault(sha, index)
        passes.end = max(passes.end, result.hi)
    flush()


def _merge_nodes(
    report: VerifyReport, results: list[SpanResult], top: int, size: int
) -> tuple[list[bytes], set[int]]:
    """Recomputed levels, and the span levels' findings with missing runs joined across spans."""
    count = max(size.bit_length(), 1)
    levels = [
        b"".join(r.levels[lv] for r in results if lv < len(r.levels)) for lv in range(top + 1)
    ]
    for level in range(min(top + 1, count)):
        events: list[tuple[str, int, int]] = []
        for result in results:
            for event in result.node_events[level] if level < len(result.node_events) else ():
                last = events[-1] if events else None
                joins = last is not None and last[0] == event[0] == "miss" and last[2] == event[1]
                if last is not None and joins:  # one run of missing hashes across two spans
                    events[-1] = ("miss", last[1], event[2])
                    continue
                events.append(event)
        for kind, first, upto in events:
            if kind == "miss":
                report.add(
                    first << level,
                    "ledger_nodes",
                    f"level {level} idx {first}",
                    f"{upto - first} stored subtree hash(es) missing from this one on",
                )
            else:
                report.add(
                    first << level,
                    "ledger_nodes",
                    f"level {level} idx {first}",
                    f"stored hash differs from the one recomputed from entries "
                    f"{first << level}..{((first + 1) << level) - 1}",
                )
    for result in results:
        for finding in result.node_errors:
            report.add(*finding)
        report.nodes += result.nodes
    levels = levels[:count]
    while len(levels) < count:
        prev = levels[-1]
        n = len(prev) // HASH_SIZE // 2
        levels.append(
            b"".join(
                node_hash(
                    prev[2 * i * HASH_SIZE : (2 * i + 1) * HASH_SIZE],
                    prev[(2 * i + 1) * HASH_SIZE : (2 * i + 2) * HASH_SIZE],
                )
                for i in range(n)
            )
        )
    bad = {i for r in results for i in r.top_bad}
    return levels, bad


class _LevelSource:
    """NodeSource over recomputed levels."""

    def __init__(self, levels: list[bytes]) -> None:
        self.levels = levels

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]


def _check_upper_nodes(
    session: Session,
    report: VerifyReport,
    levels: list[bytes],
    size: int,
    top: int,
    bad_top: set[int],
) -> int:
    """Stored subtree hashes above the spans' height, as one stream; only causes are reported.

    A changed leaf makes every ancestor differ too; a node whose children
    already differ is a consequence, so the finding names the deepest change.
    Returns how many rows it read.
    """
    query = (
        select(_NODES.c.level, _NODES.c.idx, _NODES.c.hash)
        .where(_NODES.c.level > top, _NODES.c.level <= _MAX_LEVEL)
        .order_by(_NODES.c.level, _NODES.c.idx)
    )
    bad: dict[int, set[int]] = {top: bad_top}
    next_at: dict[int, int] = {}

    def missing(level: int, upto: int) -> None:
        first = next_at.get(level, 0)
        if first < upto:
            bad.setdefault(level, set()).update(range(first, upto))
            report.add(
                first << level,
                "ledger_nodes",
                f"level {level} idx {first}",
                f"{upto - first} stored subtree hash(es) missing from this one on",
            )
        next_at[level] = max(first, upto)

    def inherited(level: int, idx: int) -> bool:
        below = bad.get(level - 1, set())
        return level > 0 and (2 * idx in below or 2 * idx + 1 in below)

    current = top + 1
    read = 0
    for level, idx, h in _stream(session, query):
        read += 1
        if not (is_int(level) and is_int(idx)):
            report.add(
                None, "ledger_nodes", f"level {level!r} idx {idx!r}", "not integer coordinates"
            )
            continue
        level, idx = int(level), int(idx)
        report.nodes += 1
        where = f"level {level} idx {idx}"
        if idx < 0 or idx >= size >> level:
            report.add(
                min(max(idx, 0) << level, size),
                "ledger_nodes",
                where,
                f"no such complete subtree in a ledger of {size} entries (a row was inserted)",
            )
            continue
        while current < level:
            missing(current, size >> current)
            current += 1
        missing(level, idx)
        next_at[level] = idx + 1
        if as_bytes(h) != levels[level][idx * HASH_SIZE : (idx + 1) * HASH_SIZE]:
            bad.setdefault(level, set()).add(idx)
            if not inherited(level, idx):
                report.add(
                    idx << level,
                    "ledger_nodes",
                    where,
                    f"stored hash differs from the one recomputed from entries "
                    f"{idx << level}..{((idx + 1) << level) - 1}",
                )
    for level in range(current, len(levels)):
        missing(level, size >> level)
    return read


def _check_stray_nodes(
    session: Session, report: VerifyReport, size: int, top: int, seen: int
) -> None:
    """Rows no span and no upper level read: inserted out of range, or not integers.

    Counting is cheap; the scan for the strays runs only when the count says
    some exist. Appends after verification started add rows only above the
    tree size this snapshot has, which no span reads and this count excludes.
    """
    total = int(session.execute(select(func.count()).select_from(_NODES)).scalar_one())
    if total == seen:
        return
    query = select(_NODES.c.level, _NODES.c.idx).order_by(_NODES.c.level, _NODES.c.idx)
    for level, idx in _stream(session, query):
        numeric = isinstance(level, int | float) and not isinstance(level, bool)
        if numeric and top < level <= _MAX_LEVEL:
            continue  # read with the upper levels
        if not (is_int(level) and is_int(idx)):
            report.add(
                None, "ledger_nodes", f"level {level!r} idx {idx!r}", "not integer coordinates"
            )
            continue
        if 0 <= level <= top and 0 <= idx < size >> level:
            continue  # a span read it
        report.nodes += 1
        report.add(
            min(max(idx, 0) << max(level, 0), size),
            "ledger_nodes",
            f"level {level} idx {idx}",
            f"no such complete subtree in a ledger of {size} entries (a row was inserted)",
        )


def _check_stray_rows(
    session: Session, report: VerifyReport, passes: _Passes, size: int, missing: Collection[str]
) -> None:
    """Record findings table by table, then rows pointing outside the ledger, then unbacked.

    A table every span failed to read is reported once, not once per span.
    """
    reader = Reader(session)
    for name in (name for name, _ in RECORD_TABLES.values()):
        table = metadata.tables.get(name)
        if table is None or name in missing:
            continue
        said: set[Finding] = set()
        for finding in passes.records.get(name, ()):
            if finding[0] is None and finding[3].startswith(_UNREADABLE):
                if finding in said:
                    continue
                said.add(finding)
            report.add(*finding)
        where = "ledger_index IS NULL OR ledger_index < 0 OR ledger_index >= ?"
        try:
            with session.begin_nested():
                for values in table_rows(reader, table, where, (size,)):
                    report.records += 1
                    claimed = values.get("ledger_index")
                    report.add(
                        None,
                        name,
                        f"id {str(values.get('id'))[:40]}",
                        f"points at ledger index {claimed}, which does not exist",
                    )
        except ReadFailed as exc:
            finding = (None, name, "", f"{_UNREADABLE}{exc}")
            if finding not in said:
                report.add(*finding)
    for finding in passes.unbacked:
        report.add(*finding)


def _check_gaps(session: Session, report: VerifyReport, size: int, count_gaps: bool) -> None:
    """Cheap: no negative indices, and (quick mode) count and highest index agree."""
    negative = int(
        session.execute(
            select(func.count()).select_from(_ENTRIES).where(_ENTRIES.c.idx < 0)
        ).scalar_one()
    )
    if negative:
        report.add(0, "ledger_entries", "", f"{negative} entries have negative indices (inserted)")
    if not count_gaps:
        return
    count = int(
        session.execute(
            select(func.count()).select_from(_ENTRIES).where(_ENTRIES.c.idx >= 0)
        ).scalar_one()
    )
    if count != size:
        report.add(
            None,
            "ledger_entries",
            "",
            f"{size - count} entries are missing below index {size - 1} "
            "(run with --full to find them)",
        )


def verify(
    store: Store,
    verifier: NoteVerifier,
    *,
    full: bool = False,
    known: Sequence[KnownCheckpoint] = (),
    objects: Path | None = None,
    workers: int | None = None,
    span_level: int = SPAN_LEVEL,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check the ledger; ``full`` recomputes everything from the entry bytes up.

    Quick mode: every checkpoint's signature, root (from the stored tree) and
    consistency with the previous one, that the chain starts at the signed
    empty tree and covers every entry, no gaps in the indices, and the entries
    and record rows from shortly before the latest checkpoint to the end.
    ``known`` checkpoints (held outside the database) must still be in the log
    and be extended by its newest checkpoint. With ``full`` and ``objects``,
    every evidence file is hashed against the digest its evidence entry holds.

    Full mode checks spans of ``2**span_level`` entries, in ``workers``
    processes (default: one per CPU; 1 checks them in this process). The
    tree size is fixed by this session's snapshot and every span reads only
    below it, so entries appended meanwhile are neither read nor reported;
    the report is the same for any number of workers. ``progress(phase, done,
    total)`` follows the full check for a progress bar: phase ``"entries"``
    span by span, then ``"evidence files"`` file by file.

    A database with the wrong types, NULLs, missing rows or tables is reported
    as findings; verification never stops at them.
    """
    started = time.perf_counter()
    with store.read() as session:
        report = VerifyReport(full=full, size=0)
        missing = _missing_tables(session)
        for name in missing:
            report.add(None, name, "", "the table is missing (dropped)")
        if missing & {"ledger_entries", "ledger_nodes", "ledger_checkpoints"}:
            return report.finish()

        def run(table: str, fallback: T, check: Callable[..., T], *args: Any) -> T:
            return _guarded(session, report, table, lambda s: check(s, *args), fallback)

        size = report.size = run("ledger_entries", 0, ledger_size)
        run("ledger_entries", None, _check_gaps, report, size, not full)
        tree: _LevelSource | None = None
        chain_size = size
        passes = _Passes()
        skipped = tuple(sorted(missing))
        if full:
            step = 1 << span_level
            jobs = [
                SpanJob(lo, min(lo + step, size), span_level, skipped)
                for lo in range(0, size, step)
            ]
            checked = 0

            def advance(entries: int) -> None:
                nonlocal checked
                checked += entries
                if progress is not None:
                    progress("entries", checked, size)

            results = _run_spans(
                session,
                store,
                report,
                jobs,
                os.cpu_count() or 1 if workers is None else workers,
                advance,
            )
            if results is None:  # found and said; a partial tree would only add false alarms
                report.seconds = time.perf_counter() - started
                return report.finish()
            _merge_entries(report, results, passes)
            levels, bad_top = _merge_nodes(report, results, span_level, size)
            seen = sum(r.nodes for r in results)
            seen += run(
                "ledger_nodes", 0, _check_upper_nodes, report, levels, size, span_level, bad_top
            )
            run("ledger_nodes", None, _check_stray_nodes, report, size, span_level, seen)
            tree, chain_size = _LevelSource(levels), size
        none: list[Checkpoint] = []
        good = run(
            "ledger_checkpoints", none, check_checkpoints, report, verifier, chain_size, tree
        )
        run(
            "ledger_checkpoints", None, check_known, report, verifier, chain_size, tree, good, known
        )
        if not full:
            start = max(0, min(report.latest or 0, size) - QUICK_TAIL)
            results = _run_spans(session, store, report, [SpanJob(start, size, None, skipped)], 1)
            results = results or []
            _merge_entries(report, results, passes)
            passes.leaves = results[0].levels[0] if results else b""
            run("ledger_nodes", None, _check_tail_leaves, report, start, passes)
        run("records", None, _check_stray_rows, report, passes, size, missing)
        if full and objects is not None:
            files = None if progress is None else partial(progress, "evidence files")
            report.artifacts = run(
                "artifacts", 0, check_objects, passes.artifacts, objects, report.add, files
            )
        report.seconds = time.perf_counter() - started
        return report.finish()


def _missing_tables(session: Session) -> set[str]:
    present = set(inspect(session.connection()).get_table_names())
    wanted = {"ledger_entries", "ledger_nodes", "ledger_checkpoints", "artifacts"}
    wanted |= {name for name, _ in RECORD_TABLES.values() if name in metadata.tables}
    return wanted - present


def _guarded(
    session: Session, report: VerifyReport, table: str, check: Callable[[Session], T], fallback: T
) -> T:
    """Run one pass; a database that cannot even be read that way is a finding, not a crash."""
    try:
        with session.begin_nested():
            return check(session)
    except SQLAlchemyError as exc:
        report.add(
            None, table, "", f"cannot be read as scaleguard wrote it: {first_line(exc)[:200]}"
        )
    except (TypeError, ValueError, OverflowError, LedgerError, InputError) as exc:
        report.add(None, table, "", f"holds a value verification cannot read: {exc}"[:300])
    return fallback


def _check_tail_leaves(session: Session, report: VerifyReport, start: int, passes: _Passes) -> None:
    """Level-0 nodes of the re-checked entries must be their leaf hashes."""
    query = (
        select(_NODES.c.idx, _NODES.c.hash)
        .where(_NODES.c.level == 0, _NODES.c.idx >= start)
        .order_by(_NODES.c.idx)
    )
    end, leaves = passes.end, passes.leaves

    def position(index: int) -> int | None:
        return index - start if start <= index < end else None

    seen = set()
    for idx, h in _stream(session, query):
        if not is_int(idx):
            report.add(None, "ledger_nodes", f"level 0 idx {idx!r}", "not an integer index")
            continue
        idx = int(idx)
        pos = position(idx)
        report.nodes += 1
        if pos is None:
            report.add(
                idx,
                "ledger_nodes",
                f"level 0 idx {idx}",
                "leaf hash row for an entry that does not exist",
            )
            continue
        seen.add(idx)
        if as_bytes(h) != leaves[pos * HASH_SIZE : (pos + 1) * HASH_SIZE]:
            report.add(
                idx,
                "ledger_nodes",
                f"level 0 idx {idx}",
                "stored leaf hash differs from the entry's",
            )
    for idx in range(start, end):
        if idx not in seen:
            report.add(idx, "ledger_nodes", f"level 0 idx {idx}", "leaf hash row is missing")
            break


# -- receipts held by reviewers ---------------------------------------------------


def check_receipt(store: Store, data: bytes, verifier: NoteVerifier) -> list[Discrepancy]:
    """Does the log still contain what this receipt proved, at the same place?

    The receipt must verify on its own, its entry must be the stored entry at
    its index, and the stored tree must still have the root the receipt's
    checkpoint signed. A rewrite of history fails the last check even when
    the key holder re-signed everything since.
    """
    try:
        proven = verify_receipt(data, verifier)
    except LedgerError as exc:
        return [Discrepancy(None, "receipt", "", exc.message)]
    size, index = proven.checkpoint.size, proven.index
    found: list[Discrepancy] = []
    with store.read() as session:
        current = ledger_size(session)
        if size > current:
            return [
                Discrepancy(
                    current,
                    "receipt",
                    f"size {size}",
                    f"the receipt's checkpoint covers {size} entries; the ledger has {current}",
                )
            ]
        try:
            stored: bytes | None = entry(session, index)[0]
        except NotFoundError as exc:
            found.append(Discrepancy(index, "ledger_entries", f"idx {index}", exc.message))
            stored = None
        if stored is not None and stored != proven.entry:
            found.append(
                Discrepancy(
                    index, "ledger_entries", f"idx {index}", "differs from the entry in the receipt"
                )
            )
        try:
            current_root = root_at(session, size)
        except LedgerError as exc:
            found.append(Discrepancy(None, "ledger_nodes", "", exc.message))
            return found
        if current_root != proven.checkpoint.root:
            found.append(
                Discrepancy(
                    None,
                    "receipt",
                    f"size {size}",
                    "the ledger's root at this size differs from the one the receipt's "
                    "checkpoint signed: history was rewritten",
                )
            )
    return found


def describe(stored: StoredCheckpoint) -> dict[str, object]:
    """A stored checkpoint as JSON."""
    return {
        "size": stored.size,
        "root": stored.root.hex(),
        "created_at": stored.created_at,
        "note": stored.note.decode("utf-8", "replace"),
    }
