"""RFC 9162 §2.1 Merkle tree hashing, proofs and verifiers.

Two ways to build proofs live here. The ``naive_*`` functions follow the RFC's
recursive definitions over a list of entries; they are the executable
specification that tests compare against. The production functions
(:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`) ask a
:class:`NodeSource` only for hashes of *complete* subtrees, so a database that
stores those hashes (about two rows per append, see :func:`new_complete_nodes`)
answers any proof with O(log n) point reads.

A complete subtree is addressed by ``(level, index)``: it covers the leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.

Verifiers raise :class:`~scaleguard.errors.LedgerError` naming what failed. The
size and root they check against must come from a verified signed checkpoint,
never from the party that produced the proof.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol

from scaleguard.errors import LedgerError

HASH_SIZE = 32
#: Go and Java logs use int64 sizes; larger trees cannot exist in practice.
MAX_TREE_SIZE = 2**63 - 1
#: MTH({}) = SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash of one entry; the 0x00 prefix keeps leaves distinct from nodes."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node; the 0x01 prefix is the RFC's domain separation."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def leaf_hashes(entries: Sequence[bytes]) -> list[bytes]:
    """:func:`leaf_hash` of each entry, in one pass (for batches and full verification)."""
    sha, prefix = hashlib.sha256, _LEAF_PREFIX
    return [sha(prefix + data).digest() for data in entries]


def parent_level(level: Sequence[bytes]) -> list[bytes]:
    """:func:`node_hash` of each pair of ``level``, in one pass (an odd last one waits)."""
    sha, prefix = hashlib.sha256, _NODE_PREFIX
    pairs = zip(level[0::2], level[1::2], strict=False)
    return [sha(prefix + left + right).digest() for left, right in pairs]


def append_to_edge(
    edge: list[bytes],
    first: int,
    leaves: Sequence[bytes],
    nodes: list[tuple[int, int, bytes]] | None = None,
) -> None:
    """Append ``leaves`` to a tree of ``first`` leaves whose right edge is ``edge``.

    ``edge`` holds the hashes of the tree's maximal complete subtrees, largest
    first (one per set bit of ``first``), and is updated in place. Leaf ``i``
    completes one subtree per trailing 1-bit of ``i``, each the newest subtree
    on the edge merged with the one just finished. With ``nodes``, every
    complete subtree met is added to it as ``(level, index, hash)``, leaves
    included, in the order :func:`new_complete_nodes` produces them.
    """
    if len(edge) != first.bit_count():
        raise LedgerError(f"a tree of {first} leaves has {first.bit_count()} edge hashes")
    sha, prefix = hashlib.sha256, _NODE_PREFIX
    pop, push = edge.pop, edge.append
    if nodes is None:
        for index, h in enumerate(leaves, start=first):
            while index & 1:
                h = sha(prefix + pop() + h).digest()
                index >>= 1
            push(h)
        return
    record = nodes.append
    for index, h in enumerate(leaves, start=first):
        if len(h) != HASH_SIZE:
            raise LedgerError(f"leaf hash must be {HASH_SIZE} bytes, got {len(h)}")
        record((0, index, h))
        level = 0
        while index & 1:
            h = sha(prefix + pop() + h).digest()
            level += 1
            index >>= 1
            record((level, index, h))
        push(h)


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------
# Reference definitions over a list of entries (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1)
# --------------------------------------------------------------------------


def naive_root(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from the RFC's recursive definition."""
    n = len(entries)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(entries[0])
    k = _split(n)
    return node_hash(naive_root(entries[:k]), naive_root(entries[k:]))


def naive_inclusion_proof(index: int, entries: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) straight from the RFC; ordered leaf sibling first."""
    n = len(entries)
    if not 0 <= index < n:
        raise LedgerError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*naive_inclusion_proof(index, entries[:k]), naive_root(entries[k:])]
    return [*naive_inclusion_proof(index - k, entries[k:]), naive_root(entries[:k])]


def naive_consistency_proof(old_size: int, entries: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) straight from the RFC; empty when m is 0 or m == n."""
    n = len(entries)
    if not 0 <= old_size <= n:
        raise LedgerError(f"old size {old_size} is not between 0 and the tree size {n}")
    if old_size in (0, n):
        return []
    return _naive_subproof(old_size, entries, complete=True)


def _naive_subproof(m: int, entries: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if complete else [naive_root(entries)]
    k = _split(n)
    if m <= k:
        return [*_naive_subproof(m, entries[:k], complete=complete), naive_root(entries[k:])]
    return [*_naive_subproof(m - k, entries[k:], complete=False), naive_root(entries[:k])]


# --------------------------------------------------------------------------
# Proofs from stored complete-subtree hashes
# --------------------------------------------------------------------------


class NodeSource(Protocol):
    """Where proofs read stored hashes from (a SQL table, a dict, tiles).

    ``node(level, index)`` returns the hash of the complete subtree covering
    leaves ``[index * 2**level, (index + 1) * 2**level)``. It is only ever asked
    for subtrees that are complete in the tree size being proven.
    """

    def node(self, level: int, index: int) -> bytes: ...


def _complete(level: int, start: int, source: NodeSource) -> bytes:
    """Hash of the complete subtree of 2**level leaves starting at ``start``."""
    if start % (1 << level) == 0:
        return source.node(level, start >> level)
    # Unaligned ranges never arise from the RFC recursion; kept correct anyway.
    half = 1 << (level - 1)
    return node_hash(
        _complete(level - 1, start, source), _complete(level - 1, start + half, source)
    )


def subtree_hash(start: int, end: int, source: NodeSource) -> bytes:
    """MTH(D[start:end]) for a non-empty range, using O(log n) stored nodes.

    The RFC split peels off descending powers of two from the left, so the
    hash is the right fold of those complete chunks.
    """
    if not 0 <= start < end:
        raise LedgerError(f"empty or inverted leaf range [{start}, {end})")
    chunks: list[bytes] = []
    pos = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        chunks.append(_complete(level, pos, source))
        pos += 1 << level
        remaining -= 1 << level
    acc = chunks.pop()
    while chunks:
        acc = node_hash(chunks.pop(), acc)
    return acc


def _check_size(size: int, what: str = "tree size") -> None:
    if not 0 <= size <= MAX_TREE_SIZE:
        raise LedgerError(f"{what} {size} is out of range", hint=f"use 0..{MAX_TREE_SIZE}")


def root(size: int, source: NodeSource) -> bytes:
    """Root hash of the first ``size`` leaves."""
    _check_size(size)
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(0, size, source)


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[size]): sibling hashes from the leaf's sibling up to the root's child."""
    _check_size(size)
    if not 0 <= index < size:
        raise LedgerError(
            f"leaf index {index} is outside a tree of size {size}",
            hint="ask for an index below the checkpoint's tree size",
        )
    proof: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(subtree_hash(lo + k, hi, source))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, source))
            lo, m = lo + k, m - k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, source: NodeSource) -> list[bytes]:
    """PROOF(old_size, D[new_size]); empty when old_size is 0 or equals new_size."""
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise LedgerError(
            f"old tree size {old_size} is larger than new tree size {new_size}",
            hint="a consistency proof goes from an older (smaller) tree to a newer one",
        )
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_hash(lo + k, hi, source))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, source))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(subtree_hash(lo, hi, source))
    proof.reverse()
    return proof


def new_complete_nodes(index: int, leaf: bytes, source: NodeSource) -> list[tuple[int, int, bytes]]:
    """Subtree hashes to store after appending ``leaf`` (a leaf hash) at ``index``.

    Returns ``(level, index, hash)`` rows, the leaf itself first. Appending
    leaf ``i`` completes one subtree per trailing 1-bit of ``i``; only left
    siblings appended earlier are read, so ``source`` need not contain the new
    rows yet. On average just under two rows per append.
    """
    _check_size(index, "leaf index")
    if len(leaf) != HASH_SIZE:
        raise LedgerError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
    rows = [(0, index, leaf)]
    h, level, i = leaf, 0, index
    while i & 1:
        h = node_hash(source.node(level, i - 1), h)
        level += 1
        i >>= 1
        rows.append((level, i, h))
    return rows


class MemoryNodeSource:
    """In-memory :class:`NodeSource` for tests, benchmarks and offline tools."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    @classmethod
    def from_entries(cls, entries: Sequence[bytes]) -> MemoryNodeSource:
        """A tree holding ``entries`` in order."""
        tree = cls()
        for entry in entries:
            tree.append(entry)
        return tree

    @property
    def size(self) -> int:
        return self._size

    def append(self, entry: bytes) -> int:
        """Append one entry's bytes; returns its index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append an already computed leaf hash; returns its index."""
        index = self._size
        for level, idx, h in new_complete_nodes(index, leaf, self):
            self._nodes[(level, idx)] = h
        self._size += 1
        return index

    def node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise LedgerError(
                f"no stored subtree hash at level {level}, index {index} (tree size {self._size})"
            ) from None

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: the whole tree)."""
        return root(self._size if size is None else size, self)


# --------------------------------------------------------------------------
# Verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2)
# --------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise LedgerError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes PATH(index, D[size]) contains (0 <= index < size)."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) sits at ``index`` in the tree (size, root).

    Raises :class:`LedgerError` on any mismatch, including a proof of the
    wrong length.
    """
    _check_size(size)
    _check_hash(leaf, "leaf hash")
    _check_hash(expected_root, "root hash")
    if not 0 <= index < size:
        raise LedgerError(f"leaf index {index} is outside the tree of size {size}")
    for i, p in enumerate(proof):
        _check_hash(p, f"inclusion proof hash #{i + 1}")
    want = inclusion_proof_length(index, size)
    if len(proof) != want:
        raise LedgerError(
            f"inclusion proof has {len(proof)} hashes; index {index} in a tree of "
            f"size {size} needs exactly {want}"
        )
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:  # unreachable after the length check; kept as the RFC states it
            raise LedgerError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerError("inclusion proof is shorter than the tree is deep")
    if not hmac.compare_digest(r, expected_root):
        raise LedgerError(
            f"inclusion proof does not lead to the root: computed {r.hex()}, "
            f"expected {expected_root.hex()}",
            hint="the entry, its index, the proof or the checkpoint was altered",
        )


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that tree (new_size, new_root) extends tree (old_size, old_root).

    An empty old tree is consistent with every tree; equal sizes need equal
    roots and an empty proof. Raises :class:`LedgerError` on any mismatch.
    """
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    for i, p in enumerate(proof):
        _check_hash(p, f"consistency proof hash #{i + 1}")
    if old_size > new_size:
        raise LedgerError(
            f"old tree size {old_size} is larger than new tree size {new_size}: a log can only grow"
        )
    if old_size == 0:
        if proof:
            raise LedgerError("consistency proof from an empty tree must be empty")
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise LedgerError("old root is not the empty-tree hash although the old size is 0")
        return
    if old_size == new_size:
        if proof:
            raise LedgerError("consistency proof between equal sizes must be empty")
        if not hmac.compare_digest(old_root, new_root):
            raise LedgerError(
                f"two different roots for the same tree size {old_size}: "
                f"{old_root.hex()} and {new_root.hex()}",
                hint="keep both signed checkpoints: together they prove the log forked",
            )
        return
    if not proof:
        raise LedgerError("consistency proof is empty but the tree grew")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LedgerError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise LedgerError("consistency proof is shorter than needed")
    if not hmac.compare_digest(fr, old_root):
        raise LedgerError(
            f"consistency proof does not reproduce the old root {old_root.hex()} "
            f"of size {old_size}",
            hint=f"the log rewrote history before size {old_size}, or the proof was altered",
        )
    if not hmac.compare_digest(sr, new_root):
        raise LedgerError(
            f"consistency proof does not reproduce the new root {new_root.hex()} "
            f"of size {new_size}",
            hint="the new checkpoint or the proof was altered",
        )
