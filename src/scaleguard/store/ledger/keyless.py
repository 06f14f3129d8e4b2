"""What a copy of the workspace without the ledger key checks its reads against.

A reviewer, a watchdog or a regulator usually gets a workspace without
``keys/``: no signer state and no census file. Its reads check against the
database's newest checkpoint, verified with the public key and the stored
tree's root (:func:`published_checkpoint`), and a census counted from the
entries themselves (:func:`~scaleguard.store.ledger.census.count_from`).

Counting reads every entry, about half a second per 100,000 small ones, so
the census is kept in the user's own cache folder (``SCALEGUARD_CACHE_DIR``,
else ``$XDG_CACHE_HOME/scaleguard``, else ``~/.cache/scaleguard``), one file
per log (its origin and key) in the census file's format: the next process
counts only the entries signed since. The file is trusted as the user's own
files are; it never comes with the copy, and nothing the copy holds is
written there that was not counted from the entries and checked against a
signed root. A file that does not fit the signed tree (another history of
the same log, a garbled or foreign file) is counted again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger.note import Checkpoint, NoteVerifier, open_checkpoint
from scaleguard.store.ledger.census import EMPTY, HINT, Census, CensusLog, count_from

__all__ = ["cache_dir", "counted_for_copy", "published_checkpoint"]

#: Censuses kept in memory by tree size, per (database URL, origin), when no cache folder
#: can be written.
_HISTORY = 64
_in_memory: dict[tuple[str, str], dict[int, Census]] = {}
_logs: dict[Path, CensusLog] = {}
_logs_lock = threading.Lock()


def published_checkpoint(session: Session, verifier: NoteVerifier) -> Checkpoint:
    """The database's newest checkpoint, signed by ``verifier``'s key, whose root the stored
    tree gives: what a copy without the key (and so without the signer's state) checks
    against. Deleting the newest entries together with their checkpoints goes unseen
    here; ``ledger verify --against`` a checkpoint published earlier catches it."""
    from scaleguard.store.ledger.signer import latest_row
    from scaleguard.store.ledger.tree import root_at

    newest = latest_row(session)
    if newest is None:
        raise LedgerIntegrityError(
            "the database holds no signed checkpoint to check its rows against", hint=HINT
        )
    try:
        checkpoint = open_checkpoint(newest[1], verifier)
        stored = root_at(session, checkpoint.size)
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"the newest checkpoint cannot be used: {exc.message}", hint=HINT
        ) from None
    if stored != checkpoint.root:
        raise LedgerIntegrityError(
            f"the stored tree's root at size {checkpoint.size} is not the signed one", hint=HINT
        )
    return checkpoint


def cache_dir() -> Path | None:
    """The folder the census of copies without the key is kept in (None: no home)."""
    configured = os.environ.get("SCALEGUARD_CACHE_DIR")
    if configured:
        return Path(configured) / "census"
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory to be found
            return None
    return Path(base) / "scaleguard" / "census"


def counted_for_copy(session: Session, signed: Checkpoint, key_id: bytes) -> Census:
    """The census of ``signed`` for a copy without the key: from the user's cache where it
    fits ``signed`` (counted on from there), else counted from the entries."""
    log = _log(signed.origin, key_id)
    if log is None:
        return _counted_in_memory(session, signed)
    try:
        return log.at(session, signed)
    except LedgerIntegrityError:
        # Counted on from what the cache holds, which may be another history of this log
        # (an earlier copy): count this copy on its own, which fails only if it is bad.
        return _counted_in_memory(session, signed)


def _log(origin: str, key_id: bytes) -> CensusLog | None:
    folder = cache_dir()
    if folder is None:
        return None
    name = hashlib.sha256(origin.encode("utf-8") + b"\n" + key_id).hexdigest()[:32]
    path = folder / f"{name}.census"
    with _logs_lock:
        log = _logs.get(path)
        if log is None:
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError:
                return None
            log = _logs[path] = CensusLog(path)
        return log


def _counted_in_memory(session: Session, signed: Checkpoint) -> Census:
    """The census of ``signed`` counted from the entries, kept for this process only."""
    key = (str(session.connection().engine.url), signed.origin)
    known = _in_memory.setdefault(key, {})
    found = known.get(signed.size)
    if found is not None and found.root == signed.root:
        return found
    base = max(
        (c for c in known.values() if c.size <= signed.size), key=lambda c: c.size, default=EMPTY
    )
    census = count_from(session, base, signed)
    if len(known) >= _HISTORY:
        known.clear()
    known[signed.size] = census
    return census


def forget() -> None:
    """Drop what this process holds (the cache files stay)."""
    with _logs_lock:
        _logs.clear()
    _in_memory.clear()
