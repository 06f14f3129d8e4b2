"""``evidence ingest --model``: naming the model of a results file that does not say, and
refusing a file that names another model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaleguard.errors import EvidenceError
from scaleguard.evidence import read_artifact
from workspace_copies import Copy

Cli = Callable[..., Any]

#: An lm-evaluation-harness v0 results file: only "results" and "versions".
V0 = {
    "results": {"arc_easy": {"acc": 0.62, "acc_stderr": 0.0099, "acc_norm": 0.58}},
    "versions": {"arc_easy": 0},
}
NAMED = {**V0, "model_name": "fictional/aurora-3"}
CSV = "model,task,metric,value,sample_count\naurora-3,swe_long_tasks,pass_rate,0.31,120\n"


@pytest.fixture
def lab(tmp_path: Path, cli: Cli, sqlite_copy: Copy) -> Path:
    """``scaleguard init lab``, run once per test process and copied."""
    sqlite_copy("init lab", lambda folder, _: _init(cli, folder / "lab"))
    return tmp_path / "lab"


def _init(cli: Cli, root: Path) -> None:
    assert cli("init", root).code == 0


def _write(folder: Path, name: str, content: Any) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _stored(cli: Cli, root: Path) -> list[dict[str, Any]]:
    listed = cli("evidence", "list", "--workspace", root, "--json")
    assert listed.code == 0, listed.err
    rows: list[dict[str, Any]] = json.loads(listed.out)
    return rows


def test_a_v0_file_without_model_is_refused_with_a_hint_to_name_it(
    lab: Path, tmp_path: Path, cli: Cli
) -> None:
    path = _write(tmp_path, "results.json", V0)
    result = cli("evidence", "ingest", path, "--workspace", lab, "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert "do not say which model" in json.dumps(error)
    assert "--model" in json.dumps(error)
    assert _stored(cli, lab) == []


def test_model_names_the_records_of_a_v0_file(lab: Path, tmp_path: Path, cli: Cli) -> None:
    path = _write(tmp_path, "results.json", V0)
    result = cli("evidence", "ingest", path, "--model", "aurora-3", "--workspace", lab)
    assert result.code == 0, result.err
    rows = _stored(cli, lab)
    assert {(r["model"], r["task"], r["metric"]) for r in rows} == {
        ("aurora-3", "arc_easy", "acc"),
        ("aurora-3", "arc_easy", "acc_norm"),
    }


def test_model_agrees_with_a_file_naming_it_with_a_provider(
    lab: Path, tmp_path: Path, cli: Cli
) -> None:
    path = _write(tmp_path, "results.json", NAMED)
    result = cli("evidence", "ingest", path, "--model", "aurora-3", "--workspace", lab)
    assert result.code == 0, result.err
    assert {r["model"] for r in _stored(cli, lab)} == {"fictional/aurora-3"}


@pytest.mark.parametrize(
    ("name", "content"),
    [("results.json", NAMED), ("results.csv", CSV)],
)
def test_a_file_naming_another_model_is_refused(
    lab: Path, tmp_path: Path, cli: Cli, name: str, content: Any
) -> None:
    """A careless user points --model at the wrong run: refused, nothing stored."""
    path = _write(tmp_path, name, content)
    result = cli("evidence", "ingest", path, "--model", "rival-9", "--workspace", lab, "--json")
    assert result.code == 2
    message = json.loads(result.out)["error"]
    assert "aurora-3" in json.dumps(message) and "rival-9" in json.dumps(message)
    assert _stored(cli, lab) == []


def test_one_mismatch_stores_nothing_of_the_batch(lab: Path, tmp_path: Path, cli: Cli) -> None:
    good = _write(tmp_path, "v0.json", V0)
    other = _write(tmp_path, "other.csv", CSV)
    result = cli("evidence", "ingest", good, other, "--model", "rival-9", "--workspace", lab)
    assert result.code == 2
    assert _stored(cli, lab) == []


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "x" * 201])
def test_model_must_be_a_name(lab: Path, tmp_path: Path, cli: Cli, bad: str) -> None:
    path = _write(tmp_path, "results.json", V0)
    result = cli("evidence", "ingest", path, "--model", bad, "--workspace", lab)
    assert result.code == 2
    assert "--model" in result.err
    assert _stored(cli, lab) == []


def test_suffix_is_not_a_substring_match(tmp_path: Path) -> None:
    """'aurora-3' does not name 'fictional/aurora-33' nor 'fictional-aurora-3'."""
    for found in ("fictional/aurora-33", "fictional-aurora-3"):
        path = _write(tmp_path, "r.json", {**V0, "model_name": found})
        with pytest.raises(EvidenceError, match="not 'aurora-3'"):
            read_artifact(path, model="aurora-3")
