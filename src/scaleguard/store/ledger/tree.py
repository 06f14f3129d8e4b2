"""The ledger in the workspace database: subtree hashes, proofs, signed checkpoints.

This is the storage adapter around the pure core. Each append stores the
complete subtree hashes it finishes (:func:`store_leaf`, or :func:`batch_nodes`
for many, called by :mod:`scaleguard.store.ledger.append` inside the record's
transaction),
so every proof below costs one query for O(log n) rows of ``ledger_nodes``:
the hashes a proof needs depend only on sizes and indices, never on hash
values, so they are collected by a dry run and fetched together.

Checkpoints are signed by :mod:`scaleguard.store.ledger.signer`, inside the write
transaction that appended the entries, and only over the tree the signer
itself left signed.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from sqlalchemy import Connection, Select, Table, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError, NotFoundError
from scaleguard.ledger.attest import PREDICATE_DECISION, PREDICATE_EVIDENCE, attest_record
from scaleguard.ledger.canonical import LedgerEntry, parse_entry
from scaleguard.ledger.merkle import (
    HASH_SIZE,
    NodeSource,
    append_to_edge,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_complete_nodes,
    root,
    verify_consistency,
    verify_inclusion,
)
from scaleguard.ledger.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    b64decode_strict,
    open_checkpoint,
)
from scaleguard.ledger.receipt import make_receipt
from scaleguard.store.db import Tx, driver_sql, run_driver
from scaleguard.store.tables import LedgerCheckpointRow, LedgerEntryRow, LedgerNodeRow

T = TypeVar("T")

_NODES = cast(Table, LedgerNodeRow.__table__)
_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_CHECKPOINTS = cast(Table, LedgerCheckpointRow.__table__)
_ZERO = bytes(HASH_SIZE)
_NODE_AT = select(_NODES.c.hash).where(
    _NODES.c.level == bindparam("level"), _NODES.c.idx == bindparam("idx")
)
#: Keys per query when fetching nodes; proofs need far fewer.
_FETCH_CHUNK = 400

BUNDLE_HEADER = "old"
#: Kinds exported with the predicate types :mod:`scaleguard.ledger.attest` defines.
PREDICATES = {"evidence": PREDICATE_EVIDENCE, "decision": PREDICATE_DECISION}


# -- reading stored subtree hashes ---------------------------------------------


class DbNodeSource:
    """:class:`NodeSource` over ``ledger_nodes``; remembers what it has read.

    A missing row means the tree was damaged, so it raises LedgerError naming
    the subtree; proofs are only ever asked of complete subtrees.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Read many nodes in as few queries as possible."""
        wanted = sorted({k for k in keys if k not in self._cache})
        for start in range(0, len(wanted), _FETCH_CHUNK):
            chunk = wanted[start : start + _FETCH_CHUNK]
            by_level: dict[int, list[int]] = {}
            for level, idx in chunk:
                by_level.setdefault(level, []).append(idx)
            params: dict[str, object] = {}
            for k, (level, idxs) in enumerate(by_level.items()):
                params[f"l{k}"], params[f"i{k}"] = level, idxs
            for level, idx, h in self._session.execute(_prefetch_query(len(by_level)), params):
                if isinstance(h, bytes | bytearray | memoryview):
                    self._cache[(int(level), int(idx))] = bytes(h)

    def node(self, level: int, index: int) -> bytes:
        key = (level, index)
        found = self._cache.get(key)
        if found is None:
            found = self._session.execute(_NODE_AT, {"level": level, "idx": index}).scalar()
        if found is not None:
            self._cache[key] = found = _blob(found, f"the tree hash at level {level}, {index}")
            return found
        raise _missing(level, index)


def _missing(level: int, index: int) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"the ledger tree has no stored hash for level {level}, index {index} "
        f"(leaves {index << level}..{((index + 1) << level) - 1})",
        hint="the ledger_nodes table was damaged; run 'scaleguard ledger verify --full'",
    )


@functools.cache
def _prefetch_query(levels: int) -> Select[int, int, bytes]:
    """Nodes at ``levels`` levels, each with its list of indices (bound when executed).

    Built once per number of levels: building the expression anew for every
    proof cost more than running it.
    """
    condition = or_(
        *(
            and_(
                _NODES.c.level == bindparam(f"l{k}"),
                _NODES.c.idx.in_(bindparam(f"i{k}", expanding=True)),
            )
            for k in range(levels)
        )
    )
    return select(_NODES.c.level, _NODES.c.idx, _NODES.c.hash).where(condition)


class _Recorder:
    """A dry-run source: notes which nodes a computation asks for."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.keys.append((level, index))
        return _ZERO


def with_nodes(session: Session, compute: Callable[[NodeSource], T]) -> T:
    """Run ``compute`` over stored nodes, fetching all it needs in one query."""
    dry = _Recorder()
    compute(dry)
    source = DbNodeSource(session)
    source.prefetch(dry.keys)
    return compute(source)


# -- appending -------------------------------------------------------------------


class _SiblingReader:
    """Point reads of stored subtree hashes as plain SQL on the transaction's connection.

    Fails like :class:`DbNodeSource`: a missing row or a value that is not
    bytes raises LedgerIntegrityError.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sql = driver_sql(conn, "SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?")

    def node(self, level: int, index: int) -> bytes:
        row = run_driver(self._conn, self._sql, (level, index), fetch=True)
        if not row or row[0] is None:
            raise _missing(level, index)
        return _blob(row[0], f"the tree hash at level {level}, {index}")


@functools.cache
def _insert_nodes(rows: int) -> str:
    """One INSERT of ``rows`` subtree hashes (a leaf completes at most 64)."""
    return "INSERT INTO ledger_nodes (level, idx, hash) VALUES " + ", ".join(["(?, ?, ?)"] * rows)


def store_leaf(tx: Tx, index: int, leaf: bytes) -> None:
    """Insert the subtree hashes that appending ``leaf`` at ``index`` completes.

    Runs in the appending transaction, which holds the write lock, so the left
    siblings it reads (including rows of earlier appends in the same
    transaction) are exactly the tree before this leaf. About one left sibling
    per append, read by a point query; the rows go in as one statement.
    """
    conn = tx.write_connection()
    rows = new_complete_nodes(index, leaf, _SiblingReader(conn))
    flat = tuple(value for row in rows for value in row)
    run_driver(conn, driver_sql(conn, _insert_nodes(len(rows))), flat)


def batch_nodes(tx: Tx, first: int, leaves: Sequence[bytes]) -> list[tuple[int, int, bytes]]:
    """The rows :func:`store_leaf` would store for ``leaves`` appended from ``first`` on.

    Leaf ``i`` completes one subtree per trailing 1-bit of ``i``; each merges
    the newest complete subtree on the tree's right edge (a stack, smallest
    on top) with the one just finished. Only the right edge before ``first``
    is read from the database: the maximal complete subtrees of the tree of
    ``first`` leaves, one per set bit, in one query. Rows come out in the
    order :func:`store_leaf` would insert them.
    """
    keys, start = [], 0
    for level in range(first.bit_length() - 1, -1, -1):
        if first >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    source = DbNodeSource(tx)
    source.prefetch(keys)
    edge = [source.node(level, i) for level, i in keys]
    rows: list[tuple[int, int, bytes]] = []
    append_to_edge(edge, first, leaves, rows)
    return rows


# -- sizes, roots and proofs -----------------------------------------------------


def ledger_size(session: Session) -> int:
    """The tree size: one more than the highest entry index (0 when empty)."""
    return int(session.execute(select(func.coalesce(func.max(_ENTRIES.c.idx) + 1, 0))).scalar_one())


def _entry_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(_ENTRIES)).scalar_one())


def root_at(session: Session, size: int) -> bytes:
    """Merkle root of the first ``size`` entries, from stored subtree hashes."""
    return with_nodes(session, lambda src: root(size, src))


def prove_inclusion(session: Session, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` entries."""
    return with_nodes(session, lambda src: inclusion_proof(index, size, src))


def prove_consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from tree size ``old_size`` to ``new_size``."""
    return with_nodes(session, lambda src: consistency_proof(old_size, new_size, src))


def entry(session: Session, index: int) -> tuple[bytes, bytes]:
    """Stored bytes and leaf hash of entry ``index``; NotFoundError if there is none."""
    row = session.execute(
        select(_ENTRIES.c.data, _ENTRIES.c.leaf_hash).where(_ENTRIES.c.idx == index)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no ledger entry {index}",
            hint=f"entries are numbered 0..{ledger_size(session) - 1}",
        )
    return _blob(row[0], f"entry {index}"), _blob(row[1], f"the leaf hash of entry {index}")


# -- checkpoints -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint row: the signed note plus the size and root it was made for."""

    size: int
    root: bytes
    note: bytes
    created_at: str


def _blob(value: object, what: str) -> bytes:
    """A BLOB column's value; LedgerIntegrityError when the database holds another type."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise LedgerIntegrityError(
        f"{what} is stored as {'NULL' if value is None else type(value).__name__}, not bytes",
        hint="the database was edited; run 'scaleguard ledger verify --full'",
    )


def _to_checkpoint(row: tuple[object, object, object, object]) -> StoredCheckpoint:
    size = row[0]
    if not isinstance(size, int) or isinstance(size, bool):
        raise LedgerIntegrityError(
            f"a ledger_checkpoints row has the size {str(size)[:40]!r}, not an integer",
            hint="the database was edited; run 'scaleguard ledger verify --full'",
        )
    where = f"checkpoint of size {size}"
    return StoredCheckpoint(
        size, _blob(row[1], f"the root of the {where}"), _blob(row[2], f"the {where}"), str(row[3])
    )


def checkpoints(session: Session) -> list[StoredCheckpoint]:
    """Every stored checkpoint, smallest size first."""
    query = select(
        _CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note, _CHECKPOINTS.c.created_at
    ).order_by(_CHECKPOINTS.c.size)
    return [_to_checkpoint(tuple(r)) for r in session.execute(query)]


def latest_checkpoint(session: Session) -> StoredCheckpoint | None:
    """The stored checkpoint with the largest tree size, if any."""
    query = (
        select(
            _CHECKPOINTS.c.size,
            _CHECKPOINTS.c.root,
            _CHECKPOINTS.c.note,
            _CHECKPOINTS.c.created_at,
        )
        .order_by(_CHECKPOINTS.c.size.desc())
        .limit(1)
    )
    row = session.execute(query).first()
    return None if row is None else _to_checkpoint(tuple(row))


def checkpoint_at(session: Session, size: int) -> StoredCheckpoint | None:
    query = select(
        _CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note, _CHECKPOINTS.c.created_at
    ).where(_CHECKPOINTS.c.size == size)
    row = session.execute(query).first()
    return None if row is None else _to_checkpoint(tuple(row))


def open_stored(stored: StoredCheckpoint, verifier: NoteVerifier) -> Checkpoint:
    """Verify a stored checkpoint's signature and that it says what its row says."""
    try:
        parsed = open_checkpoint(stored.note, verifier)
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"stored checkpoint of size {stored.size} does not verify: {exc.message}",
            hint=exc.hint,
        ) from None
    if parsed.size != stored.size or parsed.root != stored.root:
        raise LedgerIntegrityError(
            f"stored checkpoint of size {stored.size} was altered: its signed note says "
            f"size {parsed.size}, root {parsed.root.hex()}, the row says root {stored.root.hex()}"
        )
    return parsed


@dataclass(frozen=True)
class CheckpointResult:
    """The latest checkpoint after :func:`checkpoint`, and whether it was signed just now."""

    checkpoint: StoredCheckpoint
    signed: bool


def require_checkpoint(session: Session, covering: int = 0) -> StoredCheckpoint:
    """The latest checkpoint, which must cover at least ``covering`` entries."""
    latest = latest_checkpoint(session)
    if latest is None or latest.size < covering:
        have = "no checkpoint" if latest is None else f"a checkpoint of size {latest.size}"
        raise LedgerError(
            f"the ledger has {have}; {covering} entries need to be covered",
            hint="sign one with 'scaleguard ledger checkpoint' (needs the workspace key)",
        )
    return latest


# -- receipts and consistency bundles -------------------------------------------


def receipt(session: Session, index: int, stored: StoredCheckpoint | None = None) -> bytes:
    """An offline receipt (C2SP tlog-proof) for entry ``index``.

    Uses the latest checkpoint unless one is given; the proof is checked
    against the checkpoint's root before it is handed out.
    """
    data, _ = entry(session, index)
    stored = stored or require_checkpoint(session, index + 1)
    if index >= stored.size:
        raise LedgerIntegrityError(
            f"entry {index} is not covered by the checkpoint of size {stored.size}"
        )
    proof = prove_inclusion(session, index, stored.size)
    try:
        verify_inclusion(leaf_hash(data), index, stored.size, proof, stored.root)
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"entry {index} does not verify against the checkpoint of size {stored.size}: "
            f"{exc.message}",
            hint="the ledger was damaged; run 'scaleguard ledger verify --full'",
        ) from None
    return make_receipt(data, index, proof, stored.note)


def consistency_bundle(
    session: Session, old_size: int, stored: StoredCheckpoint | None = None
) -> bytes:
    """Consistency proof from ``old_size`` to a checkpoint, with that checkpoint attached.

    The layout is the body of a C2SP tlog-witness ``add-checkpoint`` request:
    ``old <size>``, one base64 hash per line, a blank line, the signed note.
    """
    stored = stored or require_checkpoint(session, old_size)
    if old_size > stored.size:
        raise LedgerError(
            f"old size {old_size} is larger than the latest checkpoint ({stored.size})",
            hint="a consistency proof goes from an older, smaller tree to a newer one",
        )
    proof = prove_consistency(session, old_size, stored.size)
    head = f"{BUNDLE_HEADER} {old_size}\n" + "".join(
        base64.b64encode(h).decode("ascii") + "\n" for h in proof
    )
    return head.encode("ascii") + b"\n" + stored.note


@dataclass(frozen=True)
class ConsistencyBundle:
    """A parsed (unverified) consistency bundle."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes


def parse_bundle(data: bytes) -> ConsistencyBundle:
    """Parse the text :func:`consistency_bundle` writes; LedgerError names the bad line."""
    split = data.find(b"\n\n")
    if split < 0:
        raise LedgerError("malformed consistency proof: no blank line before the checkpoint")
    try:
        lines = data[:split].decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise LedgerError(
            "malformed consistency proof: non-ASCII text before the checkpoint"
        ) from None
    word, _, size_text = lines[0].partition(" ")
    if (
        word != BUNDLE_HEADER
        or not size_text.isdigit()
        or (size_text != "0" and size_text[0] == "0")
    ):
        raise LedgerError("malformed consistency proof: line 1 must be 'old <tree size>'")
    proof: list[bytes] = []
    for number, line in enumerate(lines[1:], start=2):
        raw = b64decode_strict(line)
        if raw is None or len(raw) != HASH_SIZE:
            raise LedgerError(f"malformed consistency proof: line {number} is not a base64 hash")
        proof.append(raw)
    return ConsistencyBundle(int(size_text), tuple(proof), data[split + 2 :])


def verify_bundle(data: bytes, verifier: NoteVerifier, old: Checkpoint) -> Checkpoint:
    """Check that a bundle's signed checkpoint extends ``old``; returns the newer checkpoint."""
    bundle = parse_bundle(data)
    if bundle.old_size != old.size:
        raise LedgerError(
            f"the consistency proof starts at size {bundle.old_size}, "
            f"but the checkpoint you hold has size {old.size}",
            hint=f"ask for 'scaleguard ledger consistency {old.size} --out FILE'",
        )
    newer = open_checkpoint(bundle.checkpoint, verifier)
    verify_consistency(old.size, newer.size, old.root, newer.root, bundle.proof)
    return newer


# -- attestations ----------------------------------------------------------------


def predicate_type(kind: str) -> str:
    """The in-toto predicate type an entry of ``kind`` is exported with."""
    return PREDICATES.get(kind, f"https://scaleguard.dev/attestation/{kind}/v1")


def export_attestation(
    session: Session, index: int, signer: NoteSigner, signed: Checkpoint
) -> tuple[bytes, LedgerEntry]:
    """DSSE envelope around entry ``index``'s record, signed with the ledger key.

    The key signs only what it already signed: the entry must be proven in
    ``signed`` (the signer's latest checkpoint) first, so an entry edited in
    the database is refused, not attested. The subject names the log and the
    index (``<origin>/entries/<index>``), so a reviewer can pair the
    attestation with a receipt for the same entry.
    """
    data, _ = entry(session, index)
    if index >= signed.size:
        raise LedgerIntegrityError(
            f"entry {index} is not covered by the signer's latest checkpoint ({signed.size})"
        )
    try:
        proof = prove_inclusion(session, index, signed.size)
        verify_inclusion(leaf_hash(data), index, signed.size, proof, signed.root)
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"refusing to attest entry {index}: it does not verify against the signer's "
            f"latest checkpoint (size {signed.size}): {exc.message}",
            hint="the database was edited; run 'scaleguard ledger verify --full'",
        ) from None
    parsed = parse_entry(data)
    envelope = attest_record(
        parsed.record,
        subject_name=f"{signer.name}/entries/{index}",
        predicate_type=predicate_type(parsed.kind),
        signer=signer,
    )
    return envelope, parsed
