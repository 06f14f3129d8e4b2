"""The shared CLI options: one name for the output file, one date format, one --json,
--workspace and --by, whichever command takes them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scaleguard.cli import app as cli_app
from scaleguard.cli import common
from scaleguard.errors import InputError


def _commands() -> Iterator[tuple[str, Any]]:
    for name, lazy in cli_app.COMMANDS.items():
        stack = [(name, lazy.load(name))]
        while stack:
            path, command = stack.pop()
            if hasattr(command, "commands"):
                stack.extend((f"{path} {n}", c) for n, c in command.commands.items())
            else:
                yield path, command


def _option(command: Any, flag: str) -> Any:
    return next((p for p in command.params if flag in p.opts), None)


def test_parse_date_takes_only_yyyy_mm_dd() -> None:
    assert common.parse_date("2026-02-03", "--on") == dt.date(2026, 2, 3)
    assert common.parse_date(" 2026-02-03 ", "--on") == dt.date(2026, 2, 3)
    assert common.parse_date(None, "--on") is None
    for bad in ("20260203", "2026-W05-2", "2026-02-30", "June", "", "2026-2-3"):
        with pytest.raises(InputError, match=r"--on .* is not a date"):
            common.parse_date(bad, "--on")


def test_every_output_file_option_is_output_o() -> None:
    """Commands that write a file call the option --output (short -o); --out is an alias."""
    wrong = []
    for path, command in _commands():
        for param in command.params:
            names = set(param.opts) | set(param.secondary_opts)
            if names & {"--out", "--output", "-o"} and not {"--output", "-o"} <= names:
                wrong.append(f"{path}: {sorted(names)}")
    assert wrong == []


def test_shared_options_are_the_same_everywhere() -> None:
    seen: dict[str, set[str]] = {"--json": set(), "--workspace": set(), "--by": set()}
    for _path, command in _commands():
        for flag in seen:
            param = _option(command, flag)
            if param is None or param.required:
                continue
            if flag == "--json":  # a plain flag; its help may say what the JSON holds
                seen[flag].add(f"{param.opts}|{param.secondary_opts}|{param.is_flag}")
            else:
                seen[flag].add(f"{param.opts}|{param.help}|{param.envvar}")
    assert seen["--json"] == {"['--json']|[]|True"}
    assert len(seen["--workspace"]) == 1
    assert seen["--by"] == {f"['--by']|{common.BY_OPTION.help}|None"}


def test_every_as_of_option_reads_the_same_way(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A bad --as-of is bad input (exit 2, JSON with --json), with the same message."""
    root = tmp_path / "lab"
    assert cli("init", root).code == 0
    for args in (
        ("decide", "m", "--action", "train", "--framework", "anthropic-rsp@3.0"),
        ("roadmap", "grade"),
        ("report", "status"),
        ("compliance", "status"),
    ):
        result = cli(*args, "--as-of", "20260203", "--workspace", root, "--json")
        assert result.code == 2, (args, result.err)
        error = json.loads(result.out)["error"]
        assert error["message"] == "--as-of '20260203' is not a date", args
        assert error["hint"] == "write it as YYYY-MM-DD"


def test_every_date_option_says_its_format() -> None:
    """--as-of takes a date (YYYY-MM-DD) everywhere but the incident commands, whose legal
    clocks run in hours and take a time."""
    dated = []
    for path, command in _commands():
        param = _option(command, "--as-of")
        if param is None:
            continue
        dated.append(path)
        if path.startswith("incidents "):
            continue
        assert param.metavar == "YYYY-MM-DD", path
    assert len(dated) >= 8
