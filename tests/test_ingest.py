"""Evidence ingest: content-addressed objects, all-or-nothing batches, concurrent writers."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import write_eval_log

from child_processes import ingest_one_by_one
from conftest import worker_context
from scaleguard.errors import EvidenceError, InputError
from scaleguard.evidence.synthetic import make_eval_log
from scaleguard.ledger.canonical import parse_entry
from scaleguard.store import repo
from scaleguard.workspace import (
    IngestProgress,
    Workspace,
    ingest_paths,
    init_workspace,
    open_workspace,
)
from scaleguard.workspace.ingest import INGEST_FORMATS
from workspace_copies import Copy, new_ws

Cli = Callable[..., Any]


def csv_file(folder: Path, name: str, model: str, value: float, rows: int = 2) -> Path:
    lines = ["model,task,metric,value,sample_count,sample_scores"]
    for i in range(rows):
        lines.append(f"{model},task-{i},accuracy,{value},4,1 0 1 0")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def ws(tmp_path: Path, sqlite_copy: Copy) -> Iterator[Workspace]:
    """init_workspace(tmp_path / "ws"), made once per test process and copied."""
    sqlite_copy("new ws", new_ws)
    with open_workspace(tmp_path / "ws") as workspace:
        yield workspace


def objects(ws: Workspace) -> list[Path]:
    return sorted(p for p in ws.objects_dir.rglob("*") if p.is_file())


def counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.store.read() as s:
        return len(repo.artifacts(s)), len(repo.evidence(s)), repo.ledger_size(s)


def test_ingest_stores_bytes_rows_and_ledger_entries(ws: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "run.eval"
    write_eval_log(make_eval_log("wmdp-bio", "acme/m-7", [1.0, 0.0, 1.0, 1.0]), str(log))
    table = csv_file(tmp_path, "results.csv", "acme/m-7", 0.25)
    events: list[IngestProgress] = []
    report = ingest_paths(ws, [log, table], by="alice", progress=events.append)
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    assert report.ingested_by == "alice"
    assert [(e.phase, e.done) for e in events] == [
        ("read", 1),
        ("read", 2),
        ("store", 1),
        ("store", 2),
    ]
    for path, item in zip((log, table), report.files, strict=True):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        assert item.sha256 == sha
        stored = ws.objects_dir / sha[:2] / sha[2:]
        assert stored.read_bytes() == data
        assert not stat.S_IMODE(stored.stat().st_mode) & 0o222  # read-only
    assert item.format == "csv"
    with ws.store.read() as s:
        evidence = repo.evidence(s)
        entries = repo.ledger_entries(s)
        arts = {a.sha256: a for a in repo.artifacts(s)}
    assert len(evidence) == report.records == len(entries)
    assert {e.ingested_by for e in evidence} == {"alice"}
    assert [e.ledger_index for e in evidence] == [x.idx for x in entries]
    inspect_rows = [e for e in evidence if e.format == "inspect-eval"]
    assert inspect_rows and inspect_rows[0].sample_scores == (1.0, 0.0, 1.0, 1.0)
    record = parse_entry(entries[-1].data).record
    assert record["artifact_sha256"] == report.files[1].sha256
    assert record["details"] == {"artifact_name": "results.csv"}
    art = arts[report.files[0].sha256]
    assert art.stored_path == f"objects/{art.sha256[:2]}/{art.sha256[2:]}"
    assert art.size == log.stat().st_size


def test_reingesting_is_a_reported_no_op(ws: Workspace, tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a.csv", "m", 0.5)
    copy = tmp_path / "copy-of-a.csv"
    copy.write_bytes(path.read_bytes())
    ingest_paths(ws, [path], by="x")
    before = counts(ws)
    report = ingest_paths(ws, [path, copy, path], by="x")
    assert [f.status for f in report.files] == [
        "already ingested",
        "repeated in this batch",
        "repeated in this batch",
    ]
    assert (report.ingested, report.records) == (0, 0)
    assert counts(ws) == before


def test_one_bad_file_stops_the_whole_batch_and_names_every_bad_file(
    ws: Workspace, tmp_path: Path
) -> None:
    good = csv_file(tmp_path, "good.csv", "m", 0.5)
    truncated = tmp_path / "truncated.eval"
    write_eval_log(make_eval_log("t", "m", [1.0, 0.0]), str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:300])
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not evidence")
    with pytest.raises(EvidenceError, match="2 of 3 file") as info:
        ingest_paths(ws, [good, truncated, junk], by="x")
    rendered = info.value.render()
    assert "truncated.eval" in rendered and "junk.bin" in rendered
    assert "good.csv" not in rendered
    assert "nothing was stored" in info.value.message
    assert counts(ws) == (0, 0, 0)
    assert objects(ws) == []


def test_a_file_changed_after_reading_is_not_stored(ws: Workspace, tmp_path: Path) -> None:
    first = csv_file(tmp_path, "first.csv", "m", 0.5)
    second = csv_file(tmp_path, "second.csv", "m", 0.7)

    def tamper(event: IngestProgress) -> None:
        if event.phase == "read" and event.done == 2:
            second.write_text(second.read_text().replace("0.7", "0.9"))

    with pytest.raises(EvidenceError, match="changed while it was being ingested"):
        ingest_paths(ws, [first, second], by="x", progress=tamper)
    assert counts(ws) == (0, 0, 0)
    assert objects(ws) == []  # first.csv's object was removed again
    assert not list(ws.objects_dir.rglob(".tmp-*"))


def test_ingest_input_errors(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no files"):
        ingest_paths(ws, [], by="x")
    with pytest.raises(InputError, match="--by"):
        ingest_paths(ws, [csv_file(tmp_path, "a.csv", "m", 1.0)], by="  ")
    with pytest.raises(EvidenceError, match="unknown evidence format"):
        ingest_paths(ws, [tmp_path / "a.csv"], fmt="xml", by="x")


def test_ingested_by_defaults_to_the_os_user(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCALEGUARD_USER", raising=False)
    monkeypatch.setenv("LOGNAME", "carol")
    monkeypatch.setenv("USER", "carol")
    report = ingest_paths(ws, [csv_file(tmp_path, "a.csv", "m", 1.0)])
    assert report.ingested_by == "carol"


def test_format_choices_match_the_readers() -> None:
    from scaleguard.evidence import FORMAT_CHOICES

    assert set(INGEST_FORMATS) == set(FORMAT_CHOICES)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_concurrent_ingest_neither_corrupts_nor_duplicates(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    db = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    init_workspace(tmp_path / "ws", db_url=db).close()
    files = [str(csv_file(tmp_path, f"f{i}.csv", f"model-{i}", i / 10, rows=3)) for i in range(8)]
    # worker k ingests files 2k .. 2k+3: every file is wanted by two workers
    plans = [[files[(2 * k + j) % 8] for j in range(4)] for k in range(4)]
    ctx = worker_context()
    procs = [ctx.Process(target=ingest_one_by_one, args=(str(tmp_path / "ws"), p)) for p in plans]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with open_workspace(tmp_path / "ws") as ws, ws.store.read() as s:
        arts = repo.artifacts(s)
        evidence = repo.evidence(s)
        entries = repo.ledger_entries(s)
        assert len(arts) == 8
        assert len(evidence) == 8 * 3
        assert [e.idx for e in entries] == list(range(len(evidence)))
        assert sorted(e.ledger_index for e in evidence) == list(range(len(evidence)))
        assert sorted(e.id for e in evidence) == list(range(1, len(evidence) + 1))
        for art in arts:
            stored = ws.root / art.stored_path
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == art.sha256
        assert len(objects(ws)) == 8


# -- the CLI --------------------------------------------------------------------


def test_cli_ingest_and_list(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", tmp_path / "ws").code == 0
    a = csv_file(tmp_path, "a.csv", "acme", 0.5)
    b = csv_file(tmp_path, "b.csv", "rival", 0.6, rows=1)
    w = ("--workspace", tmp_path / "ws")
    result = cli("evidence", "ingest", a, b, "--by", "dana", "--json", *w)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert (report["ingested"], report["records"]) == (2, 3)
    again = cli("evidence", "ingest", a, *w)
    assert again.code == 0
    assert "already ingested" in again.out
    listed = json.loads(cli("evidence", "list", "--model", "acme", "--json", *w).out)
    assert [(e["model"], e["task"], e["ingested_by"]) for e in listed] == [
        ("acme", "task-0", "dana"),
        ("acme", "task-1", "dana"),
    ]
    assert listed[0]["sample_scores"] == [1.0, 0.0, 1.0, 0.0]
    table = cli("evidence", "list", *w)
    assert table.code == 0 and "rival" in table.out


def test_cli_ingest_of_a_bad_file_exits_2_without_a_traceback(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", tmp_path / "ws").code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("model,task,metric,value\nm,t,acc,not-a-number\n")
    result = cli("evidence", "ingest", bad, "--workspace", tmp_path / "ws")
    assert result.code == 2
    assert "bad.csv:2:" in result.err
    assert "Traceback" not in result.err
    with open_workspace(tmp_path / "ws") as ws:
        assert counts(ws) == (0, 0, 0)
