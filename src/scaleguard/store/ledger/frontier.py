"""The signer's view of its tree: a signed checkpoint and the frontier that folds to its root.

The *frontier* of a tree of ``size`` leaves is the list of hashes of its
maximal complete subtrees (one per set bit of the size, largest first). It
folds to the root, and it is all the signer needs to compute the root after
more leaves are appended, so the signer never has to trust the database's
stored subtree hashes for the tree it already signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import EMPTY_ROOT, NodeSource, append_to_edge, node_hash
from scaleguard.ledger.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from scaleguard.store.ledger.tree import with_nodes


def frontier_levels(size: int) -> list[int]:
    """Levels of the maximal complete subtrees of a tree of ``size`` leaves, largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """``(level, index)`` in ``ledger_nodes`` of each frontier hash of a tree of ``size``."""
    out, start = [], 0
    for level in frontier_levels(size):
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose maximal complete subtrees are ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = node_hash(h, acc)
    return acc


def extend(frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> tuple[bytes, ...]:
    """The frontier after appending ``leaves`` (leaf hashes) to a tree of ``size``."""
    edge = list(frontier)
    append_to_edge(edge, size, leaves)
    return tuple(edge)


def stored_frontier(session: Session, size: int) -> tuple[bytes, ...]:
    """The frontier of the tree of ``size`` read from ``ledger_nodes`` (unverified)."""
    keys = frontier_keys(size)

    def frontier_of(source: NodeSource) -> tuple[bytes, ...]:
        return tuple(source.node(level, index) for level, index in keys)

    return with_nodes(session, frontier_of)


@dataclass(frozen=True)
class SignedTree:
    """A checkpoint the signer signed, with the frontier that folds to its root."""

    note: bytes
    checkpoint: Checkpoint
    frontier: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def signed_tree(note: bytes, frontier: Sequence[bytes], verifier: NoteVerifier) -> SignedTree:
    """Check a signed note and its frontier against each other; LedgerError if they disagree."""
    checkpoint = open_checkpoint(note, verifier)
    frontier = tuple(frontier)
    if len(frontier) != len(frontier_levels(checkpoint.size)) or fold(frontier) != checkpoint.root:
        raise LedgerError(
            f"the frontier kept with the checkpoint of size {checkpoint.size} "
            "does not fold to its root"
        )
    return SignedTree(note, checkpoint, frontier)


def empty_tree(signer: NoteSigner) -> SignedTree:
    """The signed empty tree every log starts with."""
    note = sign_checkpoint(Checkpoint(signer.name, 0, EMPTY_ROOT), signer)
    return SignedTree(note, Checkpoint(signer.name, 0, EMPTY_ROOT), ())
