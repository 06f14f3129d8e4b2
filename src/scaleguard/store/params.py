"""Every value sent to the database is checked at one place, the same on both backends.

* Integers must fit a signed 64-bit column: ids, indexes and sizes are stored
  as BIGINT, and a lookup with a larger number (``report show
  9223372036854775808``) would otherwise fail inside the driver (SQLite raises
  OverflowError, PostgreSQL "out of range"). Such a number names no record,
  so it is refused as bad input wherever it comes from.
* Text may not hold NUL: PostgreSQL refuses it and SQLite would keep it, so
  the same input would be stored on one backend and fail on the other.
  Readers refuse control characters earlier with a located message; this is
  the backstop.
* Text must be valid Unicode: a lone surrogate (``"\\ud800"``, which JSON
  input can spell) cannot be encoded as UTF-8, so either driver would fail
  half-way through a write with an encoding traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, event

from scaleguard.errors import InputError

MAX_BIGINT = 2**63 - 1
MIN_BIGINT = -(2**63)


def check_value(value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not MIN_BIGINT <= value <= MAX_BIGINT:
        raise InputError(
            f"the number {value} is out of range: scaleguard numbers its records with "
            "64-bit integers (at most 9223372036854775807)",
            hint="check the id or index you gave; 'list' commands show the ones that exist",
        )
    if isinstance(value, str) and "\x00" in value:
        raise InputError(
            "text with a NUL character cannot be stored",
            hint="remove control characters from the input",
        )
    if isinstance(value, str) and not _utf8(value):
        at = next(i for i, c in enumerate(value) if 0xD800 <= ord(c) <= 0xDFFF)
        raise InputError(
            f"text with an unpaired surrogate (U+{ord(value[at]):04X} at character {at}) "
            "cannot be stored",
            hint="the input is not valid Unicode; fix the escape (e.g. '\\ud800') at its source",
        )


def _utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(params: Any) -> Iterable[Any]:
    if isinstance(params, Mapping):
        yield from params.values()
    elif isinstance(params, list | tuple):
        for item in params:
            if isinstance(item, Mapping | list | tuple):
                yield from _walk(item)
            else:
                yield item


#: Types that can never break the rules above (``type(v) is``, so subclasses are checked).
_FREE = frozenset({bytes, float, bool, type(None)})


def _check_row(values: Iterable[Any], nested: bool) -> None:
    """:func:`check_value` for one row, with the common types tested inline.

    A batch insert sends hundreds of thousands of values; checking each one
    through ``isinstance`` against abstract classes cost more than the insert.
    """
    for value in values:
        kind = type(value)
        if kind is str:
            if "\x00" in value or not _utf8(value):
                check_value(value)
        elif kind is int:
            if not MIN_BIGINT <= value <= MAX_BIGINT:
                check_value(value)
        elif kind in _FREE:
            continue
        elif nested and isinstance(value, Mapping | list | tuple):
            for item in _walk(value):
                check_value(item)
        else:
            check_value(value)


def _check_columns(rows: Sequence[Any]) -> bool:
    """The batch case, column by column; False (nothing checked) unless ``rows`` are
    tuples of one width.

    A column of only integers is in range when its minimum and maximum are; a
    column of only text holds no NUL when their concatenation holds none; both
    tests run in C. Any other column is checked value by value.
    """
    if not rows or set(map(type, rows)) != {tuple} or len(set(map(len, rows))) != 1:
        return False
    for column in zip(*rows, strict=True):
        kinds = set(map(type, column))
        if kinds <= _FREE:
            continue
        if kinds == {int}:
            if min(column) >= MIN_BIGINT and max(column) <= MAX_BIGINT:
                continue
        elif kinds == {str}:
            joined = "".join(column)
            if "\x00" not in joined and _utf8(joined):
                continue
        _check_row(column, nested=True)
    return True


def check_params(params: Any, many: bool) -> None:
    """Check what a statement sends, exactly as walking it with :func:`_walk` would."""
    if many and isinstance(params, list) and _check_columns(params):
        return
    for row in params if many and isinstance(params, list | tuple) else (params,):
        if isinstance(row, Mapping):
            _check_row(row.values(), nested=False)
        elif isinstance(row, list | tuple):
            _check_row(row, nested=True)
        else:
            check_value(row)


def install(engine: Engine) -> None:
    """Check every parameter of every statement before the driver sees it."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, params: Any, _context: Any, many: bool
    ) -> None:
        check_params(params, many)
