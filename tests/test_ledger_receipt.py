"""Offline receipts (C2SP tlog-proof) and the canonical entry bytes they carry."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError, LedgerError
from scaleguard.ledger.canonical import (
    canonical_json,
    entry_bytes,
    format_time,
    parse_entry,
    parse_time,
    record_digest,
)
from scaleguard.ledger.merkle import MemoryNodeSource, inclusion_proof
from scaleguard.ledger.note import Checkpoint, NoteSigner, sign_checkpoint
from scaleguard.ledger.receipt import Receipt, make_receipt, verify_receipt

ORIGIN = "scaleguard.local/test-lab"
SIGNER = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
T0 = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)


def make_entries(n: int) -> list[bytes]:
    return [
        entry_bytes("decision", T0 + timedelta(seconds=i), {"decisionId": f"d-{i}", "n": i})
        for i in range(n)
    ]


def signed_tree(items: list[bytes]) -> tuple[MemoryNodeSource, bytes]:
    tree = MemoryNodeSource.from_entries(items)
    note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), SIGNER)
    return tree, note


def receipt_for(items: list[bytes], index: int) -> bytes:
    tree, note = signed_tree(items)
    return make_receipt(items[index], index, inclusion_proof(index, tree.size, tree), note)


ENTRIES = make_entries(13)


# ---------------------------------------------------------------- entry bytes


def test_entry_bytes_are_rfc8785_of_kind_time_record() -> None:
    data = entry_bytes("decision", T0, {"b": 1, "a": [1.0, "x", None], "é": True})
    assert data == (
        b'{"kind":"decision","record":{"a":[1,"x",null],"b":1,"\xc3\xa9":true},'
        b'"time":"2026-11-02T10:15:00Z"}'
    )
    entry = parse_entry(data)
    assert (entry.kind, entry.time, entry.raw) == ("decision", T0, data)
    assert entry.record == {"a": [1, "x", None], "b": 1, "é": True}


def test_times_are_utc_with_optional_microseconds() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert format_time(datetime(2026, 1, 1, 12, 0, tzinfo=plus2)) == "2026-01-01T10:00:00Z"
    moment = datetime(2026, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)
    assert format_time(moment) == "2026-01-01T00:00:00.001500Z"
    assert parse_time("2026-01-01T00:00:00.001500Z") == moment
    for bad in ["2026-01-01T00:00:00.000000Z", "2026-01-01 00:00:00Z", "2026-02-30T00:00:00Z"]:
        with pytest.raises(LedgerError):
            parse_time(bad)
    with pytest.raises(InputError, match="no time zone"):
        format_time(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_uncanonicalizable_records_name_the_json_path() -> None:
    with pytest.raises(InputError) as info:
        entry_bytes("evidence", T0, {"scores": [0.5, float("nan")]})
    assert info.value.problems[0].path == "$.record.scores[1]"
    with pytest.raises(InputError) as info:
        canonical_json({"big": 2**53})
    assert info.value.problems[0].path == "$.big"
    with pytest.raises(InputError, match="invalid entry kind"):
        entry_bytes("Decision!", T0, {})
    with pytest.raises(InputError, match="not a JSON value"):
        canonical_json({"when": T0})


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"kind":"decision", "record":{},"time":"2026-11-02T10:15:00Z"}', "canonical form"),
        (b'{"record":{},"kind":"decision","time":"2026-11-02T10:15:00Z"}', "canonical form"),
        (b'{"kind":"decision","record":{},"time":"2026-11-02T10:15:00Z","x":1}', "exactly"),
        (b'{"kind":"decision","kind":"x","record":{},"time":"2026-11-02T10:15:00Z"}', "duplicate"),
        (b'{"kind":"decision","record":{"x":NaN},"time":"2026-11-02T10:15:00Z"}', "NaN"),
        (b'{"kind":"decision","record":[],"time":"2026-11-02T10:15:00Z"}', "not a JSON object"),
        (b'{"kind":"decision","record":{},"time":"2026-11-02T10:15:00+00:00"}', "RFC 3339"),
        (b"\xff", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        # 20 nines: no double is written so (the nearest is 1e20), so not canonical
        (
            b'{"kind":"d","record":{"n":' + b"9" * 20 + b'},"time":"2026-11-02T10:15:00Z"}',
            "canonical",
        ),
    ],
)
def test_parse_entry_rejects_anything_not_canonical(data: bytes, reason: str) -> None:
    with pytest.raises(LedgerError, match=reason):
        parse_entry(data)


def test_record_digest_ignores_key_order() -> None:
    assert record_digest({"a": 1, "b": 2}) == record_digest({"b": 2, "a": 1})


# ---------------------------------------------------------------- receipts


def test_every_receipt_verifies_with_only_the_vkey() -> None:
    for index, entry in enumerate(ENTRIES):
        receipt = receipt_for(ENTRIES, index)
        assert receipt.startswith(b"c2sp.org/tlog-proof@v1\nextra ")
        verified = verify_receipt(receipt, SIGNER.vkey)
        assert verified.index == index
        assert verified.entry == entry
        assert verified.checkpoint.size == len(ENTRIES)
        assert verified.decode_entry().record["decisionId"] == f"d-{index}"


def test_detached_receipt_needs_the_entry() -> None:
    tree, note = signed_tree(ENTRIES)
    detached = Receipt(3, tuple(inclusion_proof(3, tree.size, tree)), note).encode()
    with pytest.raises(LedgerError, match="no entry bytes"):
        verify_receipt(detached, SIGNER.vkey)
    assert verify_receipt(detached, SIGNER.vkey, entry=ENTRIES[3]).index == 3
    with pytest.raises(LedgerError, match="inclusion proof rejected"):
        verify_receipt(detached, SIGNER.vkey, entry=ENTRIES[4])
    with pytest.raises(LedgerError, match="does not match the entry embedded"):
        verify_receipt(receipt_for(ENTRIES, 3), SIGNER.vkey, entry=ENTRIES[4])


def test_every_single_byte_change_is_detected() -> None:
    receipt = receipt_for(ENTRIES, 6)
    for pos in range(len(receipt)):
        bad = bytearray(receipt)
        bad[pos] ^= 0x01
        with pytest.raises(LedgerError):
            verify_receipt(bytes(bad), SIGNER.vkey)


def _replace_line(receipt: bytes, number: int, new: str) -> bytes:
    lines = receipt.decode().split("\n")
    lines[number - 1] = new
    return "\n".join(lines).encode()


def test_failures_say_what_failed() -> None:
    receipt = receipt_for(ENTRIES, 6)
    lines = receipt.decode().split("\n")

    other_entry = _replace_line(receipt, 2, "extra " + _b64(ENTRIES[7]))
    with pytest.raises(LedgerError, match="receipt inclusion proof rejected"):
        verify_receipt(other_entry, SIGNER.vkey)

    with pytest.raises(LedgerError, match="receipt inclusion proof rejected"):
        verify_receipt(_replace_line(receipt, 3, "index 5"), SIGNER.vkey)

    with pytest.raises(LedgerError, match=r"line 3 \(index\).*leading zeros"):
        verify_receipt(_replace_line(receipt, 3, "index 06"), SIGNER.vkey)

    with pytest.raises(LedgerError, match=r"line 5 \(proof hash #2\)"):
        verify_receipt(_replace_line(receipt, 5, lines[4][:-4]), SIGNER.vkey)

    with pytest.raises(LedgerError, match="outside the checkpointed tree of size 13"):
        verify_receipt(_replace_line(receipt, 3, "index 13"), SIGNER.vkey)

    with pytest.raises(LedgerError, match=r"line 1: expected 'c2sp.org/tlog-proof@v1'"):
        verify_receipt(_replace_line(receipt, 1, "c2sp.org/tlog-proof@v2"), SIGNER.vkey)

    with pytest.raises(LedgerError, match=r"line 2 \(extra\)"):
        verify_receipt(_replace_line(receipt, 2, "extra ***"), SIGNER.vkey)

    stranger = NoteSigner.generate(ORIGIN)
    with pytest.raises(LedgerError, match="receipt checkpoint rejected: note is not signed"):
        verify_receipt(receipt, stranger.vkey)

    sig_line = len(lines) - 1  # 1-based number of the signature line (the file ends in \n)
    prefix, b64sig = lines[sig_line - 1].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64sig))
    raw[-1] ^= 0x80
    tampered = f"{prefix} {_b64(bytes(raw))}"
    with pytest.raises(LedgerError, match=r"receipt checkpoint rejected: signature by trusted key"):
        verify_receipt(_replace_line(receipt, sig_line, tampered), SIGNER.vkey)

    with pytest.raises(LedgerError, match="malformed verifier key"):
        verify_receipt(receipt, "not a key")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_receipt_fails_against_a_rewritten_tree() -> None:
    index = 4
    tree, _ = signed_tree(ENTRIES)
    proof = inclusion_proof(index, tree.size, tree)
    rewritten = [*ENTRIES]
    rewritten[9] = entry_bytes("decision", T0, {"decisionId": "forged"})
    for forged_items in (rewritten, [*rewritten, *make_entries(5)]):
        _, forged_note = signed_tree(forged_items)
        spliced = make_receipt(ENTRIES[index], index, proof, forged_note)
        with pytest.raises(LedgerError, match="inclusion proof rejected"):
            verify_receipt(spliced, SIGNER.vkey)


def test_receipt_for_rewritten_entry_fails_against_the_honest_checkpoint() -> None:
    rewritten = [*ENTRIES]
    rewritten[2] = entry_bytes("decision", T0, {"decisionId": "forged"})
    forged_tree, _ = signed_tree(rewritten)
    _, honest_note = signed_tree(ENTRIES)
    receipt = make_receipt(rewritten[2], 2, inclusion_proof(2, 13, forged_tree), honest_note)
    with pytest.raises(LedgerError, match="inclusion proof rejected"):
        verify_receipt(receipt, SIGNER.vkey)


def test_single_entry_log_has_an_empty_proof() -> None:
    receipt = receipt_for(ENTRIES[:1], 0)
    assert b"index 0\n\n" in receipt
    assert verify_receipt(receipt, SIGNER.vkey).checkpoint.size == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_ledger_error(data: bytes) -> None:
    with contextlib.suppress(LedgerError):
        verify_receipt(data, SIGNER.vkey)


VALID_RECEIPT = receipt_for(ENTRIES, 11)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID_RECEIPT) - 1), st.integers(1, 255))
def test_any_byte_substitution_fails(pos: int, delta: int) -> None:
    bad = bytearray(VALID_RECEIPT)
    bad[pos] = (bad[pos] + delta) % 256
    with pytest.raises(LedgerError):
        verify_receipt(bytes(bad), SIGNER.vkey)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID_RECEIPT) - 1))
def test_any_truncation_fails(pos: int) -> None:
    with pytest.raises(LedgerError):
        verify_receipt(VALID_RECEIPT[:pos], SIGNER.vkey)
