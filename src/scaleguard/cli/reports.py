"""``scaleguard report``: draft, redact, submit, publish and track Risk Reports.

Thin commands over :mod:`scaleguard.reports.service`. ``reviewers_app`` and
``review_app`` (external review) live in :mod:`scaleguard.cli.review` and are
re-exported here so the three register together.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from scaleguard.cli.common import (
    BY_OPTION,
    JSON_OPTION,
    WORKSPACE_OPTION,
    date_option,
    output_option,
    parse_date,
)
from scaleguard.cli.output import print_json
from scaleguard.cli.review import review_app, reviewers_app
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError
from scaleguard.reports import service, store
from scaleguard.reports.model import Section
from scaleguard.store import as_json

__all__ = ["report_app", "review_app", "reviewers_app"]

report_app = typer.Typer(
    help="Risk Reports: draft from the workspace, redact, publish both editions, cadence.",
    no_args_is_help=True,
)

REPORT_ARG = typer.Argument(None, help="Report id (default: the latest drafted report).")
FRAMEWORK_OPTION = typer.Option(
    None, "--framework", "-f", help="ID@VERSION (default: \\[frameworks] default)."
)


def parse_report(text: str | None) -> int | None:
    """``3``, ``#3`` or ``latest`` (None)."""
    if text is None or text.strip().lower() == "latest":
        return None
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit():
        raise InputError(f"{text!r} is not a report id", hint="give a number (see 'report list')")
    return int(cleaned)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@report_app.command("new")
def new(
    period: str = typer.Option(..., "--period", help="2026-Q3, 2026-H2, 2026-07 or A..B."),
    models: str = typer.Option(..., "--models", help="Comma-separated models covered."),
    framework: str | None = FRAMEWORK_OPTION,
    coverage_date: str | None = date_option(
        "--coverage-date", "State of affairs as of (default: period end or today)."
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Draft a Risk Report from the workspace; prints its id and section ids.

    Drafting brings determinations up to date first; the content is then
    frozen, so every edition is rebuilt from exactly what was drafted.
    """
    coverage = parse_date(coverage_date, "--coverage-date")
    with _workspace(workspace) as ws:
        report = service.draft(
            ws,
            period=period,
            models=_split(models),
            framework=framework,
            coverage_date=coverage,
            by=by,
        )
        checkpoint_after_write(ws)
    ids = service.content_of(report).section_ids()
    if json_out:
        data = as_json(report)
        data.pop("content")
        print_json({**data, "sections": ids})
        return
    typer.echo(
        f"report #{report.id} drafted (ledger entry {report.ledger_index}): {report.period}, "
        f"coverage date {report.coverage_date}, {report.framework_ref}, "
        f"models {', '.join(report.models)}"
    )
    typer.echo("sections:")
    for sid in ids:
        typer.echo(f"  {sid}")


@report_app.command("list")
def list_reports(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Every drafted report, with its redactions and publications."""
    with _workspace(workspace) as ws:
        rows = service.overview(ws)
    if json_out:
        print_json(
            [
                {
                    **{k: v for k, v in as_json(r).items() if k != "content"},
                    "redactions": len(reds),
                    "publications": [as_json(p) for p in pubs],
                }
                for r, reds, pubs in rows
            ]
        )
        return
    table = Table(title="Risk Reports", title_justify="left")
    for col in ("id", "period", "coverage", "framework", "models", "redactions", "published"):
        table.add_column(col, overflow="fold")
    for r, reds, pubs in rows:
        published = ", ".join(sorted({f"{p.edition} {p.format}" for p in pubs})) or "—"
        table.add_row(
            str(r.id),
            r.period,
            r.coverage_date.isoformat(),
            r.framework_ref,
            ", ".join(r.models),
            str(len(reds)),
            published,
        )
    Console().print(table)


@report_app.command("show")
def show(
    report: str | None = REPORT_ARG,
    edition: str = typer.Option("public", "--edition", help="public (default) or reviewer."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Show an edition in the terminal (Markdown), or its content and hash as JSON."""
    with _workspace(workspace) as ws:
        built = service.build(ws, parse_report(report), edition)
    if json_out:
        print_json(
            {
                "report": built.report.id,
                "edition": built.edition.edition,
                "edition_sha256": built.sha256,
                "content": built.edition.model_dump(mode="json"),
            }
        )
        return
    Console().print(Markdown(service.render(built, "markdown").decode()))


def _tree(section: Section, depth: int, marks: dict[str, list[str]], rows: list[str]) -> None:
    flag = f"  [{'; '.join(marks[section.id])}]" if section.id in marks else ""
    rows.append(f"{'  ' * depth}{section.id}  {section.title}{flag}")
    for child in section.sections:
        _tree(child, depth + 1, marks, rows)


@report_app.command("sections")
def sections(
    report: str | None = REPORT_ARG,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The report's section ids (stable; use them to redact and comment)."""
    with _workspace(workspace) as ws:
        built = service.build(ws, parse_report(report), "reviewer")
    content = service.content_of(built.report)
    marks: dict[str, list[str]] = {}
    for r in built.redactions:
        what = "section" if r.span is None else "span"
        marks.setdefault(r.section, []).append(f"{r.label} {what} redacted ({r.category})")
    if json_out:
        print_json(
            [
                {"id": s.id, "title": s.title, "redactions": marks.get(s.id, [])}
                for s in content.walk()
            ]
        )
        return
    rows: list[str] = []
    for top in content.sections:
        _tree(top, 0, marks, rows)
    typer.echo(f"report #{built.report.id} ({built.report.period}):")
    for line in rows:
        typer.echo(f"  {line}")


@report_app.command("redact")
def redact(
    target: list[str] = typer.Argument(..., metavar="[REPORT] SECTION", help="Where to redact."),
    span: str | None = typer.Option(
        None, "--span", help="Withhold every occurrence of this exact text (default: the section)."
    ),
    category: str = typer.Option(..., "--category", help="legal, privacy, security or commercial."),
    why: str = typer.Option(..., "--why", help="The justification, disclosed publicly."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Redact a section, or a span in it, from the public edition (latest report by default)."""
    if len(target) not in (1, 2):
        raise InputError(
            "give the section, optionally preceded by the report id",
            hint="scaleguard report redact 3 capabilities.novel-cb --category security --why ...",
        )
    report_id = parse_report(target[0]) if len(target) == 2 else None
    with _workspace(workspace) as ws:
        record, redaction = service.redact(
            ws, report_id, target[-1], category=category, justification=why, span=span, by=by
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json({**as_json(record), "label": redaction.label})
        return
    what = "section" if span is None else "span in section"
    typer.echo(
        f"{redaction.label} recorded (ledger entry {record.ledger_index}): {what} "
        f"{record.section} of report #{record.report_id} withheld from the public edition "
        f"({record.category})"
    )


@report_app.command("submit")
def submit(
    report: str | None = REPORT_ARG,
    to: str = typer.Option("Board and LTBT", "--to", help="Who received the report."),
    on: str | None = date_option("--on", "Date of submission (default: today)."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record the report's submission to its approvers; starts the reviewers' clock."""
    day = parse_date(on, "--on")
    with _workspace(workspace) as ws:
        record = service.submit(ws, parse_report(report), to=to, on=day, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"report #{record.report_id} submitted to {record.submitted_to} on "
        f"{record.submitted_on} (ledger entry {record.ledger_index})"
    )


@report_app.command("publish")
def publish(
    report: str | None = REPORT_ARG,
    edition: str = typer.Option(..., "--edition", help="public or reviewer."),
    fmt: str = typer.Option(..., "--format", help="pdf, html or markdown."),
    output: Path | None = output_option(
        "File to write (default: reports/PERIOD-report-ID-public.EXT, or "
        "reviewer-editions/PERIOD-report-ID-reviewer.EXT for the reviewer edition)."
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Write an edition and record its SHA-256 in the ledger (same content, same hash)."""
    with _workspace(workspace) as ws:
        result = service.publish(
            ws, parse_report(report), edition=edition, fmt=fmt, output=output, by=by
        )
        if result.created:
            checkpoint_after_write(ws)
    p = result.publication
    if json_out:
        print_json({**as_json(p), "written": str(result.path), "new_record": result.created})
        return
    typer.echo(f"wrote {result.path} ({p.size:,} bytes)")
    if isinstance(p, store.Publication):
        typer.echo(f"sha256 {p.sha256}")
    else:
        typer.echo(f"salted commitment {p.commitment} (salt in reviewer-editions/, reviewers only)")
    if result.created:
        typer.echo(f"publication #{p.id} recorded (ledger entry {p.ledger_index})")
    else:
        typer.echo(
            f"identical to publication #{p.id} (ledger entry {p.ledger_index}); not re-recorded"
        )


@report_app.command("status")
def status(
    as_of: str | None = date_option("--as-of", "Check as of this date (default: today)."),
    framework: str | None = FRAMEWORK_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Cadence: last report, next due; warns when due, exits 1 when overdue."""
    day = parse_date(as_of, "--as-of")
    with _workspace(workspace) as ws:
        result = service.cadence(ws, framework=framework, as_of=day)
    if json_out:
        data = {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in vars(result).items()
        }
        print_json(data)
    else:
        console = Console(highlight=False)
        console.print(
            f"framework: {result.framework_ref} (at most {result.interval or '—'} between "
            f"reports, at least {result.min_interval or '—'})",
            markup=False,
        )
        if result.last_report_id is not None:
            console.print(
                f"last report: #{result.last_report_id} ({result.last_period}), public edition "
                f"published {result.last_published}"
            )
        else:
            console.print("last report: none published")
        if result.due_by is not None:
            console.print(f"next due: window opens {result.window_opens}, due by {result.due_by}")
        style = {"overdue": "bold red", "due": "bold yellow"}.get(result.state, "")
        label = {"overdue": "OVERDUE", "due": "warning", "ok": "ok", "none": "note"}[result.state]
        console.print(Text.assemble((label, style), ": ", result.message))
    if result.state == "overdue":
        raise typer.Exit(1)
