"""Workspace commands: ``init``, ``models``, ``safeguards``, ``facts`` and ``evidence``.

Each command parses its arguments, calls one library function from
:mod:`scaleguard.workspace` and renders the result as a table or, with
``--json``, as JSON on stdout. Errors are raised as ScaleguardError and
reported once by :func:`scaleguard.cli.app.main` (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION
from scaleguard.cli.output import print_json, print_table
from scaleguard.errors import InputError, Problem
from scaleguard.store import as_json, repo
from scaleguard.store.records import Model
from scaleguard.workspace import (
    IngestProgress,
    ModelSpec,
    Workspace,
    add_model,
    add_scores,
    assert_fact,
    attest,
    import_models,
    ingest_paths,
    init_workspace,
    open_workspace,
    parse_fact_value,
)
from scaleguard.workspace.ingest import INGEST_FORMATS
from scaleguard.workspace.registry import SAFEGUARD_LEVELS, STATUSES

models_app = typer.Typer(
    help="The model registry: our models and competitors'.", no_args_is_help=True
)
safeguards_app = typer.Typer(help="Safeguard attestations per model.", no_args_is_help=True)
facts_app = typer.Typer(
    help="Facts that framework conditions name, with sources.", no_args_is_help=True
)
evidence_app = typer.Typer(help="Evaluation evidence: ingest and list.", no_args_is_help=True)


@contextmanager
def _workspace(path: Path | None) -> Iterator[Workspace]:
    ws = open_workspace(path)
    try:
        yield ws
    finally:
        ws.close()


def checkpoint_after_write(ws: Workspace) -> None:
    """Confirm that the signer's latest checkpoint still covers the whole ledger.

    Signing happens inside every write transaction (scaleguard.store.ledger.signer),
    so a command never leaves entries unsigned; this re-checks after the
    commit and exits 1 (LedgerIntegrityError) if the database was tampered with.
    """
    ws.checkpoint()


#: Columns of free text, which wrap between words; every other column stays on one line.
_PROSE = (
    "title",
    "developer",
    "scores",
    "safeguards",
    "source",
    "evidence",
    "note",
    "task",
    "metric",
)


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    print_table(Console(), title, columns, rows, prose=_PROSE)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


# -- init -----------------------------------------------------------------------


def init(
    directory: Path = typer.Argument(
        ..., help="Folder to create the workspace in.", file_okay=False
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL, e.g. postgresql://user@host:5432/db (default: scaleguard.db here).",
    ),
    name: str | None = typer.Option(None, "--name", help="Workspace name (default: folder name)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Create a workspace: scaleguard.toml, the database, frameworks/, objects/ and keys/.

    Never overwrites: a folder that already holds a workspace is refused.
    scaleguard.toml has a "workspace" table (name, format), a "database" table
    (sqlite = FILE, url = URL or url_env = VARIABLE; SQLite by default) and
    optionally a "frameworks" table (default = ID@VERSION).
    """
    ws = init_workspace(directory, db_url=db, name=name)
    try:
        info = {
            "ok": True,
            "root": str(ws.root),
            "name": ws.name,
            "database": ws.store.display_url,
            "backend": ws.store.backend,
        }
    finally:
        ws.close()
    if json_out:
        print_json(info)
        return
    typer.echo(f"Initialised scaleguard workspace {info['name']!r} in {info['root']}")
    typer.echo(f"database: {info['database']}")


# -- models ---------------------------------------------------------------------

_OPTION_OF = {
    "effective_compute": "--compute",
    "released_on": "--released",
    "safeguards_level": "--safeguards",
    "sources": "--source",
    "scores": "--score",
    "score_source": "--source",
}


def _option_path(loc: tuple[Any, ...]) -> str | None:
    if not loc:
        return None
    option = _OPTION_OF.get(str(loc[0]), f"--{str(loc[0]).replace('_', '-')}")
    if loc[0] == "scores" and len(loc) > 1:
        return f"{option} {loc[1]}"
    return option


def _spec(values: dict[str, Any]) -> ModelSpec:
    try:
        return ModelSpec.model_validate(values)
    except ValidationError as exc:
        problems = [
            Problem(
                str(err["msg"]).removeprefix("Value error, "),
                path=_option_path(tuple(p for p in err["loc"] if p != "[key]")),
            )
            for err in exc.errors()
        ]
        raise InputError(f"invalid model {values.get('name', '')!r}", problems=problems) from None


def _parse_scores(items: list[str]) -> dict[str, str]:
    scores: dict[str, str] = {}
    for item in items:
        domain, sep, value = item.partition("=")
        if not sep or not domain.strip() or not value.strip():
            raise InputError(
                f"--score {item!r} is not DOMAIN=VALUE", hint="e.g. --score cyber=0.42"
            )
        if domain.strip() in scores:
            raise InputError(f"--score names domain {domain.strip()!r} twice")
        scores[domain.strip()] = value.strip()
    return scores


def _model_row(m: Model, latest: dict[tuple[str, str], Any]) -> list[str]:
    scores = ", ".join(
        f"{d}={_num(s.score)}" for (name, d), s in sorted(latest.items()) if name == m.name
    )
    return [
        m.name,
        m.developer or "",
        "own" if m.own else "competitor",
        m.status,
        m.released_on.isoformat() if m.released_on else "",
        m.safeguards_level or "",
        _num(m.effective_compute),
        scores,
    ]


@models_app.command("add")
def models_add(
    name: str = typer.Argument(..., help="Model name, unique in the registry."),
    developer: str | None = typer.Option(None, "--developer", help="Who develops it."),
    own: bool = typer.Option(False, "--own/--competitor", help="One of ours, or a competitor's."),
    parent: str | None = typer.Option(None, "--parent", help="Registered model it derives from."),
    compute: float | None = typer.Option(
        None, "--compute", help="Effective training compute, FLOP."
    ),
    status: str | None = typer.Option(
        None, "--status", help="One of " + ", ".join(STATUSES) + " (default: planned if own)."
    ),
    released: str | None = typer.Option(None, "--released", help="Release date, YYYY-MM-DD."),
    safeguards: str | None = typer.Option(
        None, "--safeguards", help="Competitor safeguards: " + ", ".join(SAFEGUARD_LEVELS) + "."
    ),
    score: list[str] = typer.Option([], "--score", help="DOMAIN=VALUE capability score (repeat)."),
    source: list[str] = typer.Option([], "--source", help="URL backing this entry (repeat)."),
    notes: str | None = typer.Option(None, "--notes", help="Free-text notes."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Register a model (ours or a competitor's) with its scores; entries are append-only."""
    values: dict[str, Any] = {
        "name": name,
        "developer": developer,
        "own": own,
        "parent": parent,
        "effective_compute": compute,
        "status": status,
        "released_on": released,
        "safeguards_level": safeguards,
        "notes": notes,
        "sources": source,
        "scores": _parse_scores(score),
    }
    spec = _spec({k: v for k, v in values.items() if v is not None})
    with _workspace(workspace) as ws:
        model = add_model(ws, spec, by=by)
        checkpoint_after_write(ws)
        with ws.store.read() as s:
            scores = repo.scores(s, model.name)
    if json_out:
        print_json({"model": as_json(model), "scores": [as_json(x) for x in scores]})
        return
    typer.echo(f"registered {model.name} (ledger entry {model.ledger_index})")


@models_app.command("score")
def models_score(
    name: str = typer.Argument(..., help="A registered model."),
    scores: list[str] = typer.Argument(..., help="DOMAIN=VALUE pairs."),
    source: str | None = typer.Option(None, "--source", help="URL the scores come from."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record new capability scores for a model; the latest score per domain counts."""
    parsed = _parse_scores(scores)
    with _workspace(workspace) as ws:
        added = add_scores(ws, name, parsed, source=source, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json([as_json(s) for s in added])
        return
    for s in added:
        typer.echo(f"{s.model} {s.domain}={_num(s.score)} (ledger entry {s.ledger_index})")


@models_app.command("import")
def models_import(
    file: Path = typer.Argument(..., help="A models .yaml or .csv file.", dir_okay=False),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Import models from YAML or CSV: every entry, or none if any is invalid.

    YAML: a 'models:' list of mappings with the keys name, developer, own,
    parent, effective_compute, status, released_on, safeguards_level, notes,
    sources (list of URLs), scores (DOMAIN: VALUE) and score_source.
    CSV: a header row with those names, 'sources' as space-separated URLs and
    one 'score:DOMAIN' column per domain. A model already registered with the
    same fields is left alone (new scores are added); different fields conflict.
    """
    with _workspace(workspace) as ws:
        results = import_models(ws, file, by=by)
        checkpoint_after_write(ws)
    if json_out:
        print_json({"ok": True, "models": [r.as_json() for r in results]})
        return
    added = sum(1 for r in results if r.status == "added")
    scores = sum(r.scores_added for r in results)
    typer.echo(
        f"imported {added} new model(s), {len(results) - added} already registered, "
        f"{scores} score(s) recorded"
    )


@models_app.command("list")
def models_list(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """List registered models with their latest score per domain."""
    from scaleguard.workspace import shown

    with _workspace(workspace) as ws:
        models, latest = shown.registry(ws)
    if json_out:
        out = []
        for m in models:
            data = as_json(m)
            data["scores"] = {d: x.score for (n, d), x in sorted(latest.items()) if n == m.name}
            out.append(data)
        print_json(out)
        return
    columns = ("name", "developer", "kind", "status", "released", "safeguards", "compute", "scores")
    _table("Models", columns, [_model_row(m, latest) for m in models])


@models_app.command("show")
def models_show(
    name: str = typer.Argument(..., help="A registered model."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Show one model: its entry, score history and safeguard attestations."""
    from scaleguard.workspace import shown

    with _workspace(workspace) as ws:
        model, scores, attestations = shown.model_entry(ws, name)
    if json_out:
        print_json(
            {
                "model": as_json(model),
                "scores": [as_json(x) for x in scores],
                "attestations": [as_json(a) for a in attestations],
            }
        )
        return
    console = Console()
    for key, value in as_json(model).items():
        if value not in (None, [], ""):
            console.print(f"[bold]{key}[/]: {value}", markup=True, highlight=False)
    _table(
        "Scores (latest last)",
        ("domain", "score", "source", "recorded", "by"),
        [[x.domain, _num(x.score), x.source or "", x.created_at, x.created_by] for x in scores],
    )
    _attestation_table(attestations)


# -- safeguards -----------------------------------------------------------------


def _attestation_table(items: list[Any]) -> None:
    _table(
        "Safeguard attestations",
        ("id", "model", "standard", "by", "evidence", "note", "recorded"),
        [
            [
                str(a.id),
                a.model,
                a.standard,
                a.attested_by,
                a.evidence_url,
                a.note or "",
                a.created_at,
            ]
            for a in items
        ],
    )


@safeguards_app.command("attest")
def safeguards_attest(
    model: str = typer.Argument(..., help="A registered model."),
    standard: str = typer.Argument(..., help="Safeguard standard id, e.g. asl-3-deployment."),
    by: str = typer.Option(..., "--by", help="Who attests."),
    evidence: str = typer.Option(..., "--evidence", help="URL of the proof."),
    note: str | None = typer.Option(None, "--note", help="Free-text note."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Attest that a model meets a safeguard standard, pointing at the proof."""
    with _workspace(workspace) as ws:
        record = attest(ws, model, standard, by=by, evidence_url=evidence, note=note)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(record))
        return
    typer.echo(f"attested {standard} for {model} (ledger entry {record.ledger_index})")


@safeguards_app.command("list")
def safeguards_list(
    model: str | None = typer.Argument(None, help="Only this model."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List safeguard attestations, oldest first (the latest per standard counts)."""
    from scaleguard.workspace import shown

    with _workspace(workspace) as ws:
        items = shown.attestations(ws, model)
    if json_out:
        print_json([as_json(a) for a in items])
        return
    _attestation_table(items)


# -- facts ----------------------------------------------------------------------


@facts_app.command("assert")
def facts_assert(
    name: str = typer.Argument(..., help="Fact name, e.g. marginal_risk_small."),
    value: str = typer.Argument(..., help="true, false or a number."),
    source: str = typer.Option(..., "--source", help="URL backing the fact."),
    by: str = typer.Option(..., "--by", help="Who asserts it."),
    model: str | None = typer.Option(None, "--model", help="The model it is about (default: all)."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Assert a fact for framework conditions; a later assertion supersedes this one."""
    parsed = parse_fact_value(value)
    with _workspace(workspace) as ws:
        fact = assert_fact(ws, name, parsed, source=source, by=by, model=model)
        checkpoint_after_write(ws)
    if json_out:
        print_json(as_json(fact))
        return
    typer.echo(f"asserted {name} = {json.dumps(parsed)} (ledger entry {fact.ledger_index})")


@facts_app.command("list")
def facts_list(
    model: str | None = typer.Option(
        None, "--model", help="Facts about this model and general ones."
    ),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List fact assertions, oldest first."""
    from scaleguard.workspace import shown

    with _workspace(workspace) as ws:
        items = shown.facts(ws, model)
    if json_out:
        print_json([as_json(f) for f in items])
        return
    _table(
        "Facts",
        ("id", "name", "value", "model", "source", "by", "recorded"),
        [
            [
                str(f.id),
                f.name,
                json.dumps(f.value),
                f.model or "(all)",
                f.source,
                f.asserted_by,
                f.created_at,
            ]
            for f in items
        ],
    )


# -- evidence -------------------------------------------------------------------


@evidence_app.command("ingest")
def evidence_ingest(
    paths: list[Path] = typer.Argument(..., help="Evidence files (Inspect logs, lm-eval, CSV)."),
    fmt: str | None = typer.Option(
        None, "--format", help="Skip detection: " + "|".join(INGEST_FORMATS) + "."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="The evaluated model, for files that do not name it (lm-evaluation-harness v0 "
        "results); a file naming another model is refused.",
    ),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Ingest evaluation results; all files are checked first and nothing is stored if any is bad.

    Re-ingesting a file already in the workspace is reported and skipped.
    """
    err = Console(stderr=True)
    with (
        _workspace(workspace) as ws,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=json_out or not err.is_terminal,
        ) as bar,
    ):
        tasks = {
            "read": bar.add_task("reading", total=len(paths)),
            "store": bar.add_task("storing", total=len(paths), visible=False),
        }

        def update(event: IngestProgress) -> None:
            bar.update(tasks[event.phase], completed=event.done, total=event.total, visible=True)

        report = ingest_paths(ws, paths, fmt=fmt, by=by, progress=update, model=model)
        checkpoint_after_write(ws)
    if json_out:
        print_json(report.as_json())
        return
    for f in report.files:
        detail = f"{f.records} record(s)" if f.status == "ingested" else f.status
        typer.echo(f"{f.path}: {detail} [{f.format}, sha256:{f.sha256[:12]}]")
        for note in f.notes:
            typer.echo(f"  note: {note}")
    typer.echo(
        f"ingested {report.ingested} file(s), {report.records} record(s); skipped {report.skipped}"
    )


@evidence_app.command("list")
def evidence_list(
    model: str | None = typer.Option(None, "--model", help="Only evidence for this model."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List ingested evidence, oldest first."""
    from scaleguard.workspace import shown

    with _workspace(workspace) as ws:
        items = shown.evidence(ws, model)
    if json_out:
        print_json([as_json(e) for e in items])
        return
    _table(
        "Evidence",
        ("id", "model", "task", "metric", "value", "n", "format", "artifact", "ingested", "by"),
        [
            [
                str(e.id),
                e.model,
                e.task,
                e.metric,
                _num(e.value),
                "" if e.sample_count is None else str(e.sample_count),
                e.format,
                e.artifact_sha256[:12],
                e.ingested_at,
                e.ingested_by,
            ]
            for e in items
        ],
    )
