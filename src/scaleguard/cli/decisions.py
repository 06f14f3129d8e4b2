"""``determine``, ``override``, ``decide`` and ``decisions``: thin commands over the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from scaleguard.cli import render_decisions
from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION, date_option, parse_date
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.decisions import service
from scaleguard.store import as_json

FRAMEWORK_OPTION = typer.Option(
    None,
    "--framework",
    "-f",
    help="ID@VERSION of the framework (default: \\[frameworks] default in scaleguard.toml).",
)

decisions_app = typer.Typer(help="Recorded scaling decisions.", no_args_is_help=True)


def _status_json(ref: str, model: str, rows: list[service.ThresholdStatus]) -> dict[str, Any]:
    return {
        "framework": ref,
        "model": model,
        "thresholds": [
            {
                "threshold": st.threshold_id,
                "name": st.name,
                "kind": st.kind,
                "state": st.finding.state,
                "estimate": st.finding.estimate,
                "low": st.finding.low,
                "high": st.finding.high,
                "indicator": st.finding.indicator,
                "evidence_ids": list(st.finding.evidence_ids),
                "override": as_json(st.override) if st.override else None,
                "determinations": [as_json(d) for d in st.determinations],
            }
            for st in rows
        ],
    }


def determine(
    model: str = typer.Argument(..., help="Model name in the registry."),
    framework: str | None = FRAMEWORK_OPTION,
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Per threshold: below / alert / ambiguous / crossed (or missing), with intervals.

    New determinations are recorded (each a ledger entry); re-running on
    unchanged evidence records nothing new.
    """
    with _workspace(workspace) as ws:
        fw, rows = service.determine(ws, model, framework, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json(_status_json(fw.ref, model, rows))
        return
    render_decisions.determinations(Console(), fw.ref, model, rows)


def override(
    model: str = typer.Argument(..., help="Model name."),
    threshold: str = typer.Argument(..., help="Threshold id in the framework."),
    state: str = typer.Option(..., "--state", help="below, alert, ambiguous or crossed."),
    by: str = typer.Option(..., "--by", help="Who takes responsibility for the override."),
    why: str = typer.Option(..., "--why", help="The justification, recorded verbatim."),
    framework: str | None = FRAMEWORK_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Override the current determination of a threshold: a new record, never an edit.

    The override answers the determination it saw; newer evidence retires it.
    """
    with _workspace(workspace) as ws:
        record = service.override(
            ws, model, threshold, state, by=by, justification=why, framework=framework
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(
        f"override #{record.id} recorded (ledger entry {record.ledger_index}): "
        f"{threshold} treated as {state} for {model}"
    )


def decide(
    model: str = typer.Argument(..., help="Model name."),
    action: str = typer.Option(
        ..., "--action", "-a", help="train, deploy-internal, deploy-external or release-weights."
    ),
    framework: str | None = FRAMEWORK_OPTION,
    compare: str | None = typer.Option(
        None, "--compare", help="Also evaluate the same facts under this framework."
    ),
    as_of: str | None = date_option("--as-of", "Decide as of this date (default: today, UTC)."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Evaluate an action under the framework: the outcome and the full explanation."""
    day = parse_date(as_of, "--as-of")
    with _workspace(workspace) as ws:
        result = service.decide(
            ws, model, action, framework=framework, compare=compare, as_of=day, by=by
        )
        checkpoint_after_write(ws)
    if json_out:
        data: dict[str, Any] = {
            "id": result.decision_id,
            "ledger_index": result.ledger_index,
            "decision": result.decision.model_dump(mode="json"),
        }
        if result.comparison is not None:
            data["comparison"] = {
                "id": result.comparison_id,
                "decision": result.comparison.model_dump(mode="json"),
            }
        print_json(data)
        return
    console = Console()
    render_decisions.decision(console, result.decision, result.decision_id)
    if result.comparison is not None:
        console.rule(f"Counterfactual: {result.comparison.framework}")
        render_decisions.decision(console, result.comparison, result.comparison_id)
        render_decisions.comparison(console, result.decision, result.comparison)


@decisions_app.command("list")
def decisions_list(
    model: str | None = typer.Option(None, "--model", help="Only this model."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every recorded decision, oldest first (checked against the ledger)."""
    from scaleguard.decisions.recorded import recorded_decisions

    with _workspace(workspace) as ws:
        rows = recorded_decisions(ws, model)
    if json_out:
        print_json([as_json(r) for r in rows])
        return
    from rich.table import Table

    table = Table(title="Decisions", title_justify="left")
    for col in ("id", "model", "action", "framework", "outcome", "compared with", "when", "by"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.id),
            r.model,
            r.action,
            r.framework_ref,
            r.outcome,
            r.compare_ref or "",
            r.created_at,
            r.created_by,
        )
    Console().print(table)


@decisions_app.command("show")
def decisions_show(
    decision_id: int = typer.Argument(..., help="Decision id (see 'decisions list')."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """One recorded decision with its full explanation."""
    from scaleguard.decisions.model import Decision
    from scaleguard.decisions.recorded import recorded_decision

    with _workspace(workspace) as ws:
        row, _ = recorded_decision(ws, decision_id)
    if json_out:
        print_json(as_json(row))
        return
    render_decisions.decision(Console(), Decision.model_validate(dict(row.record)), row.id)
