"""The chain of signed checkpoints, and checkpoints held outside the database.

The chain must start at the signed empty tree, each checkpoint's root must be
the tree's root at its size and extend the one before, and the newest must
cover every entry. A checkpoint published earlier (the signer's state, a
witness's copy, ``verify --against``) must still be in the log and extended
by its newest checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import NodeSource, consistency_proof, root, verify_consistency
from scaleguard.ledger.note import Checkpoint, NoteVerifier, open_checkpoint
from scaleguard.ledger.report import VerifyReport, as_bytes, is_int
from scaleguard.store.ledger.tree import StoredCheckpoint, open_stored, prove_consistency, root_at
from scaleguard.store.tables import LedgerCheckpointRow

_CHECKPOINTS = cast(Table, LedgerCheckpointRow.__table__)


def _stored_checkpoints(session: Session, report: VerifyReport) -> list[StoredCheckpoint]:
    """Checkpoint rows, smallest first; rows with values of the wrong type are findings."""
    query = select(
        _CHECKPOINTS.c.size, _CHECKPOINTS.c.root, _CHECKPOINTS.c.note, _CHECKPOINTS.c.created_at
    )
    out: list[StoredCheckpoint] = []
    for size, root_value, note, created in session.execute(query):
        root_bytes, note_bytes = as_bytes(root_value), as_bytes(note)
        if not is_int(size) or root_bytes is None or note_bytes is None:
            report.checkpoints += 1
            report.add(
                None,
                "ledger_checkpoints",
                f"size {str(size)[:40]}",
                "the row holds values of the wrong type (size must be an integer, "
                "root and note bytes)",
            )
            continue
        out.append(StoredCheckpoint(int(size), root_bytes, note_bytes, str(created)))
    return sorted(out, key=lambda c: c.size)


def _root_of(session: Session, size: int, tree: NodeSource | None) -> bytes | None:
    """The root at ``size`` from the recomputed tree (full) or the stored hashes (quick)."""
    if tree is not None:
        return root(size, tree)
    try:
        return root_at(session, size)
    except LedgerError:
        return None


def _consistent(
    session: Session, old: Checkpoint, new: Checkpoint, tree: NodeSource | None
) -> str | None:
    """None when ``new`` extends ``old`` by a verified consistency proof, else why not."""
    try:
        proof = (
            consistency_proof(old.size, new.size, tree)
            if tree is not None
            else prove_consistency(session, old.size, new.size)
        )
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except LedgerError as exc:
        return exc.message
    return None


def check_checkpoints(
    session: Session,
    report: VerifyReport,
    verifier: NoteVerifier,
    size: int,
    tree: NodeSource | None,
) -> list[Checkpoint]:
    """Signatures, rows, roots against the tree, and consistency along the chain.

    The chain must start at the signed empty tree and its last checkpoint must
    cover every entry: entries no checkpoint covers were written without the key.
    Returns the checkpoints that hold, smallest first.
    """
    good: list[Checkpoint] = []
    signed_up_to = 0  # the largest size any validly signed checkpoint claims
    for stored in _stored_checkpoints(session, report):
        report.checkpoints += 1
        report.latest = stored.size
        where = f"size {stored.size}"
        try:
            signed = open_stored(stored, verifier)
        except LedgerError as exc:
            report.add(None, "ledger_checkpoints", where, exc.message)
            continue
        signed_up_to = max(signed_up_to, signed.size)
        if signed.size > size:
            report.add(
                size,
                "ledger_checkpoints",
                where,
                f"signed for {signed.size} entries but the ledger has {size}: "
                f"entries {size}..{signed.size - 1} are gone",
            )
            continue
        lower = good[-1].size if good else 0
        if _root_of(session, signed.size, tree) != signed.root:
            report.add(
                lower,
                "ledger_checkpoints",
                where,
                f"the ledger no longer has the root this checkpoint signed: an entry in "
                f"{lower}..{signed.size - 1} was changed, removed or reordered",
                span=(lower, max(signed.size, lower + 1)),
            )
            continue
        if good:
            why = _consistent(session, good[-1], signed, tree)
            if why is not None:
                report.add(
                    lower,
                    "ledger_checkpoints",
                    where,
                    f"not consistent with size {lower}: {why}",
                    span=(lower, max(signed.size, lower + 1)),
                )
                continue
        good.append(signed)
    if not good or good[0].size != 0:
        report.add(
            0 if size else None,
            "ledger_checkpoints",
            "size 0",
            "the log does not start with the signed empty tree (size 0): "
            + (
                "the database holds no valid checkpoint at all"
                if not good
                else f"the first valid checkpoint has size {good[0].size}"
            )
            + "; checkpoint rows were deleted, or the ledger was started without the key",
        )
    covered = signed_up_to  # entries beyond it no signature ever spoke for
    if covered < size:
        report.add(
            covered,
            "ledger_entries",
            f"idx {covered}",
            f"entries {covered}..{size - 1} are not covered by any signed checkpoint: "
            "they were written without the key (or their checkpoints were deleted)",
        )
    return good


@dataclass(frozen=True)
class KnownCheckpoint:
    """A checkpoint held outside the database: the signer's state, a published copy."""

    label: str
    note: bytes


def check_known(
    session: Session,
    report: VerifyReport,
    verifier: NoteVerifier,
    size: int,
    tree: NodeSource | None,
    good: list[Checkpoint],
    known: Sequence[KnownCheckpoint],
) -> None:
    """The log must still contain each checkpoint held outside it, and have grown from it."""
    for item in known:
        try:
            held = open_checkpoint(item.note, verifier)
        except LedgerError as exc:
            report.add(None, "checkpoint", item.label, f"does not verify: {exc.message}")
            continue
        if held.size > size:
            report.add(
                size,
                "checkpoint",
                item.label,
                f"covers {held.size} entries but the ledger has only {size}: "
                f"entries {size}..{held.size - 1} and their checkpoints were deleted",
            )
            continue
        if _root_of(session, held.size, tree) != held.root:
            report.add(
                0,
                "checkpoint",
                item.label,
                f"the ledger's root at size {held.size} is not the one this checkpoint signed: "
                "history was rewritten",
                span=(0, max(held.size, 1)),
            )
            continue
        newest = good[-1] if good else None
        if newest is None or newest.size < held.size:
            have = 0 if newest is None else newest.size
            report.add(
                have,
                "checkpoint",
                item.label,
                f"covers {held.size} entries but the database's newest valid checkpoint "
                f"covers {have}: newer checkpoints were deleted",
            )
            continue
        why = _consistent(session, held, newest, tree)
        if why is not None:
            report.add(
                held.size,
                "checkpoint",
                item.label,
                f"the newest checkpoint (size {newest.size}) does not extend it: {why}",
            )
