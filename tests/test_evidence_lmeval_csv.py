"""lm-evaluation-harness results and results CSV as evidence; format detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_fixtures import CSV_HEADER, lmeval_bytes, lmeval_results, write_text
from scaleguard.errors import EvidenceError, Problem
from scaleguard.evidence import read_artifact
from scaleguard.evidence.csv_reader import parse_results_csv, read_results_csv
from scaleguard.evidence.detect import detect_format
from scaleguard.evidence.lmeval_reader import parse_lmeval_results, read_lmeval_results
from scaleguard.evidence.records import EvidenceRecord


def _problem(exc: pytest.ExceptionInfo[EvidenceError], index: int = 0) -> Problem:
    return exc.value.problems[index]


# -- lm-evaluation-harness ----------------------------------------------------


def test_lmeval_records_metrics_filters_and_stderr(tmp_path: Path) -> None:
    path = write_text(tmp_path, "results_2026.json", lmeval_bytes())
    evidence = read_lmeval_results(path)
    assert evidence.source_format == "lm-eval"
    got = {(r.task, r.metric, r.filter): r for r in evidence.records}
    assert set(got) == {
        ("arc_easy", "acc", "none"),
        ("arc_easy", "acc_norm", "none"),
        ("gsm8k", "exact_match", "strict-match"),
        ("gsm8k", "exact_match", "flexible-extract"),
    }
    acc = got[("arc_easy", "acc", "none")]
    assert acc.model == "acme/m-7"
    assert acc.value == 0.62 and acc.stderr == 0.0099
    assert acc.sample_count == 2376 and acc.sample_scores is None
    assert acc.run.task_version == "1.0" and acc.run.n_shot == 0
    assert acc.run.created == "2026-01-05T12:00:00+00:00"
    assert acc.run.producer == "lm-evaluation-harness 4f9c2d1"
    strict = got[("gsm8k", "exact_match", "strict-match")]
    assert strict.stderr is None  # "N/A" in the file
    assert strict.sample_count == 200 and strict.run.n_shot == 5
    assert got[("gsm8k", "exact_match", "flexible-extract")].stderr == 0.013


def test_lmeval_model_from_model_args() -> None:
    data = lmeval_results(model_name="")
    assert parse_lmeval_results(json.dumps(data).encode(), "r.json").records[0].model == "acme/m-7"
    data["config"]["model_args"] = {"model": "api-model-1", "base_url": "http://x"}
    assert parse_lmeval_results(json.dumps(data).encode(), "r.json").records[0].model == (
        "api-model-1"
    )
    del data["config"]
    with pytest.raises(EvidenceError, match="which model") as caught:
        parse_lmeval_results(json.dumps(data).encode(), "r.json")
    assert _problem(caught).path == "$.model_name"


def test_lmeval_old_style_keys_without_filter() -> None:
    data = lmeval_results(results={"piqa": {"acc": 0.7, "acc_stderr": 0.01}})
    record = parse_lmeval_results(json.dumps(data).encode(), "r.json").records[0]
    assert (record.metric, record.filter, record.stderr) == ("acc", None, 0.01)


def test_lmeval_skips_non_numbers_with_notes() -> None:
    data = lmeval_results(results={"t": {"acc,none": 0.5, "bleu,none": "N/A", "flag,none": True}})
    evidence = parse_lmeval_results(json.dumps(data).encode(), "r.json")
    assert [r.metric for r in evidence.records] == ["acc"]
    assert len(evidence.notes) == 2


def test_lmeval_nan_only_results_are_rejected() -> None:
    text = json.dumps(lmeval_results(results={"t": {"acc,none": float("nan")}}))
    with pytest.raises(EvidenceError, match="no numeric metric"):
        parse_lmeval_results(text.encode(), "r.json")


def test_lmeval_invalid_json_names_line_and_column() -> None:
    raw = b'{\n  "results": {\n    "t": {"acc,none": 0.5,,}\n'
    with pytest.raises(EvidenceError, match="not valid JSON") as caught:
        parse_lmeval_results(raw, "r.json")
    problem = _problem(caught)
    assert (problem.file, problem.line, problem.column) == ("r.json", 3, 27)
    assert problem.location == "r.json:3:27"


@pytest.mark.parametrize(
    "data",
    [[], {"results": {}}, {"results": []}, {"results": {"t": 3}}, {"config": {}}],
)
def test_lmeval_wrong_shapes_are_rejected(data: Any) -> None:
    with pytest.raises(EvidenceError):
        parse_lmeval_results(json.dumps(data).encode(), "r.json")


def test_lmeval_not_utf8() -> None:
    with pytest.raises(EvidenceError, match="not UTF-8") as caught:
        parse_lmeval_results(b'{"a":\n "\xff"}', "r.json")
    assert (_problem(caught).line, _problem(caught).column) == (2, 3)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "results",
                    "acc,none",
                    "acc_stderr,none",
                    "model_name",
                    "config",
                    "model_args",
                    "n-samples",
                    "effective",
                    "versions",
                    "date",
                    "t",
                ]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(data=_JSON)
def test_lmeval_structures_only_raise_evidence_errors(data: Any) -> None:
    raw = json.dumps(data).encode()
    try:
        evidence = parse_lmeval_results(raw, "fuzz.json")
    except EvidenceError as exc:
        assert exc.message.startswith("fuzz.json")
    else:
        assert all(isinstance(r, EvidenceRecord) for r in evidence.records)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_lmeval_bytes_only_raise_evidence_errors(raw: bytes) -> None:
    with pytest.raises(EvidenceError):
        parse_lmeval_results(raw, "fuzz.json")


# -- CSV ------------------------------------------------------------------------


def test_csv_reads_rows_with_optional_columns(tmp_path: Path) -> None:
    text = (
        CSV_HEADER
        + "acme/m-7,bio,accuracy,0.61,400,,red team,\n"
        + 'acme/m-7,cyber,solve_rate,0.25,4,1 0;0 ; 0,,"hand scored, see ""T-12"""\n'
    )
    path = write_text(tmp_path, "results.csv", text)
    evidence = read_results_csv(path)
    first, second = evidence.records
    assert (first.model, first.task, first.metric, first.value) == (
        "acme/m-7",
        "bio",
        "accuracy",
        0.61,
    )
    assert first.sample_count == 400 and first.sample_scores is None
    assert first.source == "red team" and first.notes is None
    assert second.sample_scores == [1.0, 0.0, 0.0, 0.0]
    assert second.notes == 'hand scored, see "T-12"'
    assert evidence.source_format == "csv"


def test_csv_minimal_columns_any_order_bom_crlf() -> None:
    raw = "\ufeffValue,Metric,TASK,model\r\n0.5,acc,t,m\r\n\r\n1e-1,acc2,t,m".encode()
    evidence = parse_results_csv(raw, "r.csv")
    assert [(r.metric, r.value) for r in evidence.records] == [("acc", 0.5), ("acc2", 0.1)]


def test_csv_quoted_cell_spanning_lines_keeps_positions() -> None:
    raw = (CSV_HEADER + 'm,t,a,0.5,,,,"line one\nline two"\nm,t,b,oops,,,,\n').encode()
    with pytest.raises(EvidenceError) as caught:
        parse_results_csv(raw, "r.csv")
    problem = _problem(caught)
    assert (problem.line, problem.column) == (4, 7)


@pytest.mark.parametrize(
    ("body", "line", "column", "fragment"),
    [
        ("m,t,acc,70%,,,,\n", 2, 9, "not a number"),
        ("m,t,acc,nan,,,,\n", 2, 9, "not a number"),
        ("m,t,acc,1_0,,,,\n", 2, 9, "not a number"),
        ("m,t,acc,,,,,\n", 2, 9, "value is empty"),
        ("m,,acc,0.5,,,,\n", 2, 3, "task is empty"),
        ("m,t,acc,0.5,-3,,,\n", 2, 13, "whole number"),
        ("m,t,acc,0.5,,1 0 x,,\n", 2, 18, "sample score 'x'"),
        ('m,t,acc,0.5,,"1;y",,\n', 2, 17, "sample score 'y'"),
        ("m,t,acc,0.5,,,\n", 2, 15, "7 cells"),
        ("m,t,acc,0.5,,,,,extra\n", 2, 17, "9 cells"),
        ('m,t,acc,"0.5"x,,,,\n', 2, 14, "after a closing quote"),
        ('m,t,acc,"0.5,,,,\n', 2, 9, "never closed"),
    ],
)
def test_csv_errors_name_line_and_column(body: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(EvidenceError) as caught:
        parse_results_csv((CSV_HEADER + body).encode(), "r.csv")
    problem = _problem(caught)
    assert (problem.file, problem.line, problem.column) == ("r.csv", line, column)
    assert fragment in problem.message
    assert problem.hint or caught.value.hint
    assert f"r.csv:{line}:{column}" in caught.value.render()


def test_csv_percent_hint() -> None:
    with pytest.raises(EvidenceError) as caught:
        parse_results_csv((CSV_HEADER + "m,t,acc,61%,,,,\n").encode(), "r.csv")
    assert "0.61" in _problem(caught).hint


def test_csv_header_problems() -> None:
    with pytest.raises(EvidenceError) as caught:
        parse_results_csv(b"model,task,metirc,value,Value\nm,t,a,1,1\n", "r.csv")
    messages = [(p.column, p.message) for p in caught.value.problems]
    assert (12, "unknown column 'metirc'") in messages
    assert (25, "column 'value' appears twice") in messages
    assert any("lacks required column(s): metric" in m for _, m in messages)


def test_csv_reports_every_problem_and_duplicates() -> None:
    body = "m,t,a,x,,,,\nm,t,b,0.5,,,,\nm,t,b,0.6,,,,\nm,t,c,y,,,,\n"
    with pytest.raises(EvidenceError, match="3 problem") as caught:
        parse_results_csv((CSV_HEADER + body).encode(), "r.csv")
    lines = [p.line for p in caught.value.problems]
    assert lines == [2, 4, 5]
    assert "first given on line 3" in caught.value.problems[1].message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (CSV_HEADER.encode(), "no rows"),
        (b"model,task,metric,value\nm,t,a,\xff\n", "not UTF-8"),
    ],
)
def test_csv_whole_file_problems(raw: bytes, fragment: str) -> None:
    with pytest.raises(EvidenceError, match=fragment):
        parse_results_csv(raw, "r.csv")


def test_csv_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 + 1)
    with pytest.raises(EvidenceError, match="50 MiB limit"):
        read_results_csv(path)
    with pytest.raises(EvidenceError, match="50 MiB limit"):
        read_artifact(path)


_CELL = st.text(alphabet=st.sampled_from('ab01.,;" \n\r-e%'), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_CELL, min_size=1, max_size=9), max_size=5))
def test_csv_cells_only_raise_evidence_errors(rows: list[list[str]]) -> None:
    raw = (CSV_HEADER + "\n".join(",".join(row) for row in rows)).encode()
    try:
        evidence = parse_results_csv(raw, "fuzz.csv")
    except EvidenceError as exc:
        assert exc.message.startswith("fuzz.csv")
        assert all(p.line is not None for p in exc.problems)
    else:
        assert evidence.records


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_csv_bytes_only_raise_evidence_errors(raw: bytes) -> None:
    try:
        evidence = parse_results_csv(raw, "fuzz.csv")
    except EvidenceError as exc:
        assert exc.message.startswith("fuzz.csv")
    else:
        assert evidence.records


# -- detection ----------------------------------------------------------------


def test_detects_lmeval_and_csv(tmp_path: Path) -> None:
    lm = write_text(tmp_path, "out.dat", lmeval_bytes())
    assert read_artifact(lm).source_format == "lm-eval"
    csv_named = write_text(tmp_path, "x.CSV", CSV_HEADER + "m,t,a,1,,,,\n")
    assert read_artifact(csv_named).source_format == "csv"
    csv_sniffed = write_text(tmp_path, "x.txt", "model,task,metric,value\nm,t,a,1\n")
    assert read_artifact(csv_sniffed).source_format == "csv"
    assert read_artifact(csv_sniffed, "csv").records[0].value == 1.0


@pytest.mark.parametrize(
    "raw",
    [b"hello world", b'{"data": [1, 2]}', b"\x00\x01\x02", b"[1, 2, 3]", b"{nope"],
)
def test_unknown_artifacts_get_format_hint(raw: bytes) -> None:
    with pytest.raises(EvidenceError) as caught:
        detect_format(raw, "mystery.bin")
    assert "--format" in caught.value.hint
    assert "mystery.bin" in caught.value.message


def test_lmeval_with_nan_still_detected() -> None:
    raw = b'{"results": {"t": {"acc,none": NaN}}, "versions": {"t": 1}}'
    assert detect_format(raw, "r.json") == "lm-eval"
