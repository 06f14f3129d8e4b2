"""The model registry, import files, attestations and facts."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.ledger.canonical import parse_entry
from scaleguard.store import repo
from scaleguard.workspace import (
    ModelSpec,
    Workspace,
    add_model,
    add_scores,
    assert_fact,
    attest,
    import_models,
    open_workspace,
    parse_fact_value,
    parse_models,
)
from workspace_copies import Copy, new_ws

Cli = Callable[..., Any]

YAML = """\
models:
  - name: acme-2
    developer: Acme AI
    own: true
    status: released
    released_on: 2025-09-01
    sources: [https://acme.example/acme-2]
  - name: acme-3
    developer: Acme AI
    own: true
    parent: acme-2
    effective_compute: 3.0e25
    status: internal
    scores: {cyber: 0.41, bio: 0.22}
    score_source: https://acme.example/evals
  - name: rival-9
    developer: Rival Labs
    released_on: 2026-02-01
    safeguards_level: comparable
    sources: [https://rival.example/r9]
    scores: {cyber: 0.45}
"""

CSV = """\
name,developer,own,status,released_on,safeguards_level,sources,score:cyber,score:bio
rival-9,Rival Labs,false,released,2026-02-01,comparable,https://rival.example/r9,0.45,
open-1,"Open, Inc.",no,,,,https://o.example/a https://o.example/b,,0.3
"""


@pytest.fixture
def ws(tmp_path: Path, sqlite_copy: Copy) -> Iterator[Workspace]:
    """init_workspace(tmp_path / "ws"), made once per test process and copied."""
    sqlite_copy("new ws", new_ws)
    with open_workspace(tmp_path / "ws") as workspace:
        yield workspace


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def problems_of(data: str, kind: str) -> list[tuple[int | None, int | None, str]]:
    with pytest.raises(InputError) as info:
        parse_models(data.encode(), f"models.{kind}", kind)
    return [(p.line, p.column, p.message) for p in info.value.problems]


def test_add_model_with_scores_and_defaults(ws: Workspace) -> None:
    spec = ModelSpec(
        name="rival-9", developer="Rival", scores={"cyber": 0.5}, sources=["https://r"]
    )
    model = add_model(ws, spec, by="ann")
    assert (model.own, model.status, model.safeguards_level) == (False, "released", "unknown")
    own = add_model(ws, ModelSpec(name="acme-1", own=True), by="ann")
    assert (own.status, own.safeguards_level) == ("planned", None)
    with ws.store.read() as s:
        (score,) = repo.scores(s, "rival-9")
        entries = repo.ledger_entries(s)
    assert (score.score, score.source, score.created_by) == (0.5, "https://r", "ann")
    assert [e.kind for e in entries] == ["model", "model-score", "model"]
    assert parse_entry(entries[0].data).record["name"] == "rival-9"


def test_registry_entries_are_append_only(ws: Workspace) -> None:
    add_model(ws, ModelSpec(name="m"), by="a")
    with pytest.raises(ConflictError, match="already registered") as info:
        add_model(ws, ModelSpec(name="m", developer="other"), by="a")
    assert "models score" in info.value.hint
    with pytest.raises(InputError, match="unknown parent"):
        add_model(ws, ModelSpec(name="child", parent="nobody"), by="a")
    add_scores(ws, "m", {"cyber": "0.7"}, source="https://s", by="a")
    add_scores(ws, "m", {"cyber": 0.8}, source=None, by="a")
    with ws.store.read() as s:
        assert repo.latest_scores(s)[("m", "cyber")].score == 0.8
        assert len(repo.scores(s, "m")) == 2
    with pytest.raises(NotFoundError):
        add_scores(ws, "nope", {"cyber": 1}, source=None, by="a")
    with pytest.raises(InputError, match="invalid scores"):
        add_scores(ws, "m", {"Not An Id": 1}, source=None, by="a")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "m", "status": "launched"}, "Input should be"),
        ({"name": "m", "status": "planned", "released_on": "2026-01-01"}, "released_on is set"),
        ({"name": "m", "effective_compute": -1}, "greater than 0"),
        ({"name": "m", "scores": {"cyber": "nan"}}, "finite"),
        ({"name": "m", "scores": {"cyber": True}}, "not true/false"),
        ({"name": " padded"}, "should match pattern"),
        ({"name": "m", "parent": "m"}, "its own parent"),
        ({"name": "m", "sources": ["not a url"]}, "not an http"),
        ({"name": "m", "sources": ["javascript:alert(1)"]}, "not an http"),
        ({"name": "F\u0456ctional-1"}, "mixes scripts"),
        ({"name": "aurora\u200b-3"}, "invisible"),
        ({"name": "\uff41urora"}, "look-alike forms"),
    ],
)
def test_model_spec_rejects_bad_values(values: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        ModelSpec.model_validate(values)


def test_import_yaml_then_reimport_is_idempotent(ws: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "models.yaml", YAML)
    results = import_models(ws, path, by="ann")
    assert [(r.name, r.status, r.scores_added) for r in results] == [
        ("acme-2", "added", 0),
        ("acme-3", "added", 2),
        ("rival-9", "added", 1),
    ]
    with ws.store.read() as s:
        acme3 = repo.model(s, "acme-3")
        size = repo.ledger_size(s)
    assert (acme3.parent, acme3.effective_compute, acme3.status) == ("acme-2", 3.0e25, "internal")
    again = import_models(ws, path, by="ann")
    assert {r.status for r in again} == {"unchanged"}
    assert sum(r.scores_added for r in again) == 0
    with ws.store.read() as s:
        assert repo.ledger_size(s) == size
    rescored = write(tmp_path, "m2.yaml", YAML.replace("cyber: 0.45", "cyber: 0.5"))
    assert [r.scores_added for r in import_models(ws, rescored, by="ann")] == [0, 0, 1]


def test_import_conflicts_change_nothing(ws: Workspace, tmp_path: Path) -> None:
    import_models(ws, write(tmp_path, "a.yaml", YAML), by="ann")
    changed = YAML.replace("developer: Rival Labs", "developer: Rival Labs Inc") + (
        "  - name: brand-new\n"
    )
    with pytest.raises(ConflictError, match="nothing was imported") as info:
        import_models(ws, write(tmp_path, "b.yaml", changed), by="ann")
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == (str(tmp_path / "b.yaml"), 16)
    assert "developer" in problem.message
    with ws.store.read() as s:
        assert repo.find_model(s, "brand-new") is None


def test_import_csv(ws: Workspace, tmp_path: Path) -> None:
    import_models(ws, write(tmp_path, "models.csv", CSV), by="ann")
    with ws.store.read() as s:
        open1 = repo.model(s, "open-1")
        rival = repo.model(s, "rival-9")
        scores = repo.latest_scores(s)
    assert open1.developer == "Open, Inc."
    assert open1.sources == ("https://o.example/a", "https://o.example/b")
    assert (open1.own, open1.status) == (False, "released")
    assert (rival.released_on, rival.safeguards_level) == (date(2026, 2, 1), "comparable")
    assert scores[("open-1", "bio")].source == "https://o.example/a"
    assert ("open-1", "cyber") not in scores


def test_yaml_problems_are_all_reported_at_their_positions() -> None:
    text = "models:\n  - name: a\n  - name: b\n    status: launched\n    colour: red\n  - name: a\n"
    found = problems_of(text, "yaml")
    assert [(line, col) for line, col, _ in found] == [(4, 13), (5, 5), (6, 11)]
    assert "listed twice (first at line 2)" in found[2][2]
    assert problems_of("models: [\n", "yaml")[0][0] == 2  # syntax error, with position
    with pytest.raises(InputError, match="exactly one key"):
        parse_models(b"people: []\n", "m.yaml", "yaml")
    with pytest.raises(InputError, match="empty"):
        parse_models(b"  \n", "m.yaml", "yaml")


def test_csv_problems_name_the_cell() -> None:
    text = 'name,status,score:cyber\nok,released,0.1\nbad,launched,"x"\n'
    assert [(line, col) for line, col, _ in problems_of(text, "csv")] == [(3, 5), (3, 14)]
    assert problems_of("name,colour\nm,red\n", "csv")[0][:2] == (1, 6)
    assert "field(s)" in problems_of("name,status\nm\n", "csv")[0][2]
    assert "never closed" in problems_of('name\n"open\n', "csv")[0][2]
    assert "no 'name' column" in problems_of("status\nreleased\n", "csv")[0][2]


def test_an_invalid_file_imports_nothing(ws: Workspace, tmp_path: Path) -> None:
    text = YAML + "  - name: broken\n    effective_compute: lots\n"
    with pytest.raises(InputError):
        import_models(ws, write(tmp_path, "m.yaml", text), by="ann")
    with ws.store.read() as s:
        assert repo.models(s) == [] and repo.ledger_size(s) == 0


_VALID = YAML.encode()
_VALID_CSV = CSV.encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([(_VALID, "yaml"), (_VALID_CSV, "csv")]),
    edits=st.lists(
        st.tuples(st.integers(0, 2000), st.integers(0, 20), st.binary(max_size=8)), max_size=4
    ),
)
def test_mutated_import_files_only_ever_raise_input_error(
    base: tuple[bytes, str], edits: list[tuple[int, int, bytes]]
) -> None:
    data, kind = base
    for at, cut, insert in edits:
        at %= len(data) + 1
        data = data[:at] + insert + data[at + cut :]
    try:
        entries = parse_models(data, f"m.{kind}", kind)
    except InputError:
        return
    assert all(isinstance(e.spec, ModelSpec) for e in entries)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["yaml", "csv"]))
def test_random_bytes_only_ever_raise_input_error(data: bytes, kind: str) -> None:
    with contextlib.suppress(InputError):
        parse_models(data, f"m.{kind}", kind)


def test_attestations(ws: Workspace) -> None:
    add_model(ws, ModelSpec(name="acme-3", own=True), by="a")
    with pytest.raises(NotFoundError, match="no model called 'acme-4'"):
        attest(ws, "acme-4", "asl-3-security", by="rso", evidence_url="https://w/1")
    with pytest.raises(InputError, match="not a URL"):
        attest(ws, "acme-3", "asl-3-security", by="rso", evidence_url="see wiki")
    with pytest.raises(InputError, match="invalid safeguard standard"):
        attest(ws, "acme-3", "ASL 3", by="rso", evidence_url="https://w/1")
    first = attest(ws, "acme-3", "asl-3-security", by="rso", evidence_url="https://w/1")
    second = attest(
        ws, "acme-3", "asl-3-security", by="ciso", evidence_url="https://w/2", note="re-audit"
    )
    with ws.store.read() as s:
        assert repo.attested_standards(s, "acme-3") == {"asl-3-security": second}
        assert repo.attestations(s) == [first, second]


def test_facts(ws: Workspace) -> None:
    assert [parse_fact_value(v) for v in ("true", "false", "4", "0.25", "1e26")] == [
        True,
        False,
        4,
        0.25,
        1e26,
    ]
    for bad in ("maybe", "NaN", "Infinity", "[1]", "", "9007199254740993"):
        with pytest.raises(InputError):
            parse_fact_value(bad)
    add_model(ws, ModelSpec(name="acme-3", own=True), by="a")
    assert_fact(ws, "marginal_risk_small", True, source="https://memo", by="rso")
    assert_fact(ws, "marginal_risk_small", False, source="https://memo2", by="rso", model="acme-3")
    with pytest.raises(NotFoundError):
        assert_fact(ws, "marginal_risk_small", True, source="https://m", by="rso", model="ghost")
    with pytest.raises(InputError, match="invalid fact name"):
        assert_fact(ws, "Bad Name", True, source="https://m", by="rso")
    with ws.store.read() as s:
        assert repo.current_facts(s)["marginal_risk_small"].value is True
        assert repo.current_facts(s, "acme-3")["marginal_risk_small"].value is False


# -- the CLI --------------------------------------------------------------------


def test_cli_models_safeguards_and_facts(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", tmp_path / "ws").code == 0
    w = ("--workspace", tmp_path / "ws")
    added = cli(
        "models", "add", "rival-9", "--developer", "Rival", "--released", "2026-02-01",
        "--safeguards", "weak", "--score", "cyber=0.45", "--source", "https://r.example", "--json",
        *w,
    )  # fmt: skip
    assert added.code == 0, added.err
    assert json.loads(added.out)["scores"][0]["score"] == 0.45
    own = cli("models", "add", "acme-3", "--own", "--compute", "3e25", *w)
    assert own.code == 0 and "registered acme-3" in own.out
    bad = cli("models", "add", "x", "--score", "cyber=nan", *w)
    assert bad.code == 2 and "--score cyber: must be a finite number" in bad.err
    dup = cli("models", "add", "acme-3", *w)
    assert dup.code == 2 and "already registered" in dup.err
    listed = json.loads(cli("models", "list", "--json", *w).out)
    assert [(m["name"], m["scores"]) for m in listed] == [
        ("acme-3", {}),
        ("rival-9", {"cyber": 0.45}),
    ]
    assert cli("models", "score", "acme-3", "cyber=0.5", "--source", "https://e", *w).code == 0
    attested = cli(
        "safeguards",
        "attest",
        "acme-3",
        "asl-3-security",
        "--by",
        "rso",
        "--evidence",
        "https://w",
        *w,
    )
    assert attested.code == 0
    shown = json.loads(cli("models", "show", "acme-3", "--json", *w).out)
    assert [a["standard"] for a in shown["attestations"]] == ["asl-3-security"]
    assert [x["score"] for x in shown["scores"]] == [0.5]
    missing = cli("models", "show", "acme-4", *w)
    assert missing.code == 2 and "did you mean 'acme-3'" in missing.err
    assert len(json.loads(cli("safeguards", "list", "acme-3", "--json", *w).out)) == 1
    fact = cli(
        "facts", "assert", "developer_leads", "false", "--source", "https://x", "--by", "b", *w
    )
    assert fact.code == 0
    facts = json.loads(cli("facts", "list", "--json", *w).out)
    assert [(f["name"], f["value"]) for f in facts] == [("developer_leads", False)]
    for command in (("models", "list"), ("models", "show", "acme-3"), ("safeguards", "list")):
        result = cli(*command, *w)
        assert result.code == 0 and "acme-3" in result.out


def test_cli_models_import_errors_point_at_the_file(cli: Cli, tmp_path: Path) -> None:
    assert cli("init", tmp_path / "ws").code == 0
    path = write(tmp_path, "m.csv", "name,status\nok,released\nbad,launched\n")
    result = cli("models", "import", path, "--workspace", tmp_path / "ws")
    assert result.code == 2
    assert f"{path}:3:5:" in result.err
    good = write(tmp_path, "m.yaml", YAML)
    imported = cli("models", "import", good, "--json", "--workspace", tmp_path / "ws")
    assert imported.code == 0
    assert [m["status"] for m in json.loads(imported.out)["models"]] == ["added"] * 3
