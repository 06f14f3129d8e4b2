"""The ``scaleguard`` command: one error boundary around thin sub-commands.

Commands only parse arguments, call library functions and render. Every
:class:`~scaleguard.errors.ScaleguardError` is caught here once and printed
with its locations and hints; ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click
import typer
from rich.console import Console
from rich.text import Text

from scaleguard import __version__
from scaleguard.cli import decisions, frameworks, ledger, reports, roadmap, workspace
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

app = typer.Typer(
    name="scaleguard",
    help="Responsible scaling policies as code: frameworks, evidence, explained decisions.\n\n"
    + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(frameworks.app, name="frameworks")
app.command("init")(workspace.init)
app.add_typer(workspace.models_app, name="models")
app.add_typer(workspace.safeguards_app, name="safeguards")
app.add_typer(workspace.facts_app, name="facts")
app.add_typer(workspace.evidence_app, name="evidence")
app.command("determine")(decisions.determine)
app.command("override")(decisions.override)
app.command("decide")(decisions.decide)
app.add_typer(decisions.decisions_app, name="decisions")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(ledger.keys_app, name="keys")
app.add_typer(roadmap.roadmap_app, name="roadmap")
app.add_typer(reports.report_app, name="report")
app.add_typer(reports.reviewers_app, name="reviewers")
app.add_typer(reports.review_app, name="review")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        result = app(args=args, prog_name="scaleguard", standalone_mode=False)
        code = int(result) if isinstance(result, int) else EXIT_OK
    except ScaleguardError as exc:
        if verbose:
            err.print(traceback.format_exc(), markup=False)
        err.print(Text.assemble(("error: ", "bold red"), exc.render()))
        code = exc.exit_code
    except _CLICK_EXIT as exc:
        code = int(getattr(exc, "exit_code", EXIT_OK))
    except _CLICK_EXCEPTION as exc:
        exc.show(file=sys.stderr)  # type: ignore[attr-defined]
        code = EXIT_INPUT_ERROR
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
