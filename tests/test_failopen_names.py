"""Typos are refused with the closest match (exit 2), never recorded to take no effect."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scaleguard.store import repo
from scaleguard.workspace.workspace import Workspace

Cli = Callable[..., Any]


def _typo_config(ws: Workspace, old: str, new: str) -> None:
    text = ws.config_path.read_text()
    assert old in text
    ws.config_path.write_text(text.replace(old, new, 1))


def test_an_indicator_naming_an_unknown_threshold_is_refused(lab: Workspace, cli: Cli) -> None:
    _typo_config(lab, 'thresholds = ["novel-cb", "cbrn-4"]', 'thresholds = ["novle-cb", "cbrn-4"]')
    with lab.store.read() as s:
        before = len(repo.determinations(s, "aurora-3"))
    result = cli("determine", "aurora-3", "--workspace", lab.root)
    assert result.code == 2, result.err
    assert "'novle-cb'" in result.err and "did you mean 'novel-cb'?" in result.err
    assert "scaleguard.toml:" in result.err
    with lab.store.read() as s:
        assert len(repo.determinations(s, "aurora-3")) == before


def test_an_indicator_naming_an_unknown_framework_is_refused(lab: Workspace, cli: Cli) -> None:
    _typo_config(lab, 'framework = "anthropic-rsp"', 'framework = "anthropic-rps"')
    result = cli("decide", "aurora-3", "--action", "train", "--workspace", lab.root)
    assert result.code == 2, result.err
    assert "did you mean 'anthropic-rsp'?" in result.err


def test_a_misspelt_fact_is_refused(lab: Workspace, cli: Cli) -> None:
    args = ("--source", "https://lab.example/f", "--by", "rso", "--workspace", lab.root)
    result = cli("facts", "assert", "devloper_leads", "true", *args)
    assert result.code == 2
    assert "did you mean 'developer_leads'?" in result.err
    with lab.store.read() as s:
        assert not [f for f in repo.facts(s) if f.name == "devloper_leads"]
    assert cli("facts", "assert", "marginal_risk_small", "true", *args).code == 0


def test_a_misspelt_safeguard_standard_is_refused(lab: Workspace, cli: Cli) -> None:
    args = ("--evidence", "https://lab.example/p", "--by", "rso", "--workspace", lab.root)
    result = cli("safeguards", "attest", "aurora-3", "asl-9-magic", *args)
    assert result.code == 2
    assert "asl-9-magic" in result.err and "the closest known" in result.err
    result = cli("safeguards", "attest", "aurora-3", "asl-4-deploymnet", *args)
    assert result.code == 2 and "did you mean 'asl-4-deployment'?" in result.err
    with lab.store.read() as s:
        assert not repo.attestations(s, "aurora-3") or all(
            a.standard != "asl-9-magic" for a in repo.attestations(s, "aurora-3")
        )


def test_frameworks_list_shows_a_broken_workspace_framework(
    lab: Workspace, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (lab.frameworks_dir / "ours.yaml").write_text("framework:\n  id: ours\n  nonsense: [\n")
    monkeypatch.chdir(lab.root)
    result = cli("frameworks", "list")
    assert result.code == 1
    assert "ours.yaml" in result.err
    result = cli("frameworks", "list", "--json")
    assert result.code == 1
    rows = json.loads(result.out)
    assert any(r.get("broken") and r["origin"].endswith("ours.yaml") for r in rows)
    assert any(r.get("ref") == "anthropic-rsp@3.0" for r in rows)
    # the same file blocks decisions, with the same clear error (not a traceback)
    result = cli("determine", "aurora-3")
    assert result.code == 2 and "ours.yaml" in result.err
