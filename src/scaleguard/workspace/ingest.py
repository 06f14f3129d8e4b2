"""Ingest evaluation artifacts into a workspace: read all, then store all, or nothing.

A batch is handled in two phases:

1. **Read and validate every file** with the evidence readers, outside any
   lock. If even one file is corrupt, truncated or unrecognised, nothing is
   written and the error lists *every* bad file with the reader's own
   message. A partly ingested batch would leave the user guessing which files
   made it; all-or-nothing makes "run it again after fixing" always right.
2. **Store, in one write transaction**: for each artifact not yet in the
   workspace, copy its bytes to ``objects/ab/cdef…`` (temp file, fsync,
   rename; the copy is re-hashed and must match what was parsed), then
   insert the artifact row and one evidence row per record, each with its
   ledger entry (a file's records go in as one batch: one multi-row insert
   each for rows, entries and subtree hashes). An artifact already stored
   (same SHA-256) is reported as "already ingested" and skipped, so
   re-running an ingest is harmless, and two processes ingesting the same
   file cannot both store it: the check runs under the write lock.

If anything fails in phase 2 the transaction rolls back and the object files
it created are removed before the lock is released. An object file is
always written before the row that names it, so a crash can at worst leave
an unreferenced object (harmless: the next ingest of that file rewrites it),
never a row without its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scaleguard.errors import EvidenceError, InputError, Problem, StoreError
from scaleguard.store import Tx, repo
from scaleguard.workspace.files import copy_if_unchanged
from scaleguard.workspace.workspace import Workspace, current_user

if TYPE_CHECKING:
    from scaleguard.evidence.records import ArtifactEvidence

#: ``--format`` values, as scaleguard.evidence.FORMAT_CHOICES (kept here so that listing
#: them does not import the readers, which load Inspect and take seconds to import).
INGEST_FORMATS: tuple[str, ...] = ("inspect-eval", "inspect-json", "lm-eval", "csv", "inspect")

IngestStatus = Literal["ingested", "already ingested", "repeated in this batch"]
Phase = Literal["read", "store"]


@dataclass(frozen=True)
class IngestProgress:
    """Reported after each file of each phase, for progress bars."""

    phase: Phase
    done: int
    total: int
    path: str


@dataclass(frozen=True)
class IngestedFile:
    path: str
    sha256: str
    format: str
    status: IngestStatus
    records: int
    evidence_ids: tuple[int, ...]
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "status": self.status,
            "records": self.records,
            "evidence_ids": list(self.evidence_ids),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class IngestReport:
    files: tuple[IngestedFile, ...]
    ingested_by: str

    @property
    def ingested(self) -> int:
        return sum(1 for f in self.files if f.status == "ingested")

    @property
    def skipped(self) -> int:
        return len(self.files) - self.ingested

    @property
    def records(self) -> int:
        return sum(len(f.evidence_ids) for f in self.files)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "ingested": self.ingested,
            "skipped": self.skipped,
            "records": self.records,
            "ingested_by": self.ingested_by,
            "files": [f.as_json() for f in self.files],
        }


ProgressCallback = Callable[[IngestProgress], None]


def ingest_paths(
    ws: Workspace,
    paths: Sequence[Path | str],
    fmt: str | None = None,
    by: str | None = None,
    progress: ProgressCallback | None = None,
    model: str | None = None,
) -> IngestReport:
    """Ingest evidence files into ``ws``; see the module docstring for the guarantees.

    ``model`` names the evaluated model for files that do not say (an lm-evaluation-harness
    v0 results file); a file that names another model is refused, and nothing is stored.

    Raises EvidenceError listing every unreadable file (nothing stored), or
    StoreError if the workspace cannot be written (nothing stored).
    """
    who = (by if by is not None else current_user()).strip()
    if not who:
        raise InputError("--by must name who is ingesting", hint="e.g. --by alice@example.com")
    if not paths:
        raise InputError("no files to ingest", hint="pass one or more evidence files")
    if model is not None:
        model = model.strip()
        if not model or len(model) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in model):
            raise InputError(
                "--model must name a model (1 to 200 printable characters)",
                hint="e.g. --model aurora-3, as in 'scaleguard models list'",
            )
    report = progress or (lambda _event: None)
    artifacts = _read_all([Path(p) for p in paths], fmt, report, model)
    files: list[IngestedFile] = []
    created: list[Path] = []
    with ws.store.write() as tx:
        try:
            seen: set[str] = set()
            for done, (path, evidence) in enumerate(artifacts, start=1):
                files.append(_store_one(ws, tx, path, evidence, who, seen, created))
                report(IngestProgress("store", done, len(artifacts), str(path)))
        except BaseException:
            for target in created:
                target.unlink(missing_ok=True)
            raise
    return IngestReport(files=tuple(files), ingested_by=who)


def _read_all(
    paths: list[Path], fmt: str | None, report: ProgressCallback, model: str | None = None
) -> list[tuple[Path, ArtifactEvidence]]:
    from scaleguard.evidence import read_artifact  # imports Inspect: only when ingesting

    good: list[tuple[Path, ArtifactEvidence]] = []
    bad: list[EvidenceError] = []
    for done, path in enumerate(paths, start=1):
        try:
            good.append((path, read_artifact(path, fmt, model)))
        except EvidenceError as exc:
            bad.append(exc)
        report(IngestProgress("read", done, len(paths), str(path)))
    if bad:
        problems: list[Problem] = []
        for failure in bad:
            problems.append(Problem(failure.message, hint=failure.hint))
            problems.extend(failure.problems)
        raise EvidenceError(
            f"{len(bad)} of {len(paths)} file(s) cannot be ingested; nothing was stored",
            problems=problems,
            hint="fix or leave out the files above and run the same command again",
        )
    return good


def _store_one(
    ws: Workspace,
    tx: Tx,
    path: Path,
    evidence: ArtifactEvidence,
    who: str,
    seen: set[str],
    created: list[Path],
) -> IngestedFile:
    sha = evidence.artifact_sha256

    def result(status: IngestStatus, ids: tuple[int, ...] = ()) -> IngestedFile:
        return IngestedFile(
            path=str(path),
            sha256=sha,
            format=evidence.source_format,
            status=status,
            records=len(evidence.records),
            evidence_ids=ids,
            notes=tuple(evidence.notes),
        )

    if sha in seen:
        return result("repeated in this batch")
    seen.add(sha)
    if repo.artifact(tx, sha) is not None:
        return result("already ingested")
    target = ws.object_path(sha)
    existed = target.exists()
    try:
        unchanged = copy_if_unchanged(path, target, expected_sha256=sha)
    except OSError as exc:
        raise StoreError(
            f"cannot store {path} in {ws.objects_dir}: {exc.strerror or exc}",
            hint="check free disk space and write permission on the workspace folder",
        ) from None
    if not unchanged:
        raise EvidenceError(
            f"{path} changed while it was being ingested; nothing was stored",
            hint="wait until whatever writes the file has finished, then ingest again",
        )
    if not existed:
        created.append(target)
    repo.add_artifact(
        tx,
        sha256=sha,
        size=evidence.size,
        format=evidence.source_format,
        original_name=evidence.artifact_name,
        stored_path=ws.relative(target),
    )
    items = []
    for record in evidence.records:
        details = {
            key: getattr(record, key)
            for key in ("scorer", "reducer", "filter", "source", "notes")
            if getattr(record, key) is not None
        }
        details["artifact_name"] = Path(record.artifact_name).name
        item = repo.new_evidence(
            model=record.model,
            task=record.task,
            metric=record.metric,
            value=record.value,
            artifact_sha256=sha,
            format=record.source_format,
            ingested_by=who,
            sample_count=record.sample_count,
            sample_scores=record.sample_scores,
            stderr=record.stderr,
            run=record.run.model_dump(mode="json", exclude_none=True),
            details=details,
        )
        items.append(item)
    rows = repo.add_evidence_records(tx, items)  # one batch per file, as if one by one
    return result("ingested", tuple(row.id for row in rows))
