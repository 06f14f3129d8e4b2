"""Appending ledger entries, one at a time or many in one go.

Every entry is the RFC 8785 canonical JSON of ``{kind, time, record}``; its
index is the number of entries before it, read under the write lock held by
the transaction (never a sequence, which could leave gaps). The subtree
hashes an entry completes are stored in the same transaction, and the
``(index, leaf hash)`` of each new entry is listed under
:data:`~scaleguard.store.ledger.signer.APPENDED` for the signer, which signs
them before the transaction commits.

:func:`append_entries` is the batch path: one index query, the subtree hashes
computed in memory from the tree's right edge, and two ``executemany``
statements of plain tuples on the transaction's own connection. The rows it
stores are exactly those :func:`append_record` stores one by one (a property
test compares both, byte for byte, on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select

from scaleguard.ledger.canonical import check_kind, entries_bytes, entry_bytes, format_time
from scaleguard.ledger.merkle import leaf_hash, leaf_hashes
from scaleguard.store.db import Tx, driver_sql, run_driver
from scaleguard.store.ledger.census import CENSUS, CensusKey, census_key
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.ledger.tree import batch_nodes, store_leaf
from scaleguard.store.tables import LedgerEntryRow

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_NEXT_INDEX = select(func.coalesce(func.max(_ENTRIES.c.idx) + 1, 0))
_ENTRY_COLUMNS = ("idx", "kind", "subject", "created_at", "data", "leaf_hash")
_NODE_COLUMNS = ("level", "idx", "hash")
#: Placeholders of the DBAPI parameter styles of the two supported drivers.
_NEXT_INDEX_SQL = "SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries"
_INSERT_ENTRY = (
    f"INSERT INTO ledger_entries ({', '.join(_ENTRY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
)


def now() -> datetime:
    return datetime.now(UTC)


def next_index(tx: Tx) -> int:
    """The index the next entry gets: one more than the highest, under the write lock."""
    return int(tx.execute(_NEXT_INDEX).scalar_one())


def append_record(
    tx: Tx, kind: str, subject: str, record: Mapping[str, object], *, at: datetime | None = None
) -> int:
    """Append one ledger entry and return its index (0-based, dense).

    The stored bytes are never re-serialized. The Merkle subtree hashes the
    entry completes are stored in the same transaction (:func:`store_leaf`).
    The statements are plain SQL on the transaction's own connection
    (:func:`~scaleguard.store.db.run_driver`): one write transaction per entry
    is the common case, and SQLAlchemy's statement machinery cost more than
    running them.
    """
    moment = at or now()
    data = entry_bytes(kind, moment, record)
    if tx.autoflush:
        tx.flush()  # what a session statement would do first: pending rows go in before
    conn = tx.write_connection()
    top = run_driver(conn, _NEXT_INDEX_SQL, (), fetch=True)
    idx = int(top[0]) if top else 0
    leaf = leaf_hash(data)
    run_driver(
        conn,
        driver_sql(conn, _INSERT_ENTRY),
        (idx, kind, subject, format_time(moment), data, leaf),
    )
    store_leaf(tx, idx, leaf)
    tx.info.setdefault(APPENDED, []).append((idx, leaf))  # signed before commit
    tx.info.setdefault(CENSUS, []).append(census_key(kind, record))  # and counted
    return idx


def append_records(
    tx: Tx, items: Sequence[tuple[str, str, Mapping[str, object]]], *, at: datetime | None = None
) -> list[int]:
    """Append many ledger entries (``(kind, subject, record)``), all dated ``at``.

    Returns their indices in order; the rows are those :func:`append_record`
    would store called once per item with the same time.
    """
    if not items:
        return []
    moment = at or now()
    data = entries_bytes([(kind, record) for kind, _, record in items], moment)
    keys = [census_key(kind, record) for kind, _, record in items]
    first = append_entries(tx, [(k, s) for k, s, _ in items], data, format_time(moment), keys)
    return list(range(first, first + len(items)))


def append_entries(
    tx: Tx,
    heads: Sequence[tuple[str, str]],
    data: Sequence[bytes],
    created_at: str,
    keys: Sequence[CensusKey],
) -> int:
    """Store entries whose canonical bytes are already made; returns the first index.

    ``heads`` holds each entry's ``(kind, subject)``, ``data`` its bytes
    (from :func:`~scaleguard.ledger.canonical.entry_bytes`, dated
    ``created_at``) and ``keys`` what the signer's census counts it under
    (:func:`~scaleguard.store.ledger.census.census_key` of its kind and record).
    The statements run on ``tx.connection()``, the
    connection of the session's own transaction, so they commit or roll back
    with it, and the store's parameter check sees every value as usual.
    """
    if not len(heads) == len(data) == len(keys):
        raise ValueError("one (kind, subject) and one census key per entry")
    for kind in {kind for kind, _ in heads}:
        check_kind(kind)  # the column must say what the bytes say; entry_bytes checked these
    first = next_index(tx)
    if not data:
        return first
    leaves = leaf_hashes(data)
    entry_rows = [
        (first + k, kind, subject, created_at, d, leaf)
        for k, ((kind, subject), d, leaf) in enumerate(zip(heads, data, leaves, strict=True))
    ]
    node_rows = batch_nodes(tx, first, leaves)  # in memory; reads the right edge once
    conn = tx.connection()
    _insert_many(conn, "ledger_entries", _ENTRY_COLUMNS, entry_rows)
    _insert_many(conn, "ledger_nodes", _NODE_COLUMNS, node_rows)
    tx.info.setdefault(APPENDED, []).extend(
        zip(range(first, first + len(leaves)), leaves, strict=True)
    )
    tx.info.setdefault(CENSUS, []).extend(keys)
    return first


def _insert_many(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """One ``executemany`` of ``rows`` (tuples in ``columns`` order) into ``table``.

    The columns hold only integers, text and bytes, which both drivers bind
    as they are; no type of SQLAlchemy's would change them.
    """
    if not rows:
        return
    marks = ", ".join("?" * len(columns))
    sql = driver_sql(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})")
    conn.exec_driver_sql(sql, list(rows))
