"""The rows a check reads, and how each read shows them unchanged.

A *scope* is a table and a condition (:class:`Scope`). Its rows are read once
in full when they must be proven (:func:`read_rows`), and afterwards only
shown unchanged (:func:`scope_tokens`): on SQLite by reading them as the driver
returns them, on PostgreSQL by one SHA-256 per scope computed by the server
over an injective encoding of its rows. Every read also shows the tables it
read are plain stored tables (:mod:`scaleguard.store.ledger.relations`).
See :mod:`scaleguard.store.ledger.rows` for how the check uses them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Select, Table, literal_column, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from scaleguard.errors import LedgerIntegrityError
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.store.db import first_line
from scaleguard.store.ledger import relations
from scaleguard.store.ledger.census import SUBJECT_FIELD, Counted
from scaleguard.store.ledger.reader import column_processors
from scaleguard.store.params import check_params
from scaleguard.store.tables import metadata

__all__ = [
    "HINT",
    "Scope",
    "ScopeKey",
    "checked_tokens",
    "kind_scope",
    "pg_read",
    "processed",
    "scope_tokens",
    "sqlite_raw",
]

HINT = (
    "the database was edited after the row was recorded; run 'scaleguard ledger verify --full' "
    "and restore the database from a backup"
)

ScopeKey = tuple[str, str | None]


@dataclass(frozen=True, eq=False)
class Scope:
    """The rows of ``table`` matching ``where`` (all rows when empty), in id order;
    ``counted`` says which signed entries they must all be (no completeness check when None)."""

    key: ScopeKey
    table: Table
    where: tuple[ColumnElement[bool], ...] = ()
    counted: Counted | None = None
    _compiled: dict[tuple[str, str], tuple[str, tuple[Any, ...]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def statement(self) -> Select[Any]:
        """Every column of the scope's rows, in id order."""
        return select(*self.table.c).where(*self.where).order_by(self.table.c.id)

    def positional_sql(self, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
        """:meth:`statement` as driver SQL of ``dialect`` (qmark style on SQLite) and its
        parameters in order, for a raw read; compiled once per scope and dialect.

        Parameter values go to the driver as they are, which is what SQLAlchemy
        binds for the text and integer conditions scopes hold.
        """
        key = (dialect.name, dialect.paramstyle)  # not the instance: engines come and go
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement().compile(
                dialect=dialect, compile_kwargs={"render_postcompile": True}
            )
            if compiled.positiontup is None:
                raise TypeError(f"the {dialect.name} driver does not bind parameters by position")
            values = compiled.params
            found = (str(compiled), tuple(values[name] for name in compiled.positiontup))
            self._compiled[key] = found
        return found


def _pg_encoding(table: Table) -> str:
    """PostgreSQL text encoding a row injectively (see the module docstring). Functions are
    named with their schema: one matching a column's type exactly (``pg_catalog`` has no
    ``quote_nullable(json)``) would be chosen wherever it is on the search_path."""
    parts = []
    for column in table.c:
        name = f'"{column.name}"'
        if isinstance(column.type, Float):
            parts.append(
                f"COALESCE(pg_catalog.encode(pg_catalog.float8send({name}::float8), 'hex'), 'NULL')"
            )
        else:
            parts.append(f"pg_catalog.quote_nullable({name})")
    return " || ',' || ".join(parts)


def _pg_digest_query(scope: Scope) -> Any:
    agg: ColumnElement[Any] = literal_column(
        "pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.string_agg("
        f"{_pg_encoding(scope.table)}, ';' ORDER BY \"id\"), 'UTF8'))"
    )
    return select(agg).select_from(scope.table).where(*scope.where)


def _read_error(table: Table, exc: Exception) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"the {table.name} table cannot be read as scaleguard wrote it: {first_line(exc)[:200]}",
        hint=HINT,
    )


def _pg_digests(
    session: Session, scopes: Sequence[Scope], tables: Sequence[str] = ()
) -> tuple[list[object], Any]:
    """Every scope's digest, in one statement (one round trip); with ``tables``, also the
    description of those tables :func:`relations.judge_pg` needs, from the same statement."""
    columns: list[Any] = [_pg_digest_query(s).scalar_subquery() for s in scopes]
    if tables:
        columns.append(literal_column(relations.pg_facts_sql(tables)))
    try:
        row = session.execute(select(*columns)).one()
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise _read_error(scopes[0].table, exc) from None
    digests: list[object] = [None if v is None else bytes(v) for v in row[: len(scopes)]]
    return digests, (row[len(scopes)] if tables else None)


def pg_read(session: Session, scope: Scope) -> tuple[object, list[tuple[str, dict[str, Any]]]]:
    """The scope's rows and the digest of exactly those rows (one statement)."""
    table = scope.table
    query = (
        select(literal_column(_pg_encoding(table)).label("_encoded"), *table.c)
        .where(*scope.where)
        .order_by(table.c.id)
    )
    try:
        result = session.execute(query)
        keys = tuple(result.keys())[1:]  # once: a mapping per row costs more than the row
        fetched = result.all()
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise _read_error(table, exc) from None
    if not fetched:
        return None, []
    encoded = ";".join(str(r[0]) for r in fetched)
    digest = hashlib.sha256(encoded.encode("utf-8")).digest()
    return digest, [(table.name, dict(zip(keys, r[1:], strict=True))) for r in fetched]


def sqlite_raw(session: Session, scope: Scope) -> list[tuple[Any, ...]]:
    """The scope's rows as the driver returns them, in id order (same transaction)."""
    connection = session.connection()
    sql, params = scope.positional_sql(connection.dialect)
    check_params(params, many=False)  # the raw read bypasses the engine's check (an id > 2**63)
    try:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        return list(raw.execute(sql, params).fetchall())
    except (SQLAlchemyError, sqlite3.Error, TypeError, ValueError) as exc:
        raise _read_error(scope.table, exc) from None


def processed(
    session: Session, table: Table, raw: Sequence[tuple[Any, ...]]
) -> list[tuple[str, dict[str, Any]]]:
    """Driver values turned into record values, as full verification reads them
    (:func:`~scaleguard.store.ledger.reader.column_processors`)."""
    procs = column_processors(table, session.connection().dialect)
    names = [c.name for c in table.c]
    out = []
    try:
        for row in raw:
            values = {
                n: (p(v) if p is not None else v) for n, p, v in zip(names, procs, row, strict=True)
            }
            out.append((table.name, values))
    except (TypeError, ValueError) as exc:
        raise _read_error(table, exc) from None
    return out


def scope_tokens(session: Session, scopes: Sequence[Scope]) -> list[object]:
    """What shows each scope unchanged since it was proven: all a warm check reads of it.

    SQLite: the rows themselves as the driver returns them (reading them costs
    less than any digest SQLite can compute, and list equality runs in C).
    PostgreSQL: every scope's digest, computed by the server in one statement.
    """
    if not scopes:
        return []
    if session.connection().dialect.name == "sqlite":
        return [sqlite_raw(session, scope) for scope in scopes]
    return _pg_digests(session, scopes)[0]


def checked_tokens(session: Session, scopes: Sequence[Scope]) -> list[object]:
    """:func:`scope_tokens`, once the tables they were read from are shown to be plain
    stored tables (:mod:`~scaleguard.store.ledger.relations`).

    The tables are checked after their rows were read: on PostgreSQL that read
    holds the lock that keeps out, until the transaction ends, the DDL that could
    make them anything else (see that module), and the check costs no round trip
    of its own: it is part of the statement that reads the digests.
    """
    tables = sorted({scope.table.name for scope in scopes})
    if session.connection().dialect.name == "sqlite":
        tokens: list[object] = [sqlite_raw(session, scope) for scope in scopes]
        relations.check_relations(session, tables)
        return tokens
    digests, facts = _pg_digests(session, scopes, tables)
    relations.judge_pg(session, tables, facts)
    return digests


#: (kind, subject) -> its scope, which keeps its compiled SQL
_kind_scopes: dict[tuple[str, int | str | None], Scope] = {}


def kind_scope(kind: str, subject: int | str | None = None) -> Scope:
    """The rows recorded as entries of ``kind`` about ``subject`` (selected by the column
    the census counts the kind by, :data:`~scaleguard.store.ledger.census.SUBJECT_FIELD`),
    or every row of the kind when None; each one the key signed, none missing."""
    found = _kind_scopes.get((kind, subject))
    if found is None:
        table = metadata.tables[RECORD_TABLES[kind][0]]
        if subject is None:
            found = Scope((table.name, None), table, (), Counted(kind))
        else:
            column = SUBJECT_FIELD.get(kind, "model")
            found = Scope(
                (table.name, f"{column} = {subject!r}"),
                table,
                (table.c[column] == subject,),
                Counted(kind, (str(subject),)),
            )
        if len(_kind_scopes) >= 4096:
            _kind_scopes.clear()
        _kind_scopes[(kind, subject)] = found
    return found
