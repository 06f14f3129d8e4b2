"""ISO 8601 durations (``P6M``, ``P1Y``, ``P30D``, ``P2W``) for framework cadences.

Only calendar parts are accepted: a framework's cadence is measured in days,
weeks, months and years, never hours. Comparisons use an average month so
that ``P3M`` < ``P100D`` < ``P6M`` < ``P1Y`` order as a reader expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from scaleguard.isoduration import (
    CALENDAR_PATTERN,
    read_parts,
    shift_months,
    string_core_schema,
    string_json_schema,
    too_long,
    too_long_message,
)

_DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True, order=False)
class Duration:
    """A calendar duration, printed in a normal form (``P1Y6M``), ordered by approximate length."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        parts = read_parts(text, CALENDAR_PATTERN)
        if parts is None:
            raise ValueError(
                f"{text!r} is not an ISO 8601 duration; write e.g. 'P6M' (6 months), "
                "'P1Y', 'P30D' or 'P2W'"
            )
        if too_long(parts):
            raise ValueError(too_long_message(text))
        return cls(years=parts.years, months=parts.months, weeks=parts.weeks, days=parts.days)

    @property
    def approx_days(self) -> float:
        return (self.years * 12 + self.months) * _DAYS_PER_MONTH + self.weeks * 7 + self.days

    def add_to(self, start: date) -> date:
        """Calendar addition: month ends clamp (31 Jan + P1M = 28/29 Feb)."""
        year, month, day = shift_months(start, self.years * 12 + self.months)
        return date(year, month, day) + timedelta(weeks=self.weeks, days=self.days)

    def __str__(self) -> str:
        out = "P"
        for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W")):
            if value:
                out += f"{value}{unit}"
        if self.days or out == "P":
            out += f"{self.days}D"
        return out

    def __lt__(self, other: Duration) -> bool:
        return self.approx_days < other.approx_days

    def __le__(self, other: Duration) -> bool:
        return self.approx_days <= other.approx_days

    def __gt__(self, other: Duration) -> bool:
        return self.approx_days > other.approx_days

    def __ge__(self, other: Duration) -> bool:
        return self.approx_days >= other.approx_days

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return string_core_schema(
            Duration, cls.parse, "expected an ISO 8601 duration string such as 'P6M'"
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return string_json_schema(
            CALENDAR_PATTERN,
            description="ISO 8601 calendar duration, e.g. P6M, P1Y, P30D",
            examples=["P6M", "P1Y", "P30D"],
        )
