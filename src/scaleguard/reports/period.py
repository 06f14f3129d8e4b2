"""Reporting periods: ``2026-Q3``, ``2026-H2``, ``2026-07`` or ``2026-07-01..2026-09-30``.

A period is a closed range of days; its label is kept as written (normalised
to upper case for quarters and halves) because it names the report and its
published files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from scaleguard.errors import InputError

_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})-[Hh]([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
HINT = "write 2026-Q3, 2026-H2, 2026-07 or 2026-07-01..2026-09-30"


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def parse_period(text: str) -> Period:
    """The period ``text`` names; InputError with the accepted forms otherwise."""
    raw = text.strip()
    try:
        if m := _QUARTER.match(raw):
            year, q = int(m[1]), int(m[2])
            return Period(f"{year}-Q{q}", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
        if m := _HALF.match(raw):
            year, h = int(m[1]), int(m[2])
            return Period(f"{year}-H{h}", date(year, 6 * h - 5, 1), _month_end(year, 6 * h))
        if m := _MONTH.match(raw):
            year, month = int(m[1]), int(m[2])
            return Period(raw, date(year, month, 1), _month_end(year, month))
        if m := _RANGE.match(raw):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise InputError(
                    f"the period {raw!r} ends before it starts",
                    hint="put the earlier date first: START..END",
                )
            return Period(raw, start, end)
    except ValueError:
        pass
    raise InputError(f"{text!r} is not a reporting period", hint=HINT)


def period_of(day: date) -> Period:
    """The calendar quarter holding ``day``."""
    q = (day.month - 1) // 3 + 1
    return parse_period(f"{day.year}-Q{q}")
