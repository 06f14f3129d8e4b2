"""``scaleguard incidents``: the incident register and its legal clocks.

Thin commands over :mod:`scaleguard.incidents`: parse, call one library
function, render. Times are stored in UTC and shown in the local timezone
(or ``--tz``) beside UTC.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION, output_option
from scaleguard.cli.compliance import compliance_app
from scaleguard.cli.noncompliance import noncompliance_app
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError

if TYPE_CHECKING:
    from scaleguard.incidents.clocks import Obligation
    from scaleguard.incidents.service import IncidentView

__all__ = ["compliance_app", "incidents_app", "noncompliance_app"]

incidents_app = typer.Typer(
    help="Critical incidents and the statutory clocks (SB 53, RAISE, EU Code of Practice).",
    no_args_is_help=True,
)

TZ_OPTION = typer.Option(
    None, "--tz", help="Show times in this zone (default: local), e.g. Europe/Paris."
)


def _by(by: str | None) -> str:
    from scaleguard.workspace.workspace import current_user

    return by or current_user()


def _zone(name: str | None) -> tzinfo | None:
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown timezone {name!r}", hint="use an IANA name such as Europe/Paris"
        ) from None


def _local(moment: datetime | None, zone: tzinfo | None) -> str:
    if moment is None:
        return "-"
    shown = moment.astimezone(zone)
    return shown.strftime("%Y-%m-%d %H:%M %Z")


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds)) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{sign}{days}d {hours:02d}h {minutes:02d}m"


def _time(text: str | None, what: str) -> datetime | None:
    from scaleguard.incidents.service import parse_time

    return None if text is None else parse_time(text, what)


def obligation_json(o: Obligation, as_of: datetime, zone: tzinfo | None) -> dict[str, Any]:
    from scaleguard.incidents.clocks import iso

    return {
        "incident": o.incident_id,
        "regime": o.regime,
        "duty": o.group,
        "rule": o.rule,
        "name": o.name,
        "recipient": o.recipient,
        "clock": o.clock,
        "start": iso(o.start) if o.start else None,
        "deadline": iso(o.deadline) if o.deadline else None,
        "deadline_local": _local(o.deadline, zone) if o.deadline else None,
        "seconds_left": o.time_left(as_of),
        "status": o.status,
        "notes": list(o.notes),
        "submissions": [
            {"id": s.id, "at": iso(s.at), "sha256": s.sha256, "amends": s.amends}
            for s in o.submissions
        ],
        "source": {"url": o.source_url, "section": o.section, "verified": o.verified},
    }


def view_json(v: IncidentView) -> dict[str, Any]:
    from scaleguard.incidents.clocks import iso

    inc = v.incident
    return {
        "id": inc.id,
        "title": inc.title,
        "description": inc.description,
        "kinds": list(inc.kinds),
        "models": list(inc.models),
        "imminent_risk": inc.imminent_risk,
        "internal_use": inc.internal_use,
        "discovered_at": inc.discovered_at,
        "determined_at": iso(v.facts.determined_at) if v.facts.determined_at else None,
        "resolved_at": iso(v.facts.resolved_at) if v.facts.resolved_at else None,
        "status": v.status,
        "recorded_by": inc.created_by,
        "ledger_index": inc.ledger_index,
        "events": [
            {
                "id": e.id,
                "action": e.action,
                "status": e.status,
                "note": e.note,
                "at": e.at,
                "regime": e.regime,
                "duty": e.obligation,
                "sha256": e.sha256,
                "amends": e.amends,
                "recorded_at": e.created_at,
                "recorded_by": e.created_by,
                "ledger_index": e.ledger_index,
            }
            for e in v.events
        ],
    }


@incidents_app.command("open")
def open_(
    title: str = typer.Option(..., "--title", help="A short title."),
    discovered: str = typer.Option(
        ..., "--discovered", help="When it was discovered, e.g. 2026-11-20T09:00Z."
    ),
    kind: list[str] = typer.Option(
        ..., "--kind", help="What happened (repeat): see 'incidents kinds'."
    ),
    models: list[str] = typer.Option([], "--models", "--model", help="Model(s) involved (repeat)."),
    determined: str | None = typer.Option(
        None, "--determined", help="When it was determined to be an incident."
    ),
    imminent_risk: bool = typer.Option(
        False, "--imminent-risk", help="Imminent risk of death or serious injury."
    ),
    internal_use: bool = typer.Option(
        False, "--internal-use", help="Associated with internal use of a model."
    ),
    description: str | None = typer.Option(None, "--description", help="A short, plain statement."),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record a new incident (its clocks start from the times given)."""
    from scaleguard.incidents import service

    kinds = [k.strip() for item in kind for k in item.split(",") if k.strip()]
    names = [m.strip() for item in models for m in item.split(",") if m.strip()]
    disc = _time(discovered, "--discovered")
    assert disc is not None
    with _workspace(workspace) as ws:
        inc = service.open_incident(
            ws,
            title=title,
            discovered=disc,
            determined=_time(determined, "--determined"),
            kinds=kinds,
            models=names,
            imminent_risk=imminent_risk,
            internal_use=internal_use,
            description=description,
            by=_by(by),
        )
        v = service.load(ws, inc.id)
        checkpoint_after_write(ws)
    if json_out:
        print_json(view_json(v))
        return
    Console().print(
        f"incident {inc.id} recorded (ledger entry {inc.ledger_index}); "
        "see 'scaleguard incidents clock'"
    )


@incidents_app.command("update")
def update(
    incident_id: int = typer.Argument(..., metavar="ID"),
    status: str | None = typer.Option(
        None, "--status", help="investigating, contained, monitoring, reported, other."
    ),
    note: str | None = typer.Option(None, "--note", help="What was learned or done."),
    determined: str | None = typer.Option(
        None, "--determined", help="When it was determined to be an incident."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Add a status, a note or the determination time (a new record; nothing is edited)."""
    from scaleguard.incidents import service

    with _workspace(workspace) as ws:
        events = service.update(
            ws,
            incident_id,
            status=status,
            note=note,
            determined=_time(determined, "--determined"),
            by=_by(by),
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json(
            [{"id": e.id, "action": e.action, "ledger_index": e.ledger_index} for e in events]
        )
        return
    Console().print(f"incident {incident_id}: {len(events)} record(s) added")


@incidents_app.command("resolve")
def resolve(
    incident_id: int = typer.Argument(..., metavar="ID"),
    at: str | None = typer.Option(None, "--at", help="When it was resolved (default: now)."),
    note: str | None = typer.Option(None, "--note"),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Mark the incident resolved (final-report clocks start here)."""
    from scaleguard.incidents import service

    with _workspace(workspace) as ws:
        event = service.resolve(ws, incident_id, at=_time(at, "--at"), note=note, by=_by(by))
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": event.id, "at": event.at, "ledger_index": event.ledger_index})
        return
    Console().print(f"incident {incident_id} resolved at {event.at}")


@incidents_app.command("submit")
def submit(
    incident_id: int = typer.Argument(..., metavar="ID"),
    regime: str = typer.Option(..., "--regime", help="sb53, raise, eu-cop or a lab regime id."),
    duty: str = typer.Option(
        "initial", "--duty", help="The duty this report meets: initial, imminent, update, final."
    ),
    file: Path = typer.Option(
        ..., "--file", help="The report as sent; its SHA-256 goes into the ledger.", exists=False
    ),
    at: str | None = typer.Option(None, "--at", help="When it was sent (default: now)."),
    amends: int | None = typer.Option(None, "--amends", help="Id of the report this one amends."),
    workspace: Path | None = WORKSPACE_OPTION,
    by: str | None = BY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record a report sent to a regulator, by its hash (late reports are recorded as late)."""
    from scaleguard.incidents import service

    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror})", hint="check the path") from None
    with _workspace(workspace) as ws:
        event = service.submit(
            ws,
            incident_id,
            regime=regime,
            group=duty,
            content=content,
            at=_time(at, "--at"),
            amends=amends,
            by=_by(by),
        )
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": event.id, "sha256": event.sha256, "ledger_index": event.ledger_index})
        return
    Console().print(
        f"report {event.id} recorded: sha256 {event.sha256} (ledger entry {event.ledger_index})"
    )


@incidents_app.command("list")
def list_(
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every incident with its status."""
    from scaleguard.incidents import service

    with _workspace(workspace) as ws:
        views = service.load_all(ws)
    if json_out:
        print_json([view_json(v) for v in views])
        return
    table = Table(title="Incidents")
    for col in ("id", "title", "kinds", "discovered (UTC)", "status"):
        table.add_column(col)
    for v in views:
        table.add_row(
            str(v.incident.id),
            v.incident.title,
            ", ".join(v.incident.kinds),
            v.incident.discovered_at,
            v.status,
        )
    Console().print(table)


@incidents_app.command("show")
def show(
    incident_id: int = typer.Argument(..., metavar="ID"),
    as_of: str | None = typer.Option(None, "--as-of", help="Obligations as of this time."),
    tz: str | None = TZ_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """One incident with every record about it and its obligations."""
    from datetime import UTC

    from scaleguard.incidents import clocks, regimes, service

    zone = _zone(tz)
    moment = _time(as_of, "--as-of") or datetime.now(UTC)
    with _workspace(workspace) as ws:
        v = service.load(ws, incident_id)
        items = clocks.obligations(v.facts, regimes.load_regimes(ws.root), moment)
    data = view_json(v)
    data["obligations"] = [obligation_json(o, moment, zone) for o in items]
    if json_out:
        print_json(data)
        return
    console = Console()
    console.print(f"[bold]incident {v.incident.id}[/]: {v.incident.title} ({v.status})")
    for key in (
        "kinds",
        "models",
        "discovered_at",
        "determined_at",
        "resolved_at",
        "imminent_risk",
        "internal_use",
    ):
        console.print(f"  {key}: {data[key]}", markup=False)
    for e in data["events"]:
        parts = [e["action"], e["status"], e["regime"], e["duty"], e["note"], e["sha256"]]
        text = " ".join(str(p) for p in parts if p)
        console.print(f"  [{e['id']}] {e['recorded_at']} {text}", markup=False)
    render_clock(console, [(v, items)], moment, zone)


def render_clock(
    console: Console,
    rows: list[tuple[IncidentView, list[Obligation]]],
    as_of: datetime,
    zone: tzinfo | None,
) -> None:
    styles = {
        "overdue": "bold red",
        "open": "yellow",
        "late": "red",
        "met": "green",
        "pending": "dim",
        "not_applicable": "dim",
    }
    table = Table(title=f"Obligations as of {_local(as_of, zone)}", show_lines=True)
    for col in ("incident", "regime", "duty", "deadline", "left", "status"):
        table.add_column(col, overflow="fold")
    for v, items in rows:
        for o in items:
            status = f"[{styles[o.status]}]{o.status.replace('_', ' ')}[/]"
            detail = [
                o.name if o.recipient == "-" else f"{o.name} -> {o.recipient}",
                f"{o.section}" + ("" if o.verified else " (source unverified)"),
            ]
            detail.extend(o.notes)
            table.add_row(
                str(v.incident.id),
                o.regime,
                f"{o.group}\n[dim]" + "\n".join(detail).replace("[", "\\[") + "[/]",
                _local(o.deadline, zone),
                _left(o.time_left(as_of)) if o.status in ("open", "overdue") else "-",
                status,
            )
    console.print(table)


@incidents_app.command("clock")
def clock(
    as_of: str | None = typer.Option(None, "--as-of", help="Evaluate at this time (default: now)."),
    all_: bool = typer.Option(
        False, "--all", help="Include resolved incidents whose duties are met."
    ),
    tz: str | None = TZ_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Every obligation, its deadline and the time left; exit 1 if any is overdue."""
    from datetime import UTC

    from scaleguard.incidents import service

    zone = _zone(tz)
    moment = _time(as_of, "--as-of") or datetime.now(UTC)
    with _workspace(workspace) as ws:
        rows = service.clock(ws, as_of=moment, include_resolved=all_)
    overdue = sum(1 for _, items in rows for o in items if o.status == "overdue")
    if json_out:
        print_json(
            {
                "as_of": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "overdue": overdue,
                "obligations": [
                    obligation_json(o, moment, zone) for _, items in rows for o in items
                ],
            }
        )
    else:
        console = Console()
        if not rows:
            console.print("no open incidents")
        else:
            render_clock(console, rows, moment, zone)
        if overdue:
            console.print(f"[bold red]{overdue} obligation(s) overdue[/]")
    if overdue:
        raise typer.Exit(1)


@incidents_app.command("kinds")
def kinds(json_out: bool = JSON_OPTION) -> None:
    """The incident kinds a record can carry."""
    from scaleguard.incidents.regimes import KINDS

    if json_out:
        print_json(KINDS)
        return
    for k, text in KINDS.items():
        typer.echo(f"{k}: {text}")


@incidents_app.command("regimes")
def regimes_cmd(
    check: Path | None = typer.Option(None, "--check", help="Validate a regime file and exit."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The regimes in force here: built-in and the workspace's own (folder regimes/)."""
    from scaleguard.incidents import regimes

    if check is not None:
        regime = regimes.load_file(check)
        if json_out:
            print_json({"file": str(check), "regime": regime.id, "valid": True})
        else:
            typer.echo(f"{check}: regime {regime.id} is valid")
        return
    from scaleguard.errors import WorkspaceError
    from scaleguard.incidents.own import workspace_regimes
    from scaleguard.workspace.locate import find_root

    try:
        root: Path | None = workspace or find_root()
    except WorkspaceError:  # outside a workspace: the built-in regimes only
        root = None
    if root is None:
        regs = regimes.load_regimes(None)
    else:
        with _workspace(root) as ws:
            regs = workspace_regimes(ws)
    data: list[dict[str, Any]] = [
        {
            "id": r.id,
            "title": r.doc.regime.title,
            "in_force_from": r.doc.regime.in_force_from.isoformat(),
            "status": r.doc.regime.status,
            "verified": r.doc.regime.verified,
            "verification": r.doc.regime.verification,
            "origin": r.origin,
            "recurring": [
                {
                    "id": d.id,
                    "name": d.name,
                    "every": str(d.every) if d.every else None,
                    "section": d.source.section,
                }
                for d in r.doc.recurring
            ],
            "obligations": [
                {
                    "id": o.id,
                    "duty": o.group,
                    "clock": o.clock,
                    "within": str(o.within),
                    "recipient": o.recipient,
                    "section": o.source.section,
                }
                for o in r.doc.obligations
            ],
        }
        for r in regs
    ]
    if json_out:
        print_json(data)
        return
    table = Table(title="Reporting regimes")
    for col in ("id", "title", "in force from", "verified", "duties"):
        table.add_column(col, overflow="fold")
    for d in data:
        duties = "; ".join(f"{o['duty']}: {o['clock']} + {o['within']}" for o in d["obligations"])
        duties = duties or "; ".join(
            f"{x['id']} ({x['every'] or 'as needed'})" for x in d["recurring"]
        )
        table.add_row(
            d["id"], d["title"], d["in_force_from"], "yes" if d["verified"] else "NO", duties
        )
    Console().print(table)


@incidents_app.command("report")
def report(
    incident_id: int = typer.Argument(..., metavar="ID"),
    regime: str = typer.Option(..., "--regime", help="sb53, raise, eu-cop or a lab regime id."),
    fmt: str = typer.Option("markdown", "--format", help="markdown, pdf or json."),
    out: Path | None = output_option("Write here (needed for pdf)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Deadlines as of this time."),
    workspace: Path | None = WORKSPACE_OPTION,
) -> None:
    """A report draft with the regime's required fields filled from the record."""
    from datetime import UTC

    from scaleguard.incidents import drafts, regimes, service
    from scaleguard.workspace.files import atomic_write

    if fmt not in ("markdown", "pdf", "json"):
        raise InputError(f"unknown format {fmt!r}", hint="use markdown, pdf or json")
    if fmt == "pdf" and out is None:
        raise InputError("a PDF needs --out FILE", hint="e.g. --out report.pdf")
    moment = _time(as_of, "--as-of") or datetime.now(UTC)
    with _workspace(workspace) as ws:
        (reg,) = regimes.select(regimes.load_regimes(ws.root), [regime])
        v = service.load(ws, incident_id)
        draft = drafts.make_draft(v, reg, developer=ws.name, as_of=moment)
        data = drafts.render(draft, fmt)
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    atomic_write(out, data)
    typer.echo(
        f"draft written to {out}; once sent, record it with 'scaleguard incidents submit "
        f"{incident_id} --regime {regime} --duty DUTY --file {out}'"
    )
