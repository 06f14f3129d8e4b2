"""External review through a real workspace, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import build_demo_lab, build_lab
from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.reports import service as reports
from scaleguard.reports.private import commitment, report_salt
from scaleguard.review import service
from scaleguard.review import store as review_store
from scaleguard.review.model import InterestSpec, ReviewerSpec
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

LAB = "Fictional Frontier Lab"


def size(ws: Workspace) -> int:
    with ws.store.read() as s:
        return repo.ledger_size(s)


def interest(name: str, kind: str, party: str, start: str, end: str | None = None) -> InterestSpec:
    return InterestSpec.model_validate(
        {
            "reviewer": name,
            "kind": kind,
            "counterparty": party,
            "from_date": date.fromisoformat(start),
            "to_date": date.fromisoformat(end) if end else None,
        }
    )


def reviewer(ws: Workspace, name: str, *interests: InterestSpec) -> None:
    service.add_reviewer(
        ws, ReviewerSpec(name=name, organisation="Institute", expertise=("evals",)), by="rso"
    )
    for item in interests:
        service.declare_interest(ws, item, by="rso")


def test_the_whole_review_on_each_backend(tmp_path: Path, workspace_copy: Copy) -> None:
    root = tmp_path / "lab"
    workspace_copy("lab", build_lab)  # demo.prepare(root, db_url=store_url), copied
    ws = open_workspace(root)
    try:
        report = reports.draft(ws, period="2026-Q4", models=["aurora-3"], by="rso")
        reviewer(ws, "Mara", interest("Mara", "employment", LAB, "2019-01-01", "2025-06-30"))
        reviewer(ws, "Jonas", interest("Jonas", "equity", LAB.upper(), "2024-05-01"))

        screening = service.screen_reviewer(ws, "Mara", report_id=report.id)
        assert not screening.blocked and [r.rule for r in screening.minor] == ["recent-employment"]

        before = size(ws)
        with pytest.raises(ConflictError, match="major conflict of interest") as refused:
            service.assign(ws, report.id, "Jonas", by="rso")
        assert "equity" in refused.value.message
        assert size(ws) == before

        assignment, access, _ = service.assign(
            ws, report.id, "Mara", sections=["capabilities", "overall-risk"], by="rso"
        )
        plain = reports.build(ws, report.id, "reviewer").sha256
        salt = report_salt(ws, report.id)
        assert access.edition_sha256 == commitment(salt, plain.encode()) != plain
        assert assignment.screening["results"][4]["rule"] == "recent-employment"
        with pytest.raises(ConflictError, match="already assigned"):
            service.assign(ws, report.id, "Mara", by="rso")

        before = size(ws)
        with pytest.raises(NotFoundError, match="no section"):
            service.comment(ws, report.id, "Mara", "capabilities.nope", "x")
        with pytest.raises(InputError, match="reviews only"):
            service.comment(ws, report.id, "Mara", "scope", "x")
        with pytest.raises(NotFoundError, match="not assigned"):
            service.comment(ws, report.id, "Jonas", "capabilities", "x")
        with pytest.raises(ConflictError, match="has not submitted"):
            service.respond(ws, report.id, "Mara", "thanks", by="rso")
        assert size(ws) == before

        note = service.comment(ws, report.id, "Mara", "capabilities.automated-rd", "More?")
        assert note.section == "capabilities.automated-rd" and note.created_by == "Mara"
        statement = service.submit_statement(ws, report.id, "Mara", "partly", "Mostly sound.")
        before = size(ws)
        with pytest.raises(ConflictError, match="already submitted a final statement"):
            service.submit_statement(ws, report.id, "Mara", "agree", "Changed my mind.")
        with pytest.raises(ConflictError, match="already submitted a final statement"):
            service.comment(ws, report.id, "Mara", "capabilities", "late")
        assert size(ws) == before
        with ws.store.read() as s:
            assert [x.verdict for x in review_store.statements(s, report.id)] == ["partly"]

        response = service.respond(ws, report.id, "Mara", "We will add an appendix.", by="rso")
        assert response.statement_id == statement.id
        with pytest.raises(ConflictError, match="already responded"):
            service.respond(ws, report.id, "Mara", "Again.", by="rso")

        ws.checkpoint()
        assert verify(ws.store, ws.verifier(), full=True).discrepancies == []
    finally:
        ws.close()


@pytest.fixture
def lab(tmp_path: Path, sqlite_copy: Copy) -> Iterator[Workspace]:
    """The demo's lab (its own SQLite file), prepared once per test process and copied."""
    sqlite_copy("demo lab", build_demo_lab)
    ws = open_workspace(tmp_path / "lab")
    yield ws
    ws.close()


def test_deadlines_follow_submission_access_and_statement(lab: Workspace) -> None:
    report = reports.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    reviewer(lab, "Mara")
    status = service.status(lab, report.id)
    assert status.reviewers == [] and status.share_within == "P7D"

    service.assign(lab, report.id, "Mara", by="rso")
    day = reports.today()
    status = service.status(lab, report.id, as_of=day)
    share, commentary = status.reviewers[0].deadlines
    assert share.state == "not started"
    assert (commentary.state, commentary.due) == ("pending", day + timedelta(days=30))

    reports.submit(lab, report.id, by="rso")
    share, _ = service.status(lab, report.id, as_of=day).reviewers[0].deadlines
    assert (share.state, share.due) == ("met", day + timedelta(days=7))

    late = service.status(lab, report.id, as_of=day + timedelta(days=31))
    assert [d.kind for d in late.overdue] == ["commentary"]

    service.submit_statement(lab, report.id, "Mara", "agree", "Fine.")
    done = service.status(lab, report.id, as_of=day + timedelta(days=31))
    assert done.overdue == [] and done.reviewers[0].deadlines[1].state == "met"


def test_split_reviews_show_sections_nobody_covers(lab: Workspace) -> None:
    report = reports.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    reviewer(lab, "A")
    reviewer(lab, "B")
    service.assign(lab, report.id, "A", sections=["capabilities.novel-cb"], by="rso")
    service.assign(lab, report.id, "B", sections=["summary", "scope"], by="rso")
    missing = service.status(lab, report.id).unreviewed_sections
    assert "capabilities.novel-cb" not in missing and "summary" not in missing
    assert "capabilities.automated-rd" in missing and "threat-models" in missing
    assert "capabilities" not in missing


def test_a_workspace_rules_file_replaces_the_defaults(lab: Workspace) -> None:
    reviewer(lab, "Mara", interest("Mara", "funding", "Other Co", "2026-01-01"))
    assert not service.screen_reviewer(lab, "Mara").blocked
    rules = lab.root / "review" / "conflict-rules.yaml"
    rules.parent.mkdir()
    rules.write_text(
        "version: 1\nrules:\n  - id: any-funding\n    severity: major\n"
        "    description: Any funding.\n    kinds: [funding]\n    counterparty: any\n"
    )
    result = service.screen_reviewer(lab, "Mara")
    assert result.blocked and result.rules_origin == "review/conflict-rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: x\n    severity: huge\n")
    with pytest.raises(InputError) as bad:
        service.screen_reviewer(lab, "Mara")
    assert bad.value.problems[0].file == "review/conflict-rules.yaml"
    assert bad.value.problems[0].line == 4


def test_unknown_reviewers_and_duplicates_are_refused(lab: Workspace) -> None:
    reviewer(lab, "Mara")
    with pytest.raises(ConflictError, match="already registered"):
        reviewer(lab, "Mara")
    with pytest.raises(NotFoundError, match="no reviewer called 'Mra'"):
        service.declare_interest(lab, interest("Mra", "equity", LAB, "2024-01-01"))
    with pytest.raises(NotFoundError, match="no reviewer"):
        service.screen_reviewer(lab, "Nobody")
    with pytest.raises(InputError, match="unknown verdict"):
        service.submit_statement(lab, 1, "Mara", "maybe", "x")
