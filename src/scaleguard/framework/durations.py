"""ISO 8601 durations (``P6M``, ``P1Y``, ``P30D``, ``P2W``) for framework cadences.

Only calendar parts are accepted: a framework's cadence is measured in days,
weeks, months and years, never hours. Comparisons use an average month so
that ``P3M`` < ``P100D`` < ``P6M`` < ``P1Y`` order as a reader expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_PATTERN = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True, order=False)
class Duration:
    """A calendar duration. ``text`` is kept so output shows what the author wrote."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match or text.strip() == "P":
            raise ValueError(
                f"{text!r} is not an ISO 8601 duration; write e.g. 'P6M' (6 months), "
                "'P1Y', 'P30D' or 'P2W'"
            )
        y, m, w, d = (int(g) if g else 0 for g in match.groups())
        return cls(years=y, months=m, weeks=w, days=d)

    @property
    def approx_days(self) -> float:
        return (self.years * 12 + self.months) * _DAYS_PER_MONTH + self.weeks * 7 + self.days

    def add_to(self, start: date) -> date:
        """Calendar addition: month ends clamp (31 Jan + P1M = 28/29 Feb)."""
        total_months = start.month - 1 + self.months + 12 * self.years
        year = start.year + total_months // 12
        month = total_months % 12 + 1
        day = min(start.day, _days_in_month(year, month))
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
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if not isinstance(value, str):
                raise ValueError("expected an ISO 8601 duration string such as 'P6M'")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _PATTERN.pattern,
            "description": "ISO 8601 calendar duration, e.g. P6M, P1Y, P30D",
            "examples": ["P6M", "P1Y", "P30D"],
        }


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days
