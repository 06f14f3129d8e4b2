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
from scaleguard.store import repo
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


def recent_evidence(ws: Workspace, limit: int = 100) -> list[dict[str, Any]]:
    with ws.store.read() as s:
        rows = repo.evidence(s)[-limit:]
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
