"""Naming a revision of the roadmap for ``roadmap diff``: a ledger position, a date, or head."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from scaleguard.errors import InputError, NotFoundError
from scaleguard.roadmap.grading import roadmap_before, roadmap_on
from scaleguard.roadmap.model import Goal

HEAD = "head"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_day(text: str, option: str) -> date:
    """A YYYY-MM-DD date from the command line, or InputError naming the option."""
    value = text.strip()
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InputError(f"{option} {text!r} is not a date", hint="write it as YYYY-MM-DD")


def parse_revision(text: str) -> int | date | None:
    """``N`` (a ledger size), ``YYYY-MM-DD`` (a day) or ``head`` (None: everything recorded)."""
    value = text.strip()
    if value.lower() == HEAD:
        return None
    if value.isdigit():
        return int(value)
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{text!r} is not a roadmap revision",
            hint="give a ledger position (e.g. 120: the roadmap as recorded before entry 120), "
            "a date YYYY-MM-DD (the roadmap as its dates stand at the end of that day) or 'head'",
        ) from None


def at_revision(goals: Sequence[Goal], text: str, ledger_size: int) -> tuple[list[Goal], str]:
    """The roadmap at a revision, and a label for it."""
    rev = parse_revision(text)
    if rev is None:
        return list(goals), HEAD
    if isinstance(rev, date):
        return roadmap_on(goals, rev), rev.isoformat()
    if rev > ledger_size:
        raise NotFoundError(
            f"ledger position {rev} is past the end of the ledger",
            hint=f"the ledger has {ledger_size} entries; use 0 to {ledger_size}, or 'head'",
        )
    return roadmap_before(goals, rev), f"ledger {rev}"
