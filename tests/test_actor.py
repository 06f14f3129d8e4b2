"""One rule for who is acting: ``--by``, then $SCALEGUARD_USER, then the login name."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaleguard.actor import acting_user

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ACTOR_COLUMNS = ("created_by", "ingested_by", "attested_by")


def test_by_then_environment_then_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALEGUARD_USER", "alice")
    monkeypatch.setenv("USER", "bob")
    monkeypatch.setenv("LOGNAME", "bob")
    assert acting_user("carol") == "carol"
    assert acting_user(None) == "alice"
    assert acting_user("  ") == "alice"
    monkeypatch.setenv("SCALEGUARD_USER", " ")
    assert acting_user(None) == "bob"
    monkeypatch.delenv("SCALEGUARD_USER")
    assert acting_user(None) == "bob"


def _actors(db: Path) -> dict[str, set[str]]:
    """Every actor column of every table: table.column -> the names found there."""
    found: dict[str, set[str]] = {}
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                if column in ACTOR_COLUMNS:
                    rows = conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()
                    if rows:
                        found[f"{table}.{column}"] = {r[0] for r in rows}
    return found


def test_every_writer_names_the_same_actor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """In a shell where $SCALEGUARD_USER and $USER differ, every record without --by
    names $SCALEGUARD_USER: models, evidence, attestations, determinations, decisions,
    roadmap and report records alike."""
    monkeypatch.setenv("SCALEGUARD_USER", "alice")
    monkeypatch.setenv("USER", "bob")
    monkeypatch.setenv("LOGNAME", "bob")
    root = tmp_path / "lab"
    assert cli("init", root).code == 0
    with (root / "scaleguard.toml").open("a", encoding="utf-8") as fh:
        fh.write((EXAMPLES / "indicators.toml").read_text(encoding="utf-8"))
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    ws = ("--workspace", root)
    steps: list[tuple[Any, ...]] = [
        ("models", "import", tmp_path / "examples" / "models.yaml"),
        ("evidence", "ingest", *sorted((tmp_path / "examples" / "evidence").iterdir())),
        (
            "safeguards",
            "attest",
            "aurora-3",
            "asl-3-deployment",
            "--by",
            "alice",
            "--evidence",
            "https://x.example",
        ),
        ("determine", "aurora-3"),
        ("decide", "aurora-3", "--action", "train"),
        ("roadmap", "import", tmp_path / "examples" / "roadmap.yaml"),
        ("report", "new", "--period", "2026-Q4", "--models", "aurora-3"),
    ]
    for step in steps:
        result = cli(*step, *ws)
        assert result.code == 0, (step, result.err)
    actors = _actors(root / "scaleguard.db")
    for table in ("evidence", "attestations", "determinations", "decisions"):
        assert any(key.startswith(table) for key in actors), (table, sorted(actors))
    assert any("roadmap" in key for key in actors), sorted(actors)
    assert any("report" in key for key in actors), sorted(actors)
    assert {key: names for key, names in actors.items() if names != {"alice"}} == {}
