"""Check record rows against their signed ledger entries before anything relies on them.

Quick verification looks only at the newest entries, and a full one is too
slow to run before every decision; yet a decision reads rows from anywhere in
history. So before a decision is recorded, every row it can read is checked
on its own: its entry bytes are rebuilt from the row (the same canonical JSON
the row was recorded as), hashed to a leaf, and that leaf must be proven
(RFC 9162 inclusion proof) in the tree whose root the signer signed. The proof
hashes come from the database, but a proof only verifies against the signed
root if the row is exactly what was signed, so nothing stored is trusted.
Cost: O(log n) hashes per row, fetched together.

Within one process the work is not repeated: a rebuilt leaf is remembered by
the exact row values it was rebuilt from (``repr`` of the values, which is
exact for every column type scaleguard stores), and a leaf proven in a signed
tree stays proven in every later signed tree that is shown (RFC 9162
consistency proof, against both signed roots) to extend it. An edited row has
other values, so it is rebuilt and proven afresh and fails as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scaleguard.errors import InputError, LedgerError, LedgerIntegrityError
from scaleguard.ledger.canonical import canonical_json
from scaleguard.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from scaleguard.ledger.note import Checkpoint
from scaleguard.ledger.recheck import RECORD_TABLES, row_record
from scaleguard.store.ledger.tree import with_nodes
from scaleguard.store.tables import metadata

KIND_OF_TABLE = {table: (kind, column) for kind, (table, column) in RECORD_TABLES.items()}
HINT = (
    "the database was edited after the row was recorded; run 'scaleguard ledger verify --full' "
    "and restore the database from a backup"
)


_MEMO_LIMIT = 500_000
#: (table, repr of the row values) -> the leaf hash of the entry rebuilt from them
_leaf_memo: dict[tuple[str, str], bytes] = {}


class _Proven:
    """Leaves (index, leaf hash) proven in the signed tree of ``size`` with ``root``."""

    def __init__(self) -> None:
        self.size = 0
        self.root = b""
        self.leaves: set[tuple[int, bytes]] = set()

    def advance(self, session: Session, signed: Checkpoint) -> None:
        """Keep what was proven only if ``signed`` provably extends the tree it was proven in."""
        if (signed.size, signed.root) == (self.size, self.root):
            return
        keep = False
        if self.leaves and 0 < self.size <= signed.size:
            try:
                proof = with_nodes(
                    session, lambda src: consistency_proof(self.size, signed.size, src)
                )
                verify_consistency(self.size, signed.size, self.root, signed.root, proof)
                keep = True
            except LedgerError:
                keep = False
        if not keep:
            self.leaves = set()
        self.size, self.root = signed.size, signed.root


_proven = _Proven()


def _leaf(table: str, values: Mapping[str, Any]) -> bytes:
    key = (table, repr(tuple(values.items())))
    found = _leaf_memo.get(key)
    if found is None:
        found = leaf_hash(rebuilt_entry(table, values))
        if len(_leaf_memo) >= _MEMO_LIMIT:
            _leaf_memo.clear()
        _leaf_memo[key] = found
    return found


@dataclass(frozen=True)
class RowCheck:
    """How many rows were checked, and the tree size they were proven in."""

    rows: int
    size: int


def rebuilt_entry(table: str, values: Mapping[str, Any]) -> bytes:
    """The entry bytes a row of ``table`` was recorded as (InputError if it cannot be)."""
    kind, time_column = KIND_OF_TABLE[table]
    moment = values.get(time_column)
    if not isinstance(moment, str):
        raise InputError(f"{time_column} is {type(moment).__name__}, not text")
    record = row_record(values, time_column)
    return canonical_json({"kind": kind, "record": record, "time": moment})


def check_rows(
    session: Session, signed: Checkpoint, rows: Iterable[tuple[str, Mapping[str, Any]]]
) -> RowCheck:
    """Every ``(table, row values)`` must be a signed entry of the tree ``signed``.

    Raises LedgerIntegrityError naming the first row that is not.
    """
    items: list[tuple[str, Mapping[str, Any], int, bytes]] = []
    for table, values in rows:
        where = f"{table} row id {values.get('id')}"
        index = values.get("ledger_index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise LedgerIntegrityError(f"{where} has no valid ledger index ({index!r})", hint=HINT)
        if index >= signed.size:
            raise LedgerIntegrityError(
                f"{where} claims ledger entry {index}, which no signed checkpoint covers "
                f"(the signer's latest covers {signed.size}): it was written without the key",
                hint=HINT,
            )
        try:
            leaf = _leaf(table, values)
        except InputError as exc:
            raise LedgerIntegrityError(
                f"{where} (ledger entry {index}) cannot be the record it was: {exc.message}",
                hint=HINT,
            ) from None
        items.append((table, values, index, leaf))
    if not items:
        return RowCheck(0, signed.size)
    checked = len(items)
    _proven.advance(session, signed)
    items = [it for it in items if (it[2], it[3]) not in _proven.leaves]
    if not items:
        return RowCheck(checked, signed.size)
    try:
        proofs = with_nodes(
            session, lambda src: [inclusion_proof(i, signed.size, src) for _, _, i, _ in items]
        )
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"cannot prove the rows a decision reads: {exc.message}", hint=HINT
        ) from None
    for (table, values, index, leaf), proof in zip(items, proofs, strict=True):
        try:
            verify_inclusion(leaf, index, signed.size, proof, signed.root)
        except LedgerError:
            raise LedgerIntegrityError(
                f"{table} row id {values.get('id')} does not match its signed ledger entry "
                f"{index}: the row (or the entry) was changed after it was recorded",
                hint=HINT,
            ) from None
        _proven.leaves.add((index, leaf))
    return RowCheck(checked, signed.size)


def _rows(session: Session, table: Table, *conditions: Any) -> list[tuple[str, dict[str, Any]]]:
    query = select(table).where(*conditions) if conditions else select(table)
    try:
        result = session.execute(query)
        keys = tuple(result.keys())  # once: building a mapping per row costs more than the row
        return [(table.name, dict(zip(keys, r, strict=True))) for r in result]
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise LedgerIntegrityError(
            f"the {table.name} table cannot be read as scaleguard wrote it: "
            f"{str(exc).splitlines()[0][:200]}",
            hint=HINT,
        ) from None


def decision_rows(session: Session, model: str) -> list[tuple[str, dict[str, Any]]]:
    """Every row a decision about ``model`` can read: the registry (all models and
    scores), the frameworks used, and the model's evidence (also under a
    ``provider/`` prefix), attestations, facts (its own and workspace-wide),
    determinations and overrides."""
    t = metadata.tables
    ev, fa = t["evidence"], t["facts"]
    return [
        *_rows(session, t["models"]),
        *_rows(session, t["model_scores"]),
        *_rows(session, t["frameworks_loaded"]),
        *_rows(
            session, ev, or_(ev.c.model == model, ev.c.model.endswith("/" + model, autoescape=True))
        ),
        *_rows(session, t["attestations"], t["attestations"].c.model == model),
        *_rows(session, fa, or_(fa.c.model == model, fa.c.model.is_(None))),
        *_rows(session, t["determinations"], t["determinations"].c.model == model),
        *_rows(session, t["overrides"], t["overrides"].c.model == model),
    ]


def check_decision_inputs(session: Session, signed: Checkpoint, model: str) -> RowCheck:
    """Check every row a decision about ``model`` reads against ``signed`` (:func:`check_rows`)."""
    return check_rows(session, signed, decision_rows(session, model))
