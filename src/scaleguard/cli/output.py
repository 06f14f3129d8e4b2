"""Output shared by every command: the one JSON form that ``--json`` prints."""

from __future__ import annotations

import json
from typing import Any

import typer


def print_json(data: Any) -> None:
    """Stable, readable JSON on stdout: sorted keys, two-space indent, UTF-8 kept."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
