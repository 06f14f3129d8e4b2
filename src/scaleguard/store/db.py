"""The database behind a workspace: one engine, one writer at a time, many readers.

Every write runs inside ``with store.write() as tx:`` and holds the
workspace-wide write lock for the whole transaction, and every statement of
the transaction reads one snapshot taken after the lock was granted (plus the
transaction's own writes):

* SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front. Python's sqlite3
  module would otherwise issue its own deferred ``BEGIN``, and a deferred
  transaction that later writes can fail with "database is locked" in WAL mode
  without waiting; so the driver's transaction handling is switched off
  (``isolation_level = None``) and SQLAlchemy's ``begin`` event emits the
  statement. No other connection can write until it ends, so what it reads
  stays put. WAL lets readers proceed during a write; ``synchronous=FULL``
  makes a commit durable before anything (a signed checkpoint) relies on it.
* PostgreSQL: a session-level ``pg_advisory_lock`` (one lock per schema) is
  taken on the connection, outside any transaction, *before* a REPEATABLE READ
  transaction begins; so that transaction's snapshot, taken by its first
  statement, already holds everything earlier writers committed, and it is the
  only one the transaction reads. (``pg_advisory_xact_lock`` inside the
  transaction could only be granted after the snapshot was taken.) The lock
  is released right after commit or rollback; a connection whose unlock fails
  is discarded, never returned to the pool still holding it. (The lock belongs
  to the server session: a pooler that hands each transaction to another server
  connection cannot be used.) A connection
  that does not take the lock (someone editing the database by hand) and,
  during the write, changes a row the write then updates fails the write
  (a serialization failure, raised as a :class:`StoreError`); one that inserts
  a key the write then inserts too fails it with the driver's duplicate-key
  error. Either way nothing is recorded.

Values read under the lock (the next ledger index, the next id, "is this
artifact already stored?") therefore cannot race with another process, and a
check and a read inside one write transaction see the same rows unless the
transaction itself writes in between.

Threads of one process that write at the same time can share one transaction,
seal and commit with ``store.write(group=True)`` (:mod:`scaleguard.store.group`);
each still runs alone under the lock, in its own savepoint.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol, cast

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from scaleguard.errors import StoreError
from scaleguard.store import params
from scaleguard.store.group import GroupCommitter

Backend = Literal["sqlite", "postgresql"]

#: Seed of the PostgreSQL advisory lock every scaleguard write takes ("SCALEGRD"). The key
#: is this seed hashed with the workspace's schema, so workspaces kept in different schemas
#: of one database do not queue behind each other (a collision only costs a wait).
WRITE_LOCK_KEY = 0x5343414C45475244
#: How long a writer waits for another writer, in seconds.
BUSY_TIMEOUT_S = 60.0

_WRITE_OPTION = "scaleguard_write"
#: Waits for the write lock and returns its key (the seed hashed with the schema), which
#: unlocking must name again: the schema could be another by then.
_PG_WRITE_LOCK = text(
    "SELECT key, pg_advisory_lock(key) IS NULL "
    "FROM (SELECT hashtextextended(current_schema(), :seed) AS key) AS write_lock"
)
_PG_WRITE_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
#: SQLSTATEs of a PostgreSQL transaction that lost a race with a concurrent change
#: (serialization failure, deadlock).
_PG_RACE_LOST = frozenset({"40001", "40P01"})
#: ``session.info`` key of checks to run when a transaction's work is done: after the
#: caller's last statement, before a write is sealed and committed and before a read's
#: results leave :meth:`Store.read`. Callables taking the session; one that raises
#: rolls the transaction back. (The ledger's check that what a transaction read was the
#: tables it checked, :mod:`scaleguard.store.ledger.relations`, is one.)
BEFORE_END = "scaleguard.before_end"


class Tx(Session):
    """A session inside a write transaction that holds the write lock.

    Only :meth:`Store.write` creates these; functions that record something
    take a ``Tx``, so the type checker rejects writes through a read session.
    """

    _write_conn: Connection | None = None
    #: PostgreSQL: the connection holding the session-level write lock, and the lock's key.
    _held: tuple[Connection, int] | None = None

    def close(self) -> None:
        """End the session (rolling back what was not committed), then release the lock."""
        held, self._held = self._held, None
        try:
            super().close()
        finally:
            if held is not None:
                _unlock(*held)

    def write_connection(self) -> Connection:
        """The connection holding the write lock, for plain-SQL statements (see :func:`driver_sql`).

        The session keeps one connection for its whole transaction, savepoints
        included; asking the session for it costs more than a small statement,
        so it is remembered. A closed one (the transaction ended) is not reused.
        """
        conn = self._write_conn
        if conn is None or conn.closed:
            conn = self._write_conn = self.connection()
        return conn


class Sealer(Protocol):
    """Runs at the end of every write transaction, before it commits.

    A workspace installs its ledger signer here (``scaleguard.store.ledger.signer``),
    so that whatever a transaction appended to the ledger is signed in that
    same transaction, by every caller alike: CLI, web, library, Inspect hook.
    ``seal`` may raise to roll the transaction back; what it returns is handed
    to ``committed`` after the commit, or to ``aborted`` if the commit fails.
    """

    def seal(self, tx: Any) -> Any: ...

    def committed(self, sealed: Any) -> None: ...

    def aborted(self, sealed: Any) -> None: ...


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL, mapping plain ``postgresql://`` to the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError) as err:
        raise StoreError(
            f"cannot parse database URL {str(url)[:200]!r}: {err}",
            hint="use sqlite:////absolute/path.db or postgresql://user@host:5432/dbname",
        ) from None
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    if backend == "postgresql" and driver in ("psycopg2", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver == "pysqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError(
                "an in-memory SQLite database cannot hold a workspace",
                hint="give a file path: sqlite:////absolute/path/scaleguard.db",
            )
        return parsed
    raise StoreError(
        f"unsupported database {parsed.drivername!r}",
        hint="scaleguard runs on SQLite (the default) or PostgreSQL (postgresql://...)",
    )


def redact(url: URL) -> str:
    return url.render_as_string(hide_password=True)


class Store:
    """A connection pool plus the single-writer discipline described above."""

    def __init__(self, url: str | URL) -> None:
        self.url = normalize_url(url)
        self.backend: Backend = (
            "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        )
        self._local = threading.local()
        self._group_lock = threading.Lock()
        self._group: GroupCommitter | None = None
        #: Seals every write transaction before commit (see :class:`Sealer`).
        self.sealer: Sealer | None = None
        #: PostgreSQL: connections that take the write lock before their transaction begins.
        self._lock_engine: Engine | None = None
        #: What ``write()`` does when not told: a server whose request threads write
        #: concurrently turns group commit on for all of them.
        self.group_writes = False
        if self.backend == "sqlite":
            self.engine = create_engine(self.url, connect_args={"timeout": BUSY_TIMEOUT_S})
            _install_sqlite_events(self.engine)
            self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
            self._read_engine = self.engine
        else:
            self.engine = create_engine(self.url, connect_args={"connect_timeout": 10})
            self._write_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
            self._lock_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            self._read_engine = self.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        params.install(self.engine)

    def __repr__(self) -> str:
        return f"Store({redact(self.url)!r})"

    @property
    def display_url(self) -> str:
        return redact(self.url)

    @contextmanager
    def write(self, *, group: bool | None = None) -> Iterator[Tx]:
        """A transaction holding the write lock; commits on success, rolls back on error.

        ``group=True`` joins concurrent writers of this process into one
        transaction, one seal and one commit (see :mod:`scaleguard.store.group`):
        the caller's work runs in its own savepoint, an error rolls back only
        that work, and the call returns after the shared commit. Not given, it
        follows :attr:`group_writes`.
        """
        if getattr(self._local, "writing", False):
            raise StoreError(
                "a write transaction is already open in this thread",
                hint="pass the open transaction down instead of starting another",
            )
        if self.group_writes if group is None else group:
            with self.group_committer().write() as shared:
                yield cast(Tx, shared)
            return
        self._local.writing = True
        sealer, sealed = self.sealer, None
        try:
            with self._translate():
                tx, root = self._open_write()
                with tx, root:
                    yield tx
                    self._before_end(tx)
                    if sealer is not None:
                        sealed = sealer.seal(tx)
        except BaseException:
            if sealer is not None and sealed is not None:
                sealer.aborted(sealed)
            raise
        finally:
            self._local.writing = False
        if sealer is not None and sealed is not None:
            sealer.committed(sealed)

    def _open_write(self) -> tuple[Tx, SessionTransaction]:
        """A session in a transaction that holds the write lock (see module doc)."""
        if self.backend == "postgresql":
            return self._open_pg_write()
        tx = Tx(self._write_engine, expire_on_commit=False)
        try:
            root = tx.begin()
            tx.write_connection()  # emits BEGIN IMMEDIATE
        except BaseException:
            tx.close()
            raise
        return tx, root

    def _open_pg_write(self) -> tuple[Tx, SessionTransaction]:
        """Lock first (autocommit), then begin REPEATABLE READ: the snapshot follows the lock."""
        assert self._lock_engine is not None
        conn = self._lock_engine.connect()
        try:
            key = int(conn.execute(_PG_WRITE_LOCK, {"seed": _signed(WRITE_LOCK_KEY)}).one()[0])
        except BaseException:
            _discard(conn)  # a wait cut short: closing the server session cancels it
            raise
        tx = Tx(bind=conn, expire_on_commit=False)
        tx._held = (conn, key)
        try:
            conn.rollback()  # ends the driver-less "transaction" the lock statement opened
            conn.execution_options(isolation_level="REPEATABLE READ")
            root = tx.begin()
            tx.write_connection()  # begins the transaction on the locked connection
        except BaseException:
            tx.close()
            raise
        return tx, root

    def _set_writing(self, value: bool) -> None:
        self._local.writing = value

    @staticmethod
    def _before_end(session: Session) -> None:
        """Run the checks registered under :data:`BEFORE_END` in ``session``."""
        for check in list(session.info.get(BEFORE_END, ())):
            check(session)

    def group_committer(self) -> GroupCommitter:
        """The batcher behind ``write(group=True)``, made on first use."""
        with self._group_lock:
            if self._group is None:
                self._group = GroupCommitter(self)
            return self._group

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session on one consistent snapshot; never commits. When the caller's
        block ends without an error, the checks registered under :data:`BEFORE_END` run."""
        with self._translate(), Session(self._read_engine, expire_on_commit=False) as session:
            try:
                yield session
                self._before_end(session)
            finally:
                session.rollback()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn driver failures users can act on into StoreError; bugs stay bugs."""
        try:
            yield
        except exc.OperationalError as err:
            raise _operational(err, self) from None
        except exc.DatabaseError as err:
            if self.backend == "sqlite" and _damaged(err):
                raise StoreError(
                    f"the SQLite database {self.url.database} is damaged or is not a "
                    f"scaleguard database: {first_line(err)}",
                    hint="restore it from a backup, or point [database] url in scaleguard.toml "
                    "at the right file",
                ) from None
            raise
        except exc.InterfaceError as err:
            raise StoreError(
                f"cannot talk to the database {self.display_url}: {first_line(err)}"
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()


def write_connection(tx: Session) -> Connection:
    """``tx``'s connection; remembered by a :class:`Tx` (see :meth:`Tx.write_connection`)."""
    return tx.write_connection() if isinstance(tx, Tx) else tx.connection()


def driver_sql(conn: Connection, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the parameter style of ``conn``'s driver.

    The ledger's per-write statements run as plain SQL on the transaction's
    connection (``exec_driver_sql``): compiling and caching an expression for
    each of them cost more than running it. They still pass the parameter
    check and SQLAlchemy's error translation, like every other statement.
    """
    return styled(conn.dialect.paramstyle, sql)


def run_driver(
    conn: Connection, sql: str, values: tuple[Any, ...], *, fetch: bool = False
) -> tuple[Any, ...] | None:
    """Run ``sql`` (from :func:`driver_sql`) on ``conn``'s DBAPI connection; the first row if
    ``fetch``.

    For the few statements every ledger append runs: SQLAlchemy's execution
    machinery cost several times the statement itself. What it would do that
    matters is done here: the values pass the store's parameter check
    (:mod:`scaleguard.store.params`), and a driver error is raised as the same
    SQLAlchemy exception class, so :meth:`Store.write` translates it and rolls
    the transaction back as usual.
    """
    params.check_params(values, False)
    dbapi = conn.dialect.loaded_dbapi
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has one
        raise StoreError("the write transaction's connection is closed")
    cursor = raw.cursor()
    try:
        cursor.execute(sql, values)
        return tuple(cursor.fetchone() or ()) if fetch else None
    except dbapi.Error as err:
        raise exc.DBAPIError.instance(sql, values, err, dbapi.Error, dialect=conn.dialect) from err
    finally:
        cursor.close()


@functools.cache
def styled(paramstyle: str, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver parameter style ``paramstyle``."""
    if paramstyle == "qmark":
        return sql
    if paramstyle in ("format", "pyformat"):
        return sql.replace("%", "%%").replace("?", "%s")
    raise StoreError(  # pragma: no cover - the two supported drivers use qmark and pyformat
        f"the database driver uses the {paramstyle!r} parameter style, which scaleguard "
        "does not speak",
        hint="scaleguard runs on SQLite (the default) or PostgreSQL through psycopg",
    )


def _unlock(conn: Connection, key: int) -> None:
    """Release the session-level write lock ``conn`` holds and return ``conn`` to the pool;
    if that cannot be shown to succeed, discard the connection (its server session ends,
    and the lock with it) rather than pool a connection that may still hold the lock."""
    released = False
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.execution_options(isolation_level="AUTOCOMMIT")
        released = conn.execute(_PG_WRITE_UNLOCK, {"key": key}).scalar() is True
    except Exception:
        released = False
    finally:
        if released:
            conn.close()
        else:
            _discard(conn)


def _discard(conn: Connection) -> None:
    """Close ``conn``'s DBAPI connection instead of pooling it."""
    try:
        conn.invalidate()
    finally:
        conn.close()


def _signed(key: int) -> int:
    """The lock key as a signed 64-bit integer, which is what PostgreSQL's bigint holds."""
    return key - (1 << 64) if key >= (1 << 63) else key


def _damaged(err: exc.DatabaseError) -> bool:
    """SQLite's own errors for a file that is not (or no longer) a database."""
    import sqlite3

    origin = getattr(err, "orig", None)
    if type(origin) is not sqlite3.DatabaseError:  # not integrity or programming errors
        return False
    text = str(origin).lower()
    return any(w in text for w in ("not a database", "malformed", "encrypted", "corrupt"))


def first_line(err: BaseException) -> str:
    """The first line of a driver error (or its cause), for a one-line message."""
    origin = getattr(err, "orig", None) or err
    return (str(origin).strip().splitlines() or ["unknown error"])[0][:300]


def _operational(err: exc.OperationalError, store: Store) -> StoreError:
    message = first_line(err)
    if getattr(getattr(err, "orig", None), "sqlstate", None) in _PG_RACE_LOST:
        return StoreError(
            f"the database was changed during this write by a connection that does not take "
            f"scaleguard's write lock, so nothing was recorded: {message}",
            hint="scaleguard's own writers wait for each other; someone is editing the "
            "database directly. Find out who, then run 'scaleguard ledger verify --full'",
        )
    if "locked" in message or "busy" in message:
        return StoreError(
            f"the database stayed locked by another writer for {BUSY_TIMEOUT_S:.0f} s",
            hint="another scaleguard command is writing to this workspace; retry when it ends",
        )
    if store.backend == "sqlite":
        return StoreError(
            f"cannot use the SQLite database {store.url.database}: {message}",
            hint="check that the file is a scaleguard database and that you may write to it",
        )
    return StoreError(
        f"cannot use the PostgreSQL database {store.display_url}: {message}",
        hint="check that the server is running and that the URL in scaleguard.toml is right",
    )


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        # Straight to the driver (every write starts here); errors keep SQLAlchemy's classes.
        run_driver(conn, "BEGIN IMMEDIATE" if write else "BEGIN", ())
