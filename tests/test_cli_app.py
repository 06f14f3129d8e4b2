"""The CLI as a whole: start-up without heavy imports, the command table, errors.

``scaleguard --help`` lists every command from a table in ``cli/app.py`` rather
than importing each command's module; these tests keep that table honest and
the start-up free of heavy libraries.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaleguard.cli.app import COMMANDS

HEAVY = ("inspect_ai", "sqlalchemy", "alembic", "weasyprint", "numpy", "psycopg", "jinja2")

PROBE = """
import json, sys
from scaleguard.cli.app import main
code = main({argv!r})
print(json.dumps({{"code": code, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def _imports_after(argv: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("argv", [["--help"], ["--version"], []])
def test_overview_imports_no_heavy_library(argv: list[str]) -> None:
    result = _imports_after(argv)
    assert result["heavy"] == [], f"scaleguard {' '.join(argv)} imported {result['heavy']}"


def test_frameworks_list_touches_no_database_library() -> None:
    result = _imports_after(["frameworks", "list", "--json"])
    assert result["code"] == 0
    assert not {"sqlalchemy", "alembic", "inspect_ai", "weasyprint"} & set(
        result["heavy"]  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_overview_line_matches_the_command_help(name: str) -> None:
    command = COMMANDS[name].load(name)
    own = (command.short_help or command.help or "").strip().splitlines()[0]
    assert COMMANDS[name].help == own, f"update COMMANDS[{name!r}] in cli/app.py"


def test_unknown_command_suggests_the_closest(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("framewoks")
    assert result.code == 2
    assert "Did you mean 'frameworks'" in result.err


def test_with_json_an_error_is_json_on_stdout_too(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("frameworks", "show", "anthropic-rps@3.0", "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert error["type"] == "NotFoundError"
    assert error["exit_code"] == 2
    assert "anthropic-rps" in error["message"]
    assert "error:" in result.err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("frameworks", "diff", "anthropic-rsp@3.0", "--json"), "Missing argument"),
        (("frameworks", "diff", "a", "b", "--fail-on", "bogus", "--json"), "--fail-on"),
        (("ledger", "verify", "--full", "--workers", "0", "--json"), "--workers"),
        (("frameworks", "list", "--no-such-option", "--json"), "--no-such-option"),
    ],
)
def test_with_json_a_usage_error_is_json_on_stdout_too(cli, args, says) -> None:  # type: ignore[no-untyped-def]
    """Scripts that pass --json parse stdout; a usage error must not leave it empty."""
    result = cli(*args)
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert error["type"] == "UsageError" and error["exit_code"] == 2
    assert says in error["message"] and error["hint"].endswith("--help'")
    assert says in result.err  # the text on stderr is unchanged


def test_wide_tables_fall_back_to_blocks_in_a_narrow_terminal(
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("frameworks", "list")
    assert result.code == 0
    lines = result.out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any(line.split() == ["developer", "Anthropic"] for line in lines)
    assert "anthropic-rsp@3.0" in lines


def test_wide_terminals_keep_the_table(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")
    result = cli("frameworks", "list")
    header = next(line for line in result.out.splitlines() if "ref" in line and "developer" in line)
    assert "thresholds" in header and "commitments" in header
