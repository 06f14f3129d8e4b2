"""The generic record path: every ledger-backed row is written and read through here.

A record is one row of a record table plus one ledger entry, written in the
same transaction: the entry holds every column of the row but the time and
the ledger index (``{"id": ..., <columns>}``), the row points at the entry.
:func:`create_record` writes one; :func:`create_records` writes many (of one
or several tables) with one index query, one id query per table and one
multi-row insert per table, storing exactly what :func:`create_record` would
store called once per item at the same time: the same ids, ledger indices,
entry bytes and order (a test compares both paths row by row).

Domain stores (roadmap, reports, review, usage, incidents) use these public
helpers instead of repeating the plumbing; :func:`list_records` is the one
query shape "rows of a table, filtered, oldest first, as frozen records".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, func, insert, select
from sqlalchemy.orm import Session

from scaleguard.ledger.canonical import entries_bytes, format_time
from scaleguard.store.db import Tx
from scaleguard.store.ledger.append import append_entries, append_record, now
from scaleguard.store.ledger.census import census_key
from scaleguard.store.tables import Base

R = TypeVar("R")
P = ParamSpec("P")


# -- values between rows, entries and records ------------------------------------------


def record_value(value: Any) -> Any:
    """A column value as the ledger entry holds it: dates as ISO text, tuples as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [record_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): record_value(v) for k, v in value.items()}
    return value


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def record_from(cls: type[R], values: Mapping[Any, Any]) -> R:
    """A frozen record from column values (a dict or a result row's ``_mapping``).

    JSON lists become tuples, so records stay hashable and immutable.
    """
    out: dict[str, Any] = {}
    for name in _field_names(cls):
        value = values[name]
        out[name] = tuple(value) if isinstance(value, list) else value
    return cls(**out)


def to_record(cls: type[R], row: Any) -> R:
    """A frozen record from an ORM row (attribute access)."""
    out: dict[str, Any] = {}
    for name in _field_names(cls):
        value = getattr(row, name)
        out[name] = tuple(value) if isinstance(value, list) else value
    return cls(**out)


# -- reading -----------------------------------------------------------------------------


def _table(table: type[Base]) -> Table:
    return cast(Table, table.__table__)


def list_records(
    session: Session,
    table: type[Base],
    cls: type[R],
    *where: ColumnElement[bool],
    order_by: Any = None,
    limit: int | None = None,
    **equal: object,
) -> list[R]:
    """Rows of ``table`` as ``cls`` records, in primary-key (id) order unless ``order_by``
    (a column, expression or tuple of them) says otherwise.

    ``where`` takes SQL conditions; each keyword is a column that must equal
    its value, and a keyword given as None is no filter (``model=None``: all
    models), which is what every "optionally for one X" listing wants.
    """
    columns = _table(table).c
    query = select(_table(table)).where(*where)
    for name, value in equal.items():
        if value is not None:
            query = query.where(columns[name] == value)
    if order_by is None:  # the primary key: the id of a record table
        query = query.order_by(*_table(table).primary_key.columns)
    else:
        query = query.order_by(*(order_by if isinstance(order_by, tuple) else (order_by,)))
    if limit is not None:
        query = query.limit(limit)
    return [record_from(cls, row._mapping) for row in session.execute(query)]


def first_record(
    session: Session,
    table: type[Base],
    cls: type[R],
    *where: ColumnElement[bool],
    order_by: Any = None,
    **equal: object,
) -> R | None:
    """The first row :func:`list_records` would list, or None.

    Here every keyword is a lookup key, so None is refused rather than read as "no
    filter": looking up ``id=None`` must not answer with the first row of the table.
    """
    unset = sorted(name for name, value in equal.items() if value is None)
    if unset:
        raise ValueError(f"first_record: no value for the lookup key(s) {', '.join(unset)}")
    found = list_records(session, table, cls, *where, order_by=order_by, limit=1, **equal)
    return found[0] if found else None


# -- writing -----------------------------------------------------------------------------

_NEXT_ID: dict[Table, Select[Any]] = {}


def next_id(tx: Tx, table: type[Base]) -> int:
    """The id the next row of ``table`` gets: dense, read under the write lock."""
    columns = _table(table)
    query = _NEXT_ID.get(columns)
    if query is None:
        query = _NEXT_ID[columns] = select(func.coalesce(func.max(columns.c.id) + 1, 1))
    return int(tx.execute(query).scalar_one())


def create_record(
    tx: Tx,
    table: type[Base],
    cls: type[R],
    kind: str,
    subject: str,
    values: Mapping[str, Any],
    *,
    time_column: str = "created_at",
    at: datetime | None = None,
) -> R:
    """Insert one record row and its ledger entry; the entry holds every column but the index.

    ``at`` overrides the time (an anonymous report is dated to the day).
    """
    moment = at or now()
    row_id = next_id(tx, table)
    full = {"id": row_id, **values}
    record = {k: record_value(v) for k, v in full.items()}
    idx = append_record(tx, kind, subject, record, at=moment)
    row = {**full, time_column: format_time(moment), "ledger_index": idx}
    tx.execute(insert(_table(table)), row)
    return record_from(cls, row)


@dataclass(frozen=True)
class NewRecord:
    """One record for :func:`create_rows`: what :func:`create_record` takes, minus the class."""

    table: type[Base]
    kind: str
    subject: str
    values: Mapping[str, Any] = field(default_factory=dict)
    time_column: str = "created_at"


def create_rows(
    tx: Tx, items: Sequence[NewRecord], *, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Create many records, possibly of several tables, as if one by one in this order.

    Returns each record's full row (with id, time and ledger index). Ids are
    numbered per table from its next id and ledger indices from the next
    index, in the order of ``items``; all share one time. Rows are inserted
    one statement per table, parents before children (the metadata's
    foreign-key order), so a batch may hold a model and its scores.
    """
    if not items:
        return []
    moment = at or now()
    created_at = format_time(moment)
    ids: dict[type[Base], int] = {}
    rows: list[dict[str, Any]] = []
    records: list[tuple[str, Mapping[str, object]]] = []
    for item in items:
        row_id = ids.get(item.table)
        if row_id is None:
            row_id = next_id(tx, item.table)
        ids[item.table] = row_id + 1
        full = {"id": row_id, **item.values}
        records.append((item.kind, {k: record_value(v) for k, v in full.items()}))
        full[item.time_column] = created_at
        rows.append(full)
    data = entries_bytes(records, moment)
    keys = [census_key(kind, record) for kind, record in records]
    first = append_entries(tx, [(i.kind, i.subject) for i in items], data, created_at, keys)
    by_table: dict[type[Base], list[dict[str, Any]]] = {}
    for offset, (item, row) in enumerate(zip(items, rows, strict=True)):
        row["ledger_index"] = first + offset
        by_table.setdefault(item.table, []).append(row)
    order = {t: n for n, t in enumerate(Base.metadata.sorted_tables)}
    for table in sorted(by_table, key=lambda t: order[_table(t)]):
        tx.execute(insert(_table(table)), by_table[table])
    return rows


def create_records(
    tx: Tx,
    table: type[Base],
    cls: type[R],
    kind: str,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    time_column: str = "created_at",
    at: datetime | None = None,
) -> list[R]:
    """:func:`create_record` for many ``(subject, values)`` of one table, in one go."""
    batch = [NewRecord(table, kind, subject, values, time_column) for subject, values in items]
    rows = create_rows(tx, batch, at=at)
    return [record_from(cls, row) for row in rows]


def creator(make: Callable[P, NewRecord], cls: type[R]) -> Callable[Concatenate[Tx, P], R]:
    """``add_x(tx, **fields)`` from ``new_x(**fields)``: the same record, created at once.

    The record's fields are written once, in ``make``, for both the single and
    the batch path (:func:`create_rows` takes ``make``'s results).
    """

    def add(tx: Tx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        item = make(*args, **kwargs)
        return create_record(
            tx, item.table, cls, item.kind, item.subject, item.values, time_column=item.time_column
        )

    add.__doc__ = f"Create the record :func:`{make.__name__}` describes, with its ledger entry."
    return add
