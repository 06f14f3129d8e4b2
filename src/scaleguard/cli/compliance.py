"""``scaleguard compliance``: the recurring duties around the published framework."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION, date_option, parse_date
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError

compliance_app = typer.Typer(
    help="Framework review, change publication, transparency reports, quarterly summaries.",
    no_args_is_help=True,
)


@compliance_app.command("status")
def status(
    as_of: str | None = date_option("--as-of", "Evaluate on this date (default: today)."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Each duty: last met, next due, and its state; exit 1 if any is overdue or was late."""
    from scaleguard.incidents import compliance

    with _workspace(workspace) as ws:
        duties = compliance.status(ws, as_of=parse_date(as_of, "--as-of"))
    failing = [d for d in duties if d.state in ("overdue", "late")]
    if json_out:
        print_json(
            [
                {
                    "duty": d.duty,
                    "name": d.name,
                    "subject": d.subject,
                    "last": d.last.isoformat() if d.last else None,
                    "due": d.due.isoformat() if d.due else None,
                    "state": d.state,
                    "detail": d.detail,
                    "source": d.source,
                }
                for d in duties
            ]
        )
    else:
        styles = {"met": "green", "late": "red", "open": "yellow", "overdue": "bold red"}
        table = Table(title="Compliance duties", show_lines=True)
        for col in ("duty", "subject", "last", "due", "state", "detail"):
            table.add_column(col, overflow="fold")
        for d in duties:
            style = styles.get(d.state, "dim")
            table.add_row(
                d.name,
                d.subject,
                str(d.last or "-"),
                str(d.due or "-"),
                f"[{style}]{d.state.replace('_', ' ')}[/]",
                d.detail + (f"\n[dim]{d.source}[/]" if d.source else ""),
            )
        Console().print(table)
    if failing:
        raise typer.Exit(1)


@compliance_app.command("record")
def record(
    kind: str = typer.Option(
        ...,
        "--kind",
        help="framework-review, framework-published, transparency-report, "
        "internal-use-summary or board-quarterly-update.",
    ),
    subject: str = typer.Option(..., "--subject", help="The framework version or model name."),
    on: str = date_option("--on", "The date it happened.", ...),
    url: str | None = typer.Option(None, "--url", help="Where it was published."),
    file: Path | None = typer.Option(None, "--file", help="The document; its SHA-256 is kept."),
    note: str | None = typer.Option(None, "--note"),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record a dated compliance fact (append-only, in the ledger)."""
    import hashlib

    from scaleguard.incidents import compliance
    from scaleguard.workspace.workspace import current_user

    digest = None
    if file is not None:
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(
                f"{file}: cannot read ({exc.strerror})", hint="check the path"
            ) from None
    day = parse_date(on, "--on")
    assert day is not None
    with _workspace(workspace) as ws:
        rec = compliance.record(
            ws, kind=kind, subject=subject, on=day, url=url, sha256=digest, note=note,
            by=by or current_user(),
        )  # fmt: skip
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": rec.id, "ledger_index": rec.ledger_index, "sha256": rec.sha256})
        return
    Console().print(f"recorded {kind} for {subject} on {day} (ledger entry {rec.ledger_index})")
