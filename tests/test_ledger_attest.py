"""in-toto Statement v1 exports in DSSE envelopes."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey  # type: ignore[attr-defined]

from scaleguard.errors import LedgerError
from scaleguard.ledger.attest import (
    PAYLOAD_TYPE,
    PREDICATE_DECISION,
    PREDICATE_EVIDENCE,
    STATEMENT_TYPE,
    attest_record,
    make_statement,
    verify_attestation,
)
from scaleguard.ledger.canonical import canonical_json
from scaleguard.ledger.note import NoteSigner

SIGNER = NoteSigner.from_seed("scaleguard.local/test-lab", bytes(range(32)))
RECORD = {
    "decisionId": "d-42",
    "decision": "pause",
    "determining": [{"id": "bio-uplift-crossed", "facts": {"score": 0.91}}],
}


def export() -> bytes:
    return attest_record(
        RECORD,
        subject_name="scaleguard:decision/d-42",
        predicate_type=PREDICATE_DECISION,
        signer=SIGNER,
    )


def _resign(statement: dict[str, Any], signer: NoteSigner = SIGNER) -> bytes:
    """Sign an arbitrary statement the way a third party with the key could."""
    key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(signer.public_key))
    env = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
    env.sign(CryptoSigner(signer.private_key, key))
    return json.dumps(env.to_dict()).encode()


def _with_payload(envelope: bytes, payload: bytes) -> bytes:
    value = json.loads(envelope)
    value["payload"] = base64.b64encode(payload).decode()
    return json.dumps(value).encode()


def test_round_trip_gives_back_the_record_and_subject() -> None:
    verified = verify_attestation(export(), SIGNER.vkey, predicate_types={PREDICATE_DECISION})
    assert verified.record == RECORD
    assert verified.predicate_type == PREDICATE_DECISION
    assert verified.subject_name == "scaleguard:decision/d-42"
    assert verified.digest == hashlib.sha256(canonical_json(RECORD)).hexdigest()
    assert verified.statement["_type"] == STATEMENT_TYPE


def test_envelope_is_plain_dsse_that_securesystemslib_verifies() -> None:
    value = json.loads(export())
    assert value["payloadType"] == "application/vnd.in-toto+json"
    env = Envelope.from_dict(value)
    key = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(SIGNER.public_key))
    assert key.keyid in env.verify([key], 1)
    statement = json.loads(env.payload)
    assert statement["subject"][0]["digest"]["sha256"] == verified_digest()


def verified_digest() -> str:
    return hashlib.sha256(canonical_json(RECORD)).hexdigest()


def test_statement_shape() -> None:
    statement = make_statement(
        RECORD, subject_name="scaleguard:evidence/e-1", predicate_type=PREDICATE_EVIDENCE
    )
    assert statement == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "scaleguard:evidence/e-1", "digest": {"sha256": verified_digest()}}],
        "predicateType": "https://scaleguard.dev/attestation/evidence/v1",
        "predicate": RECORD,
    }
    with pytest.raises(LedgerError, match="https URI"):
        make_statement(RECORD, subject_name="x", predicate_type="decision")


def test_changed_payload_breaks_the_signature() -> None:
    statement = json.loads(base64.b64decode(json.loads(export())["payload"]))
    statement["predicate"]["decision"] = "proceed"
    forged = _with_payload(export(), canonical_json(statement))
    with pytest.raises(LedgerError, match="DSSE signature does not verify"):
        verify_attestation(forged, SIGNER.vkey)


def test_changed_signature_or_other_key_fails() -> None:
    value = json.loads(export())
    sig = bytearray(base64.b64decode(value["signatures"][0]["sig"]))
    sig[0] ^= 1
    value["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(LedgerError, match="DSSE signature does not verify"):
        verify_attestation(json.dumps(value).encode(), SIGNER.vkey)
    other = NoteSigner.generate("scaleguard.local/test-lab")
    with pytest.raises(LedgerError, match="DSSE signature does not verify"):
        verify_attestation(export(), other.vkey)


def test_keyid_hint_does_not_matter() -> None:
    value = json.loads(export())
    value["signatures"][0]["keyid"] = "whatever"
    assert verify_attestation(json.dumps(value).encode(), SIGNER.vkey).record == RECORD


def test_signed_statement_with_wrong_digest_is_rejected() -> None:
    statement = make_statement(RECORD, subject_name="s", predicate_type=PREDICATE_DECISION)
    statement["predicate"] = {**RECORD, "decision": "proceed"}
    with pytest.raises(LedgerError, match=r"subject digest .* does not match"):
        verify_attestation(_resign(statement), SIGNER.vkey)


def test_statement_checks() -> None:
    good = make_statement(RECORD, subject_name="s", predicate_type=PREDICATE_DECISION)
    with pytest.raises(LedgerError, match="unexpected predicateType"):
        verify_attestation(_resign(good), SIGNER.vkey, predicate_types={PREDICATE_EVIDENCE})
    with pytest.raises(LedgerError, match="not an in-toto Statement"):
        verify_attestation(
            _resign({**good, "_type": "https://in-toto.io/Statement/v0.1"}), SIGNER.vkey
        )
    with pytest.raises(LedgerError, match="exactly one subject"):
        verify_attestation(_resign({**good, "subject": []}), SIGNER.vkey)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda v: v.update(payloadType="application/json"), "payloadType"),
        (lambda v: v.update(payload="***"), "'payload' is not valid base64"),
        (lambda v: v.update(signatures=[]), "no 'signatures'"),
        (lambda v: v["signatures"][0].update(sig=7), r"signatures\[0\].sig"),
    ],
)
def test_malformed_envelopes_name_the_field(mutate: Any, reason: str) -> None:
    value = json.loads(export())
    mutate(value)
    with pytest.raises(LedgerError, match=reason):
        verify_attestation(json.dumps(value).encode(), SIGNER.vkey)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_ledger_error(data: bytes) -> None:
    with contextlib.suppress(LedgerError):
        verify_attestation(data, SIGNER.vkey)


EXPORTED = export()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(EXPORTED) - 1), st.integers(1, 255))
def test_byte_changes_never_verify_a_different_record(pos: int, delta: int) -> None:
    bad = bytearray(EXPORTED)
    bad[pos] = (bad[pos] + delta) % 256
    try:
        verified = verify_attestation(bytes(bad), SIGNER.vkey)
    except LedgerError:
        return
    # Only edits to the unauthenticated keyid hint may leave it valid.
    assert verified.record == RECORD
    assert json.loads(bad)["payload"] == json.loads(EXPORTED)["payload"]
