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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def _walk(params: Any) -> Iterable[Any]:
    if isinstance(params, Mapping):
        yield from params.values()
    elif isinstance(params, list | tuple):
        for item in params:
            if isinstance(item, Mapping | list | tuple):
                yield from _walk(item)
            else:
                yield item


def install(engine: Engine) -> None:
    """Check every parameter of every statement before the driver sees it."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(
        _conn: Any, _cursor: Any, _statement: str, params: Any, _context: Any, _many: bool
    ) -> None:
        for value in _walk(params):
            check_value(value)
