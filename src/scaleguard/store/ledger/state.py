"""The signer's state file ``keys/ledger.state``: an append-only log of what it signed.

The signer must know, independently of the database, the latest checkpoint it
signed (see :mod:`scaleguard.store.ledger.signer`), so the state is updated
after every commit that signs one. Rewriting a JSON document for that
(temporary file, fsync, rename, fsync of the folder) cost more than the commit
itself; appending one line and one ``fdatasync`` costs one small write.

Format (version 2), one line per signed checkpoint after a header line::

    scaleguard-ledger-state/2
    {"size":0,"checkpoint":"<signed note>","frontier":[]}
    {"size":1,"checkpoint":"<signed note>","frontier":["<base64 hash>"]}

The **last complete line** is the state; it is checked against the key when
read (the note's signature, its size, and that the frontier folds to its
root). Earlier lines are history and are not read again.

* **Torn line.** Bytes after the last newline are what a crash left of a line
  being appended (one ``write`` of a line ending in its only newline can only
  leave a prefix without it). They are ignored, reported in
  :attr:`SignerState.torn`, and the next write rewrites the file without
  them. The state is then one checkpoint behind the database, which the
  signer handles like any crash between commit and state write (it adopts
  its own newer checkpoint).
* **A complete line that does not verify** is not a crash artifact: reading
  fails (fail closed) and the signer refuses to sign until the file is
  restored from a backup.
* **Ordering.** A line is appended only after the transaction that stored its
  checkpoint committed durably, so the file never claims a checkpoint the
  database might not hold; after a crash it can only lag behind.
* **Compaction.** Once the file passes :data:`COMPACT_BYTES`, the next write
  replaces it (temporary file, fsync, rename, folder fsync) with the header and
  the newest line: once every few thousand writes.
* **Version 1** (one JSON object, written by earlier scaleguard) is still
  read; the next write converts the file.
* **Cache.** :class:`StateLog` remembers the state it last verified together
  with the file's ``(device, inode, size, mtime_ns)``. The file only grows
  (appends) or is replaced (new inode), so an unchanged key means unchanged
  contents, and a seal costs one ``stat`` instead of a read, a parse and a
  signature check. Only the key holder can write ``keys/``; the cache guards
  against nobody but them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaleguard.errors import LedgerError
from scaleguard.ledger.merkle import HASH_SIZE
from scaleguard.ledger.note import NoteVerifier, b64decode_strict
from scaleguard.store.ledger.frontier import SignedTree, signed_tree

#: First line of a version-2 state file.
HEADER = b"scaleguard-ledger-state/2\n"
#: ``format`` of the single JSON document earlier scaleguard wrote (read, then converted).
LEGACY_FORMAT = "scaleguard-ledger-state/1"
MAX_LEGACY_BYTES = 1 << 16
#: Longest line read (a note and up to 64 frontier hashes take about 3.5 KiB).
MAX_LINE = 1 << 14
#: Size past which the next write compacts the file to its newest line.
COMPACT_BYTES = 1 << 20

_StatKey = tuple[int, int, int, int]


@dataclass(frozen=True)
class SignerState:
    """The latest tree the signer signed, as read from ``keys/ledger.state``."""

    signed: SignedTree
    #: Bytes of an incomplete final line that were ignored (a crash while appending).
    torn: int = 0
    #: Read from the version-1 format; the next write converts the file.
    legacy: bool = False

    @property
    def warning(self) -> str | None:
        """What a user should know about how this state was read, if anything."""
        if not self.torn:
            return None
        return (
            f"keys/ledger.state ends in an incomplete line ({self.torn} bytes, left by a crash "
            f"while it was written); its previous line (checkpoint of size {self.signed.size}) "
            "is used, newer checkpoints the database holds are adopted, and the next write "
            "rewrites the file"
        )


def state_line(tree: SignedTree) -> bytes:
    """One line of the state log for ``tree`` (JSON escapes the note's newlines)."""
    body = {
        "size": tree.size,
        "checkpoint": tree.note.decode("utf-8"),
        "frontier": [base64.b64encode(h).decode("ascii") for h in tree.frontier],
    }
    return json.dumps(body, separators=(",", ":")).encode("ascii") + b"\n"


def _tree_from(value: Any, verifier: NoteVerifier, where: str, keys: set[str]) -> SignedTree:
    if not isinstance(value, dict) or set(value) != keys:
        raise LedgerError(f"{where}: expected an object with {', '.join(sorted(keys))}")
    note, frontier = value["checkpoint"], value["frontier"]
    if not isinstance(note, str) or not isinstance(frontier, list):
        raise LedgerError(f"{where}: 'checkpoint' must be text and 'frontier' a list")
    hashes: list[bytes] = []
    for n, item in enumerate(frontier):
        raw = b64decode_strict(item) if isinstance(item, str) else None
        if raw is None or len(raw) != HASH_SIZE:
            raise LedgerError(f"{where}.frontier[{n}] is not a base64 SHA-256 hash")
        hashes.append(raw)
    try:
        tree = signed_tree(note.encode("utf-8"), hashes, verifier)
    except LedgerError as exc:
        raise LedgerError(f"{where}: {exc.message}", hint=exc.hint) from None
    size = value.get("size", tree.size)
    if type(size) is not int or size != tree.size:
        raise LedgerError(f"{where}: 'size' is not the size of its checkpoint ({tree.size})")
    return tree


def _legacy(raw: bytes, verifier: NoteVerifier, path: Path) -> SignerState:
    if len(raw) > MAX_LEGACY_BYTES:
        raise LedgerError(f"signer state {path} is {len(raw)} bytes; not a state file")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"signer state {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
        raise LedgerError(f"signer state {path}: 'format' must be {LEGACY_FORMAT!r}")
    tree = _tree_from(data.get("signed"), verifier, f"{path}: $.signed", {"checkpoint", "frontier"})
    return SignerState(tree, legacy=True)


#: ``fdatasync`` where the platform has it (Linux); ``fsync`` elsewhere (macOS, Windows).
_datasync = getattr(os, "fdatasync", os.fsync)


def _read_at(fd: int, length: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, length, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - platforms without pread
    return os.read(fd, length)  # pragma: no cover


def _pread(fd: int, length: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while length > 0:
        chunk = _read_at(fd, length, offset)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _read_fd(fd: int, size: int, verifier: NoteVerifier, path: Path) -> SignerState:
    """The state in the first ``size`` bytes of the open file: its last complete line."""
    head = _pread(fd, min(size, len(HEADER)), 0)
    if head.startswith(b"{"):
        return _legacy(_pread(fd, min(size, MAX_LEGACY_BYTES + 1), 0), verifier, path)
    if head != HEADER:
        raise LedgerError(f"signer state {path} does not start with {HEADER.decode().strip()!r}")
    # From the header's newline on, or far enough back to hold the newline before the last line.
    start = max(len(HEADER) - 1, size - 2 * MAX_LINE)
    tail = _pread(fd, size - start, start)
    end = tail.rfind(b"\n")
    prev = tail.rfind(b"\n", 0, end) if end > 0 else -1
    if prev < 0:
        what = "holds no checkpoint" if start == len(HEADER) - 1 else "has a line that is too long"
        raise LedgerError(f"signer state {path} {what}")
    torn = len(tail) - end - 1
    where = f"{path}: line ending at byte {start + end + 1}"
    try:
        value = json.loads(tail[prev + 1 : end])
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"{where} is not JSON: {exc}") from None
    tree = _tree_from(value, verifier, where, {"size", "checkpoint", "frontier"})
    return SignerState(tree, torn=torn)


def _stat_key(st: os.stat_result) -> _StatKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _unreadable(path: Path, exc: OSError) -> LedgerError:
    return LedgerError(f"cannot read the signer state {path}: {exc.strerror or exc}")


def _hinted(path: Path, exc: LedgerError) -> LedgerError:
    return LedgerError(exc.message, hint=f"restore {path} from a backup of the keys folder")


def read_state(path: Path, verifier: NoteVerifier) -> SignerState | None:
    """The signer's state, verified against ``verifier``; None when there is no file."""
    return StateLog(path, verifier).read()


def write_state(path: Path, state: SignerState) -> None:
    """Replace the state file atomically and durably with one line (mode 0600).

    For a new log, adoption, compaction and conversion: rare, so the full
    temporary-file dance is affordable here.
    """
    data = HEADER + state_line(state.signed)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise LedgerError(f"cannot write the signer state {path}: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the state across processes, for read-check-append."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class StateLog:
    """``keys/ledger.state`` for one signer: cached reads, appends that only move forward."""

    def __init__(self, path: Path, verifier: NoteVerifier) -> None:
        self.path = path
        self.verifier = verifier
        self._mutex = threading.Lock()
        self._cached: tuple[_StatKey, SignerState] | None = None

    def read(self) -> SignerState | None:
        """The state (None when there is no file); re-verified only when the file changed."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _unreadable(self.path, exc) from None
        cached = self._cached
        if cached is not None and cached[0] == _stat_key(st):
            return cached[1]
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _unreadable(self.path, exc) from None
        try:
            return self._load(fd)
        finally:
            os.close(fd)

    def _load(self, fd: int) -> SignerState:
        try:
            st = os.fstat(fd)
            key = _stat_key(st)
            cached = self._cached
            if cached is not None and cached[0] == key:
                return cached[1]
            state = _read_fd(fd, st.st_size, self.verifier, self.path)
        except OSError as exc:
            raise _unreadable(self.path, exc) from None
        except LedgerError as exc:
            raise _hinted(self.path, exc) from None
        self._cached = (key, state)
        return state

    def record(self, tree: SignedTree) -> None:
        """Make ``tree`` the state, unless the file already holds a tree as large.

        Called after the commit that stored ``tree``'s checkpoint. Concurrent
        writers (threads, processes) may record out of order; the size check
        under the lock keeps the state from moving backwards.
        """
        with self._mutex, locked(self.path):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
            except FileNotFoundError:
                self._replace(tree)
                return
            except OSError as exc:
                raise _unreadable(self.path, exc) from None
            rewrite = False
            try:
                current = self._load(fd)
                if current.signed.size >= tree.size:
                    return
                if current.legacy or current.torn or os.fstat(fd).st_size >= COMPACT_BYTES:
                    rewrite = True
                else:
                    _write_all(fd, state_line(tree))
                    _datasync(fd)
                    self._cached = (_stat_key(os.fstat(fd)), SignerState(tree))
            except OSError as exc:
                raise LedgerError(
                    f"cannot append to the signer state {self.path}: {exc.strerror or exc}"
                ) from None
            finally:
                os.close(fd)
            if rewrite:
                self._replace(tree)

    def _replace(self, tree: SignedTree) -> None:
        state = SignerState(tree)
        write_state(self.path, state)
        with contextlib.suppress(OSError):
            self._cached = (_stat_key(os.stat(self.path)), state)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
