"""Options every command group shares, defined once: the workspace, ``--json``, ``--by``,
dates (``YYYY-MM-DD``, one parser and one error for every date option) and the output
file (``--output``/``-o`` everywhere; ``--out`` is accepted as an alias).

Importing this module is cheap: Typer only, no workspace, database or Inspect code.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import typer

from scaleguard.errors import InputError

__all__ = [
    "BY_OPTION",
    "JSON_OPTION",
    "WORKSPACE_OPTION",
    "date_option",
    "output_option",
    "parse_date",
]

WORKSPACE_OPTION: Any = typer.Option(
    None,
    "--workspace",
    envvar="SCALEGUARD_WORKSPACE",
    help="The workspace folder (default: the nearest folder above the current one "
    "holding scaleguard.toml).",
    file_okay=False,
)
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON instead of a table.")
BY_OPTION: Any = typer.Option(
    None, "--by", help="Who is recording this (default: $SCALEGUARD_USER, else the login name)."
)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` date given to ``option`` (None when not given); anything else,
    including the other spellings ``date.fromisoformat`` accepts, is an InputError."""
    if text is None:
        return None
    value = text.strip()
    if _DAY.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{option} {text!r} is not a date", hint="write it as YYYY-MM-DD")


def date_option(name: str, help: str, default: Any = None) -> Any:
    """A date option: text parsed with :func:`parse_date` by the command (so a bad date is
    reported like every other bad input, in JSON too with ``--json``)."""
    return typer.Option(default, name, metavar="YYYY-MM-DD", help=help)


def output_option(help: str = "Write to this file (default: standard output).") -> Any:
    """The output file of a command that writes one."""
    return typer.Option(None, "--output", "-o", "--out", help=help, dir_okay=False)
