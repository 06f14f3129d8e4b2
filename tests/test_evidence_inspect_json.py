"""The streamed ``.json`` reader gives exactly what Inspect's full read gives.

Every case is read twice: by scaleguard's reader, and by the same reader with
the streamed split turned off, so that every ``.json`` log is read whole by
Inspect (``_read_json_whole``, what every ``.json`` log went through before).
The evidence, or the error, must be identical. The one intended difference: a
log whose only fault lies in what scaleguard does not read (transcripts,
reductions) is refused by the full read and accepted by the streamed one, as it
is for ``.eval`` logs.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_ai.log import EvalLog, EvalMetric, EvalScore, read_eval_log, write_eval_log
from inspect_ai.scorer import Score
from pydantic import ValidationError
from pydantic_core import from_json

from evidence_fixtures import MUTATIONS, log_bytes, mutate
from scaleguard.errors import EvidenceError
from scaleguard.evidence import inspect_json, inspect_reader
from scaleguard.evidence.inspect_json import NEST_LIMIT, split_json_log
from scaleguard.evidence.inspect_reader import parse_inspect_log
from scaleguard.evidence.records import ArtifactEvidence
from scaleguard.evidence.synthetic import make_eval_log

Outcome = ArtifactEvidence | tuple[str, str | None, list[Any]]
# Sample members scaleguard reads; a fault anywhere else is a transcript fault.
READ_MEMBERS = {"id", "epoch", "scores"}


def _never_split(raw: bytes) -> Any:
    raise inspect_json.NotFast


@contextmanager
def _whole_reads() -> Iterator[None]:
    """Every ``.json`` log read by Inspect's full read, as before streaming existed."""
    with mock.patch.object(inspect_reader, "_read_json_split", _never_split):
        yield


def _outcome(raw: bytes, name: str = "log.json") -> Outcome:
    try:
        return parse_inspect_log(raw, name, "json")
    except EvidenceError as exc:
        return (exc.message, exc.hint, list(exc.problems))


def _both(raw: bytes) -> tuple[Outcome, Outcome]:
    new = _outcome(raw)
    with _whole_reads():
        old = _outcome(raw)
    return new, old


def _json(log: EvalLog, tmp_path: Path) -> bytes:
    path = tmp_path / "log.json"
    write_eval_log(log, str(path), format="json")
    return path.read_bytes()


def _edit(raw: bytes, change: Any) -> bytes:
    """The log re-encoded after ``change(document)``, NaN and Infinity kept."""
    document = from_json(raw)
    change(document)
    return json.dumps(document, indent=1).encode()


def _route(raw: bytes) -> str:
    return split_json_log(raw).route


def _transcript_fault_only(raw: bytes) -> bool:
    """True if Inspect refuses ``raw`` only for members scaleguard does not read."""
    try:
        read_eval_log(io.BytesIO(raw), format="json")
    except ValidationError as exc:
        locs = [err["loc"] for err in exc.errors()]
        return all(
            (loc[0] == "samples" and len(loc) > 2 and loc[2] not in READ_MEMBERS)
            or loc[0] == "reductions"
            or (loc[:2] == ("results", "sample_reductions"))
            for loc in locs
        )
    except Exception:
        return False
    return False


def _without_hash(evidence: ArtifactEvidence) -> list[dict[str, Any]]:
    return [r.model_dump(exclude={"artifact_sha256"}) for r in evidence.records]


def _assert_same(raw: bytes) -> Outcome:
    new, old = _both(raw)
    assert new == old
    return new


# -- well-formed logs: identical evidence, on both parse routes ---------------------


def _two_scorers() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0, "C", "I"], epochs=2)
    assert log.samples is not None and log.results is not None
    for i, sample in enumerate(log.samples):
        sample.scores = {"match": sample.scores["match"], "judge": Score(value=i / 4)}  # type: ignore[index]
    log.results.scores.append(
        EvalScore(
            name="judge",
            scorer="judge",
            reducer="max",
            scored_samples=2,
            metrics={"mean": EvalMetric(name="mean", value=0.5)},
        )
    )
    return log


def _int_ids() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0, 1.0, 1.0, 0.0] * 3)
    assert log.samples is not None
    for i, sample in enumerate(reversed(log.samples)):
        sample.id = i * 7
    return log


def _dict_scores() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0])
    assert log.samples is not None and log.results is not None
    log.samples[0].scores = {"multi": Score(value={"a": 1.0, "b": "P"})}
    log.samples[1].scores = {"multi": Score(value={"a": "yes", "b": "maybe"})}
    log.results.scores = [
        EvalScore(name=k, scorer="multi", metrics={"mean": EvalMetric(name="mean", value=0.5)})
        for k in ("a", "b")
    ]
    return log


def _nan_sample_and_metric() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0, 1.0])
    assert log.samples is not None and log.results is not None
    log.samples[1].scores = {"match": Score(value=math.nan)}
    log.results.scores[0].metrics["stderr"] = EvalMetric(name="stderr", value=math.nan)
    return log


def _no_samples() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0])
    log.samples = None
    return log


def _unscored_samples() -> EvalLog:
    log = make_eval_log("t", "m", [1.0, 0.0, 1.0])
    assert log.samples is not None
    log.samples[0].scores = None
    log.samples[2].scores = {}
    return log


LOGS = {
    "default": lambda: make_eval_log("wmdp-bio", "acme/m-7", [1.0, 0.0, 1.0, 0.0, 0.5, 1.0]),
    "two-epochs": lambda: make_eval_log("t", "m", [1.0, 0.0, 0.5, 1.0], epochs=2),
    "letter-grades": lambda: make_eval_log("t", "m", ["C", "I", "P", "N"]),
    "long-transcripts": lambda: make_eval_log("t", "m", [1.0, 0.0] * 20, transcript_chars=3000),
    "two-scorers": _two_scorers,
    "int-ids": _int_ids,
    "dict-scores": _dict_scores,
    "nan": _nan_sample_and_metric,
    "no-samples": _no_samples,
    "unscored-samples": _unscored_samples,
    "error-status": lambda: make_eval_log("t", "m", [1.0, 0.0], status="error"),
    "cancelled-status": lambda: make_eval_log("t", "m", [1.0, 0.0], status="cancelled"),
    "started-status": lambda: make_eval_log("t", "m", [1.0, 0.0], status="started"),
}


@pytest.mark.parametrize("case", sorted(LOGS))
def test_logs_read_the_same_as_a_full_read(case: str, tmp_path: Path) -> None:
    raw = _json(LOGS[case](), tmp_path)
    outcome = _assert_same(raw)
    # NaN (and only NaN here) needs the whole-document parse; the rest stream
    assert _route(raw) == ("whole" if case == "nan" else "stream")
    if case.endswith("-status"):
        assert isinstance(outcome, tuple) and "not 'success'" in outcome[0]
    else:
        assert isinstance(outcome, ArtifactEvidence) and outcome.records


@pytest.mark.parametrize("case", ["default", "two-scorers", "dict-scores", "unscored-samples"])
def test_the_whole_document_route_agrees_with_streaming(case: str, tmp_path: Path) -> None:
    raw = _json(LOGS[case](), tmp_path)
    streamed = _outcome(raw)
    with mock.patch.object(inspect_json, "_stream", inspect_json._whole):
        assert _route(raw) == "whole"
        assert _outcome(raw) == streamed


def test_only_ids_epochs_and_scores_are_built(tmp_path: Path) -> None:
    parts = split_json_log(_json(LOGS["long-transcripts"](), tmp_path))
    assert parts.samples is not None and len(parts.samples) == 40
    assert all(set(row) == READ_MEMBERS for row in parts.samples)
    assert "samples" not in parts.header and "reductions" not in parts.header
    assert {"version", "status", "eval", "results"} <= set(parts.header)


# -- corners where ijson and Inspect's parser differ: sent to the whole parse -------


def _set_metadata(value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        document["samples"][1]["metadata"] = {"x": value}

    return change


@pytest.mark.parametrize(
    ("label", "change", "accepted"),
    [
        ("huge-int", _set_metadata(2**70), True),
        ("infinity", _set_metadata(math.inf), True),
        ("nest-below-limit", _set_metadata(json.loads("[" * 150 + "]" * 150)), True),
        ("nest-past-parser-limit", _set_metadata(json.loads("[" * 400 + "]" * 400)), False),
    ],
)
def test_parser_corners_follow_inspects_parser(
    label: str, change: Any, accepted: bool, tmp_path: Path
) -> None:
    raw = _edit(_json(LOGS["default"](), tmp_path), change)
    outcome = _assert_same(raw)
    assert isinstance(outcome, ArtifactEvidence) is accepted, label
    if accepted:
        assert _route(raw) == "whole"


@pytest.mark.parametrize(
    ("needle", "replacement", "accepted"),
    [
        (b'"Question 1', b'"\\ud83d\\ude00 Question 1', True),  # a valid surrogate pair
        (b'"Question 1', b'"\\ud800 Question 1', False),  # ijson would read "?"
        (b'"Question 1', b'"\\ud800\\u0041 Question 1', False),
        (b'"epoch": 1', b'"epoch":\x0b1', False),  # vertical tab: not JSON whitespace
        (b'"epoch": 1', b'"epoch":\x0c1', False),  # form feed
        (b'"epoch": 1', b'"epoch": 1e400', False),  # from_json reads inf: not an int
        (b'"epoch": 1', b'"epoch": 1.0', True),
    ],
)
def test_lexical_corners_follow_inspects_parser(
    needle: bytes, replacement: bytes, accepted: bool, tmp_path: Path
) -> None:
    raw = _json(LOGS["default"](), tmp_path)
    assert needle in raw
    outcome = _assert_same(raw.replace(needle, replacement, 1))
    assert isinstance(outcome, ArtifactEvidence) is accepted


def test_the_nesting_limit_is_within_inspects_parser() -> None:
    assert from_json(b"[" * (NEST_LIMIT + 1) + b"]" * (NEST_LIMIT + 1)) is not None
    with pytest.raises(ValueError):
        from_json(b"[" * 1000 + b"]" * 1000)


# -- shapes Inspect's reader rewrites or refuses: left to Inspect's reader ----------


def test_the_scorer_placeholder_is_inspects() -> None:
    from inspect_ai.log import _log

    assert inspect_json.SCORER_PLACEHOLDER == _log.SCORER_PLACEHOLDER


def _legacy_score(document: dict[str, Any]) -> None:
    for sample in document["samples"]:
        sample["score"] = sample.pop("scores")["match"]


def _placeholder(document: dict[str, Any]) -> None:
    for sample in document["samples"]:
        sample["scores"] = {inspect_json.SCORER_PLACEHOLDER: sample["scores"]["match"]}


def _both_score_forms(document: dict[str, Any]) -> None:
    document["samples"][0]["score"] = {"value": 1.0}


def _drop(member: str) -> Any:
    def change(document: dict[str, Any]) -> None:
        del document["samples"][2][member]

    return change


def _put(path: tuple[Any, ...], value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("label", "change", "accepted"),
    [
        ("legacy-score", _legacy_score, True),
        ("placeholder-key", _placeholder, True),
        ("score-and-scores", _both_score_forms, False),
        ("no-input", _drop("input"), False),
        ("no-target", _drop("target"), False),
        ("no-id", _drop("id"), False),
        ("no-epoch", _drop("epoch"), False),
        ("bad-id", _put(("samples", 0, "id"), [1]), False),
        ("text-epoch", _put(("samples", 0, "epoch"), "two"), False),
        ("float-id", _put(("samples", 0, "id"), 3.0), True),
        ("bad-score", _put(("samples", 1, "scores", "match"), {"answer": "x"}), False),
        ("scores-list", _put(("samples", 1, "scores"), [1]), False),
        ("sample-not-object", _put(("samples", 1), 7), False),
        ("samples-object", _put(("samples",), {"a": 1}), False),
        ("samples-null", _put(("samples",), None), True),
        ("bad-model", _put(("eval", "model"), 5), False),
        ("no-eval", lambda d: d.pop("eval"), False),
        ("future-version", _put(("version",), 99), False),
        ("bad-status", _put(("status",), "finished"), False),
        ("no-results", _put(("results",), None), False),
        ("bad-metric", _put(("results", "scores", 0, "metrics", "accuracy", "value"), "x"), False),
        ("out-of-range", _put(("results", "scores", 0, "metrics", "accuracy", "value"), 7), False),
        ("empty-object", lambda d: d.clear(), False),
    ],
)
def test_doubtful_shapes_get_inspects_verdict(
    label: str, change: Any, accepted: bool, tmp_path: Path
) -> None:
    raw = _edit(_json(LOGS["default"](), tmp_path), change)
    outcome = _assert_same(raw)
    assert isinstance(outcome, ArtifactEvidence) is accepted, (label, outcome)


@pytest.mark.parametrize(
    ("needle", "replacement"),
    [
        (b'"samples": [\n    {', b'"samples": [],\n  "samples": [\n    {'),
        (b'"status": "success"', b'"status": "error", "status": "success"'),
        (b'"value": 1.0,', b'"value": 0.25, "value": 1.0,'),
        (
            b'"scores": {\n        "match"',
            b'"scores": {"match": {"value": 0.25}},\n      "scores": {\n        "match"',
        ),
    ],
)
def test_repeated_keys_count_as_inspect_counts_them(
    needle: bytes, replacement: bytes, tmp_path: Path
) -> None:
    """The last of a repeated key counts (Inspect's parser): the first differs here."""
    raw = _json(LOGS["default"](), tmp_path)
    assert needle in raw
    outcome = _assert_same(raw.replace(needle, replacement, 1))
    assert isinstance(outcome, ArtifactEvidence)
    intact = _outcome(raw)
    assert isinstance(intact, ArtifactEvidence)
    assert _without_hash(outcome) == _without_hash(intact)


# -- damaged files: Inspect's own error -----------------------------------------------


@pytest.mark.parametrize("cut", [0.0, 0.001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_logs_get_the_same_error(cut: float) -> None:
    data = log_bytes("json")
    outcome = _assert_same(data[: int(len(data) * cut)])
    assert isinstance(outcome, tuple) and "Inspect .json log" in outcome[0]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{}",
        b"[1, 2]",
        b'{"version": 9}',
        b'{"eval": 1, "status": "success"}',
        b"\xef\xbb\xbf{}",
        b"{" * 300,
        bytes(range(256)) * 40,
        b'{"version": 2} trailing',
    ],
)
def test_junk_gets_the_same_error(raw: bytes) -> None:
    outcome = _assert_same(raw)
    assert isinstance(outcome, tuple)


def test_transcript_faults_are_not_scaleguards_to_judge(tmp_path: Path) -> None:
    """A broken message is refused by the full read and read by the streamed one."""
    raw = _json(LOGS["default"](), tmp_path)
    damaged = raw.replace(b'"role": "user"', b'"role": "robot"', 1)
    new, old = _both(damaged)
    assert isinstance(old, tuple) and "not a readable" in old[0]
    assert _transcript_fault_only(damaged)
    assert isinstance(new, ArtifactEvidence)
    intact = _outcome(raw)
    assert isinstance(intact, ArtifactEvidence)
    assert _without_hash(new) == _without_hash(intact)


# -- hypothesis: random damage and random values --------------------------------------


def _check(raw: bytes) -> None:
    """The streamed read answers as the full read does, except where Inspect's only
    objection is inside members scaleguard never reads (transcripts, reductions): there
    the streamed read goes on, and either accepts the log or refuses it for a fault of
    its own that the full read never reached (an empty model name, no scores at all)."""
    new, old = _both(raw)
    if new == old:
        return
    assert isinstance(old, tuple), (new, old)
    assert _transcript_fault_only(raw), old
    if isinstance(new, tuple):  # refused, for its own reason, with the file named
        assert new[0].startswith("log.json: ") and new[1], (new, old)
        assert "Inspect .json log" not in new[0], (new, old)  # not the full read's objection


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=MUTATIONS, cut=st.none() | st.floats(0, 1))
def test_damaged_bytes_read_as_a_full_read_reads_them(
    edits: list[tuple[float, int]], cut: float | None
) -> None:
    _check(mutate(log_bytes("json"), edits, cut))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["C", "I", "P", "N", "yes", "1.5", "match", ""]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_PLACES = st.sampled_from(
    [
        ("samples", 0, "id"),
        ("samples", 1, "epoch"),
        ("samples", 2, "scores"),
        ("samples", 0, "scores", "match"),
        ("samples", 1, "scores", "match", "value"),
        ("samples", 2, "scores", "other"),
        ("samples", 0, "input"),
        ("samples", 1, "messages"),
        ("samples", 2, "score"),
        ("samples", 1),
        ("samples",),
        ("eval", "model"),
        ("eval", "task"),
        ("eval", "created"),
        ("status",),
        ("version",),
        ("results", "scores", 0, "metrics", "accuracy", "value"),
        ("results", "scores", 0, "name"),
        ("results", "scores"),
        ("reductions",),
        ("stats",),
        ("error",),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(_PLACES, _JSON), min_size=1, max_size=3))
def test_hostile_values_read_as_a_full_read_reads_them(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    def change(document: dict[str, Any]) -> None:
        for path, value in edits:
            target: Any = document
            try:
                for part in path[:-1]:
                    target = target[part]
                target[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue

    _check(_edit(log_bytes("json"), change))


def test_a_file_larger_than_stat_says_is_read_whole(tmp_path: Path) -> None:
    """Reading asks for the size stat gives (no limit-sized buffer) yet misses nothing."""
    from scaleguard.evidence._files import LOG_LIMIT, read_bounded

    status = Path("/proc/self/status")  # Linux: stat says 0 bytes, reading gives more
    assert status.stat().st_size == 0
    data = read_bounded(status, LOG_LIMIT, "logs")
    assert data.startswith(b"Name:") and data.endswith(b"\n")
    with pytest.raises(EvidenceError, match="larger than the 0 MiB limit"):
        read_bounded(status, 10, "logs")
    plain = tmp_path / "x.json"
    plain.write_bytes(b"{}" * 1000)
    assert read_bounded(plain, LOG_LIMIT, "logs") == b"{}" * 1000
