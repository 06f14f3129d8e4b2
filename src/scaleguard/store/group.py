"""Group commit: concurrent writers in one process share one transaction, seal and fsync.

A durable commit costs a few fsyncs (the database's, and the signer state's
after it). Threads that write at the same time (web requests, a busy usage
screen's audit) would each pay them in turn, and on SQLite they would also
poll for the write lock. With ``Store.write(group=True)`` they join a
*batch* instead:

* The first writer opens the batch's transaction (``BEGIN IMMEDIATE`` or the
  advisory lock: the same write lock as :meth:`Store.write`).
* Writers run one at a time, each inside its own ``SAVEPOINT``. A writer that
  raises rolls back its savepoint only (and what it added to ``tx.info``,
  such as the ledger entries it listed for signing); everyone else's work
  stays. Each writer sees the batch's earlier writes, so reads under the lock
  (next ledger index, next id) stay exact: the batch is as if the writers had
  run one after another.
* When the last writer of the batch has finished, it seals the batch once
  (one checkpoint, one signature for every entry), commits once and records
  the signer state once. Writers that arrive meanwhile form the next batch.
* Every writer whose work succeeded returns only after that commit; if the
  seal or the commit fails, each of them raises the error (its work was
  rolled back with the batch). A writer that raised gets its own exception.

A batch holds at most :data:`MAX_BATCH` writers, so a steady stream of
arrivals cannot postpone a commit forever. Across processes the database's
write lock still serializes batches, as it serializes plain writes.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, SessionTransaction

from scaleguard.errors import StoreError

#: Most writers one batch admits before later arrivals wait for the next.
MAX_BATCH = 256


class _Host(Protocol):
    """What a group committer needs from its :class:`~scaleguard.store.db.Store`."""

    sealer: Any

    def _open_write(self) -> tuple[Session, SessionTransaction]: ...

    def _translate(self) -> AbstractContextManager[None]: ...

    def _set_writing(self, value: bool) -> None: ...

    def _before_end(self, session: Session) -> None: ...


@dataclass(eq=False)
class _Batch:
    """One shared transaction and the writers in it."""

    turn: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    members: int = 0
    running: int = 0  # joined and not yet finished their work
    closed: bool = False
    tx: Session | None = None
    root: SessionTransaction | None = None
    error: BaseException | None = None  # the batch failed: nobody's work was committed
    after_commit: BaseException | None = None  # committed, but recording the seal failed


class GroupCommitter:
    """Batches of concurrent writers on one store (see module doc)."""

    def __init__(self, store: _Host, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max = max_batch
        self._mutex = threading.Lock()
        self._finished = threading.Condition(self._mutex)
        self._batch: _Batch | None = None

    @property
    def joined(self) -> int:
        """Writers in the batch that is open now (0 when none): for monitoring and tests."""
        with self._mutex:
            return 0 if self._batch is None else self._batch.members

    @contextmanager
    def write(self) -> Iterator[Session]:
        batch = self._join()
        try:
            batch.turn.acquire()
        except BaseException:  # interrupted while waiting: leave without having run
            self._leave(batch, ok=False, turn=False)
            raise
        ok = False
        try:
            with self._store._translate():
                tx = self._open(batch)
                with _savepoint(tx, lambda err: self._fail(batch, err)):
                    self._store._set_writing(True)
                    try:
                        yield tx
                    finally:
                        self._store._set_writing(False)
            ok = True
        finally:
            self._leave(batch, ok)

    def _join(self) -> _Batch:
        with self._mutex:
            while self._batch is not None and self._batch.closed:
                self._finished.wait()
            if self._batch is None:
                self._batch = _Batch()
            batch = self._batch
            batch.members += 1
            batch.running += 1
            if batch.members >= self._max:
                batch.closed = True
        return batch

    def _open(self, batch: _Batch) -> Session:
        if batch.error is not None:
            raise _copy(batch.error)
        if batch.tx is None:
            try:
                batch.tx, batch.root = self._store._open_write()
            except BaseException as err:
                self._fail(batch, err)
                raise
        return batch.tx

    def _fail(self, batch: _Batch, err: BaseException) -> None:
        """Give up on the batch: nothing of it commits; later arrivals start a new one."""
        batch.error = err
        with self._mutex:
            batch.closed = True

    def _leave(self, batch: _Batch, ok: bool, turn: bool = True) -> None:
        if turn:
            batch.turn.release()
        with self._mutex:
            batch.running -= 1
            last = batch.running == 0
            if last:
                batch.closed = True
        if last:
            self._finish(batch)
            with self._mutex:
                self._batch = None
                self._finished.notify_all()
        if not ok:
            return
        batch.done.wait()
        failure = batch.error or batch.after_commit
        if failure is not None:
            raise _copy(failure) if not last else failure

    def _finish(self, batch: _Batch) -> None:
        """Seal, commit and record the batch (run by its last writer)."""
        tx, root, sealer = batch.tx, batch.root, self._store.sealer
        sealed = None
        try:
            if tx is None or root is None or batch.error is not None:
                return
            try:
                with self._store._translate():
                    self._store._before_end(tx)
                    if sealer is not None:
                        sealed = sealer.seal(tx)
                    root.commit()
            except BaseException as err:
                batch.error = err
                if sealer is not None and sealed is not None:
                    sealer.aborted(sealed)
                return
            if sealer is not None and sealed is not None:
                try:
                    sealer.committed(sealed)
                except BaseException as err:
                    batch.after_commit = err
        finally:
            if tx is not None:
                tx.close()
            batch.done.set()


@contextmanager
def _savepoint(tx: Session, fail: Callable[[BaseException], None]) -> Iterator[None]:
    """One writer's work: released on success; on error only it is undone, ``tx.info`` too.

    If even the rollback to the savepoint fails (a broken connection), the
    whole batch fails: nothing after it can be trusted to commit.
    """
    info = {k: (len(v) if isinstance(v, list) else v) for k, v in tx.info.items()}
    nested = tx.begin_nested()
    try:
        yield
        nested.commit()
    except BaseException:
        try:
            nested.rollback()
        except BaseException as err:
            fail(
                StoreError(
                    f"a writer's work could not be rolled back, so its whole group of writes "
                    f"was abandoned: {err}",
                    hint="retry; if it keeps failing, check the database connection",
                )
            )
            raise
        _restore(tx.info, info)
        raise


def _restore(info: dict[Any, Any], saved: dict[Any, Any]) -> None:
    for key in [k for k in info if k not in saved]:
        del info[key]
    for key, value in saved.items():
        current = info.get(key)
        if isinstance(current, list) and isinstance(value, int):
            del current[value:]
        else:
            info[key] = value


def _copy(err: BaseException) -> BaseException:
    """A copy of a shared failure, so that each writer's traceback is its own."""
    try:
        dup = copy.copy(err)
    except Exception:  # pragma: no cover - an exception type that cannot be copied
        return StoreError(f"the shared write transaction failed: {err}")
    dup.__traceback__ = None
    return dup
