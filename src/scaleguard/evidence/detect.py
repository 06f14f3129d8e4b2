"""One entry point for every evidence artifact: detect the format, then read it.

Detection looks at content, not names, except for CSV (which has no
signature): a zip is an Inspect ``.eval`` log; a JSON object with ``eval``
and ``results``/``status`` keys is an Inspect ``.json`` log; a JSON object
with ``results`` and one of ``configs``/``versions``/``n-samples`` is an
lm-evaluation-harness results file; a ``.csv`` name, or a first line naming
the CSV columns, is a results CSV. Anything else is refused with a hint to
pass ``--format`` explicitly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

from scaleguard.errors import EvidenceError
from scaleguard.evidence._files import CSV_LIMIT, LOG_LIMIT, read_bounded, shorten
from scaleguard.evidence.csv_reader import REQUIRED, parse_results_csv
from scaleguard.evidence.inspect_reader import ZIP_MAGIC, parse_inspect_log
from scaleguard.evidence.lmeval_reader import names_model, parse_lmeval_results
from scaleguard.evidence.records import ArtifactEvidence, SourceFormat

#: Values accepted for ``fmt`` (and the CLI's ``--format``); "inspect" means either log format.
FORMAT_CHOICES: tuple[str, ...] = (*get_args(SourceFormat), "inspect")
_INSPECT_KEYS = frozenset({"results", "status"})
_LMEVAL_KEYS = frozenset({"configs", "versions", "n-samples"})
# A JSON string (group 1 marks it as an object key) or a bracket.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+"(\s*:)?|[{}\[\]]', re.DOTALL)
_FORMAT_HINT = (
    "scaleguard reads Inspect logs (.eval, .json), lm-evaluation-harness results JSON and "
    "results CSV; name the format with --format "
    + "|".join(FORMAT_CHOICES)
    + " if detection guessed wrong"
)


def read_artifact(path: Path, fmt: str | None = None, model: str | None = None) -> ArtifactEvidence:
    """Read one evidence file, detecting its format unless ``fmt`` names it.

    ``model``, when given, is the model the caller says was evaluated: it names the
    records of a file that does not say (an lm-evaluation-harness v0 results file), and a
    file any of whose records name another model is refused.
    """
    if fmt is not None and fmt not in FORMAT_CHOICES:
        raise EvidenceError(
            f"unknown evidence format '{fmt}'",
            hint="use one of: " + ", ".join(FORMAT_CHOICES),
        )
    limit = CSV_LIMIT if fmt == "csv" else LOG_LIMIT
    raw = read_bounded(path, limit, "CSV files" if fmt == "csv" else "evidence files")
    name = str(path)
    chosen = (
        fmt if fmt not in (None, "inspect") else detect_format(raw, name, inspect_only=bool(fmt))
    )
    if chosen == "lm-eval":
        return parse_lmeval_results(raw, name, model)
    if chosen == "inspect-eval":
        evidence = parse_inspect_log(raw, name, "eval")
    elif chosen == "inspect-json":
        evidence = parse_inspect_log(raw, name, "json")
    else:
        evidence = parse_results_csv(raw, name)
    if model is not None:
        _check_model(evidence, model)
    return evidence


def _check_model(evidence: ArtifactEvidence, model: str) -> None:
    """Refuse an artifact whose records name another model than ``--model``."""
    others = sorted({r.model for r in evidence.records if not names_model(r.model, model)})
    if others:
        shown = ", ".join(f"'{shorten(o, 100)}'" for o in others[:5])
        raise EvidenceError(
            f"{evidence.artifact_name}: the file names model {shown}, not '{model}'",
            hint="--model must name the model the file was produced for; "
            "check that this is the right file, or leave out --model",
        )


def detect_format(raw: bytes, name: str, *, inspect_only: bool = False) -> SourceFormat:
    """Decide an artifact's format from its bytes (and, for CSV only, its name)."""
    if raw.startswith(ZIP_MAGIC):
        return "inspect-eval"
    stripped = raw.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        keys = _top_level_keys(raw, name)
        if "eval" in keys and keys & _INSPECT_KEYS:
            return "inspect-json"
        if not inspect_only and "results" in keys and keys & _LMEVAL_KEYS:
            return "lm-eval"
        found = ", ".join(sorted(keys)[:8]) or "none"
        raise EvidenceError(
            f"{name}: a JSON file, but neither an Inspect log nor lm-evaluation-harness "
            f"results (top-level keys: {found})",
            hint=_FORMAT_HINT,
        )
    if not inspect_only and (name.lower().endswith(".csv") or _looks_like_csv(stripped)):
        return "csv"
    raise EvidenceError(f"{name}: not a recognised evidence file", hint=_FORMAT_HINT)


def _top_level_keys(raw: bytes, name: str) -> set[str]:
    """Top-level keys of a JSON object, stopping as soon as the format is clear.

    A light scan (strings and brackets only) rather than a parse, so a large
    Inspect log is not parsed twice: Inspect writes ``version``, ``status``
    and ``eval`` first, so the scan usually stops within a few hundred bytes.
    Damaged JSON is left for the chosen reader to report; if the scan finds no
    keys at all, a full parse explains what is wrong.
    """
    keys: set[str] = set()
    depth = 0
    for match in _JSON_TOKEN.finditer(raw):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth <= 0:
                break
        elif match.group(1) is not None and depth == 1:
            try:
                keys.add(str(json.loads(token[: token.rindex(b'"') + 1])))
            except ValueError:
                continue
            if ("eval" in keys and keys & _INSPECT_KEYS) or (
                "results" in keys and keys & _LMEVAL_KEYS
            ):
                return keys
    if keys:
        return keys
    data = _full_parse(raw, name)
    return {str(k) for k in data} if isinstance(data, dict) else set()


def _full_parse(raw: bytes, name: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise EvidenceError(
            f"{name}: looks like JSON but is not valid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})",
            hint="if the file is damaged, copy it again from its source; " + _FORMAT_HINT,
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EvidenceError(
            f"{name}: looks like JSON but cannot be read ({type(exc).__name__})",
            hint="if the file is damaged, copy it again from its source; " + _FORMAT_HINT,
        ) from None


def _looks_like_csv(head: bytes) -> bool:
    first = head[:4096].split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    cells = {cell.strip().strip('"') for cell in first.split(",")}
    return all(column in cells for column in REQUIRED)
