"""scaleguard's tamper-evident ledger: the pure, storage-free core.

Merkle hashing and proofs (RFC 9162), signed checkpoints (C2SP signed-note and
tlog-checkpoint), canonical entry bytes (RFC 8785), offline receipts (C2SP
tlog-proof) and in-toto/DSSE exports. Storage adapters keep entries and
complete-subtree hashes and call these functions; nothing here does I/O except
:mod:`scaleguard.ledger.keys`.
"""

from scaleguard.ledger.attest import (
    PREDICATE_DECISION,
    PREDICATE_EVIDENCE,
    VerifiedAttestation,
    attest_record,
    make_statement,
    verify_attestation,
)
from scaleguard.ledger.canonical import (
    LedgerEntry,
    canonical_json,
    entry_bytes,
    format_time,
    parse_entry,
    record_digest,
)
from scaleguard.ledger.keys import (
    generate_key,
    load_private_key,
    parse_vkey,
    public_vkey,
    save_private_key,
)
from scaleguard.ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodeSource,
    NodeSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_complete_nodes,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from scaleguard.ledger.note import (
    Checkpoint,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from scaleguard.ledger.receipt import Receipt, VerifiedReceipt, make_receipt, verify_receipt

__all__ = [
    "EMPTY_ROOT",
    "PREDICATE_DECISION",
    "PREDICATE_EVIDENCE",
    "Checkpoint",
    "LedgerEntry",
    "MemoryNodeSource",
    "NodeSource",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "Receipt",
    "VerifiedAttestation",
    "VerifiedReceipt",
    "attest_record",
    "canonical_json",
    "consistency_proof",
    "entry_bytes",
    "format_time",
    "generate_key",
    "inclusion_proof",
    "leaf_hash",
    "load_private_key",
    "make_receipt",
    "make_statement",
    "new_complete_nodes",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_entry",
    "parse_vkey",
    "public_vkey",
    "record_digest",
    "root",
    "save_private_key",
    "sign_checkpoint",
    "sign_note",
    "verify_attestation",
    "verify_consistency",
    "verify_inclusion",
    "verify_receipt",
]
