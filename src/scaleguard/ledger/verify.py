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

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, NotFoundError
from scaleguard.ledger.merkle import (
    HASH_SIZE,
    consistency_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
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
from scaleguard.ledger.storage import (
    StoredCheckpoint,
    checkpoints,
    entry,
    ledger_size,
    open_stored,
    prove_consistency,
    root_at,
)
from scaleguard.store.db import Store
from scaleguard.store.tables import LedgerEntryRow, LedgerNodeRow, metadata

#: Quick verification re-checks this many entries before the latest checkpoint.
QUICK_TAIL = 1000
#: A wholesale rewrite produces a finding per row; keep the report readable.
MAX_FINDINGS = 1000
_STREAM = 5000

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_NODES = cast(Table, LedgerNodeRow.__table__)


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not add up, located as precisely as the data allows.

    ``index`` is the first ledger index affected; it is None when no single
    entry can be named (e.g. a checkpoint row that was altered).
    """

    index: int | None
    table: str
    row: str
    message: str

    def render(self) -> str:
        where = f"{self.table} {self.row}".strip()
        at = "" if self.index is None else f"entry {self.index}: "
        return f"{at}{where}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "table": self.table, "row": self.row, "message": self.message}


_RANK = {"ledger_entries": 0, "ledger_nodes": 1, "ledger_checkpoints": 3, "receipt": 4}


def order(finding: Discrepancy) -> tuple[int, int]:
    """Earliest index first; at one index, the most specific finding (a row) first."""
    return (1 << 64 if finding.index is None else finding.index, _RANK.get(finding.table, 2))


@dataclass
class VerifyReport:
    """What :func:`verify` checked and every discrepancy it found, earliest first."""

    full: bool
    size: int
    entries: int = 0
    nodes: int = 0
    records: int = 0
    checkpoints: int = 0
    latest: int | None = None
    discrepancies: list[Discrepancy] = field(default_factory=list)
    total_found: int = 0

    @property
    def ok(self) -> bool:
        return self.total_found == 0

    @property
    def first(self) -> Discrepancy | None:
        return self.discrepancies[0] if self.discrepancies else None

    def add(self, index: int | None, table: str, row: str, message: str) -> None:
        self.total_found += 1
        if len(self.discrepancies) < MAX_FINDINGS:
            self.discrepancies.append(Discrepancy(index, table, row, message))

    def finish(self) -> VerifyReport:
        self.discrepancies.sort(key=order)
        return self

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "full": self.full,
            "size": self.size,
            "checked": {
                "entries": self.entries,
                "nodes": self.nodes,
                "records": self.records,
                "checkpoints": self.checkpoints,
            },
            "latest_checkpoint": self.latest,
            "first_bad_index": None if self.first is None else self.first.index,
            "discrepancies": [d.as_json() for d in self.discrepancies],
            "total_discrepancies": self.total_found,
        }


# -- the checks ----------------------------------------------------------------------


class _Ledger:
    """What the entries pass learned, for the tree and record passes."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = start
        self.leaves = bytearray()
        self.kinds: list[str] = []
        self.digests = bytearray()
        self.referenced = bytearray()

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
    for idx, kind, created_at, raw, stored_leaf in _stream(session, query):
        idx = int(idx)
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
        data = bytes(raw)
        leaf = leaf_hash(data)
        ledger.leaves += leaf
        report.entries += 1
        if bytes(stored_leaf) != leaf:
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
        if bytes(h) != levels[level][idx * HASH_SIZE : (idx + 1) * HASH_SIZE]:
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


def _check_checkpoints(
    session: Session,
    report: VerifyReport,
    verifier: NoteVerifier,
    size: int,
    tree: _LevelSource | None,
) -> None:
    """Signatures, rows, roots against the tree, and consistency along the chain."""
    good: list[Checkpoint] = []
    for stored in checkpoints(session):
        report.checkpoints += 1
        report.latest = stored.size
        where = f"size {stored.size}"
        try:
            signed = open_stored(stored, verifier)
        except LedgerError as exc:
            report.add(None, "ledger_checkpoints", where, exc.message)
            continue
        if signed.size > size:
            report.add(
                size,
                "ledger_checkpoints",
                where,
                f"signed for {signed.size} entries but the ledger has {size}: "
                f"entries {size}..{signed.size - 1} are gone",
            )
            continue
        recomputed = root(signed.size, tree) if tree is not None else root_at(session, signed.size)
        if recomputed != signed.root:
            lower = good[-1].size if good else 0
            report.add(
                lower,
                "ledger_checkpoints",
                where,
                f"the ledger no longer has the root this checkpoint signed: an entry in "
                f"{lower}..{signed.size - 1} was changed, removed or reordered",
            )
            continue
        if good:
            old = good[-1]
            try:
                proof = (
                    consistency_proof(old.size, signed.size, tree)
                    if tree is not None
                    else prove_consistency(session, old.size, signed.size)
                )
                verify_consistency(old.size, signed.size, old.root, signed.root, proof)
            except LedgerError as exc:
                report.add(
                    old.size,
                    "ledger_checkpoints",
                    where,
                    f"not consistent with size {old.size}: {exc.message}",
                )
                continue
        good.append(signed)


def _check_records(session: Session, report: VerifyReport, ledger: _Ledger) -> None:
    tables = {name: (kind, column) for kind, (name, column) in RECORD_TABLES.items()}
    for name, (kind, time_column) in tables.items():
        table = metadata.tables.get(name)
        if table is None:  # its entries, if any, are reported below as unbacked
            continue
        query = (
            select(table).where(table.c.ledger_index >= ledger.start).order_by(table.c.ledger_index)
        )
        for row in _stream(session, query):
            values = dict(row._mapping)
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
    where = f"id {values.get('id')}"
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
    _, entry_time, entry_record = read_entry(entry(session, index)[0])
    if moment != entry_time:
        report.add(
            index, table, where, f"{time_column} {moment!r} but the entry says {entry_time!r}"
        )
        return
    difference = record_difference(record, entry_record)
    if difference is not None:
        report.add(index, table, where, difference)


def _check_gaps(session: Session, report: VerifyReport, size: int, *, count_gaps: bool) -> None:
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


def verify(store: Store, verifier: NoteVerifier, *, full: bool = False) -> VerifyReport:
    """Check the ledger; ``full`` recomputes everything from the entry bytes up.

    Quick mode: every checkpoint's signature, root (from the stored tree) and
    consistency with the previous one, no gaps in the indices, and the entries
    and record rows from shortly before the latest checkpoint to the end.
    """
    with store.read() as session:
        size = ledger_size(session)
        report = VerifyReport(full=full, size=size)
        _check_gaps(session, report, size, count_gaps=not full)
        if full:
            ledger = _check_entries(session, report, 0)
            levels = _levels(bytes(ledger.leaves), ledger.end)
            _check_nodes(session, report, levels, ledger.end)
            _check_checkpoints(session, report, verifier, ledger.end, _LevelSource(levels))
            _check_records(session, report, ledger)
            return report.finish()
        _check_checkpoints(session, report, verifier, size, None)
        start = max(0, min(report.latest or 0, size) - QUICK_TAIL)
        ledger = _check_entries(session, report, start)
        _check_tail_leaves(session, report, ledger)
        _check_records(session, report, ledger)
        return report.finish()


def _check_tail_leaves(session: Session, report: VerifyReport, ledger: _Ledger) -> None:
    """Level-0 nodes of the re-checked entries must be their leaf hashes."""
    query = (
        select(_NODES.c.idx, _NODES.c.hash)
        .where(_NODES.c.level == 0, _NODES.c.idx >= ledger.start)
        .order_by(_NODES.c.idx)
    )
    seen = set()
    for idx, h in _stream(session, query):
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
        if bytes(h) != bytes(ledger.leaves[pos * HASH_SIZE : (pos + 1) * HASH_SIZE]):
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
