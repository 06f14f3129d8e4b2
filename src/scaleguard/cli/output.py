"""Output shared by every command: the one JSON form that ``--json`` prints."""

from __future__ import annotations

import json
from typing import Any

import typer


def json_text(data: Any) -> str:
    """The text ``print_json`` prints (without the final newline), e.g. for ``-o FILE``."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def print_json(data: Any) -> None:
    """Stable, readable JSON on stdout: sorted keys, two-space indent, UTF-8 kept."""
    typer.echo(json_text(data))
