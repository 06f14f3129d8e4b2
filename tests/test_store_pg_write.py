"""PostgreSQL writes: the write lock is taken before the transaction's one snapshot.

Someone editing the database directly does not take scaleguard's lock. Inside a
write transaction every statement still reads the snapshot taken after the lock
was granted, so a check and a read made there agree; a direct edit of a row the
write then changes fails the write cleanly. The lock is never left held by a
pooled connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from conftest import PG_URL
from scaleguard.errors import StoreError
from scaleguard.store import Store, ensure_schema
from scaleguard.store.db import WRITE_LOCK_KEY

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    s = Store(pg_url)
    ensure_schema(s, create=True)
    with s.write() as tx:
        tx.execute(text("CREATE TABLE scratch (id integer PRIMARY KEY, v integer)"))
        tx.execute(text("INSERT INTO scratch VALUES (1, 0)"))
    yield s
    s.dispose()


@contextmanager
def outside(store: Store) -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own on the store's schema, in autocommit, taking no lock."""
    options = store.url.query["options"]
    assert isinstance(options, str)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"SET search_path = {options.split('=', 1)[1]}")  # type: ignore[arg-type]
        yield conn


def outsider(store: Store, statement: str) -> None:
    """A statement committed by someone editing the database directly."""
    with outside(store) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def locked(store: Store) -> bool:
    """Whether some connection holds the store's write lock (another connection cannot)."""
    seed = WRITE_LOCK_KEY - (1 << 64) if WRITE_LOCK_KEY >= 1 << 63 else WRITE_LOCK_KEY
    with outside(store) as conn:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(current_schema(), %s::bigint))", (seed,)
        ).fetchone()
        assert row is not None
        if row[0]:
            conn.execute("SELECT pg_advisory_unlock_all()")
        return not row[0]


def test_a_write_reads_one_snapshot_whatever_others_commit_meanwhile(store: Store) -> None:
    with store.write() as tx:
        assert tx.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar() == 0
        outsider(store, "UPDATE scratch SET v = 7 WHERE id = 1")
        outsider(store, "INSERT INTO scratch VALUES (2, 2)")
        # a check and a read later in the same write see what the first statement saw
        assert tx.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar() == 0
        assert tx.execute(text("SELECT count(*) FROM scratch")).scalar() == 1


def test_a_writer_waiting_for_the_lock_sees_what_the_holder_committed(store: Store) -> None:
    """The snapshot is taken after the lock is granted, not while waiting for it."""
    holding, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with store.write() as tx:
            tx.execute(text("UPDATE scratch SET v = 1 WHERE id = 1"))
            holding.set()
            release.wait(20)

    def second() -> None:
        with store.write() as tx:
            seen.append(int(tx.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar_one()))
            tx.execute(text("UPDATE scratch SET v = v + 1 WHERE id = 1"))

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(20)
    b = threading.Thread(target=second)
    b.start()
    time.sleep(0.3)  # b is waiting for the lock, not yet in a transaction
    assert not seen
    release.set()
    a.join(20)
    b.join(20)
    assert seen == [1]
    with store.read() as s:
        assert s.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar() == 2


def test_a_direct_edit_of_a_row_the_write_changes_fails_the_write_cleanly(store: Store) -> None:
    with pytest.raises(StoreError, match="does not take scaleguard's write lock"):  # noqa: SIM117
        with store.write() as tx:
            tx.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar()
            outsider(store, "UPDATE scratch SET v = 5 WHERE id = 1")
            tx.execute(text("UPDATE scratch SET v = v + 1 WHERE id = 1"))
    assert not locked(store)
    with store.write() as tx:  # the lock was released: the next write goes ahead
        tx.execute(text("UPDATE scratch SET v = v + 1 WHERE id = 1"))
    with store.read() as s:
        assert s.execute(text("SELECT v FROM scratch WHERE id = 1")).scalar() == 6


def test_the_lock_is_held_for_the_write_and_released_after_commit_or_rollback(
    store: Store,
) -> None:
    with store.write():
        assert locked(store)
    assert not locked(store)
    with pytest.raises(ValueError), store.write():
        assert locked(store)
        raise ValueError("the caller's error")
    assert not locked(store)


def test_a_connection_that_may_still_hold_the_lock_is_not_pooled(store: Store) -> None:
    def backend() -> int:
        with store.write() as tx:
            return int(tx.execute(text("SELECT pg_backend_pid()")).scalar_one())

    pid = backend()
    assert backend() == pid  # the pool hands the same connection out again
    with store.write() as tx:
        # the lock is released behind scaleguard's back: its own unlock then fails
        tx.execute(text("SELECT pg_advisory_unlock_all()"))
    assert backend() != pid  # that connection was discarded, not pooled
    assert not locked(store)
