"""Inspect logs as evidence: both formats, per-sample scores, damage, status, the hook."""

from __future__ import annotations

import hashlib
import io
import math
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.hooks import Hooks, TaskEnd
from inspect_ai.log import EvalMetric, EvalScore, read_eval_log
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import Score, match
from inspect_ai.solver import Generate, Solver, TaskState, solver

from evidence_fixtures import MUTATIONS, SCORES, log_bytes, mutate, write_log
from scaleguard.errors import EvidenceError
from scaleguard.evidence import read_artifact
from scaleguard.evidence.inspect_reader import parse_inspect_log, read_inspect_log
from scaleguard.evidence.synthetic import make_eval_log
from scaleguard.integrations import inspect_hook
from scaleguard.store import repo
from scaleguard.workspace import init_workspace, open_workspace

FLATTENED = [1.0, 0.0, 1.0, 0.0, 0.5, 1.0]  # (epoch, id) order: s0..s2 epoch 1, then epoch 2


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_reads_both_formats_with_per_sample_scores(tmp_path: Path, fmt: str) -> None:
    path = write_log(tmp_path, fmt)
    evidence = read_inspect_log(path)

    assert evidence.source_format == f"inspect-{fmt}"
    assert evidence.artifact_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert evidence.size == path.stat().st_size
    by_metric = {r.metric: r for r in evidence.records}
    assert set(by_metric) == {"match/accuracy", "match/stderr"}
    accuracy = by_metric["match/accuracy"]
    assert accuracy.model == "acme/m-7"
    assert accuracy.task == "wmdp-bio"
    assert accuracy.value == pytest.approx(3.5 / 6)
    assert accuracy.sample_scores == FLATTENED
    assert accuracy.sample_count == 3
    assert accuracy.stderr == pytest.approx(by_metric["match/stderr"].value)
    assert by_metric["match/stderr"].stderr is None
    assert accuracy.scorer == "match" and accuracy.reducer == "mean"
    assert accuracy.run.eval_id and accuracy.run.run_id
    assert accuracy.run.created == "2026-01-05T12:00:00+00:00"
    assert accuracy.run.task_version == "1"
    assert accuracy.artifact_name == str(path)


def test_formats_agree(tmp_path: Path) -> None:
    eval_records = read_inspect_log(write_log(tmp_path, "eval")).records
    json_records = read_inspect_log(write_log(tmp_path, "json")).records

    def strip(records: list[Any]) -> list[dict[str, Any]]:
        return [
            r.model_dump(exclude={"source_format", "artifact_sha256", "artifact_name"})
            for r in records
        ]

    assert strip(eval_records) == strip(json_records)


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_letter_grades_become_numbers(tmp_path: Path, fmt: str) -> None:
    log = make_eval_log("t", "m", ["C", "I", "P", "N"])
    record = read_inspect_log(write_log(tmp_path, fmt, log)).records[0]
    assert record.sample_scores == [1.0, 0.0, 0.5, 0.0]
    assert record.value == pytest.approx(0.375)


def test_unscored_nan_samples_are_left_out(tmp_path: Path) -> None:
    log = make_eval_log("t", "m", [1.0, 0.0, 1.0])
    assert log.samples is not None
    log.samples[1].scores = {"match": Score(value=math.nan)}
    record = read_inspect_log(write_log(tmp_path, "eval", log)).records[0]
    assert record.sample_scores == [1.0, 1.0]


def test_dict_scorer_values_attach_to_their_own_metrics(tmp_path: Path) -> None:
    log = make_eval_log("t", "m", [1.0, 0.0])
    assert log.samples is not None and log.results is not None
    log.samples[0].scores = {"multi": Score(value={"a": 1.0, "b": 0.0})}
    log.samples[1].scores = {"multi": Score(value={"a": 0.0, "b": "C"})}
    log.results.scores = [
        EvalScore(name=key, scorer="multi", metrics={"mean": EvalMetric(name="mean", value=v)})
        for key, v in (("a", 0.5), ("b", 0.5))
    ]
    records = {r.metric: r for r in read_inspect_log(write_log(tmp_path, "json", log)).records}
    assert records["a/mean"].sample_scores == [1.0, 0.0]
    assert records["b/mean"].sample_scores == [0.0, 1.0]
    assert records["a/mean"].scorer == "multi"


def test_non_numeric_sample_values_keep_metrics_without_scores(tmp_path: Path) -> None:
    log = make_eval_log("t", "m", [1.0, 0.0])
    assert log.samples is not None
    log.samples[0].scores = {"match": Score(value=[1, 2])}
    evidence = read_inspect_log(write_log(tmp_path, "eval", log))
    assert all(r.sample_scores is None for r in evidence.records)
    assert any("not numbers" in note for note in evidence.notes)


def test_nan_metric_is_skipped_with_a_note(tmp_path: Path) -> None:
    log = make_eval_log("t", "m", [1.0, 0.0])
    assert log.results is not None
    log.results.scores[0].metrics["stderr"] = EvalMetric(name="stderr", value=math.nan)
    evidence = read_inspect_log(write_log(tmp_path, "json", log))
    assert [r.metric for r in evidence.records] == ["match/accuracy"]
    assert evidence.records[0].stderr is None
    assert any("match/stderr" in note for note in evidence.notes)


def test_eval_without_sample_index_reads_samples(tmp_path: Path) -> None:
    """Logs from Inspect versions before summaries.json still give per-sample scores."""
    source = write_log(tmp_path, "eval")
    stripped = tmp_path / "old.eval"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(stripped, "w") as dst:
        for info in src.infolist():
            if info.filename == "summaries.json" or info.filename.startswith("_journal/summ"):
                continue
            dst.writestr(info, src.read(info.filename))
    record = read_inspect_log(stripped).records[0]
    assert record.sample_scores == FLATTENED


@pytest.mark.parametrize("status", ["error", "cancelled", "started"])
@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_unfinished_runs_are_rejected(tmp_path: Path, fmt: str, status: Any) -> None:
    log = make_eval_log("t", "m", [1.0, 0.0], status=status)
    path = write_log(tmp_path, fmt, log)
    with pytest.raises(EvidenceError) as caught:
        read_inspect_log(path)
    assert f"status '{status}'" in caught.value.message
    assert str(path) in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
def test_truncated_eval_is_rejected(tmp_path: Path, cut: float) -> None:
    data = log_bytes("eval")
    path = tmp_path / "cut.eval"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(EvidenceError) as caught:
        read_inspect_log(path)
    assert str(path) in caught.value.message


def test_truncated_json_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(log_bytes("json")[:5000])
    with pytest.raises(EvidenceError, match=r"not a readable Inspect \.json log"):
        read_inspect_log(path)


@pytest.mark.parametrize("fmt", [None, "eval", "json"])
def test_random_bytes_are_rejected(tmp_path: Path, fmt: Any) -> None:
    path = tmp_path / "noise.eval"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(EvidenceError):
        read_inspect_log(path, fmt)


@pytest.mark.parametrize(
    "text",
    [b"", b"{}", b'{"eval": 1, "status": "success"}', b"[1, 2]", b'{"version": 9}'],
)
def test_wrong_json_is_rejected(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(EvidenceError):
        read_inspect_log(path, "json")


def test_zip_that_is_not_a_log_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.eval"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(EvidenceError, match=r"not a readable Inspect \.eval log"):
        read_inspect_log(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no such file"):
        read_inspect_log(tmp_path / "absent.eval")
    with pytest.raises(EvidenceError, match="is a directory"):
        read_inspect_log(tmp_path)


def test_oversized_log_is_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.eval"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024 + 1)  # sparse: no disk used
    with pytest.raises(EvidenceError, match="200 MiB limit"):
        read_artifact(path)


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_read_artifact_detects_inspect_logs(tmp_path: Path, fmt: str) -> None:
    path = write_log(tmp_path, fmt, stem="no-extension")
    renamed = path.rename(tmp_path / "artifact.bin")
    assert read_artifact(renamed).source_format == f"inspect-{fmt}"
    assert read_artifact(renamed, "inspect").source_format == f"inspect-{fmt}"


def test_explicit_wrong_format_is_an_evidence_error(tmp_path: Path) -> None:
    path = write_log(tmp_path, "eval")
    with pytest.raises(EvidenceError, match=r"not an Inspect \.json log"):
        read_artifact(path, "inspect-json")
    with pytest.raises(EvidenceError, match="unknown evidence format"):
        read_artifact(path, "parquet")


@pytest.mark.parametrize("fmt", ["eval", "json"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=MUTATIONS, cut=st.none() | st.floats(0, 1))
def test_mutated_logs_only_raise_evidence_errors(
    fmt: Any, edits: list[tuple[float, int]], cut: float | None
) -> None:
    data = mutate(log_bytes(fmt), edits, cut)
    try:
        evidence = parse_inspect_log(data, f"mutated.{fmt}")
    except EvidenceError as exc:
        assert "mutated." in exc.message
    else:
        assert evidence.records


# -- the Inspect hook ---------------------------------------------------------


def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    init_workspace(root).close()
    monkeypatch.setenv(inspect_hook.WORKSPACE_ENV, str(root))
    return root


def _stored(root: Path) -> list[tuple[str, str]]:
    with open_workspace(root) as ws, ws.store.read() as session:
        return sorted((a.sha256, a.format) for a in repo.artifacts(session))


def test_hook_is_disabled_without_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(inspect_hook.WORKSPACE_ENV, raising=False)
    assert inspect_hook.enabled() is False
    assert inspect_hook.ScaleguardIngestHook().enabled() is False
    inspect_hook.record_log(str(tmp_path / "not-even-there.eval"))  # no workspace: no-op
    monkeypatch.setenv(inspect_hook.WORKSPACE_ENV, "  ")
    assert inspect_hook.enabled() is False


def test_hook_records_finished_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _workspace(tmp_path, monkeypatch)
    path = write_log(tmp_path, "eval")
    header = read_eval_log(str(path), header_only=True)
    hook = inspect_hook.ScaleguardIngestHook()
    assert isinstance(hook, Hooks) and hook.enabled()

    event = TaskEnd(eval_set_id=None, run_id="r", eval_id=header.eval.eval_id, log=header)
    anyio.run(hook.on_task_end, event)
    anyio.run(hook.on_task_end, event)  # a second report of the same log is harmless

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert _stored(root) == [(sha, "inspect-eval")]


def test_hook_failures_are_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path, monkeypatch)
    broken = tmp_path / "broken.eval"
    broken.write_bytes(log_bytes("eval")[:1000])
    with pytest.raises(EvidenceError, match="could not record") as caught:
        inspect_hook.record_log(str(broken))
    assert "broken.eval" in caught.value.message
    assert "not a readable .eval archive" in capsys.readouterr().err
    assert _stored(root) == []


def test_hook_with_missing_workspace_is_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(inspect_hook.WORKSPACE_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(EvidenceError, match="could not record"):
        inspect_hook.record_log(str(write_log(tmp_path, "eval")))
    assert "nowhere" in capsys.readouterr().err


def test_hook_refuses_remote_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path, monkeypatch)
    with pytest.raises(EvidenceError, match="not a local file"):
        inspect_hook.record_log("s3://bucket/run.eval")
    assert "s3://bucket/run.eval" in capsys.readouterr().err
    path = write_log(tmp_path, "json")
    inspect_hook.record_log(f"file://{path}")
    assert [fmt for _, fmt in _stored(root)] == ["inspect-json"]


@solver
def _canned() -> Solver:
    """Answers without a model: odd-numbered questions right, even ones wrong."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        right = int(state.input_text.removeprefix("q")) % 2 == 1
        state.output = ModelOutput.from_content("mockllm/model", "yes" if right else "no")
        return state

    return solve


def test_real_inspect_run_is_recorded_by_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inspect itself runs the task, writes the log and calls the hook; no model needed."""
    root = _workspace(tmp_path, monkeypatch)
    task = Task(
        dataset=[Sample(input=f"q{i}", target="yes") for i in range(4)],
        solver=_canned(),
        scorer=match(),
        name="canned",
    )
    [log] = inspect_eval(
        task, model="mockllm/model", log_dir=str(tmp_path / "logs"), display="none", epochs=2
    )
    assert log.status == "success"
    location = Path(log.location)
    assert _stored(root) == [(hashlib.sha256(location.read_bytes()).hexdigest(), "inspect-eval")]
    record = read_inspect_log(location).records[0]
    assert record.metric == "match/accuracy" and record.value == 0.5
    assert record.sample_scores == [0.0, 1.0, 0.0, 1.0] * 2


def test_stream_reads_match_file_reads() -> None:
    """Parsing bytes in memory gives the same result as reading the file."""
    data = log_bytes("eval")
    from_bytes = parse_inspect_log(data, "x.eval")
    header = read_eval_log(io.BytesIO(data), header_only=True, format="eval")
    assert header.results is not None
    accuracy = header.results.scores[0].metrics["accuracy"].value
    assert from_bytes.records[0].value == accuracy
    assert from_bytes.records[0].sample_scores is not None
    assert len(from_bytes.records[0].sample_scores) == len(SCORES)


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_a_fresh_process_reads_logs(tmp_path: Path, fmt: str) -> None:
    """Nothing Inspect sets up on import (zstd members in .eval) may be assumed loaded."""
    path = write_log(tmp_path, fmt)
    code = (
        "import sys; from pathlib import Path; from scaleguard.evidence import read_artifact; "
        "print(read_artifact(Path(sys.argv[1])).records[0].sample_scores)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(FLATTENED)


def test_damaged_transcript_is_rejected(tmp_path: Path) -> None:
    """A flipped byte inside a sample member is caught by its checksum."""
    data = bytearray(log_bytes("eval"))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("samples/s1_epoch_2.json")
    # local header: 30 bytes + name + extra, then the compressed data
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path = tmp_path / "damaged.eval"
    path.write_bytes(bytes(data))
    with pytest.raises(EvidenceError, match="damaged") as caught:
        read_inspect_log(path)
    assert str(path) in caught.value.message
