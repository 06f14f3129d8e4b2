"""lm-evaluation-harness results files as evidence records.

The harness writes one JSON file per run (``results_<date>.json``)::

    {"results": {"arc_easy": {"alias": "arc_easy", "acc,none": 0.62,
                              "acc_stderr,none": 0.0099, ...}},
     "n-samples": {"arc_easy": {"original": 2376, "effective": 2376}},
     "n-shot": {"arc_easy": 0}, "versions": {"arc_easy": 1.0},
     "config": {"model": "hf", "model_args": "pretrained=org/name,..."},
     "model_name": "org/name", "git_hash": "...", "date": 1716500000.0}

Each ``"<metric>,<filter>"`` entry becomes one record with ``metric`` set to
the part before the comma and ``filter`` to the part after (older files have
no filter). ``"<metric>_stderr,<filter>"`` entries are attached to their
metric as ``stderr`` rather than becoming records of their own. Entries whose
value is not a finite number (``"N/A"``, NaN) are skipped and listed in the
artifact's notes. The results file has no per-sample scores (those live in
separate ``samples_*.jsonl`` files), so ``sample_scores`` is always None.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scaleguard.errors import EvidenceError, Problem
from scaleguard.evidence._files import (
    LOG_LIMIT,
    read_bounded,
    sha256_hex,
    shorten,
    strict_json,
    validating,
)
from scaleguard.evidence.records import ArtifactEvidence, EvidenceRecord, RunMetadata

_STDERR_SUFFIX = "_stderr"
_HINT = (
    "pass the results_*.json file lm-evaluation-harness wrote with --output_path "
    "(not a samples_*.jsonl file), or choose another --format"
)


def read_lmeval_results(path: Path, model: str | None = None) -> ArtifactEvidence:
    """Read one lm-evaluation-harness results file (``model``: see :func:`parse_lmeval_results`)."""
    raw = read_bounded(path, LOG_LIMIT, "lm-evaluation-harness results")
    return parse_lmeval_results(raw, str(path), model)


def parse_lmeval_results(raw: bytes, name: str, model: str | None = None) -> ArtifactEvidence:
    """Parse the bytes of a results file named ``name``.

    ``model`` is the model the caller says was evaluated (``evidence ingest --model``): it
    names the records of a file that does not say (a v0 file has only ``results`` and
    ``versions``), and a file that names a different model is refused.
    """
    data = _load_json(raw, name)
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise EvidenceError(
            f"{name}: no 'results' object with at least one task",
            hint=_HINT,
            problems=[Problem("expected an object of tasks", file=name, path="$.results")],
        )
    model = _model_name(data, name, model)
    sha = sha256_hex(raw)
    notes: list[str] = []
    records: list[EvidenceRecord] = []
    with validating(name):
        for task, metrics in results.items():
            if not isinstance(metrics, dict):
                raise EvidenceError(
                    f"{name}: results for task '{shorten(str(task), 80)}' are not an object",
                    hint=_HINT,
                    problems=[Problem("expected an object", file=name, path=f"$.results.{task}")],
                )
            run = RunMetadata(
                created=_created(data.get("date")),
                task_version=_scalar_text(_get(data, "versions", task)),
                producer=_producer(data),
                n_shot=_n_shot(_get(data, "n-shot", task)),
            )
            count = _effective_samples(_get(data, "n-samples", task))
            records.extend(_task_records(task, metrics, model, count, run, name, sha, notes))
        if not records:
            raise EvidenceError(
                f"{name}: no numeric metric values in any task",
                hint="check that the run finished; every metric is missing, 'N/A' or NaN",
            )
        return ArtifactEvidence(
            artifact_sha256=sha,
            artifact_name=name,
            source_format="lm-eval",
            size=len(raw),
            records=records,
            notes=notes,
        )


def _task_records(
    task: str,
    metrics: Mapping[str, Any],
    model: str,
    count: int | None,
    run: RunMetadata,
    name: str,
    sha: str,
    notes: list[str],
) -> list[EvidenceRecord]:
    stderrs: dict[tuple[str, str | None], float] = {}
    values: list[tuple[str, str | None, float]] = []
    for key, value in metrics.items():
        if key == "alias":
            continue
        metric, _, filt = str(key).partition(",")
        filter_name = filt or None
        number = _number(value)
        if metric.endswith(_STDERR_SUFFIX):
            if number is not None and number >= 0:
                stderrs[(metric.removesuffix(_STDERR_SUFFIX), filter_name)] = number
            continue
        if number is None:
            notes.append(f"skipped {task}/{key}: {shorten(repr(value), 40)} is not a number")
            continue
        values.append((metric, filter_name, number))
    return [
        EvidenceRecord(
            model=model,
            task=task,
            metric=metric,
            value=number,
            sample_count=count,
            sample_scores=None,
            stderr=stderrs.get((metric, filter_name)),
            filter=filter_name,
            source_format="lm-eval",
            artifact_sha256=sha,
            artifact_name=name,
            run=run,
        )
        for metric, filter_name, number in values
    ]


def _load_json(raw: bytes, name: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EvidenceError(
            f"{name}: not UTF-8 text",
            hint=_HINT,
            problems=[Problem("invalid UTF-8 byte", file=name, line=line, column=column)],
        ) from None
    try:
        data = strict_json(text)
    except json.JSONDecodeError as exc:
        raise EvidenceError(
            f"{name}: not valid JSON",
            hint="the file is truncated or was edited by hand; " + _HINT,
            problems=[Problem(exc.msg, file=name, line=exc.lineno, column=exc.colno)],
        ) from None
    except (ValueError, RecursionError) as exc:  # duplicate keys, over-long integers, nesting
        raise EvidenceError(f"{name}: not usable JSON ({shorten(str(exc))})", hint=_HINT) from None
    if not isinstance(data, dict):
        raise EvidenceError(f"{name}: the JSON document is not an object", hint=_HINT)
    return data


def names_model(found: str, given: str) -> bool:
    """Whether an artifact's model name ``found`` names the model ``given``: the same name,
    or ``provider/given`` (the rule that attributes evidence to registry models)."""
    return found == given or found.endswith("/" + given)


def _model_name(data: Mapping[str, Any], name: str, given: str | None) -> str:
    """The model as the run names it (``model_name``, else ``pretrained=``/``model=`` args);
    else ``given``; a run that names another model than ``given`` is refused."""
    found = _named_model(data)
    if found is not None and given is not None and not names_model(found, given):
        raise EvidenceError(
            f"{name}: the results name model '{shorten(found, 100)}', not '{given}'",
            hint="--model must name the model the file was produced for; "
            "check that this is the right file, or leave out --model",
            problems=[Problem(f"model '{shorten(found, 100)}'", file=name, path="$.model_name")],
        )
    if found is not None:
        return found
    if given is not None:
        return given
    raise EvidenceError(
        f"{name}: the results do not say which model was evaluated",
        hint="name it with 'scaleguard evidence ingest FILE --model NAME' (older "
        'lm-evaluation-harness files have only "results" and "versions")',
        problems=[Problem("missing model name", file=name, path="$.model_name")],
    )


def _named_model(data: Mapping[str, Any]) -> str | None:
    explicit = data.get("model_name")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    config = data.get("config")
    args = config.get("model_args") if isinstance(config, dict) else None
    if isinstance(args, str):
        pairs = dict(part.partition("=")[::2] for part in args.split(",") if "=" in part)
        args = {k.strip(): v.strip() for k, v in pairs.items()}
    if isinstance(args, dict):
        for key in ("pretrained", "model", "path", "engine"):
            value = args.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _get(data: Mapping[str, Any], section: str, task: str) -> Any:
    block = data.get(section)
    return block.get(task) if isinstance(block, dict) else None


def _effective_samples(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("effective", value.get("original"))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _n_shot(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return shorten(str(value), 100)
    return None


def _created(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        return shorten(value.strip(), 100)
    return None


def _producer(data: Mapping[str, Any]) -> str:
    git_hash = data.get("git_hash")
    if isinstance(git_hash, str) and git_hash.strip():
        return f"lm-evaluation-harness {shorten(git_hash.strip(), 60)}"
    return "lm-evaluation-harness"
