"""``scaleguard reviewers`` and ``scaleguard review``: external review of Risk Reports.

Thin commands over :mod:`scaleguard.review.service`. A conflicted reviewer,
a second statement or an unknown section is refused (exit 2) with nothing
recorded; ``reviewers screen`` and ``review status`` exit 1 when their
check fails (a major conflict; an overdue deadline).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import (
    BY_OPTION,
    JSON_OPTION,
    WORKSPACE_OPTION,
    date_option,
    output_option,
    parse_date,
)
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError, Problem
from scaleguard.review import listings, service
from scaleguard.review.model import InterestSpec, ReviewerSpec, Screening
from scaleguard.store import as_json

reviewers_app = typer.Typer(
    help="External reviewers: registry, declared interests, conflict screening.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="The review of a Risk Report: assign, access, comment, submit, respond, status.",
    no_args_is_help=True,
)
M = TypeVar("M", bound=BaseModel)
REPORT_ARG = typer.Argument(..., help="Report id.")
REVIEWER_ARG = typer.Argument(..., help="Reviewer name.")


def _report(text: str) -> int:
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit():
        raise InputError(f"{text!r} is not a report id", hint="see 'scaleguard report list'")
    return int(cleaned)


def _validate(cls: type[M], values: dict[str, Any], options: dict[str, str], what: str) -> M:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        problems = [
            Problem(
                str(err["msg"]).removeprefix("Value error, "),
                path=options.get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else None,
            )
            for err in exc.errors()
        ]
        raise InputError(f"invalid {what}; nothing was recorded", problems=problems) from None


# -- reviewers ------------------------------------------------------------------------


@reviewers_app.command("add")
def add(
    name: str = typer.Argument(..., help="The reviewer's name."),
    organisation: str = typer.Option(..., "--organisation", help="Their organisation."),
    expertise: list[str] = typer.Option(
        ..., "--expertise", help="An area of expertise (repeat, or separate with commas)."
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Register an external reviewer."""
    areas = [part.strip() for item in expertise for part in item.split(",") if part.strip()]
    spec = _validate(
        ReviewerSpec,
        {"name": name, "organisation": organisation, "expertise": areas},
        {"name": "NAME", "organisation": "--organisation", "expertise": "--expertise"},
        f"reviewer {name!r}",
    )
    with _workspace(workspace) as ws:
        record = service.add_reviewer(ws, spec, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"reviewer {record.name!r} ({record.organisation}) registered "
        f"(ledger entry {record.ledger_index})"
    )


@reviewers_app.command("declare-interest")
def declare_interest(
    name: str = typer.Argument(..., help="The reviewer's name."),
    kind: str = typer.Option(
        ..., "--kind", help="employment, equity, contract, funding or personal-tie."
    ),
    with_: str = typer.Option(..., "--with", help="The organisation the interest is with."),
    from_: str = date_option("--from", "Start date.", ...),
    to: str | None = date_option("--to", "End date (omit while ongoing)."),
    holder: str = typer.Option(
        "self", "--holder", help="self, reporting-chain or organisation: whose interest it is."
    ),
    relation: str | None = typer.Option(
        None, "--relation", help="Personal ties: family, romantic, shared-housing or other."
    ),
    note: str | None = typer.Option(None, "--note", help="Anything else worth recording."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record an interest the reviewer declared (with dates); screening reads these."""
    spec = _validate(
        InterestSpec,
        {
            "reviewer": name,
            "kind": kind,
            "counterparty": with_,
            "holder": holder,
            "relation": relation,
            "from_date": parse_date(from_, "--from"),
            "to_date": parse_date(to, "--to"),
            "note": note,
        },
        {
            "kind": "--kind",
            "counterparty": "--with",
            "holder": "--holder",
            "relation": "--relation",
            "from_date": "--from",
            "to_date": "--to",
        },
        f"interest of {name!r}",
    )
    with _workspace(workspace) as ws:
        record = service.declare_interest(ws, spec, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"interest #{record.id} of {record.reviewer!r} recorded "
        f"(ledger entry {record.ledger_index})"
    )


def print_screening(console: Console, result: Screening) -> None:
    table = Table(
        title=f"Screening of {result.reviewer} as of {result.as_of} "
        f"(review window to {result.window_end})",
        title_justify="left",
    )
    for col in ("rule", "severity", "result", "reasons"):
        table.add_column(col, overflow="fold")
    for r in result.results:
        outcome = "CONFLICT" if r.matched else "clear"
        table.add_row(r.rule, r.severity, outcome, "; ".join(r.reasons) or r.description)
    console.print(table)
    console.print(
        f"developer: {', '.join(result.developer)}; rules: {result.rules_origin}", markup=False
    )
    if result.blocked:
        console.print(f"blocked: {result.reason()}", markup=False, style="bold red")
    elif result.minor:
        console.print(
            "minor conflicts only: assignment is allowed and they are recorded", style="yellow"
        )
    else:
        console.print("no conflict found")


@reviewers_app.command("screen")
def screen(
    name: str = typer.Argument(..., help="The reviewer's name."),
    report: str | None = typer.Option(None, "--report", help="Screen for this report."),
    as_of: str | None = date_option("--as-of", "Screen as of this date (default: today)."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Each conflict rule's result and reasons; exits 1 on a major conflict."""
    with _workspace(workspace) as ws:
        result = service.screen_reviewer(
            ws,
            name,
            report_id=_report(report) if report else None,
            as_of=parse_date(as_of, "--as-of"),
        )
    if json_out:
        print_json({**result.model_dump(mode="json"), "blocked": result.blocked})
    else:
        print_screening(Console(highlight=False), result)
    if result.blocked:
        raise typer.Exit(1)


@reviewers_app.command("list")
def list_reviewers(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Registered reviewers and their declared interests."""
    with _workspace(workspace) as ws:
        rows = listings.reviewer_list(ws)
    if json_out:
        print_json([{**as_json(r), "interests": [as_json(i) for i in ii]} for r, ii in rows])
        return
    table = Table(title="Reviewers", title_justify="left")
    for col in ("name", "organisation", "expertise", "declared interests"):
        table.add_column(col, overflow="fold")
    for r, ii in rows:
        table.add_row(
            r.name,
            r.organisation,
            ", ".join(r.expertise),
            "; ".join(f"{i.kind} with {i.counterparty} from {i.from_date}" for i in ii) or "—",
        )
    Console().print(table)


# -- review ---------------------------------------------------------------------------


@review_app.command("assign")
def assign(
    report: str = REPORT_ARG,
    reviewer: str = REVIEWER_ARG,
    sections: str | None = typer.Option(
        None, "--sections", help="Only these sections (comma-separated; default: all)."
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Assign a reviewer; refused with the reason on a major conflict of interest.

    On success the reviewer's access to the reviewer edition (its hash) is
    recorded in the ledger, and the review deadlines start.
    """
    chosen = [s.strip() for s in (sections or "").split(",") if s.strip()]
    with _workspace(workspace) as ws:
        assignment, access, result = service.assign(
            ws, _report(report), reviewer, sections=chosen, by=by
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json({"assignment": as_json(assignment), "access": as_json(access)})
        return
    scope = ", ".join(assignment.sections) or "the whole report"
    typer.echo(
        f"{reviewer} assigned to report #{assignment.report_id} ({scope}); "
        f"ledger entry {assignment.ledger_index}"
    )
    typer.echo(
        f"access to the reviewer edition recorded: edition sha256 {access.edition_sha256} "
        f"(ledger entry {access.ledger_index})"
    )
    for r in result.minor:
        typer.echo(f"note: minor conflict {r.rule}: {'; '.join(r.reasons)}")


@review_app.command("access")
def access(
    report: str = REPORT_ARG,
    reviewer: str = REVIEWER_ARG,
    fmt: str | None = typer.Option(None, "--format", help="Also write it: pdf, html or markdown."),
    output: Path | None = output_option("File to write."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Give an assigned reviewer the current reviewer edition, and record it."""
    with _workspace(workspace) as ws:
        record, path = service.record_access(
            ws, _report(report), reviewer, fmt=fmt, output=output, by=by
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json({**as_json(record), "written": str(path) if path else None})
        return
    if path is not None:
        typer.echo(f"wrote {path} (sha256 {record.file_sha256})")
    typer.echo(
        f"access of {reviewer} to edition {record.edition_sha256} recorded "
        f"(ledger entry {record.ledger_index})"
    )


@review_app.command("comment")
def comment(
    report: str = REPORT_ARG,
    reviewer: str = REVIEWER_ARG,
    section: str = typer.Option(..., "--section", help="Section id the comment is about."),
    text: str = typer.Option(..., "--text", help="The comment."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """A reviewer's comment, anchored to a section of the report."""
    with _workspace(workspace) as ws:
        record = service.comment(ws, _report(report), reviewer, section, text, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"comment #{record.id} on § {record.section} recorded (ledger entry {record.ledger_index})"
    )


@review_app.command("submit")
def submit(
    report: str = REPORT_ARG,
    reviewer: str = REVIEWER_ARG,
    verdict: str = typer.Option(..., "--verdict", help="agree, partly or disagree."),
    text: str = typer.Option(..., "--text", help="The final statement."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The reviewer's final statement; a second one is refused."""
    with _workspace(workspace) as ws:
        record = service.submit_statement(ws, _report(report), reviewer, verdict, text, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"final statement of {reviewer} ({record.verdict}) recorded "
        f"(ledger entry {record.ledger_index})"
    )


@review_app.command("respond")
def respond(
    report: str = REPORT_ARG,
    reviewer: str = REVIEWER_ARG,
    text: str = typer.Option(..., "--text", help="The developer's response."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The developer's response to a reviewer's final statement."""
    with _workspace(workspace) as ws:
        record = service.respond(ws, _report(report), reviewer, text, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(f"response to {reviewer} recorded (ledger entry {record.ledger_index})")


def _status_json(result: service.ReviewStatus) -> dict[str, Any]:
    return {
        "report": result.report.id,
        "as_of": result.as_of.isoformat(),
        "submitted_on": result.submitted_on.isoformat() if result.submitted_on else None,
        "submitted_to": result.submitted_to,
        "share_within": result.share_within,
        "commentary_within": result.commentary_within,
        "unreviewed_sections": result.unreviewed_sections,
        "reviewers": [
            {
                "reviewer": p.assignment.reviewer,
                "sections": list(p.assignment.sections),
                "accesses": [as_json(a) for a in p.accesses],
                "comments": [as_json(c) for c in p.comments],
                "statement": as_json(p.statement) if p.statement else None,
                "response": as_json(p.response) if p.response else None,
                "deadlines": [
                    {
                        k: (v.isoformat() if isinstance(v, dt.date) else v)
                        for k, v in vars(d).items()
                    }
                    for d in p.deadlines
                ],
            }
            for p in result.reviewers
        ],
        "overdue": len(result.overdue),
    }


@review_app.command("status")
def status(
    report: str | None = typer.Argument(None, help="Report id (default: the latest)."),
    as_of: str | None = date_option("--as-of", "Check as of this date (default: today)."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Review deadlines and progress; exits 1 when a deadline is overdue."""
    with _workspace(workspace) as ws:
        result = service.status(
            ws, _report(report) if report else None, as_of=parse_date(as_of, "--as-of")
        )
    if json_out:
        print_json(_status_json(result))
    else:
        _print_status(result)
    if result.overdue:
        raise typer.Exit(1)


def _print_status(result: service.ReviewStatus) -> None:
    console = Console(highlight=False)
    r = result.report
    console.print(f"report #{r.id} ({r.period}) as of {result.as_of}", markup=False)
    if result.submitted_on:
        console.print(f"submitted to {result.submitted_to} on {result.submitted_on}", markup=False)
    else:
        console.print(
            "not yet submitted ('scaleguard report submit'): the share clock has not started",
            markup=False,
        )
    console.print(
        f"deadlines from {r.framework_ref}: to reviewers within "
        f"{result.share_within or '—'}, commentary within "
        f"{result.commentary_within or '—'}",
        markup=False,
    )
    table = Table(title="Reviewers", title_justify="left")
    for col in ("reviewer", "scope", "comments", "statement", "response", "deadlines"):
        table.add_column(col, overflow="fold")
    for p in result.reviewers:
        table.add_row(
            p.assignment.reviewer,
            ", ".join(p.assignment.sections) or "whole report",
            str(len(p.comments)),
            p.statement.verdict if p.statement else "—",
            "yes" if p.response else "—",
            "\n".join(
                f"{d.state.upper() if d.overdue else d.state}: {d.description}" for d in p.deadlines
            ),
        )
    console.print(table)
    if result.unreviewed_sections:
        console.print(
            "sections no reviewer covers: " + ", ".join(result.unreviewed_sections),
            markup=False,
            style="yellow",
        )
    for d in result.overdue:
        console.print(f"OVERDUE ({d.reviewer}): {d.description}", markup=False, style="bold red")


@review_app.command("show")
def show(
    report: str = REPORT_ARG,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every comment, final statement and response on a report."""
    report_id = _report(report)
    with _workspace(workspace) as ws:
        result = service.status(ws, report_id)
    if json_out:
        print_json(_status_json(result))
        return
    console = Console(highlight=False)
    for p in result.reviewers:
        console.rule(p.assignment.reviewer)
        for c in p.comments:
            console.print(f"§ {c.section} ({c.created_at}): {c.text}", markup=False)
        if p.statement:
            console.print(
                f"final statement ({p.statement.verdict}, {p.statement.created_at}): "
                f"{p.statement.text}",
                markup=False,
            )
        if p.response:
            console.print(
                f"developer's response ({p.response.created_by}): {p.response.text}", markup=False
            )
