"""Spans of time in regime files: ``PT24H``, ``PT72H``, ``P15D``, ``P4W``, ``P3M``, ``P1Y``.

Statutory clocks are counted in hours and days; recurring duties in months
and years. Adding a span to an instant is exact for hours, days and weeks and
calendar-based for months and years (the day is clamped to the month's end).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_PATTERN = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(\d+)H)?$")


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
        raw = text.strip() if isinstance(text, str) else ""
        match = _PATTERN.match(raw)
        if not match or raw in ("P", "PT") or raw.endswith("T"):
            raise ValueError(
                f"{text!r} is not a duration; write e.g. 'PT24H' (24 hours), 'P15D' "
                "(15 days), 'P4W', 'P3M' or 'P1Y'"
            )
        y, m, w, d, h = (int(g) if g else 0 for g in match.groups())
        if y == m == w == d == h == 0:
            raise ValueError(f"{text!r} is zero; a clock needs a positive span")
        if max(y, m, w, d, h) > 100_000:
            raise ValueError(f"{text!r} is implausibly long")
        return cls(y, m, w, d, h, raw)

    def __str__(self) -> str:
        return self.text

    def add(self, moment: datetime) -> datetime:
        shifted = _add_months(moment, self.years * 12 + self.months)
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
        def validate(value: Any) -> Span:
            if isinstance(value, Span):
                return value
            if not isinstance(value, str):
                raise ValueError("a duration is a string such as 'P15D' or 'PT24H'")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.to_string_ser_schema()
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": _PATTERN.pattern}


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
