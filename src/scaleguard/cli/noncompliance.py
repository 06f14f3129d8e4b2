"""``scaleguard noncompliance``: staff reports, anonymous or named, and the board update.

An anonymous submission prints its follow-up token once. Like every write it is
signed in its own transaction, and that checkpoint is dated by the report's day,
never by the clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION, output_option
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError

if TYPE_CHECKING:
    from scaleguard.incidents.noncompliance import ReportState

noncompliance_app = typer.Typer(
    help="Noncompliance reports from staff: anonymous or named, investigated, reported to the "
    "board.",
    no_args_is_help=True,
)


def _by(by: str | None) -> str:
    from scaleguard.workspace.workspace import current_user

    return by or current_user()


def _yes_no(value: str | None, option: str) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "y", "true"):
        return True
    if v in ("no", "n", "false"):
        return False
    raise InputError(f"{option} takes yes or no, not {value!r}", hint=f"{option} yes")


def state_json(st: ReportState, *, staff: bool = True) -> dict[str, Any]:
    r = st.report
    due = st.reporter_update_due()
    data: dict[str, Any] = {
        "id": r.id,
        "received_on": r.received_on.isoformat(),
        "anonymous": r.anonymous,
        "concerns_rso": r.concerns_rso,
        "recipients": list(r.recipients),
        "status": st.status,
        "escalation_due": st.escalation_due,
        "reporter_update_due": due.isoformat() if due else None,
        "events": [
            {
                "action": e.action,
                "status": e.status,
                "on": e.on_date.isoformat(),
                "substantiated": e.substantiated,
                "material_risk": e.material_risk,
                "note": e.note,
            }
            for e in st.events
        ],
    }
    if staff:
        data["reporter"] = r.reporter
        data["text"] = r.text
        data["ledger_index"] = r.ledger_index
    return data


@noncompliance_app.command("submit")
def submit(
    text: str = typer.Argument(..., help="What you observed."),
    anonymous: bool = typer.Option(False, "--anonymous", help="Record no name, host or time."),
    as_: str | None = typer.Option(None, "--as", help="Your name, for a named report."),
    recipient: list[str] = typer.Option(
        [], "--recipient", help="Who receives it (repeat); see 'noncompliance recipients'."
    ),
    concerns_rso: bool = typer.Option(
        False, "--concerns-rso", help="The report concerns the Responsible Scaling Officer."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Report potential noncompliance; prints a follow-up token (keep it: it is shown once)."""
    from scaleguard.incidents import noncompliance

    chosen = [c.strip() for item in recipient for c in item.split(",") if c.strip()]
    with _workspace(workspace) as ws:
        done = noncompliance.submit(
            ws,
            text=text,
            recipients=chosen,
            anonymous=anonymous,
            reporter=as_,
            concerns_rso=concerns_rso,
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": done.report.id, "token": done.token, "anonymous": anonymous})
        return
    console = Console()
    console.print(f"report {done.report.id} received on {done.report.received_on}")
    console.print(f"follow-up token (shown once): [bold]{done.token}[/]")
    console.print("check on it with 'scaleguard noncompliance follow-up TOKEN'")


@noncompliance_app.command("follow-up")
def follow_up(
    token: str | None = typer.Argument(
        None,
        metavar="TOKEN",
        help="The token given at submission (or give it with --token).",
    ),
    token_option: str | None = typer.Option(
        None,
        "--token",
        help="The token, as an option: for an older token that begins with '-', "
        "which the command line would read as an option (--token -abc…).",
    ),
    message: str | None = typer.Option(None, "--message", help="Add information."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """For the reporter: the report's status and findings; optionally add a message.

    Give the token as the argument or with --token, not both.
    """
    from scaleguard.incidents import noncompliance

    given = [t for t in (token, token_option) if t is not None]
    if len(given) != 1:
        raise InputError(
            "give the follow-up token once: as the argument or with --token",
            hint="noncompliance follow-up TOKEN, or --token TOKEN for a token that begins with '-'",
        )
    with _workspace(workspace) as ws:
        st = noncompliance.follow_up(ws, given[0], message=message)
    data = state_json(st, staff=False)
    if json_out:
        print_json(data)
        return
    console = Console()
    console.print(f"report {data['id']}: {data['status']}")
    for e in data["events"]:
        console.print(f"  {e['on']} {e['action']}: {e['note'] or ''}", markup=False)


def _act(action: str, help_text: str) -> None:
    def command(
        report_id: int = typer.Argument(..., metavar="ID"),
        note: str | None = typer.Option(None, "--note", help="What was done or found."),
        workspace: Path | None = WORKSPACE_OPTION,
        by: str | None = BY_OPTION,
        json_out: bool = JSON_OPTION,
    ) -> None:
        from scaleguard.incidents import noncompliance

        with _workspace(workspace) as ws:
            event = noncompliance.act(ws, report_id, action, by=_by(by), note=note)
            checkpoint_after_write(ws)
        if json_out:
            print_json({"id": event.id, "status": event.status, "ledger": event.ledger_index})
            return
        Console().print(f"report {report_id}: {event.status}")

    command.__doc__ = help_text
    noncompliance_app.command(action)(command)


_act("triage", "Acknowledge a report and assign it for handling.")
_act("investigate", "Start the investigation.")
_act("escalate", "Record that the board was told of a substantiated, material-risk report.")
_act("reporter-update", "Record the (monthly) update given to the reporter.")


@noncompliance_app.command("close")
def close(
    report_id: int = typer.Argument(..., metavar="ID"),
    substantiated: str = typer.Option(..., "--substantiated", help="yes or no."),
    material_risk: str = typer.Option(..., "--material-risk", help="yes or no."),
    note: str = typer.Option(..., "--note", help="The documented finding."),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Close the investigation with its findings (substantiated material risk: tell the board)."""
    from scaleguard.incidents import noncompliance

    with _workspace(workspace) as ws:
        event = noncompliance.act(
            ws,
            report_id,
            "close",
            by=_by(by),
            note=note,
            substantiated=_yes_no(substantiated, "--substantiated"),
            material_risk=_yes_no(material_risk, "--material-risk"),
        )
        st = noncompliance.state(ws, report_id)
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": event.id, "status": event.status, "escalation_due": st.escalation_due})
        return
    Console().print(f"report {report_id}: closed")
    if st.escalation_due:
        Console().print(
            "[bold red]substantiated with a material safety risk: tell the board promptly[/], "
            f"then 'scaleguard noncompliance escalate {report_id} --note ...'"
        )


@noncompliance_app.command("list")
def list_(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Every report with its status (staff view)."""
    from scaleguard.incidents import noncompliance

    with _workspace(workspace) as ws:
        all_states = noncompliance.states(ws)
    if json_out:
        print_json([state_json(s) for s in all_states])
        return
    table = Table(title="Noncompliance reports")
    for col in ("id", "received", "from", "about RSO", "status", "reporter update due", "board"):
        table.add_column(col)
    for st in all_states:
        due = st.reporter_update_due()
        table.add_row(
            str(st.report.id),
            st.report.received_on.isoformat(),
            "anonymous" if st.report.anonymous else str(st.report.reporter),
            "yes" if st.report.concerns_rso else "no",
            st.status,
            due.isoformat() if due else "-",
            "[bold red]escalation due[/]" if st.escalation_due else "-",
        )
    Console().print(table)


@noncompliance_app.command("recipients")
def recipients(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Who may receive reports (from the workspace's noncompliance.yaml)."""
    from scaleguard.incidents import noncompliance

    with _workspace(workspace) as ws:
        listed = noncompliance.load_recipients(ws.root)
    if json_out:
        print_json([r.model_dump() for r in listed])
        return
    for r in listed:
        flags = [f for f, on in (("RSO", r.is_rso), ("board", r.board)) if on]
        flags.append("reports to RSO" if r.reports_to_rso else "independent of RSO")
        typer.echo(f"{r.id}: {r.name} ({', '.join(flags)})")


@noncompliance_app.command("quarterly")
def quarterly(
    quarter: str = typer.Option(..., "--quarter", help="e.g. 2026-Q4."),
    out: Path | None = output_option("Write the Markdown update here."),
    record: bool = typer.Option(
        False, "--record", help="Record the update's SHA-256 in the ledger as delivered."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The board's quarterly update: every report, substantiated or not."""
    import hashlib

    from scaleguard.incidents import compliance, noncompliance
    from scaleguard.workspace.files import atomic_write

    with _workspace(workspace) as ws:
        update = noncompliance.quarterly(noncompliance.states(ws), quarter)
        text = noncompliance.quarterly_markdown(update)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if out is not None:
            atomic_write(out, text.encode("utf-8"))
        if record:
            _, end = noncompliance.quarter_bounds(quarter)
            compliance.record(
                ws, kind="board-quarterly-update", subject=str(update["quarter"]),
                on=min(end, compliance.today()), sha256=digest, by=_by(by),
            )  # fmt: skip
            checkpoint_after_write(ws)
    if json_out:
        print_json({**update, "markdown_sha256": digest})
        return
    typer.echo(text, nl=False)
