"""Inspect eval logs (``.eval`` zip or ``.json``) as evidence records.

Parsing goes through Inspect's own reader (``inspect_ai.log.read_eval_log``)
so format changes in Inspect are Inspect's to absorb. The file is read once:
its bytes are hashed and the same bytes are parsed, so the stored hash always
matches the content that produced the records.

Speed: for ``.eval`` the header (results, identity) is read with
``header_only=True`` and per-sample scores come from the small
``summaries.json`` member, so transcripts are never parsed; they are only
decompressed once to verify every member's checksum, so a damaged log is
refused rather than half-read. A ``.json`` log has no such index: it is
streamed once (:mod:`scaleguard.evidence.inspect_json`), building only the
header and each sample's id, epoch and scores; Inspect's reader validates the
header, and each sample's scores are validated as Inspect's ``Score``. As for
``.eval``, transcripts are not validated. Whatever that path cannot read
faithfully (legacy sample shapes, a damaged file, a header or score Inspect
refuses) is read in full by Inspect's reader, so results and errors are those
of a full read.

Per-sample scores are converted to numbers with Inspect's ``value_to_float``
(``"C"`` 1, ``"I"`` 0, ``"P"`` 0.5, ``"N"`` 0). NaN is Inspect's "unscored"
marker and is left out, as Inspect's own metrics leave it out. A score whose
values cannot be converted (lists, whole dicts, free text) keeps its metric
values but has no per-sample scores; the artifact's ``notes`` say so.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from scaleguard.errors import EvidenceError
from scaleguard.evidence._files import (
    LOG_LIMIT,
    read_bounded,
    sha256_hex,
    shorten,
    strict_json,
    validating,
)
from scaleguard.evidence.inspect_json import NotFast, split_json_log
from scaleguard.evidence.records import ArtifactEvidence, EvidenceRecord, RunMetadata

InspectFormat = Literal["eval", "json"]

ZIP_MAGIC = b"PK\x03\x04"
_SUMMARIES = "summaries.json"
_JOURNAL_SUMMARIES = "_journal/summaries/"
_SAMPLES = "samples/"
# A zip declares how large its members expand; refuse archives that would
# expand past this (a compressed log holds mostly transcripts, ~5-20x).
_FULL_EXPANDED_LIMIT = 2 * 1024 * 1024 * 1024
# Members that are parsed in memory (the header, the sample index) may expand
# to at most this many bytes, counted as they are decompressed: a declared
# size can lie, a count of the bytes read cannot.
_INDEX_LIMIT = 64 * 1024 * 1024
_HEADER = "header.json"

_STATUS_HINTS = {
    "started": "the run has not finished (still running, or it crashed); "
    "wait for it to complete or recover it with `inspect log recover`, then ingest again",
    "cancelled": "the run was cancelled before completing; finish it with "
    "`inspect eval-retry <log>` and ingest the new log",
    "error": "the run failed; fix the cause and finish it with `inspect eval-retry <log>`, "
    "then ingest the new log",
}
_LETTER_GRADES = frozenset({"C", "I", "P", "N"})
_WORD_GRADES = frozenset({"yes", "no", "true", "false"})
if TYPE_CHECKING:
    from collections.abc import Callable

    from inspect_ai.log import EvalLog, EvalScore
    from inspect_ai.scorer import Score

# inspect_ai takes a second to import: it is imported when a log is read, never at
# start-up of a command that reads none.


@cache
def _float_converter() -> Callable[[Any], float]:
    from inspect_ai.scorer import value_to_float

    return value_to_float()


def _to_float(value: Any) -> float:
    return _float_converter()(value)


class _SampleScores(BaseModel):
    """The part of a sample summary scaleguard needs; the rest is ignored."""

    model_config = ConfigDict(extra="ignore")

    id: int | str
    epoch: int
    scores: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Scored:
    id: int | str
    epoch: int
    scores: Mapping[str, Score]


def read_inspect_log(path: Path, fmt: InspectFormat | None = None) -> ArtifactEvidence:
    """Read one Inspect log file; ``fmt`` overrides detection by content."""
    raw = read_bounded(path, LOG_LIMIT, "Inspect logs")
    return parse_inspect_log(raw, str(path), fmt)


def parse_inspect_log(raw: bytes, name: str, fmt: InspectFormat | None = None) -> ArtifactEvidence:
    """Parse the bytes of an Inspect log named ``name`` (used in messages and records)."""
    if fmt is None:
        if raw.startswith(ZIP_MAGIC):
            fmt = "eval"
        elif raw.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
            fmt = "json"
        else:
            raise EvidenceError(
                f"{name}: not an Inspect log (neither a .eval zip archive nor a JSON document)",
                hint="pass a .eval or .json log written by Inspect, or choose another --format",
            )
    if fmt == "eval":
        header, scored = _read_eval(raw, name)
        source_format: Literal["inspect-eval", "inspect-json"] = "inspect-eval"
    else:
        header, scored = _read_json(raw, name)
        source_format = "inspect-json"
    sha = sha256_hex(raw)
    with validating(name):
        records, notes = _records(header, scored, name, sha, source_format)
        return ArtifactEvidence(
            artifact_sha256=sha,
            artifact_name=name,
            source_format=source_format,
            size=len(raw),
            records=records,
            notes=notes,
        )


# -- reading -----------------------------------------------------------------


def _unreadable(name: str, what: str, exc: BaseException) -> EvidenceError:
    detail = shorten(f"{type(exc).__name__}: {exc}")
    return EvidenceError(
        f"{name}: {what} ({detail})",
        hint="the file is corrupt or truncated; copy it again from where the run wrote it, "
        "or check it with `inspect log dump <file> --header-only`",
    )


def _read_eval(raw: bytes, name: str) -> tuple[EvalLog, list[_Scored] | None]:
    if not raw.startswith(ZIP_MAGIC):
        raise EvidenceError(
            f"{name}: not an Inspect .eval log (it is not a zip archive)",
            hint="pass a .eval or .json log written by Inspect, or choose another --format",
        )
    # Inspect compresses .eval members with zstd, which the standard zipfile module
    # reads only once Inspect's log package has registered it: import it first.
    import inspect_ai.log  # noqa: F401

    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except Exception as exc:  # zipfile raises many types on damaged input
        raise _unreadable(name, "not a readable .eval archive", exc) from None
    with archive:
        _check_expansion(name, infos, _FULL_EXPANDED_LIMIT)
        for info in infos:  # the members parsed in memory first: a bomb is refused fast
            if info.filename in (_HEADER, _SUMMARIES):
                read_member(archive, info.filename, name, _INDEX_LIMIT)
        try:
            damaged = archive.testzip()  # CRC of every member, transcripts included
        except Exception as exc:  # damaged compressed data raises, not returns
            raise _unreadable(name, "a member of the .eval archive is damaged", exc) from None
        if damaged is not None:
            raise EvidenceError(
                f"{name}: the .eval archive member {shorten(damaged, 80)} is damaged "
                "(checksum mismatch)",
                hint="the file was corrupted in storage or transfer; copy it again from "
                "where the run wrote it",
            )
        names = {info.filename for info in infos}
        header = _inspect_read(raw, name, header_only=True, fmt="eval")
        _check_status(header, name)
        if _SUMMARIES in names or any(n.startswith(_JOURNAL_SUMMARIES) for n in names):
            return header, _read_summaries(archive, names, name)
        if not any(n.startswith(_SAMPLES) for n in names):
            return header, None
    # No sample index (logs from old Inspect versions): read the samples themselves.
    full = _inspect_read(raw, name, header_only=False, fmt="eval")
    return header, _from_samples(full)


def _read_json(raw: bytes, name: str) -> tuple[EvalLog, list[_Scored] | None]:
    if not raw.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        raise EvidenceError(
            f"{name}: not an Inspect .json log (it does not start with a JSON object)",
            hint="pass a .eval or .json log written by Inspect, or choose another --format",
        )
    try:
        header, scored = _read_json_split(raw)
    except NotFast:
        return _read_json_whole(raw, name)
    _check_status(header, name)
    return header, scored


def _read_json_split(raw: bytes) -> tuple[EvalLog, list[_Scored] | None]:
    """The header through Inspect's reader and the sample scores as Inspect's ``Score``.

    Any refusal here raises NotFast, so that Inspect's full read, not this
    path, decides what a doubtful log means and how its error reads.
    """
    parts = split_json_log(raw)
    try:
        # The header members re-encoded alone: plain JSON values round-trip exactly
        # (floats by repr, NaN and Infinity as from_json reads them).
        document = json.dumps(parts.header, allow_nan=True).encode()
        header = _inspect_header(document)
        rows = None if parts.samples is None else [_scored_row(r) for r in parts.samples]
    except Exception:  # anything Inspect or pydantic refuses: the full read reports it
        raise NotFast from None
    return header, rows


def _inspect_header(document: bytes) -> EvalLog:
    from inspect_ai.log import read_eval_log

    return read_eval_log(io.BytesIO(document), header_only=True, format="json")


def _read_json_whole(raw: bytes, name: str) -> tuple[EvalLog, list[_Scored] | None]:
    """Inspect's own full read: every sample validated as an ``EvalSample``."""
    log = _inspect_read(raw, name, header_only=False, fmt="json")
    _check_status(log, name)
    return log, _from_samples(log)


def _scored_row(row: Any) -> _Scored:
    parsed = _SampleScores.model_validate(row)
    return _Scored(parsed.id, parsed.epoch, _scores(parsed.scores) or {})


def _scores(raw: dict[str, Any] | None) -> dict[str, Score] | None:
    """Each score of a sample summary validated as Inspect's own ``Score``."""
    if raw is None:
        return None
    from inspect_ai.scorer import Score

    return {key: Score.model_validate(value) for key, value in raw.items()}


def _inspect_read(raw: bytes, name: str, *, header_only: bool, fmt: InspectFormat) -> EvalLog:
    from inspect_ai.log import read_eval_log

    try:
        return read_eval_log(io.BytesIO(raw), header_only=header_only, format=fmt)
    except Exception as exc:  # Inspect's reader raises many types on damaged input
        raise _unreadable(name, f"not a readable Inspect .{fmt} log", exc) from None


def _check_expansion(name: str, infos: Iterable[zipfile.ZipInfo], limit: int) -> None:
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise EvidenceError(
            f"{name}: the archive declares {total / 2**20:.0f} MiB of uncompressed content, "
            f"more than the {limit // 2**20} MiB scaleguard will expand",
            hint="this is not a log Inspect writes; check where the file came from",
        )


def _read_summaries(archive: zipfile.ZipFile, names: set[str], name: str) -> list[_Scored]:
    """Per-sample scores from ``summaries.json``, or from the journal if it is missing."""
    if _SUMMARIES in names:
        members = [_SUMMARIES]
    else:
        journal = [n for n in names if n.startswith(_JOURNAL_SUMMARIES)]
        members = sorted(journal, key=_journal_index)
    latest: dict[tuple[str, int], _Scored] = {}
    for member in members:
        data = read_member(archive, member, name, _INDEX_LIMIT)
        try:
            rows = strict_json(data)
            if not isinstance(rows, list):
                raise ValueError("expected a list of sample summaries")
            for row in rows:
                scored = _scored_row(row)
                latest[(str(scored.id), scored.epoch)] = scored
        except Exception as exc:  # damaged member: zip, zstd, JSON or pydantic errors
            raise _unreadable(name, f"the sample index {member} is unreadable", exc) from None
    return list(latest.values())


def read_member(archive: zipfile.ZipFile, member: str, name: str, limit: int) -> bytes:
    """A member's bytes, decompressed in chunks and refused once more than ``limit`` bytes
    come out, whatever size the archive declares."""
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(member) as handle:
            while chunk := handle.read(1024 * 1024):
                total += len(chunk)
                if total > limit:
                    raise EvidenceError(
                        f"{name}: the archive member {shorten(member, 80)} expands past "
                        f"{limit // 2**20} MiB, more than scaleguard reads into memory",
                        hint="this is not a log Inspect writes; check where the file came from",
                    )
                chunks.append(chunk)
    except EvidenceError:
        raise
    except Exception as exc:  # damaged member: zip or decompression errors
        raise _unreadable(name, f"the archive member {member} is unreadable", exc) from None
    return b"".join(chunks)


def _journal_index(member: str) -> tuple[int, str]:
    stem = member.rsplit("/", 1)[-1].removesuffix(".json")
    return (int(stem), member) if stem.isdigit() else (2**63, member)


def _from_samples(log: EvalLog) -> list[_Scored] | None:
    if log.samples is None:
        return None
    return [_Scored(s.id, s.epoch, s.scores or {}) for s in log.samples]


def _check_status(log: EvalLog, name: str) -> None:
    if log.status == "success":
        return
    message = f"{name}: the Inspect run has status '{log.status}', not 'success'"
    if log.error is not None:
        message += f": {shorten(log.error.message, 200)}"
    raise EvidenceError(
        message + "; only completed runs are evidence",
        hint=_STATUS_HINTS.get(log.status, "re-run the evaluation to completion"),
    )


# -- records -----------------------------------------------------------------


def _records(
    log: EvalLog,
    scored: list[_Scored] | None,
    name: str,
    sha: str,
    source_format: Literal["inspect-eval", "inspect-json"],
) -> tuple[list[EvidenceRecord], list[str]]:
    if log.results is None or not log.results.scores:
        raise EvidenceError(
            f"{name}: the Inspect log has no scores (no scorer ran)",
            hint="add a scorer to the task and run it again",
        )
    spec = log.eval
    run = RunMetadata(
        run_id=spec.run_id or None,
        eval_id=spec.eval_id or None,
        created=str(spec.created) if spec.created else None,
        task_version=str(spec.task_version),
        producer=f"inspect_ai {spec.packages.get('inspect_ai', 'unknown')}",
    )
    ordered = sorted(scored, key=_sample_order) if scored is not None else None
    name_counts: dict[str, int] = {}
    for score in log.results.scores:
        name_counts[score.name] = name_counts.get(score.name, 0) + 1

    records: list[EvidenceRecord] = []
    notes: list[str] = []
    for score in log.results.scores:
        label = score.name
        if name_counts[score.name] > 1 and score.reducer:
            label = f"{score.name}[{score.reducer}]"
        per_sample = _sample_scores(score, ordered, notes)
        stderr_metric = score.metrics.get("stderr")
        stderr = (
            float(stderr_metric.value)
            if stderr_metric is not None
            and math.isfinite(stderr_metric.value)
            and stderr_metric.value >= 0
            else None
        )
        for key, metric in score.metrics.items():
            value = float(metric.value)
            if not math.isfinite(value):
                notes.append(f"skipped {label}/{key}: its value is {value!r}, not a number")
                continue
            records.append(
                EvidenceRecord(
                    model=spec.model,
                    task=spec.task,
                    metric=f"{label}/{key}",
                    value=value,
                    sample_count=score.scored_samples,
                    sample_scores=per_sample,
                    stderr=stderr if key != "stderr" else None,
                    scorer=score.scorer,
                    reducer=score.reducer,
                    source_format=source_format,
                    artifact_sha256=sha,
                    artifact_name=name,
                    run=run,
                )
            )
    if not records:
        raise EvidenceError(
            f"{name}: the Inspect log has no numeric metric values",
            hint="check the scorer's metrics; every value in this log is NaN or infinite",
        )
    return records, notes


def _sample_order(sample: _Scored) -> tuple[int, str]:
    sid = sample.id if isinstance(sample.id, str) else str(sample.id).zfill(20)
    return (sample.epoch, sid)


def _sample_scores(
    score: EvalScore, samples: list[_Scored] | None, notes: list[str]
) -> list[float] | None:
    """The numeric per-sample values behind one results entry, or None."""
    if samples is None:
        return None
    values: list[float] = []
    for sample in samples:
        raw = _lookup(score, sample.scores)
        if raw is None:
            continue  # the sample was not scored (e.g. it errored)
        number = _numeric(raw)
        if number is None:
            notes.append(
                f"{score.name}: per-sample values such as {shorten(repr(raw), 60)} are not "
                "numbers; its metrics are kept without per-sample scores"
            )
            return None
        if math.isnan(number):
            continue  # Inspect's "unscored" marker
        if not math.isfinite(number):
            notes.append(f"{score.name}: a per-sample value is infinite; per-sample scores dropped")
            return None
        values.append(number)
    return values or None


def _lookup(score: EvalScore, scores: Mapping[str, Score]) -> Any:
    """Find this results entry's value in a sample's scores.

    A scorer that returns a dict yields one results entry per key, named after
    the key, while the sample keeps the whole dict under the scorer's name.
    """
    if score.name in scores:
        return scores[score.name].value
    owner = scores.get(score.scorer)
    if owner is not None and isinstance(owner.value, Mapping):
        return owner.value.get(score.name)
    return None


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool | int | float):
        return _to_float(value)
    if isinstance(value, str):
        text = value.strip()
        if text in _LETTER_GRADES or text.lower() in _WORD_GRADES:
            return _to_float(text)
        try:
            return float(text)
        except ValueError:
            return None
    return None
