"""C2SP signed notes with Ed25519, and tlog checkpoints carried in them.

A signed note (https://c2sp.org/signed-note) is UTF-8 text ending in a
newline, a blank line, then one line per signature::

    <text, ending in \\n>
    \\n
    — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature)>\\n

The signature covers the text including its final newline. The key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``. Keys travel as strings
compatible with Go's ``golang.org/x/mod/sumdb/note``:

* verifier key (vkey): ``<name>+<hex key ID>+<base64(0x01 || 32-byte public key)>``
* signer key (skey):   ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>``

A checkpoint (https://c2sp.org/tlog-checkpoint) is a note whose text is
``<origin>\\n<tree size>\\n<base64 root hash>\\n`` plus optional extension lines.
Opening a note never raises anything but :class:`~scaleguard.errors.LedgerError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import HASH_SIZE, MAX_TREE_SIZE

ALG_ED25519 = 0x01
#: Notes are small; anything larger is hostile or a mistake.
MAX_NOTE_BYTES = 1 << 20
#: The spec asks verifiers to accept at least 16; Go stops at 100.
MAX_SIGNATURES = 100

_SIG_PREFIX = "\u2014 "
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)
_HEX8_RE = re.compile(r"[0-9a-f]{8}", re.ASCII)
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")


def b64decode_strict(text: str) -> bytes | None:
    """Standard base64 in its one canonical spelling, else None.

    Rejecting non-canonical padding bits means a changed character always
    changes the decoded bytes or fails, which the tamper tests rely on.
    """
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode spaces, no '+' (the C2SP and Go rule)."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def _check_key_name(name: str) -> None:
    if not valid_key_name(name):
        raise LedgerError(
            f"invalid key name {name!r}",
            hint="use a non-empty name without spaces or '+', e.g. scaleguard.local/my-lab",
        )
    if _CONTROL_RE.search(name):
        raise LedgerError(f"invalid key name {name!r}: control characters are not allowed")


def key_id(name: str, public_key: bytes) -> bytes:
    """4-byte C2SP key ID of an Ed25519 key under ``name``."""
    payload = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(payload).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 public key and the name it signs under."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise LedgerError(f"Ed25519 public key must be 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key string to publish."""
        body = b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{body}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``name+keyid+base64(0x01 || pub)``; reject any mangling."""
        hint = "a verifier key looks like example.com/log+1a2b3c4d+AQ... (name+key ID+key)"
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise LedgerError("malformed verifier key: expected name+keyid+key", hint=hint)
        name, hex_id, body = parts
        if not valid_key_name(name):
            raise LedgerError(f"malformed verifier key: invalid key name {name!r}", hint=hint)
        if not _HEX8_RE.fullmatch(hex_id):
            raise LedgerError(
                f"malformed verifier key: key ID {hex_id!r} is not 8 lowercase hex digits",
                hint=hint,
            )
        raw = b64decode_strict(body)
        if raw is None:
            raise LedgerError("malformed verifier key: key is not valid base64", hint=hint)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise LedgerError(
                "unsupported verifier key: only Ed25519 keys (type 0x01, 32 bytes) are accepted",
                hint=hint,
            )
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise LedgerError(
                f"verifier key ID {hex_id} does not match its name and key "
                f"(expected {verifier.key_id.hex()})",
                hint="the verifier key was altered or truncated; copy it again",
            )
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class NoteSigner:
    """An Ed25519 private key and the name it signs under (the log origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self.name = name
        self.private_key = private_key

    def __repr__(self) -> str:
        return f"NoteSigner({self.vkey!r})"

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        if len(seed) != 32:
            raise LedgerError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+name+keyid+base64(0x01 || seed)`` (Go's signer key format)."""
        hint = "a signer key looks like PRIVATE+KEY+<name>+<key ID>+<base64 key>"
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise LedgerError(
                "malformed signer key: expected PRIVATE+KEY+name+keyid+key", hint=hint
            )
        name, hex_id, body = parts[2], parts[3], parts[4]
        if not valid_key_name(name):
            raise LedgerError(f"malformed signer key: invalid key name {name!r}", hint=hint)
        if not _HEX8_RE.fullmatch(hex_id):
            raise LedgerError(
                "malformed signer key: key ID is not 8 lowercase hex digits", hint=hint
            )
        raw = b64decode_strict(body)
        if raw is None or len(raw) != 33 or raw[0] != ALG_ED25519:
            raise LedgerError(
                "malformed signer key: expected base64 of 0x01 followed by a 32-byte seed",
                hint=hint,
            )
        signer = cls.from_seed(name, raw[1:])
        if signer.key_id.hex() != hex_id:
            raise LedgerError(
                "signer key ID does not match its name and key",
                hint="the key file was altered; restore it from a backup",
            )
        return signer

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def seed(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    @property
    def skey(self) -> str:
        """The secret signer key string; write it only to a 0600 file."""
        body = b64encode(bytes([ALG_ED25519]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{body}"

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@dataclass(frozen=True)
class NoteSignature:
    """One verified signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def key_label(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise LedgerError("note text must end with a newline")
    match = _CONTROL_RE.search(text)
    if match:
        raise LedgerError(
            f"note text contains control character {match.group()!r} at offset {match.start()}"
        )


def sign_note(text: str, signer: NoteSigner, *cosigners: NoteSigner) -> bytes:
    """Sign ``text`` (which must end in a newline) and return the encoded note."""
    _check_text(text)
    message = text.encode("utf-8")
    lines = []
    for s in (signer, *cosigners):
        blob = b64encode(s.key_id + s.sign(message))
        lines.append(f"{_SIG_PREFIX}{s.name} {blob}\n")
    return message + b"\n" + "".join(lines).encode("utf-8")


def _malformed(reason: str) -> LedgerError:
    return LedgerError(
        f"malformed signed note: {reason}",
        hint="a signed note is text, a blank line, then lines '— <key name> <base64 signature>'",
    )


def _decode_note(data: bytes) -> str:
    if not isinstance(data, bytes | bytearray):
        raise _malformed(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_NOTE_BYTES:
        raise _malformed(f"note is {len(data)} bytes; the limit is {MAX_NOTE_BYTES}")
    try:
        msg = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"not valid UTF-8 at byte {exc.start}") from None
    match = _CONTROL_RE.search(msg)
    if match:
        line = msg.count("\n", 0, match.start()) + 1
        raise _malformed(f"control character {match.group()!r} on line {line}")
    return msg


def _index_verifiers(verifiers: Sequence[NoteVerifier]) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        slot = (v.name, v.key_id)
        if slot in known and known[slot].public_key != v.public_key:
            raise LedgerError(
                f"two different trusted keys share the name and key ID {v.name}+{v.key_id.hex()}",
                hint="remove one of them from the trusted keys",
            )
        known[slot] = v
    return known


def open_note(data: bytes, verifiers: Sequence[NoteVerifier]) -> tuple[str, list[NoteSignature]]:
    """Parse a signed note and verify it against trusted keys.

    Returns the text and the signatures that verified. Signatures from unknown
    keys are ignored; a failing signature from a trusted key rejects the whole
    note, as does a note no trusted key signed.
    """
    msg = _decode_note(data)
    split = msg.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line separating the text from the signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block:
        raise _malformed("no signature lines after the blank line")
    if not block.endswith("\n"):
        raise _malformed("the last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"{len(lines)} signature lines; the limit is {MAX_SIGNATURES}")
    known = _index_verifiers(verifiers)
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    unknown: list[str] = []
    first_sig_line = text.count("\n") + 2
    for offset, line in enumerate(lines):
        where = f"line {first_sig_line + offset}"
        if not line.startswith(_SIG_PREFIX):
            raise _malformed(f"{where} does not start with an em dash and a space")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not valid_key_name(name):
            raise _malformed(f"{where}: invalid key name {name!r}")
        raw = b64decode_strict(b64)
        if raw is None:
            raise _malformed(f"{where}: signature is not valid base64")
        if len(raw) < 5:
            raise _malformed(f"{where}: signature is too short ({len(raw)} bytes)")
        kid, sig = raw[:4], raw[4:]
        verifier = known.get((name, kid))
        if verifier is None:
            unknown.append(f"{name}+{kid.hex()}")
            continue
        if not verifier.verify(message, sig):
            raise LedgerError(
                f"signature by trusted key {name}+{kid.hex()} does not verify",
                hint="the note text was changed after signing, or the signature was forged",
            )
        if (name, kid) not in seen:
            seen.add((name, kid))
            verified.append(NoteSignature(name, kid, sig))
    if not verified:
        trusted = ", ".join(f"{n}+{k.hex()}" for n, k in known) or "none"
        found = ", ".join(unknown) or "none"
        raise LedgerError(
            "note is not signed by any trusted key "
            f"(signatures found from: {found}; trusted: {trusted})",
            hint="check that you use the log's published verifier key (vkey)",
        )
    return text, verified


# --------------------------------------------------------------------------
# tlog checkpoints
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log identity, its size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL_RE.search(self.origin):
            raise LedgerError(f"invalid checkpoint origin {self.origin!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise LedgerError(f"checkpoint tree size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise LedgerError(f"checkpoint root must be {HASH_SIZE} bytes, got {len(self.root)}")
        for ext in self.extensions:
            if not ext or "\n" in ext or _CONTROL_RE.search(ext):
                raise LedgerError(f"invalid checkpoint extension line {ext!r}")

    def text(self) -> str:
        """The note text: origin, size, base64 root, extension lines."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse checkpoint note text; errors name the offending line."""
        if not text.endswith("\n"):
            raise LedgerError("malformed checkpoint: text does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise LedgerError(
                f"malformed checkpoint: {len(lines)} line(s); need origin, tree size and root hash"
            )
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise LedgerError("malformed checkpoint: line 1 (origin) is empty")
        if not _SIZE_RE.fullmatch(size_text):
            raise LedgerError(
                f"malformed checkpoint: line 2 (tree size) {size_text[:40]!r} is not a decimal "
                "without leading zeros, below 2^63"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise LedgerError(f"malformed checkpoint: line 2 (tree size) {size} is too large")
        root = b64decode_strict(root_text)
        if root is None or len(root) != HASH_SIZE:
            raise LedgerError(
                "malformed checkpoint: line 3 (root hash) is not base64 of a 32-byte hash"
            )
        for number, ext in enumerate(extensions, start=4):
            if not ext:
                raise LedgerError(f"malformed checkpoint: line {number} (extension) is empty")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """Signed note for ``checkpoint``; the key name should equal the origin."""
    return sign_note(checkpoint.text(), signer)


def open_checkpoint(
    data: bytes,
    log_key: NoteVerifier,
    *,
    origin: str | None = None,
    witnesses: Sequence[NoteVerifier] = (),
) -> Checkpoint:
    """Verify a signed checkpoint from the log ``log_key`` and parse it.

    The log's own signature is required (witness signatures alone do not
    count) and the origin must equal ``origin``, which defaults to the key
    name: a valid signature over another log's checkpoint proves nothing here.
    """
    text, signatures = open_note(data, [log_key, *witnesses])
    if not any(s.name == log_key.name and s.key_id == log_key.key_id for s in signatures):
        raise LedgerError(
            f"checkpoint is not signed by the log key {log_key.name}+{log_key.key_id.hex()}"
        )
    checkpoint = Checkpoint.parse(text)
    want = log_key.name if origin is None else origin
    if checkpoint.origin != want:
        raise LedgerError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected log {want!r}",
            hint="this checkpoint belongs to a different log",
        )
    return checkpoint
