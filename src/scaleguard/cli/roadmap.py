"""``scaleguard roadmap``: goals, dated updates, the graded report card and its publication.

Thin commands over :mod:`scaleguard.roadmap`: parse the options into specs,
call one library function, render. Goals and updates are ledger records and
are never edited; a change is a new update.
"""

from __future__ import annotations

from datetime import date
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
from scaleguard.roadmap import render
from scaleguard.roadmap.grading import diff_roadmaps, goal_card, report_card
from scaleguard.roadmap.model import AREA_LABELS, STATUSES, GoalSpec, UpdateSpec
from scaleguard.roadmap.revision import at_revision
from scaleguard.roadmap.store import (
    add_goal,
    add_update,
    import_file,
    load_goal,
    load_history,
    load_roadmap,
    today_utc,
)
from scaleguard.workspace.files import atomic_write

roadmap_app = typer.Typer(
    help="The Frontier Safety Roadmap: public goals, dated updates, grades and the report card.",
    no_args_is_help=True,
)

AS_OF_OPTION = date_option("--as-of", "Grade as of this date (default: today, UTC).")

#: Spec field -> the option (or argument) a user typed it with.
_OPTION_OF = {
    "goal": "GOAL",
    "area": "--area",
    "title": "--title",
    "description": "--description",
    "target": "--target",
    "owner": "--owner",
    "criteria": "--criterion",
    "set_on": "--set-on",
    "evidence_url": "--evidence",
    "on": "--on",
    "status": "--status",
    "note": "--note",
}


S = TypeVar("S", bound=BaseModel)


def _spec(cls: type[S], values: dict[str, Any], what: str) -> S:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if p != "[key]"]
            option = _OPTION_OF.get(str(loc[0]), str(loc[0])) if loc else None
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(message, path=option))
        raise InputError(f"invalid {what}", problems=problems) from None


def _as_of(text: str | None) -> date:
    return parse_date(text, "--as-of") or today_utc()


@roadmap_app.command("add")
def roadmap_add(
    goal: str = typer.Argument(..., help="Goal id: lower case letters, digits, '.', '_', '-'."),
    area: str = typer.Option(..., "--area", help="security, safeguards, alignment or policy."),
    title: str = typer.Option(..., "--title", help="A short title."),
    description: str = typer.Option(..., "--description", help="What, measurably."),
    target: str = typer.Option(..., "--target", help="Target date, YYYY-MM-DD."),
    owner: str = typer.Option(..., "--owner", help="Who is accountable."),
    criterion: list[str] = typer.Option(
        [], "--criterion", help="A success criterion (repeat for each)."
    ),
    set_on: str | None = typer.Option(
        None, "--set-on", help="When the goal was set, YYYY-MM-DD (default: today)."
    ),
    evidence: str | None = typer.Option(None, "--evidence", help="URL announcing the goal."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Set a new roadmap goal (a ledger record; goals are never edited)."""
    values: dict[str, Any] = {
        "goal": goal,
        "area": area,
        "title": title,
        "description": description,
        "target": target,
        "owner": owner,
        "criteria": criterion,
        "set_on": set_on if set_on is not None else today_utc(),
        "evidence_url": evidence,
    }
    spec = _spec(GoalSpec, values, f"goal {goal!r}")
    with _workspace(workspace) as ws:
        recorded = add_goal(ws, spec, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(recorded.model_dump(mode="json"))
        return
    typer.echo(
        f"goal {recorded.goal} set on {recorded.set_on}, target {recorded.target} "
        f"(ledger entry {recorded.ledger_index})"
    )


@roadmap_app.command("update")
def roadmap_update(
    goal: str = typer.Argument(..., help="The goal's id."),
    status: str = typer.Option(..., "--status", help=", ".join(STATUSES) + "."),
    evidence: str = typer.Option(..., "--evidence", help="URL of the evidence for this update."),
    note: str | None = typer.Option(None, "--note", help="What happened, in a sentence or two."),
    target: str | None = typer.Option(None, "--target", help="Move the target to YYYY-MM-DD."),
    criterion: list[str] = typer.Option(
        [], "--criterion", help="Replace the criteria with these (repeat for each)."
    ),
    on: str | None = typer.Option(
        None, "--on", help="Date of the update, YYYY-MM-DD (default: today)."
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Append a dated update to a goal; it may move the target or replace the criteria.

    A target moved later, or criteria losing an item, flags the goal as
    revised less ambitiously, for good.
    """
    values: dict[str, Any] = {
        "goal": goal,
        "on": on if on is not None else today_utc(),
        "status": status,
        "evidence_url": evidence,
        "note": note,
        "target": target,
        "criteria": criterion or None,
    }
    spec = _spec(UpdateSpec, values, f"update of {goal!r}")
    with _workspace(workspace) as ws:
        updated = add_update(ws, spec, by=by)
        checkpoint_after_write(ws)
    card = goal_card(updated, max(spec.on, today_utc()))
    if json_out:
        print_json(
            {
                "update": updated.updates[-1].model_dump(mode="json"),
                "goal": card.model_dump(mode="json") if card else None,
            }
        )
        return
    typer.echo(
        f"update of {goal} on {spec.on} recorded (ledger entry {updated.updates[-1].ledger_index})"
    )
    if card is not None:
        typer.echo(f"grade as of {max(spec.on, today_utc())}: {render.grade_text(card.grade)}")
        if card.revised_less_ambitiously:
            typer.echo(f"flag: {render.FLAG} ({card.revisions[-1].summary})")


@roadmap_app.command("import")
def roadmap_import(
    file: Path = typer.Argument(..., help="A roadmap .yaml file.", dir_okay=False),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Import goals and their dated updates from YAML: all of it, or nothing.

    The file is a 'goals:' list; each goal has the keys id, area, title,
    description, owner, set_on, target, criteria (list), evidence (URL) and
    updates (list of on, status, evidence, note, target, criteria). Goals
    already recorded must match; their recorded updates must come first.
    Problems are reported as file:line:column.
    """
    with _workspace(workspace) as ws:
        summary = import_file(ws, file, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(summary.as_json())
        return
    typer.echo(
        f"imported {len(summary.goals_added)} new goal(s) and {summary.updates_added} update(s); "
        f"{len(summary.goals_unchanged)} goal(s) and {summary.updates_unchanged} update(s) "
        "were already recorded"
    )


@roadmap_app.command("list")
def roadmap_list(
    as_of: str | None = AS_OF_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every goal set by the date, with its grade, target and latest status."""
    day = _as_of(as_of)
    with _workspace(workspace) as ws:
        card = report_card(load_roadmap(ws, refusing="list the roadmap goals"), day)
    if json_out:
        print_json(
            [
                {
                    "goal": g.goal,
                    "area": g.area,
                    "title": g.title,
                    "owner": g.owner,
                    "set_on": g.set_on.isoformat(),
                    "target": g.target.isoformat(),
                    "deadline": g.deadline.isoformat(),
                    "grade": g.grade,
                    "latest_status": g.latest_status,
                    "revised_less_ambitiously": g.revised_less_ambitiously,
                }
                for g in card.goals
            ]
        )
        return
    table = Table(title=f"Roadmap goals as of {day}", title_justify="left")
    for column in ("area", "goal", "title", "target", "grade", "latest", "⚑"):
        table.add_column(column, overflow="fold", no_wrap=column in ("target", "⚑"))
    for g in card.goals:
        table.add_row(
            AREA_LABELS[g.area],
            g.goal,
            g.title,
            str(g.target),
            render.grade_text(g.grade),
            (g.latest_status or "").replace("_", " "),
            "⚑" if g.revised_less_ambitiously else "",
        )
    console = Console()
    console.print(table)
    if any(g.revised_less_ambitiously for g in card.goals):
        console.print(f"⚑ = {render.FLAG}")


@roadmap_app.command("show")
def roadmap_show(
    goal: str = typer.Argument(..., help="The goal's id."),
    as_of: str | None = AS_OF_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """One goal: grade and why, revisions, and the full history up to the date."""
    day = _as_of(as_of)
    with _workspace(workspace) as ws:
        found = load_goal(ws, goal)
    card = goal_card(found, day)
    if card is None:
        raise InputError(
            f"goal {goal!r} was set on {found.set_on}, after {day}",
            hint=f"use --as-of {found.set_on} or later",
        )
    if json_out:
        print_json(card.model_dump(mode="json"))
        return
    render.print_goal(Console(), card)


@roadmap_app.command("grade")
def roadmap_grade(
    as_of: str | None = AS_OF_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The report card: per-area counts of each grade, every goal's grade and the flags."""
    day = _as_of(as_of)
    with _workspace(workspace) as ws:
        card = report_card(load_roadmap(ws), day)
        title = f"{ws.name}: Frontier Safety Roadmap"
    if json_out:
        print_json(card.model_dump(mode="json"))
        return
    render.print_card(Console(), card, title=title)


@roadmap_app.command("publish")
def roadmap_publish(
    fmt: str = typer.Option(..., "--format", help="html or markdown."),
    as_of: str | None = AS_OF_OPTION,
    output: Path | None = output_option(),
    title: str | None = typer.Option(
        None,
        "--title",
        help="Page title (default: the workspace name + 'Frontier Safety Roadmap').",
    ),
    workspace: Path | None = WORKSPACE_OPTION,
) -> None:
    """The public report card: a self-contained HTML page with a chart, or Markdown.

    The output depends only on the recorded roadmap, the as-of date and the
    title, so publishing twice gives identical bytes.
    """
    if fmt not in ("html", "markdown"):
        raise InputError(f"--format {fmt!r} is not supported", hint="use html or markdown")
    day = _as_of(as_of)
    with _workspace(workspace) as ws:
        card = report_card(load_roadmap(ws, refusing="publish the roadmap"), day)
        heading = title or f"{ws.name}: Frontier Safety Roadmap"
    if fmt == "html":
        from scaleguard.roadmap.html import card_html

        text = card_html(card, title=heading)
    else:
        text = render.card_markdown(card, title=heading)
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
        f"wrote {output} (report card as of {day}, {card.total} goal(s))", markup=False
    )


@roadmap_app.command("diff")
def roadmap_diff(
    rev_a: str = typer.Argument(..., help="Ledger position N, a date YYYY-MM-DD, or 'head'."),
    rev_b: str = typer.Argument(..., help="Ledger position N, a date YYYY-MM-DD, or 'head'."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Goals added, dropped, delayed, made less ambitious or achieved from A to B.

    A ledger position N is the roadmap as recorded before entry N; a date is
    the roadmap as its own dates state it at the end of that day; 'head' is
    everything recorded.
    """
    with _workspace(workspace) as ws:
        goals, size = load_history(ws)
    a, label_a = at_revision(goals, rev_a, size)
    b, label_b = at_revision(goals, rev_b, size)
    diff = diff_roadmaps(a, b, a_label=label_a, b_label=label_b)
    if json_out:
        print_json(diff.model_dump(mode="json"))
        return
    render.print_diff(Console(), diff)
