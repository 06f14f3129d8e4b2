"""Offline receipts: proof that an entry is in the ledger, checkable anywhere.

A receipt is a C2SP ``tlog-proof`` (https://c2sp.org/tlog-proof) whose
``extra`` line carries the entry bytes, so it is self-contained::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry bytes>
    index <zero-based leaf index>
    <base64 hash>              one per line, leaf sibling first (RFC 9162 PATH)
    <blank line>
    <signed checkpoint, verbatim>

Only the log's verifier key (vkey) is needed to check it: the checkpoint
signature authenticates (origin, size, root); the leaf hash is recomputed from
the entry bytes; the inclusion proof must lead from that leaf to the root. The
``extra`` data is unauthenticated by itself and gains meaning only through the
proof. A receipt without ``extra`` is a detached proof: pass the entry bytes
separately. Files conventionally end in ``.tlog-proof``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scaleguard.errors import LedgerError
from scaleguard.ledger.canonical import LedgerEntry, parse_entry
from scaleguard.ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from scaleguard.ledger.note import (
    MAX_NOTE_BYTES,
    Checkpoint,
    NoteVerifier,
    b64decode_strict,
    b64encode,
    open_checkpoint,
)

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
#: Entries can embed signed evidence envelopes; 16 MiB is far beyond any record.
MAX_RECEIPT_BYTES = 16 << 20
#: A tree of at most 2^63 leaves needs at most 63 proof hashes.
MAX_PROOF_HASHES = 64

_HINT = "a receipt is a c2sp.org/tlog-proof@v1 text file; ask the ledger for a fresh copy"


def _malformed(where: str, reason: str) -> LedgerError:
    return LedgerError(f"malformed receipt: {where}: {reason}", hint=_HINT)


@dataclass(frozen=True)
class Receipt:
    """A parsed (not yet verified) receipt."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    entry: bytes | None = None

    def encode(self) -> bytes:
        """The receipt as UTF-8 text."""
        if self.index < 0:
            raise LedgerError(f"receipt index {self.index} is negative")
        if any(len(h) != HASH_SIZE for h in self.proof):
            raise LedgerError(f"every inclusion proof hash must be {HASH_SIZE} bytes")
        lines = [RECEIPT_HEADER]
        if self.entry is not None:
            lines.append(f"extra {b64encode(self.entry)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.proof)
        head = "".join(f"{line}\n" for line in lines) + "\n"
        return head.encode("ascii") + self.checkpoint

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        """Parse receipt text; errors name the line and field at fault."""
        if not isinstance(data, bytes | bytearray):
            raise _malformed("input", f"expected bytes, got {type(data).__name__}")
        if len(data) > MAX_RECEIPT_BYTES:
            raise _malformed("input", f"{len(data)} bytes; the limit is {MAX_RECEIPT_BYTES}")
        data = bytes(data)
        split = data.find(b"\n\n")
        if split < 0:
            raise _malformed("structure", "no blank line before the checkpoint")
        head, checkpoint = data[: split + 1], data[split + 2 :]
        try:
            text = head.decode("ascii")
        except UnicodeDecodeError as exc:
            raise _malformed("header", f"non-ASCII byte at offset {exc.start}") from None
        lines = text[:-1].split("\n")
        if lines[0] != RECEIPT_HEADER:
            raise _malformed("line 1", f"expected {RECEIPT_HEADER!r}, got {lines[0][:60]!r}")
        pos = 1
        entry: bytes | None = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            entry = b64decode_strict(lines[pos][len("extra ") :])
            if entry is None:
                raise _malformed(f"line {pos + 1} (extra)", "entry bytes are not valid base64")
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise _malformed(f"line {pos + 1} (index)", "expected 'index <number>'")
        index = _parse_index(lines[pos][len("index ") :], pos + 1)
        pos += 1
        hash_lines = lines[pos:]
        if len(hash_lines) > MAX_PROOF_HASHES:
            raise _malformed("proof", f"{len(hash_lines)} hashes; at most {MAX_PROOF_HASHES}")
        proof: list[bytes] = []
        for offset, line in enumerate(hash_lines):
            raw = b64decode_strict(line)
            if raw is None or len(raw) != HASH_SIZE:
                raise _malformed(
                    f"line {pos + offset + 1} (proof hash #{offset + 1})",
                    "not base64 of a 32-byte hash",
                )
            proof.append(raw)
        if not checkpoint:
            raise _malformed("checkpoint", "missing after the blank line")
        if len(checkpoint) > MAX_NOTE_BYTES:
            raise _malformed("checkpoint", f"{len(checkpoint)} bytes; not a checkpoint")
        return cls(index=index, proof=tuple(proof), checkpoint=checkpoint, entry=entry)


def _parse_index(text: str, line: int) -> int:
    where = f"line {line} (index)"
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise _malformed(where, f"{text[:30]!r} is not a decimal index below 2^63")
    if text != "0" and text.startswith("0"):
        raise _malformed(where, f"{text!r} has leading zeros")
    return int(text)


def make_receipt(entry: bytes, index: int, proof: Sequence[bytes], checkpoint_note: bytes) -> bytes:
    """Assemble a receipt from what storage holds; the checkpoint is copied verbatim."""
    return Receipt(
        index=index, proof=tuple(proof), checkpoint=bytes(checkpoint_note), entry=entry
    ).encode()


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a receipt proved: ``entry`` is leaf ``index`` of the signed tree."""

    checkpoint: Checkpoint
    index: int
    entry: bytes
    leaf_hash: bytes

    def decode_entry(self) -> LedgerEntry:
        """The entry's kind, time and record (LedgerError if not a scaleguard entry)."""
        return parse_entry(self.entry)


def verify_receipt(
    receipt: bytes,
    vkey: str | NoteVerifier,
    *,
    entry: bytes | None = None,
    origin: str | None = None,
) -> VerifiedReceipt:
    """Verify a receipt with nothing but the log's verifier key.

    ``entry`` supplies the entry bytes for a detached receipt (or must match
    the embedded ones). ``origin`` defaults to the key name. Raises
    :class:`LedgerError` saying which check failed.
    """
    parsed = Receipt.decode(receipt)
    verifier = NoteVerifier.from_vkey(vkey) if isinstance(vkey, str) else vkey
    if entry is not None and parsed.entry is not None and entry != parsed.entry:
        raise LedgerError("the entry given does not match the entry embedded in the receipt")
    body = entry if entry is not None else parsed.entry
    if body is None:
        raise LedgerError(
            "receipt carries no entry bytes (no 'extra' line)",
            hint="pass the entry bytes alongside a detached receipt",
        )
    try:
        checkpoint = open_checkpoint(parsed.checkpoint, verifier, origin=origin)
    except LedgerError as exc:
        raise LedgerError(f"receipt checkpoint rejected: {exc.message}", hint=exc.hint) from None
    if parsed.index >= checkpoint.size:
        raise LedgerError(
            f"receipt index {parsed.index} is outside the checkpointed tree "
            f"of size {checkpoint.size}"
        )
    leaf = leaf_hash(body)
    try:
        verify_inclusion(leaf, parsed.index, checkpoint.size, parsed.proof, checkpoint.root)
    except LedgerError as exc:
        raise LedgerError(
            f"receipt inclusion proof rejected: {exc.message}",
            hint=exc.hint or "the entry, index or proof was altered",
        ) from None
    return VerifiedReceipt(checkpoint=checkpoint, index=parsed.index, entry=body, leaf_hash=leaf)
