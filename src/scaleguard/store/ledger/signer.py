"""The log's signer: it only ever extends the tree it left signed itself.

Whoever can write the database (on PostgreSQL, any database administrator)
can rewrite entries, recompute every stored hash, append rows and delete
checkpoints. So the signer does not learn "what it signed last" from the
database: it keeps its own state beside the key, in ``keys/ledger.state``:

* the latest checkpoint it signed (the signed note, verbatim), and
* the *frontier* of that tree: the hashes of its maximal complete subtrees
  (one per set bit of the size), which fold to the signed root and are all
  it needs to compute the root of the tree with more leaves appended.

Every write transaction that appends entries is sealed before it commits
(:meth:`LedgerSigner.seal`, called by :meth:`scaleguard.store.db.Store.write`):
the database must hold exactly the entries the state covers plus the ones
this transaction appended, its newest checkpoint must be the state's, and its
stored tree must give the signed root. Then the signer extends its *own*
frontier with the leaves this transaction appended, signs that root and
stores the checkpoint row in the same transaction. Anything else (forged
appends, rewritten history, deleted entries or checkpoints) is refused with
:class:`~scaleguard.errors.LedgerIntegrityError` and the write rolls back.

The state is written after the commit. A crash (or a concurrent writer)
between the commit and that write leaves the database one checkpoint ahead of
the file; that checkpoint is adopted next time because it carries the
signer's own valid signature and extends the state: only the signer can have
made it. Its note never existed anywhere but in the committed row.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger.canonical import format_time
from scaleguard.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NodeSource,
    node_hash,
    verify_consistency,
)
from scaleguard.ledger.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    b64decode_strict,
    open_checkpoint,
    sign_checkpoint,
)
from scaleguard.store.ledger.tree import prove_consistency, root_at, with_nodes
from scaleguard.store.tables import LedgerCheckpointRow, LedgerEntryRow

#: ``tx.info`` key under which :func:`scaleguard.store.repo.append_record` lists
#: the ``(index, leaf hash)`` of every entry the transaction appended.
APPENDED = "scaleguard.ledger.appended"
STATE_FORMAT = "scaleguard-ledger-state/1"
MAX_STATE_BYTES = 1 << 16

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_CHECKPOINTS = cast(Table, LedgerCheckpointRow.__table__)
REFUSE = "refusing to sign"


# -- the frontier ----------------------------------------------------------------------


def frontier_levels(size: int) -> list[int]:
    """Levels of the maximal complete subtrees of a tree of ``size`` leaves, largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def fold(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose maximal complete subtrees are ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = node_hash(h, acc)
    return acc


def extend(frontier: Sequence[bytes], size: int, leaves: Sequence[bytes]) -> tuple[bytes, ...]:
    """The frontier after appending ``leaves`` (leaf hashes) to a tree of ``size``."""
    stack = [(level, h) for level, h in zip(frontier_levels(size), frontier, strict=True)]
    for leaf in leaves:
        level, h = 0, leaf
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level += 1
        stack.append((level, h))
    return tuple(h for _, h in stack)


def stored_frontier(session: Session, size: int) -> tuple[bytes, ...]:
    """The frontier of the tree of ``size`` read from ``ledger_nodes`` (unverified)."""

    def frontier_of(source: NodeSource) -> tuple[bytes, ...]:
        out, start = [], 0
        for level in frontier_levels(size):
            out.append(source.node(level, start >> level))
            start += 1 << level
        return tuple(out)

    return with_nodes(session, frontier_of)


@dataclass(frozen=True)
class SignedTree:
    """A checkpoint the signer signed, with the frontier that folds to its root."""

    note: bytes
    checkpoint: Checkpoint
    frontier: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def signed_tree(note: bytes, frontier: Sequence[bytes], verifier: NoteVerifier) -> SignedTree:
    """Check a signed note and its frontier against each other; LedgerError if they disagree."""
    checkpoint = open_checkpoint(note, verifier)
    frontier = tuple(frontier)
    if len(frontier) != len(frontier_levels(checkpoint.size)) or fold(frontier) != checkpoint.root:
        raise LedgerError(
            f"the frontier kept with the checkpoint of size {checkpoint.size} "
            "does not fold to its root"
        )
    return SignedTree(note, checkpoint, frontier)


def empty_tree(signer: NoteSigner) -> SignedTree:
    """The signed empty tree every log starts with."""
    note = sign_checkpoint(Checkpoint(signer.name, 0, EMPTY_ROOT), signer)
    return SignedTree(note, Checkpoint(signer.name, 0, EMPTY_ROOT), ())


# -- the state file ------------------------------------------------------------------


@dataclass(frozen=True)
class SignerState:
    """What ``keys/ledger.state`` holds: the latest tree the signer signed."""

    signed: SignedTree


def _tree_json(tree: SignedTree) -> dict[str, Any]:
    return {
        "checkpoint": tree.note.decode("utf-8"),
        "frontier": [base64.b64encode(h).decode("ascii") for h in tree.frontier],
    }


def _tree_from(value: Any, verifier: NoteVerifier, where: str) -> SignedTree:
    if not isinstance(value, dict) or set(value) != {"checkpoint", "frontier"}:
        raise LedgerError(f"{where}: expected an object with 'checkpoint' and 'frontier'")
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
        return signed_tree(note.encode("utf-8"), hashes, verifier)
    except LedgerError as exc:
        raise LedgerError(f"{where}: {exc.message}", hint=exc.hint) from None


def read_state(path: Path, verifier: NoteVerifier) -> SignerState | None:
    """The signer's state, verified against ``verifier``; None when there is no file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read the signer state {path}: {exc.strerror or exc}") from None
    hint = f"restore {path} from a backup of the keys folder"
    if len(raw) > MAX_STATE_BYTES:
        raise LedgerError(f"signer state {path} is {len(raw)} bytes; not a state file", hint=hint)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"signer state {path} is not JSON: {exc}", hint=hint) from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise LedgerError(f"signer state {path}: 'format' must be {STATE_FORMAT!r}", hint=hint)
    try:
        signed = _tree_from(data.get("signed"), verifier, f"{path}: $.signed")
    except LedgerError as exc:
        raise LedgerError(exc.message, hint=hint) from None
    return SignerState(signed)


def write_state(path: Path, state: SignerState) -> None:
    """Replace the state file atomically and durably (mode 0600)."""
    body = {
        "format": STATE_FORMAT,
        "signed": _tree_json(state.signed),
    }
    data = (json.dumps(body, indent=1) + "\n").encode("utf-8")
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
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the state, across processes (read-modify-write)."""
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


# -- the database against the state ------------------------------------------------


def _latest_row(session: Session) -> tuple[int, bytes] | None:
    row = session.execute(
        select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.note)
        .order_by(_CHECKPOINTS.c.size.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    try:
        return int(row[0]), bytes(row[1])
    except (TypeError, ValueError):
        raise LedgerIntegrityError(
            f"{REFUSE}: the newest ledger_checkpoints row holds values of the wrong type",
            hint="the checkpoints table was edited; run 'scaleguard ledger verify --full'",
        ) from None


def _root_from_db(session: Session, size: int) -> bytes:
    try:
        return root_at(session, size)
    except LedgerError as exc:
        raise LedgerIntegrityError(f"{REFUSE}: {exc.message}", hint=exc.hint) from None


def _roll_forward(session: Session, tree: SignedTree, verifier: NoteVerifier) -> SignedTree:
    """Adopt a newer checkpoint row the signer itself signed and that extends ``tree``."""
    latest = _latest_row(session)
    if latest is None or latest[0] <= tree.size:
        return tree
    size, note = latest
    try:
        newer = open_checkpoint(note, verifier)
    except LedgerError:
        raise LedgerIntegrityError(
            f"{REFUSE}: the database holds a checkpoint of size {size} the signer never "
            f"signed (its latest covers {tree.size} entries)",
            hint="entries and checkpoints were added without the key; restore the database "
            "from a backup that matches keys/ledger.state",
        ) from None
    try:
        proof = prove_consistency(session, tree.size, newer.size)
        verify_consistency(tree.size, newer.size, tree.root, newer.root, proof)
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"{REFUSE}: the checkpoint of size {newer.size} does not extend the signer's "
            f"latest (size {tree.size}): {exc.message}",
            hint="run 'scaleguard ledger verify --full'",
        ) from None
    try:
        frontier = stored_frontier(session, newer.size)
        return signed_tree(note, frontier, verifier)
    except LedgerError as exc:
        raise LedgerIntegrityError(f"{REFUSE}: {exc.message}", hint=exc.hint) from None


def check_extends(session: Session, tree: SignedTree, appended: Sequence[int] = ()) -> None:
    """The database holds exactly ``tree`` plus the entries at ``appended``; else refuse.

    Checks that the newest checkpoint row is the signer's own, that no entry
    was added or deleted outside the signer's view, and that the stored tree
    gives the root the signer signed.
    """
    hint = (
        "the database no longer extends the signer's latest checkpoint "
        f"(size {tree.size}, kept in keys/ledger.state); run 'scaleguard ledger verify --full' "
        "and restore the database from a backup"
    )
    latest = _latest_row(session)
    if latest is None:
        raise LedgerIntegrityError(
            f"{REFUSE}: the database holds no checkpoint, but the signer last signed "
            f"{tree.size} entries: checkpoint rows were deleted",
            hint=hint,
        )
    size, note = latest
    if size < tree.size:
        raise LedgerIntegrityError(
            f"{REFUSE}: the newest checkpoint in the database covers {size} entries, but the "
            f"signer last signed {tree.size}: newer entries and checkpoints were deleted",
            hint=hint,
        )
    if size > tree.size or note != tree.note:
        raise LedgerIntegrityError(
            f"{REFUSE}: the checkpoint row of size {size} is not the one the signer signed",
            hint=hint,
        )
    # The highest index is an index lookup; counting rows would scan the table on every
    # write, so a hole in the middle (a deleted old entry) is left to 'verify' to report.
    top = session.execute(select(func.max(_ENTRIES.c.idx))).scalar()
    try:
        highest = -1 if top is None else int(top)
    except (TypeError, ValueError):
        raise LedgerIntegrityError(
            f"{REFUSE}: ledger_entries holds an index that is not an integer", hint=hint
        ) from None
    expected = tree.size + len(appended)
    if list(appended) != list(range(tree.size, expected)) or highest + 1 > expected:
        first = appended[0] if appended else highest + 1
        raise LedgerIntegrityError(
            f"{REFUSE}: the signer last signed {tree.size} entries, but the database has "
            f"entries up to index {max(highest, first - 1)} it never signed "
            f"(from index {tree.size} on): they were appended without the key",
            hint=hint,
        )
    if highest + 1 != expected:
        raise LedgerIntegrityError(
            f"{REFUSE}: the signer signed {tree.size} entries, but the database's entries "
            f"end at index {highest}: the newest entries were deleted",
            hint=hint,
        )
    if _root_from_db(session, tree.size) != tree.root:
        raise LedgerIntegrityError(
            f"{REFUSE}: the stored tree's root at size {tree.size} is not the root the signer "
            "signed there: history was rewritten",
            hint=hint,
        )


# -- sealing write transactions -------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """What :meth:`LedgerSigner.seal` signed, for :meth:`committed` / :meth:`aborted`."""

    before: SignedTree
    after: SignedTree


class LedgerSigner:
    """Signs every write transaction's new entries before it commits (see module doc)."""

    def __init__(self, signer: NoteSigner, state_path: Path) -> None:
        self.signer = signer
        self.state_path = state_path

    @property
    def verifier(self) -> NoteVerifier:
        return self.signer.verifier

    def _state(self) -> SignerState:
        state = read_state(self.state_path, self.verifier)
        if state is None:
            raise LedgerError(
                f"{REFUSE}: the signer state {self.state_path} is missing",
                hint="it is kept beside the key and written by every signing; restore it from "
                "the backup of the keys folder, or, for a workspace made before signer state "
                "existed, run 'scaleguard ledger adopt' after 'scaleguard ledger verify --full'",
            )
        return state

    def latest(self, session: Session) -> SignedTree:
        """The signer's latest checkpoint, after checking the database still extends it."""
        with _locked(self.state_path):
            state = self._state()
            tree = _roll_forward(session, state.signed, self.verifier)
            if tree is not state.signed:
                write_state(self.state_path, SignerState(tree))
        check_extends(session, tree)
        return tree

    def seal(self, tx: Session) -> Sealed | None:
        """Sign the entries ``tx`` appended, in ``tx``; refuse unless the database extends
        exactly the signer's latest checkpoint."""
        appended: list[tuple[int, bytes]] = tx.info.pop(APPENDED, [])
        if not appended:
            return None
        with _locked(self.state_path):
            before = _roll_forward(tx, self._state().signed, self.verifier)
        check_extends(tx, before, [idx for idx, _ in appended])
        leaves = [leaf for _, leaf in appended]
        frontier = extend(before.frontier, before.size, leaves)
        size, new_root = before.size + len(leaves), fold(frontier)
        if _root_from_db(tx, size) != new_root:
            raise LedgerIntegrityError(
                f"{REFUSE}: the stored tree's root at size {size} is not the one the "
                "signer computed from its own frontier",
                hint="ledger_nodes was edited during the write; retry, then run "
                "'scaleguard ledger verify --full'",
            )
        checkpoint = Checkpoint(self.signer.name, size, new_root)
        after = SignedTree(sign_checkpoint(checkpoint, self.signer), checkpoint, frontier)
        # The checkpoint is dated by the newest entry it covers, not the clock: an entry
        # recorded with a coarse time (an anonymous report, dated to the day) is not dated
        # more finely by the checkpoint signed in its transaction.
        newest = tx.execute(
            select(func.max(_ENTRIES.c.created_at)).where(_ENTRIES.c.idx >= before.size)
        ).scalar()
        tx.execute(
            insert(_CHECKPOINTS),
            {
                "size": size,
                "root": new_root,
                "note": after.note,
                "created_at": str(newest) if newest else format_time(datetime.now(UTC)),
            },
        )
        return Sealed(before, after)

    def committed(self, sealed: Sealed) -> None:
        """The transaction committed: its checkpoint is the signer's latest."""
        with _locked(self.state_path):
            state = read_state(self.state_path, self.verifier)
            if state is None or state.signed.size < sealed.after.size:
                write_state(self.state_path, SignerState(sealed.after))

    def aborted(self, sealed: Sealed) -> None:
        """The transaction rolled back: its checkpoint never existed; nothing to undo."""
        return None


class NoSigner:
    """The sealer of a workspace without the key: it refuses to record anything."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path

    def seal(self, tx: Session) -> Sealed | None:
        if tx.info.pop(APPENDED, None):
            raise LedgerError(
                f"cannot record: this workspace has no ledger key ({self.key_path}), so the "
                "entry could never be signed",
                hint="run this on the machine that holds the key, or restore keys/ from a "
                "backup; a workspace created without one gets it from 'scaleguard keys init'",
            )
        return None

    def committed(self, sealed: Sealed) -> None:  # pragma: no cover - seal never returns one
        return None

    def aborted(self, sealed: Sealed) -> None:  # pragma: no cover
        return None


class WorkspaceSealer:
    """The sealer a workspace installs: the key is read on the first write that needs it.

    With the key: a :class:`LedgerSigner`. Without it: :class:`NoSigner`,
    which refuses to record entries nobody could sign.
    """

    def __init__(self, key_path: Path, state_path: Path, witness: Path | None = None) -> None:
        self.key_path = key_path
        self.state_path = state_path
        self.witness = witness
        self._impl: LedgerSigner | NoSigner | None = None

    def _get(self) -> LedgerSigner | NoSigner:
        if self._impl is None:
            from scaleguard.ledger.keys import load_private_key

            if self.key_path.is_file():
                self._impl = LedgerSigner(load_private_key(self.key_path), self.state_path)
            else:
                self._impl = NoSigner(self.key_path)
        return self._impl

    def seal(self, tx: Session) -> Sealed | None:
        if not tx.info.get(APPENDED):
            return None
        return self._get().seal(tx)

    def committed(self, sealed: Sealed) -> None:
        self._get().committed(sealed)
        if self.witness is not None:
            publish(self.witness, sealed.after.note)

    def aborted(self, sealed: Sealed) -> None:
        self._get().aborted(sealed)


def publish(path: Path, note: bytes) -> None:
    """Write the latest signed checkpoint to a witness file (after the commit)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, 0o644)
        os.replace(name, path)
    except OSError as exc:
        raise LedgerError(
            f"recorded and signed, but the checkpoint could not be published to {path}: "
            f"{exc.strerror or exc}",
            hint="fix the [ledger] witness path; the next write publishes the latest checkpoint",
        ) from None


# -- starting a log, and adopting one made before signer state existed ---------------


def start_log(tx: Session, signer: NoteSigner, state_path: Path) -> SignedTree:
    """Sign the empty tree for a ledger that has no entries and no checkpoints yet."""
    entries = int(tx.execute(select(func.count()).select_from(_ENTRIES)).scalar_one())
    checkpoints = int(tx.execute(select(func.count()).select_from(_CHECKPOINTS)).scalar_one())
    if entries or checkpoints:
        raise LedgerError(
            f"this ledger already has {entries} entries and {checkpoints} checkpoints; a new "
            "key cannot vouch for entries it never signed",
            hint="restore the original keys folder (ledger.key and ledger.state) from a backup",
        )
    tree = empty_tree(signer)
    tx.execute(
        insert(_CHECKPOINTS),
        {
            "size": 0,
            "root": EMPTY_ROOT,
            "note": tree.note,
            "created_at": format_time(datetime.now(UTC)),
        },
    )
    write_state(state_path, SignerState(tree))
    return tree


def adopt(session: Session, signer: NoteSigner, state_path: Path) -> SignedTree:
    """Trust the database's newest checkpoint once, for a log made before signer state.

    Only after the whole ledger verified (the caller runs ``verify --full``):
    the checkpoint must carry the key's signature and the stored tree must give
    its root; its frontier is read from the stored tree.
    """
    if state_path.exists():
        raise LedgerError(
            f"the signer state {state_path} already exists; nothing to adopt",
            hint="adopting is only for workspaces made before scaleguard kept signer state",
        )
    latest = _latest_row(session)
    if latest is None:
        raise LedgerError("the ledger has no checkpoint to adopt")
    size, note = latest

    try:
        tree = signed_tree(note, stored_frontier(session, size), signer.verifier)
    except LedgerError as exc:
        raise LedgerIntegrityError(f"cannot adopt: {exc.message}", hint=exc.hint) from None
    check_extends(session, tree)
    write_state(state_path, SignerState(tree))
    return tree
