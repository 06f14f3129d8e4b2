"""Plain driver cursors for full verification: rows in batches, no ORM objects."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from scaleguard.store.db import first_line, styled

UNREADABLE = "cannot be read as scaleguard wrote it: "
_FETCH = 5000
_names = itertools.count()


Processor = Callable[[Any], Any]


class ReadFailed(Exception):
    """The driver refused a query (a dropped column, a value it cannot convert)."""


def column_processors(table: Table, dialect: Dialect) -> list[Processor | None]:
    """How the row check and full verification turn each column's driver value into
    a record value, in column order: the column type's own result processor.

    Deliberately not the dialect's implementation a ``select`` uses: that one
    parses a SQLite DATE's text into a date, so ``2024-W01-5`` would read as
    the signed ``2024-01-05``. Here a date stays the text it is stored as, and
    any spelling but the signed one is a difference. A JSON column's processor
    reads text only: SQLite stores a JSON number as a number (the column's
    numeric affinity), which is that value as it is. No processor needs the
    driver's type codes, so a column whose stored type was changed is read as
    the driver gives it and compared like any other.
    """
    found: list[Processor | None] = []
    for column in table.c:
        process: Processor | None = column.type.result_processor(dialect, None)
        if process is not None and isinstance(column.type, JSON):
            process = _text_only(process)
        found.append(process)
    return found


def _text_only(process: Processor) -> Processor:
    def read(value: Any) -> Any:
        return process(value) if type(value) is str or type(value) is bytes else value

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
