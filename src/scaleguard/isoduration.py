"""The ISO 8601 duration machinery shared by regime spans and framework cadences.

:class:`~scaleguard.incidents.span.Span` (``PT24H``, ``P15D``) and
:class:`~scaleguard.framework.durations.Duration` (``P6M``, ``P1Y``) differ in
what they accept and how they print, but read the same notation, move dates
by the same calendar rule and plug into pydantic the same way; those parts
live here once, so the two cannot drift apart.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_CALENDAR = r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"

CALENDAR_PATTERN = re.compile(_CALENDAR + "$", re.ASCII)
"""Years, months, weeks and days: a cadence never needs hours."""

CLOCK_PATTERN = re.compile(_CALENDAR + r"(?:T(\d+)H)?$", re.ASCII)
"""The calendar parts plus an optional hours part: statutory clocks run in hours."""

T = TypeVar("T")


@dataclass(frozen=True)
class Parts:
    """What a duration's text says, before a type applies its own limits."""

    years: int
    months: int
    weeks: int
    days: int
    hours: int
    text: str
    """The text as written, without surrounding whitespace."""


def read_parts(value: object, pattern: re.Pattern[str]) -> Parts | None:
    """The parts of ``value`` under ``pattern``, or None when it is no duration at all.

    A bare ``P`` matches the pattern with every part absent, yet says nothing,
    so it is refused here rather than in each type.
    """
    if not isinstance(value, str):
        return None
    raw = value.strip()
    match = pattern.match(raw)
    if match is None or raw == "P":
        return None
    numbers = [int(group) if group else 0 for group in match.groups()]
    years, months, weeks, days, hours = numbers + [0] * (5 - len(numbers))
    return Parts(years, months, weeks, days, hours, raw)


#: Longest duration either type accepts: added to any date before 9000 it stays
#: within the calendar (year 9999), and no rule or clock runs longer.
MAX_YEARS = 1000
#: Largest single number accepted, whatever the total.
MAX_PART = 100_000


def too_long_message(text: str) -> str:
    """What a duration that :func:`too_long` refuses is told."""
    return (
        f"{text!r} is implausibly long (more than {MAX_YEARS} years, or a number above "
        f"{MAX_PART:,})"
    )


def too_long(parts: Parts) -> bool:
    """Longer than :data:`MAX_YEARS`, or a part larger than :data:`MAX_PART`.

    Without the limit a duration such as ``P9000Y`` parses, then fails with a
    calendar overflow when a deadline is computed from it, far from the file
    that said it.
    """
    numbers = (parts.years, parts.months, parts.weeks, parts.days, parts.hours)
    if max(numbers) > MAX_PART:
        return True
    months = parts.years * 12 + parts.months
    days = parts.weeks * 7 + parts.days + parts.hours / 24
    return months + days / (365.2425 / 12) > MAX_YEARS * 12


def shift_months(start: date, months: int) -> tuple[int, int, int]:
    """Year, month and day ``months`` calendar months after ``start``.

    The day clamps to the target month's end (31 January + 1 month is 28 or 29
    February), which is how people count "one month later". The caller builds
    the date or datetime, so a year past 9999 fails there, as the standard
    library reports it.
    """
    year, month = divmod(start.year * 12 + (start.month - 1) + months, 12)
    month += 1
    return year, month, min(start.day, calendar.monthrange(year, month)[1])


def string_core_schema(
    kind: type[T], parse: Callable[[str], T], not_a_string: str
) -> core_schema.CoreSchema:
    """Validate a field from its text through ``parse``; serialise it with ``str()``.

    Instances pass through untouched, and anything that is not a string gets
    ``not_a_string`` as its message rather than a type error from deep inside.
    """

    def validate(value: Any) -> T:
        if isinstance(value, kind):
            return value
        if not isinstance(value, str):
            raise ValueError(not_a_string)
        return parse(value)

    return core_schema.no_info_plain_validator_function(
        validate, serialization=core_schema.to_string_ser_schema()
    )


def string_json_schema(
    pattern: re.Pattern[str],
    description: str | None = None,
    examples: list[str] | None = None,
) -> JsonSchemaValue:
    """The JSON schema of a duration field: a string matching ``pattern``."""
    schema: JsonSchemaValue = {"type": "string", "pattern": pattern.pattern}
    if description is not None:
        schema["description"] = description
    if examples is not None:
        schema["examples"] = list(examples)
    return schema
