"""Records exported as in-toto attestations in DSSE envelopes.

An exported record is an in-toto Statement v1::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": <subject name>, "digest": {"sha256": <hex>}}],
     "predicateType": <e.g. https://scaleguard.dev/attestation/decision/v1>,
     "predicate": <the record>}

where the digest is SHA-256 of the record's RFC 8785 bytes, so the subject
pins the predicate exactly. The statement's canonical JSON is the payload of
a DSSE envelope (payloadType ``application/vnd.in-toto+json``) signed with the
workspace's Ed25519 ledger key through securesystemslib. Tools that speak
in-toto or DSSE can check it with the same public key the log publishes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib import exceptions as sslib_exceptions
from securesystemslib.dsse import Envelope

# securesystemslib re-exports these without __all__, which strict mypy flags.
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey  # type: ignore[attr-defined]

from scaleguard.errors import InputError, LedgerError
from scaleguard.ledger.canonical import JSONValue, canonical_json, loads_strict
from scaleguard.ledger.note import NoteSigner, NoteVerifier, b64decode_strict, b64encode

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_EVIDENCE = "https://scaleguard.dev/attestation/evidence/v1"
PREDICATE_DECISION = "https://scaleguard.dev/attestation/decision/v1"
#: A DSSE envelope around one record; larger input is refused before parsing.
MAX_ENVELOPE_BYTES = 16 << 20


def _sslib_key(public_key: bytes) -> SSlibKey:
    """securesystemslib's view of an Ed25519 key (its keyid is derived from the key)."""
    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(public_key))


def make_statement(
    record: Mapping[str, object], *, subject_name: str, predicate_type: str
) -> dict[str, JSONValue]:
    """in-toto Statement v1 whose subject digest is the record's canonical SHA-256."""
    if not subject_name:
        raise LedgerError("attestation subject name must not be empty")
    if not predicate_type.startswith("https://"):
        raise LedgerError(f"predicate type {predicate_type!r} must be an https URI")
    record_bytes = canonical_json(record)
    predicate = loads_strict(record_bytes, "record")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": subject_name, "digest": {"sha256": hashlib.sha256(record_bytes).hexdigest()}}
        ],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def attest_record(
    record: Mapping[str, object],
    *,
    subject_name: str,
    predicate_type: str,
    signer: NoteSigner,
) -> bytes:
    """DSSE envelope JSON (canonical bytes) around the record's Statement."""
    statement = make_statement(record, subject_name=subject_name, predicate_type=predicate_type)
    envelope = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
    envelope.sign(CryptoSigner(signer.private_key, _sslib_key(signer.public_key)))
    signatures: list[JSONValue] = [
        {"keyid": sig.keyid, "sig": b64encode(bytes.fromhex(sig.signature))}
        for sig in envelope.signatures.values()
    ]
    return canonical_json(
        {
            "payload": b64encode(envelope.payload),
            "payloadType": envelope.payload_type,
            "signatures": signatures,
        }
    )


@dataclass(frozen=True)
class VerifiedAttestation:
    """A statement whose DSSE signature and subject digest both checked out."""

    statement: dict[str, Any]
    predicate_type: str
    subject_name: str
    digest: str
    record: dict[str, Any]


def _envelope_parts(data: bytes) -> tuple[bytes, list[bytes]]:
    """Payload and raw signatures of a DSSE envelope, strictly parsed."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise LedgerError(f"envelope is {len(data)} bytes; the limit is {MAX_ENVELOPE_BYTES}")
    value = loads_strict(data, "DSSE envelope")
    if not isinstance(value, dict):
        raise LedgerError("DSSE envelope is not a JSON object")
    if value.get("payloadType") != PAYLOAD_TYPE:
        raise LedgerError(
            f"DSSE payloadType is {str(value.get('payloadType'))[:80]!r}, expected {PAYLOAD_TYPE!r}"
        )
    payload_b64 = value.get("payload")
    payload = b64decode_strict(payload_b64) if isinstance(payload_b64, str) else None
    if payload is None:
        raise LedgerError("DSSE envelope field 'payload' is not valid base64")
    entries = value.get("signatures")
    if not isinstance(entries, list) or not entries:
        raise LedgerError("DSSE envelope has no 'signatures' list")
    signatures: list[bytes] = []
    for i, item in enumerate(entries):
        sig_b64 = item.get("sig") if isinstance(item, dict) else None
        sig = b64decode_strict(sig_b64) if isinstance(sig_b64, str) else None
        if sig is None:
            raise LedgerError(f"DSSE envelope signatures[{i}].sig is not valid base64")
        signatures.append(sig)
    return payload, signatures


def _dsse_verified(payload: bytes, signatures: list[bytes], key: SSlibKey) -> bool:
    """True if any signature verifies; the unauthenticated keyid hint is ignored."""
    for sig in signatures:
        envelope = Envelope(payload, PAYLOAD_TYPE, {key.keyid: Signature(key.keyid, sig.hex())})
        try:
            envelope.verify([key], 1)
        except (sslib_exceptions.VerificationError, sslib_exceptions.UnverifiedSignatureError):
            continue
        return True
    return False


def verify_attestation(
    data: bytes,
    vkey: str | NoteVerifier,
    *,
    predicate_types: Collection[str] | None = None,
) -> VerifiedAttestation:
    """Check a DSSE envelope signed by ``vkey`` and the Statement inside it.

    Raises :class:`LedgerError` naming the failed check: envelope shape,
    signature, statement type, predicate type, or subject digest.
    """
    verifier = NoteVerifier.from_vkey(vkey) if isinstance(vkey, str) else vkey
    payload, signatures = _envelope_parts(data)
    if not _dsse_verified(payload, signatures, _sslib_key(verifier.public_key)):
        raise LedgerError(
            f"DSSE signature does not verify with key {verifier.name}+{verifier.key_id.hex()}",
            hint="the statement was changed after signing, or another key signed it",
        )
    statement = loads_strict(payload, "attestation statement")
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise LedgerError(f"payload is not an in-toto Statement ({STATEMENT_TYPE})")
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str):
        raise LedgerError("statement has no predicateType")
    if predicate_types is not None and predicate_type not in predicate_types:
        raise LedgerError(f"unexpected predicateType {predicate_type!r}")
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise LedgerError("statement predicate is not a JSON object")
    subjects = statement.get("subject")
    subject = subjects[0] if isinstance(subjects, list) and len(subjects) == 1 else None
    digest_map = subject.get("digest") if isinstance(subject, dict) else None
    digest = digest_map.get("sha256") if isinstance(digest_map, dict) else None
    name = subject.get("name") if isinstance(subject, dict) else None
    if not isinstance(digest, str) or not isinstance(name, str):
        raise LedgerError("statement must have exactly one subject with a name and sha256 digest")
    try:
        actual = hashlib.sha256(canonical_json(predicate)).hexdigest()
    except InputError as exc:
        raise LedgerError(f"statement predicate is not canonical JSON: {exc.render()}") from None
    if digest != actual:
        raise LedgerError(
            f"subject digest {digest[:64]} does not match the record's canonical digest {actual}"
        )
    return VerifiedAttestation(
        statement=statement,
        predicate_type=predicate_type,
        subject_name=name,
        digest=digest,
        record=predicate,
    )
