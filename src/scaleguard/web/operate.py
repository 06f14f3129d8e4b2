"""Console writes: evidence uploads, through the same ingestion as ``scaleguard evidence add``.

An upload is written under its own name to a private temporary folder and
ingested from there; ingestion stores the artifact by its SHA-256 and records
the evidence in one transaction, or nothing. A file name that is a path
(``../x``, ``a/b``, ``C:\\x``) is refused rather than cleaned up.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path
from typing import Any

from scaleguard.errors import InputError, Problem, ScaleguardError
from scaleguard.workspace import shown
from scaleguard.workspace.workspace import Workspace

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\:]")


def check_name(name: str | None) -> str:
    """The upload's file name, refused when it is empty, a path or has control characters."""
    if not name or name in (".", "..") or _BAD_NAME.search(name) or len(name) > 200:
        raise InputError(
            f"invalid upload file name {str(name)[:80]!r}",
            hint="upload a file whose name has no folder part ('/', '\\\\', ':') "
            "and at most 200 characters",
            problems=[Problem("not a plain file name", path="file")],
        )
    return name


def ingest_upload(
    ws: Workspace, name: str | None, data: bytes, fmt: str | None, by: str
) -> dict[str, Any]:
    from scaleguard.workspace import ingest_paths

    chosen = check_name(name)
    if not data:
        raise InputError(f"{chosen} is empty", problems=[Problem("empty file", path="file")])
    with tempfile.TemporaryDirectory(prefix="scaleguard-upload-") as folder:
        path = Path(folder) / chosen
        path.write_bytes(data)
        try:
            report = ingest_paths(ws, [path], fmt=fmt or None, by=by)
        except ScaleguardError as exc:
            raise _scrub(exc, str(Path(folder)) + "/") from None
    result = report.as_json()
    for item in result["files"]:
        item["path"] = chosen  # never the temporary folder
    return result


def recent_evidence(ws: Workspace, limit: int | None = None) -> list[dict[str, Any]]:
    """Evidence records, newest first (the newest ``limit`` when given)."""
    rows = shown.evidence(ws)
    if limit is not None:
        rows = rows[-limit:]
    return [
        {
            "id": e.id,
            "model": e.model,
            "task": e.task,
            "metric": e.metric,
            "value": e.value,
            "samples": e.sample_count,
            "format": e.format,
            "artifact_sha256": e.artifact_sha256,
            "ingested_at": e.ingested_at,
            "ingested_by": e.ingested_by,
            "ledger_index": e.ledger_index,
        }
        for e in reversed(rows)
    ]


def _scrub(exc: ScaleguardError, folder: str) -> ScaleguardError:
    """The error with the temporary folder taken out of every location it names."""
    exc.message = exc.message.replace(folder, "")
    exc.problems = [
        dataclasses.replace(
            p,
            message=p.message.replace(folder, ""),
            file=p.file.replace(folder, "") if p.file else p.file,
        )
        for p in exc.problems
    ]
    return exc


def decide(ws: Workspace, model: str, action: str, compare: str | None, by: str) -> dict[str, Any]:
    """Determine, decide and record (as ``scaleguard decide``); the ids of what was recorded."""
    from scaleguard.decisions import service

    if compare:  # a name from the request: a framework of the library, never a file path
        compare = ws.library().get_ref(compare).ref
    result = service.decide(ws, model, action, compare=compare or None, by=by)
    return {
        "decision_id": result.decision_id,
        "outcome": result.decision.outcome,
        "ledger_index": result.ledger_index,
        "comparison_id": result.comparison_id,
        "comparison_outcome": None if result.comparison is None else result.comparison.outcome,
    }


def attest(
    ws: Workspace, model: str, standard: str, evidence_url: str, note: str | None, by: str
) -> dict[str, Any]:
    from scaleguard.workspace import attest as record

    done = record(ws, model, standard, by=by, evidence_url=evidence_url, note=note or None)
    return {"id": done.id, "model": model, "standard": standard, "ledger_index": done.ledger_index}


def roadmap_update(ws: Workspace, values: dict[str, Any], by: str) -> dict[str, Any]:
    from pydantic import ValidationError

    from scaleguard.roadmap import UpdateSpec, add_update

    try:
        spec = UpdateSpec.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$." + ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"invalid roadmap update: {first['msg']}", problems=[Problem(first["msg"], path=where)]
        ) from None
    goal = add_update(ws, spec, by=by)
    return {"goal": goal.goal, "updates": len(goal.updates)}


def draft_report(ws: Workspace, period: str, models: list[str], by: str) -> dict[str, Any]:
    from scaleguard.reports import service

    report = service.draft(ws, period=period, models=models, by=by)
    return {"id": report.id, "period": report.period, "ledger_index": report.ledger_index}


def redact(
    ws: Workspace, report_id: int, section: str, category: str, justification: str, by: str
) -> dict[str, Any]:
    from scaleguard.reports import service

    record, _ = service.redact(
        ws, report_id, section, category=category, justification=justification, by=by
    )
    return {"id": record.id, "section": record.section, "ledger_index": record.ledger_index}


def publish(ws: Workspace, report_id: int, edition: str, fmt: str, by: str) -> dict[str, Any]:
    """Publish an edition into the workspace's reports/ folder (never a path from the request)."""
    from scaleguard.reports import service
    from scaleguard.reports.store import ReviewerEdition

    done = service.publish(ws, report_id, edition=edition, fmt=fmt, by=by)
    p = done.publication
    if isinstance(p, ReviewerEdition):
        # the reviewer edition is recorded by salted commitments only, never a plain hash
        return {
            "report_id": report_id,
            "edition": "reviewer",
            "format": p.format,
            "commitment": p.commitment,
            "created": done.created,
            "ledger_index": p.ledger_index,
        }
    return {
        "report_id": report_id,
        "edition": p.edition,
        "format": p.format,
        "sha256": p.sha256,
        "created": done.created,
        "ledger_index": p.ledger_index,
    }


def drafts(ws: Workspace) -> list[dict[str, Any]]:
    from scaleguard.reports import service

    return [
        {
            "id": r.id,
            "period": r.period,
            "models": list(r.models),
            "framework_ref": r.framework_ref,
            "created_at": r.created_at,
            "created_by": r.created_by,
            "publications": [
                {"edition": p.edition, "format": p.format, "sha256": p.sha256} for p in pubs
            ],
        }
        for r, _, pubs in reversed(service.overview(ws))
    ]
