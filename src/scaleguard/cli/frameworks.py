"""``scaleguard frameworks ...``: list, show, validate, diff, schema, facts."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from scaleguard.cli import render
from scaleguard.cli.common import JSON_OPTION, output_option
from scaleguard.cli.output import print_json
from scaleguard.errors import FrameworkError, InputError, Problem
from scaleguard.framework.facts import BUILTIN_FACTS
from scaleguard.framework.library import Library

app = typer.Typer(
    help="Frameworks as code: browse, validate and compare safety frameworks.",
    no_args_is_help=True,
)

DIR_OPTION = typer.Option(
    None,
    "--dir",
    help="Also load every *.yaml framework in this folder (repeatable).",
    exists=True,
    file_okay=False,
)


class DiffFormat(StrEnum):
    rich = "rich"
    markdown = "markdown"
    json = "json"


class FailOn(StrEnum):
    weakening = "weakening"
    unclear = "unclear"
    unannounced = "unannounced"
    any = "any"


def _library(dirs: list[Path] | None) -> Library:
    return Library(extra_dirs=dirs or [])


def _workspace_frameworks() -> list[Path]:
    """The frameworks folder of the workspace around the current folder, if any."""
    from scaleguard.errors import WorkspaceError
    from scaleguard.workspace.locate import FRAMEWORKS, find_root

    try:
        folder = find_root() / FRAMEWORKS
    except WorkspaceError:
        return []
    return [folder] if folder.is_dir() else []


@app.command("list")
def list_frameworks(as_json: bool = JSON_OPTION, dirs: list[Path] = DIR_OPTION) -> None:
    """List the built-in frameworks, the workspace's and any in --dir; broken files exit 1."""
    lib = Library(extra_dirs=[*_workspace_frameworks(), *(dirs or [])], tolerant=True)
    if as_json:
        rows: list[dict[str, Any]] = lib.summaries()
        rows.extend(
            {"origin": str(path), "broken": True, "error": exc.as_dict()}
            for path, exc in lib.broken
        )
        print_json(rows)
    else:
        render.framework_table(Console(), lib.summaries())
        for path, exc in lib.broken:
            typer.echo(f"broken framework {path}:\n{exc.render()}", err=True)
    if lib.broken:
        raise typer.Exit(1)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="ID@VERSION (e.g. anthropic-rsp@3.0), ID, or a file."),
    as_json: bool = JSON_OPTION,
    dirs: list[Path] = DIR_OPTION,
) -> None:
    """Show thresholds, safeguards and commitments, grouped by force and scope."""
    fw = _library(dirs).get(ref)
    if as_json:
        data = fw.doc.model_dump(mode="json", exclude_none=True)
        data["framework"].setdefault("primary_text", None)
        data["digest"] = fw.digest
        print_json(data)
        return
    render.framework_detail(Console(), fw)


@app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="Framework YAML files to check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check framework files; report every problem at once with file:line:column.

    Exits 2 when any file has a problem.
    """
    results: list[dict[str, Any]] = []
    from scaleguard.framework.loader import load_file

    failures: list[FrameworkError] = []
    for path in files:
        try:
            fw = load_file(path)
        except FrameworkError as exc:
            failures.append(exc)
            results.append({"file": str(path), "ok": False, **exc.as_dict()})
            continue
        results.append({"file": str(path), "ok": True, "ref": fw.ref, "digest": fw.digest})
    if as_json:
        print_json({"ok": not failures, "files": results})
        if failures:
            raise typer.Exit(2)
        return
    console = Console()
    for result in results:
        if result["ok"]:
            console.print(f"[green]ok[/]  {result['file']}  ({result['ref']})")
    if failures:
        problems = [p for f in failures for p in (f.problems or [Problem(f.message, hint=f.hint)])]
        raise FrameworkError(
            f"{len(failures)} of {len(files)} file(s) invalid, {len(problems)} problem(s)",
            problems=problems,
            hint="each line gives file:line:column and a hint; fix them all and run again",
        )


@app.command("diff")
def diff(
    old: str = typer.Argument(..., help="The earlier framework (ID@VERSION or file)."),
    new: str = typer.Argument(..., help="The later framework (ID@VERSION or file)."),
    fmt: DiffFormat = typer.Option(DiffFormat.rich, "--format", help="Output format."),
    fail_on: list[FailOn] | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 if the diff holds this: weakening or unclear changes, unannounced changes "
        "(no changelog entry of the newer version names the element), or any change. "
        "Repeatable: the command fails when any of them is found. For CI of a policy repository.",
    ),
    top: int | None = typer.Option(
        None, "--top", min=1, help="Terminal format: only the N most important changes."
    ),
    dirs: list[Path] = DIR_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the same as --format json)."),
) -> int:
    """Semantic diff: what was added, removed, renamed or changed, and whether it weakens."""
    from scaleguard.diff import diff_frameworks, render_json, render_markdown, render_rich

    if as_json and fmt not in (DiffFormat.rich, DiffFormat.json):
        raise InputError(
            f"--json and --format {fmt.value} ask for two different outputs",
            hint="give one of them",
        )
    lib = _library(dirs)
    result = diff_frameworks(lib.get(old), lib.get(new))
    if as_json or fmt is DiffFormat.json:
        print_json(render_json(result))
    elif fmt is DiffFormat.markdown:
        typer.echo(render_markdown(result), nl=False)
    else:
        render_rich(result, Console(), top=top)
    found = [f.value for f in dict.fromkeys(fail_on or []) if result.found(f.value)]
    if found:
        typer.echo(f"--fail-on {', '.join(found)}: found, exiting 1", err=True)
        return 1
    return 0


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of framework documents (for editors and other tools)."""
    from scaleguard.framework.model import json_schema

    print_json(json_schema())


@app.command("facts")
def facts(as_json: bool = JSON_OPTION) -> None:
    """List the built-in facts that commitment conditions may name."""
    if as_json:
        print_json(
            [
                {
                    "name": f.name,
                    "type": f.type,
                    "description": f.description,
                    "derived_from": f.derived_from,
                }
                for f in BUILTIN_FACTS.values()
            ]
        )
        return
    render.facts_table(Console(), list(BUILTIN_FACTS.values()))


class HistoryFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    json = "json"


@app.command("history")
def history(
    framework_id: str = typer.Argument(..., help="Framework id, e.g. anthropic-rsp."),
    fmt: HistoryFormat = typer.Option(HistoryFormat.markdown, "--format", help="Output format."),
    output: Path | None = output_option(),
    top: int = typer.Option(
        5, "--top", min=0, help="Findings kept per step, most important first."
    ),
    dirs: list[Path] = DIR_OPTION,
) -> None:
    """Every version of a framework in order, and what each step weakened or strengthened."""
    from scaleguard.diff.history import framework_history, library_versions
    from scaleguard.diff.history_render import history_json, history_markdown
    from scaleguard.errors import InputError
    from scaleguard.workspace.files import atomic_write

    h = framework_history(library_versions(_library(dirs), framework_id), top=top)
    if fmt is HistoryFormat.json:
        if output is None:
            print_json(history_json(h))
            return
        from scaleguard.cli.output import json_text

        text = json_text(history_json(h)) + "\n"
    elif fmt is HistoryFormat.html:
        from scaleguard.diff.history_html import history_html

        text = history_html(h)
    else:
        text = history_markdown(h)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        atomic_write(output, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(
            f"cannot write {output}: {exc.strerror or exc}",
            hint="check that the folder exists and is writable",
        ) from None
    Console(stderr=True, highlight=False).print(
        f"wrote {output} ({len(h.versions)} version(s) of {h.framework_id})", markup=False
    )
