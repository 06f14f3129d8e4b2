"""Plain driver cursors for full verification: rows in batches, no ORM objects."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from scaleguard.ledger.canonical import MAX_SAFE_INTEGER
from scaleguard.store.db import first_line, styled

UNREADABLE = "cannot be read as scaleguard wrote it: "
_FETCH = 5000
_names = itertools.count()


Processor = Callable[[Any], Any]


class ReadFailed(Exception):
    """The driver refused a query (a dropped column, a value it cannot convert)."""


def column_processors(table: Table, dialect: Dialect) -> list[Processor | None]:
    """How full verification, and the row check on SQLite, turn each column's driver
    value into a record value, in column order: the column type's own result processor.
    (The row check on PostgreSQL reads through a select; that driver returns typed
    values, so there is no stored spelling to keep.)

    Deliberately not the dialect's implementation a ``select`` uses: that one
    parses a SQLite DATE's text into a date, so ``2024-W01-5`` would read as
    the signed ``2024-01-05``. Here a date stays the text it is stored as, and
    any spelling but the signed one is a difference. A JSON column's processor
    parses text only (see :func:`json_cell`). No processor needs the driver's
    type codes, so a column whose stored type was changed is read as the
    driver gives it and compared like any other.
    """
    found: list[Processor | None] = []
    for column in table.c:
        process: Processor | None = column.type.result_processor(dialect, None)
        if process is not None and isinstance(column.type, JSON):
            process = json_cell(process)
        found.append(process)
    return found


def json_cell(parse: Processor) -> Processor:
    """A JSON column's cell: text is parsed; a number is its value as it is.

    SQLite gives a JSON column numeric affinity, so a stored number comes back
    as a number, and an integral float is stored as an INTEGER: ``2**53 * 1.0``
    comes back as ``9007199254740992``. A record never holds an integer beyond
    +/-(2**53 - 1) (canonical JSON refuses them), so such an integer is read as
    the float it was, when it is exactly one; any other stays as it is, and
    fails the comparison with the signed record.
    """

    def read(value: Any) -> Any:
        if type(value) is str or type(value) is bytes:
            return parse(value)
        if type(value) is int and abs(value) > MAX_SAFE_INTEGER:
            as_float = float(value)
            if int(as_float) == value:
                return as_float
        return value

    return read


class Reader:
    """Rows straight from the driver, streamed: no ORM rows, no whole-table lists.

    SQLite cursors step through the result as they are read; PostgreSQL gets
    a named (server-side) cursor. Both run inside the session's transaction,
    so they see its snapshot.
    """

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.dialect = connection.dialect
        self.dbapi: Any = connection.connection.dbapi_connection
        self.postgres = self.dialect.name == "postgresql"
        self.quote = self.dialect.identifier_preparer.quote
        self._errors: tuple[type[BaseException], ...] = (self.dialect.loaded_dbapi.Error,)

    def _styled(self, sql: str) -> str:
        return styled(self.dialect.paramstyle, sql)

    def all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A small result at once (an aggregate, one span's hashes)."""
        try:
            cursor = self.dbapi.cursor()
            try:
                cursor.execute(self._styled(sql), tuple(params))
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except self._errors as exc:
            raise ReadFailed(first_line(exc)[:200]) from None

    def batches(self, sql: str, params: Sequence[Any]) -> Iterator[list[tuple[Any, ...]]]:
        """The result in lists of up to a few thousand rows, so callers can work a batch at once."""
        try:
            if self.postgres:
                with self.dbapi.cursor(name=f"scaleguard_verify_{next(_names)}") as cursor:
                    cursor.itersize = _FETCH
                    cursor.execute(self._styled(sql), tuple(params))
                    while batch := cursor.fetchmany(_FETCH):
                        yield list(batch)
            else:
                cursor = self.dbapi.cursor()
                try:
                    cursor.execute(sql, tuple(params))
                    while batch := cursor.fetchmany(_FETCH):
                        yield batch
                finally:
                    cursor.close()
        except self._errors as exc:
            raise ReadFailed(first_line(exc)[:200]) from None

    def rows(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        for batch in self.batches(sql, params):
            yield from batch
