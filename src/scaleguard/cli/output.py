"""Output shared by every command: the one JSON form that ``--json`` prints, and tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def json_text(data: Any) -> str:
    """The text ``print_json`` prints (without the final newline), e.g. for ``-o FILE``."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def print_json(data: Any) -> None:
    """Stable, readable JSON on stdout: sorted keys, two-space indent, UTF-8 kept."""
    typer.echo(json_text(data))


def print_table(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str | Text]],
    *,
    prose: Iterable[str] = (),
) -> None:
    """A table that stays readable in any terminal width.

    Identifier columns (names, refs, dates, counts) never wrap; ``prose`` columns
    (titles, notes) wrap between words. When the identifiers alone would not fit
    the terminal, each row is printed as a block of ``column: value`` lines instead,
    so nothing is cut mid-word or hidden behind an ellipsis.
    """
    rows = [list(row) for row in rows]
    wrap = set(prose)
    needed = 1

    def width(cell: str | Text) -> int:
        return max((len(line) for line in str(cell).splitlines()), default=0)

    for n, column in enumerate(columns):
        cells = [len(column), *(width(row[n]) for row in rows)]
        needed += (min(max(cells), 16) if column in wrap else max(cells)) + 3
    if needed > console.width:
        console.print(Text(title, style="italic"))
        pad = max(len(c) for c in columns)
        for row in rows:
            console.print(Text(str(row[0]).replace("\n", "  "), style="bold"))
            for column, value in zip(columns[1:], row[1:], strict=True):
                if str(value):
                    line = Text(f"  {column:<{pad}}  ")
                    line.append(value if isinstance(value, Text) else str(value))
                    console.print(line)
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        if column in wrap:
            table.add_column(column, overflow="fold", ratio=1)
        else:
            table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table)
