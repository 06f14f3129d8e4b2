"""Recompute the ledger from the database and say where it stops adding up.

``verify(store, verifier, full=True)`` trusts nothing stored but the signing
key: it re-parses every entry, re-hashes every leaf and subtree, checks every
checkpoint's signature and root, and compares every record row with the
record its ledger entry holds. The quick mode checks the chain of signed
checkpoints against the stored tree and only the newest entries and rows.

Every finding is a :class:`Discrepancy` naming the first ledger index it
affects and the table and row at fault; the report sorts them so the first
one is the earliest damage.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Table, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce
from sqlalchemy.sql.sqltypes import NullType

from scaleguard.errors import InputError, LedgerError, NotFoundError
from scaleguard.ledger.merkle import (
    HASH_SIZE,
    leaf_hash,
    node_hash,
)
from scaleguard.ledger.note import Checkpoint, NoteVerifier
from scaleguard.ledger.receipt import verify_receipt
from scaleguard.ledger.recheck import (
    RECORD_TABLES,
    fingerprint,
    normalized,
    read_entry,
    record_difference,
    row_record,
)
from scaleguard.ledger.report import (
    Discrepancy,
    VerifyReport,
    as_bytes,
    is_int,
    order,
    type_name,
)
from scaleguard.store.db import Store
from scaleguard.store.ledger.chain import KnownCheckpoint, check_checkpoints, check_known
from scaleguard.store.ledger.objects import check_objects
from scaleguard.store.ledger.tree import (
    StoredCheckpoint,
    entry,
    ledger_size,
    root_at,
)
from scaleguard.store.tables import LedgerEntryRow, LedgerNodeRow, metadata

T = TypeVar("T")

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

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_NODES = cast(Table, LedgerNodeRow.__table__)


class _Ledger:
    """What the entries pass learned, for the tree and record passes."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = start
        self.leaves = bytearray()
        self.kinds: list[str] = []
        self.digests = bytearray()
        self.referenced = bytearray()
        #: artifact SHA-256 -> the first evidence entry citing it
        self.artifacts: dict[str, int] = {}

    def position(self, index: int) -> int | None:
        return index - self.start if self.start <= index < self.end else None


def _stream(session: Session, query: Any) -> Iterator[Any]:
    return iter(session.execute(query.execution_options(yield_per=_STREAM)))


def _check_entries(session: Session, report: VerifyReport, start: int) -> _Ledger:
    ledger = _Ledger(start)
    query = (
        select(
            _ENTRIES.c.idx,
            _ENTRIES.c.kind,
            _ENTRIES.c.created_at,
            _ENTRIES.c.data,
            _ENTRIES.c.leaf_hash,
        )
        .where(_ENTRIES.c.idx >= start)
        .order_by(_ENTRIES.c.idx)
    )
    expected = start
    for raw_idx, kind, created_at, raw, stored_leaf in _stream(session, query):
        if not is_int(raw_idx):
            report.add(
                None,
                "ledger_entries",
                f"idx {str(raw_idx)[:40]!r}",
                f"the index is a {type(raw_idx).__name__}, not an integer (a row was inserted)",
            )
            continue
        idx = int(raw_idx)
        where = f"idx {idx}"
        if idx > expected:
            report.add(
                expected,
                "ledger_entries",
                f"idx {expected}",
                f"entries {expected}..{idx - 1} are missing (deleted or never written)",
            )
            for _ in range(idx - expected):  # placeholders keep positions equal to indices
                ledger.leaves += bytes(HASH_SIZE)
                ledger.kinds.append("")
                ledger.digests += bytes(HASH_SIZE)
        expected = idx + 1
        report.entries += 1
        data = as_bytes(raw)
        if data is None:
            report.add(
                idx,
                "ledger_entries",
                where,
                f"the entry bytes are stored as {type_name(raw)}, not as bytes",
            )
            ledger.leaves += bytes(HASH_SIZE)
            ledger.kinds.append("")
            ledger.digests += bytes(HASH_SIZE)
            continue
        leaf = leaf_hash(data)
        ledger.leaves += leaf
        if as_bytes(stored_leaf) != leaf:
            report.add(
                idx, "ledger_entries", where, "stored leaf hash is not the hash of its bytes"
            )
        try:
            entry_kind, moment, record = read_entry(data)
        except LedgerError as exc:
            report.add(
                idx, "ledger_entries", where, f"bytes are not a canonical entry: {exc.message}"
            )
            ledger.kinds.append("")
            ledger.digests += bytes(HASH_SIZE)
            continue
        if kind != entry_kind:
            report.add(
                idx, "ledger_entries", where, f"kind column {kind!r} but entry says {entry_kind!r}"
            )
        if created_at != moment:
            report.add(
                idx,
                "ledger_entries",
                where,
                f"time column {created_at!r} but entry says {moment!r}",
            )
        ledger.kinds.append(entry_kind)
        ledger.digests += fingerprint(moment, record)
        if entry_kind == "evidence":
            sha = record.get("artifact_sha256")
            if isinstance(sha, str):
                ledger.artifacts.setdefault(sha, idx)
    ledger.end = expected
    ledger.referenced = bytearray(ledger.end - start)
    return ledger


def _levels(leaves: bytes, size: int) -> list[bytes]:
    """Every complete-subtree hash, level by level, recomputed from the leaves."""
    levels = [bytes(leaves)]
    count = size
    while count > 1:
        prev = levels[-1]
        count //= 2
        out = bytearray(count * HASH_SIZE)
        for i in range(count):
            a = 2 * i * HASH_SIZE
            out[i * HASH_SIZE : (i + 1) * HASH_SIZE] = node_hash(
                prev[a : a + HASH_SIZE], prev[a + HASH_SIZE : a + 2 * HASH_SIZE]
            )
        levels.append(bytes(out))
    return levels


class _LevelSource:
    """NodeSource over recomputed levels."""

    def __init__(self, levels: list[bytes]) -> None:
        self.levels = levels

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE]


def _check_nodes(session: Session, report: VerifyReport, levels: list[bytes], size: int) -> None:
    """Every stored subtree hash against the recomputed one; only causes are reported.

    A changed leaf makes every ancestor differ too; a node whose children
    already differ is a consequence, so the finding names the deepest change.
    """
    query = select(_NODES.c.level, _NODES.c.idx, _NODES.c.hash).order_by(
        _NODES.c.level, _NODES.c.idx
    )
    bad: dict[int, set[int]] = {}
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

    current = 0
    for level, idx, h in _stream(session, query):
        if not (is_int(level) and is_int(idx)):
            report.add(
                None, "ledger_nodes", f"level {level!r} idx {idx!r}", "not integer coordinates"
            )
            continue
        level, idx = int(level), int(idx)
        report.nodes += 1
        where = f"level {level} idx {idx}"
        if level < 0 or idx < 0 or idx >= size >> level:
            report.add(
                min(max(idx, 0) << max(level, 0), size),
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


def _raw_rows(session: Session, table: Table, start: int) -> Iterator[dict[str, Any]]:
    """A record table's rows as column -> value, without trusting the stored types.

    Columns are read untyped and converted one cell at a time; a cell the
    column's type cannot read keeps its raw value, which then fails the
    comparison with the entry instead of stopping verification.
    """
    dialect = session.get_bind().dialect
    processors = {c.name: c.type.result_processor(dialect, None) for c in table.c}
    query = (
        select(*(type_coerce(c, NullType()).label(c.name) for c in table.c))
        .where(table.c.ledger_index >= start)
        .order_by(table.c.ledger_index)
    )
    for row in _stream(session, query):
        values: dict[str, Any] = {}
        for name, raw in row._mapping.items():
            process = processors.get(name)
            try:
                values[name] = raw if process is None or raw is None else process(raw)
            except (TypeError, ValueError, OverflowError):
                values[name] = raw
        yield values


def _check_records(
    session: Session, report: VerifyReport, ledger: _Ledger, missing: Collection[str] = ()
) -> None:
    tables = {name: (kind, column) for kind, (name, column) in RECORD_TABLES.items()}
    for name, (kind, time_column) in tables.items():
        table = metadata.tables.get(name)
        if table is None or name in missing:  # its entries are reported below as unbacked
            continue
        for values in _raw_rows(session, table, ledger.start):
            report.records += 1
            _check_row(session, report, ledger, name, kind, time_column, values)
    for pos, kind in enumerate(ledger.kinds):
        if not kind or ledger.referenced[pos]:
            continue
        index = ledger.start + pos
        if kind not in RECORD_TABLES:
            report.add(
                index, "ledger_entries", f"idx {index}", f"kind {kind!r} has no record table"
            )
            continue
        name = RECORD_TABLES[kind][0]
        report.add(index, name, "", f"no {name} row holds this {kind} entry (a row was deleted)")


def _check_row(
    session: Session,
    report: VerifyReport,
    ledger: _Ledger,
    table: str,
    kind: str,
    time_column: str,
    values: dict[str, Any],
) -> None:
    claimed = values.get("ledger_index")
    where = f"id {str(values.get('id'))[:40]}"
    pos = ledger.position(claimed) if isinstance(claimed, int) else None
    if pos is None:
        report.add(None, table, where, f"points at ledger index {claimed}, which does not exist")
        return
    index = ledger.start + pos
    if ledger.kinds[pos] != kind:
        found = ledger.kinds[pos] or "unreadable"
        report.add(index, table, where, f"points at a {found} entry, not a {kind} entry")
        return
    if ledger.referenced[pos]:
        report.add(index, table, where, "a second row claims this ledger entry")
        return
    ledger.referenced[pos] = 1
    record = row_record(values, time_column)
    moment = values.get(time_column)
    digest = fingerprint(str(moment), normalized(record))
    if digest == bytes(ledger.digests[pos * HASH_SIZE : (pos + 1) * HASH_SIZE]):
        return
    try:
        _, entry_time, entry_record = read_entry(entry(session, index)[0])
    except (LedgerError, NotFoundError, TypeError):  # the entry itself was already reported
        report.add(index, table, where, "the row cannot be compared with its unreadable entry")
        return
    if moment != entry_time:
        report.add(
            index, table, where, f"{time_column} {moment!r} but the entry says {entry_time!r}"
        )
        return
    difference = record_difference(record, entry_record)
    if difference is not None:
        report.add(index, table, where, difference)


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
) -> VerifyReport:
    """Check the ledger; ``full`` recomputes everything from the entry bytes up.

    Quick mode: every checkpoint's signature, root (from the stored tree) and
    consistency with the previous one, that the chain starts at the signed
    empty tree and covers every entry, no gaps in the indices, and the entries
    and record rows from shortly before the latest checkpoint to the end.
    ``known`` checkpoints (held outside the database) must still be in the log
    and be extended by its newest checkpoint. With ``full`` and ``objects``,
    every evidence file is hashed against the digest its evidence entry holds.

    A database with the wrong types, NULLs, missing rows or tables is reported
    as findings; verification never stops at them.
    """
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
        if full:
            ledger = run("ledger_entries", _Ledger(0), _check_entries, report, 0)
            levels = _levels(bytes(ledger.leaves), ledger.end)
            tree, chain_size = _LevelSource(levels), ledger.end
            run("ledger_nodes", None, _check_nodes, report, levels, ledger.end)
        none: list[Checkpoint] = []
        good = run(
            "ledger_checkpoints", none, check_checkpoints, report, verifier, chain_size, tree
        )
        run(
            "ledger_checkpoints", None, check_known, report, verifier, chain_size, tree, good, known
        )
        if not full:
            start = max(0, min(report.latest or 0, size) - QUICK_TAIL)
            ledger = run("ledger_entries", _Ledger(start), _check_entries, report, start)
            run("ledger_nodes", None, _check_tail_leaves, report, ledger)
        run("records", None, _check_records, report, ledger, missing)
        if full and objects is not None:
            report.artifacts = run(
                "artifacts", 0, check_objects, ledger.artifacts, objects, report.add
            )
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
        message = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        report.add(None, table, "", f"cannot be read as scaleguard wrote it: {message[:200]}")
    except (TypeError, ValueError, OverflowError, LedgerError, InputError) as exc:
        report.add(None, table, "", f"holds a value verification cannot read: {exc}"[:300])
    return fallback


def _check_tail_leaves(session: Session, report: VerifyReport, ledger: _Ledger) -> None:
    """Level-0 nodes of the re-checked entries must be their leaf hashes."""
    query = (
        select(_NODES.c.idx, _NODES.c.hash)
        .where(_NODES.c.level == 0, _NODES.c.idx >= ledger.start)
        .order_by(_NODES.c.idx)
    )
    seen = set()
    for idx, h in _stream(session, query):
        if not is_int(idx):
            report.add(None, "ledger_nodes", f"level 0 idx {idx!r}", "not an integer index")
            continue
        idx = int(idx)
        pos = ledger.position(idx)
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
        if as_bytes(h) != bytes(ledger.leaves[pos * HASH_SIZE : (pos + 1) * HASH_SIZE]):
            report.add(
                idx,
                "ledger_nodes",
                f"level 0 idx {idx}",
                "stored leaf hash differs from the entry's",
            )
    for idx in range(ledger.start, ledger.end):
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
