"""Plain driver cursors for full verification: rows in batches, no ORM objects."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from scaleguard.store.db import first_line, styled

UNREADABLE = "cannot be read as scaleguard wrote it: "
_FETCH = 5000
_names = itertools.count()


class ReadFailed(Exception):
    """The driver refused a query (a dropped column, a value it cannot convert)."""


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
