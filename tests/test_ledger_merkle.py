"""RFC 9162 Merkle hashing, proofs from stored subtrees, and the verifiers."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodeSource,
    append_to_edge,
    consistency_proof,
    inclusion_proof,
    inclusion_proof_length,
    leaf_hash,
    naive_consistency_proof,
    naive_inclusion_proof,
    naive_root,
    new_complete_nodes,
    node_hash,
    root,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 reference tree used by Certificate Transparency and Trillian test suites.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
}


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


class CountingSource:
    """Answers any complete-subtree query with a fixed fake hash, counting reads."""

    def __init__(self) -> None:
        self.calls = 0

    def node(self, level: int, index: int) -> bytes:
        self.calls += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


# ---------------------------------------------------------------- test vectors


def test_hash_prefixes_follow_rfc() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_ct_roots(size: int) -> None:
    tree = MemoryNodeSource.from_entries(CT_LEAVES)
    assert naive_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]
    assert root(size, tree).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_ct_inclusion_vectors(index: int, size: int) -> None:
    tree = MemoryNodeSource.from_entries(CT_LEAVES)
    proof = inclusion_proof(index, size, tree)
    assert [h.hex() for h in proof] == CT_INCLUSION[(index, size)]
    verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_ct_consistency_vectors(old: int, new: int) -> None:
    tree = MemoryNodeSource.from_entries(CT_LEAVES)
    proof = consistency_proof(old, new, tree)
    assert [h.hex() for h in proof] == CT_CONSISTENCY[(old, new)]
    verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]), proof)


# ---------------------------------------------- oracle vs. the RFC definitions

MAX_N = 64


@pytest.fixture(scope="module")
def tree64() -> tuple[list[bytes], MemoryNodeSource]:
    data = entries(MAX_N)
    return data, MemoryNodeSource.from_entries(data)


def test_roots_match_definition_for_every_size(
    tree64: tuple[list[bytes], MemoryNodeSource],
) -> None:
    data, tree = tree64
    for n in range(MAX_N + 1):
        assert root(n, tree) == naive_root(data[:n]), n


def test_inclusion_proofs_match_definition_exhaustively(
    tree64: tuple[list[bytes], MemoryNodeSource],
) -> None:
    data, tree = tree64
    for n in range(1, MAX_N + 1):
        r = naive_root(data[:n])
        for m in range(n):
            proof = inclusion_proof(m, n, tree)
            assert proof == naive_inclusion_proof(m, data[:n]), (m, n)
            assert len(proof) == inclusion_proof_length(m, n)
            verify_inclusion(leaf_hash(data[m]), m, n, proof, r)


def test_consistency_proofs_match_definition_exhaustively(
    tree64: tuple[list[bytes], MemoryNodeSource],
) -> None:
    data, tree = tree64
    roots = [naive_root(data[:n]) for n in range(MAX_N + 1)]
    for n in range(MAX_N + 1):
        for m in range(n + 1):
            proof = consistency_proof(m, n, tree)
            assert proof == naive_consistency_proof(m, data[:n]), (m, n)
            verify_consistency(m, n, roots[m], roots[n], proof)


def test_stored_nodes_are_exactly_the_complete_subtrees() -> None:
    data = entries(100)
    tree = MemoryNodeSource()
    rows_written = 0
    for i, entry in enumerate(data):
        rows = new_complete_nodes(i, leaf_hash(entry), tree)
        trailing_ones = (~i & (i + 1)).bit_length() - 1
        assert len(rows) == 1 + trailing_ones
        for level, idx, h in rows:
            span = 1 << level
            assert h == naive_root(data[idx * span : (idx + 1) * span])
        rows_written += len(rows)
        tree.append(entry)
    assert rows_written < 2 * len(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 70), st.integers(0, 70))
def test_appending_to_the_right_edge_is_appending_one_by_one(first: int, more: int) -> None:
    """append_to_edge (the batch path and the signer's frontier) gives the rows and the
    edge that new_complete_nodes gives leaf by leaf."""
    data = entries(first + more)
    leaves = [leaf_hash(e) for e in data]
    tree = MemoryNodeSource()
    expected: list[tuple[int, int, bytes]] = []
    for i, entry in enumerate(data):
        rows = new_complete_nodes(i, leaves[i], tree)
        if i >= first:
            expected += rows
        tree.append(entry)
    edge: list[bytes] = []
    append_to_edge(edge, 0, leaves[:first])
    got: list[tuple[int, int, bytes]] = []
    append_to_edge(edge, first, leaves[first:], got)
    assert got == expected
    # the edge is the maximal complete subtrees of the whole tree, largest first
    size, start, subtrees = first + more, 0, []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            subtrees.append(naive_root(data[start : start + (1 << level)]))
            start += 1 << level
    assert edge == subtrees


def test_an_edge_that_does_not_fit_the_size_is_refused() -> None:
    with pytest.raises(LedgerError, match="edge hashes"):
        append_to_edge([leaf_hash(b"a")], 3, [leaf_hash(b"b")])
    with pytest.raises(LedgerError, match="32 bytes"):
        append_to_edge([], 0, [b"short"], [])


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 2**20 + 12345, 2**40 - 1, 2**62 + 7])
def test_proofs_read_only_logarithmically_many_nodes(size: int) -> None:
    bound = 2 * size.bit_length() + 2
    for index in {0, size // 3, size - 1}:
        source = CountingSource()
        inclusion_proof(index, size, source)
        assert source.calls <= bound
    for old in {1, size // 2, size - 1}:
        if 0 < old < size:
            source = CountingSource()
            consistency_proof(old, size, source)
            assert source.calls <= bound
    source = CountingSource()
    root(size, source)
    assert source.calls <= size.bit_length()


def test_subtree_hash_handles_unaligned_ranges() -> None:
    data = entries(20)
    tree = MemoryNodeSource.from_entries(data)
    for lo in range(20):
        for hi in range(lo + 1, 21):
            assert subtree_hash(lo, hi, tree) == naive_root(data[lo:hi])


def test_memory_source_reports_missing_nodes() -> None:
    tree = MemoryNodeSource.from_entries(entries(3))
    with pytest.raises(LedgerError, match="no stored subtree hash at level 1, index 1"):
        tree.node(1, 1)


# ------------------------------------------------------- verifier edge cases


def _tree(n: int) -> tuple[list[bytes], MemoryNodeSource]:
    data = entries(n)
    return data, MemoryNodeSource.from_entries(data)


def test_inclusion_rejects_index_at_or_beyond_size() -> None:
    data, tree = _tree(5)
    with pytest.raises(LedgerError, match="outside"):
        inclusion_proof(5, 5, tree)
    proof = inclusion_proof(4, 5, tree)
    with pytest.raises(LedgerError, match="outside the tree of size 5"):
        verify_inclusion(leaf_hash(data[4]), 5, 5, proof, tree.root())
    with pytest.raises(LedgerError, match="outside"):
        verify_inclusion(leaf_hash(data[0]), 0, 0, [], EMPTY_ROOT)


def test_inclusion_rejects_wrong_length_proofs() -> None:
    data, tree = _tree(7)
    proof = inclusion_proof(2, 7, tree)
    with pytest.raises(LedgerError, match="needs exactly 3"):
        verify_inclusion(leaf_hash(data[2]), 2, 7, [*proof, proof[0]], tree.root())
    with pytest.raises(LedgerError, match="needs exactly 3"):
        verify_inclusion(leaf_hash(data[2]), 2, 7, proof[:-1], tree.root())
    with pytest.raises(LedgerError, match="must be 32 bytes"):
        verify_inclusion(leaf_hash(data[2]), 2, 7, [proof[0][:31], *proof[1:]], tree.root())


def test_single_leaf_tree_needs_empty_proof() -> None:
    data, tree = _tree(1)
    assert inclusion_proof(0, 1, tree) == []
    verify_inclusion(leaf_hash(data[0]), 0, 1, [], tree.root())
    with pytest.raises(LedgerError):
        verify_inclusion(leaf_hash(b"other"), 0, 1, [], tree.root())


def test_size_without_its_signed_root_is_not_bound_by_the_proof() -> None:
    """Why (size, root) must come together from a signed checkpoint.

    The RFC verifier computes the same path for index 0 in trees of size 3
    and 4, so a proof checked against a size-3 root also "verifies" when told
    the size is 4. Only the genuine size-4 root exposes the lie.
    """
    data, tree = _tree(4)
    proof = inclusion_proof(0, 3, tree)
    verify_inclusion(leaf_hash(data[0]), 0, 4, proof, tree.root(3))
    with pytest.raises(LedgerError, match="does not lead to the root"):
        verify_inclusion(leaf_hash(data[0]), 0, 4, proof, tree.root(4))


def test_consistency_rejects_shrinking_and_bad_edge_cases() -> None:
    _, tree = _tree(6)
    r3, r6 = tree.root(3), tree.root(6)
    with pytest.raises(LedgerError, match="larger than new tree size"):
        consistency_proof(6, 3, tree)
    with pytest.raises(LedgerError, match="can only grow"):
        verify_consistency(6, 3, r6, r3, [])
    verify_consistency(0, 6, EMPTY_ROOT, r6, [])
    with pytest.raises(LedgerError, match="from an empty tree must be empty"):
        verify_consistency(0, 6, EMPTY_ROOT, r6, [r3])
    with pytest.raises(LedgerError, match="empty-tree hash"):
        verify_consistency(0, 6, r3, r6, [])
    verify_consistency(6, 6, r6, r6, [])
    with pytest.raises(LedgerError, match="two different roots for the same tree size"):
        verify_consistency(6, 6, r6, r3, [])
    with pytest.raises(LedgerError, match="between equal sizes must be empty"):
        verify_consistency(6, 6, r6, r6, [r3])
    with pytest.raises(LedgerError, match="empty but the tree grew"):
        verify_consistency(3, 6, r3, r6, [])
    proof = consistency_proof(3, 6, tree)
    with pytest.raises(LedgerError, match="longer than needed"):
        verify_consistency(3, 6, r3, r6, [*proof, proof[0]])
    with pytest.raises(LedgerError, match="shorter than needed"):
        verify_consistency(3, 6, r3, r6, proof[:-1])


def test_consistency_detects_rewritten_history() -> None:
    data, tree = _tree(10)
    forged = MemoryNodeSource.from_entries([*data[:4], b"rewritten", *data[5:]])
    proof = consistency_proof(7, 10, forged)
    with pytest.raises(LedgerError, match="old root"):
        verify_consistency(7, 10, tree.root(7), forged.root(10), proof)


# ------------------------------------------------------------ tampering (hypothesis)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    n = draw(st.integers(min_value=1, max_value=130))
    data = draw(st.lists(st.binary(max_size=8), min_size=n, max_size=n, unique=True))
    return data, draw(st.integers(min_value=0, max_value=n - 1))


@settings(max_examples=200, deadline=None)
@given(tree_and_index(), st.data())
def test_tampered_inclusion_proofs_fail(case: tuple[list[bytes], int], data: st.DataObject) -> None:
    entries_, index = case
    n = len(entries_)
    tree = MemoryNodeSource.from_entries(entries_)
    proof = inclusion_proof(index, n, tree)
    r = tree.root()
    leaf = leaf_hash(entries_[index])
    verify_inclusion(leaf, index, n, proof, r)

    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = bytearray(proof[i])
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(LedgerError):
            verify_inclusion(leaf, index, n, [*proof[:i], bytes(bad), *proof[i + 1 :]], r)

    other_index = data.draw(st.integers(0, n).filter(lambda j: j != index), label="index")
    with pytest.raises(LedgerError):
        verify_inclusion(leaf, other_index, n, proof, r)

    other_leaf = data.draw(st.binary(max_size=8).filter(lambda b: b != entries_[index]))
    with pytest.raises(LedgerError):
        verify_inclusion(leaf_hash(other_leaf), index, n, proof, r)

    # A different size is checked against that size's genuine (signed) root.
    bigger = MemoryNodeSource.from_entries([*entries_, b"\xff" * 9, b"\xfe" * 9])
    other_size = data.draw(st.integers(index + 1, n + 2).filter(lambda s: s != n), label="size")
    with pytest.raises(LedgerError):
        verify_inclusion(leaf, index, other_size, proof, bigger.root(other_size))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 130), st.data())
def test_tampered_consistency_proofs_fail(n: int, data: st.DataObject) -> None:
    entries_ = entries(n + 3)
    tree = MemoryNodeSource.from_entries(entries_)
    old = data.draw(st.integers(1, n), label="old")
    proof = consistency_proof(old, n, tree)
    verify_consistency(old, n, tree.root(old), tree.root(n), proof)
    if not proof:
        return
    i = data.draw(st.integers(0, len(proof) - 1), label="hash")
    bit = data.draw(st.integers(0, 255), label="bit")
    bad = bytearray(proof[i])
    bad[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(LedgerError):
        verify_consistency(
            old, n, tree.root(old), tree.root(n), [*proof[:i], bytes(bad), *proof[i + 1 :]]
        )
    other_old = data.draw(st.integers(1, n).filter(lambda m: m != old), label="other old")
    with pytest.raises(LedgerError):
        verify_consistency(other_old, n, tree.root(other_old), tree.root(n), proof)
    other_new = data.draw(st.integers(old, n + 3).filter(lambda s: s != n), label="other new")
    with pytest.raises(LedgerError):
        verify_consistency(old, other_new, tree.root(old), tree.root(other_new), proof)
