"""The report, reviewers and review commands through the real CLI boundary."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scaleguard import demo

Cli = Callable[..., Any]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("cli") / "lab"
    demo.prepare(path)
    yield path


@pytest.fixture
def run(cli: Cli, root: Path) -> Callable[..., Any]:
    """``run("report show 3 --json")``: a command line in the demo workspace."""

    def go(line: str, *extra: str | Path) -> Any:
        return cli(*shlex.split(line), *extra, "--workspace", root)

    return go


def _new(run: Callable[..., Any]) -> str:
    result = run("report new --period 2026-Q4 --models aurora-2,aurora-3 --by rso --json")
    assert result.code == 0, result.err
    return str(json.loads(result.out)["id"])


def test_new_prints_the_report_and_its_section_ids(run: Callable[..., Any]) -> None:
    result = run("report new --period 2026-Q4 --models aurora-3 --by rso")
    assert result.code == 0, result.err
    assert "drafted" in result.out and "  capabilities.novel-cb" in result.out
    data = json.loads(run("report new --period 2026-Q4 --models aurora-2,aurora-3 --json").out)
    assert data["models"] == ["aurora-2", "aurora-3"] and "overall-risk" in data["sections"]
    bad = run("report new --period 2026-Q4 --models aurora-3 --coverage-date 31/12/2026")
    assert bad.code == 2 and "not a date" in bad.err


def test_redact_publish_and_show(run: Callable[..., Any], tmp_path: Path) -> None:
    report = _new(run)
    # SECTION alone redacts the latest report
    result = run('report redact capabilities.novel-cb --category security --why "Uplift details."')
    assert result.code == 0, result.err
    assert "R1 recorded" in result.out
    missing = run(f"report redact {report} nope --category security --why x")
    assert missing.code == 2 and "no section 'nope'" in missing.err

    out = tmp_path / "public.md"
    line = f"report publish {report} --edition public --format markdown --json --output"
    one, two = json.loads(run(line, out).out), json.loads(run(line, out).out)
    assert one["sha256"] == two["sha256"] and one["new_record"] and not two["new_record"]
    assert r"\[REDACTED R1 — security\]" in out.read_text()

    data = json.loads(run(f"report show {report} --edition public --json").out)
    assert data["edition"] == "public" and len(data["edition_sha256"]) == 64
    assert data["content"]["redactions"][0]["justification"] == "Uplift details."
    assert "R1 section redacted (security)" in run(f"report sections {report}").out


def test_status_warns_when_due_and_fails_when_overdue(run: Callable[..., Any]) -> None:
    report = _new(run)
    published = run(f"report publish {report} --edition public --format html --json")
    assert published.code == 0, published.err
    day = json.loads(published.out)["created_at"][:10]
    year, month = int(day[:4]), int(day[5:7])
    soon = f"{year + (month + 3 - 1) // 12}-{(month + 3 - 1) % 12 + 1:02d}-28"
    ok = run("report status")
    assert ok.code == 0 and "ok:" in ok.out
    due = run(f"report status --as-of {soon}")
    assert due.code == 0 and "warning: a Risk Report is due" in due.out
    late = run(f"report status --as-of {year + 1}-12-31")
    assert late.code == 1 and "OVERDUE" in late.out
    bad = run("report status --as-of soon")
    assert bad.code == 2 and "not a date" in bad.err


def test_review_commands(run: Callable[..., Any]) -> None:
    report = _new(run)
    assert run("reviewers add Ada --organisation Institute --expertise evals").code == 0
    assert run("reviewers add Bo --organisation Fund --expertise policy").code == 0
    interest = 'reviewers declare-interest Bo --kind equity --with "Fictional Frontier Lab"'
    bad = run(f"{interest} --from 2025-01-01 --to 2024-01-01")
    assert bad.code == 2 and "ends (2024-01-01) before it starts" in bad.err
    assert run(f"{interest} --from 2025-01-01").code == 0

    screened = run(f"reviewers screen Bo --report {report} --json")
    assert screened.code == 1 and json.loads(screened.out)["blocked"] is True
    refused = run(f"review assign {report} Bo")
    assert refused.code == 2 and "major conflict of interest" in refused.err
    assert "reviewer-financial-interest" in refused.err

    assigned = run(f"review assign {report} Ada --json")
    assert assigned.code == 0, assigned.err
    assert len(json.loads(assigned.out)["access"]["edition_sha256"]) == 64
    assert run(f'review comment {report} Ada --section scope --text "Compute?"').code == 0
    assert run(f"review submit {report} Ada --verdict agree --text Fine.").code == 0
    twice = run(f"review submit {report} Ada --verdict disagree --text No.")
    assert twice.code == 2 and "already submitted" in twice.err
    assert run(f"review respond {report} Ada --text Thanks. --by rso").code == 0
    status = run(f"review status {report} --json")
    assert status.code == 0
    assert json.loads(status.out)["reviewers"][0]["statement"]["verdict"] == "agree"


def test_review_status_fails_when_a_deadline_is_overdue(run: Callable[..., Any]) -> None:
    report = _new(run)
    assert run('reviewers add Cy --organisation "Lab B" --expertise x').code == 0
    assert run(f"review assign {report} Cy").code == 0
    late = run(f"review status {report} --as-of 2099-01-01")
    assert late.code == 1 and "OVERDUE" in late.out
