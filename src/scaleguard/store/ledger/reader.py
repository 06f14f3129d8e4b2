"""Plain driver cursors for full verification: rows in batches, no ORM objects."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scaleguard.store.db import first_line, styled

UNREADABLE = "cannot be read as scaleguard wrote it: "
_FETCH = 5000
_names = itertools.count()


Processor = Callable[[Any], Any]


class ReadFailed(Exception):
    """The driver refused a query (a dropped column, a value it cannot convert)."""


def column_processors(
    table: Table, dialect: Dialect, type_codes: Sequence[object] | None = None
) -> list[Processor | None]:
    """What a ``select`` of ``table`` does to each column's driver value, in column order.

    That is the result processor of the column type as ``dialect`` implements
    it (a SQLite DATE's text becomes a date), given the type code the driver
    reports for the column (``cursor.description``), by which some
    implementations choose (psycopg's floating point); sqlite3 reports none.
    Where the dialect cannot read the reported type at all (a column whose
    stored type was changed), the driver's values are left as they are, to be
    compared with the signed record like any other.
    """
    codes: Sequence[object] = [None] * len(table.c) if type_codes is None else type_codes
    processors: list[Processor | None] = []
    for column, code in zip(table.c, codes, strict=True):
        try:
            processors.append(column.type.dialect_impl(dialect).result_processor(dialect, code))
        except (SQLAlchemyError, TypeError):
            processors.append(None)
    return processors


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

    def processors(self, table: Table) -> list[Processor | None]:
        """:func:`column_processors` for ``table`` with the type codes this driver reports
        for its columns (read from an empty select of them)."""
        names = ", ".join(self.quote(c.name) for c in table.c)
        sql = f"SELECT {names} FROM {self.quote(table.name)} WHERE 1 = 0"
        try:
            cursor = self.dbapi.cursor()
            try:
                cursor.execute(sql)
                codes = [d[1] for d in cursor.description]
            finally:
                cursor.close()
        except self._errors as exc:
            raise ReadFailed(first_line(exc)[:200]) from None
        return column_processors(table, self.dialect, codes)

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
