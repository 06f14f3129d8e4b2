"""One span of ledger indices, checked from the database up: the unit of full verification.

A span is ``[lo, hi)`` with ``lo`` a multiple of ``2**level``, so every complete
subtree of height up to ``level`` that ends inside it lies wholly inside it. A
span reads its entries, their stored subtree hashes up to that height and the
record rows pointing into it through plain driver cursors in index order, and
returns findings as data; :mod:`scaleguard.store.ledger.verify` puts the spans
together in index order, so the report does not depend on how many processes
checked them.

Each entry is proven canonical and equal to its record row with one text
comparison where it can (see :func:`_check_rows`); whatever that cannot vouch for
takes the per-entry canonical check (:func:`check_entry`) and, for a row that
differs, the careful comparison of the old path (:func:`record_difference`).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import HASH_SIZE, leaf_hash, leaf_hashes
from scaleguard.ledger.recheck import (
    RECORD_TABLES,
    CheckedEntry,
    RowLayout,
    check_entry,
    read_entry,
    record_difference,
    row_record,
    row_text,
)
from scaleguard.ledger.report import as_bytes, type_name
from scaleguard.ledger.rowbatch import BatchLayout
from scaleguard.store.ledger.reader import UNREADABLE, Reader, ReadFailed, column_processors
from scaleguard.store.ledger.spantree import check_nodes
from scaleguard.store.tables import metadata

__all__ = ["UNREADABLE", "Finding", "ReadFailed", "Reader", "SpanResult", "check_span"]

#: (index, table, row, message), as :meth:`VerifyReport.add` takes them.
Finding = tuple[int | None, str, str, str]

_ZERO = bytes(HASH_SIZE)


@dataclass
class SpanResult:
    """What one span found; plain data, so it crosses process boundaries."""

    lo: int
    hi: int
    entries: int = 0
    nodes: int = 0
    records: int = 0
    #: Findings on entries in index order; ("gap", first, last) marks missing ones.
    entry_findings: list[Any] = field(default_factory=list)
    #: Recomputed subtree hashes, level 0 (the leaves) up to the span's level.
    levels: list[bytes] = field(default_factory=list)
    #: Per level: ("miss", first, upto) and ("bad", idx) in index order.
    node_events: list[list[tuple[str, int, int]]] = field(default_factory=list)
    #: Indices of changed or missing subtree hashes at the span's top level.
    top_bad: list[int] = field(default_factory=list)
    node_errors: list[Finding] = field(default_factory=list)
    #: Per record table (in RECORD_TABLES order), its rows' findings.
    record_findings: dict[str, list[Finding]] = field(default_factory=dict)
    unbacked: list[Finding] = field(default_factory=list)
    artifacts: dict[str, int] = field(default_factory=dict)
    #: Entry bytes read and CPU seconds spent (for the throughput figures).
    bytes_read: int = 0
    cpu_seconds: float = 0.0


class _Entries:
    """The span's entries as read, checked lazily and at most once each."""

    def __init__(self, lo: int, hi: int) -> None:
        n = hi - lo
        self.lo, self.hi = lo, hi
        self.data: list[bytes | None] = [None] * n
        self.kind_column: list[Any] = [None] * n
        self.time_column: list[Any] = [None] * n
        self.checked: list[CheckedEntry | str | None] = [None] * n
        self.referenced = bytearray(n)

    def check(self, pos: int) -> CheckedEntry | str:
        """The entry's canonical check, or why it failed ("" when it has no bytes)."""
        found = self.checked[pos]
        if found is None:
            data = self.data[pos]
            if data is None:
                found = ""
            else:
                try:
                    found = check_entry(data)
                except LedgerError as exc:
                    found = exc.message or "not canonical"
            self.checked[pos] = found
        return found


def check_span(
    session: Session,
    lo: int,
    hi: int,
    level: int | None,
    missing: Collection[str] = (),
) -> SpanResult:
    """Check entries ``lo..hi-1``, their rows and (``level`` given) their subtree hashes."""
    started = time.process_time()
    reader = Reader(session)
    result = SpanResult(lo, hi)
    entries = _Entries(lo, hi)
    leaves = _read_entries(session, reader, result, entries)
    if level is not None:
        check_nodes(session, reader, result, leaves, level)
    else:
        result.levels = [b"".join(leaves)]
    for kind, (name, time_column) in RECORD_TABLES.items():
        table = metadata.tables.get(name)
        if table is None or name in missing:  # its entries are reported as unbacked
            continue
        found = result.record_findings[name] = []
        try:
            with session.begin_nested():
                _check_rows(reader, table, kind, time_column, entries, result, found)
        except ReadFailed as exc:
            found.append((None, name, "", f"{UNREADABLE}{exc}"))
    _finish_entries(result, entries)
    result.cpu_seconds = time.process_time() - started
    return result


def _read_entries(
    session: Session, reader: Reader, result: SpanResult, entries: _Entries
) -> list[bytes]:
    lo, hi = result.lo, result.hi
    leaves = [_ZERO] * (hi - lo)
    found = result.entry_findings
    sql = (
        "SELECT idx, kind, created_at, data, leaf_hash FROM ledger_entries "
        "WHERE idx >= ? AND idx < ? ORDER BY idx"
    )
    expected = lo
    try:
        with session.begin_nested():
            data_at, kinds_at, times_at = entries.data, entries.kind_column, entries.time_column
            for batch in reader.batches(sql, (lo, hi)):
                if _entry_batch(batch, expected, result, entries, leaves):
                    expected += len(batch)
                    continue
                for raw_idx, kind, created_at, raw, stored_leaf in batch:
                    if type(raw_idx) is not int:
                        found.append(
                            (
                                None,
                                "ledger_entries",
                                f"idx {str(raw_idx)[:40]!r}",
                                f"the index is a {type(raw_idx).__name__}, not an integer "
                                "(a row was inserted)",
                            )
                        )
                        continue
                    if raw_idx != expected and raw_idx > expected:
                        found.append(("gap", expected, raw_idx - 1))
                    expected = raw_idx + 1
                    result.entries += 1
                    data = raw if type(raw) is bytes else as_bytes(raw)
                    if data is None:
                        found.append(
                            (
                                raw_idx,
                                "ledger_entries",
                                f"idx {raw_idx}",
                                f"the entry bytes are stored as {type_name(raw)}, not as bytes",
                            )
                        )
                        continue
                    result.bytes_read += len(data)
                    pos = raw_idx - lo
                    leaf = leaf_hash(data)
                    leaves[pos] = leaf
                    if stored_leaf != leaf and as_bytes(stored_leaf) != leaf:
                        found.append(
                            (
                                raw_idx,
                                "ledger_entries",
                                f"idx {raw_idx}",
                                "stored leaf hash is not the hash of its bytes",
                            )
                        )
                    data_at[pos] = data
                    kinds_at[pos] = kind
                    times_at[pos] = created_at
    except ReadFailed as exc:
        found.append((None, "ledger_entries", "", f"{UNREADABLE}{exc}"))
    if expected < hi:
        found.append(("gap", expected, hi - 1))
    return leaves


def _entry_batch(
    batch: list[tuple[Any, ...]],
    expected: int,
    result: SpanResult,
    entries: _Entries,
    leaves: list[bytes],
) -> bool:
    """Take a whole batch at once when it is the next run of indices, all bytes, all leaves right.

    That is the case the row-by-row loop would accept without a word: no
    gap, integer indices, entry bytes stored as bytes and every stored leaf
    hash equal to the recomputed one. Anything else returns False untouched
    and the loop goes through the batch row by row.
    """
    indices, kinds, times, datas, stored = zip(*batch, strict=True)
    n = len(batch)
    if set(map(type, indices)) != {int} or indices != tuple(range(expected, expected + n)):
        return False
    stored_as = set(map(type, datas))
    if stored_as == {memoryview}:  # PostgreSQL's bytea
        datas = tuple(map(bytes, datas))
    elif stored_as != {bytes}:
        return False
    new = leaf_hashes(datas)
    if new != list(stored):
        return False
    at = expected - result.lo
    leaves[at : at + n] = new
    entries.data[at : at + n] = datas
    entries.kind_column[at : at + n] = kinds
    entries.time_column[at : at + n] = times
    result.entries += n
    result.bytes_read += sum(map(len, datas))
    return True


def layout(reader: Reader, table: Table, kind: str, time_column: str) -> RowLayout:
    """How the table's rows are read and rebuilt as entries (:func:`column_processors`)."""
    found = column_processors(table, reader.dialect)
    processors = {c.name: p for c, p in zip(table.c, found, strict=True) if p is not None}
    return RowLayout(kind, time_column, [c.name for c in table.c], processors)


def _select_rows(reader: Reader, table: Table, where: str) -> str:
    order = ", ".join(reader.quote(c.name) for c in table.primary_key.columns)
    return (
        f"SELECT {', '.join(reader.quote(c.name) for c in table.c)} "
        f"FROM {reader.quote(table.name)} "
        f"WHERE {where} ORDER BY ledger_index{', ' + order if order else ''}"
    )


def table_rows(
    reader: Reader, table: Table, where: str, params: Sequence[Any]
) -> Iterator[dict[str, Any]]:
    """A record table's rows as column -> value, without trusting the stored types.

    Columns are read raw and converted one cell at a time; a cell the
    column's type cannot read keeps its raw value, which then fails the
    comparison with the entry instead of stopping verification.
    """
    kind, time_column = next(
        (k, column) for k, (name, column) in RECORD_TABLES.items() if name == table.name
    )
    rows = layout(reader, table, kind, time_column)
    for row in reader.rows(_select_rows(reader, table, where), params):
        yield rows.values(row)


def _check_rows(
    reader: Reader,
    table: Table,
    kind: str,
    time_column: str,
    entries: _Entries,
    result: SpanResult,
    found: list[Finding],
) -> None:
    """Each row in the span: proven with its entry in one comparison, or checked the long way.

    ``RowLayout.entry_bytes`` writes the row's entry as RFC 8785 would, and
    only when the C encoder's text for every value is certainly RFC 8785's;
    the entry object's keys are in order and kind and time need no escaping.
    Bytes equal to the stored entry therefore prove at once that the entry
    is canonical, of this kind, at this time and holding exactly this
    record, with no parse of the entry. The first row to claim an entry is
    all this proof needs; any other row takes the old path.
    """
    rows = layout(reader, table, kind, time_column)
    index_at, lo, name = rows.index_at, entries.lo, table.name
    data_at, checked, referenced = entries.data, entries.checked, entries.referenced
    artifact_at = rows.names.index("artifact_sha256") if kind == "evidence" else None
    sql = _select_rows(reader, table, "ledger_index >= ? AND ledger_index < ?")
    batches = BatchLayout(rows)
    count = 0  # rows read; added even if a later row fails to read
    try:
        for batch in reader.batches(sql, (lo, entries.hi)):
            if _row_batch(batches, batch, entries, kind, artifact_at):
                count += len(batch)
                continue
            for row in batch:
                count += 1
                claimed = row[index_at]
                if type(claimed) is int:
                    pos = claimed - lo
                    data = data_at[pos]
                    if data is not None and checked[pos] is None and rows.entry_bytes(row) == data:
                        sha = row[artifact_at] if artifact_at is not None else None
                        artifact = sha if isinstance(sha, str) else None
                        checked[pos] = CheckedEntry(kind, row[rows.time_at], "", True, artifact)
                        referenced[pos] = 1
                        continue
                _check_row(entries, found, name, kind, time_column, rows.values(row))
    finally:
        result.records += count


def _row_batch(
    batches: BatchLayout,
    batch: list[tuple[Any, ...]],
    entries: _Entries,
    kind: str,
    artifact_at: int | None,
) -> bool:
    """Prove a whole batch of rows at once, exactly as the row-by-row loop would, or do nothing.

    The loop proves a row when its entry is still unclaimed and
    ``entry_bytes`` equals the stored bytes. Here every row of the batch
    must claim a distinct, unclaimed entry of the span, and the list of
    expected bytes (:class:`BatchLayout`, identical to ``entry_bytes`` row by
    row) must equal the list of stored bytes element by element; as the
    claimed entries are distinct, proving one row changes nothing the others
    depend on, so the loop would prove each of them too, with the same
    result. Any other batch returns False untouched and goes row by row.
    """
    rows = batches.rows
    columns = list(zip(*batch, strict=True))
    claimed = columns[rows.index_at]
    n, lo, size = len(batch), entries.lo, entries.hi - entries.lo
    if set(map(type, claimed)) != {int} or min(claimed) < lo or max(claimed) >= lo + size:
        return False
    positions = list(map(lo.__rsub__, claimed))
    if len(set(positions)) != n:
        return False
    checked = entries.checked
    if list(map(checked.__getitem__, positions)).count(None) != n:
        return False
    expected = batches.entry_bytes(columns)
    if expected is None or expected != list(map(entries.data.__getitem__, positions)):
        return False
    times = columns[rows.time_at]
    keys: Sequence[Any] = times
    if artifact_at is not None:
        shas = [sha if isinstance(sha, str) else None for sha in columns[artifact_at]]
        keys = list(zip(times, shas, strict=True))
    # One shared (immutable) CheckedEntry per distinct time and artifact.
    if artifact_at is None:
        made = {k: CheckedEntry(kind, k, "", True) for k in set(keys)}
    else:
        made = {k: CheckedEntry(kind, k[0], "", True, k[1]) for k in set(keys)}
    proven = list(map(made.__getitem__, keys))
    first = positions[0]
    if positions == list(range(first, first + n)):
        checked[first : first + n] = proven
        entries.referenced[first : first + n] = b"\x01" * n
    else:
        referenced = entries.referenced
        for pos, entry in zip(positions, proven, strict=True):
            checked[pos] = entry
            referenced[pos] = 1
    return True


def _check_row(
    entries: _Entries,
    found: list[Finding],
    table: str,
    kind: str,
    time_column: str,
    values: dict[str, Any],
) -> None:
    claimed = values.get("ledger_index")
    where = f"id {str(values.get('id'))[:40]}"
    if not isinstance(claimed, int) or isinstance(claimed, bool):
        found.append(
            (None, table, where, f"points at ledger index {claimed}, which does not exist")
        )
        return
    pos = claimed - entries.lo
    checked = entries.check(pos)
    found_kind = checked.kind if isinstance(checked, CheckedEntry) else ""
    if found_kind != kind:
        found.append(
            (
                claimed,
                table,
                where,
                f"points at a {found_kind or 'unreadable'} entry, not a {kind} entry",
            )
        )
        return
    if entries.referenced[pos]:
        found.append((claimed, table, where, "a second row claims this ledger entry"))
        return
    entries.referenced[pos] = 1
    assert isinstance(checked, CheckedEntry)
    _compare(entries, pos, checked, found, table, time_column, values, where)


def _compare(
    entries: _Entries,
    pos: int,
    checked: CheckedEntry,
    found: list[Finding],
    table: str,
    time_column: str,
    values: dict[str, Any],
    where: str,
) -> None:
    index = entries.lo + pos
    moment = values.get(time_column)
    if (
        moment == checked.time
        and checked.quick
        and row_text(values, time_column) == (checked.record_text)
    ):
        return
    if moment != checked.time:
        found.append(
            (index, table, where, f"{time_column} {moment!r} but the entry says {checked.time!r}")
        )
        return
    data = entries.data[pos]
    assert data is not None
    difference = record_difference(row_record(values, time_column), read_entry(data)[2])
    if difference is not None:
        found.append((index, table, where, difference))


def _finish_entries(result: SpanResult, entries: _Entries) -> None:
    """Canonical form and columns of every entry, then entries no row holds, in index order."""
    earlier: dict[int, list[Any]] = {}  # gaps and leaf findings, by the index they precede
    tail: list[Any] = []
    for f in result.entry_findings:
        at = f[1] if f[0] == "gap" else f[0]
        if at is None:
            tail.append(f)
        else:
            earlier.setdefault(at, []).append(f)
    ordered: list[Any] = []
    lo = result.lo
    rows = zip(
        entries.data,
        entries.checked,
        entries.kind_column,
        entries.time_column,
        entries.referenced,
        strict=True,
    )
    for pos, (data, checked, kind_column, time_column, referenced) in enumerate(rows):
        if earlier and lo + pos in earlier:
            ordered.extend(earlier[lo + pos])
        if data is None:
            continue
        if checked is None:
            checked = entries.check(pos)
        if (
            type(checked) is CheckedEntry
            and kind_column == checked.kind
            and time_column == checked.time
            and referenced
        ):
            if checked.artifact is not None:
                result.artifacts.setdefault(checked.artifact, lo + pos)
            continue  # the common case: nothing to say
        _entry_findings(result, ordered, lo + pos, checked, kind_column, time_column, referenced)
    result.entry_findings = ordered + tail


def _entry_findings(
    result: SpanResult,
    ordered: list[Any],
    index: int,
    checked: CheckedEntry | str,
    kind_column: Any,
    time_column: Any,
    referenced: int,
) -> None:
    where = f"idx {index}"
    if not isinstance(checked, CheckedEntry):
        ordered.append(
            (index, "ledger_entries", where, f"bytes are not a canonical entry: {checked}")
        )
        return
    if kind_column != checked.kind:
        ordered.append(
            (
                index,
                "ledger_entries",
                where,
                f"kind column {kind_column!r} but entry says {checked.kind!r}",
            )
        )
    if time_column != checked.time:
        ordered.append(
            (
                index,
                "ledger_entries",
                where,
                f"time column {time_column!r} but entry says {checked.time!r}",
            )
        )
    if checked.artifact is not None:
        result.artifacts.setdefault(checked.artifact, index)
    if referenced:
        return
    if checked.kind not in RECORD_TABLES:
        result.unbacked.append(
            (index, "ledger_entries", where, f"kind {checked.kind!r} has no record table")
        )
        return
    name = RECORD_TABLES[checked.kind][0]
    result.unbacked.append(
        (index, name, "", f"no {name} row holds this {checked.kind} entry (a row was deleted)")
    )
