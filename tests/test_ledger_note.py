"""C2SP signed notes, checkpoints and the workspace key file."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.errors import LedgerError
from scaleguard.ledger.keys import generate_key, load_private_key, parse_vkey, save_private_key
from scaleguard.ledger.merkle import MemoryNodeSource
from scaleguard.ledger.note import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)

# Vectors from golang.org/x/mod/sumdb/note (note_test.go) and the C2SP signed-note spec.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngo"
    "tpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2"
    "ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

PETER = NoteVerifier.from_vkey(PETER_VKEY)
ENOCH = NoteVerifier.from_vkey(ENOCH_VKEY)


# ---------------------------------------------------------------- vectors


def test_go_sign_vector_reproduces_byte_for_byte() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert signer.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert sign_note(PETER_TEXT, signer) == (PETER_TEXT + "\n" + PETER_SIG).encode()


def test_c2sp_example_note_verifies() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.key_id == key_id("example.com/foo", verifier.public_key)
    text, sigs = open_note(C2SP_NOTE.encode(), [verifier])
    assert text == "This is an example message.\n"
    assert [s.key_label for s in sigs] == ["example.com/foo+530d903a"]


def test_unknown_signatures_are_ignored_and_known_ones_reported() -> None:
    note = (PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    text, sigs = open_note(note, [PETER])
    assert text == PETER_TEXT
    assert [s.name for s in sigs] == ["PeterNeumann"]
    _, both = open_note(note, [PETER, ENOCH])
    assert [s.name for s in both] == ["PeterNeumann", "EnochRoot"]


def test_note_without_trusted_signature_is_rejected() -> None:
    note = (PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    with pytest.raises(LedgerError, match="not signed by any trusted key") as info:
        open_note(note, [])
    assert "PeterNeumann+c74f20a3" in info.value.message


def test_failing_trusted_signature_rejects_whole_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(LedgerError, match=r"trusted key PeterNeumann\+c74f20a3 does not verify"):
        open_note((PETER_TEXT + "\n" + bad).encode(), [PETER])
    # Even when another trusted key signed correctly.
    enoch_bad = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    with pytest.raises(LedgerError, match="EnochRoot"):
        open_note((PETER_TEXT + "\n" + PETER_SIG + enoch_bad).encode(), [PETER, ENOCH])


def test_duplicate_signatures_count_once_and_too_many_are_refused() -> None:
    _, sigs = open_note((PETER_TEXT + "\n" + PETER_SIG * 3).encode(), [PETER])
    assert len(sigs) == 1
    many = (PETER_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1)).encode()
    with pytest.raises(LedgerError, match="signature lines; the limit"):
        open_note(many, [PETER])


def test_ambiguous_trusted_keys_are_refused() -> None:
    # Key IDs are 32 bits, so two keys with one name and one ID are easy to
    # find; a trust list holding both must not silently pick one.
    seen: dict[bytes, bytes] = {}
    i = 0
    while True:
        pub = hashlib.sha256(i.to_bytes(8, "big")).digest()
        kid = key_id("PeterNeumann", pub)
        if kid in seen:
            break
        seen[kid] = pub
        i += 1
    first, second = NoteVerifier("PeterNeumann", seen[kid]), NoteVerifier("PeterNeumann", pub)
    assert first.key_id == second.key_id
    with pytest.raises(LedgerError, match="two different trusted keys share"):
        open_note((PETER_TEXT + "\n" + PETER_SIG).encode(), [first, second])
    # Listing the same key twice is harmless.
    open_note((PETER_TEXT + "\n" + PETER_SIG).encode(), [PETER, PETER])


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        (PETER_TEXT, "no blank line"),
        (PETER_TEXT + "\n", "no signature lines"),
        (PETER_TEXT + "\n" + PETER_SIG[:-1], "does not end with a newline"),
        ("\x01" + PETER_TEXT + "\n" + PETER_SIG, "control character"),
        (PETER_TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "em dash"),
        (PETER_TEXT + "\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pA=\n", "not valid base64"),
        (PETER_TEXT + "\n— PeterNeumann !!!!\n", "not valid base64"),
        (PETER_TEXT + "\n— PeterNeumann AAAA\n", "too short"),
        (PETER_TEXT + "\n— PeterNeumann\n", "invalid key name"),
    ],
)
def test_malformed_notes_are_rejected_with_reason(note: str, reason: str) -> None:
    with pytest.raises(LedgerError, match=reason):
        open_note(note.encode(), [PETER])


def test_non_utf8_and_oversized_notes_are_rejected() -> None:
    with pytest.raises(LedgerError, match="not valid UTF-8 at byte 0"):
        open_note(b"\xff" + (PETER_TEXT + "\n" + PETER_SIG).encode(), [PETER])
    with pytest.raises(LedgerError, match="the limit is"):
        open_note(b"a" * (2 << 20), [PETER])


def test_sign_note_refuses_text_it_could_not_open_again() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    with pytest.raises(LedgerError, match="end with a newline"):
        sign_note("abc", signer)
    with pytest.raises(LedgerError, match="control character"):
        sign_note("a\tb\n", signer)


# ---------------------------------------------------------------- key strings


def _mangled(key: str) -> list[str]:
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    out.discard(key)
    for i in range(len(key)):
        out.add(key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :])
    return sorted(out)


def test_every_mangled_verifier_key_is_refused() -> None:
    for bad in _mangled(PETER_VKEY):
        if bad.strip() == PETER_VKEY:
            continue
        with pytest.raises(LedgerError):
            NoteVerifier.from_vkey(bad)


def test_every_mangled_signer_key_is_refused() -> None:
    for bad in _mangled(PETER_SKEY):
        if bad.strip() == PETER_SKEY:
            continue
        with pytest.raises(LedgerError):
            NoteSigner.from_skey(bad)


def test_verifier_key_error_messages_are_specific() -> None:
    with pytest.raises(LedgerError, match="does not match its name and key"):
        NoteVerifier.from_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(LedgerError, match="only Ed25519"):
        NoteVerifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(LedgerError, match="invalid key name"):
        NoteSigner.generate("has space")


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_text_round_trip() -> None:
    tree = MemoryNodeSource.from_entries([b"a", b"b", b"c"])
    cp = Checkpoint("scaleguard.local/lab", 3, tree.root(), ("ext one",))
    root_b64 = base64.b64encode(tree.root()).decode()
    assert cp.text() == f"scaleguard.local/lab\n3\n{root_b64}\next one\n"
    assert Checkpoint.parse(cp.text()) == cp


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("o\n1\n", "need origin, tree size and root hash"),
        ("\n1\n" + "A" * 43 + "=\n", "line 1"),
        ("o\n01\n" + "A" * 43 + "=\n", "line 2"),
        ("o\n-1\n" + "A" * 43 + "=\n", "line 2"),
        ("o\n\u0661\n" + "A" * 43 + "=\n", "line 2"),
        ("o\n" + "9" * 19 + "\n" + "A" * 43 + "=\n", "too large"),
        ("o\n" + "1" * 5000 + "\n" + "A" * 43 + "=\n", "line 2"),
        ("o\n1\nnot base64\n", "line 3"),
        ("o\n1\n" + "A" * 42 + "==\n", "line 3"),
        ("o\n1\n" + "A" * 43 + "=\n\n", "line 4"),
        ("o\n1\n" + "A" * 43 + "=", "newline"),
    ],
)
def test_malformed_checkpoints_name_the_line(text: str, reason: str) -> None:
    with pytest.raises(LedgerError, match=reason):
        Checkpoint.parse(text)


def test_signed_checkpoint_opens_only_for_its_log() -> None:
    log = NoteSigner.generate("scaleguard.local/lab")
    tree = MemoryNodeSource.from_entries([b"x"] * 5)
    note = sign_checkpoint(Checkpoint(log.name, 5, tree.root()), log)
    assert open_checkpoint(note, log.verifier).size == 5

    with pytest.raises(LedgerError, match="not the expected log"):
        open_checkpoint(note, log.verifier, origin="scaleguard.local/other")
    other = NoteSigner.generate("scaleguard.local/lab")
    with pytest.raises(LedgerError, match="not signed by any trusted key"):
        open_checkpoint(note, other.verifier)
    # A key named differently from the origin may not vouch for this log.
    stranger = NoteSigner.generate("elsewhere.example/log")
    foreign = sign_checkpoint(Checkpoint(log.name, 5, tree.root()), stranger)
    with pytest.raises(LedgerError, match="not the expected log"):
        open_checkpoint(foreign, stranger.verifier)


def test_witness_cosignatures_are_accepted_but_never_replace_the_log() -> None:
    log = NoteSigner.generate("scaleguard.local/lab")
    witness = NoteSigner.generate("witness.example")
    tree = MemoryNodeSource.from_entries([b"x"])
    text = Checkpoint(log.name, 1, tree.root()).text()
    cosigned = sign_note(text, log, witness)
    assert open_checkpoint(cosigned, log.verifier).size == 1
    assert open_checkpoint(cosigned, log.verifier, witnesses=[witness.verifier]).size == 1
    witness_only = sign_note(text, witness)
    with pytest.raises(LedgerError):
        open_checkpoint(witness_only, log.verifier, witnesses=[witness.verifier])


# ---------------------------------------------------------------- hostile input


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_raise_ledger_error(data: bytes) -> None:
    with contextlib.suppress(LedgerError):
        open_note(data, [PETER])


VALID_NOTE = (PETER_TEXT + "\n" + PETER_SIG).encode()


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(VALID_NOTE) - 1), st.integers(1, 255))
def test_any_single_byte_change_is_rejected(pos: int, delta: int) -> None:
    bad = bytearray(VALID_NOTE)
    bad[pos] = (bad[pos] + delta) % 256
    with pytest.raises(LedgerError):
        open_note(bytes(bad), [PETER])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID_NOTE) - 1), st.binary(min_size=1, max_size=3))
def test_truncation_and_insertion_are_rejected(pos: int, junk: bytes) -> None:
    with pytest.raises(LedgerError):
        open_note(VALID_NOTE[:pos], [PETER])
    with pytest.raises(LedgerError):
        open_note(VALID_NOTE[:pos] + junk + VALID_NOTE[pos:], [PETER])


note_text = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.just("\n")),
    max_size=200,
).map(lambda s: s + "\n")


@settings(max_examples=150, deadline=None)
@given(note_text)
def test_any_valid_text_round_trips(text: str) -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    opened, sigs = open_note(sign_note(text, signer), [PETER])
    assert opened == text
    assert sigs[0].key_id == PETER.key_id


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_checkpoint_text_only_raises_ledger_error(text: str) -> None:
    with contextlib.suppress(LedgerError):
        Checkpoint.parse(text)


# ---------------------------------------------------------------- key files


def test_key_file_round_trip_is_private_and_go_compatible(tmp_path: Path) -> None:
    signer = generate_key("scaleguard.local/my-lab")
    path = tmp_path / "ledger.key"
    save_private_key(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+scaleguard.local/my-lab+")
    assert sorted(os.listdir(tmp_path)) == ["ledger.key"]
    loaded = load_private_key(path)
    assert loaded.vkey == signer.vkey
    assert parse_vkey(signer.vkey) == signer.verifier
    go_key = tmp_path / "go.key"
    go_key.write_text(PETER_SKEY + "\n")
    go_key.chmod(0o600)
    assert load_private_key(go_key).vkey == PETER_VKEY


def test_existing_key_is_not_overwritten_by_default(tmp_path: Path) -> None:
    path = tmp_path / "ledger.key"
    first, second = generate_key("a.example/log"), generate_key("a.example/log")
    save_private_key(path, first)
    with pytest.raises(LedgerError, match="refusing to overwrite"):
        save_private_key(path, second)
    assert load_private_key(path).vkey == first.vkey
    save_private_key(path, second, overwrite=True)
    assert load_private_key(path).vkey == second.vkey


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX-only")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_readable_key_file_is_refused_with_chmod_hint(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "ledger.key"
    save_private_key(path, generate_key("a.example/log"))
    path.chmod(mode)
    with pytest.raises(LedgerError, match="accessible to other users") as info:
        load_private_key(path)
    assert info.value.hint == f"run: chmod 600 {path}"


def test_broken_or_missing_key_files_give_ledger_errors(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="does not exist"):
        load_private_key(tmp_path / "nope.key")
    path = tmp_path / "ledger.key"
    path.write_text(PETER_SKEY.replace("c74f20a3", "c74f20a4"))
    path.chmod(0o600)
    with pytest.raises(LedgerError, match="key ID does not match"):
        load_private_key(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(LedgerError, match="not a text signer key"):
        load_private_key(path)


@settings(max_examples=200, deadline=None)
@given(note_text)
def test_signed_but_malformed_checkpoint_bodies_only_raise_ledger_error(text: str) -> None:
    log = NoteSigner.from_seed("scaleguard.local/lab", bytes(32))
    with contextlib.suppress(LedgerError):
        cp = open_checkpoint(sign_note(text, log), log.verifier)
        assert cp.text() == text


def test_large_whole_doubles_round_trip_through_entries() -> None:
    import datetime as dt

    from scaleguard.ledger.canonical import entry_bytes, format_time, parse_entry

    moment = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    for value in (1e20, 2.0**60, 1.7e26, 9007199254740993.0):
        data = entry_bytes("model", moment, {"effective_compute": value})
        assert parse_entry(data).record == {"effective_compute": value}
    # digits no double can produce are not canonical
    forged = entry_bytes("model", moment, {"x": 1e20}).replace(
        b"100000000000000000000", b"100000000000000000001"
    )
    import pytest

    from scaleguard.errors import LedgerError

    with pytest.raises(LedgerError):
        parse_entry(forged)
    assert format_time(moment)
