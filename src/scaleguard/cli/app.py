"""The ``scaleguard`` command: one error boundary around thin sub-commands.

Commands only parse arguments, call library functions and render. Every
:class:`~scaleguard.errors.ScaleguardError` is caught here once and printed
with its locations and hints; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

from scaleguard import __version__
from scaleguard.errors import ScaleguardError

# Typer vendors its own copy of click; usage errors may come from either.
_CLICK_EXCEPTION: tuple[type[Exception], ...] = (click.ClickException,)
try:
    from typer._click import exceptions as _vendored

    _CLICK_EXCEPTION += (_vendored.ClickException,)
except ImportError:  # a Typer that uses click itself
    pass
_CLICK_EXIT: tuple[type[Exception], ...] = (click.exceptions.Exit, typer.Exit)
_CLICK_ABORT: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INPUT_ERROR = 2
EXIT_INTERNAL = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 a check failed (e.g. diff --fail-on found a match, "
    "a verification found a discrepancy, a report is overdue); 2 bad input or usage "
    "(the message says where and how to fix it); 3 internal error (a bug: please report it)."
)


@dataclass(frozen=True)
class LazyCommand:
    """A sub-command whose module is imported only when that command runs.

    ``target`` is ``module:attribute``: a Typer app (a command group) or a function
    (a single command). ``help`` is the one line ``scaleguard --help`` shows, so the
    overview needs no imports; a test keeps it equal to the command's own help.
    """

    target: str
    help: str

    def load(self, name: str) -> Any:
        module, _, attribute = self.target.partition(":")
        obj: Any = getattr(importlib.import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            command = typer.main.get_command(obj)
        else:
            single = typer.Typer(rich_markup_mode="rich")
            single.command(name)(obj)
            command = typer.main.get_command(single)
        command.name = name
        return command


#: Every sub-command, in the order ``--help`` lists them.
COMMANDS: dict[str, LazyCommand] = {
    "frameworks": LazyCommand(
        "scaleguard.cli.frameworks:app",
        "Frameworks as code: browse, validate and compare safety frameworks.",
    ),
    "init": LazyCommand(
        "scaleguard.cli.workspace:init",
        "Create a workspace: scaleguard.toml, the database, frameworks/, objects/ and keys/.",
    ),
    "models": LazyCommand(
        "scaleguard.cli.workspace:models_app", "The model registry: our models and competitors'."
    ),
    "safeguards": LazyCommand(
        "scaleguard.cli.workspace:safeguards_app", "Safeguard attestations per model."
    ),
    "facts": LazyCommand(
        "scaleguard.cli.workspace:facts_app", "Facts that framework conditions name, with sources."
    ),
    "evidence": LazyCommand(
        "scaleguard.cli.workspace:evidence_app", "Evaluation evidence: ingest and list."
    ),
    "determine": LazyCommand(
        "scaleguard.cli.decisions:determine",
        "Per threshold: below / alert / ambiguous / crossed (or missing), with intervals.",
    ),
    "override": LazyCommand(
        "scaleguard.cli.decisions:override",
        "Override the current determination of a threshold: a new record, never an edit.",
    ),
    "decide": LazyCommand(
        "scaleguard.cli.decisions:decide",
        "Evaluate an action under the framework: the outcome and the full explanation.",
    ),
    "decisions": LazyCommand(
        "scaleguard.cli.decisions:decisions_app", "Recorded scaling decisions."
    ),
    "ledger": LazyCommand(
        "scaleguard.cli.ledger:ledger_app",
        "The tamper-evident ledger: entries, signed checkpoints, proofs, verification.",
    ),
    "keys": LazyCommand(
        "scaleguard.cli.ledger:keys_app", "The workspace's ledger signing key (Ed25519)."
    ),
    "roadmap": LazyCommand(
        "scaleguard.cli.roadmap:roadmap_app",
        "The Frontier Safety Roadmap: public goals, dated updates, grades and the report card.",
    ),
    "report": LazyCommand(
        "scaleguard.cli.reports:report_app",
        "Risk Reports: draft from the workspace, redact, publish both editions, cadence.",
    ),
    "reviewers": LazyCommand(
        "scaleguard.cli.review:reviewers_app",
        "External reviewers: registry, declared interests, conflict screening.",
    ),
    "review": LazyCommand(
        "scaleguard.cli.review:review_app",
        "The review of a Risk Report: assign, access, comment, submit, respond, status.",
    ),
    "incidents": LazyCommand(
        "scaleguard.cli.incidents:incidents_app",
        "Critical incidents and the statutory clocks (SB 53, RAISE, EU Code of Practice).",
    ),
    "noncompliance": LazyCommand(
        "scaleguard.cli.noncompliance:noncompliance_app",
        "Noncompliance reports from staff: anonymous or named, investigated, "
        "reported to the board.",
    ),
    "compliance": LazyCommand(
        "scaleguard.cli.compliance:compliance_app",
        "Framework review, change publication, transparency reports, quarterly summaries.",
    ),
    "usage": LazyCommand(
        "scaleguard.cli.usage:usage_app",
        "Usage-policy red lines: the policy, customer contracts, human review and appeals.",
    ),
    "screen": LazyCommand(
        "scaleguard.cli.usage:screen",
        "Screen text against the usage policy: allow, review or block, with the clause and why.",
    ),
    "serve-screen": LazyCommand(
        "scaleguard.cli.usage_serve:serve_screen",
        "Serve POST /v1/screen and an OpenAI-compatible /v1/chat/completions screening proxy.",
    ),
    "bench-screen": LazyCommand(
        "scaleguard.cli.usage:bench_screen",
        "Accuracy of the screen: recall per red line, false blocks on look-alikes, review rate.",
    ),
    "serve": LazyCommand(
        "scaleguard.cli.web:serve", "Serve the web UI and the JSON API (/api/v1) of a workspace."
    ),
    "users": LazyCommand("scaleguard.cli.web:users_app", "Web users and their roles."),
    "tokens": LazyCommand("scaleguard.cli.web:tokens_app", "API tokens for the JSON API."),
}


class LazyGroup(TyperGroup):
    """The root command: lists every sub-command from :data:`COMMANDS` without importing
    it, and imports only the one that runs (so ``--help`` starts in milliseconds)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        lazy = COMMANDS.get(cmd_name)
        if lazy is None:
            return None
        # Only the overview asks for commands it will not run: a placeholder suffices.
        return TyperCommand(name=cmd_name, help=lazy.help, short_help=lazy.help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.commands[args[0]] = COMMANDS[args[0]].load(args[0])
        try:
            return super().resolve_command(ctx, args)
        except _CLICK_EXCEPTION as exc:
            import difflib

            close = difflib.get_close_matches(args[0], list(COMMANDS)) if args else []
            message = str(getattr(exc, "message", ""))
            if close and message.startswith("No such command"):
                exc.message = message.rstrip(".") + f". Did you mean {close[0]!r}?"  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    name="scaleguard",
    cls=LazyGroup,
    help="Responsible scaling policies as code: frameworks, evidence, explained decisions.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaleguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show tracebacks for errors (for bug reports)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Root options; ``--verbose`` is read again by :func:`main` when an error escapes."""


def _print_json_error(exc: ScaleguardError) -> None:
    """With ``--json`` an error is also a JSON object on stdout, so scripts need no parsing
    of stderr: ``{"error": {"type", "message", "hint", "problems", "exit_code"}}``."""
    problems = [p.as_dict() for p in exc.problems]
    _write_json_error(type(exc).__name__, exc.message, exc.hint, problems, exc.exit_code)


def _print_json_usage_error(exc: Exception) -> None:
    """A usage error (unknown option, bad option value, missing argument) in the same shape."""
    context = getattr(exc, "ctx", None)
    path = context.command_path if context is not None else "scaleguard"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    _write_json_error("UsageError", message, f"see '{path} --help'", [], EXIT_INPUT_ERROR)


def _write_json_error(
    kind: str, message: str, hint: str | None, problems: list[dict[str, Any]], code: int
) -> None:
    import json

    body = {
        "error": {
            "type": kind,
            "message": message,
            "hint": hint,
            "problems": problems,
            "exit_code": code,
        }
    }
    sys.stdout.write(json.dumps(body, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    from rich.console import Console
    from rich.text import Text

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        result = app(args=args, prog_name="scaleguard", standalone_mode=False)
        code = int(result) if isinstance(result, int) else EXIT_OK
    except ScaleguardError as exc:
        if verbose:
            err.print(traceback.format_exc(), markup=False)
        err.print(Text.assemble(("error: ", "bold red"), exc.render()))
        code = exc.exit_code
        if "--json" in args:
            _print_json_error(exc)
    except _CLICK_EXIT as exc:
        code = int(getattr(exc, "exit_code", EXIT_OK))
    except _CLICK_EXCEPTION as exc:
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        code = EXIT_INPUT_ERROR
        if "--json" in args:
            _print_json_usage_error(exc)
    except _CLICK_ABORT:
        err.print("aborted")
        code = EXIT_CHECK_FAILED
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    except Exception:
        err.print(traceback.format_exc(), markup=False)
        err.print(
            "[bold red]internal error[/]: this is a bug in scaleguard, not in your input; "
            "please report it with the traceback above."
        )
        code = EXIT_INTERNAL
    return code


def entrypoint() -> None:
    sys.exit(main())
