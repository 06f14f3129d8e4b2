"""The log's signer: it only ever extends the tree it left signed itself.

Whoever can write the database (on PostgreSQL, any database administrator)
can rewrite entries, recompute every stored hash, append rows and delete
checkpoints. So the signer does not learn "what it signed last" from the
database: it keeps its own state beside the key, in ``keys/ledger.state``
(:mod:`scaleguard.store.ledger.state`): the latest checkpoint it signed and
the *frontier* of that tree (:mod:`scaleguard.store.ledger.frontier`).

Every write transaction that appends entries is sealed before it commits
(:meth:`LedgerSigner.seal`, called by :meth:`scaleguard.store.db.Store.write`):
the database must hold exactly the entries the state covers plus the ones
this transaction appended, and its newest checkpoint must be the state's.
Then the signer extends its *own* frontier with the leaves this transaction
appended, checks that the stored tree gives the same frontier, signs that
root and stores the checkpoint row in the same transaction. Anything else
(forged appends, rewritten history, deleted entries or checkpoints) is
refused with :class:`~scaleguard.errors.LedgerIntegrityError` and the write
rolls back.

**What a seal reads, and why that is enough.** One statement returns the
newest checkpoint row, the highest entry index, the newest ``created_at`` of
this transaction's entries and the stored hashes of the new tree's frontier.

* Newest row == the state's note: no checkpoint was deleted, and none the
  signer did not sign was added on top (a larger row is adopted only when it
  carries the key's signature and extends the state, see below).
* Highest index + 1 == state size + appended, and the appended indices are
  exactly the ones after the state: no entry was appended without the key and
  none of the newest was deleted.
* Stored frontier at the new size == the frontier the signer computed. Each
  stored hash of that frontier either covers only old leaves (then it is a
  node of the signed tree's frontier, read as is) or was computed in this
  transaction, under the write lock, from stored old hashes and this
  transaction's leaves. Equality therefore means, by collision resistance of
  the RFC 9162 hashes, that the stored tree still gives the signed root: the
  separate root-at-the-old-size query of earlier versions added nothing. When
  the comparison fails, that query runs once to say which of the two went
  wrong ("history was rewritten" or "edited during the write").

What is signed never depends on these reads: the root comes from the signer's
own frontier and the leaf hashes this process appended, so a missed check
could at worst sign the honest tree over a tampered database, which
``verify`` reports. A hole in the middle of the ledger (a deleted old entry)
is left to ``verify``: counting rows would scan the table on every write.

**The state is written after the commit.** A crash (or a concurrent writer)
between the commit and that write leaves the database ahead of the file; a
newer checkpoint is adopted next time because it carries the signer's own
valid signature and extends the state: only the signer can have made it. In
one process, a tree this signer sealed and whose predecessor chain reaches
the state is adopted without asking the database for a proof (the signer
built each step itself); any other newer row needs a consistency proof from
the stored tree.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger.canonical import format_time
from scaleguard.ledger.merkle import verify_consistency
from scaleguard.ledger.note import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from scaleguard.store.db import driver_sql, run_driver, write_connection
from scaleguard.store.ledger.census import (
    CENSUS,
    Census,
    CensusKey,
    CensusLog,
    census_path,
)
from scaleguard.store.ledger.frontier import (
    SignedTree,
    empty_tree,
    extend,
    fold,
    frontier_keys,
    frontier_levels,
    signed_tree,
    stored_frontier,
)
from scaleguard.store.ledger.state import SignerState, StateLog, read_state, write_state
from scaleguard.store.ledger.tree import prove_consistency, root_at
from scaleguard.store.tables import LedgerCheckpointRow, LedgerEntryRow, LedgerNodeRow

__all__ = [
    "APPENDED",
    "LedgerSigner",
    "NoSigner",
    "Sealed",
    "SignedTree",
    "SignerState",
    "WorkspaceSealer",
    "check_extends",
    "empty_tree",
    "extend",
    "fold",
    "frontier_levels",
    "publish",
    "read_state",
    "signed_tree",
    "stored_frontier",
    "write_state",
]

#: ``tx.info`` key under which :func:`scaleguard.store.repo.append_record` lists
#: the ``(index, leaf hash)`` of every entry the transaction appended.
APPENDED = "scaleguard.ledger.appended"

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_CHECKPOINTS = cast(Table, LedgerCheckpointRow.__table__)
_NODES = cast(Table, LedgerNodeRow.__table__)
REFUSE = "refusing to sign"
_TAMPERED_ROW = "the checkpoints table was edited; run 'scaleguard ledger verify --full'"


# -- the database against the state ------------------------------------------------


def _newest_of(size: object, note: object) -> tuple[int, bytes] | None:
    """The newest checkpoint row's ``(size, note)``, type-checked; None when there is none."""
    if size is None and note is None:
        return None
    try:
        return int(cast(Any, size)), bytes(cast(Any, note))
    except (TypeError, ValueError):
        raise LedgerIntegrityError(
            f"{REFUSE}: the newest ledger_checkpoints row holds values of the wrong type",
            hint=_TAMPERED_ROW,
        ) from None


def latest_row(session: Session) -> tuple[int, bytes] | None:
    row = session.execute(
        select(_CHECKPOINTS.c.size, _CHECKPOINTS.c.note)
        .order_by(_CHECKPOINTS.c.size.desc())
        .limit(1)
    ).first()
    return None if row is None else _newest_of(row[0], row[1])


def _highest(top: object, hint: str) -> int:
    try:
        return -1 if top is None else int(cast(Any, top))
    except (TypeError, ValueError):
        raise LedgerIntegrityError(
            f"{REFUSE}: ledger_entries holds an index that is not an integer", hint=hint
        ) from None


def _root_from_db(session: Session, size: int) -> bytes:
    try:
        return root_at(session, size)
    except LedgerError as exc:
        raise LedgerIntegrityError(f"{REFUSE}: {exc.message}", hint=exc.hint) from None


def _adopt_newer(
    session: Session, tree: SignedTree, newest: tuple[int, bytes], verifier: NoteVerifier
) -> SignedTree:
    """The newer checkpoint row, if the signer itself signed it and it extends ``tree``."""
    size, note = newest
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


def _roll_forward(session: Session, tree: SignedTree, verifier: NoteVerifier) -> SignedTree:
    """Adopt a newer checkpoint row the signer itself signed and that extends ``tree``."""
    latest = latest_row(session)
    if latest is None or latest[0] <= tree.size:
        return tree
    return _adopt_newer(session, tree, latest, verifier)


def _check_view(
    tree: SignedTree, newest: tuple[int, bytes] | None, highest: int, appended: Sequence[int]
) -> None:
    """The newest checkpoint row is ``tree``'s and the entries end right after ``appended``."""
    hint = (
        "the database no longer extends the signer's latest checkpoint "
        f"(size {tree.size}, kept in keys/ledger.state); run 'scaleguard ledger verify --full' "
        "and restore the database from a backup"
    )
    if newest is None:
        raise LedgerIntegrityError(
            f"{REFUSE}: the database holds no checkpoint, but the signer last signed "
            f"{tree.size} entries: checkpoint rows were deleted",
            hint=hint,
        )
    size, note = newest
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


def _rewritten(tree: SignedTree) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"{REFUSE}: the stored tree's root at size {tree.size} is not the root the signer "
        "signed there: history was rewritten",
        hint="the database no longer extends the signer's latest checkpoint "
        f"(size {tree.size}, kept in keys/ledger.state); run 'scaleguard ledger verify --full' "
        "and restore the database from a backup",
    )


def check_extends(session: Session, tree: SignedTree, appended: Sequence[int] = ()) -> None:
    """The database holds exactly ``tree`` plus the entries at ``appended``; else refuse.

    Checks that the newest checkpoint row is the signer's own, that no entry
    was added or deleted outside the signer's view, and that the stored tree
    gives the root the signer signed.
    """
    top = session.execute(select(func.max(_ENTRIES.c.idx))).scalar()
    _check_view(tree, latest_row(session), _highest(top, _TAMPERED_ROW), appended)
    if _root_from_db(session, tree.size) != tree.root:
        raise _rewritten(tree)


@functools.cache
def _seal_query(nodes: int) -> str:
    """Everything a seal reads, in one statement (see the module doc); built once per shape.

    Plain SQL with ``?`` placeholders (:func:`~scaleguard.store.db.driver_sql`),
    run on the transaction's connection: the statement runs on every write,
    and building and caching an expression of nested subqueries cost more
    than running it.
    """
    checkpoints, entries, tree = _CHECKPOINTS.name, _ENTRIES.name, _NODES.name
    newest = f"FROM {checkpoints} ORDER BY size DESC LIMIT 1"
    columns = [
        f"(SELECT size {newest})",
        f"(SELECT note {newest})",
        f"(SELECT max(idx) FROM {entries})",
        f"(SELECT max(created_at) FROM {entries} WHERE idx >= ?)",
        *(f"(SELECT hash FROM {tree} WHERE level = ? AND idx = ? LIMIT 1)" for _ in range(nodes)),
    ]
    return "SELECT " + ", ".join(columns)


_INSERT_CHECKPOINT = (
    f"INSERT INTO {_CHECKPOINTS.name} (size, root, note, created_at) VALUES (?, ?, ?, ?)"
)


@dataclass(frozen=True)
class _SealView:
    newest: tuple[int, bytes] | None
    highest: int
    created_at: object
    stored: tuple[bytes | None, ...]


def _seal_view(tx: Session, first: int, size: int) -> _SealView:
    keys = frontier_keys(size)
    params: list[int] = [first]
    for level, index in keys:
        params += (level, index)
    conn = write_connection(tx)
    row = run_driver(conn, driver_sql(conn, _seal_query(len(keys))), tuple(params), fetch=True)
    if not row:  # pragma: no cover - a SELECT of scalar subqueries returns one row
        raise LedgerIntegrityError(f"{REFUSE}: the seal query returned no row")
    stored = tuple(
        bytes(h) if isinstance(h, bytes | bytearray | memoryview) else None for h in row[4:]
    )
    return _SealView(_newest_of(row[0], row[1]), _highest(row[2], _TAMPERED_ROW), row[3], stored)


# -- sealing write transactions -------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """What :meth:`LedgerSigner.seal` signed, for :meth:`committed` / :meth:`aborted`."""

    before: SignedTree
    after: SignedTree
    #: The census key of each entry signed, in index order (see :mod:`.census`).
    keys: tuple[CensusKey, ...] = ()


class LedgerSigner:
    """Signs every write transaction's new entries before it commits (see module doc).

    Safe to share between threads: seals run under the database's write lock,
    and the state file is appended under its own lock.
    """

    def __init__(self, signer: NoteSigner, state_path: Path) -> None:
        self.signer = signer
        self.state_path = state_path
        self._log = StateLog(state_path, signer.verifier)
        self._census = CensusLog(census_path(state_path))
        #: Trees sealed in this process whose commit has not been recorded yet, by note.
        self._pending: dict[bytes, Sealed] = {}

    @property
    def verifier(self) -> NoteVerifier:
        return self.signer.verifier

    def _state(self) -> SignerState:
        state = self._log.read()
        if state is None:
            raise LedgerError(
                f"{REFUSE}: the signer state {self.state_path} is missing",
                hint="it is kept beside the key and written by every signing; restore it from "
                "the backup of the keys folder, or, for a workspace made before signer state "
                "existed, run 'scaleguard ledger adopt' after 'scaleguard ledger verify --full'",
            )
        return state

    def latest(self, session: Session) -> SignedTree:
        """The signer's latest checkpoint, after checking the database still extends it
        (by exactly the entries ``session`` appended, in a write transaction that will sign
        them: e.g. an earlier writer's of a group commit)."""
        state = self._state()
        tree = _roll_forward(session, state.signed, self.verifier)
        if tree is not state.signed:
            self._log.record(tree)
        appended = [idx for idx, _ in session.info.get(APPENDED, ())]
        try:
            check_extends(session, tree, appended)
        except LedgerIntegrityError:
            older = None if appended else self._snapshot_tree(session, tree)
            if older is None:
                raise
            return older
        return tree

    def _snapshot_tree(self, session: Session, tree: SignedTree) -> SignedTree | None:
        """The signed tree a read snapshot taken before the signer's latest commit holds,
        when that is all the database's lag is; None otherwise.

        The state is written after each commit, so a snapshot that began just before
        another writer's commit is older than the state it then reads, and looks like a
        database whose newest entries were deleted. Told apart by looking at the database
        now, outside the snapshot: it must extend the signer's latest tree (as every
        write checks), hold the snapshot's newest checkpoint row as it is, signed by the
        key, and prove that checkpoint's tree a prefix of the latest one (RFC 9162
        consistency proof). A database rolled back to a backup fails the first check.
        """
        newest = latest_row(session)
        if newest is None or newest[0] >= tree.size:
            return None
        size, note = newest
        try:
            older = open_checkpoint(note, self.verifier)
            with Session(session.get_bind()) as live:
                tree = _roll_forward(live, tree, self.verifier)  # yet another commit since
                check_extends(live, tree)
                found = live.execute(
                    select(_CHECKPOINTS.c.note).where(_CHECKPOINTS.c.size == size)
                ).scalar()
                if found is None or bytes(found) != note:
                    return None
                proof = prove_consistency(live, size, tree.size)
                verify_consistency(size, tree.size, older.root, tree.root, proof)
                live.rollback()
            snapshot = signed_tree(note, stored_frontier(session, size), self.verifier)
            check_extends(session, snapshot)
        except LedgerError:
            return None
        return snapshot

    def census(self, session: Session, signed: Checkpoint) -> Census:
        """How many entries of each kind and subject the signed tree ``signed`` holds
        (:mod:`scaleguard.store.ledger.census`), counted from ``session`` where the
        signer's census file does not say yet."""
        return self._census.at(session, signed)

    def _sealed_here(self, base: SignedTree, newest: tuple[int, bytes]) -> SignedTree | None:
        """The newest row's tree if this process sealed every step from ``base`` to it."""
        step = self._pending.get(newest[1])
        found = step.after if step is not None else None
        while step is not None and step.before.note != base.note:
            step = self._pending.get(step.before.note)
        return found if step is not None else None

    def seal(self, tx: Session) -> Sealed | None:
        """Sign the entries ``tx`` appended, in ``tx``; refuse unless the database extends
        exactly the signer's latest checkpoint."""
        appended: list[tuple[int, bytes]] = tx.info.pop(APPENDED, [])
        keys: list[CensusKey] = tx.info.pop(CENSUS, [])
        if not appended:
            return None
        if len(keys) != len(appended):
            raise LedgerError(
                f"{REFUSE}: {len(appended)} entries were appended but {len(keys)} counted",
                hint="an append path does not count its entries (a bug in scaleguard)",
            )
        if tx.autoflush:
            tx.flush()  # as a session statement would: pending rows go in before the reads
        indices = [idx for idx, _ in appended]
        leaves = [leaf for _, leaf in appended]
        before = self._state().signed
        view = _seal_view(tx, indices[0], before.size + len(leaves))
        if view.newest is not None and view.newest[0] > before.size:
            # Another writer's commit is not in the state yet: adopt it, then look again.
            adopted = self._sealed_here(before, view.newest)
            before = adopted or _adopt_newer(tx, before, view.newest, self.verifier)
            view = _seal_view(tx, indices[0], before.size + len(leaves))
        _check_view(before, view.newest, view.highest, indices)
        frontier = extend(before.frontier, before.size, leaves)
        size, new_root = before.size + len(leaves), fold(frontier)
        if view.stored != frontier:
            if _root_from_db(tx, before.size) != before.root:
                raise _rewritten(before)
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
        newest = view.created_at
        conn = write_connection(tx)
        run_driver(
            conn,
            driver_sql(conn, _INSERT_CHECKPOINT),
            (size, new_root, after.note, str(newest) if newest else format_time(datetime.now(UTC))),
        )
        sealed = Sealed(before, after, tuple(keys))
        self._pending[after.note] = sealed
        return sealed

    def committed(self, sealed: Sealed) -> None:
        """The transaction committed: its checkpoint is the signer's latest."""
        try:
            self._log.record(sealed.after)
        except LedgerError as exc:
            raise LedgerError(
                f"recorded and signed, but {exc.message}",
                hint=exc.hint or "the next write adopts this checkpoint from the database",
            ) from None
        finally:
            self._pending.pop(sealed.after.note, None)
        after = sealed.after
        self._census.record(sealed.before.size, after.size, after.root, sealed.keys)

    def aborted(self, sealed: Sealed) -> None:
        """The transaction rolled back: its checkpoint never existed; nothing to undo."""
        self._pending.pop(sealed.after.note, None)


class NoSigner:
    """The sealer of a workspace without the key: it refuses to record anything."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path

    def seal(self, tx: Session) -> Sealed | None:
        tx.info.pop(CENSUS, None)
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

    def ledger_signer(self) -> LedgerSigner | None:
        """The signer writes use (its key read once, its state cached), or None without a key."""
        impl = self._get()
        return impl if isinstance(impl, LedgerSigner) else None

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
