"""Spans of time in regime files: ``PT24H``, ``PT72H``, ``P15D``, ``P4W``, ``P3M``, ``P1Y``.

Statutory clocks are counted in hours and days; recurring duties in months
and years. Adding a span to an instant is exact for hours, days and weeks and
calendar-based for months and years (the day is clamped to the month's end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from scaleguard.isoduration import (
    CLOCK_PATTERN,
    read_parts,
    shift_months,
    string_core_schema,
    string_json_schema,
    too_long,
    too_long_message,
)


@dataclass(frozen=True)
class Span:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Span:
        parts = read_parts(text, CLOCK_PATTERN)
        if parts is None:
            raise ValueError(
                f"{text!r} is not a duration; write e.g. 'PT24H' (24 hours), 'P15D' "
                "(15 days), 'P4W', 'P3M' or 'P1Y'"
            )
        numbers = (parts.years, parts.months, parts.weeks, parts.days, parts.hours)
        if not any(numbers):
            raise ValueError(f"{text!r} is zero; a clock needs a positive span")
        if too_long(parts):
            raise ValueError(too_long_message(text))
        return cls(*numbers, parts.text)

    def __str__(self) -> str:
        return self.text

    def add(self, moment: datetime) -> datetime:
        months = self.years * 12 + self.months
        shifted = moment
        if months:
            year, month, day = shift_months(moment, months)
            shifted = moment.replace(year=year, month=month, day=day)
        return shifted + timedelta(weeks=self.weeks, days=self.days, hours=self.hours)

    def add_date(self, day: date) -> date:
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return self.add(moment).date()

    def describe(self) -> str:
        parts = []
        for value, unit in (
            (self.years, "year"),
            (self.months, "month"),
            (self.weeks, "week"),
            (self.days, "day"),
            (self.hours, "hour"),
        ):
            if value:
                parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
        return " ".join(parts)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return string_core_schema(
            Span, cls.parse, "a duration is a string such as 'P15D' or 'PT24H'"
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return string_json_schema(CLOCK_PATTERN)
