"""Shared builders for the evidence tests: real Inspect logs, lm-eval results, CSV text."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from inspect_ai.log import EvalLog, write_eval_log

from scaleguard.evidence.synthetic import make_eval_log

# Three samples, two epochs; epoch 1 then epoch 2.
SCORES: list[float | str] = [1.0, 0.0, 1.0, 0.0, 0.5, 1.0]


def write_log(
    directory: Path, fmt: str = "eval", log: EvalLog | None = None, stem: str = "run"
) -> Path:
    """Write ``log`` (default: a small two-epoch log) with Inspect's own writer."""
    if log is None:
        log = make_eval_log("wmdp-bio", "acme/m-7", SCORES, epochs=2)
    path = directory / f"{stem}.{fmt}"
    write_eval_log(log, str(path), format="eval" if fmt == "eval" else "json")
    return path


@functools.cache
def log_bytes(fmt: str) -> bytes:
    """The bytes of the default log in ``fmt``, built once per test session."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_log(Path(tmp), fmt).read_bytes()


def eval_file(path: Path, task: str, model: str, scores: list[float], created: str) -> Path:
    """``path``: make_eval_log(task, model, scores, created=created) as Inspect's writer
    writes it (an .eval file), written once per test process and copied: 200 samples take
    Inspect's writer half a second."""
    path.write_bytes(_eval_bytes(task, model, tuple(scores), created))
    return path


@functools.cache
def _eval_bytes(task: str, model: str, scores: tuple[float, ...], created: str) -> bytes:
    log = make_eval_log(task, model, list(scores), created=created)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.eval"
        write_eval_log(log, str(path), format="eval")
        return path.read_bytes()


def lmeval_results(**overrides: Any) -> dict[str, Any]:
    """A results file shaped as lm-evaluation-harness 0.4 writes it."""
    data: dict[str, Any] = {
        "results": {
            "arc_easy": {
                "alias": "arc_easy",
                "acc,none": 0.62,
                "acc_stderr,none": 0.0099,
                "acc_norm,none": 0.58,
                "acc_norm_stderr,none": 0.0101,
            },
            "gsm8k": {
                "alias": "gsm8k",
                "exact_match,strict-match": 0.31,
                "exact_match_stderr,strict-match": "N/A",
                "exact_match,flexible-extract": 0.35,
                "exact_match_stderr,flexible-extract": 0.013,
            },
        },
        "group_subtasks": {"arc_easy": [], "gsm8k": []},
        "configs": {"arc_easy": {"task": "arc_easy"}, "gsm8k": {"task": "gsm8k"}},
        "versions": {"arc_easy": 1.0, "gsm8k": 3.0},
        "n-shot": {"arc_easy": 0, "gsm8k": 5},
        "higher_is_better": {"arc_easy": {"acc": True}, "gsm8k": {"exact_match": True}},
        "n-samples": {
            "arc_easy": {"original": 2376, "effective": 2376},
            "gsm8k": {"original": 1319, "effective": 200},
        },
        "config": {"model": "hf", "model_args": "pretrained=acme/m-7,dtype=bfloat16"},
        "git_hash": "4f9c2d1",
        "date": 1767614400.0,
        "model_name": "acme/m-7",
    }
    data.update(overrides)
    return data


def lmeval_bytes(**overrides: Any) -> bytes:
    return json.dumps(lmeval_results(**overrides), indent=2).encode()


CSV_HEADER = "model,task,metric,value,sample_count,sample_scores,source,notes\n"


def write_text(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


#: Random damage to a file: bytes overwritten at relative positions (then maybe a cut).
MUTATIONS = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
)


def mutate(data: bytes, edits: list[tuple[float, int]], cut: float | None) -> bytes:
    """``data`` with each ``(where, byte)`` edit applied, cut at ``cut`` when given."""
    buffer = bytearray(data)
    for where, byte in edits:
        buffer[int(where * len(buffer))] = byte
    if cut is not None:
        del buffer[int(cut * len(buffer)) :]
    return bytes(buffer)
