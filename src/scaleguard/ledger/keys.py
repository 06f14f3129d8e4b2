"""The workspace's Ed25519 ledger key on disk.

The private key file holds one line, the signer key string of
:mod:`scaleguard.ledger.note` (``PRIVATE+KEY+<origin>+<key ID>+<base64>``),
which Go's ``sumdb/note.NewSigner`` also reads. It is written atomically
(temporary file, fsync, rename, directory fsync) with mode 0600, and refused
on load when group or others may read it: a leaked ledger key lets anyone
sign checkpoints in the log's name. The public half is shared as a vkey.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from scaleguard.errors import LedgerError, StoreError
from scaleguard.ledger.note import NoteSigner, NoteVerifier

#: Generous bound: a key line is about 100 bytes.
MAX_KEY_FILE_BYTES = 4096


def generate_key(origin: str) -> NoteSigner:
    """A fresh key whose name is the log origin, e.g. ``scaleguard.local/my-lab``."""
    return NoteSigner.generate(origin)


def save_private_key(path: Path, signer: NoteSigner, *, overwrite: bool = False) -> None:
    """Write the signer key to ``path`` with mode 0600, all or nothing.

    Refuses to replace an existing key unless ``overwrite`` is set, because a
    lost ledger key cannot sign the log's next checkpoint.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise LedgerError(
            f"refusing to overwrite the existing ledger key {path}",
            hint="move the old key away first if you really mean to rotate it",
        )
    data = (signer.skey + "\n").encode("utf-8")
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            if os.name == "posix":  # mkstemp already uses 0600; be explicit anyway
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_directory(directory)
    except OSError as exc:
        raise StoreError(
            f"cannot write the ledger key {path}: {exc.strerror or exc}",
            hint="check that the directory exists and is writable",
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_private_key(path: Path) -> NoteSigner:
    """Read a signer key, refusing files that group or others can read."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LedgerError(
            f"ledger key {path} does not exist",
            hint="create one with `scaleguard init`, or point to the right workspace",
        ) from None
    except OSError as exc:
        raise StoreError(f"cannot read the ledger key {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise LedgerError(f"ledger key {path} is not a regular file")
    if os.name == "posix" and info.st_mode & 0o077:
        raise LedgerError(
            f"ledger key {path} is accessible to other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"run: chmod 600 {path}",
        )
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise LedgerError(f"ledger key {path} is {info.st_size} bytes; not a key file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read the ledger key {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerError(f"ledger key {path} is not a text signer key") from None
    try:
        return NoteSigner.from_skey(text)
    except LedgerError as exc:
        raise LedgerError(f"ledger key {path}: {exc.message}", hint=exc.hint) from None


def public_vkey(signer: NoteSigner) -> str:
    """The verifier key string to publish next to the log."""
    return signer.vkey


def parse_vkey(vkey: str) -> NoteVerifier:
    """A trusted key from its published string; raises LedgerError if mangled."""
    return NoteVerifier.from_vkey(vkey)
